//! The lock that keeps two commands from acting on one state at once.
//!
//! A state directory uses an OS file lock on `<state-dir>/lock`: it dies with its holder, so
//! it is never stale. A shared state uses a lease, as Terraform's S3 lockfile does: an object
//! (`PREFIX/lock`) or a DynamoDB item, created only if there is none, naming its holder and
//! when its lease expires. A heartbeat renews it every third of the lease with a conditional
//! write; release deletes it, again conditionally. A holder that is killed leaves it behind:
//! the next command shows it, and once its lease has expired a human who checked that the
//! holder is dead takes it over with `--force-unlock ID`. A holder that loses its lease (taken
//! over, or not renewed in time) closes its [`Fence`], and its journal refuses every write
//! from then on, so it stops before its next action.

use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{self, Read, Seek, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::aws::dynamodb::Item;
use crate::aws::s3::Object;
use crate::aws::{AwsError, Expect};
use crate::engine::journal::Fence;
use crate::engine::record::now;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{place} is locked by {holder}")]
    Held { place: String, holder: String },
    #[error("--force-unlock {given} does not match the lock on {place}: it is held by {holder}; nothing was taken over")]
    WrongId {
        place: String,
        given: String,
        holder: String,
    },
    #[error("--force-unlock {given}: the lock on {place} is held by {holder}, which is alive (it keeps renewing its lease); stop that command, or wait until its lease expires, and try again; nothing was taken over")]
    Live {
        place: String,
        given: String,
        holder: String,
    },
    #[error("--force-unlock takes over the lock of a shared state (--state s3://...); the lock of a state directory is released when its holder exits")]
    NotShared,
    #[error("cannot lock {place}: {cause}")]
    Failed { place: String, cause: Cause },
    #[error("cannot read the lock on {place}: {cause}")]
    Unreadable { place: String, cause: Cause },
}

/// What went wrong with a lock's file, object or item.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("it is not a standin lock: {0}")]
    NotALock(serde_json::Error),
    #[error("the lock kept changing; try again")]
    KeptChanging,
}

/// Held while a command acts; released when dropped.
pub struct Lock {
    held: Held,
}

enum Held {
    /// Released by the OS when the file is closed, also when the process dies.
    File {
        _file: File,
    },
    Lease(Lease),
}

/// How the state tells the operator what happens to its lock meanwhile (taken over, lost,
/// not released): standin's commands print it.
pub type Notice = Arc<dyn Fn(&str) + Send + Sync>;

/// What a lease says about its holder: the lock object's body (JSON), the item's `Info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Random; `--force-unlock` names it.
    pub id: String,
    /// `pid N on HOST`.
    pub holder: String,
    /// The command, e.g. `standin run playbooks/promote-staging.yaml`.
    pub what: String,
    pub since: String,
    /// When the lease runs out unless renewed (RFC 3339, UTC).
    pub expires: String,
}

impl Holder {
    fn new(what: &str, lease: Duration) -> Self {
        let id = std::collections::hash_map::RandomState::new()
            .hash_one((SystemTime::now(), std::process::id()));
        Self {
            id: format!("{:012x}", id & 0xffff_ffff_ffff),
            holder: process(),
            what: what.to_owned(),
            since: stamp(SystemTime::now()),
            expires: stamp(SystemTime::now() + lease),
        }
    }

    fn renewed(&self, lease: Duration) -> Self {
        Self {
            expires: stamp(SystemTime::now() + lease),
            ..self.clone()
        }
    }

    /// Whether the lease ran out, by this machine's clock (an unreadable time counts as not).
    pub fn expired(&self) -> bool {
        self.expires_within(Duration::ZERO)
    }

    /// Whether the lease runs out within `margin` (an unreadable time counts as not).
    fn expires_within(&self, margin: Duration) -> bool {
        humantime::parse_rfc3339(&self.expires).is_ok_and(|t| t < SystemTime::now() + margin)
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            id,
            holder,
            what,
            since,
            expires,
        } = self;
        write!(f, "{holder} since {since} for {what} (lock {id}); ")?;
        if self.expired() {
            write!(f, "its lease expired at {expires}: the holder is probably dead; take it over with `--force-unlock {id}`")
        } else {
            write!(f, "its lease runs until {expires}")
        }
    }
}

fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `pid N on HOST`: who holds a lock, for others to read.
fn process() -> String {
    format!("pid {} on {}", std::process::id(), host())
}

/// This machine's name.
pub(super) fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown host".into())
}

impl Lock {
    /// Takes the OS lock on `path`, or says who holds it (the line its holder wrote there).
    pub(super) fn file(path: &Path, what: &str) -> Result<Self, LockError> {
        let failed = |e: io::Error| LockError::Failed {
            place: path.display().to_string(),
            cause: e.into(),
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(failed)?;
        }
        let mut file = super::open_no_follow(
            path,
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false),
        )
        .map_err(failed)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                file.read_to_string(&mut holder).map_err(failed)?;
                let holder = holder.trim();
                return Err(LockError::Held {
                    place: path.display().to_string(),
                    // A holder writes its name just after taking the lock (and the OS drops
                    // the lock of a process that dies): it took it a moment ago.
                    holder: if holder.is_empty() {
                        "another standin that took it a moment ago (its name is not written yet); try again".into()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(failed(e)),
        }
        let line = format!("{} since {}: {what}\n", process(), now());
        file.set_len(0).map_err(failed)?;
        file.rewind().map_err(failed)?;
        file.write_all(line.as_bytes()).map_err(failed)?;
        file.sync_data().map_err(failed)?;
        Ok(Self {
            held: Held::File { _file: file },
        })
    }

    /// What this lock's journals check before each write.
    pub fn fence(&self) -> Fence {
        match &self.held {
            Held::File { .. } => Fence::default(),
            Held::Lease(lease) => lease.fence.clone(),
        }
    }
}

/// Where a lease lives; both offer the same conditional reads, writes and deletes.
#[derive(Clone)]
pub(super) enum Place {
    Object(Object),
    Item(Item),
}

/// The lease as last read or written: its holder and version (ETag, or the item's body).
#[derive(Clone)]
struct Current {
    holder: Holder,
    version: String,
}

impl Place {
    fn url(&self) -> String {
        match self {
            Self::Object(object) => object.url(),
            Self::Item(item) => item.url(),
        }
    }

    fn failed(&self, cause: Cause) -> LockError {
        LockError::Failed {
            place: self.url(),
            cause,
        }
    }

    async fn read(&self) -> Result<Option<Current>, Cause> {
        let got = match self {
            Self::Object(object) => object.get().await,
            Self::Item(item) => item.get().await,
        };
        let Some((body, version)) = got? else {
            return Ok(None);
        };
        match serde_json::from_slice(&body) {
            Ok(holder) => Ok(Some(Current { holder, version })),
            Err(e) => Err(Cause::NotALock(e)),
        }
    }

    /// Writes `ours` over the lease `expected` (none: only where there is no lease). A write
    /// refused although the lease is now `ours` was our own, retried after a lost answer.
    /// Otherwise says what is there instead.
    async fn swap(
        &self,
        ours: &Holder,
        expected: Option<&Current>,
    ) -> Result<Result<Current, Option<Current>>, Cause> {
        let body = serde_json::to_vec(ours).expect("a holder serializes");
        let expect = expected.map_or(Expect::Absent, |c| Expect::Version(&c.version));
        let written = match self {
            Self::Object(object) => object.put(body, expect).await,
            Self::Item(item) => item.put(body, expect).await,
        };
        let written = written?;
        if let Some(version) = written {
            return Ok(Ok(Current {
                holder: ours.clone(),
                version,
            }));
        }
        Ok(match self.read().await? {
            Some(now) if now.holder == *ours => Ok(now),
            other => Err(other),
        })
    }

    async fn delete(&self, version: &str) -> Result<bool, Cause> {
        let deleted = match self {
            Self::Object(object) => object.delete(version).await,
            Self::Item(item) => item.delete(version).await,
        };
        Ok(deleted?)
    }

    pub(super) async fn holder(&self) -> Result<Option<Holder>, LockError> {
        match self.read().await {
            Ok(current) => Ok(current.map(|c| c.holder)),
            Err(cause) => Err(LockError::Unreadable {
                place: self.url(),
                cause,
            }),
        }
    }
}

/// A lease held by this process, renewed until dropped.
pub(super) struct Lease {
    place: Place,
    current: Arc<Mutex<Current>>,
    fence: Fence,
    heartbeat: tokio::task::JoinHandle<()>,
    notice: Notice,
}

impl Lease {
    /// Creates the lease, or takes it over from the holder `force_unlock` names.
    pub(super) async fn acquire(
        place: Place,
        what: &str,
        lease: Duration,
        force_unlock: Option<&str>,
        notice: Notice,
    ) -> Result<Lock, LockError> {
        let ours = Holder::new(what, lease);
        let mut expected = None;
        if let Some(given) = force_unlock {
            match place.read().await.map_err(|e| place.failed(e))? {
                // Only from a dead holder: a live one may have a change in flight.
                Some(current) if current.holder.id == given && !current.holder.expired() => {
                    return Err(LockError::Live {
                        place: place.url(),
                        given: given.to_owned(),
                        holder: current.holder.to_string(),
                    })
                }
                Some(current) if current.holder.id == given => expected = Some(current),
                Some(current) => {
                    return Err(LockError::WrongId {
                        place: place.url(),
                        given: given.to_owned(),
                        holder: current.holder.to_string(),
                    })
                }
                None => {}
            }
        }
        // A lease released between our write and our look is tried again.
        for _ in 0..3 {
            match place
                .swap(&ours, expected.as_ref())
                .await
                .map_err(|e| place.failed(e))?
            {
                Ok(current) => {
                    if let Some(old) = &expected {
                        notice(&format!(
                            "Took over the lock on {} from {} (lock {}).",
                            place.url(),
                            old.holder.holder,
                            old.holder.id
                        ));
                    }
                    return Ok(Self::start(place, current, lease, notice));
                }
                Err(Some(other)) => {
                    return Err(LockError::Held {
                        place: place.url(),
                        holder: other.holder.to_string(),
                    })
                }
                Err(None) => expected = None,
            }
        }
        Err(place.failed(Cause::KeptChanging))
    }

    fn start(place: Place, current: Current, lease: Duration, notice: Notice) -> Lock {
        let current = Arc::new(Mutex::new(current));
        let fence = Fence::default();
        let heartbeat = tokio::spawn(heartbeat(
            place.clone(),
            current.clone(),
            fence.clone(),
            lease,
            notice.clone(),
        ));
        Lock {
            held: Held::Lease(Self {
                place,
                current,
                fence,
                heartbeat,
                notice,
            }),
        }
    }

    /// Deletes the lease if it is still ours (the heartbeat may have renewed it just before it
    /// stopped, so a refused delete looks again).
    async fn release(&self) -> Result<(), Cause> {
        let ours = self.current.lock().expect("lease state").clone();
        let mut version = ours.version;
        for _ in 0..3 {
            if self.place.delete(&version).await? {
                return Ok(());
            }
            match self.place.read().await? {
                Some(now) if now.holder.id == ours.holder.id => version = now.version,
                _ => return Ok(()),
            }
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
        if self.fence.check().is_err() {
            return;
        }
        let released = crate::aws::block_on(self.release())
            .map_err(Cause::Io)
            .and_then(|released| released);
        if let Err(e) = released {
            let expires = self
                .current
                .lock()
                .expect("lease state")
                .holder
                .expires
                .clone();
            (self.notice)(&format!(
                "warning: cannot release the lock on {}: {e}; it stays until its lease expires at {expires}",
                self.place.url()
            ));
        }
    }
}

/// Renews the lease every third of its length. Losing it (another write won, or renewals kept
/// failing until the lease is about to run out) closes the fence: each renewal is bounded by a
/// third of the lease, so the fence closes before anyone may take an expired lease over.
async fn heartbeat(
    place: Place,
    current: Arc<Mutex<Current>>,
    fence: Fence,
    lease: Duration,
    notice: Notice,
) {
    let beat = lease / 3;
    loop {
        tokio::time::sleep(beat).await;
        let last = current.lock().expect("lease state").clone();
        let renewed = last.holder.renewed(lease);
        let renewal = tokio::time::timeout(beat, place.swap(&renewed, Some(&last)));
        let why = match renewal.await {
            Ok(Ok(Ok(next))) => {
                *current.lock().expect("lease state") = next;
                continue;
            }
            // Our own renewal, landed although its answer was lost.
            Ok(Ok(Err(Some(other)))) if other.holder.id == last.holder.id => {
                *current.lock().expect("lease state") = other;
                continue;
            }
            Ok(Ok(Err(Some(other)))) => format!("it is now held by {}", other.holder),
            Ok(Ok(Err(None))) => "it was removed".to_owned(),
            // Try again at the next beat while the lease lasts beyond it.
            _ if !last.holder.expires_within(beat) => continue,
            Ok(Err(e)) => format!(
                "its lease runs out at {} and could not be renewed: {e}",
                last.holder.expires
            ),
            Err(_) => format!(
                "its lease runs out at {} and renewing it timed out",
                last.holder.expires
            ),
        };
        let why = format!("lost the lock on {}: {why}", place.url());
        notice(&format!("\nerror: {why}; stopping before the next change"));
        fence.close(why);
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = Lock::file(&path, "standin run a.yaml").unwrap();
        let err = Lock::file(&path, "standin run b.yaml").err().unwrap();
        assert!(err.to_string().contains("standin run a.yaml"), "{err}");
        drop(held);
        Lock::file(&path, "standin run b.yaml").unwrap();
    }

    #[test]
    fn a_lock_taken_a_moment_ago_is_said_so_before_its_holder_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        // Between another process's lock and its write of its name.
        let taken = File::create(&path).unwrap();
        taken.try_lock().unwrap();
        let err = Lock::file(&path, "standin resume").err().unwrap();
        assert!(
            err.to_string()
                .ends_with("is locked by another standin that took it a moment ago (its name is not written yet); try again"),
            "{err}"
        );
    }

    #[test]
    fn a_holder_says_when_its_lease_expired_and_how_to_take_it_over() {
        let mut holder = Holder::new("standin run a.yaml", Duration::from_secs(60));
        let shown = holder.to_string();
        assert!(shown.contains("for standin run a.yaml (lock "), "{shown}");
        assert!(shown.contains("its lease runs until"), "{shown}");
        holder.expires = stamp(SystemTime::now() - Duration::from_secs(1));
        let shown = holder.to_string();
        assert!(
            shown.contains(&format!(
                "the holder is probably dead; take it over with `--force-unlock {}`",
                holder.id
            )),
            "{shown}"
        );
    }
}
