//! The write-ahead journal of a run: one record ([`super::record`]) per line, each appended
//! and made durable before the next action, wherever the state keeps it (a [`Store`]:
//! `runs/<run-id>/journal.jsonl` of a directory or of an S3 bucket and prefix, see
//! [`crate::state`]). The journal keeps what its records say about the run, folded as each
//! is appended ([`Journal::view`]): nothing reads back a journal it is writing.

use std::io;
use std::sync::{Arc, OnceLock};

use super::chain;
use super::record::{parse, ReadError, Record};
use super::view::RunView;

/// Where a journal's lines are kept: a file of a state directory, an object of a state bucket
/// ([`crate::state`] has both). The engine writes and reads journals through this alone.
pub trait Store: Send {
    /// Appends one line (ending in `\n`): when this returns, it is durable (fsynced, or the
    /// PUT answered), or it was not written.
    fn append(&mut self, line: &[u8]) -> io::Result<()>;
    /// The journal's bytes as they are now (or as this process last wrote or read them).
    fn bytes(&self) -> io::Result<Vec<u8>>;
}

/// Closed when the lock is lost (another process took it over, or its lease ran out); every
/// journal write then fails, so the holder stops before its next action. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Fence(Arc<OnceLock<String>>);

impl Fence {
    /// Fails, saying why, once the lock is lost.
    pub fn check(&self) -> io::Result<()> {
        match self.0.get() {
            Some(why) => Err(io::Error::other(Superseded(why.clone()))),
            None => Ok(()),
        }
    }

    /// Closes the fence for good, saying why.
    pub fn close(&self, why: String) {
        let _ = self.0.set(why);
    }
}

/// A write refused because another process may own the run now (it took the lock over, the
/// lease ran out, or it wrote the journal): this one must stop, not roll back, so that two
/// processes never act on one run at once.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Superseded(pub String);

/// An open journal, appending.
///
/// The process also holds every record of the run in memory from its first append on, so a
/// rollback can go on from what the process knows when the journal stops taking writes (a full
/// disk, a bucket that denies writes, a lock lost): once one write fails, nothing more is
/// written, so the journal in the store stays a clean prefix of the run, and the next
/// `standin rollback` finds what was put back (every undo is idempotent) and records it.
pub struct Journal {
    location: String,
    store: Box<dyn Store>,
    fence: Fence,
    /// This process journaled a step's intent: a change may have been made since.
    wrote_intent: bool,
    /// What this process knows of the run: read once when first needed, then each append.
    known: Option<Known>,
    /// Why the journal stopped taking writes, once a write failed, and whether because
    /// another process may own the run now ([`Superseded`]).
    broken: Option<(String, bool)>,
    /// The hash of the journal's last line ([`chain::tip`]), which the next line links to,
    /// and how many lines it has: as read from the store the first time, then as each line
    /// is written. `None` until known; a tip of `None` for an empty journal.
    tip: Option<(Option<String>, usize)>,
}

/// The run's records as this process knows them, written or not, and what they say.
struct Known {
    records: Vec<Record>,
    /// `None` until the start record.
    view: Option<RunView>,
}

impl Known {
    fn push(&mut self, record: &Record) {
        match &mut self.view {
            Some(view) => view.push(record),
            None => self.view = RunView::from_records(std::slice::from_ref(record)),
        }
        self.records.push(record.clone());
    }
}

impl Journal {
    /// A journal kept in `store`, named `location` (a path or an `s3://` URL), whose writes
    /// stop once `fence` closes.
    pub fn new(location: String, store: Box<dyn Store>, fence: Fence) -> Self {
        Self {
            location,
            store,
            fence,
            wrote_intent: false,
            known: None,
            broken: None,
            tip: None,
        }
    }

    /// The journal of a new run, just created empty: nothing to read back.
    pub fn created(mut self) -> Self {
        self.known = Some(Known {
            records: Vec::new(),
            view: None,
        });
        self.tip = Some((None, 0));
        self
    }

    /// The file's path or the object's `s3://` URL.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// What this process knows of the run, read from the store the first time.
    fn know(&mut self) -> Result<&mut Known, ReadError> {
        if self.known.is_none() {
            let bytes = self.store.bytes().map_err(|source| ReadError::Io {
                location: self.location.clone(),
                source,
            })?;
            let records = match parse(&self.location, &bytes) {
                Ok(records) => records,
                Err(ReadError::Empty { .. }) => Vec::new(),
                Err(e) => return Err(e),
            };
            self.tip = Some(seal_of(&bytes));
            self.known = Some(Known {
                view: RunView::from_records(&records),
                records,
            });
        }
        Ok(self.known.as_mut().expect("known since just now"))
    }

    /// What the journal says about the run, as this process knows it (every record appended
    /// so far, written or not: see [`Journal::records`]), folded as each was appended.
    pub fn view(&mut self) -> Result<&RunView, ReadError> {
        let location = self.location.clone();
        self.know()?
            .view
            .as_ref()
            .ok_or_else(|| ReadError::Corrupt {
                location,
                line: 1,
                message: "the first record is not a start record".into(),
            })
    }

    /// Appends one record: when this returns `Ok`, the record is durable. Fails, writing
    /// nothing, once this process lost its lock, and for good after any write failed. A record
    /// that was not written is still held (see [`Journal::records`]), but for an intent: a
    /// step whose intent is not durable never starts its change.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        // A journal that cannot be read is still written: only the rollback from what this
        // process holds is lost.
        let _ = self.know();
        let written = match &self.broken {
            Some((why, _)) => Err(io::Error::other(format!(
                "not written: the journal stopped taking writes earlier ({why})"
            ))),
            None => self.write(record),
        };
        match &written {
            Ok(()) if matches!(record, Record::Intent { .. }) => self.wrote_intent = true,
            Ok(()) => {}
            Err(e) => {
                let superseded = e.get_ref().is_some_and(|inner| inner.is::<Superseded>());
                self.broken
                    .get_or_insert_with(|| (e.to_string(), superseded));
            }
        }
        if written.is_ok() || !matches!(record, Record::Intent { .. }) {
            if let Some(known) = &mut self.known {
                known.push(record);
            }
        }
        written
    }

    fn write(&mut self, record: &Record) -> io::Result<()> {
        self.fence.check()?;
        let (tip, lines) = match self.tip.take() {
            Some(known) => known,
            None => seal_of(&self.store.bytes()?),
        };
        let object = serde_json::to_vec(record).map_err(io::Error::other)?;
        let mut line = chain::seal(object, tip.as_deref());
        let next = chain::link(&line);
        line.push(b'\n');
        let written = self.store.append(&line);
        // After a failed write the journal takes no more (see `broken`).
        self.tip = Some(if written.is_ok() {
            (Some(next), lines + 1)
        } else {
            (tip, lines)
        });
        written
    }

    /// How many lines the journal has and its last line's hash (the chain's tip), as this
    /// process knows them (without reading the journal again); `None` when it has not read
    /// or written it, or it is empty.
    pub fn seal(&self) -> Option<(usize, String)> {
        match &self.tip {
            Some((Some(tip), lines)) => Some((*lines, tip.clone())),
            _ => None,
        }
    }

    /// Why the journal stopped taking writes, if a write failed: the records held since were
    /// not written.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_ref().map(|(why, _)| why.as_str())
    }

    /// Why another process may own the run now, if a write found so (see [`Superseded`]).
    pub fn superseded(&self) -> Option<&str> {
        self.broken
            .as_ref()
            .filter(|(_, superseded)| *superseded)
            .map(|(why, _)| why.as_str())
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

    /// Every record: as this process holds them once it appended one (written or not), else
    /// as [`parse`] reads them from the store.
    pub fn records(&self) -> Result<Vec<Record>, ReadError> {
        match &self.known {
            Some(known) if !known.records.is_empty() => Ok(known.records.clone()),
            _ => self.stored(),
        }
    }

    fn stored(&self) -> Result<Vec<Record>, ReadError> {
        let bytes = self.store.bytes().map_err(|source| ReadError::Io {
            location: self.location.clone(),
            source,
        })?;
        parse(&self.location, &bytes)
    }
}

/// The chain's tip and the number of complete lines of a journal's bytes.
fn seal_of(bytes: &[u8]) -> (Option<String>, usize) {
    (
        chain::tip(bytes),
        bytes.iter().filter(|b| **b == b'\n').count(),
    )
}
