//! When each part of a run happened, folded from its journal beside the run's view
//! ([`super::view::RunView::timeline`]): each step's start and length, each undo's, the soak,
//! the restore's verification, the rollback's start, the last record. Reports draw and measure
//! from it, so nothing folds a journal a second time to time it.

use std::collections::HashMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::record::{Difference, Record};

/// A run's times, in seconds from its start record.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The start record's time, in seconds since the epoch (`None`: it does not parse).
    t0: Option<f64>,
    /// Seconds to the latest record.
    last: f64,
    /// The latest record's time (RFC 3339).
    pub ended: String,
    /// Each step's latest outcome, by id.
    pub steps: HashMap<String, StepTime>,
    /// The rollback: each step's undo, in the order they ended.
    pub undo: Vec<UndoReport>,
    pub soak: Option<Soak>,
    pub verify: Option<Verify>,
    /// The first rollback's start.
    pub rollback_started: Option<f64>,
    /// The latest `finished` record.
    pub finished: Option<f64>,
    /// The latest `verified` record.
    pub verified: Option<f64>,
}

/// When a step ran.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepTime {
    pub start_secs: f64,
    pub secs: f64,
    /// When it last passed (applied or found unchanged): a recovery gate's pass is the
    /// moment production is back.
    pub passed: Option<f64>,
}

/// One step's undo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UndoReport {
    pub step: String,
    pub start_secs: f64,
    pub secs: f64,
    /// What it restored, one line per resource.
    pub restored: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The aws CLI lines that do a failed undo by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_hand: Vec<String>,
}

/// The soak: the promoted state held, its gates checked again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Soak {
    pub start_secs: f64,
    pub secs: f64,
    pub checks: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
    /// A signal ended the soak early (every check so far passed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

/// The restore's verification against the snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verify {
    pub checked: usize,
    pub differences: Vec<DifferenceLine>,
}

/// A resource that differs after the drill.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DifferenceLine {
    pub resource: String,
    /// What it held before the drill (`None`: it did not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// What it holds now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl DifferenceLine {
    fn of(d: &Difference) -> Self {
        Self {
            resource: match &d.account {
                Some(account) => format!("{} (account {account})", d.resource),
                None => d.resource.to_string(),
            },
            before: d.before.as_ref().map(ToString::to_string),
            after: d.after.as_ref().map(ToString::to_string),
        }
    }
}

impl Timeline {
    /// The times of a run whose start record was written `at`.
    pub fn new(at: &str) -> Self {
        Self {
            t0: seconds(at),
            ended: at.to_owned(),
            ..Self::default()
        }
    }

    /// Whether its start's time could be read: without it nothing can be timed.
    pub fn is_timed(&self) -> bool {
        self.t0.is_some()
    }

    /// Seconds from the start to the latest record.
    pub fn total_secs(&self) -> f64 {
        self.last
    }

    /// Seconds from the start to `at` (0 for a time that does not parse, or is earlier).
    fn since_start(&self, at: &str) -> f64 {
        match (self.t0, seconds(at)) {
            (Some(t0), Some(t)) => (t - t0).max(0.0),
            _ => 0.0,
        }
    }

    /// Folds the next record after the start.
    pub fn push(&mut self, record: &Record) {
        let at = at(record);
        let now = self.since_start(at);
        match record {
            Record::Applied { step, took, .. }
            | Record::Unchanged { step, took, .. }
            | Record::Failed { step, took, .. } => {
                let secs = took.unwrap_or(now - self.last);
                let earlier = self.steps.get(step).and_then(|s| s.passed);
                self.steps.insert(
                    step.clone(),
                    StepTime {
                        start_secs: (now - secs).max(0.0),
                        secs,
                        passed: match record {
                            Record::Failed { .. } => earlier,
                            _ => Some(now),
                        },
                    },
                );
            }
            Record::RollbackStarted { .. } => {
                self.rollback_started.get_or_insert(now);
            }
            Record::Undone { step, restored, .. } => self.undo.push(UndoReport {
                step: step.clone(),
                start_secs: self.last,
                secs: now - self.last,
                restored: restored.clone(),
                error: None,
                by_hand: Vec::new(),
            }),
            Record::UndoFailed {
                step,
                error,
                by_hand,
                ..
            } => self.undo.push(UndoReport {
                step: step.clone(),
                start_secs: self.last,
                secs: now - self.last,
                restored: Vec::new(),
                error: Some(error.clone()),
                by_hand: by_hand.clone(),
            }),
            Record::Soaked {
                secs,
                checks,
                broken,
                stopped,
                ..
            } => {
                // Journals before `stopped` said so as a broken soak.
                let legacy = broken.as_deref() == Some("ended early by a signal");
                self.soak = Some(Soak {
                    start_secs: (now - secs).max(0.0),
                    secs: *secs,
                    checks: *checks,
                    broken: broken.clone().filter(|_| !legacy),
                    stopped: *stopped || legacy,
                });
            }
            Record::Verified {
                checked,
                differences,
                ..
            } => {
                self.verify = Some(Verify {
                    checked: *checked,
                    differences: differences.iter().map(DifferenceLine::of).collect(),
                });
                self.verified = Some(now);
            }
            Record::Finished { .. } => self.finished = Some(now),
            Record::Intent { .. }
            | Record::Resumed { .. }
            | Record::Snapshot { .. }
            | Record::Start { .. } => {}
        }
        self.last = now;
        self.ended = at.to_owned();
    }

    /// The rollback's start to the end of the restore's verification (or of the rollback).
    pub fn restore_secs(&self) -> Option<f64> {
        let end = match self.verify {
            Some(_) => self.verified,
            None => self.finished,
        };
        self.rollback_started.zip(end).map(|(a, b)| b - a)
    }
}

/// When `record` was written.
fn at(record: &Record) -> &str {
    match record {
        Record::Start { at, .. }
        | Record::Intent { at, .. }
        | Record::Applied { at, .. }
        | Record::Unchanged { at, .. }
        | Record::Failed { at, .. }
        | Record::RollbackStarted { at, .. }
        | Record::Undone { at, .. }
        | Record::UndoFailed { at, .. }
        | Record::Finished { at, .. }
        | Record::Resumed { at }
        | Record::Snapshot { at, .. }
        | Record::Soaked { at, .. }
        | Record::Verified { at, .. } => at,
    }
}

/// Seconds since the epoch of an RFC 3339 time.
fn seconds(at: &str) -> Option<f64> {
    humantime::parse_rfc3339_weak(at.trim_end_matches('Z'))
        .ok()?
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64())
}
