//! A plan as a person reads it: each step's changes, before → after, secrets by version only;
//! then the guards and a summary.

use crate::engine::plan::PlanDoc;
use crate::steps::{Action, Change, Value};

/// `~ resource: before → after`, with secrets only as versions.
pub fn change_line(c: &Change) -> String {
    let sign = c.action.sign();
    let sensitive = [&c.before, &c.after]
        .into_iter()
        .any(|v| v.as_ref().is_some_and(Value::is_secret));
    let show = |s: &Option<Value>| {
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
            if let Some(group) = &step.group {
                out.push_str(&format!(" [parallel: {group}]"));
            }
            if let Some(account) = &step.account {
                out.push_str(&format!(" in account `{account}`"));
            }
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
            for f in &step.clients {
                out.push_str(&format!("    > {f}\n"));
            }
            for w in &step.warnings {
                out.push_str(&format!("    ! {w}\n"));
            }
        }
        for w in self
            .warnings
            .iter()
            .chain(&self.serving)
            .chain(&self.unchecked)
        {
            out.push_str(&format!("\n! {w}\n"));
        }
        let (ignored, uncovered): (Vec<_>, Vec<_>) = self.coverage.iter().partition(|f| f.ignored);
        if !uncovered.is_empty() {
            out.push_str(&format!(
                "\nCoverage: {} part(s) of production no step covers:\n",
                uncovered.len()
            ));
            for f in &uncovered {
                out.push_str(&format!(
                    "  ! {} [{}]\n      {}\n      cover it with:\n",
                    f.resource, f.id, f.why
                ));
                for line in f.cover.lines() {
                    out.push_str(&format!("        {line}\n"));
                }
                // JSON's quoting is YAML's too, and holds in a flow mapping whatever the id.
                let id = serde_json::to_string(&f.id).expect("a string serializes");
                out.push_str(&format!("      or leave it out on purpose: `coverage: {{ignore: [{{id: {id}, reason: ...}}]}}`\n"));
            }
        }
        if !ignored.is_empty() {
            out.push_str(&format!(
                "\nCoverage: {} part(s) of production left out on purpose:\n",
                ignored.len()
            ));
            for f in &ignored {
                out.push_str(&format!(
                    "    {} [{}]: {}\n",
                    f.resource,
                    f.id,
                    f.reason.as_deref().unwrap_or_default()
                ));
            }
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
        if s.uncovered > 0 {
            out.push_str(&format!(
                " {} part(s) of production left behind.",
                s.uncovered
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
