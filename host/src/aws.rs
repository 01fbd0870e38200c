//! The names a local host gives where AWS would give its own: the region
//! when none is configured, and the account id in every ARN.
//!
//! Imports nothing of the crate.

/// The region when neither the manifest nor the environment names one (the
/// AWS SDKs' own fallback).
pub const DEFAULT_REGION: &str = "us-east-1";

/// The account id of every ARN a local host makes, as the Lambda and
/// DynamoDB emulators use it.
pub const LOCAL_ACCOUNT_ID: &str = "000000000000";
