//! How a function may be invoked beyond the Invoke API: its Function URL's
//! `invokeMode` (the Serverless Framework's `url:`) and tenant isolation
//! (CloudFormation's `TenancyConfig`, in the manifest's camelCase).
//!
//! ```yaml
//! functions:
//!   tokens:
//!     handler: tokens.wasm
//!     url:
//!       invokeMode: RESPONSE_STREAM   # or BUFFERED, the default; `url: true` too
//!   per-customer:
//!     handler: app.wasm
//!     tenancyConfig:
//!       tenantIsolationMode: PER_TENANT
//! ```

use serde::Deserialize;

use super::FunctionSpec;

/// `functions.<name>.url`: `true`, or the URL's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UrlSpec {
    /// `url: true` (a buffered URL) or `url: false`.
    Enabled(bool),
    /// `url: {invokeMode, cors, authorizer}`.
    Settings(UrlSettings),
}

/// The settings of a function's URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlSettings {
    /// `BUFFERED` (the default) or `RESPONSE_STREAM`.
    pub invoke_mode: Option<String>,
    /// Accepted and ignored: locally every origin may call.
    pub cors: Option<serde_yaml_ng::Value>,
    /// Accepted and ignored: locally nobody signs the call.
    pub authorizer: Option<serde_yaml_ng::Value>,
}

impl UrlSpec {
    /// Whether the URL streams its responses (`invokeMode: RESPONSE_STREAM`).
    pub fn streams(&self) -> Result<bool, String> {
        let UrlSpec::Settings(settings) = self else {
            return Ok(false);
        };
        match settings.invoke_mode.as_deref() {
            None | Some("BUFFERED") => Ok(false),
            Some("RESPONSE_STREAM") => Ok(true),
            Some(other) => Err(format!(
                "invokeMode is `{other}`; it must be `BUFFERED` or `RESPONSE_STREAM`"
            )),
        }
    }

    fn enabled(&self) -> bool {
        !matches!(self, UrlSpec::Enabled(false))
    }
}

/// `functions.<name>.tenancyConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenancySpec {
    /// `PER_TENANT`, the one mode Lambda has.
    pub tenant_isolation_mode: String,
}

impl TenancySpec {
    /// Whether the function isolates tenants.
    pub fn isolates(&self) -> Result<bool, String> {
        match self.tenant_isolation_mode.as_str() {
            "PER_TENANT" => Ok(true),
            other => Err(format!(
                "tenantIsolationMode is `{other}`; the one mode is `PER_TENANT` (leave tenancyConfig out for none)"
            )),
        }
    }
}

/// What tenant isolation cannot be combined with, as on Lambda
/// (lambda/latest/dg/tenant-isolation.html: no Function URLs, no
/// provisioned concurrency, no SnapStart, and no API Gateway HTTP APIs).
/// `snapStart` and provisioned concurrency are checked with the rest of the
/// function's limits, wherever its configuration comes from.
pub(super) fn check_tenancy(spec: &FunctionSpec) -> Result<(), String> {
    if spec.url.as_ref().is_some_and(UrlSpec::enabled) {
        return Err("tenant isolation does not work with a Function URL, as on Lambda; remove `url`, and invoke through the Invoke API with X-Amz-Tenant-Id".into());
    }
    let http_api = spec
        .events
        .iter()
        .any(|event| event.get("httpApi").is_some());
    if http_api {
        return Err("tenant isolation does not work behind an API Gateway HTTP API (`httpApi` events), as on Lambda; use a REST API (`http` events), whose callers send X-Amz-Tenant-Id".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::manifest::Manifest;

    fn config(function: &str) -> Result<crate::function::FunctionConfig, String> {
        let yaml = format!("service: s\nfunctions:\n  f:\n    handler: f.wasm\n{function}");
        let (m, _) = Manifest::parse(Path::new("serverless.yml"), &yaml).unwrap();
        m.function_config("f").map_err(|e| e.to_string())
    }

    #[test]
    fn the_manifest_sets_streaming_urls_and_tenant_isolation() {
        assert!(
            config("    url:\n      invokeMode: RESPONSE_STREAM\n")
                .unwrap()
                .url_streams
        );
        assert!(!config("    url: true\n").unwrap().url_streams);
        let per_tenant = "    tenancyConfig:\n      tenantIsolationMode: PER_TENANT\n";
        assert!(config(per_tenant).unwrap().tenant_isolation);
        let err = config(&format!("{per_tenant}    url: true\n")).unwrap_err();
        assert!(
            err.contains("functions.f.tenancyConfig") && err.contains("Function URL"),
            "{err}"
        );
        let err = config(&format!(
            "{per_tenant}    events:\n      - httpApi: {{path: /, method: get}}\n"
        ))
        .unwrap_err();
        assert!(err.contains("HTTP API"), "{err}");
        // REST API routes are fine.
        assert!(config(&format!(
            "{per_tenant}    events:\n      - http: {{path: /, method: get}}\n"
        ))
        .is_ok());
        let err = config("    url:\n      invokeMode: STREAMING\n").unwrap_err();
        assert!(
            err.contains("functions.f.url") && err.contains("RESPONSE_STREAM"),
            "{err}"
        );
    }

    fn url(yaml: &str) -> UrlSpec {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn a_url_streams_only_in_response_stream_mode() {
        assert!(!url("true").streams().unwrap());
        assert!(!url("{cors: true}").streams().unwrap());
        assert!(!url("{invokeMode: BUFFERED}").streams().unwrap());
        assert!(url("{invokeMode: RESPONSE_STREAM}").streams().unwrap());
        let err = url("{invokeMode: STREAM}").streams().unwrap_err();
        assert!(err.contains("RESPONSE_STREAM"), "{err}");
    }

    #[test]
    fn per_tenant_is_the_one_mode() {
        let spec: TenancySpec =
            serde_yaml_ng::from_str("{tenantIsolationMode: PER_TENANT}").unwrap();
        assert!(spec.isolates().unwrap());
        let spec: TenancySpec = serde_yaml_ng::from_str("{tenantIsolationMode: SHARED}").unwrap();
        assert!(spec.isolates().unwrap_err().contains("PER_TENANT"));
    }
}
