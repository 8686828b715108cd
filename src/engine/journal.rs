//! The write-ahead journal of a run: one JSON record per line in `runs/<run-id>/journal.jsonl`
//! of the state (a directory, or an S3 bucket and prefix), each appended and made durable
//! (fsynced, or the S3 PUT answered) before the next action.
//!
//! A step's undo record is journaled (`intent`) before its mutation starts, so a run killed at
//! any point can still be rolled back from the journal alone. Records never hold secret values.
//! Format version: [`FORMAT`]; a reader refuses journals from a newer format and reads every
//! older one (fields added since have defaults). docs/journal.md describes the format.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::Source;
use super::state::{open_no_follow, Fence};
use crate::aws::s3::Object;
use crate::aws::{AwsSettings, Expect};
use crate::steps::Change;

/// Journal format version written by this build. 2 added the playbook's fingerprint to the
/// start record, the planned changes to intents, `resumed` records and the `stopped` outcome;
/// 3 values with notes (a parameter's attributes), parameter attributes in `ssm.*` undo
/// records and `lock-url` undo records with one rule per listener, which older builds would
/// refuse.
pub const FORMAT: u32 = 3;

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

/// An open journal, appending: a file in a state directory, or an object in a state bucket.
pub struct Journal {
    location: String,
    target: Target,
    fence: Fence,
    /// This process journaled a step's intent: a change may have been made since.
    wrote_intent: bool,
}

enum Target {
    /// Each record is one write to the file, then `fdatasync`.
    File(PathBuf),
    /// Each record rewrites the whole object with `If-Match` the ETag of this journal's last
    /// write, so no other writer's records can be lost or interleaved unnoticed.
    Object(Remote),
}

/// An S3 journal as this process last wrote (or read) it.
struct Remote {
    object: Object,
    run_id: String,
    bytes: Vec<u8>,
    etag: String,
}

impl Journal {
    /// Creates the journal of a new run in a state directory (the run directory must not
    /// exist yet).
    pub fn create(run_dir: &Path, fence: Fence) -> io::Result<Self> {
        fs::create_dir_all(run_dir.parent().unwrap_or(run_dir))?;
        fs::create_dir(run_dir)?;
        let path = run_dir.join("journal.jsonl");
        OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)?;
        // The new directory entries must survive a crash as much as the records do.
        sync_dir(run_dir)?;
        if let Some(parent) = run_dir.parent() {
            sync_dir(parent)?;
        }
        Ok(Self::open(&path, fence))
    }

    /// A journal of a state directory, to read and append to (an earlier run's, for resume
    /// and rollback). The file is opened for each append.
    pub fn open(path: &Path, fence: Fence) -> Self {
        Self {
            location: path.display().to_string(),
            target: Target::File(path.to_owned()),
            fence,
            wrote_intent: false,
        }
    }

    /// Creates the journal of a new run as an S3 object that must not exist yet.
    pub async fn create_object(object: Object, run_id: &str, fence: Fence) -> io::Result<Self> {
        let etag = object
            .put(Vec::new(), Expect::Absent)
            .await
            .map_err(io::Error::other)?
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("run {run_id} already has a journal"),
                )
            })?;
        Ok(Self::remote(object, run_id, Vec::new(), etag, fence))
    }

    /// Reads an S3 journal, to append to it from where it is now.
    pub async fn open_object(
        object: Object,
        run_id: &str,
        fence: Fence,
    ) -> Result<Self, ReadError> {
        let io = |source| ReadError::Io {
            location: object.url(),
            source,
        };
        let (bytes, etag) = object
            .get()
            .await
            .map_err(|e| io(io::Error::other(e)))?
            .ok_or_else(|| io(io::ErrorKind::NotFound.into()))?;
        Ok(Self::remote(object, run_id, bytes, etag, fence))
    }

    fn remote(object: Object, run_id: &str, bytes: Vec<u8>, etag: String, fence: Fence) -> Self {
        Self {
            location: object.url(),
            target: Target::Object(Remote {
                object,
                run_id: run_id.to_owned(),
                bytes,
                etag,
            }),
            fence,
            wrote_intent: false,
        }
    }

    /// The file's path or the object's `s3://` URL.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Appends one record: when this returns, the record is on disk (fsynced) or in S3 (the
    /// PUT answered). Fails, writing nothing, once this process lost its lock.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        self.fence.check()?;
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        let written = match &mut self.target {
            Target::File(path) => {
                let mut file = open_no_follow(path, OpenOptions::new().read(true).append(true))?;
                drop_torn_tail(&mut file)?;
                file.write_all(&line)?;
                file.sync_data()
            }
            Target::Object(remote) => crate::aws::block_on(remote.append(line))?,
        };
        if written.is_ok() && matches!(record, Record::Intent { .. }) {
            self.wrote_intent = true;
        }
        written
    }

    /// Whether the run may have changed something: a step's intent is journaled (by this
    /// process, or before it). Unknown counts as changed.
    pub fn changed(&self) -> bool {
        self.wrote_intent
            || match self.records() {
                Ok(records) => records.iter().any(|r| matches!(r, Record::Intent { .. })),
                Err(ReadError::Empty { .. }) => false,
                Err(_) => true,
            }
    }

    /// Every record (as [`parse`] reads them): of the file as it is now, or of the object as
    /// this process last wrote or read it.
    pub fn records(&self) -> Result<Vec<Record>, ReadError> {
        match &self.target {
            Target::File(path) => read(path),
            Target::Object(remote) => parse(&self.location, &remote.bytes),
        }
    }
}

/// Cuts a last line left unfinished by a crash, so the next record starts on a line of its own
/// (readers ignore a torn last line; glued to a new record it would be corrupt).
fn drop_torn_tail(file: &mut File) -> io::Result<()> {
    if file.metadata()?.len() == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut bytes)?;
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    file.set_len(keep as u64)?;
    file.sync_data()
}

impl Remote {
    async fn append(&mut self, line: Vec<u8>) -> io::Result<()> {
        let mut next = self.bytes.clone();
        next.extend(line);
        let written = self
            .object
            .put(next.clone(), Expect::Version(&self.etag))
            .await
            .map_err(io::Error::other)?;
        let etag = match written {
            Some(etag) => etag,
            None => match self.object.get().await.map_err(io::Error::other)? {
                // Our own write, landed twice (the SDK retried it after a lost answer).
                Some((now, etag)) if now == next => etag,
                _ => {
                    return Err(io::Error::other(format!(
                        "another process wrote the journal of run {} since this one did; stop and look (`standin status {}`, with the same --state)",
                        self.run_id, self.run_id
                    )))
                }
            },
        };
        self.bytes = next;
        self.etag = etag;
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
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

/// Reads every record of a journal file, as [`parse`] does.
pub fn read(path: &Path) -> Result<Vec<Record>, ReadError> {
    let location = path.display().to_string();
    let mut bytes = Vec::new();
    match open_no_follow(path, OpenOptions::new().read(true))
        .and_then(|mut f| f.read_to_end(&mut bytes))
    {
        Ok(_) => parse(&location, &bytes),
        Err(source) => Err(ReadError::Io { location, source }),
    }
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
        records.push(serde_json::from_str(line).map_err(|e| corrupt(e.to_string()))?);
    }
    if records.is_empty() {
        return Err(ReadError::Empty {
            location: location.to_owned(),
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
        let mut journal = Journal::create(&run, Fence::default()).unwrap();
        journal.append(&start()).unwrap();
        journal
            .append(&Record::Unchanged {
                step: "a".into(),
                at: now(),
            })
            .unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(journal.location())
            .unwrap();
        file.write_all(b"{\"record\":\"intent\",\"st").unwrap();
        let records = journal.records().unwrap();
        assert_eq!(records.len(), 2);
        // The next append replaces the torn line instead of gluing onto it.
        journal.append(&Record::Resumed { at: now() }).unwrap();
        let records = journal.records().unwrap();
        assert_eq!(records.len(), 3);
        assert!(matches!(records[2], Record::Resumed { .. }));
    }

    #[test]
    fn refuses_corrupt_and_future_journals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        fs::write(&path, "{\"record\":\"start\",\"format\":99}\n").unwrap();
        assert!(matches!(
            read(&path),
            Err(ReadError::Future { found, .. }) if found == "99"
        ));
        fs::write(&path, "{\"record\":\"start\",\"format\":1e30}\n").unwrap();
        assert!(matches!(read(&path), Err(ReadError::Future { .. })));
        fs::write(
            &path,
            "{\"record\":\"start\",\"format\":99999999999999999999}\n",
        )
        .unwrap();
        assert!(matches!(read(&path), Err(ReadError::Future { .. })));
        fs::write(&path, "garbage\n").unwrap();
        assert!(matches!(
            read(&path),
            Err(ReadError::Corrupt { line: 1, .. })
        ));
        fs::write(&path, "").unwrap();
        assert!(matches!(read(&path), Err(ReadError::Empty { .. })));
    }
}
