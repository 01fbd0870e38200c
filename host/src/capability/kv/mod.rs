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
//! ([`dynamodb`]), for a host running on Lambda.
//!
//! May import: `capability::http` (the pooled client, for DynamoDB) and
//! `aws`.

pub mod backend;
pub mod dynamodb;
pub mod embedded;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

pub use self::backend::{Backend, KvError};
use self::dynamodb::{DynamoDb, TableSpec};
pub use self::embedded::{embedded, Embedded};
use self::generated::wasi::keyvalue::{atomics, store};

/// The host side of `wasi:keyvalue`, generated from wit/deps/keyvalue.
/// The handler world's bindings (`crate::bindings`) take these interfaces
/// from here rather than generating their own.
pub mod generated {
    wasmtime::component::bindgen!({
        path: "../wit/deps/keyvalue",
        world: "wasi:keyvalue/imports",
        // Store calls may wait on the network (the DynamoDB backend).
        imports: { default: async },
        with: {
            "wasi:keyvalue/store.bucket": super::Bucket,
        },
    });
}

/// A key-value store granted to a function: its name (what the guest
/// opens) and where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreGrant {
    /// The name the guest passes to `open`.
    pub name: String,
    /// Where the store lives.
    pub backend: StoreBackend,
}

/// Opens the store a function is granted: the embedded file (shared by
/// every function granted it) or a DynamoDB table.
pub fn open(grant: &StoreGrant) -> Result<Arc<dyn Backend>, KvError> {
    match &grant.backend {
        StoreBackend::Embedded { path } => embedded(&grant.name, path),
        StoreBackend::DynamoDb(table) => Ok(Arc::new(DynamoDb::new(&grant.name, table)?)),
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
    DynamoDb(TableSpec),
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

/// What the key-value interfaces work on: the stores the instance was
/// granted and its resource table, where open buckets live.
pub struct KvView<'a> {
    /// The stores the instance may open.
    pub grants: &'a Grants,
    /// The instance's resource table.
    pub table: &'a mut ResourceTable,
}

/// The [`HasData`] of the key-value interfaces: their data is a [`KvView`].
pub struct Kv;

impl HasData for Kv {
    type Data<'a> = KvView<'a>;
}

/// Links `wasi:keyvalue/store` and `atomics` into `linker`; `view` picks
/// the instance's grants and table out of its state.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> KvView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, Kv>(linker, view)?;
    atomics::add_to_linker::<T, Kv>(linker, view)
}

impl store::Host for KvView<'_> {
    async fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, store::Error> {
        let Some(store) = self.grants.stores.get(&identifier).cloned() else {
            return Err(store::Error::NoSuchStore);
        };
        self.table
            .push(Bucket { store })
            .map_err(|e| store::Error::Other(e.to_string()))
    }
}

impl KvView<'_> {
    fn bucket(&mut self, bucket: &Resource<Bucket>) -> Result<Arc<dyn Backend>, store::Error> {
        self.table
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

impl store::HostBucket for KvView<'_> {
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
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KvView<'_> {
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
