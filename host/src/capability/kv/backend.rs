//! The interface every key-value backend implements, and its error.

/// Keys listed per `list-keys` page.
pub(crate) const PAGE: usize = 1000;

/// What a store can fail with.
#[derive(Debug, thiserror::Error)]
#[error("key-value store `{store}`: {message}")]
pub struct KvError {
    store: String,
    message: String,
}

impl KvError {
    /// An error of store `store`.
    pub fn new(store: &str, message: impl Into<String>) -> Self {
        KvError {
            store: store.to_string(),
            message: message.into(),
        }
    }
}

/// A key-value backend. Calls are async: a remote backend waits on the
/// network without holding a runtime thread.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// The store's name, for errors.
    fn name(&self) -> &str;
    /// The value of `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Sets `key`.
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Deletes `key` (absent is fine).
    async fn delete(&self, key: &str) -> Result<(), KvError>;
    /// Whether `key` is set.
    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.get(key).await.map(|v| v.is_some())
    }
    /// One page of keys from `cursor` (0 for the first page; otherwise one
    /// this backend returned), and the cursor of the next page.
    async fn list_keys(&self, cursor: u64) -> Result<(Vec<String>, Option<u64>), KvError>;
    /// Adds `delta` to the little-endian u64 at `key` (absent is 0)
    /// atomically and returns the new value.
    async fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError>;
}
