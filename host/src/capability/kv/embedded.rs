//! The embedded backend: one [redb](https://docs.rs/redb) file per store,
//! ACID and kept across restarts, opened once per process and shared by
//! every function granted it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::backend::{Backend, KvError, PAGE};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");

/// The embedded backend: one redb file.
pub struct Embedded {
    name: String,
    db: redb::Database,
}

impl Embedded {
    fn fail(&self, e: impl std::fmt::Display) -> KvError {
        KvError::new(&self.name, e.to_string())
    }

    /// Opens (or creates) the store `name` at `path`.
    pub fn open(name: &str, path: &Path) -> Result<Self, KvError> {
        let fail =
            |e: &dyn std::fmt::Display| KvError::new(name, format!("{}: {e}", path.display()));
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
