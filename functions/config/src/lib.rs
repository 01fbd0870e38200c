//! Validates its configuration once, at init, and reports every problem.
//!
//! The function needs `TABLE_NAME`, `API_URL` and `MAX_RETRIES` (a number);
//! `STAGE` is optional. They are read in the init phase: a misconfigured
//! deployment fails its cold start with one error that lists *all* missing
//! and malformed variables, instead of failing later, one variable at a
//! time. Invocations then answer with the validated settings (never with
//! secrets).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasmfn_guest::{Context, Error};

/// The function's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Config {
    /// The DynamoDB table.
    pub table_name: String,
    /// The downstream API.
    pub api_url: String,
    /// How often to retry the API.
    pub max_retries: u32,
    /// The deployment stage.
    #[serde(default)]
    pub stage: Option<String>,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// Reads and validates the environment.
pub fn load() -> Result<Config, Error> {
    let config: Config = wasmfn_guest::config::from_env()?;
    if !config.api_url.starts_with("http://") && !config.api_url.starts_with("https://") {
        return Err(Error::new(
            "ConfigError",
            format!("API_URL must be an http(s) URL, not `{}`", config.api_url),
        ));
    }
    Ok(config)
}

fn init() -> Result<(), Error> {
    let config = load()?;
    log::info!(tableName = config.table_name.as_str(); "configuration loaded");
    let _ = CONFIG.set(config);
    Ok(())
}

/// Answers with the validated settings.
#[wasmfn_guest::handler(init = init)]
pub fn handler(_event: Value, _ctx: Context) -> Result<Config, Error> {
    match CONFIG.get() {
        Some(config) => Ok(config.clone()),
        None => load(),
    }
}
