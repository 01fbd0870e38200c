//! The state wasmtime keeps for one instance, and the one place where the
//! capabilities are wired to it: each capability's `add_to_linker` is given
//! a function from [`InstanceState`] to the view it works on.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::filesystem::WasiFilesystemCtxView;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::limits::MemoryLimiter;
use super::logs::{LogBuffer, Stream};
use super::response::ResponseSink;
use super::INIT_TIMEOUT;
use crate::bindings::{self, runtime};
use crate::capability::env::InstanceEnv;
use crate::capability::files::descriptors::{self, OpenFiles, OpenFilesView};
use crate::capability::files::{InstanceFiles, Preopens, PreopensView};
use crate::capability::http::OutboundHooks;
use crate::capability::kv::{self, Grants, KvView};
use crate::capability::task::{self, TaskView};

/// The state wasmtime keeps for one instance.
pub struct InstanceState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundHooks,
    kv: Arc<Grants>,
    table: ResourceTable,
    /// Its environment variables.
    pub(super) env: InstanceEnv,
    /// Its `/tmp` and `/opt`, opened when the guest first asks.
    pub(super) files: InstanceFiles,
    /// The files it holds open.
    open_files: OpenFiles,
    pub(super) limiter: MemoryLimiter,
    /// The deadline of the running call (invocation or init).
    pub(super) deadline: Instant,
    /// What the guest said about why it is aborting, if it said anything.
    pub(super) fatal: Option<bindings::FunctionError>,
    /// Where the running `handle-stream` call's chunks go; none outside one.
    pub(super) response: Option<ResponseSink>,
}

impl InstanceState {
    /// The state of a new instance whose output goes to `logs`: its
    /// environment, its files, the hooks of its outbound HTTP, the stores it
    /// may open, and its memory cap.
    pub(super) fn new(
        logs: &LogBuffer,
        env: InstanceEnv,
        files: InstanceFiles,
        outbound: OutboundHooks,
        kv: Arc<Grants>,
        memory_mb: u32,
    ) -> Self {
        let mut wasi = WasiCtxBuilder::new();
        // The environment is `env`'s, not the WASI context's. Outbound
        // traffic goes through wasi:http and its allow-list; raw sockets are
        // refused before they exist, so that a guest cannot hold host
        // descriptors through them (see `descriptors`).
        wasi.stdout(logs.stream(Stream::Stdout))
            .stderr(logs.stream(Stream::Stderr))
            .allow_tcp(false)
            .allow_udp(false);
        InstanceState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            outbound,
            kv,
            table: ResourceTable::new(),
            env,
            files,
            open_files: OpenFiles::default(),
            limiter: MemoryLimiter::new((memory_mb as usize) << 20),
            deadline: Instant::now() + INIT_TIMEOUT,
            fatal: None,
            response: None,
        }
    }

    fn remaining_ms(&self) -> u64 {
        self.deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64
    }

    /// The host resources the guest holds handles to, by kind: files and
    /// directories, streams, and the rest (buckets, requests, pollables).
    #[cfg(feature = "compiler")]
    pub(super) fn open_handles(&mut self) -> [usize; 3] {
        let mut kinds = [0; 3];
        for entry in self.table.iter_mut() {
            let kind = if entry.is::<wasmtime_wasi::filesystem::Descriptor>() {
                0
            } else if entry.is::<wasmtime_wasi::p2::DynOutputStream>()
                || entry.is::<wasmtime_wasi::p2::DynInputStream>()
            {
                1
            } else {
                2
            };
            kinds[kind] += 1;
        }
        kinds
    }

    /// Links everything a guest may import: WASI 0.2, with the instance's
    /// own preopens, environment and checked `open-at` in place of
    /// wasmtime-wasi's; outbound wasi:http; the key-value stores; what the
    /// JavaScript engine reads at init; and the wasmfn runtime interface.
    pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        wasmtime_wasi::p2::add_to_linker_async(linker)?;
        linker.allow_shadowing(true);
        // Preopens come from the instance's files, opened on first use.
        wasmtime_wasi::p2::bindings::filesystem::preopens::add_to_linker::<_, Preopens>(
            linker,
            |state| PreopensView {
                files: &mut state.files,
                table: &mut state.table,
            },
        )?;
        // The environment is one list shared by a function's instances.
        wasmtime_wasi::p2::bindings::cli::environment::add_to_linker::<_, HasSelf<_>>(
            linker,
            |state| &mut state.env,
        )?;
        // Opening a file is checked against the instance's and the host's
        // descriptor limits.
        descriptors::add_to_linker(linker, |state| OpenFilesView {
            open: &mut state.open_files,
            filesystem: WasiFilesystemCtxView {
                ctx: state.wasi.filesystem(),
                table: &mut state.table,
            },
        })?;
        linker.allow_shadowing(false);
        // Whether a request goes out is the function's allow-list's call.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
        linker.allow_shadowing(true);
        crate::capability::http::outgoing::add_to_linker(linker)?;
        linker.allow_shadowing(false);
        kv::add_to_linker(linker, |state| KvView {
            grants: &state.kv,
            table: &mut state.table,
        })?;
        task::add_to_linker(linker, |state| TaskView {
            files: &state.files,
            env: &state.env,
        })?;
        runtime::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
        bindings::wasmfn::handler::types::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
        Self::add_0_1_to_linker(linker)
    }

    /// The runtime interface of `wasmfn:handler@0.1`, for guests built
    /// against it: the same two functions as today's, under 0.1's names
    /// (semver keeps 0.1 and 0.2 apart, so the current ones do not match).
    fn add_0_1_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        linker.instance(bindings::TYPES_0_1)?;
        let mut runtime = linker.instance(bindings::RUNTIME_0_1)?;
        runtime.func_wrap("remaining-time-ms", |cx, ()| {
            let cx: wasmtime::StoreContextMut<'_, InstanceState> = cx;
            Ok((cx.data().remaining_ms(),))
        })?;
        runtime.func_wrap(
            "report-fatal",
            |mut cx: wasmtime::StoreContextMut<'_, InstanceState>,
             (error,): (bindings::FunctionError,)| {
                cx.data_mut().fatal = Some(error);
                Ok(())
            },
        )?;
        Ok(())
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl runtime::Host for InstanceState {
    fn remaining_time_ms(&mut self) -> u64 {
        self.remaining_ms()
    }

    fn report_fatal(&mut self, error: bindings::FunctionError) {
        self.fatal = Some(error);
    }

    async fn write_response(&mut self, chunk: Vec<u8>) -> Result<(), bindings::StreamError> {
        match self.response.as_mut() {
            Some(sink) => sink.send(chunk.into()).await,
            None => Err(bindings::StreamError::NotStreaming),
        }
    }
}

impl bindings::wasmfn::handler::types::Host for InstanceState {}
