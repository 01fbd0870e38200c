//! What a guest reads from `wasi:cli/environment`: its function's variables,
//! built once per function and shared by every instance, plus the one that
//! differs per instance, `AWS_LAMBDA_LOG_STREAM_NAME`.
//!
//! wasmtime-wasi's implementation keeps a copy of the variables in each
//! instance's WASI context and copies them again when the guest reads them.
//! This one copies them once, when the guest asks (wasi-libc does on its
//! first `getenv`, which the SDK's `init` makes), so creating an instance
//! copies no strings.

use std::sync::Arc;

use wasmtime_wasi::p2::bindings::cli::environment;

/// One instance's environment.
pub struct InstanceEnv {
    function: Arc<[(String, String)]>,
    log_stream_name: Arc<str>,
}

impl InstanceEnv {
    /// The function's variables and this instance's log stream.
    pub fn new(function: Arc<[(String, String)]>, log_stream_name: Arc<str>) -> Self {
        InstanceEnv {
            function,
            log_stream_name,
        }
    }

    /// The instance's CloudWatch log stream name.
    pub fn log_stream_name(&self) -> &Arc<str> {
        &self.log_stream_name
    }

    /// The instance's variables, in the order `get-environment` gives them:
    /// the function's, then the log stream.
    fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.function
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .chain(std::iter::once((
                "AWS_LAMBDA_LOG_STREAM_NAME",
                &*self.log_stream_name,
            )))
    }

    /// The same variables as one JSON object, written from the borrowed
    /// strings: the JavaScript engine's `process.env`, lifted as one string.
    /// A repeated name is written twice, and a parser keeps the later one,
    /// as a guest filling a map from the list would.
    pub fn to_json(&self) -> String {
        struct Vars<'a>(&'a InstanceEnv);
        impl serde::Serialize for Vars<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.vars())
            }
        }
        serde_json::to_string(&Vars(self)).expect("a map of strings serializes")
    }
}

impl environment::Host for InstanceEnv {
    fn get_environment(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .vars()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }

    /// A Lambda handler has no command line.
    fn get_arguments(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Nor a working directory: paths resolve against the preopens.
    fn initial_cwd(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_holds_every_variable_and_a_later_repeat_wins() {
        let function: Arc<[(String, String)]> = vec![
            ("A".to_owned(), "1".to_owned()),
            ("QUOTED".to_owned(), "say \"hi\"\n".to_owned()),
            ("A".to_owned(), "2".to_owned()),
        ]
        .into();
        let env = InstanceEnv::new(function, "2026/12/04/[$LATEST]abc".into());
        let parsed: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "A": "2",
                "QUOTED": "say \"hi\"\n",
                "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/04/[$LATEST]abc",
            })
        );
    }
}
