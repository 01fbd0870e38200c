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
//! shares it between the functions granted it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use wasmtime::component::Resource;

use crate::bindings::wasi::keyvalue::{atomics, store};
use crate::instance::InstanceState;

/// Keys listed per `list-keys` page.
const PAGE: usize = 1000;

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");

/// What a store can fail with.
#[derive(Debug, thiserror::Error)]
#[error("key-value store `{store}`: {message}")]
pub struct KvError {
    store: String,
    message: String,
}

/// A key-value backend.
pub trait Backend: Send + Sync {
    /// The store's name, for errors.
    fn name(&self) -> &str;
    /// The value of `key`.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    /// Sets `key`.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError>;
    /// Deletes `key` (absent is fine).
    fn delete(&self, key: &str) -> Result<(), KvError>;
    /// Whether `key` is set.
    fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.get(key).map(|v| v.is_some())
    }
    /// One page of keys in order, from `cursor` (an index), and the cursor
    /// of the next page.
    fn list_keys(&self, cursor: u64) -> Result<(Vec<String>, Option<u64>), KvError>;
    /// Adds `delta` to the little-endian u64 at `key` (absent is 0)
    /// atomically and returns the new value.
    fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError>;
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

impl Backend for Embedded {
    fn name(&self) -> &str {
        &self.name
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let tx = self.db.begin_read().map_err(|e| self.fail(e))?;
        let table = tx.open_table(TABLE).map_err(|e| self.fail(e))?;
        let value = table.get(key).map_err(|e| self.fail(e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut table = tx.open_table(TABLE).map_err(|e| self.fail(e))?;
            table.insert(key, value).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    fn delete(&self, key: &str) -> Result<(), KvError> {
        let tx = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut table = tx.open_table(TABLE).map_err(|e| self.fail(e))?;
            table.remove(key).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    fn list_keys(&self, cursor: u64) -> Result<(Vec<String>, Option<u64>), KvError> {
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

    fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError> {
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

impl store::Host for InstanceState {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, store::Error> {
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
}

impl store::HostBucket for InstanceState {
    fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, store::Error> {
        self.bucket(&bucket)?.get(&key).map_err(other)
    }

    fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        self.bucket(&bucket)?.set(&key, &value).map_err(other)
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), store::Error> {
        self.bucket(&bucket)?.delete(&key).map_err(other)
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<bool, store::Error> {
        self.bucket(&bucket)?.exists(&key).map_err(other)
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> Result<store::KeyResponse, store::Error> {
        let (keys, cursor) = self
            .bucket(&bucket)?
            .list_keys(cursor.unwrap_or(0))
            .map_err(other)?;
        Ok(store::KeyResponse { keys, cursor })
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table().delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for InstanceState {
    fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> Result<u64, store::Error> {
        self.bucket(&bucket)?.increment(&key, delta).map_err(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_stores_keep_values_and_count_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        {
            let store = Embedded::open("s", &path).unwrap();
            store.set("b", b"2").unwrap();
            store.set("a", b"1").unwrap();
            assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"1"[..]));
            assert_eq!(store.increment("n", 5).unwrap(), 5);
            assert_eq!(store.increment("n", 2).unwrap(), 7);
            assert!(store.increment("a", 1).is_err(), "not a counter");
            store.delete("b").unwrap();
            assert!(!store.exists("b").unwrap());
        }
        // Reopened, as after a restart.
        let store = Embedded::open("s", &path).unwrap();
        let (keys, next) = store.list_keys(0).unwrap();
        assert_eq!((keys, next), (vec!["a".to_string(), "n".to_string()], None));
    }
}
