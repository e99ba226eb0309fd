//! How every subcommand reports: JSON on stdout with `--json`, plain lines otherwise, and
//! errors as one line on stderr with their code.

use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;
use studio_error::Error;

/// `println!` for results: a reader that stops early (`studio pods list | head -1`) closes the
/// pipe, which means "done", not a crash.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use out;

/// `print!` without the newline, same pipe handling.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error [io]: could not write the output: {e}");
        std::process::exit(i32::from(EXIT_FAILED));
    }
}

/// Exit code for bad input the user can fix (a wrong file, a bad argument).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for everything else that failed.
pub const EXIT_FAILED: u8 = 1;

pub fn print_json<T: Serialize>(value: &T) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            out!("{text}");
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
        out!("{text}");
    }
    eprintln!("error [{}]: {}", err.code(), err.message());
    ExitCode::from(code)
}
