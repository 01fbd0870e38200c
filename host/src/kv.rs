//! Key-value stores for guests: `wasi:keyvalue/store` and `atomics`
//! (draft 0.2.0), granted per function.
//!
//! A manifest names its stores and grants each function the ones it may
//! open:
//!
//! ```yaml
//! stores:
//!   users: {}                      # embedded: .wasmfn/stores/users.redb
//! functions:
//!   users:
//!     keyValueStores: [users]
//! ```
//!
//! `open` of any other name fails with `no-such-store`, so a function can
//! neither read another's store nor learn that it exists. The embedded
//! backend is [redb](https://docs.rs/redb): one file per store, ACID, kept
//! across restarts of `wasmfn serve`; a process opens each file once and
//! shares it between the functions granted it. A store with
//! `backend: dynamodb` lives in a DynamoDB table instead
//! ([`crate::dynamodb`]), for a host running on Lambda.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use wasmtime::component::Resource;

use crate::bindings::wasi::keyvalue::{atomics, store};
use crate::instance::InstanceState;

/// Keys listed per `list-keys` page.
pub(crate) const PAGE: usize = 1000;

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");

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

/// The embedded backend: one redb file.
pub struct Embedded {
    name: String,
    db: redb::Database,
}

impl Embedded {
    fn fail(&self, e: impl std::fmt::Display) -> KvError {
        KvError {
            store: self.name.clone(),
            message: e.to_string(),
        }
    }

    /// Opens (or creates) the store `name` at `path`.
    pub fn open(name: &str, path: &Path) -> Result<Self, KvError> {
        let fail = |e: &dyn std::fmt::Display| KvError {
            store: name.to_string(),
            message: format!("{}: {e}", path.display()),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(&e))?;
        }
        let db = redb::Database::create(path).map_err(|e| fail(&e))?;
        // Create the table, so that reads of a new store find it.
        let tx = db.begin_write().map_err(|e| fail(&e))?;
        tx.open_table(TABLE).map_err(|e| fail(&e))?;
        tx.commit().map_err(|e| fail(&e))?;
        Ok(Embedded {
            name: name.to_string(),
            db,
        })
    }
}

// redb's calls are short and local; they run in place rather than on a
// blocking thread.
#[async_trait::async_trait]
impl Backend for Embedded {
    fn name(&self) -> &str {
        &self.name
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let table = tx.open_table(TABLE).map_err(|e| self.fail(e))?;
        let value = table.get(key).map_err(|e| self.fail(e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut table = tx.open_table(TABLE).map_err(|e| self.fail(e))?;
            table.insert(key, value).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut table = tx.open_table(TABLE).map_err(|e| self.fail(e))?;
            table.remove(key).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    async fn list_keys(&self, cursor: u64) -> Result<(Vec<String>, Option<u64>), KvError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let table = tx.open_table(TABLE).map_err(|e| self.fail(e))?;
        let mut keys = Vec::new();
        let mut more = false;
        for entry in table
            .iter()
            .map_err(|e| self.fail(e))?
            .skip(cursor as usize)
        {
            if keys.len() == PAGE {
                more = true;
                break;
            }
            let (key, _) = entry.map_err(|e| self.fail(e))?;
            keys.push(key.value().to_string());
        }
        let next = more.then(|| cursor + keys.len() as u64);
        Ok((keys, next))
    }

    async fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError> {
        // One write transaction: redb serializes writers, so the
        // read-modify-write is atomic.
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        let value = {
            let mut table = tx.open_table(TABLE).map_err(|e| self.fail(e))?;
            let current = match table.get(key).map_err(|e| self.fail(e))? {
                None => 0,
                Some(v) => {
                    let bytes: [u8; 8] = v.value().try_into().map_err(|_| {
                        self.fail(format!(
                            "`{key}` does not hold a counter (8 bytes, little-endian)"
                        ))
                    })?;
                    u64::from_le_bytes(bytes)
                }
            };
            let value = current.wrapping_add(delta);
            table
                .insert(key, value.to_le_bytes().as_slice())
                .map_err(|e| self.fail(e))?;
            value
        };
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(value)
    }
}

/// Opens embedded stores once per process: redb locks its file, and every
/// function granted a store must share the one handle.
pub fn embedded(name: &str, path: &Path) -> Result<Arc<dyn Backend>, KvError> {
    static OPEN: OnceLock<Mutex<BTreeMap<PathBuf, Arc<dyn Backend>>>> = OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut open = OPEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(store) = open.get(&key) {
        return Ok(store.clone());
    }
    let store: Arc<dyn Backend> = Arc::new(Embedded::open(name, path)?);
    let key = std::fs::canonicalize(path).unwrap_or(key);
    open.insert(key, store.clone());
    Ok(store)
}

/// Opens the store a function is granted: the embedded file (shared by
/// every function granted it) or a DynamoDB table.
pub fn open(grant: &crate::function::StoreGrant) -> Result<Arc<dyn Backend>, KvError> {
    match &grant.backend {
        StoreBackend::Embedded { path } => embedded(&grant.name, path),
        StoreBackend::DynamoDb(table) => Ok(Arc::new(crate::dynamodb::DynamoDb::new(
            &grant.name,
            table,
        )?)),
    }
}

/// Where a granted store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// An embedded redb file.
    Embedded {
        /// The file.
        path: PathBuf,
    },
    /// A DynamoDB table.
    DynamoDb(crate::dynamodb::TableSpec),
}

/// The stores one function may open, by name.
#[derive(Clone, Default)]
pub struct Grants {
    stores: BTreeMap<String, Arc<dyn Backend>>,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.stores.keys()).finish()
    }
}

impl Grants {
    /// Grants `store` under `name`.
    pub fn grant(&mut self, name: &str, store: Arc<dyn Backend>) {
        self.stores.insert(name.to_string(), store);
    }
}

/// An open store, as the guest holds it.
pub struct Bucket {
    store: Arc<dyn Backend>,
}

fn other(e: KvError) -> store::Error {
    store::Error::Other(e.to_string())
}

/// The longest key: DynamoDB's limit on a partition key.
pub const MAX_KEY_BYTES: usize = 2048;

/// The largest item, key and value with their attribute names (`pk`, `v`):
/// DynamoDB's limit.
pub const MAX_ITEM_BYTES: usize = 400 << 10;

/// Checks `key` (and the item it makes with `value`) against DynamoDB's
/// limits. Every backend keeps them, so that a function that works against
/// the embedded store on a laptop works against DynamoDB on Lambda.
fn check_item(store: &dyn Backend, key: &str, value: Option<&[u8]>) -> Result<(), store::Error> {
    let refuse = |message: String| Err(other(KvError::new(store.name(), message)));
    if key.is_empty() {
        return refuse("a key cannot be empty (DynamoDB refuses empty keys)".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return refuse(format!(
            "a key of {} bytes is over DynamoDB's limit of {MAX_KEY_BYTES}",
            key.len()
        ));
    }
    let item = "pk".len() + key.len() + "v".len() + value.map_or(0, <[u8]>::len);
    if item > MAX_ITEM_BYTES {
        return refuse(format!(
            "an item of {item} bytes (key and value) is over DynamoDB's limit of {MAX_ITEM_BYTES} \
             (400 KB); store large values elsewhere, e.g. in S3, and keep their keys here"
        ));
    }
    Ok(())
}

impl store::Host for InstanceState {
    async fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, store::Error> {
        let Some(store) = self.kv_grants().stores.get(&identifier).cloned() else {
            return Err(store::Error::NoSuchStore);
        };
        self.table()
            .push(Bucket { store })
            .map_err(|e| store::Error::Other(e.to_string()))
    }
}

impl InstanceState {
    fn bucket(&mut self, bucket: &Resource<Bucket>) -> Result<Arc<dyn Backend>, store::Error> {
        self.table()
            .get(bucket)
            .map(|b| b.store.clone())
            .map_err(|e| store::Error::Other(e.to_string()))
    }

    /// The store behind `bucket`, once `key` (and `value`, for a write)
    /// passed [`check_item`].
    fn bucket_for(
        &mut self,
        bucket: &Resource<Bucket>,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<Arc<dyn Backend>, store::Error> {
        let store = self.bucket(bucket)?;
        check_item(&*store, key, value)?;
        Ok(store)
    }
}

impl store::HostBucket for InstanceState {
    async fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, store::Error> {
        let store = self.bucket_for(&bucket, &key, None)?;
        store.get(&key).await.map_err(other)
    }

    async fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        let store = self.bucket_for(&bucket, &key, Some(&value))?;
        store.set(&key, &value).await.map_err(other)
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), store::Error> {
        let store = self.bucket_for(&bucket, &key, None)?;
        store.delete(&key).await.map_err(other)
    }

    async fn exists(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<bool, store::Error> {
        let store = self.bucket_for(&bucket, &key, None)?;
        store.exists(&key).await.map_err(other)
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> Result<store::KeyResponse, store::Error> {
        let (keys, cursor) = self
            .bucket(&bucket)?
            .list_keys(cursor.unwrap_or(0))
            .await
            .map_err(other)?;
        Ok(store::KeyResponse { keys, cursor })
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table().delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for InstanceState {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> Result<u64, store::Error> {
        let store = self.bucket_for(&bucket, &key, None)?;
        store.increment(&key, delta).await.map_err(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn embedded_stores_keep_values_and_count_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let store = Embedded::open("s", &path).unwrap();
            store.set("b", b"2").await.unwrap();
            store.set("a", b"1").await.unwrap();
            assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
            assert_eq!(store.increment("n", 5).await.unwrap(), 5);
            assert_eq!(store.increment("n", 2).await.unwrap(), 7);
            assert!(store.increment("a", 1).await.is_err(), "not a counter");
            store.delete("b").await.unwrap();
            assert!(!store.exists("b").await.unwrap());
        }
        // Reopened, as after a restart.
        let store = Embedded::open("s", &path).unwrap();
        let (keys, next) = store.list_keys(0).await.unwrap();
        assert_eq!((keys, next), (vec!["a".to_string(), "n".to_string()], None));
    }
}
