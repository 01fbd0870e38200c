//! `wasmfn package`: a deployable zip for Lambda's `provided.al2023`
//! runtime, per architecture: `bootstrap` (this binary, or the one given),
//! the components, their precompiled artifacts for that architecture, and
//! the manifest; plus a SAM template. With `--function NAME` each named
//! function gets a zip of its own, holding only it, and a SAM resource whose
//! `CodeUri` is that zip.
//!
//! Artifacts are compiled for the target's baseline CPU features (the same
//! setting `wasmfn lambda` runs with), so x86_64 and arm64 artifacts can both
//! be built here and are loaded on Lambda without compiling.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use serde_yaml_ng::Value;
use wasmfn::{Host, Manifest};
use zip::write::SimpleFileOptions;

use super::Cli;

/// Which architectures to package for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    /// Intel/AMD.
    #[value(name = "x86_64")]
    X86_64,
    /// Graviton.
    Arm64,
    /// One zip for each.
    Both,
}

/// Arguments of `wasmfn package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The manifest (serverless.yml shape).
    #[arg(long, value_name = "FILE", default_value = wasmfn::manifest::DEFAULT_MANIFEST)]
    manifest: PathBuf,

    /// The Lambda architecture(s).
    #[arg(long, value_enum, default_value = "x86_64")]
    arch: Arch,

    /// Where the zips and the SAM template go.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    out: PathBuf,

    /// The host binary to ship for x86_64 (default: this one, on x86_64):
    /// `cargo build --profile lambda -p wasmfn --no-default-features` builds
    /// it without debug information or the compiler, as
    /// `target/lambda/wasmfn`.
    #[arg(
        long = "bootstrap-x86_64",
        alias = "bootstrap-x86-64",
        value_name = "FILE"
    )]
    bootstrap_x86_64: Option<PathBuf>,

    /// Package only this function, in a zip of its own, with a SAM
    /// resource of its own (repeatable). Without it, one zip holds the
    /// whole service.
    #[arg(long = "function", value_name = "NAME")]
    functions: Vec<String>,

    /// The host binary built for arm64 Linux: on x86_64, with Debian's
    /// `gcc-aarch64-linux-gnu`, `cargo build --profile lambda --target
    /// aarch64-unknown-linux-gnu -p wasmfn --no-default-features` builds it
    /// as `target/aarch64-unknown-linux-gnu/lambda/wasmfn`.
    #[arg(long, value_name = "FILE")]
    bootstrap_arm64: Option<PathBuf>,
}

/// A function as it goes into a package.
struct Packaged {
    name: String,
    /// Its component (or snapshot) on disk.
    wasm: PathBuf,
    bytes: Vec<u8>,
}

/// Runs `wasmfn package`.
pub fn run(cli: &Cli, args: &PackageArgs) -> anyhow::Result<ExitCode> {
    let (manifest, warnings) = Manifest::load(&args.manifest)?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    for name in &args.functions {
        if !manifest.functions.contains_key(name) {
            bail!(
                "there is no function `{name}` in {}; its functions are: {}",
                args.manifest.display(),
                manifest
                    .functions
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let selected: Vec<&String> = manifest
        .functions
        .keys()
        .filter(|name| args.functions.is_empty() || args.functions.contains(name))
        .collect();
    let mut components = Vec::new();
    let mut snapshot_host = None;
    for name in selected {
        if let wasmfn::HandlerSource::Node(_) | wasmfn::HandlerSource::Python(_) =
            manifest.handler(name)?
        {
            bail!(
                "function `{name}` is a Node.js or Python handler; `wasmfn package` packages compiled components only so far. Run it with `wasmfn serve` or `wasmfn invoke`"
            );
        }
        let mut config = manifest.function_config(name)?;
        let mut wasm =
            super::target::component_of(&manifest, name, &cli.cache_root(), &mut config)?;
        if config.snap_start {
            // The package ships the snapshot in place of the component, so
            // that the deployed function starts from it too. A snapshot is
            // the same wasm for every architecture.
            let host = snapshot_host.get_or_insert_with(|| Host::new(cli.host_options()));
            let host = host.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
            wasm = host.snapshot(&wasm, &config)?;
        }
        let bytes = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
        components.push(Packaged {
            name: name.clone(),
            wasm,
            bytes,
        });
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let arches: &[(&str, &str)] = match args.arch {
        Arch::X86_64 => &[("x86_64", "x86_64-unknown-linux-gnu")],
        Arch::Arm64 => &[("arm64", "aarch64-unknown-linux-gnu")],
        Arch::Both => &[
            ("x86_64", "x86_64-unknown-linux-gnu"),
            ("arm64", "aarch64-unknown-linux-gnu"),
        ],
    };
    // The whole service in one zip, or (with --function) a zip per function.
    let zips: Vec<(String, Vec<&Packaged>)> = if args.functions.is_empty() {
        vec![(manifest.service.clone(), components.iter().collect())]
    } else {
        components
            .iter()
            .map(|c| (format!("{}-{}", manifest.service, c.name), vec![c]))
            .collect()
    };
    for (arch, triple) in arches {
        // The binary given for the architecture, else this one if it is
        // built for it.
        let given = match *arch {
            "x86_64" => &args.bootstrap_x86_64,
            _ => &args.bootstrap_arm64,
        };
        let bootstrap = match given {
            Some(path) => Some(path.clone()),
            None if *triple == super::bundle::host_triple() => Some(std::env::current_exe()?),
            None => None,
        };
        let mut options = cli.host_options();
        options.engine.target = Some(triple.to_string());
        let host = Host::new(options)?;
        let mut code_uris = Vec::new();
        for (stem, functions) in &zips {
            let zip_path = args.out.join(format!("{stem}-{arch}.zip"));
            let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
            let packaged_manifest = rewrite_manifest(&args.manifest, &names)?;
            write_zip(
                &zip_path,
                bootstrap.as_deref(),
                &packaged_manifest,
                functions,
                &host,
            )
            .with_context(|| format!("writing {}", zip_path.display()))?;
            warn_if_over_limits(&zip_path)?;
            if bootstrap.is_none() {
                eprintln!(
                    "wasmfn: WARNING: {zip} has no bootstrap: build the host for {triple} (e.g. `cargo build --profile lambda -p wasmfn --no-default-features --target {triple}`) and pass --bootstrap-{arch} FILE",
                    zip = zip_path.display()
                );
            }
            for name in names {
                code_uris.push((name.to_string(), zip_path.clone()));
            }
            eprintln!(
                "wasmfn: packaged {} function(s) for {arch}: {}",
                functions.len(),
                zip_path.display()
            );
        }
        let template = args.out.join(format!("template-{arch}.yaml"));
        std::fs::write(&template, sam_template(&manifest, &code_uris, arch)?)?;
        eprintln!("wasmfn: SAM template {}", template.display());
    }
    eprintln!(
        "\nDeploy with SAM (`sam deploy -t {}/template-<arch>.yaml --guided`), or point serverless.yml at the zip:\n\n\
         provider:\n  runtime: provided.al2023\n  architecture: {}\npackage:\n  artifact: {}/{}-<arch>.zip\nfunctions:\n  <name>:\n    handler: <name>\n",
        args.out.display(),
        if args.arch == Arch::Arm64 { "arm64" } else { "x86_64" },
        args.out.display(),
        manifest.service
    );
    Ok(ExitCode::SUCCESS)
}

/// Lambda's limits on a deployment package: 50 MB zipped for a direct
/// upload, 250 MB unzipped.
const ZIPPED_LIMIT: u64 = 50 << 20;
const UNZIPPED_LIMIT: u64 = 250 << 20;

/// Says so when the zip at `path` is over one of Lambda's package limits,
/// and what makes it smaller.
fn warn_if_over_limits(path: &Path) -> anyhow::Result<()> {
    let zipped = std::fs::metadata(path)?.len();
    let unzipped: u64 = {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(path)?)?;
        (0..archive.len())
            .map(|i| archive.by_index(i).map(|f| f.size()))
            .sum::<Result<u64, _>>()?
    };
    if zipped > ZIPPED_LIMIT || unzipped > UNZIPPED_LIMIT {
        eprintln!(
            "wasmfn: WARNING: {} is {:.1} MB zipped, {:.1} MB unzipped: over Lambda's limits of 50 MB for a direct upload and 250 MB unzipped. Ship the bootstrap built without debug information or the compiler: `cargo build --profile lambda -p wasmfn --no-default-features`, then `--bootstrap-x86_64 target/lambda/wasmfn` (or --bootstrap-arm64 with the arm64 build); `--function NAME` packages one function at a time",
            path.display(),
            zipped as f64 / (1 << 20) as f64,
            unzipped as f64 / (1 << 20) as f64,
        );
    }
    Ok(())
}

/// Writes one zip: `bootstrap`, the manifest, and `functions`' components
/// (with what a snapshotted init left in /tmp) and their artifacts,
/// precompiled by `host` for the zip's architecture.
fn write_zip(
    zip_path: &Path,
    bootstrap: Option<&Path>,
    manifest: &str,
    functions: &[&Packaged],
    host: &Host,
) -> anyhow::Result<()> {
    let file = std::fs::File::create(zip_path)?;
    let mut zip = zip::ZipWriter::new(file);
    let plain = SimpleFileOptions::default();
    if let Some(path) = bootstrap {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the bootstrap binary {}", path.display()))?;
        zip.start_file("bootstrap", plain.unix_permissions(0o755))?;
        zip.write_all(&bytes)?;
    }
    zip.start_file("serverless.yml", plain)?;
    zip.write_all(manifest.as_bytes())?;
    for Packaged { name, wasm, bytes } in functions.iter().copied() {
        zip.start_file(format!("functions/{name}.wasm"), plain)?;
        zip.write_all(bytes)?;
        // What a snapshotted init left in /tmp goes beside its snapshot.
        let tmp = wasmfn::engine::snapshot_tmp(wasm);
        if tmp.is_dir() {
            add_tree(&mut zip, &tmp, &format!("functions/{name}.tmp"), plain)?;
        }
        let (artifact, compiled) = host.precompile(wasm, bytes)?;
        zip.start_file(
            format!("{}/{artifact}", super::bundle::ARTIFACTS_DIR),
            plain,
        )?;
        zip.write_all(&compiled)?;
    }
    zip.finish()?;
    Ok(())
}

/// Adds the files under `dir` to `zip` at `prefix/…`.
fn add_tree(
    zip: &mut zip::ZipWriter<std::fs::File>,
    dir: &Path,
    prefix: &str,
    options: SimpleFileOptions,
) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            zip.add_directory(&name, options)?;
            add_tree(zip, &entry.path(), &name, options)?;
        } else if kind.is_file() {
            zip.start_file(&name, options)?;
            zip.write_all(&std::fs::read(entry.path())?)?;
        }
    }
    Ok(())
}

/// The manifest as it goes in a zip: only the functions `keep`, each
/// handler pointing at its packaged component.
fn rewrite_manifest(path: &Path, keep: &[&str]) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)?;
    let mut doc: Value = serde_yaml_ng::from_str(&text)?;
    let Some(functions) = doc.get_mut("functions").and_then(Value::as_mapping_mut) else {
        bail!("{} has no functions to package", path.display());
    };
    functions.retain(|name, _| name.as_str().is_some_and(|n| keep.contains(&n)));
    for (name, spec) in functions.iter_mut() {
        let name = name.as_str().unwrap_or_default().to_string();
        if let Some(spec) = spec.as_mapping_mut() {
            spec.insert("handler".into(), format!("functions/{name}.wasm").into());
        }
    }
    Ok(serde_yaml_ng::to_string(&doc)?)
}

/// A SAM template deploying each packaged function from its zip.
fn sam_template(
    manifest: &Manifest,
    code_uris: &[(String, PathBuf)],
    arch: &str,
) -> anyhow::Result<String> {
    let mut out = String::from(
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nDescription: wasmfn functions, packaged by `wasmfn package`\nResources:\n",
    );
    for (name, zip) in code_uris {
        let config = manifest.function_config(name)?;
        let logical: String = name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        out.push_str(&format!(
            "  {logical}Function:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: provided.al2023\n      Handler: {name}\n      CodeUri: {zip}\n      Architectures: [{arch}]\n      MemorySize: {mem}\n      Timeout: {timeout}\n",
            zip = zip.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            mem = config.memory_mb,
            timeout = config.timeout.as_secs().max(1),
        ));
        if !config.environment.is_empty() {
            out.push_str("      Environment:\n        Variables:\n");
            for (k, v) in &config.environment {
                out.push_str(&format!("          {k}: {}\n", serde_json::to_string(v)?));
            }
        }
    }
    Ok(out)
}
