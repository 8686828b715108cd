//! Output for a human under stress, or for a machine: progress as it happens (an indicatif
//! spinner on a terminal, plain lines otherwise, nothing with `--output json`), and the
//! rendering of plans, reports and status.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::engine::journal::Outcome;
use crate::engine::plan::PlanDoc;
use crate::engine::view::{RunView, StepState};
use crate::engine::{FailedStep, Leftover, Observer, Report, StepResult};
use crate::steps::{Action, Change, Prepared, Prompt, Shown};

/// `--output`: how results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for people; progress on the terminal.
    Human,
    /// One JSON document on stdout at the end; no progress.
    Json,
}

/// The terminal, shared by the progress display and prompts, so a question is never drawn
/// over by a spinner.
#[derive(Clone, Default)]
pub struct Terminal {
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

impl Terminal {
    fn with_bar<T>(&self, f: impl FnOnce(&mut Option<ProgressBar>) -> T) -> T {
        f(&mut self.bar.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Terminal {
    /// Asks on the terminal and returns the answer line, trimmed; `None` without a terminal.
    /// Progress output is paused while the human answers.
    pub fn ask(&self, question: &str) -> Option<String> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let ask = || {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{} ", crate::escape::terminal(question));
            let _ = err.flush();
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            answer.trim().to_owned()
        };
        Some(self.with_bar(|bar| match bar {
            Some(bar) => bar.suspend(ask),
            None => ask(),
        }))
    }
}

impl Prompt for Terminal {
    fn confirm(&self, question: &str) -> Option<bool> {
        self.ask(&format!("{question} [y/N]"))
            .map(|answer| matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"))
    }
}

/// Prints progress as the engine reports it.
pub struct Console {
    format: Format,
    terminal: Terminal,
}

impl Console {
    pub fn new(format: Format, terminal: Terminal) -> Self {
        Self { format, terminal }
    }

    /// A line of progress: above the spinner on a terminal, plain otherwise, none for JSON.
    fn line(&self, text: &str) {
        if self.format == Format::Json {
            return;
        }
        self.terminal.with_bar(|bar| match bar {
            Some(bar) => bar.println(crate::escape::terminal(text)),
            None => line(text),
        });
    }

    fn finish_bar(&mut self) {
        if let Some(bar) = self.terminal.with_bar(Option::take) {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Console {
    fn step_started(&mut self, index: usize, total: usize, id: &str, kind: &str) {
        let title = format!("[{index}/{total}] {id} ({kind})");
        self.line(&title);
        if self.format == Format::Human && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner().with_message(format!("{id}: working"));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .expect("template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            self.terminal.with_bar(|slot| *slot = Some(bar));
        }
    }

    fn step_planned(&mut self, _id: &str, prepared: &Prepared) {
        for change in prepared.changes.iter().filter(|c| c.action != Action::Keep) {
            self.line(&format!("    {}", change_line(change)));
        }
        for warning in &prepared.warnings {
            self.line(&format!("    ! {warning}"));
        }
    }

    fn step_finished(&mut self, _id: &str, result: &StepResult) {
        self.finish_bar();
        self.line(&match result {
            StepResult::Applied { secs } => format!("    ok: applied in {secs:.1}s"),
            StepResult::Unchanged { secs } => format!("    ok: nothing to change ({secs:.1}s)"),
            StepResult::Failed { secs, error } => format!("    FAILED after {secs:.1}s: {error}"),
        });
    }

    fn rollback_started(&mut self, reason: &str) {
        self.line(&format!("Rolling back ({reason})"));
    }

    fn undo_finished(&mut self, id: &str, result: Result<&[String], &str>) {
        match result {
            Ok(lines) => {
                for line in lines {
                    self.line(&format!("    undone {id}: {line}"));
                }
            }
            Err(error) => self.line(&format!("    NOT undone {id}: {error}")),
        }
    }
}

/// `~ resource: before → after`, with secrets only as versions.
pub fn change_line(c: &Change) -> String {
    let sign = c.action.sign();
    let sensitive = matches!(c.before, Some(Shown::Sensitive { .. }))
        || matches!(c.after, Some(Shown::Sensitive { .. }));
    let show = |s: &Option<Shown>| {
        s.as_ref()
            .map_or_else(|| "nothing".to_owned(), ToString::to_string)
    };
    let body = match (c.action, sensitive) {
        (Action::Keep, true) => format!("(sensitive, {}, unchanged)", show(&c.after)),
        (Action::Keep, false) => format!("{} (unchanged)", show(&c.after)),
        (Action::Add, true) => format!("(sensitive, new {})", show(&c.after)),
        (Action::Add, false) => show(&c.after),
        (Action::Remove, true) => format!("(sensitive, {}) → removed", show(&c.before)),
        (Action::Remove, false) => format!("{} → removed", show(&c.before)),
        (Action::Modify, true) => format!("(sensitive, {} → {})", show(&c.before), show(&c.after)),
        (Action::Modify, false) => format!("{} → {}", show(&c.before), show(&c.after)),
        (Action::Run, _) => match &c.before {
            Some(now) => format!("{} (now {now}) (no undo)", show(&c.after)),
            None => format!("{} (no undo)", show(&c.after)),
        },
        (Action::Check, _) => match &c.before {
            Some(now) => format!("{} (now: {now})", show(&c.after)),
            None => show(&c.after),
        },
    };
    format!("{sign} {}: {body}", c.resource)
}

impl PlanDoc {
    /// The plan for people: per step, each resource with before → after; then guards and a
    /// summary.
    pub fn human(&self) -> String {
        let mut out = format!(
            "Plan for `{}` ({}), read from live state at {}:\n",
            self.playbook, self.file, self.created
        );
        let total = self.steps.len();
        for (i, step) in self.steps.iter().enumerate() {
            out.push_str(&format!(
                "\n[{}/{total}] {} ({})",
                i + 1,
                step.id,
                step.kind
            ));
            if let Some(d) = &step.description {
                out.push_str(&format!(" - {d}"));
            }
            out.push('\n');
            if let Some(error) = &step.error {
                out.push_str(&format!("    cannot plan: {error}\n"));
            }
            if !step.changes.is_empty() && step.changes.iter().all(|c| c.action == Action::Keep) {
                out.push_str("    no-op: already as wanted\n");
            }
            for c in &step.changes {
                out.push_str(&format!("    {}\n", change_line(c)));
            }
            for w in &step.warnings {
                out.push_str(&format!("    ! {w}\n"));
            }
        }
        for w in &self.warnings {
            out.push_str(&format!("\n! {w}\n"));
        }
        if !self.guards.is_empty() {
            out.push_str("\nGuards (checked on the state this plan leads to, and again before each change):\n");
        }
        for g in &self.guards {
            let (mark, state) = match (g.passed, g.forced) {
                (true, _) => ("ok", String::new()),
                (false, true) => ("FORCED", format!(": {}", g.message)),
                (false, false) => ("FAILED", format!(": {}", g.message)),
            };
            let builtin = if g.builtin { " (built-in)" } else { "" };
            out.push_str(&format!("    {mark:<6} {}{builtin}{state}\n", g.guard));
        }
        let s = &self.summary;
        out.push_str(&format!(
            "\nPlan: {} to add, {} to change, {} to remove, {} unchanged, {} gates, {} without undo.",
            s.add, s.change, s.remove, s.unchanged, s.gates, s.irreversible
        ));
        if s.failed_steps > 0 {
            out.push_str(&format!(
                " {} step(s) could not be planned.",
                s.failed_steps
            ));
        }
        if s.failed_guards > 0 {
            out.push_str(&format!(
                " {} guard(s) refuse this plan; nothing will run.",
                s.failed_guards
            ));
        }
        out.push('\n');
        out
    }
}

/// The end of a run or rollback, for people.
pub fn human_report(report: &Report, state_flag: &str) -> String {
    let run = &report.run_id;
    let mut out = String::new();
    match report.outcome {
        Outcome::Succeeded => {
            out.push_str(&format!("Run {run} succeeded in {:.1}s.\n", report.secs))
        }
        Outcome::RolledBack => {
            if let Some(FailedStep { step, error }) = &report.failed_step {
                out.push_str(&format!("Run {run} failed at step `{step}`: {error}\n"));
            }
            out.push_str(&format!(
                "Rolled back: {}. Everything the run changed is back as it was.\n",
                if report.undone.is_empty() {
                    "nothing needed undoing".to_owned()
                } else {
                    report.undone.join(", ")
                }
            ));
        }
        Outcome::RollbackIncomplete => {
            if let Some(FailedStep { step, error }) = &report.failed_step {
                out.push_str(&format!("Run {run} failed at step `{step}`: {error}\n"));
            }
            if !report.undone.is_empty() {
                out.push_str(&format!("Rolled back: {}.\n", report.undone.join(", ")));
            }
            out.push_str("ROLLBACK INCOMPLETE. A human must act on:\n");
            for leftover in &report.leftovers {
                out.push_str(&leftover_text(leftover, run, state_flag));
            }
        }
        Outcome::Stopped => {
            match &report.failed_step {
                Some(FailedStep { step, error }) => {
                    out.push_str(&format!("Run {run} stopped at step `{step}`: {error}\n"))
                }
                None => out.push_str(&format!(
                    "Run {run} stopped between steps, as asked; what it changed is still in place.\n"
                )),
            }
            out.push_str(&format!(
                "To continue: standin{state_flag} resume {run}\nTo undo: standin{state_flag} rollback {run}\n"
            ));
        }
    }
    out
}

fn leftover_text(l: &Leftover, run: &str, state_flag: &str) -> String {
    let mut out = format!("  - step `{}` ({}): {}\n", l.step, l.kind, l.error);
    if l.drift.is_empty() {
        out.push_str(&format!(
            "    fix the cause (permissions, connectivity, throttling), then run `standin{state_flag} rollback {run}` again\n"
        ));
        if !l.by_hand.is_empty() {
            out.push_str(
                "    or, where you still have access (another role, the console's shell), put it back by hand:\n",
            );
            for line in &l.by_hand {
                out.push_str(&format!("      {line}\n"));
            }
            out.push_str(&format!(
                "    then check with `standin{state_flag} rollback {run}`: it finds the resources as before the run\n"
            ));
        }
    } else {
        for d in &l.drift {
            out.push_str(&format!(
                "    {} was changed by someone else since the run: now {}, standin wrote {}\n",
                d.resource,
                crate::escape::value(&d.found),
                crate::escape::value(&d.expected)
            ));
        }
        out.push_str(&format!(
            "    decide which value is right; to put back the value from before the run anyway, run `standin{state_flag} rollback {run} --force`\n"
        ));
    }
    out
}

/// A run's steps and states, for people.
pub fn human_status(view: &RunView, state_flag: &str) -> String {
    let outcome = match view.outcome {
        Some(Outcome::Succeeded) => "succeeded",
        Some(Outcome::RolledBack) => "rolled back",
        Some(Outcome::RollbackIncomplete) => "ROLLBACK INCOMPLETE (a human must act)",
        Some(Outcome::Stopped) => "stopped by the operator, changes in place",
        None if view.rolling_back => "ROLLBACK UNFINISHED (running, or its process stopped)",
        None => "unfinished (running, or its process stopped)",
    };
    let mut out = format!(
        "Run {} of `{}` ({}), started {}: {outcome}\n",
        view.run_id, view.playbook, view.file, view.started
    );
    let width = view.steps.iter().map(|s| s.id.len()).max().unwrap_or(0);
    for step in &view.steps {
        let state = match step.state {
            StepState::NotStarted => "not started",
            StepState::InDoubt => "IN DOUBT (its change may or may not have happened)",
            StepState::Applied => "applied",
            StepState::Unchanged => "unchanged (nothing to do)",
            StepState::Failed => "failed",
            StepState::Undone => "undone",
            StepState::UndoFailed => "UNDO FAILED",
        };
        out.push_str(&format!(
            "  {:<width$}  {:<20} {state}\n",
            step.id, step.kind
        ));
        if let Some(e) = &step.error {
            out.push_str(&format!("      error: {e}\n"));
        }
        if let Some(e) = &step.undo_error {
            out.push_str(&format!("      undo error: {e}\n"));
        }
        for line in &step.restored {
            out.push_str(&format!("      {line}\n"));
        }
    }
    let run = &view.run_id;
    if view.resumable() {
        out.push_str(&format!(
            "To continue it (steps in doubt are checked first): standin{state_flag} resume {run}\n"
        ));
    }
    if view.steps.iter().any(|s| s.needs_undo()) {
        out.push_str(&format!(
            "To undo what this run changed: standin{state_flag} rollback {run}\n"
        ));
    }
    out
}

/// Prints a serializable document as pretty JSON on stdout.
pub fn print_json<T: Serialize>(doc: &T) {
    let text = serde_json::to_string_pretty(doc).expect("reports serialize");
    let _ = writeln!(std::io::stdout().lock(), "{text}");
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
