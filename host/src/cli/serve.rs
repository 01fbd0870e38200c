//! `wasmfn serve`: every function of a manifest behind the Lambda Invoke
//! API, its API Gateway routes and Function URLs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use wasmfn::trigger::apigw::router::{routes_from_events, Router};
use wasmfn::trigger::funnel::{Funnel, LogStyle};
use wasmfn::trigger::metrics::Metrics;
use wasmfn::trigger::queue::{AsyncQueue, QueueOptions};
use wasmfn::trigger::registry::Registry;
use wasmfn::trigger::Service;
use wasmfn::{Host, Manifest};

use super::Cli;

/// Arguments of `wasmfn serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The manifest (serverless.yml shape).
    #[arg(long, value_name = "FILE", default_value = wasmfn::manifest::DEFAULT_MANIFEST)]
    manifest: PathBuf,

    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,

    /// Where the async queue, destination records and embedded key-value
    /// stores are kept.
    #[arg(long, value_name = "DIR", default_value = ".wasmfn")]
    state_dir: PathBuf,

    /// Seconds before the first retry of a failed async invocation (doubled
    /// for the second).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    retry_delay: f64,

    /// Reload a function when its `.wasm` changes, or rebuild it when its
    /// crate's sources change; other functions keep serving throughout.
    #[arg(long)]
    watch: bool,
}

/// Runs `wasmfn serve` until SIGINT or SIGTERM.
pub fn run(cli: &Cli, args: &ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    let retry_delay = Duration::try_from_secs_f64(args.retry_delay).map_err(|_| {
        anyhow::anyhow!(
            "--retry-delay {} is not a number of seconds",
            args.retry_delay
        )
    })?;
    let (mut manifest, warnings) = Manifest::load(&args.manifest)?;
    manifest.set_state_dir(&args.state_dir);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    // Everything that can fail on bad input fails here, before the socket
    // is bound.
    let mut specs = Vec::new();
    let mut routes = Vec::new();
    let mut rules = Vec::new();
    let mut watched = Vec::new();
    let mut destinations = std::collections::HashMap::new();
    for (name, spec) in &manifest.functions {
        let mut config = manifest.function_config(name)?;
        cli.apply_pool_flags(&mut config)?;
        let wasm = super::target::component_of(&manifest, name, &cli.cache_root(), &mut config)?;
        watched.push((name.clone(), manifest.handler(name)?, config.clone()));
        destinations.insert(name.clone(), manifest.destination_files(name)?);
        specs.push((wasm, config));
        let (mut function_routes, warnings) = routes_from_events(name, &spec.events);
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        routes.append(&mut function_routes);
        let (mut function_rules, problems) =
            wasmfn::trigger::schedule::rules_from_events(&manifest.service, name, &spec.events);
        if !problems.is_empty() {
            anyhow::bail!("{}: {}", manifest.path().display(), problems.join("; "));
        }
        rules.append(&mut function_rules);
    }
    let host = Arc::new(Host::new(cli.host_options())?);
    let observer = super::progress::Spinner::new(&manifest.service);
    let mut functions = BTreeMap::new();
    for result in host.load_many(specs, &observer) {
        let function = result?;
        functions.insert(function.config().name.clone(), function);
    }
    let functions = Arc::new(Registry::new(functions));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for (name, function) in functions.all() {
            if let Err(e) = function.prewarm().await {
                anyhow::bail!("function `{name}` cannot start its spare instances: {e}");
            }
        }
        let metrics = Arc::new(Metrics::new(functions.clone()));
        let funnel = Arc::new(
            Funnel::new(LogStyle::Block, Some(metrics.clone())).with_floor(cli.log_floor()),
        );
        let queue = AsyncQueue::start(
            QueueOptions {
                dir: args.state_dir.join("queue"),
                retry_delay,
                destinations,
            },
            functions.clone(),
            funnel.clone(),
        )
        .await
        .with_context(|| format!("opening the async queue in {}", args.state_dir.display()))?;
        let region = manifest
            .provider
            .region
            .clone()
            .unwrap_or_else(|| wasmfn::aws::DEFAULT_REGION.into());
        for rule in rules {
            eprintln!(
                "wasmfn: schedule {} invokes {} on {}",
                rule.name, rule.function, rule.source
            );
            tokio::spawn(wasmfn::trigger::schedule::run(
                rule,
                queue.clone(),
                region.clone(),
            ));
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let router = Router::new(routes);
        print_banner(addr, &functions, &router);
        let service = Arc::new(Service {
            metrics,
            funnel,
            functions: functions.clone(),
            router,
            stage: manifest
                .provider
                .stage
                .clone()
                .unwrap_or_else(|| "dev".into()),
            queue,
        });
        // Warm instances idle past their timeout are dropped even when no
        // request comes to notice.
        let reaper = functions.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                for (_, f) in reaper.all() {
                    f.reap_idle();
                }
            }
        });
        if args.watch {
            tokio::spawn(super::watch::watch(
                host.clone(),
                cli.cache_root(),
                functions.clone(),
                watched,
            ));
        }
        wasmfn::trigger::server::serve(listener, service, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn print_banner(addr: SocketAddr, functions: &Registry, router: &Router) {
    let functions = functions.all();
    eprintln!(
        "wasmfn: serving {} function(s) on http://{addr}",
        functions.len()
    );
    eprintln!("  Invoke API   POST http://{addr}/2015-03-31/functions/{{name}}/invocations");
    for (name, _) in &functions {
        eprintln!("  function     {name}  (URL: http://{addr}/lambda-url/{name}/)");
    }
    for route in router.routes() {
        eprintln!(
            "  route        {:<7} http://{addr}{}  → {}{}",
            route.method,
            route.path,
            route.function,
            if route.cors { "  (CORS)" } else { "" }
        );
    }
    eprintln!("  metrics      GET  http://{addr}/metrics");
}
