//! The developer tools around the runtime: sample events
//! (`generate-event`), guest templates (`new`), building guest crates,
//! JavaScript and Python handlers, and the entry points of the fuzz targets.
//!
//! May import every layer below it (trigger, manifest, function); nothing
//! below imports it.

pub mod fingerprint;
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod guest_build;
pub mod js_build;
pub mod py_build;
pub mod sample;
pub mod scaffold;
pub mod toolchain;
