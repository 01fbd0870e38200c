//! Lambda's logging controls in the manifest: a function's `logs:` over
//! the provider's `logs.lambda`, checked as Lambda checks `LoggingConfig`.

use serde::Deserialize;

use crate::report::{LogFormat, LogLevel, Logging};

/// `provider.logs:`; only `lambda` concerns wasmfn (the Framework's other
/// keys configure API Gateway's access logs).
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct ProviderLogs {
    #[serde(default)]
    pub(super) lambda: LogsSpec,
}

/// Lambda's logging controls, the Serverless Framework's keys for
/// `LoggingConfig`: `logFormat` (`Text` or `JSON`), `applicationLogLevel`
/// (`TRACE` … `FATAL`), `systemLogLevel` (`DEBUG`, `INFO`, `WARN`). The
/// log group is accepted and ignored: logs go to stderr.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LogsSpec {
    log_format: Option<String>,
    application_log_level: Option<String>,
    system_log_level: Option<String>,
    #[allow(dead_code)]
    log_group: Option<String>,
}

/// A function's logging controls: its own `logs` over the provider's; an
/// error says what is wrong and the fix.
pub(super) fn logging(own: &LogsSpec, provider: &LogsSpec) -> Result<Logging, String> {
    let format = match own.log_format.as_ref().or(provider.log_format.as_ref()) {
        None => LogFormat::Text,
        Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
        Some(f) if f.eq_ignore_ascii_case("text") => LogFormat::Text,
        Some(f) => return Err(format!("logFormat is `{f}`; it must be `Text` or `JSON`")),
    };
    let level = |key: &str, value: Option<&String>, allowed: &[LogLevel]| {
        let Some(value) = value else {
            return Ok(LogLevel::Info);
        };
        let names: Vec<&str> = allowed.iter().map(|l| l.as_str()).collect();
        let level = LogLevel::parse(value)
            .filter(|l| allowed.contains(l) && value.eq_ignore_ascii_case(l.as_str()))
            .ok_or_else(|| format!("{key} is `{value}`; it must be one of {}", names.join(", ")))?;
        if format != LogFormat::Json {
            return Err(format!(
                "{key} needs `logFormat: JSON`: Lambda filters log levels only in its JSON format"
            ));
        }
        Ok(level)
    };
    use LogLevel::*;
    Ok(Logging {
        format,
        application_level: level(
            "applicationLogLevel",
            own.application_log_level
                .as_ref()
                .or(provider.application_log_level.as_ref()),
            &[Trace, Debug, Info, Warn, Error, Fatal],
        )?,
        system_level: level(
            "systemLogLevel",
            own.system_log_level
                .as_ref()
                .or(provider.system_log_level.as_ref()),
            &[Debug, Info, Warn],
        )?,
    })
}
