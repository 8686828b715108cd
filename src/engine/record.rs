//! The records of a run's write-ahead journal, one JSON object per line (the journal itself,
//! which appends them, is [`super::journal`]).
//!
//! A step's undo record is journaled (`intent`) before its mutation starts, so a run killed at
//! any point can still be rolled back from the journal alone. Records never hold secret values.
//! Format version: [`FORMAT`]; a reader refuses journals from a newer format and reads every
//! older one (fields added since have defaults). docs/journal.md describes the format.

use std::io;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::source::Source;
use crate::config::{Accounts, AwsSettings};
use crate::steps::{Change, Drift, Resource};

/// Journal format version written by this build. 2 added the playbook's fingerprint to the
/// start record, the planned changes to intents, `resumed` records and the `stopped` outcome;
/// 3 parameter attributes in `ssm.*` undo records and `lock-url` undo records with one rule
/// per listener; 4 typed values and resources in the planned changes of intents; 5 drills (the
/// start record's `drill`, `by` and `warnings`; `snapshot`, `soaked` and `verified` records)
/// and each step's whole duration (`took`); 6 steps that act in other accounts (`accounts`
/// and each step's `account`: a build that ignored them would undo in the wrong account) and
/// roles (`role_arn`, `external_id` in `aws`), written only by runs of playbooks that have
/// either, so that older builds still read the others. Older builds would refuse each.
pub const FORMAT: u32 = 6;

/// The format of a journal that needs none of format 6 (no `accounts`).
pub const FORMAT_ONE_ACCOUNT: u32 = 5;

/// One line of the journal. (The start record is much larger than the others; a journal holds
/// one, and a few hundred records at most, so boxing it would buy nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "kebab-case")]
pub enum Record {
    /// First line: what runs, against which account settings.
    Start {
        format: u32,
        run_id: String,
        playbook: String,
        file: String,
        aws: AwsSettings,
        /// The other accounts steps act in (a playbook's `accounts:`).
        #[serde(default, skip_serializing_if = "Accounts::is_empty")]
        accounts: Accounts,
        /// The playbook's text hash and `--var` names, so `resume` runs the same playbook.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<Source>,
        steps: Vec<StepRef>,
        /// Set when this run is a drill (`standin drill`): what it measures and how long it
        /// holds the promoted state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drill: Option<DrillSpec>,
        /// Who ran it: `user@host`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// Whom it acted as in AWS: the caller of each account it names, as STS says.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        principals: Vec<Principal>,
        /// The plan's warnings, for reports.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
        /// The SHA-256 of the plan document the run was held to (`plan.json` beside the
        /// journal, as `standin plan -o FILE` writes it): evidence of what it was to change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_sha256: Option<String>,
        at: String,
    },
    /// A drill's record of every resource its steps touch, as it was before the first step
    /// (secrets by version only): what the restore is verified against.
    Snapshot { resources: Vec<Held>, at: String },
    /// Written and fsynced before a step mutates anything: how to undo it, and what it is
    /// about to change (so `resume` can tell whether the change landed).
    Intent {
        step: String,
        undo: Value,
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            deserialize_with = "typed_or_none"
        )]
        changes: Vec<Change>,
        at: String,
    },
    /// `standin resume` took the run over from a process that stopped.
    Resumed { at: String },
    /// The step's mutation completed; `undo` includes what it learned (e.g. versions written).
    Applied {
        step: String,
        undo: Value,
        /// How long the mutation took.
        secs: f64,
        /// How long the whole step took: planning, checks, the mutation and its waits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        took: Option<f64>,
        at: String,
    },
    /// The step found nothing to change.
    Unchanged {
        step: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        took: Option<f64>,
        at: String,
    },
    /// The step failed; `undo` (if any) covers whatever part of it happened.
    Failed {
        step: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<Value>,
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        took: Option<f64>,
        at: String,
    },
    /// A drill held the promoted state for `secs`, checking its gates `checks` times;
    /// `broken` says which gate failed, and how.
    Soaked {
        secs: f64,
        checks: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        broken: Option<String>,
        /// A signal ended the soak early (every check so far passed).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        stopped: bool,
        at: String,
    },
    /// A drill compared every resource of its snapshot with what it holds after the
    /// rollback: `checked` resources, those that differ.
    Verified {
        checked: usize,
        differences: Vec<Difference>,
        at: String,
    },
    /// `failed`: the step that stopped the run, and why, when that is why it rolls back.
    RollbackStarted {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed: Option<FailedStep>,
        at: String,
    },
    /// The step's changes were undone; one line per resource.
    Undone {
        step: String,
        restored: Vec<String>,
        at: String,
    },
    /// Its undo failed or was refused; `by_hand`: the aws CLI lines that do it by hand.
    UndoFailed {
        step: String,
        error: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        by_hand: Vec<String>,
        /// The resources changed since the run, when that is why it was refused.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        drift: Vec<Drift>,
        at: String,
    },
    /// `failed`: the step that stopped the run (a signal, a second one) when it ends so,
    /// without a rollback.
    Finished {
        outcome: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed: Option<FailedStep>,
        at: String,
    },
}

/// The planned changes of an intent; those of journals before format 4 (values as display
/// text) read as none, as in format 1: `resume` then settles a step in doubt only when its
/// change landed, and otherwise rolls back.
fn typed_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Change>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).unwrap_or_default())
}

/// The step that stopped a run (it failed, or a signal stopped the run in it), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedStep {
    pub step: String,
    pub error: String,
}

/// What a drill measures (from the playbook's `recovery:` and `rto_target:`) and how long it
/// holds the promoted state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillSpec {
    /// The id of the gate step whose pass means production is back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<String>,
    /// The recovery time objective, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_target_secs: Option<f64>,
    /// How long the promoted state is held, and how often its gates are checked meanwhile.
    pub soak_secs: f64,
    pub every_secs: f64,
    /// Where the drill writes its reports (`--report`, absolute): a resumed drill writes
    /// them there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_dir: Option<String>,
    /// The scheme, host and port of `--notify` (its path is its secret, so the URL itself is
    /// never kept): a resumed drill asks for the URL again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_origin: Option<String>,
}

impl DrillSpec {
    /// How long the soak holds the promoted state, and how long between its checks of the
    /// gates. A value no drill writes (negative, zero between checks, or beyond what a
    /// duration holds) means the journal was edited: said, never a panic.
    pub fn durations(&self) -> Result<(std::time::Duration, std::time::Duration), String> {
        let soak = std::time::Duration::try_from_secs_f64(self.soak_secs)
            .map_err(|_| format!("its soak of {} s is not a duration", self.soak_secs))?;
        let every = std::time::Duration::try_from_secs_f64(self.every_secs)
            .ok()
            .filter(|every| !every.is_zero())
            .ok_or_else(|| {
                format!(
                    "its time between checks of {} s is not a duration longer than 0s",
                    self.every_secs
                )
            })?;
        Ok((soak, every))
    }
}

/// Whom a run acted as in one account: STS GetCallerIdentity's ARN (for an assumed role, the
/// session's), so that a report says which credentials changed production, not only which
/// person at which machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The account's name in `accounts:`; absent for the playbook's own (`aws:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub arn: String,
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.account {
            Some(account) => write!(f, "{account}: {}", self.arn),
            None => f.write_str(&self.arn),
        }
    }
}

/// A resource and what it held (`None`: it did not exist).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    pub resource: Resource,
    /// The account of the start record's `accounts` it is in; none: the run's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<crate::steps::Value>,
}

/// A resource that does not hold, after a drill, what it held before.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Difference {
    pub resource: Resource,
    /// The account it is in; none: the run's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<crate::steps::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<crate::steps::Value>,
}

/// A step as listed in the start record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRef {
    pub id: String,
    pub kind: String,
    /// The parallel group the step runs in, with the steps next to it of the same group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The account of `accounts` it acts in; none: the start record's `aws`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// How a run (or its rollback) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every step applied (or had nothing to do).
    Succeeded,
    /// A step failed, or a rollback was asked for, and every change was undone.
    RolledBack,
    /// Some change could not be undone: a human must act.
    RollbackIncomplete,
    /// Stopped by the operator (Ctrl-C) with changes in place: `resume` or `rollback` it.
    Stopped,
}

/// The current time as RFC 3339, for records.
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

impl Record {
    /// The step and group ids the record names (a group without an id is named by its
    /// members' ids joined with `+`).
    pub fn ids(&self) -> Vec<&str> {
        match self {
            Self::Start { steps, .. } => steps
                .iter()
                .flat_map(|s| {
                    let group = s.group.iter().flat_map(|g| g.split('+'));
                    std::iter::once(s.id.as_str()).chain(group)
                })
                .collect(),
            Self::Intent { step, .. }
            | Self::Applied { step, .. }
            | Self::Unchanged { step, .. }
            | Self::Failed { step, .. }
            | Self::Undone { step, .. }
            | Self::UndoFailed { step, .. } => vec![step.as_str()],
            _ => Vec::new(),
        }
    }
}

impl Record {
    /// What a record that parses says that no standin could have written, if anything: an
    /// id no playbook could have, or accounts as [`Record::accounts_problem`] finds them.
    pub fn problem(&self) -> Option<String> {
        if let Some(bad) = self
            .ids()
            .into_iter()
            .find(|id| !crate::playbook::valid_id(id))
        {
            return Some(format!(
                "{bad:?} is not a step or group id (letters, digits, `-` and `_`)"
            ));
        }
        let held = match self {
            Self::Snapshot { resources, .. } => resources.iter().map(|h| &h.account).collect(),
            Self::Verified { differences, .. } => differences.iter().map(|d| &d.account).collect(),
            _ => Vec::new(),
        };
        if let Some(bad) = held
            .into_iter()
            .flatten()
            .find(|a| !crate::playbook::valid_id(a))
        {
            return Some(format!("{bad:?} is not an account name"));
        }
        self.accounts_problem()
    }

    /// What is wrong with a start record's accounts, if anything: a name or a setting a
    /// playbook could not have, a step's account the record does not declare, or accounts in
    /// a format before 6 (which its writer would not have written). The journal was edited:
    /// an undo must not act in an account nobody named, nor print aws CLI lines from settings
    /// that could not be checked.
    fn accounts_problem(&self) -> Option<String> {
        let Self::Start {
            format,
            aws,
            accounts,
            steps,
            ..
        } = self
        else {
            return None;
        };
        if *format < FORMAT && crate::config::acts_elsewhere(aws, accounts) {
            return Some(format!(
                "a format {format} journal cannot have accounts or a role (format 6 can)"
            ));
        }
        let named = || accounts.keys().map(String::as_str);
        if let Some(bad) = named().find(|a| {
            !crate::playbook::valid_id(a) || a.eq_ignore_ascii_case(crate::config::DEFAULT_ACCOUNT)
        }) {
            return Some(format!("{bad:?} is not an account name"));
        }
        let settings = std::iter::once(("aws", aws))
            .chain(accounts.iter().map(|(name, s)| (name.as_str(), s)));
        for (name, settings) in settings {
            if let Some((field, problem)) = settings.problem() {
                return Some(format!("account {name:?}, {field}: {problem}"));
            }
        }
        steps
            .iter()
            .filter_map(|s| s.account.as_deref())
            .find(|a| !named().any(|n| n == *a))
            .map(|a| {
                format!(
                    "account {a:?} is not one a playbook declares (a step's account must be a valid name in the start record's `accounts`)"
                )
            })
    }
}

/// Why a journal cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {location}: {source}")]
    Io { location: String, source: io::Error },
    #[error("{location}:{line}: not a journal record: {message}")]
    Corrupt {
        location: String,
        line: usize,
        message: String,
    },
    #[error("{location}: journal format {found} is newer than this standin reads ({FORMAT}); use a newer standin")]
    Future { location: String, found: String },
    #[error("{location}: empty journal (the run did not start)")]
    Empty { location: String },
}

/// Parses every record of a journal's bytes. A last line without its newline is a write cut
/// short by a crash (possibly inside a character): it is ignored, since its action never
/// started (records are written before actions). Blank lines are skipped but counted, and the
/// first record is checked for a newer format before any record is parsed.
pub fn parse(location: &str, bytes: &[u8]) -> Result<Vec<Record>, ReadError> {
    let complete = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => &bytes[..end],
        None => {
            return Err(ReadError::Empty {
                location: location.to_owned(),
            })
        }
    };
    let mut records = Vec::new();
    for (i, line) in complete.split(|b| *b == b'\n').enumerate() {
        let corrupt = |message: String| ReadError::Corrupt {
            location: location.to_owned(),
            line: i + 1,
            message,
        };
        let line = std::str::from_utf8(line).map_err(|e| corrupt(format!("not UTF-8 ({e})")))?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if records.is_empty() {
            // Any number above ours is a newer format, however it is written (`3`, `3.0`,
            // `1e30`, or too large for an integer).
            let format = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v.get("format").cloned());
            if let Some(Value::Number(n)) = format {
                let newer = match n.as_u64() {
                    Some(f) => f > u64::from(FORMAT),
                    None => n.as_f64().is_some_and(|f| f > f64::from(FORMAT)),
                };
                if newer {
                    return Err(ReadError::Future {
                        location: location.to_owned(),
                        found: n.to_string(),
                    });
                }
            }
        }
        let record: Record = serde_json::from_str(line).map_err(|e| corrupt(e.to_string()))?;
        // Ids are printed as they are by `status` and reports: one that a playbook could not
        // have (a line break, an escape) is a tampered journal, not a step.
        if let Some(problem) = record.problem() {
            return Err(corrupt(problem));
        }
        records.push(record);
    }
    if records.is_empty() {
        return Err(ReadError::Empty {
            location: location.to_owned(),
        });
    }
    Ok(records)
}
