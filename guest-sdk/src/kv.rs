//! Key-value stores: `wasi:keyvalue` as a small typed API.
//!
//! A function opens the stores its manifest grants it
//! (`keyValueStores: [users]`); any other name fails. Values are bytes, or
//! JSON through [`Store::get_json`] / [`Store::set_json`]; counters are
//! atomic ([`Store::increment`]).
//!
//! Natively (unit tests), stores live in memory, one map per name shared by
//! the whole test process, so handlers that use them test without a host:
//!
//! ```
//! use wasmfn_guest::kv::Store;
//!
//! let users = Store::open("users-doc")?;
//! users.set_json("u-1", &serde_json::json!({"name": "Ada"}))?;
//! let ada: serde_json::Value = users.get_json("u-1")?.unwrap();
//! assert_eq!(ada["name"], "Ada");
//! assert_eq!(users.increment("signups", 1)?, 1);
//! assert_eq!(users.keys()?, ["signups", "u-1"]);
//! # Ok::<(), wasmfn_guest::Error>(())
//! ```

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Error;

/// An open store.
pub struct Store {
    name: String,
    inner: imp::Bucket,
}

impl Store {
    /// Opens store `name`; it must be granted to the function.
    pub fn open(name: &str) -> Result<Store, Error> {
        Ok(Store {
            name: name.to_string(),
            inner: imp::open(name)?,
        })
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        imp::get(&self.inner, key)
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        imp::set(&self.inner, key, value)
    }

    /// Deletes `key` (absent is fine).
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        imp::delete(&self.inner, key)
    }

    /// Whether `key` is set.
    pub fn exists(&self, key: &str) -> Result<bool, Error> {
        imp::exists(&self.inner, key)
    }

    /// Every key, in order (fetched page by page).
    pub fn keys(&self) -> Result<Vec<String>, Error> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = imp::list_keys(&self.inner, cursor)?;
            keys.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// Atomically adds `delta` to the counter at `key` (absent is 0) and
    /// returns the new value.
    pub fn increment(&self, key: &str, delta: u64) -> Result<u64, Error> {
        imp::increment(&self.inner, key, delta)
    }

    /// The value of `key`, as JSON.
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.get(key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::new(
                    "KeyValueError",
                    format!(
                        "store `{}`: `{key}` is not a {}: {e}",
                        self.name,
                        std::any::type_name::<T>()
                    ),
                )
            }),
        }
    }

    /// Sets `key` to `value` as JSON.
    pub fn set_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), Error> {
        self.set(key, &serde_json::to_vec(value)?)
    }
}

#[cfg(target_family = "wasm")]
mod imp {
    //! On wasm: the host's `wasi:keyvalue`.

    use crate::bindings::wasi::keyvalue::{atomics, store};
    use crate::Error;

    pub type Bucket = store::Bucket;

    fn error(e: store::Error) -> Error {
        match e {
            store::Error::NoSuchStore => Error::new(
                "KeyValueError",
                "no such store: the function may open only the stores its manifest lists in `keyValueStores`",
            ),
            store::Error::AccessDenied => Error::new("KeyValueError", "access denied"),
            store::Error::Other(message) => Error::new("KeyValueError", message),
        }
    }

    pub fn open(name: &str) -> Result<Bucket, Error> {
        store::open(name).map_err(|e| {
            let e = error(e);
            Error::new("KeyValueError", format!("store `{name}`: {}", e.message()))
        })
    }

    pub fn get(b: &Bucket, key: &str) -> Result<Option<Vec<u8>>, Error> {
        b.get(key).map_err(error)
    }

    pub fn set(b: &Bucket, key: &str, value: &[u8]) -> Result<(), Error> {
        b.set(key, value).map_err(error)
    }

    pub fn delete(b: &Bucket, key: &str) -> Result<(), Error> {
        b.delete(key).map_err(error)
    }

    pub fn exists(b: &Bucket, key: &str) -> Result<bool, Error> {
        b.exists(key).map_err(error)
    }

    pub fn list_keys(b: &Bucket, cursor: Option<u64>) -> Result<(Vec<String>, Option<u64>), Error> {
        b.list_keys(cursor)
            .map(|r| (r.keys, r.cursor))
            .map_err(error)
    }

    pub fn increment(b: &Bucket, key: &str, delta: u64) -> Result<u64, Error> {
        atomics::increment(b, key, delta).map_err(error)
    }
}

#[cfg(not(target_family = "wasm"))]
mod imp {
    //! Natively: in-memory maps, one per store name.

    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use crate::Error;

    pub type Bucket = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

    type Stores = BTreeMap<String, Bucket>;
    static STORES: Mutex<Stores> = Mutex::new(BTreeMap::new());

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn open(name: &str) -> Result<Bucket, Error> {
        Ok(lock(&STORES).entry(name.to_string()).or_default().clone())
    }

    pub fn get(b: &Bucket, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(lock(b).get(key).cloned())
    }

    pub fn set(b: &Bucket, key: &str, value: &[u8]) -> Result<(), Error> {
        lock(b).insert(key.to_string(), value.to_vec());
        Ok(())
    }

    pub fn delete(b: &Bucket, key: &str) -> Result<(), Error> {
        lock(b).remove(key);
        Ok(())
    }

    pub fn exists(b: &Bucket, key: &str) -> Result<bool, Error> {
        Ok(lock(b).contains_key(key))
    }

    pub fn list_keys(
        b: &Bucket,
        _cursor: Option<u64>,
    ) -> Result<(Vec<String>, Option<u64>), Error> {
        Ok((lock(b).keys().cloned().collect(), None))
    }

    pub fn increment(b: &Bucket, key: &str, delta: u64) -> Result<u64, Error> {
        let mut map = lock(b);
        let current = match map.get(key) {
            None => 0,
            Some(v) => u64::from_le_bytes(v.as_slice().try_into().map_err(|_| {
                Error::new("KeyValueError", format!("`{key}` does not hold a counter"))
            })?),
        };
        let value = current.wrapping_add(delta);
        map.insert(key.to_string(), value.to_le_bytes().to_vec());
        Ok(value)
    }
}
