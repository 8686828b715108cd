//! Output for machines: one JSON document on stdout (docs/output.md documents each).

use std::io::Write;

use serde::Serialize;

/// Prints a serializable document as pretty JSON on stdout.
pub fn print_json<T: Serialize>(doc: &T) {
    let text = serde_json::to_string_pretty(doc).expect("reports serialize");
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
