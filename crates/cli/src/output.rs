//! How every subcommand reports: JSON on stdout with `--json`, plain lines otherwise, and
//! errors as one line on stderr with their code.

use serde::Serialize;
use std::process::ExitCode;
use studio_error::Error;

/// Exit code for bad input the user can fix (a wrong file, a bad argument).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for everything else that failed.
pub const EXIT_FAILED: u8 = 1;

pub fn print_json<T: Serialize>(value: &T) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(
            &Error::internal(format!("output did not serialise: {e}")),
            false,
            EXIT_FAILED,
        ),
    }
}

/// Prints the error (as `{code, message}` JSON with `--json`) and returns the exit code.
pub fn fail(err: &Error, json: bool, code: u8) -> ExitCode {
    tracing::warn!("{}", err.chain());
    if json {
        let text = serde_json::to_string(&serde_json::json!({ "error": err }))
            .unwrap_or_else(|_| format!("{{\"error\":{{\"code\":\"{}\"}}}}", err.code()));
        println!("{text}");
    }
    eprintln!("error [{}]: {}", err.code(), err.message());
    ExitCode::from(code)
}
