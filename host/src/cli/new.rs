//! `wasmfn new`: create a guest crate from a template.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use wasmfn::tooling::scaffold::{create, template, TEMPLATES};

/// Arguments of `wasmfn new`.
#[derive(Debug, Args)]
#[command(after_help = templates_help())]
pub struct NewArgs {
    /// The function's (and crate's) name.
    name: String,

    /// What to start from.
    #[arg(long, short, default_value = "hello")]
    template: String,

    /// Where to create it (default: ./<name>).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,

    /// The guest SDK to depend on (default: the one this wasmfn was built
    /// from).
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
}

fn templates_help() -> String {
    let lines: Vec<String> = TEMPLATES
        .iter()
        .map(|t| format!("  {:<10} {}", t.name, t.about))
        .collect();
    format!("Templates:\n{}", lines.join("\n"))
}

/// Runs `wasmfn new`.
pub fn run(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let template = template(&args.template)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let sdk = args
        .sdk
        .clone()
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-sdk")));
    create(&dir, &args.name, template, &sdk)?;
    let shown = dir.display();
    println!("created {shown} from the `{}` template", template.name);
    println!();
    println!("  cd {shown}");
    println!("  cargo test                                   # unit tests, natively");
    println!("  cargo build --release --target wasm32-wasip2 # the component");
    println!("  wasmfn invoke {} --event events/event.json", args.name);
    Ok(ExitCode::SUCCESS)
}
