//! The Serverless Framework's variables in a manifest's strings, resolved
//! before the manifest is read: `${opt:stage, 'dev'}`,
//! `${self:provider.stage}`, `${env:NAME}`, `${sls:stage}`,
//! `${aws:region}` and `${aws:accountId}`.
//!
//! As in the Framework, a string that is one variable takes the value it
//! refers to (a number stays a number); a variable inside a longer string is
//! replaced by its text. After the comma come fallbacks, tried in order:
//! other variables, or literals (`'dev'`, `"dev"`, `3`). A source wasmfn
//! cannot reach locally (`ssm:`, `cf:`, `s3:`, `file(...)`) uses its
//! fallback if it has one, and is an error naming the variable otherwise.
//!
//! There are no command-line options to read, so `opt:` always falls back:
//! `${opt:stage, 'dev'}` is `dev`.

use serde_yaml_ng::Value;

use crate::aws::{DEFAULT_REGION, LOCAL_ACCOUNT_ID};

/// How deep variables may refer to variables (a cycle stops here).
const MAX_DEPTH: usize = 16;

/// A variable that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{variable}` at `{at}`: {reason}")]
pub struct VariableError {
    /// The variable as written, e.g. `${ssm:/db/url}`.
    pub variable: String,
    /// Where it is, as a dotted path, e.g. `provider.environment.DB`.
    pub at: String,
    /// Why, and what to do instead.
    pub reason: String,
}

/// Resolves every variable in `doc`, in place.
pub fn resolve(doc: &mut Value) -> Result<(), VariableError> {
    let source = doc.clone();
    let mut path = Vec::new();
    walk(doc, &source, &mut path)
}

/// Whether `text` holds a variable at all (the common manifest has none).
pub fn has_variables(text: &str) -> bool {
    text.contains("${")
}

fn walk(value: &mut Value, doc: &Value, path: &mut Vec<String>) -> Result<(), VariableError> {
    match value {
        Value::String(text) if has_variables(text) => {
            *value = interpolate(text, doc, &path.join("."), 0)?;
        }
        Value::Mapping(map) => {
            for (key, child) in map.iter_mut() {
                path.push(key.as_str().unwrap_or("?").to_string());
                walk(child, doc, path)?;
                path.pop();
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                walk(child, doc, path)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// The value of `text`: the referenced value if `text` is one variable,
/// else `text` with each variable replaced by its text.
fn interpolate(text: &str, doc: &Value, at: &str, depth: usize) -> Result<Value, VariableError> {
    let error = |variable: &str, reason: String| VariableError {
        variable: variable.to_string(),
        at: at.to_string(),
        reason,
    };
    if depth > MAX_DEPTH {
        return Err(error(
            text,
            "variables refer to each other in a cycle (or more than 16 deep)".into(),
        ));
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = closing(&rest[start..]) else {
            return Err(error(
                &rest[start..],
                "the variable has no closing `}`".into(),
            ));
        };
        let variable = &rest[start..start + len];
        let value = lookup(&variable[2..len - 1], doc, at, depth)
            .map_err(|reason| error(variable, reason))?;
        if start == 0 && len == rest.len() && out.is_empty() {
            return Ok(value);
        }
        out.push_str(&rest[..start]);
        out.push_str(&scalar_text(&value).ok_or_else(|| {
            error(
                variable,
                "it refers to a list or a map, which cannot be part of a string".into(),
            )
        })?);
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// The length of the variable at the start of `text` (`${` … its `}`),
/// counting nested variables.
fn closing(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 2;
            continue;
        }
        if bytes[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(i + 1);
            }
        }
        i += 1;
    }
    None
}

/// Splits `body` at its top-level commas (not those inside quotes or
/// nested variables).
fn alternatives(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut from) = (0usize, None, 0);
    for (i, c) in body.char_indices() {
        match (c, quote) {
            ('\'' | '"', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('{', None) => depth += 1,
            ('}', None) => depth = depth.saturating_sub(1),
            (',', None) if depth == 0 => {
                parts.push(body[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(body[from..].trim());
    parts
}

/// The value of a variable's body (`opt:stage, 'dev'`).
fn lookup(body: &str, doc: &Value, at: &str, depth: usize) -> Result<Value, String> {
    let mut unreachable = None;
    for candidate in alternatives(body) {
        match one(candidate, doc, at, depth)? {
            Found::Value(value) => return Ok(value),
            Found::Missing => {}
            Found::Unreachable(why) => unreachable = unreachable.or(Some(why)),
        }
    }
    Err(unreachable.unwrap_or_else(|| {
        "it has no value here and no fallback; add one, e.g. `${env:NAME, 'default'}`".into()
    }))
}

enum Found {
    Value(Value),
    /// The source has no such value: try the next alternative.
    Missing,
    /// The source cannot be read locally: try the next alternative.
    Unreachable(String),
}

fn one(candidate: &str, doc: &Value, at: &str, depth: usize) -> Result<Found, String> {
    let unquoted = candidate
        .strip_prefix('\'')
        .and_then(|c| c.strip_suffix('\''))
        .or_else(|| {
            candidate
                .strip_prefix('"')
                .and_then(|c| c.strip_suffix('"'))
        });
    if let Some(literal) = unquoted {
        return Ok(Found::Value(Value::String(literal.to_string())));
    }
    if candidate.starts_with("${") {
        return interpolate(candidate, doc, at, depth + 1)
            .map(Found::Value)
            .map_err(|e| e.reason);
    }
    let Some((source, key)) = candidate.split_once(':') else {
        // A bare literal: a number, a boolean or a word.
        return Ok(Found::Value(
            serde_yaml_ng::from_str(candidate).unwrap_or(Value::String(candidate.into())),
        ));
    };
    let key = key.trim();
    match source.trim() {
        "opt" => Ok(Found::Missing),
        "env" => Ok(std::env::var(key)
            .map(|v| Found::Value(Value::String(v)))
            .unwrap_or(Found::Missing)),
        "self" => {
            let mut node = doc;
            for part in key.split('.').filter(|p| !p.is_empty()) {
                node = match node.get(part) {
                    Some(next) => next,
                    None => return Ok(Found::Missing),
                };
            }
            match node {
                Value::String(text) if has_variables(text) => interpolate(text, doc, at, depth + 1)
                    .map(Found::Value)
                    .map_err(|e| e.reason),
                other => Ok(Found::Value(other.clone())),
            }
        }
        "sls" if key == "stage" => one("self:provider.stage", doc, at, depth).map(|found| match found {
            Found::Value(v) => Found::Value(v),
            _ => Found::Value(Value::String("dev".into())),
        }),
        "aws" if key == "region" => one("self:provider.region", doc, at, depth).map(|found| match found {
            Found::Value(v) => Found::Value(v),
            _ => Found::Value(Value::String(DEFAULT_REGION.into())),
        }),
        "aws" if key == "accountId" => Ok(Found::Value(Value::String(LOCAL_ACCOUNT_ID.into()))),
        other => Ok(Found::Unreachable(format!(
            "wasmfn resolves `opt:`, `self:`, `env:`, `sls:stage`, `aws:region` and `aws:accountId` locally, not `{other}:`; give the variable a fallback (`${{{other}:{key}, 'value'}}`) or use `${{env:NAME}}`"
        ))),
    }
}

/// A scalar's text, as the Framework puts it into a longer string.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(yaml: &str) -> Result<Value, VariableError> {
        let mut doc: Value = serde_yaml_ng::from_str(yaml).unwrap();
        resolve(&mut doc).map(|()| doc)
    }

    #[test]
    fn the_frameworks_usual_variables_resolve() {
        std::env::set_var("WASMFN_VARIABLES_TEST", "from-env");
        let doc = resolved(
            "service: users\nprovider:\n  stage: ${opt:stage, 'dev'}\n  memorySize: ${self:custom.memory}\n  environment:\n    TABLE: ${self:service}-${self:provider.stage}\n    FROM_ENV: ${env:WASMFN_VARIABLES_TEST}\n    DEFAULTED: ${env:WASMFN_VARIABLES_UNSET, \"fallback\"}\n    STAGE: ${sls:stage}\n    REGION: ${aws:region}\ncustom:\n  memory: 256\n",
        )
        .unwrap();
        let env = &doc["provider"]["environment"];
        assert_eq!(doc["provider"]["stage"], "dev");
        assert_eq!(doc["provider"]["memorySize"], 256);
        assert_eq!(env["TABLE"], "users-dev");
        assert_eq!(env["FROM_ENV"], "from-env");
        assert_eq!(env["DEFAULTED"], "fallback");
        assert_eq!(env["STAGE"], "dev");
        assert_eq!(env["REGION"], DEFAULT_REGION);
    }

    #[test]
    fn unresolvable_variables_are_named_with_their_place_and_fix() {
        let err = resolved("provider:\n  environment:\n    DB: ${ssm:/db/url}\n").unwrap_err();
        assert_eq!(err.variable, "${ssm:/db/url}");
        assert_eq!(err.at, "provider.environment.DB");
        assert!(err.reason.contains("fallback"), "{}", err.reason);
        let doc = resolved("provider:\n  environment:\n    DB: ${ssm:/db/url, 'local'}\n").unwrap();
        assert_eq!(doc["provider"]["environment"]["DB"], "local");
        let err = resolved("a: ${env:WASMFN_VARIABLES_UNSET}\n").unwrap_err();
        assert!(err.reason.contains("no fallback"), "{}", err.reason);
        let err = resolved("a: ${self:b}\nb: ${self:a}\n").unwrap_err();
        assert!(err.reason.contains("cycle"), "{}", err.reason);
        let err = resolved("a: ${self:b\n").unwrap_err();
        assert!(err.reason.contains("closing"), "{}", err.reason);
    }
}
