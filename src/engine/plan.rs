//! Plans: every step read against live state (concurrently, bounded), then put in playbook
//! order on the state the earlier steps will leave, and checked by the guards. A plan can be
//! saved and run later, exactly: a run compares each step's fresh plan with the saved one and
//! stops on any difference.

use std::collections::{BTreeSet, HashMap};

use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::guards::{self, GuardResult, Predicted};
use crate::playbook::Playbook;
use crate::steps::{Action, Change, Ctx, Shown};

/// The saved-plan format this build writes and reads.
pub const PLAN_FORMAT: u32 = 1;

/// At most this many steps are planned at once: enough to hide latency, few enough not to be
/// throttled by the APIs.
const PLAN_CONCURRENCY: usize = 8;

/// One step of a plan, as shown and as saved.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlannedStep {
    pub id: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub changes: Vec<Change>,
    pub warnings: Vec<String>,
    /// Why the step could not be planned (nothing was changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A whole plan: `standin plan --output json` prints it and `standin plan -o FILE` saves it.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlanDoc {
    /// [`PLAN_FORMAT`].
    pub format: u32,
    pub playbook: String,
    pub file: String,
    /// What the plan was made from: the playbook's text and the `--var` names given. A saved
    /// plan runs only with the same inputs. Values of variables are not kept (they may be
    /// secrets).
    pub source: Source,
    pub created: String,
    pub steps: Vec<PlannedStep>,
    /// Warnings about the playbook as a whole (e.g. workers never restarted).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Every guard, checked against the state the plan leads to.
    #[serde(default)]
    pub guards: Vec<GuardResult>,
    pub summary: Summary,
}

/// The inputs of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub sha256: String,
    pub vars: BTreeSet<String>,
}

impl Source {
    pub fn of(pb: &Playbook) -> Self {
        Self {
            sha256: format!("{:x}", Sha256::digest(pb.text.as_bytes())),
            vars: pb.overridden.clone(),
        }
    }

    /// How `pb` differs from these inputs, if it does; `when` names the moment they were
    /// taken ("the plan was made").
    pub fn differs(&self, pb: &Playbook, when: &str) -> Option<String> {
        let now = Self::of(pb);
        if self.sha256 != now.sha256 {
            return Some(format!(
                "the playbook {} was edited since {when}",
                pb.path.display()
            ));
        }
        if self.vars != now.vars {
            let names = |v: &BTreeSet<String>| {
                v.iter()
                    .map(|n| format!("--var {n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            return Some(format!(
                "{when} with [{}], now given [{}]",
                names(&self.vars),
                names(&now.vars)
            ));
        }
        None
    }
}

/// Counts of a plan's changes.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub unchanged: usize,
    /// Waits and checks that fail the run when not met.
    pub gates: usize,
    /// Actions with no undo (restarts).
    pub irreversible: usize,
    pub failed_steps: usize,
    /// Guards that do not hold (and were not forced).
    #[serde(default)]
    pub failed_guards: usize,
}

impl PlanDoc {
    /// True when the plan may run: every step planned and every guard holds.
    pub fn runnable(&self) -> bool {
        self.summary.failed_steps == 0 && self.summary.failed_guards == 0
    }

    fn summarize(&mut self) {
        let mut s = Summary::default();
        for step in &self.steps {
            s.failed_steps += usize::from(step.error.is_some());
            for c in &step.changes {
                match c.action {
                    Action::Add => s.add += 1,
                    Action::Modify => s.change += 1,
                    Action::Remove => s.remove += 1,
                    Action::Keep => s.unchanged += 1,
                    Action::Check => s.gates += 1,
                    Action::Run => s.irreversible += 1,
                }
            }
        }
        s.failed_guards = self.guards.iter().filter(|g| g.blocks()).count();
        self.summary = s;
    }
}

/// Plans every step, predicts, and checks the guards (`forced` built-in guards are reported
/// but do not block).
pub async fn plan_all(pb: &Playbook, ctx: &Ctx, forced: &BTreeSet<String>) -> PlanDoc {
    let mut steps: Vec<PlannedStep> = stream::iter(&pb.steps)
        .map(|def| async move {
            let (changes, warnings, error) = match def.step.plan(ctx).await {
                Ok(p) => (p.changes, p.warnings, None),
                Err(e) => (Vec::new(), Vec::new(), Some(e.to_string())),
            };
            PlannedStep {
                id: def.id.clone(),
                kind: def.kind.name.to_owned(),
                description: def.description.clone(),
                changes,
                warnings,
                error,
            }
        })
        .buffered(PLAN_CONCURRENCY)
        .collect()
        .await;
    predict(&mut steps);
    let state = Predicted::new(steps.iter().flat_map(|s| &s.changes));
    let guards = guards::check(&pb.guards, &state, ctx, forced).await;
    let warnings = guards::playbook_warnings(pb, &state, ctx).await;
    let mut doc = PlanDoc {
        format: PLAN_FORMAT,
        playbook: pb.name.clone(),
        file: pb.path.display().to_string(),
        source: Source::of(pb),
        created: super::journal::now(),
        warnings,
        steps,
        guards,
        summary: Summary::default(),
    };
    doc.summarize();
    doc
}

/// Rewrites each step's changes as they will be when the step runs: a resource that an
/// earlier step changes starts from that step's result, not from the live value. (Steps are
/// read concurrently against live state; this puts them back in order.)
fn predict(steps: &mut [PlannedStep]) {
    let mut state: HashMap<String, Option<Shown>> = HashMap::new();
    for change in steps.iter_mut().flat_map(|s| &mut s.changes) {
        if matches!(change.action, Action::Check | Action::Run) {
            continue;
        }
        let label = change.resource.to_string();
        if let Some(earlier) = state.get(&label) {
            change.before = earlier.clone();
            change.action = match (&change.before, &mut change.after) {
                (None, None) => Action::Keep,
                (None, Some(_)) => Action::Add,
                (Some(_), None) => Action::Remove,
                (Some(Shown::Plain(b)), Some(Shown::Plain(a))) if a == b => Action::Keep,
                // A secret's value is not known here: the step writes a new version.
                (Some(Shown::Sensitive { version, .. }), Some(after @ Shown::Sensitive { .. })) => {
                    *after = Shown::sensitive(version + 1);
                    Action::Modify
                }
                _ => Action::Modify,
            };
        }
        state.insert(label, change.after.clone());
    }
}

/// How a step's fresh plan differs from what the saved plan said, one line per resource;
/// empty when it would do exactly what was planned. Gates and restarts compare only by kind
/// of action: their text holds what they observed (health, HTTP status), which moves on its own.
pub fn differences(planned: &[Change], fresh: &[Change]) -> Vec<String> {
    // A gate and a restart may share a resource (workers: restart, then check them).
    let key = |c: &Change| match c.action {
        Action::Check | Action::Run => format!("{} ({})", c.resource, c.action.sign()),
        _ => c.resource.to_string(),
    };
    let show = |c: &Change| {
        format!(
            "{} {} → {}",
            c.action.sign(),
            c.before
                .as_ref()
                .map_or("nothing".into(), ToString::to_string),
            c.after
                .as_ref()
                .map_or("nothing".into(), ToString::to_string)
        )
    };
    let mut out = Vec::new();
    for now in fresh {
        match planned.iter().find(|p| key(p) == key(now)) {
            None => out.push(format!("{}: not in the plan, now {}", key(now), show(now))),
            Some(p) => {
                let observed = matches!(p.action, Action::Check | Action::Run);
                if p.action != now.action
                    || (!observed && (p.before != now.before || p.after != now.after))
                {
                    out.push(format!(
                        "{}: planned {}, now {}",
                        key(now),
                        show(p),
                        show(now)
                    ));
                }
            }
        }
    }
    for p in planned {
        if !fresh.iter().any(|n| key(n) == key(p)) {
            out.push(format!("{}: planned {}, now not touched", key(p), show(p)));
        }
    }
    out
}

/// Why a saved plan cannot run with these inputs (checked before any AWS call), if it cannot.
pub fn other_inputs(saved: &PlanDoc, pb: &Playbook) -> Option<String> {
    saved.source.differs(pb, "the plan was made")
}

/// Where the live state no longer gives the saved plan (same inputs): one line per resource.
pub fn stale(saved: &PlanDoc, fresh: &PlanDoc) -> Vec<String> {
    let mut out = Vec::new();
    for (saved_step, fresh_step) in saved.steps.iter().zip(&fresh.steps) {
        for line in differences(&saved_step.changes, &fresh_step.changes) {
            out.push(format!("step `{}`: {line}", saved_step.id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::Resource;

    fn change(action: Action, name: &str, before: Option<&str>, after: Option<&str>) -> Change {
        Change {
            action,
            resource: Resource::Parameter(name.into()),
            before: before.map(|v| Shown::Plain(v.into())),
            after: after.map(|v| Shown::Plain(v.into())),
        }
    }

    fn step(id: &str, changes: Vec<Change>) -> PlannedStep {
        PlannedStep {
            id: id.into(),
            kind: "ssm.put-parameters".into(),
            description: None,
            changes,
            warnings: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn later_steps_start_from_what_earlier_steps_leave() {
        let mut steps = vec![
            step(
                "copy",
                vec![change(Action::Modify, "/a/X", Some("true"), Some("false"))],
            ),
            step(
                "again",
                vec![
                    change(Action::Modify, "/a/X", Some("true"), Some("false")),
                    change(Action::Keep, "/a/Y", Some("1"), Some("1")),
                ],
            ),
            step(
                "back",
                vec![change(Action::Keep, "/a/X", Some("true"), Some("true"))],
            ),
        ];
        predict(&mut steps);
        assert_eq!(steps[1].changes[0].action, Action::Keep);
        assert_eq!(steps[1].changes[1].action, Action::Keep);
        let back = &steps[2].changes[0];
        assert_eq!(back.action, Action::Modify);
        assert_eq!(back.before, Some(Shown::Plain("false".into())));
    }

    #[test]
    fn secrets_written_twice_get_the_next_version() {
        let secret = |action, b: i64, a: i64| Change {
            action,
            resource: Resource::Parameter("/a/PASSWORD".into()),
            before: Some(Shown::sensitive(b)),
            after: Some(Shown::sensitive(a)),
        };
        let mut steps = vec![
            step("one", vec![secret(Action::Modify, 1, 2)]),
            step("two", vec![secret(Action::Modify, 1, 2)]),
        ];
        predict(&mut steps);
        assert_eq!(steps[1].changes[0].before, Some(Shown::sensitive(2)));
        assert_eq!(steps[1].changes[0].after, Some(Shown::sensitive(3)));
    }

    #[test]
    fn differences_name_each_resource() {
        let planned = step(
            "s",
            vec![change(Action::Modify, "/a/X", Some("1"), Some("2"))],
        );
        assert!(differences(&planned.changes, &planned.changes).is_empty());
        let now = [change(Action::Modify, "/a/X", Some("5"), Some("2"))];
        assert_eq!(
            differences(&planned.changes, &now),
            ["/a/X: planned ~ 1 → 2, now ~ 5 → 2"]
        );
        assert_eq!(
            differences(&planned.changes, &[]),
            ["/a/X: planned ~ 1 → 2, now not touched"]
        );
    }
}
