//! `wasmfn generate-event`: print a sample event to feed `wasmfn invoke`.

use std::process::ExitCode;

use clap::Args;
use wasmfn::tooling::generate::{generate, SampleOptions, SOURCES};

/// Arguments of `wasmfn generate-event`.
#[derive(Debug, Args)]
#[command(after_help = sources_help())]
pub struct GenerateEventArgs {
    /// The event source: apigateway, function-url, alb, s3, sqs, sns,
    /// dynamodb, kinesis, eventbridge (aliases: apigw, url, schedule,
    /// cloudwatch).
    source: String,

    /// The kind of event (default: the source's first kind).
    kind: Option<String>,

    /// The body (HTTP), message (SQS, SNS), record data (Kinesis) or
    /// detail JSON (EventBridge).
    #[arg(long)]
    body: Option<String>,

    /// The request path (HTTP sources).
    #[arg(long)]
    path: Option<String>,

    /// The HTTP method (default: GET, or POST with --body).
    #[arg(long)]
    method: Option<String>,

    /// The S3 bucket.
    #[arg(long)]
    bucket: Option<String>,

    /// The S3 object key, decoded (it is URL-encoded in the event, as S3
    /// sends it).
    #[arg(long)]
    key: Option<String>,

    /// The region.
    #[arg(long)]
    region: Option<String>,
}

fn sources_help() -> String {
    let lines: Vec<String> = SOURCES
        .iter()
        .map(|(source, kinds)| format!("  {source:<14} {}", kinds.join(", ")))
        .collect();
    format!(
        "Sources and kinds (the first is the default):\n{}\n\nExample:\n  wasmfn generate-event sqs > event.json && wasmfn invoke sqs-batch --event event.json",
        lines.join("\n")
    )
}

/// Runs `wasmfn generate-event`: the event, pretty-printed, on stdout.
pub fn run(args: &GenerateEventArgs) -> anyhow::Result<ExitCode> {
    let options = SampleOptions {
        body: args.body.clone(),
        path: args.path.clone(),
        method: args.method.clone(),
        bucket: args.bucket.clone(),
        key: args.key.clone(),
        region: args.region.clone(),
    };
    let event = generate(&args.source, args.kind.as_deref(), &options)?;
    println!("{}", serde_json::to_string_pretty(&event)?);
    Ok(ExitCode::SUCCESS)
}
