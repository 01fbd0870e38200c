//! `wasmfn invoke`: one invocation, printed the way Lambda users read it.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;
use wasmfn::trigger::funnel::{Funnel, LogStyle};
use wasmfn::{Host, InvokeRequest};

use super::Cli;

/// Arguments of `wasmfn invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// A `.wasm` component, or the name of a function in the manifest.
    function: String,

    /// The event JSON: a file, or `-` for stdin (default: `{}`).
    #[arg(long, short, value_name = "FILE")]
    event: Option<PathBuf>,

    /// Timeout in seconds (default: the manifest's, else 3).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,

    /// Memory size in MB (default: the manifest's, else 128).
    #[arg(long, value_name = "MB")]
    memory: Option<u32>,

    /// An environment variable for the function; repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,

    /// The manifest to look function names up in.
    #[arg(long, value_name = "FILE", default_value = wasmfn::manifest::DEFAULT_MANIFEST)]
    manifest: PathBuf,

    /// Stream the response (as `InvokeWithResponseStream` does): print
    /// each chunk as the function writes it.
    #[arg(long)]
    stream: bool,

    /// The tenant to invoke for, on a function with tenant isolation
    /// (`X-Amz-Tenant-Id`).
    #[arg(long, value_name = "ID")]
    tenant_id: Option<String>,
}

pub(super) fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Runs `wasmfn invoke`. Exit status: 0 on success, 1 on a function error,
/// 2 when the invocation could not be made at all.
pub fn run(cli: &Cli, args: &InvokeArgs) -> anyhow::Result<ExitCode> {
    let event = read_event(args.event.as_ref())?;
    let target = super::target::resolve(&args.function, Some(&args.manifest), &cli.cache_root())?;
    let mut config = target.config;
    if let Some(secs) = args.timeout {
        config.timeout = Duration::try_from_secs_f64(secs)
            .map_err(|_| anyhow::anyhow!("--timeout {secs} is not a number of seconds"))?;
    }
    if let Some(mb) = args.memory {
        config.memory_mb = mb;
    }
    for (k, v) in &args.env {
        config.environment.retain(|(existing, _)| existing != k);
        config.environment.push((k.clone(), v.clone()));
    }
    cli.apply_pool_flags(&mut config)?;

    let mut options = cli.host_options_for(&config);
    // One instance, once: reserving even a one-slot pool costs more
    // (~0.3 ms) than the on-demand allocator's one mapping.
    options.engine.pooling = wasmfn::PoolingMode::Off;
    let host = Host::new(options)?;
    let function = super::load_with_progress(&host, &target.wasm, config)?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let funnel = Funnel::new(LogStyle::Block, None).with_floor(cli.log_floor());
    let request = InvokeRequest {
        tenant_id: args.tenant_id.clone(),
        ..InvokeRequest::default()
    };
    let invocation = if args.stream {
        runtime.block_on(streamed(&funnel, &function, &event, request))?
    } else {
        runtime
            .block_on(funnel.invoke(&function, &event, request))?
            .invocation
    };

    let mut stdout = std::io::stdout().lock();
    let code = match &invocation.result {
        Ok(payload) => {
            stdout.write_all(payload)?;
            writeln!(stdout)?;
            0
        }
        Err(error) => {
            if args.stream {
                // After the chunks, on a line of its own.
                writeln!(stdout)?;
            }
            writeln!(stdout, "{}", error.to_json())?;
            1
        }
    };
    stdout.flush()?;
    // Tearing down is work for nothing in a process that ends here: the
    // engine's ticker would be joined (up to a tick), the instance's slot
    // reset and the pool unmapped, all of which exit does at once. A
    // function root the instance made in the temp dir is swept by the next
    // process that makes one.
    std::process::exit(code)
}

/// Invokes with the response streamed, printing each chunk as it comes.
/// The invocation's payload is empty: its chunks have been printed.
async fn streamed(
    funnel: &Funnel,
    function: &std::sync::Arc<wasmfn::Function>,
    event: &[u8],
    request: InvokeRequest,
) -> anyhow::Result<wasmfn::Invocation> {
    let (sink, mut chunks) = wasmfn::instance::response::ResponseSink::channel();
    let print = async move {
        let mut stdout = std::io::stdout();
        while let Some(chunk) = chunks.recv().await {
            // A closed stdout ends the printing, and the guest hears
            // `closed` on its next write.
            if stdout
                .write_all(&chunk)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                break;
            }
        }
    };
    let (invoked, ()) = tokio::join!(
        funnel.invoke_streamed(function, event, request, sink),
        print
    );
    Ok(invoked?.invocation)
}

pub(super) fn read_event(path: Option<&PathBuf>) -> anyhow::Result<Vec<u8>> {
    let (bytes, name) = match path {
        None => return Ok(b"{}".to_vec()),
        Some(p) if p.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading the event from stdin")?;
            (buf, "stdin".to_string())
        }
        Some(p) => (
            std::fs::read(p)
                .with_context(|| format!("cannot read event file `{}`", p.display()))?,
            format!("`{}`", p.display()),
        ),
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        bail!("the event in {name} is not valid JSON ({e}); Lambda events are JSON documents");
    }
    Ok(bytes)
}
