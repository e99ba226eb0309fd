//! The error every part of the engine returns, and the wrapper that keeps secrets out of logs.
//!
//! An [`Error`] carries a stable, dotted `code` (for instance `media.not_a_video`) that the UI and
//! scripts can branch on, and a `message` written for the person using the app: what happened and
//! what to do next. It serialises to exactly `{"code": ..., "message": ...}`; the source chain is
//! kept for logs only.

mod sensitive;
mod skip;

pub use sensitive::Sensitive;
pub use skip::cannot_run_here;

use std::borrow::Cow;
use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure with a stable code and a message for people.
pub struct Error {
    code: Cow<'static, str>,
    message: String,
    source: Option<Source>,
}

impl Error {
    /// `code` is a dotted, lowercase identifier that never changes once shipped.
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            source: None,
        }
    }

    /// Keeps the underlying cause for logs; it never reaches the UI.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    /// The message followed by every cause, for log lines.
    pub fn chain(&self) -> String {
        let mut out = format!("[{}] {}", self.code, self.message);
        let mut next = self.source.as_deref().map(|s| s as &dyn std::error::Error);
        while let Some(cause) = next {
            out.push_str(": ");
            out.push_str(&cause.to_string());
            next = cause.source();
        }
        out
    }

    /// Codes for failures that happen inside the app itself rather than in the user's input.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL, message)
    }

    pub fn io(action: &str, err: std::io::Error) -> Self {
        Self::new(codes::IO, format!("Could not {action}: {err}.")).with_source(err)
    }
}

/// Codes shared by every crate. Crate-specific codes live beside the code that raises them.
pub mod codes {
    pub const INTERNAL: &str = "internal";
    pub const IO: &str = "io";
    pub const INVALID_INPUT: &str = "invalid_input";
    pub const CANCELLED: &str = "cancelled";
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chain())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Error", 2)?;
        s.serialize_field("code", &*self.code)?;
        s.serialize_field("message", &self.message)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_code_and_message_only() {
        let err = Error::new(
            "media.not_a_video",
            "This file is not a video. Pick an MP4, MOV or WebM file.",
        )
        .with_source(std::io::Error::other("moov atom not found"));
        let json = serde_json::to_string(&err).expect("serialise");
        assert_eq!(
            json,
            r#"{"code":"media.not_a_video","message":"This file is not a video. Pick an MP4, MOV or WebM file."}"#
        );
    }

    #[test]
    fn io_error_snapshot() {
        let err = Error::io(
            "read /tmp/x.mp4",
            std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
        );
        assert_eq!(
            serde_json::to_value(&err).expect("serialise"),
            serde_json::json!({"code": "io", "message": "Could not read /tmp/x.mp4: No such file or directory."})
        );
    }

    #[test]
    fn chain_keeps_causes_for_logs() {
        let err = Error::new("runpod.unavailable", "RunPod did not answer.")
            .with_source(std::io::Error::other("connection reset"));
        assert_eq!(
            err.chain(),
            "[runpod.unavailable] RunPod did not answer.: connection reset"
        );
        assert_eq!(format!("{err}"), "RunPod did not answer.");
        assert!(err.is("runpod.unavailable"));
    }
}
