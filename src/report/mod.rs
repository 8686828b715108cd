//! Output for a person under stress, or for a machine: the plan ([`plan`]), progress and
//! prompts ([`progress`]), the end of a run and status ([`run`]), JSON ([`json`]). Every
//! text goes through [`print`], [`line`] or [`warn`], which escape what could disguise it on a
//! terminal and never let a closed terminal stop standin.

pub mod color;
pub mod document;
mod html;
mod json;
mod junit;
mod markdown;
pub mod notify;
mod plan;
mod progress;
mod run;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

pub use self::json::print_json;
pub use self::notify::notify;
pub use self::plan::change_line;
pub use self::progress::{Console, Terminal};
pub use self::run::{human_drill, human_report, human_status};

/// `--output`: how results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for people; progress on the terminal.
    Human,
    /// One JSON document on stdout at the end; no progress.
    Json,
}

/// `standin report --format`: the files a report is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// `report.json`: the document (docs/output.md).
    Json,
    /// `report.md`: for a ticket or a wiki.
    Md,
    /// `junit.xml`: one test case per step and one for the restore, for CI.
    Junit,
    /// `report.html`: one self-contained page with a timeline and the recovery trend.
    Html,
}

impl ReportFormat {
    pub const ALL: [Self; 4] = [Self::Json, Self::Md, Self::Junit, Self::Html];

    /// The file it is written to.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Json => "report.json",
            Self::Md => "report.md",
            Self::Junit => "junit.xml",
            Self::Html => "report.html",
        }
    }

    /// The report rendered in this format.
    pub fn render(self, report: &document::RunReport) -> String {
        match self {
            Self::Json => {
                let mut text = serde_json::to_string_pretty(report).expect("a report serializes");
                text.push('\n');
                text
            }
            Self::Md => markdown::render(report),
            Self::Junit => junit::render(report),
            Self::Html => html::render(report),
        }
    }
}

/// Writes text for people on stdout, as it is (it carries its own line breaks), escaping
/// whatever could disguise it on a terminal. A closed or hung-up terminal (SIGHUP, a broken
/// pipe) never stops standin: what it was doing matters more than its output.
pub fn print(text: &str) {
    let text = color::paint(&crate::escape::terminal(text), color::Stream::Stdout);
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

static QUIET: AtomicBool = AtomicBool::new(false);

/// `-q`: only errors and each command's final line.
pub fn set_quiet(on: bool) {
    QUIET.store(on, Ordering::Relaxed);
}

fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// [`print`], except under `-q`: what a person can do without when all they want is the
/// outcome (progress, where the journal is).
pub fn detail(text: &str) {
    if !quiet() {
        print(text);
    }
}

/// What a person reviews before confirming (a plan, what a rollback will undo): always
/// printed when they are about to be asked; a [`detail`] when `--yes` answered already.
pub fn for_review(text: &str, answered: bool) {
    if answered {
        detail(text);
    } else {
        print(text);
    }
}

/// [`print`] of a command's end (a run's report, a plan): under `-q`, only its last line.
pub fn outcome(text: &str) {
    match text.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(last) if quiet() => print(&format!("{last}\n")),
        _ => print(text),
    }
}

/// [`print`] of a command's end whose first line says how it ended (a drill's): under `-q`,
/// that line alone.
pub fn headline(text: &str) {
    match text.lines().find(|l| !l.trim().is_empty()) {
        Some(first) if quiet() => print(&format!("{first}\n")),
        _ => print(text),
    }
}

/// [`print`] of one line.
pub fn line(text: &str) {
    print(&format!("{text}\n"));
}

/// One line on stderr (errors, warnings, signals), escaped as [`print`] does.
pub fn warn(text: &str) {
    let text = color::paint(&crate::escape::terminal(text), color::Stream::Stderr);
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
