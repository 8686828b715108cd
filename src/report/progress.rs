//! Progress as it happens, for a person: an indicatif spinner on a terminal, plain lines
//! otherwise, nothing with `--output json`; and the questions asked on the terminal, which a
//! spinner never draws over.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::plan::change_line;
use super::{line, Format};
use crate::engine::{Hear, Observer, StepResult};
use crate::playbook::StepDef;
use crate::steps::clients::Follow;
use crate::steps::{Action, Prepared, Prompt};

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
    /// Steps started and not finished: more than one in a parallel group.
    active: Vec<String>,
    /// Steps are running at once: each line says which step it is about.
    together: bool,
}

impl Console {
    pub fn new(format: Format, terminal: Terminal) -> Self {
        Self {
            format,
            terminal,
            active: Vec::new(),
            together: false,
        }
    }

    /// A line about step `id`, indented; named when steps run at once.
    fn step_line(&self, id: &str, text: &str) {
        if self.together {
            self.line(&format!("    {id}: {text}"));
        } else {
            self.line(&format!("    {text}"));
        }
    }

    /// A line of progress: above the spinner on a terminal, plain otherwise, none for JSON.
    fn line(&self, text: &str) {
        if self.format == Format::Json || super::quiet() {
            return;
        }
        self.terminal.with_bar(|bar| match bar {
            Some(bar) => bar.println(super::color::paint(
                &crate::escape::terminal(text),
                super::color::Stream::Stderr,
            )),
            None => line(text),
        });
    }

    /// The spinner names the steps running now; false when there is no spinner.
    fn show_active(&self) -> bool {
        let message = format!("{}: working", self.active.join(", "));
        self.terminal
            .with_bar(|bar| bar.as_ref().map(|bar| bar.set_message(message)).is_some())
    }

    fn finish_bar(&mut self) {
        if let Some(bar) = self.terminal.with_bar(Option::take) {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Console {
    fn step_started(&mut self, index: usize, total: usize, step: &StepDef) {
        let (id, kind) = (step.id.as_str(), step.kind.name);
        let account = step
            .account
            .as_ref()
            .map_or_else(String::new, |a| format!(" in account `{a}`"));
        let title = format!("[{index}/{total}] {id} ({kind}){account}");
        self.line(&title);
        self.active.push(id.to_owned());
        self.together |= self.active.len() > 1;
        if self.show_active() {
            return;
        }
        // None under `-q` (nothing to show) or `-v` (call lines would tear it).
        let spinner = !super::quiet() && !crate::log::verbose();
        if self.format == Format::Human && spinner && std::io::stderr().is_terminal() {
            let message = format!("{}: working", self.active.join(", "));
            let bar = ProgressBar::new_spinner().with_message(message);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .expect("template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            self.terminal.with_bar(|slot| *slot = Some(bar));
        }
    }

    fn step_planned(&mut self, id: &str, prepared: &Prepared) {
        for change in prepared.changes.iter().filter(|c| c.action != Action::Keep) {
            self.step_line(id, &change_line(change));
        }
        for follow in prepared.changes.iter().filter_map(Follow::of_change) {
            self.step_line(id, &format!("> {follow}"));
        }
        for warning in &prepared.warnings {
            self.step_line(id, &format!("! {warning}"));
        }
    }

    fn step_finished(&mut self, id: &str, result: &StepResult) {
        self.active.retain(|a| a != id);
        if self.active.is_empty() {
            self.finish_bar();
        } else {
            self.show_active();
        }
        self.step_line(
            id,
            &match result {
                StepResult::Applied { secs } => format!("ok: applied in {secs:.1}s"),
                StepResult::Unchanged { secs } => format!("ok: nothing to change ({secs:.1}s)"),
                StepResult::Failed { secs, error } => format!("FAILED after {secs:.1}s: {error}"),
            },
        );
        self.together &= !self.active.is_empty();
    }

    fn rollback_started(&mut self, reason: &str) {
        self.line(&format!("Rolling back ({reason})"));
    }

    /// On stderr in every format, as the drill's other words to whoever waits for it.
    fn soaking(&mut self, soak: Duration, every: Duration) {
        if !soak.is_zero() {
            super::warn(&format!(
                "Holding the promoted state for {}, checking the gates every {}...",
                humantime::format_duration(soak),
                humantime::format_duration(every)
            ));
        }
    }

    /// On a terminal the spinner says what the step waits for and how long it has; plain
    /// output gets a line each time what a step waits for changes.
    fn waiting(&self) -> Option<Hear> {
        if self.format == Format::Json {
            return None;
        }
        let terminal = self.terminal.clone();
        let said: Mutex<HashMap<String, String>> = Mutex::default();
        Some(Arc::new(move |id, what, waited, limit| {
            let limit = humantime::format_duration(limit);
            let shown = terminal.with_bar(|bar| {
                bar.as_ref()
                    .map(|bar| {
                        let text =
                            format!("{id}: {what}, {} s of at most {limit}", waited.as_secs());
                        bar.set_message(crate::escape::terminal(&text).into_owned());
                    })
                    .is_some()
            });
            let mut said = said.lock().unwrap_or_else(PoisonError::into_inner);
            if !shown && said.get(id).map(String::as_str) != Some(what) {
                said.insert(id.to_owned(), what.to_owned());
                super::detail(&format!("    {id}: waiting: {what} (at most {limit})\n"));
            }
        }))
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
