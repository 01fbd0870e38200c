//! The functions a server serves, by name. Lookups are cheap and lock-free
//! in practice (an uncontended read lock); `--watch` swaps in a reloaded
//! function without touching the others or the requests in flight, which
//! keep the `Arc` of the version they started with.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::function::Function;

/// Functions by name.
#[derive(Default)]
pub struct Registry {
    functions: RwLock<BTreeMap<String, Arc<Function>>>,
}

impl Registry {
    /// A registry of `functions`.
    pub fn new(functions: BTreeMap<String, Arc<Function>>) -> Self {
        Registry {
            functions: RwLock::new(functions),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Function>>> {
        self.functions.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The function called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Function>> {
        self.read().get(name).cloned()
    }

    /// The function named by an Invoke API path segment: a name, or a full
    /// or partial ARN (`arn:aws:lambda:…:function:name[:qualifier]`,
    /// `123456789012:function:name`). The Runtime Interface Emulator's
    /// `function` stands for the only function of a single-function service.
    pub fn resolve(&self, name: &str) -> Option<(String, Arc<Function>)> {
        let name = name
            .split_once("function:")
            .map(|(_, rest)| rest.split(':').next().unwrap_or(rest))
            .unwrap_or(name);
        let functions = self.read();
        if let Some((k, f)) = functions.get_key_value(name) {
            return Some((k.clone(), f.clone()));
        }
        if name == "function" && functions.len() == 1 {
            return functions.iter().next().map(|(k, f)| (k.clone(), f.clone()));
        }
        None
    }

    /// Replaces (or adds) function `name`.
    pub fn replace(&self, name: &str, function: Arc<Function>) {
        self.functions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), function);
    }

    /// Every function, by name.
    pub fn all(&self) -> Vec<(String, Arc<Function>)> {
        self.read()
            .iter()
            .map(|(k, f)| (k.clone(), f.clone()))
            .collect()
    }
}
