//! Output for a person under stress, or for a machine: the plan ([`plan`]), progress and
//! prompts ([`progress`]), the end of a run and status ([`run`]), JSON ([`json`]). Every
//! text goes through [`print`], [`line`] or [`warn`], which escape what could disguise it on a
//! terminal and never let a closed terminal stop standin.

mod json;
mod plan;
mod progress;
mod run;

use std::io::Write;

pub use self::json::print_json;
pub use self::plan::change_line;
pub use self::progress::{Console, Terminal};
pub use self::run::{human_report, human_status};

/// `--output`: how results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for people; progress on the terminal.
    Human,
    /// One JSON document on stdout at the end; no progress.
    Json,
}

/// Writes text for people on stdout, as it is (it carries its own line breaks), escaping
/// whatever could disguise it on a terminal. A closed or hung-up terminal (SIGHUP, a broken
/// pipe) never stops standin: what it was doing matters more than its output.
pub fn print(text: &str) {
    let _ = std::io::stdout()
        .lock()
        .write_all(crate::escape::terminal(text).as_bytes());
}

/// [`print`] of one line.
pub fn line(text: &str) {
    print(&format!("{text}\n"));
}

/// One line on stderr (errors, warnings, signals), escaped as [`print`] does.
pub fn warn(text: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}",
        crate::escape::terminal(text)
    );
}
