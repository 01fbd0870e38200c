//! Typed configuration from environment variables.
//!
//! Declare the configuration as a serde struct; each field is read from the
//! variable of the same name in upper case (`table_name` ← `TABLE_NAME`;
//! `#[serde(rename = "...")]` picks another name). `Option` fields and
//! fields with `#[serde(default)]` are optional. Numbers, booleans and
//! comma-separated lists (`Vec<T>`) are parsed from the text.
//!
//! When variables are missing or malformed, the error lists **all** of them
//! at once, so a deployment is fixed in one round instead of one variable
//! per cold start:
//!
//! ```
//! #[derive(serde::Deserialize, Debug)]
//! struct Config {
//!     table_name: String,
//!     max_items: u32,
//!     #[serde(default)]
//!     verbose: bool,
//!     region: Option<String>,
//! }
//!
//! let vars = [("MAX_ITEMS", "many")];
//! let err = wasmfn_guest::config::from_vars::<Config>(vars).unwrap_err();
//! assert_eq!(err.missing, ["TABLE_NAME"]);
//! assert_eq!(err.invalid[0].0, "MAX_ITEMS");
//!
//! let vars = [("TABLE_NAME", "users"), ("MAX_ITEMS", "10")];
//! let config: Config = wasmfn_guest::config::from_vars(vars).unwrap();
//! assert_eq!((config.table_name.as_str(), config.max_items, config.verbose), ("users", 10, false));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

/// Why the configuration could not be read: every missing variable and
/// every variable whose value does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Required variables that are not set.
    pub missing: Vec<String>,
    /// (variable, why its value is invalid).
    pub invalid: Vec<(String, String)>,
    /// Any other problem (the type is not a struct of plain fields).
    pub other: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "missing required environment variables: {}",
                self.missing.join(", ")
            ));
        }
        if !self.invalid.is_empty() {
            let list: Vec<String> = self
                .invalid
                .iter()
                .map(|(var, why)| format!("{var} ({why})"))
                .collect();
            parts.push(format!(
                "invalid environment variables: {}",
                list.join(", ")
            ));
        }
        if let Some(other) = &self.other {
            parts.push(other.clone());
        }
        write!(f, "{}", parts.join("; "))?;
        if !self.missing.is_empty() || !self.invalid.is_empty() {
            write!(f, ". Set them in the function's `environment:`")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads `T` from the process environment.
pub fn from_env<T: DeserializeOwned>() -> Result<T, ConfigError> {
    from_vars(std::env::vars())
}

/// Reads `T` from the given variables.
pub fn from_vars<T: DeserializeOwned>(
    vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
) -> Result<T, ConfigError> {
    let vars: BTreeMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    // serde reports one problem per attempt; each problem found is replaced
    // by a placeholder and the struct is read again, until it reads. A
    // struct has finitely many fields, so this ends.
    let mut placeholders = BTreeSet::new();
    let mut missing = Vec::new();
    let mut invalid = Vec::new();
    loop {
        let attempt = T::deserialize(Env {
            vars: &vars,
            placeholders: &placeholders,
        });
        let problem = match attempt {
            Ok(value) if missing.is_empty() && invalid.is_empty() => return Ok(value),
            Ok(_) => {
                return Err(ConfigError {
                    missing,
                    invalid,
                    other: None,
                })
            }
            Err(e) => e,
        };
        let var = match problem {
            EnvError::Missing(var) => {
                missing.push(var.clone());
                var
            }
            EnvError::Invalid(var, why) => {
                invalid.push((var.clone(), why));
                var
            }
            EnvError::Other(message) => {
                // With problems already found, this one may come from a
                // placeholder standing in for them; report those alone.
                let other = (missing.is_empty() && invalid.is_empty()).then_some(message);
                return Err(ConfigError {
                    missing,
                    invalid,
                    other,
                });
            }
        };
        if !placeholders.insert(var) {
            // The placeholder itself did not fit: stop rather than loop.
            return Err(ConfigError {
                missing,
                invalid,
                other: None,
            });
        }
    }
}

fn var_name(field: &str) -> String {
    field.to_ascii_uppercase()
}

/// The deserializer's error: which variable, and what went wrong.
#[derive(Debug)]
enum EnvError {
    Missing(String),
    Invalid(String, String),
    Other(String),
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::Missing(v) => write!(f, "{v} is missing"),
            EnvError::Invalid(v, why) => write!(f, "{v}: {why}"),
            EnvError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for EnvError {}

impl de::Error for EnvError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EnvError::Other(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        EnvError::Missing(var_name(field))
    }
}

/// The whole environment, seen as a struct.
struct Env<'a> {
    vars: &'a BTreeMap<String, String>,
    placeholders: &'a BTreeSet<String>,
}

impl<'de> de::Deserializer<'de> for Env<'_> {
    type Error = EnvError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, EnvError> {
        Err(EnvError::Other(
            "the configuration type must be a struct with named fields".into(),
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, EnvError> {
        let entries = fields.iter().filter_map(|field| {
            let var = var_name(field);
            if self.placeholders.contains(&var) {
                Some((*field, Var::Placeholder))
            } else {
                self.vars
                    .get(&var)
                    .map(|value| (*field, Var::Set(var, value.clone())))
            }
        });
        visitor.visit_map(de::value::MapDeserializer::new(entries))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// One field's value: a variable's text, or a stand-in for a variable
/// already reported, so the rest of the struct can still be checked.
enum Var {
    Set(String, String),
    Placeholder,
}

impl<'de> IntoDeserializer<'de, EnvError> for Var {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! parse_as {
    ($($method:ident => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
            match self {
                Var::Set(var, text) => match text.trim().parse() {
                    // A visitor may still refuse the value (a NonZero type
                    // given 0): that too is this variable's problem.
                    Ok(v) => visitor.$visit(v).map_err(|e| match e {
                        EnvError::Other(why) => EnvError::Invalid(var, format!("{text:?}: {why}")),
                        e => e,
                    }),
                    Err(e) => Err(EnvError::Invalid(var, format!("{text:?}: {e}"))),
                },
                Var::Placeholder => visitor.$visit(Default::default()),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Var {
    type Error = EnvError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        match self {
            Var::Set(_, text) => visitor.visit_string(text),
            Var::Placeholder => visitor.visit_str(""),
        }
    }

    parse_as! {
        deserialize_bool => visit_bool,
        deserialize_i8 => visit_i8,
        deserialize_i16 => visit_i16,
        deserialize_i32 => visit_i32,
        deserialize_i64 => visit_i64,
        deserialize_u8 => visit_u8,
        deserialize_u16 => visit_u16,
        deserialize_u32 => visit_u32,
        deserialize_u64 => visit_u64,
        deserialize_f32 => visit_f32,
        deserialize_f64 => visit_f64,
        deserialize_char => visit_char,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        match self {
            Var::Placeholder => visitor.visit_none(),
            set => visitor.visit_some(set),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        let items: Vec<Var> = match self {
            Var::Set(var, text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Var::Set(var.clone(), s.to_string()))
                .collect(),
            Var::Placeholder => Vec::new(),
        };
        visitor.visit_seq(de::value::SeqDeserializer::new(items.into_iter()))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, EnvError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, EnvError> {
        match self {
            Var::Set(var, text) => {
                if variants.contains(&text.as_str()) {
                    visitor.visit_enum(text.into_deserializer())
                } else {
                    Err(EnvError::Invalid(
                        var,
                        format!("{text:?} is not one of {}", variants.join(", ")),
                    ))
                }
            }
            Var::Placeholder => match variants.first() {
                Some(first) => visitor.visit_enum((*first).into_deserializer()),
                None => Err(EnvError::Other("an enum without variants".into())),
            },
        }
    }

    serde::forward_to_deserialize_any! {
        i128 u128 str string bytes byte_buf unit unit_struct tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Config {
        table_name: String,
        port: u16,
        hosts: Vec<String>,
        #[serde(rename = "log_mode")]
        mode: Mode,
        timeout_ms: Option<u64>,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Json,
        Text,
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let err = from_vars::<Config>([("PORT", "99999"), ("LOG_MODE", "xml")]).unwrap_err();
        assert_eq!(err.missing, ["TABLE_NAME", "HOSTS"]);
        let invalid: Vec<&str> = err.invalid.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(invalid, ["PORT", "LOG_MODE"]);
        let text = err.to_string();
        assert!(text.contains("TABLE_NAME, HOSTS"), "{text}");
        assert!(text.contains("not one of json, text"), "{text}");
    }

    #[test]
    fn a_complete_environment_reads() {
        let config: Config = from_vars([
            ("TABLE_NAME", "t"),
            ("PORT", "8080"),
            ("HOSTS", "a, b,"),
            ("LOG_MODE", "json"),
            ("TIMEOUT_MS", "250"),
        ])
        .unwrap();
        assert_eq!(config.port, 8080);
        assert_eq!(config.hosts, ["a", "b"]);
        assert_eq!(config.mode, Mode::Json);
        assert_eq!(config.timeout_ms, Some(250));
    }
}
