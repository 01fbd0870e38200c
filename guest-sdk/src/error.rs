//! The error a handler returns, in Lambda's shape.

use std::fmt;

/// A handler error: Lambda's `errorType` and `errorMessage`, plus whether
/// retrying the same event could succeed.
///
/// Any `std::error::Error` converts into it with `?`; its `errorType` is then
/// the error's Rust type name, as with Lambda's Rust runtime.
///
/// ```
/// use wasmfn_guest::Error;
///
/// fn parse(s: &str) -> Result<u32, Error> {
///     let n: u32 = s.parse()?; // errorType "core::num::error::ParseIntError"
///     if n == 0 {
///         return Err(Error::new("ValidationError", "n must be positive"));
///     }
///     Ok(n)
/// }
/// assert_eq!(parse("x").unwrap_err().error_type(), "core::num::error::ParseIntError");
/// assert_eq!(parse("0").unwrap_err().error_type(), "ValidationError");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    error_type: String,
    message: String,
    stack_trace: Vec<String>,
    retryable: bool,
    status: Option<u16>,
}

impl Error {
    /// An error of the given type and message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            error_type: error_type.into(),
            message: message.into(),
            stack_trace: Vec::new(),
            retryable: false,
            status: None,
        }
    }

    /// An error with just a message; its type is `Error`.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error::new("Error", message.to_string())
    }

    /// Marks the error as retryable (or not).
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The HTTP status this error should answer with when an HTTP function
    /// turns it into a response (see [`crate::response::from_result`]).
    /// Errors without one answer 500 and keep their message out of the
    /// response body.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The HTTP status set by [`Error::with_status`].
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Replaces the stack-trace lines.
    pub fn with_stack_trace(mut self, lines: Vec<String>) -> Self {
        self.stack_trace = lines;
        self
    }

    /// Lambda's `errorType`.
    pub fn error_type(&self) -> &str {
        &self.error_type
    }

    /// Lambda's `errorMessage`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The stack-trace lines.
    pub fn stack_trace(&self) -> &[String] {
        &self.stack_trace
    }

    /// Whether retrying could succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    #[cfg(target_family = "wasm")]
    pub(crate) fn into_wit(self) -> crate::bindings::wasmfn::handler::types::FunctionError {
        crate::bindings::wasmfn::handler::types::FunctionError {
            error_type: self.error_type,
            error_message: self.message,
            stack_trace: self.stack_trace,
        }
    }
}

impl<E: std::error::Error + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        // The causes become the stack trace: the most useful "where" a
        // wasm guest can offer without unwinding.
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            causes.push(format!("caused by: {cause}"));
            source = cause.source();
        }
        Error {
            error_type: std::any::type_name::<E>().to_string(),
            message: error.to_string(),
            stack_trace: causes,
            retryable: false,
            status: None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}
