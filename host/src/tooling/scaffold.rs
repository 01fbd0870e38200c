//! `wasmfn new`: a ready-to-build guest crate from a template.
//!
//! The crate is a workspace of its own (so it builds wherever it is
//! created), depends on the guest SDK by path, and comes with a
//! `serverless.yml` wiring the function to its event source and a sample
//! event in `events/event.json`, so that
//! `cargo build --target wasm32-wasip2` and `wasmfn invoke` work at once.

use std::path::{Path, PathBuf};

use crate::tooling::generate::{generate, SampleOptions};

/// One template.
pub struct Template {
    /// Its name on the command line.
    pub name: &'static str,
    /// What it is for.
    pub about: &'static str,
    /// SDK features it needs.
    features: &'static [&'static str],
    /// Extra `[dependencies]` lines.
    extra: &'static str,
    /// `src/lib.rs`.
    source: &'static str,
    /// The `events:` block of its function in `serverless.yml`.
    events: &'static str,
    /// The sample event: source, kind, path.
    sample: (&'static str, &'static str, Option<&'static str>),
}

/// Every template; the first is the default.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "hello",
        about: "an HTTP function behind API Gateway",
        features: &["apigw"],
        extra: "",
        source: include_str!("../../templates/hello.rs"),
        events: "    events:\n      - http:\n          path: /hello\n          method: get\n",
        sample: ("apigateway", "aws-proxy", Some("/hello")),
    },
    Template {
        name: "api",
        about: "a JSON API with errors as JSON responses",
        features: &["apigw"],
        extra: "",
        source: include_str!("../../templates/api.rs"),
        events: "    events:\n      - http:\n          path: /notes\n          method: any\n      - http:\n          path: /notes/{id}\n          method: any\n",
        sample: ("apigateway", "aws-proxy", Some("/notes")),
    },
    Template {
        name: "s3",
        about: "S3 object notifications",
        features: &["s3"],
        extra: "percent-encoding = \"2\"\n",
        source: include_str!("../../templates/s3.rs"),
        events: "    events:\n      - s3:\n          bucket: uploads\n          event: s3:ObjectCreated:*\n",
        sample: ("s3", "put", None),
    },
    Template {
        name: "sqs",
        about: "an SQS consumer with partial batch failures",
        features: &["sqs"],
        extra: "",
        source: include_str!("../../templates/sqs.rs"),
        events: "    events:\n      - sqs:\n          arn: arn:aws:sqs:us-east-1:123456789012:queue\n          functionResponseType: ReportBatchItemFailures\n",
        sample: ("sqs", "receive-message", None),
    },
    Template {
        name: "dynamodb",
        about: "a DynamoDB Streams consumer with partial batch failures",
        features: &["dynamodb"],
        extra: "",
        source: include_str!("../../templates/dynamodb.rs"),
        events: "    events:\n      - stream:\n          type: dynamodb\n          arn: arn:aws:dynamodb:us-east-1:123456789012:table/items/stream/2026-01-01T00:00:00.000\n          functionResponseType: ReportBatchItemFailures\n",
        sample: ("dynamodb", "update", None),
    },
    Template {
        name: "schedule",
        about: "a scheduled job (EventBridge rule)",
        features: &["eventbridge"],
        extra: "",
        source: include_str!("../../templates/schedule.rs"),
        events: "    events:\n      - schedule: rate(5 minutes)\n",
        sample: ("eventbridge", "scheduled-event", None),
    },
];

/// Why a crate could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// Not a usable crate name.
    #[error("`{0}` is not a valid function name: use lowercase letters, digits, `-` and `_`, starting with a letter")]
    BadName(String),
    /// No such template.
    #[error("unknown template `{0}`. Templates: {known}", known = TEMPLATES.iter().map(|t| t.name).collect::<Vec<_>>().join(", "))]
    UnknownTemplate(String),
    /// The directory is taken.
    #[error("{} already exists and is not empty; choose another name or directory", .0.display())]
    Exists(PathBuf),
    /// The SDK was not found.
    #[error("no wasmfn guest SDK at {}: pass --sdk with the path of the repository's guest-sdk directory", .0.display())]
    NoSdk(PathBuf),
    /// Writing failed.
    #[error("writing {}: {reason}", path.display())]
    Io {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        reason: std::io::Error,
    },
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Finds a template by name.
pub fn template(name: &str) -> Result<&'static Template, ScaffoldError> {
    TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| ScaffoldError::UnknownTemplate(name.to_string()))
}

/// Creates crate `name` from `template` in `dir` (which must not exist or
/// be empty), depending on the SDK at `sdk`. Returns the files written.
pub fn create(
    dir: &Path,
    name: &str,
    template: &Template,
    sdk: &Path,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::BadName(name.to_string()));
    }
    let sdk = std::fs::canonicalize(sdk).map_err(|_| ScaffoldError::NoSdk(sdk.to_owned()))?;
    let sdk_manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).unwrap_or_default();
    if !sdk_manifest.contains("name = \"wasmfn-guest\"") {
        return Err(ScaffoldError::NoSdk(sdk));
    }
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::Exists(dir.to_owned()));
    }
    let features: Vec<String> = template
        .features
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect();
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{sdk}}", &sdk.to_string_lossy())
            .replace("{{features}}", &features.join(", "))
            .replace("{{extra}}", template.extra)
            .replace("{{events}}", template.events.trim_end())
    };
    let (source, kind, path) = template.sample;
    let options = SampleOptions {
        path: path.map(str::to_string),
        ..SampleOptions::default()
    };
    let sample = generate(source, Some(kind), &options).expect("templates name known samples");
    let files = [
        (
            "Cargo.toml",
            fill(include_str!("../../templates/Cargo.toml.in")),
        ),
        ("src/lib.rs", fill(template.source)),
        (
            "serverless.yml",
            fill(include_str!("../../templates/serverless.yml.in")),
        ),
        (
            "events/event.json",
            serde_json::to_string_pretty(&sample).expect("JSON") + "\n",
        ),
        (".gitignore", "/target\n".to_string()),
        (
            ".cargo/config.toml",
            include_str!("../../templates/cargo-config.toml").to_string(),
        ),
    ];
    let mut written = Vec::new();
    for (relative, text) in files {
        let path = dir.join(relative);
        let io = |reason| ScaffoldError::Io {
            path: path.clone(),
            reason,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, text).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_name("orders-api_2"));
        for bad in ["", "2fast", "Orders", "a b", "../x"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_taken_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk");
        let err = create(dir.path(), "x", &TEMPLATES[0], &sdk).unwrap_err();
        assert!(matches!(err, ScaffoldError::Exists(_)), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
            "mine"
        );
    }
}
