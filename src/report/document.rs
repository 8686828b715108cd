//! The report of a run or a drill, made from its journal alone (so `standin report` can write
//! it for any past run): what happened, when, how long each part took, the recovery time
//! against its target, and whether everything was put back. `report.json` is this document;
//! the other formats ([`super::markdown`], [`super::junit`], [`super::html`]) render it.
//! docs/output.md describes it; [`REPORT_FORMAT`] versions it.

use serde::{Deserialize, Serialize};

use crate::engine::record::{DrillSpec, Outcome, Principal, Record};
pub use crate::engine::timeline::{DifferenceLine, Soak, UndoReport, Verify};
use crate::engine::view::{RunView, StepState};
pub use crate::error::Verdict;
use crate::error::{Ending, Exit};
use crate::evidence::Evidence;
use crate::steps::clients::Follow;

/// Version of the report document. Readers should refuse a greater one. Fields may be added
/// within a version; a field whose meaning changes raises it: 2 judges `recovery.met` on
/// `recovery.clients_secs` (1 judged it on `recovery.secs`, the gate's pass).
pub const REPORT_FORMAT: u32 = 2;

/// A run or drill, as reports show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    /// [`REPORT_FORMAT`].
    pub report_format: u32,
    pub run_id: String,
    /// `run` or `drill`.
    pub kind: String,
    pub playbook: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Whom it acted as in AWS, per account (absent in runs journaled before it was kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<Principal>,
    /// When the first record was written (RFC 3339).
    pub started: String,
    /// When the last record was written.
    pub ended: String,
    pub outcome: Verdict,
    /// The exit code the run or drill ended with.
    pub exit_code: u8,
    /// One sentence saying why, when it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub recovery: Recovery,
    pub timings: Timings,
    pub steps: Vec<StepReport>,
    /// The rollback: each step's undo, last step first.
    pub undo: Vec<UndoReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak: Option<Soak>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    pub warnings: Vec<String>,
    /// Recovery times of the drills of this playbook, oldest first, this one last.
    pub trend: Vec<TrendPoint>,
    /// What an auditor checks it by (digests, the journal's hash chain, who ran it):
    /// `standin verify-evidence`. Absent in reports written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// Time to recovery and its target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Recovery {
    /// The gate that means production is back (`recovery:`), if the playbook names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// From the first step's start to that gate's pass (without a gate: to the last step's
    /// end). `None` when it was not reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secs: Option<f64>,
    /// Recovery as clients see it: `secs` plus the longest a resolver may keep an answer from
    /// before the run, of a record the run changed (`cached`); `secs` when it changed none.
    /// `None` when recovery was not reached, and in a format 1 document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients_secs: Option<f64>,
    /// The record behind `clients_secs`: of those the run changed, the one whose answer from
    /// before the run resolvers may keep longest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached: Option<Follow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_secs: Option<f64>,
    /// Whether clients recovered within the target (`None` without a target, or not reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

impl Recovery {
    /// The time the target is held to: clients', or the gate's in a format 1 document.
    pub fn judged(&self) -> Option<f64> {
        self.clients_secs.or(self.secs)
    }

    /// How long recovery took, for people: the gate's time, and clients' when DNS caches make
    /// it longer (`0.3s at the gate, 5m 00s for clients (app.example.com. CNAME: TTL 300s
    /// before the change)`). `None` when recovery was not reached.
    pub fn took(&self) -> Option<String> {
        let secs = self.secs?;
        Some(match (&self.cached, self.clients_secs) {
            (Some(cached), Some(clients)) if clients > secs => format!(
                "{} at the gate, {} for clients ({})",
                span(secs),
                span(clients),
                cached.reason()
            ),
            _ => span(secs),
        })
    }
}

/// Where the time went, in seconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    /// First record to last.
    pub total_secs: f64,
    /// First step's start to last step's end.
    pub steps_secs: f64,
    /// Time in `pause` and `route53.repoint` steps (waiting out TTLs, waiting for INSYNC).
    pub dns_wait_secs: f64,
    /// Rollback start to the end of the restore's verification (or of the rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_secs: Option<f64>,
}

/// One step of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub id: String,
    pub kind: String,
    /// The parallel group it ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The account of the playbook's `accounts:` it acted in; none: the playbook's `aws:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub state: StepState,
    /// Seconds from the first step's start to this step's start (`None`: not reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What it changed, as plans show it (secrets by version).
    pub changes: Vec<ChangeLine>,
}

impl UndoReport {
    /// A failed undo as a test failure says it: the error, then each line to run by hand.
    pub fn failure(&self) -> Option<String> {
        let error = self.error.as_ref()?;
        let mut text = format!("undo failed: {error}");
        for line in &self.by_hand {
            text.push_str(&format!("\nby hand: {line}"));
        }
        Some(text)
    }
}

impl StepReport {
    /// Its kind, its parallel group if it ran in one, and its account if not the playbook's.
    pub fn kind_shown(&self) -> String {
        let mut shown = self.kind.clone();
        if let Some(group) = &self.group {
            shown.push_str(&format!(" (parallel: {group})"));
        }
        if let Some(account) = &self.account {
            shown.push_str(&format!(" in account {account}"));
        }
        shown
    }
}

/// One change of a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeLine {
    /// `+`, `~`, `-`, `=`, `!` (no undo) or `?` (a gate).
    pub sign: String,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// One drill in the trend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrendPoint {
    pub run_id: String,
    pub started: String,
    pub outcome: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_secs: Option<f64>,
    /// [`Recovery::clients_secs`] (absent in a format 1 document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients_secs: Option<f64>,
}

impl TrendPoint {
    /// The time its target was held to (see [`Recovery::judged`]).
    pub fn judged(&self) -> Option<f64> {
        self.clients_secs.or(self.recovery_secs)
    }
}

impl RunReport {
    /// Who ran it, for people: `user@host, as ARN` (each account's caller, `; ` between).
    pub fn run_by(&self) -> Option<String> {
        let person = self.by.clone();
        if self.principals.is_empty() {
            return person;
        }
        let callers: Vec<String> = self.principals.iter().map(ToString::to_string).collect();
        Some(format!(
            "{}as {}",
            person.map(|p| format!("{p}, ")).unwrap_or_default(),
            callers.join("; ")
        ))
    }

    /// The report of a journal's records (the first must be the start record), with the
    /// drills of the same playbook before it (`earlier`, oldest first).
    pub fn from_records(records: &[Record], earlier: &[TrendPoint]) -> Option<Self> {
        Self::of(&RunView::from_records(records)?, earlier)
    }

    /// The report of a run as its journal's fold tells it (`None`: its start's time does
    /// not read), with the drills of the same playbook before it (`earlier`, oldest first).
    pub fn of(view: &RunView, earlier: &[TrendPoint]) -> Option<Self> {
        let timeline = &view.timeline;
        if !timeline.is_timed() {
            return None;
        }
        let steps: Vec<StepReport> = view
            .steps
            .iter()
            .map(|s| {
                let time = timeline.steps.get(&s.id);
                StepReport {
                    id: s.id.clone(),
                    kind: s.kind.clone(),
                    group: s.group.clone(),
                    account: s.account.clone(),
                    state: s.state,
                    start_secs: time.map(|t| t.start_secs),
                    secs: time.map(|t| t.secs),
                    error: s.error.clone(),
                    changes: s
                        .changes
                        .iter()
                        .map(|c| ChangeLine {
                            sign: c.action.sign().to_string(),
                            resource: c.resource.to_string(),
                            before: c.before.as_ref().map(ToString::to_string),
                            after: c.after.as_ref().map(ToString::to_string),
                        })
                        .collect(),
                }
            })
            .collect();
        // The later undo of a step does not change when it ran; only its state says undone.
        let steps_secs = steps
            .iter()
            .filter_map(|s| Some(s.start_secs? + s.secs?))
            .fold(0.0, f64::max);
        let dns_wait_secs = steps
            .iter()
            .filter(|s| crate::steps::find_kind(&s.kind).is_some_and(|k| k.waits_on_dns))
            .filter_map(|s| s.secs)
            .sum();
        let spec = view.drill.as_ref();
        let gate = spec.and_then(|d| d.recovery.clone());
        let all_done = view
            .steps
            .iter()
            .all(|s| s.state.is_done() || (s.state == StepState::Undone && s.error.is_none()));
        let recovery_secs = match &gate {
            Some(g) => timeline.steps.get(g).and_then(|t| t.passed),
            None if all_done => Some(steps_secs),
            None => None,
        };
        let target_secs = spec.and_then(|d| d.rto_target_secs);
        let cached = cached(view);
        let clients_secs =
            recovery_secs.map(|s| s + cached.as_ref().map_or(0.0, |c| c.within_secs as f64));
        let recovery = Recovery {
            gate,
            secs: recovery_secs,
            clients_secs,
            cached,
            target_secs,
            met: clients_secs.zip(target_secs).map(|(s, t)| s <= t),
        };
        let timings = Timings {
            total_secs: timeline.total_secs(),
            steps_secs,
            dns_wait_secs,
            restore_secs: timeline.restore_secs(),
        };
        let (outcome, reason) = verdict(
            view,
            spec,
            timeline.soak.as_ref(),
            timeline.verify.as_ref(),
            &recovery,
        );
        let recovered = crate::evidence::Recovered {
            secs: recovery.judged(),
            target_secs: recovery.target_secs,
            met: recovery.met,
        };
        let evidence = Evidence::of(view, recovered, timeline.verify.as_ref());
        let mut trend = earlier.to_vec();
        if spec.is_some() {
            trend.push(TrendPoint {
                run_id: view.run_id.clone(),
                started: view.started.clone(),
                outcome,
                recovery_secs: recovery.secs,
                clients_secs: recovery.clients_secs,
            });
        }
        Some(Self {
            report_format: REPORT_FORMAT,
            run_id: view.run_id.clone(),
            kind: if spec.is_some() { "drill" } else { "run" }.to_owned(),
            playbook: view.playbook.clone(),
            file: view.file.clone(),
            by: view.by.clone(),
            principals: view.principals.clone(),
            started: view.started.clone(),
            ended: timeline.ended.clone(),
            outcome,
            exit_code: Exit::of(Ending::ended(outcome, false)).code(),
            reason,
            recovery,
            timings,
            steps,
            undo: timeline.undo.clone(),
            soak: timeline.soak.clone(),
            verify: timeline.verify.clone(),
            warnings: view.warnings.clone(),
            trend,
            evidence: Some(evidence),
        })
    }

    /// Whether this is a drill.
    pub fn is_drill(&self) -> bool {
        self.kind == "drill"
    }

    /// This report as a point of a trend.
    pub fn point(&self) -> TrendPoint {
        TrendPoint {
            run_id: self.run_id.clone(),
            started: self.started.clone(),
            outcome: self.outcome,
            recovery_secs: self.recovery.secs,
            clients_secs: self.recovery.clients_secs,
        }
    }
}

/// Of the records the run changed, the one whose answer from before the run resolvers may keep
/// longest: read from each step's undo record, which keeps the record set as it was (so a
/// journal written before reports had this still gives it).
fn cached(view: &RunView) -> Option<Follow> {
    Follow::longest(view.steps.iter().filter_map(|s| {
        let kind = crate::steps::find_kind(&s.kind)?;
        let undo = (kind.load_undo)(s.undo.clone()?).ok()?;
        undo.follow()
    }))
}

/// How the run or drill ended, and why when it did not pass.
fn verdict(
    view: &RunView,
    drill: Option<&DrillSpec>,
    soak: Option<&Soak>,
    verify: Option<&Verify>,
    recovery: &Recovery,
) -> (Verdict, Option<String>) {
    let failed = view.steps.iter().find(|s| s.error.is_some()).map(|s| {
        format!(
            "step `{}` failed: {}",
            s.id,
            s.error.clone().unwrap_or_default()
        )
    });
    let Some(outcome) = view.outcome else {
        return (Verdict::Unfinished, None);
    };
    match (outcome, drill) {
        (Outcome::RollbackIncomplete, _) => (
            Verdict::RollbackIncomplete,
            Some(
                view.steps
                    .iter()
                    .filter_map(|s| Some(format!("step `{}`: {}", s.id, s.undo_error.as_ref()?)))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        (Outcome::Stopped, _) => (Verdict::Stopped, failed),
        (Outcome::Succeeded, None) => (Verdict::Succeeded, None),
        (Outcome::RolledBack, None) => (Verdict::RolledBack, failed),
        // A drill's run succeeded and its rollback has not ended: killed in the soak or
        // the rollback.
        (Outcome::Succeeded, Some(_)) => (
            Verdict::Unfinished,
            Some("the drill stopped before its rollback finished".into()),
        ),
        (Outcome::RolledBack, Some(_)) => {
            if let Some(why) = failed {
                return (Verdict::StepFailed, Some(why));
            }
            let stopped = match soak {
                Some(Soak {
                    broken: Some(broken),
                    ..
                }) => return (Verdict::SoakFailed, Some(broken.clone())),
                None => Some("the drill stopped (a signal, or its process died) before its soak ended, and was rolled back"),
                Some(Soak { stopped: true, .. }) => {
                    Some("a signal ended the drill's soak (every check of the gates so far passed), and it was rolled back")
                }
                Some(_) => None,
            };
            if let Some(why) = stopped {
                return match verify {
                    Some(v) if !v.differences.is_empty() => {
                        (Verdict::RestoreDiffers, Some(differ(v)))
                    }
                    _ => (Verdict::Interrupted, Some(why.to_owned())),
                };
            }
            match verify {
                Some(v) if !v.differences.is_empty() => (Verdict::RestoreDiffers, Some(differ(v))),
                None => (
                    Verdict::Unfinished,
                    Some("the restore was not verified".into()),
                ),
                Some(_) => match (recovery.met, recovery.took(), recovery.target_secs) {
                    (Some(false), Some(took), Some(target)) => (
                        Verdict::MissedRto,
                        Some(format!(
                            "recovery took {took}, over the target of {}",
                            span(target)
                        )),
                    ),
                    _ => (Verdict::Passed, None),
                },
            }
        }
    }
}

/// Which resources differ after a drill.
fn differ(v: &Verify) -> String {
    format!(
        "{} of {} resources differ from the snapshot: {}",
        v.differences.len(),
        v.checked,
        v.differences
            .iter()
            .map(|d| d.resource.clone())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A duration as people read it: `4.2s`, `3m 05s`.
pub fn span(secs: f64) -> String {
    // A duration from a journal may be negative (clocks moved) or not a number (tampered):
    // never `-0.0s`. Under a tenth of a second, two decimals, so that a short target is not
    // shown as the 0.0s a longer recovery missed.
    if secs.is_nan() || secs <= 0.0 {
        "0.0s".to_owned()
    } else if secs < 0.01 {
        "<0.01s".to_owned()
    } else if secs < 0.1 {
        format!("{secs:.2}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = secs.round() as u64;
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_are_never_negative_and_short_ones_keep_their_size() {
        assert_eq!(span(-0.0), "0.0s");
        assert_eq!(span(-0.04), "0.0s");
        assert_eq!(span(f64::NAN), "0.0s");
        assert_eq!(span(0.004), "<0.01s");
        assert_eq!(span(0.03), "0.03s");
        assert_eq!(span(4.25), "4.2s");
        assert_eq!(span(185.0), "3m 05s");
    }
}
