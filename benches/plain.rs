//! Plain wasmtime: `hello` run the way wasmtime's own examples run a
//! component, as the reference the bench holds wasmfn against. The engine
//! keeps wasmtime's defaults but for the settings wasmfn changes for speed,
//! WASI is synchronous, and there is no pool, limit, log capture or REPORT.
//! What it costs is what the engine and Cranelift's code cost: the part of
//! wasmfn's numbers that no host on this wasmtime could remove.

use std::path::Path;

use wasmfn::bindings::{CallContext, FunctionError, StreamError};
use wasmtime::component::{Component, Func, Instance, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

type Handle<'a> =
    wasmtime::component::TypedFunc<(&'a [u8], CallContext<'a>), (Result<Vec<u8>, FunctionError>,)>;

pub struct State {
    wasi: wasmtime_wasi::WasiCtx,
    table: ResourceTable,
}

impl wasmtime_wasi::WasiView for State {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// What differs between the plain engines the bench compares.
#[derive(Clone, Copy)]
pub struct Options {
    /// The pooling allocator instead of on-demand allocation.
    pub pooling: bool,
    /// Epoch checks in the compiled code.
    pub epochs: bool,
}

/// `hello`, compiled and linked.
pub struct Plain {
    engine: Engine,
    pre: InstancePre<State>,
}

impl Plain {
    /// Compiles `wasm` with wasmtime's defaults and component-model async
    /// off (as wasmfn has it), with on-demand allocation or with the
    /// pooling allocator set to keep a freed slot's pages resident as
    /// wasmfn's is (without that, wasmtime's defaults make an instantiation
    /// slower than wasmfn's whole `Instance::new`). With `epochs`, the
    /// compiled code checks the epoch as wasmfn's does (the epoch never
    /// advances here, so the checks cost what they cost and never fire).
    pub fn new(wasm: &Path, options: Options) -> Self {
        let mut config = Config::new();
        config.concurrency_support(false);
        config.epoch_interruption(options.epochs);
        if options.pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.linear_memory_keep_resident(1 << 20);
            pool.table_keep_resident(16 << 10);
            pool.pagemap_scan(wasmtime::Enabled::Auto);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config).expect("a plain wasmtime engine");
        let component = Component::from_file(&engine, wasm).expect("compiling hello");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        // wasmfn's runtime interface, as little as `hello` needs of it.
        let mut runtime = linker.instance("wasmfn:handler/runtime@0.2.0").unwrap();
        runtime
            .func_wrap("remaining-time-ms", |_, (): ()| Ok((0u64,)))
            .unwrap();
        runtime
            .func_wrap("report-fatal", |_, (_,): (FunctionError,)| Ok(()))
            .unwrap();
        runtime
            .func_wrap("write-response", |_, (_,): (Vec<u8>,)| {
                Ok((Err::<(), _>(StreamError::NotStreaming),))
            })
            .unwrap();
        let pre = linker.instantiate_pre(&component).expect("linking hello");
        Plain { engine, pre }
    }

    /// A new instance: a WASI context, a `Store` and the instantiation,
    /// what any host does for each.
    pub fn instantiate(&self) -> (Store<State>, Instance) {
        let state = State {
            wasi: wasmtime_wasi::WasiCtx::builder().build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&self.engine, state);
        store.set_epoch_deadline(u64::MAX);
        let instance = self
            .pre
            .instantiate(&mut store)
            .expect("instantiating hello");
        (store, instance)
    }
}

/// One instance of `hello`, initialized and kept warm.
pub struct Warm {
    store: Store<State>,
    handle: Func,
}

impl Warm {
    pub fn new(plain: &Plain) -> Self {
        let (mut store, instance) = plain.instantiate();
        let init = instance
            .get_typed_func::<(), (Result<(), FunctionError>,)>(&mut store, "init")
            .expect("hello exports `init`");
        init.call(&mut store, ()).unwrap().0.expect("hello's init");
        let handle: Handle<'_> = instance
            .get_typed_func(&mut store, "handle")
            .expect("hello exports `handle`");
        Warm {
            store,
            handle: *handle.func(),
        }
    }

    /// Calls `handle` with `event` and a context like wasmfn's.
    pub fn call(&mut self, event: &[u8]) -> Vec<u8> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let ctx = CallContext {
            request_id: &request_id,
            function_name: "hello",
            function_version: "$LATEST",
            invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:hello",
            memory_limit_in_mb: 128,
            deadline_ms: 0,
            log_group_name: "/aws/lambda/hello",
            log_stream_name: "2026/01/01/[$LATEST]00000000000000000000000000000000",
            trace_id: None,
            client_context: None,
            identity: None,
            tenant_id: None,
        };
        // SAFETY: `new` type-checked `handle` against this signature; only
        // the lifetimes of the borrowed parameters differ.
        let handle: Handle<'_> =
            unsafe { wasmtime::component::TypedFunc::new_unchecked(self.handle) };
        let (result,) = handle.call(&mut self.store, (event, ctx)).unwrap();
        result.expect("hello answers")
    }
}
