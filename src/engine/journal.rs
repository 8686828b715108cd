//! The write-ahead journal of a run: one JSON record per line in
//! `<state-dir>/runs/<run-id>/journal.jsonl`, each appended and fsynced before the next action.
//!
//! A step's undo record is journaled (`intent`) before its mutation starts, so a run killed at
//! any point can still be rolled back from the journal alone. Records never hold secret values.
//! Format version: [`FORMAT`]; a reader refuses journals from a newer format and reads every
//! older one (fields added since have defaults). docs/journal.md describes the format.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::Source;
use crate::aws::AwsSettings;
use crate::steps::Change;

/// Journal format version written by this build. 2 added the playbook's fingerprint to the
/// start record, the planned changes to intents, `resumed` records and the `stopped` outcome.
pub const FORMAT: u32 = 2;

/// One line of the journal.
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
        /// The playbook's text hash and `--var` names, so `resume` runs the same playbook.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<Source>,
        steps: Vec<StepRef>,
        at: String,
    },
    /// Written and fsynced before a step mutates anything: how to undo it, and what it is
    /// about to change (so `resume` can tell whether the change landed).
    Intent {
        step: String,
        undo: Value,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<Change>,
        at: String,
    },
    /// `standin resume` took the run over from a process that stopped.
    Resumed {
        at: String,
    },
    /// The step's mutation completed; `undo` includes what it learned (e.g. versions written).
    Applied {
        step: String,
        undo: Value,
        secs: f64,
        at: String,
    },
    /// The step found nothing to change.
    Unchanged {
        step: String,
        at: String,
    },
    /// The step failed; `undo` (if any) covers whatever part of it happened.
    Failed {
        step: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<Value>,
        error: String,
        at: String,
    },
    RollbackStarted {
        reason: String,
        at: String,
    },
    /// The step's changes were undone; one line per resource.
    Undone {
        step: String,
        restored: Vec<String>,
        at: String,
    },
    UndoFailed {
        step: String,
        error: String,
        at: String,
    },
    Finished {
        outcome: Outcome,
        at: String,
    },
}

/// A step as listed in the start record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRef {
    pub id: String,
    pub kind: String,
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

/// An open journal, appending.
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Creates the journal of a new run (the run directory must not exist yet).
    pub fn create(run_dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(run_dir.parent().unwrap_or(run_dir))?;
        fs::create_dir(run_dir)?;
        let path = run_dir.join("journal.jsonl");
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)?;
        // The new directory entries must survive a crash as much as the records do.
        sync_dir(run_dir)?;
        if let Some(parent) = run_dir.parent() {
            sync_dir(parent)?;
        }
        Ok(Self { file, path })
    }

    /// Opens an existing journal to append (rollback of an earlier run).
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and fsyncs it: when this returns, the record is on disk.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Why a journal cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}:{line}: not a journal record: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: journal format {found} is newer than this standin reads ({FORMAT}); use a newer standin")]
    Future { path: PathBuf, found: u32 },
    #[error("{path}: empty journal (the run did not start)")]
    Empty { path: PathBuf },
}

/// Reads every record. A last line without its newline is a write cut short by a crash: it is
/// ignored, since its action never started (records are written before actions).
pub fn read(path: &Path) -> Result<Vec<Record>, ReadError> {
    let text = fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let mut records = Vec::new();
    for (i, line) in complete.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if i == 0 {
            let format = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v.get("format").and_then(Value::as_u64));
            if let Some(found) = format.filter(|f| *f > u64::from(FORMAT)) {
                return Err(ReadError::Future {
                    path: path.to_owned(),
                    found: u32::try_from(found).unwrap_or(u32::MAX),
                });
            }
        }
        let record = serde_json::from_str(line).map_err(|e| ReadError::Corrupt {
            path: path.to_owned(),
            line: i + 1,
            message: e.to_string(),
        })?;
        records.push(record);
    }
    if records.is_empty() {
        return Err(ReadError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Record {
        Record::Start {
            format: FORMAT,
            run_id: "r1".into(),
            playbook: "p".into(),
            file: "p.yaml".into(),
            aws: AwsSettings::default(),
            source: None,
            steps: vec![],
            at: now(),
        }
    }

    #[test]
    fn reads_back_what_it_wrote_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs").join("r1");
        let mut journal = Journal::create(&run).unwrap();
        journal.append(&start()).unwrap();
        journal
            .append(&Record::Unchanged {
                step: "a".into(),
                at: now(),
            })
            .unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(journal.path())
            .unwrap();
        file.write_all(b"{\"record\":\"intent\",\"st").unwrap();
        let records = read(journal.path()).unwrap();
        assert_eq!(records.len(), 2);
    }

    #[test]
    fn refuses_corrupt_and_future_journals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        fs::write(&path, "{\"record\":\"start\",\"format\":99}\n").unwrap();
        assert!(matches!(
            read(&path),
            Err(ReadError::Future { found: 99, .. })
        ));
        fs::write(&path, "garbage\n").unwrap();
        assert!(matches!(
            read(&path),
            Err(ReadError::Corrupt { line: 1, .. })
        ));
        fs::write(&path, "").unwrap();
        assert!(matches!(read(&path), Err(ReadError::Empty { .. })));
    }
}
