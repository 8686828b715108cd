//! Where runs and the lock live: a state directory (`.standin/` by default), or an S3 bucket and
//! prefix (`--state s3://BUCKET/PREFIX`) so that another machine can read `status`, `resume` or
//! `rollback` a run. Both hold `runs/<run-id>/journal.jsonl` and a lock that keeps two commands
//! from acting on the same state at once (see [`lock`]).

mod bucket;
mod dir;
mod lock;

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use self::dir::{create as create_journal_file, open as open_journal_file, read};
pub use self::lock::{Cause, Holder, Lock, LockError, Notice};
use self::lock::{Lease, Place};
use crate::aws::dynamodb::Item;
use crate::aws::s3::Bucket;
use crate::config::{AwsSettings, Location, LockTable};
use crate::engine::journal::{Fence, Journal};
use crate::engine::record::{ReadError, Record};
use crate::engine::view::RunView;
use crate::engine::{load_view, EngineError};

/// Why a state cannot be used; nothing was called or changed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{} is a symbolic link; standin does not follow links inside its state (remove it)", .0.display())]
    Linked(PathBuf),
    #[error("cannot use the state directory {}: {source}", path.display())]
    Unusable { path: PathBuf, source: io::Error },
    #[error("the state directory {} is not a directory; give --state a directory (or s3://BUCKET/PREFIX)", .0.display())]
    NotADirectory(PathBuf),
    #[error("the state directory {} is writable by every user (mode {mode:o}) without the sticky bit, so anyone could replace a journal or the lock; `chmod o-w {}` or choose another --state", path.display(), path.display())]
    WorldWritable { path: PathBuf, mode: u32 },
    #[error("--lock {0} locks a shared state (--state s3://BUCKET/PREFIX); a state directory has its own OS file lock")]
    TableWithoutBucket(LockTable),
}

/// Refuses a state directory that another user could tamper with, or that is not a
/// directory: journals decide what a rollback does, so only their owner may write there. A
/// directory that does not exist yet is created on the first run. Returns the directory with
/// its links resolved: the directory given may be a link (to another disk, say), but nothing
/// below it may be ([`open_no_follow`]).
fn check_dir(dir: &std::path::Path) -> Result<PathBuf, StateError> {
    use std::os::unix::fs::PermissionsExt;
    let root = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let runs = root.join("runs");
    if fs::symlink_metadata(&runs).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(StateError::Linked(runs));
    }
    for path in [root.clone(), runs] {
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(StateError::Unusable { path, source }),
        };
        if !meta.is_dir() {
            return Err(StateError::NotADirectory(path));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o002 != 0 && mode & 0o1000 == 0 {
            return Err(StateError::WorldWritable { path, mode });
        }
    }
    Ok(root)
}

/// Opens a file of the state without following a symbolic link at `path` (nor at its run
/// directory): a planted link must never make standin write its lock or journal lines over
/// another file, or read another file as a journal.
pub(crate) fn open_no_follow(
    path: &std::path::Path,
    options: &mut fs::OpenOptions,
) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let linked = |p: &std::path::Path| {
        io::Error::other(format!(
            "{} is a symbolic link; standin does not follow links inside its state (remove it)",
            p.display()
        ))
    };
    if let Some(parent) = path.parent().filter(|p| p.file_name().is_some()) {
        if fs::symlink_metadata(parent).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(linked(parent));
        }
    }
    options
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => linked(path),
            _ => e,
        })
}

/// Where the runs are.
enum Store {
    Dir(PathBuf),
    Bucket(Bucket),
}

/// Where the lock is.
enum Locking {
    /// An OS file lock on this file.
    File(PathBuf),
    /// A lease, with this length.
    Lease(Place, Duration),
}

/// A run's log beside its journal in a state directory (see [`crate::log`]); a state in S3
/// keeps none (`-v` prints the same lines, for a CI job's log).
const LOG: &str = "log.txt";

/// The state a command works on: its runs, and the lock.
pub struct State {
    location: Location,
    store: Store,
    locking: Locking,
    notice: Notice,
}

impl State {
    /// Builds the clients for a shared state (no network call happens here). They come from
    /// the standard chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...), not from a
    /// playbook's `aws:` block: the state outlives playbooks and may be in another account
    /// or region. `lease` is how long a shared lock stays valid without a heartbeat; `notice`
    /// is told what happens to the lock meanwhile.
    pub async fn open(
        location: Location,
        table: Option<&LockTable>,
        lease: Duration,
        notice: Notice,
    ) -> Result<Self, StateError> {
        let (store, locking) = match (&location, table) {
            (Location::Dir(dir), None) => {
                let root = check_dir(dir)?;
                let lock = Locking::File(root.join("lock"));
                (Store::Dir(root), lock)
            }
            (Location::Dir(_), Some(table)) => {
                return Err(StateError::TableWithoutBucket(table.clone()))
            }
            (Location::S3 { bucket, prefix }, table) => {
                let config = crate::aws::config(&AwsSettings::default()).await;
                let store = Bucket::new(&config, bucket, prefix);
                let place = match table {
                    None => Place::Object(store.object("lock")),
                    // The key names the state, as Terraform's `bucket/key` does.
                    Some(table) => Place::Item(Item::new(
                        &config,
                        &table.0,
                        &format!("{}/lock", location.to_string().trim_start_matches("s3://")),
                    )),
                };
                (Store::Bucket(store), Locking::Lease(place, lease))
            }
        };
        Ok(Self {
            location,
            store,
            locking,
            notice,
        })
    }

    /// The `--state` value, as the user would give it again.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Who runs a command, for journals and reports: `user@host`. Without `USER` or `LOGNAME`
    /// (cron, CI containers) the user is the process's own, by its uid.
    pub fn who() -> String {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(own_user)
            .unwrap_or_else(|| "unknown".into());
        format!("{user}@{}", lock::host())
    }

    /// A new run id: sortable by start time (to the millisecond, so that `--last` is the
    /// newest even of runs started within one second), unique enough for one state.
    pub fn new_run_id() -> String {
        let stamp = humantime::format_rfc3339_millis(SystemTime::now())
            .to_string()
            .replace(['-', ':'], "");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("{stamp}-{:04x}", (nanos ^ std::process::id()) & 0xffff)
    }

    /// Whether `name` is a run id standin makes (`20261125T024541.923Z-e4eb`, or without the
    /// milliseconds as before them): anything else under `runs/` (a stray directory, a key
    /// someone wrote) is not a run, and must never pass for the newest one.
    pub fn is_run_id(name: &str) -> bool {
        let Some((stamp, tag)) = name.rsplit_once('-') else {
            return false;
        };
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let time = stamp
            .strip_suffix('Z')
            .and_then(|t| t.split_once('T'))
            .is_some_and(|(date, time)| {
                digits(date, 8)
                    && match time.split_once('.') {
                        Some((hms, millis)) => digits(hms, 6) && digits(millis, 3),
                        None => digits(time, 6),
                    }
            });
        time && tag.len() == 4 && tag.bytes().all(|b| b.is_ascii_hexdigit())
    }

    fn journal_path(run_id: &str) -> String {
        format!("runs/{run_id}/journal.jsonl")
    }

    /// Every run id, oldest first.
    pub async fn run_ids(&self) -> io::Result<Vec<String>> {
        let mut ids: Vec<String> = match &self.store {
            Store::Dir(root) => match fs::read_dir(root.join("runs")) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().join("journal.jsonl").is_file())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|id| Self::is_run_id(id))
                    .collect(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            },
            Store::Bucket(bucket) => bucket
                .list("runs")
                .await
                .map_err(io::Error::other)?
                .into_iter()
                .filter_map(|key| Some(key.strip_suffix("/journal.jsonl")?.to_owned()))
                .filter(|id| Self::is_run_id(id))
                .collect(),
        };
        ids.sort();
        Ok(ids)
    }

    /// Creates the journal of a new run (it must not exist yet), to write under `lock`.
    pub async fn create_journal(&self, run_id: &str, lock: &Lock) -> Result<Journal, EngineError> {
        let path = Self::journal_path(run_id);
        let (created, location) = match &self.store {
            Store::Dir(root) => {
                let run_dir = root.join("runs").join(run_id);
                let location = run_dir.join("journal.jsonl").display().to_string();
                let created = dir::create(&run_dir, lock.fence());
                if created.is_ok() {
                    crate::log::to_file(&run_dir.join(LOG));
                }
                (created, location)
            }
            Store::Bucket(bucket) => {
                let object = bucket.object(&path);
                let location = object.url();
                (bucket::create(object, run_id, lock.fence()).await, location)
            }
        };
        created.map_err(|source| EngineError::Journal {
            path: location,
            source,
            changed: false,
        })
    }

    /// Opens a run's journal, to read it and append to it under `lock` (and its log, which
    /// a rollback or resume goes on).
    pub async fn open_journal(&self, run_id: &str, lock: &Lock) -> Result<Journal, EngineError> {
        let journal = self.journal(run_id, lock.fence()).await?;
        if let Store::Dir(root) = &self.store {
            if root.join(Self::journal_path(run_id)).is_file() {
                crate::log::to_file(&root.join("runs").join(run_id).join(LOG));
            }
        }
        Ok(journal)
    }

    async fn journal(&self, run_id: &str, fence: Fence) -> Result<Journal, ReadError> {
        let path = Self::journal_path(run_id);
        match &self.store {
            Store::Dir(root) => Ok(dir::open(&root.join(path), fence)),
            Store::Bucket(bucket) => bucket::open(bucket.object(&path), run_id, fence).await,
        }
    }

    /// Keeps a file beside a run's journal (`runs/<run-id>/NAME`: its plan document, an
    /// approval), never over one that is there: what is kept is evidence. `false` when the
    /// file exists already.
    pub async fn keep(&self, run_id: &str, name: &str, bytes: &[u8]) -> io::Result<bool> {
        let path = format!("runs/{run_id}/{name}");
        match &self.store {
            Store::Dir(root) => dir::keep(&root.join(path), bytes),
            Store::Bucket(bucket) => Ok(bucket
                .object(&path)
                .put(bytes.to_vec(), crate::aws::Expect::Absent)
                .await
                .map_err(io::Error::other)?
                .is_some()),
        }
    }

    /// A file kept beside a run's journal (see [`State::keep`]); `journal.jsonl` is the
    /// journal's bytes. `None` when there is none.
    pub async fn kept(&self, run_id: &str, name: &str) -> io::Result<Option<Vec<u8>>> {
        let path = format!("runs/{run_id}/{name}");
        match &self.store {
            Store::Dir(root) => {
                match open_no_follow(&root.join(path), fs::OpenOptions::new().read(true)) {
                    Ok(mut file) => {
                        let mut bytes = Vec::new();
                        io::Read::read_to_end(&mut file, &mut bytes)?;
                        Ok(Some(bytes))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Store::Bucket(bucket) => Ok(bucket
                .object(&path)
                .get()
                .await
                .map_err(io::Error::other)?
                .map(|(bytes, _)| bytes)),
        }
    }

    /// The names of the files kept in `runs/<run-id>/DIR/`, sorted.
    pub async fn kept_in(&self, run_id: &str, dir: &str) -> io::Result<Vec<String>> {
        let path = format!("runs/{run_id}/{dir}");
        let mut names: Vec<String> = match &self.store {
            Store::Dir(root) => match fs::read_dir(root.join(path)) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    // A file being kept is written under a hidden name first.
                    .filter(|name| !name.starts_with('.'))
                    .collect(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            },
            Store::Bucket(bucket) => bucket
                .list(&path)
                .await
                .map_err(io::Error::other)?
                .into_iter()
                .filter(|key| !key.contains('/'))
                .collect(),
        };
        names.sort();
        Ok(names)
    }

    /// What a run's journal says, read without the lock.
    pub async fn view(&self, run_id: &str) -> Result<RunView, EngineError> {
        load_view(&mut self.journal(run_id, Fence::default()).await?)
    }

    /// Every record of a run's journal, read without the lock.
    pub async fn records(&self, run_id: &str) -> Result<Vec<Record>, EngineError> {
        Ok(self.journal(run_id, Fence::default()).await?.records()?)
    }

    /// Takes the lock, or says who holds it. `what` describes the holder for others to read.
    /// `force_unlock` takes over a shared state's lock if it has that id (a human checked
    /// that its holder is dead).
    pub async fn lock(&self, what: &str, force_unlock: Option<&str>) -> Result<Lock, LockError> {
        match &self.locking {
            Locking::File(path) => match force_unlock {
                None => Lock::file(path, what),
                Some(_) => Err(LockError::NotShared),
            },
            Locking::Lease(place, lease) => {
                Lease::acquire(
                    place.clone(),
                    what,
                    *lease,
                    force_unlock,
                    self.notice.clone(),
                )
                .await
            }
        }
    }

    /// Who holds a shared state's lock now, if anyone (an OS file lock cannot be asked
    /// without taking it).
    pub async fn holder(&self) -> Result<Option<Holder>, LockError> {
        match &self.locking {
            Locking::File(_) => Ok(None),
            Locking::Lease(place, _) => place.holder().await,
        }
    }
}

/// The name of the process's real uid in `/etc/passwd`, else `uid N`.
fn own_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|l| {
        let mut fields = l.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    });
    Some(name.unwrap_or_else(|| format!("uid {uid}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_standin_makes_are_run_ids() {
        assert!(State::is_run_id(&State::new_run_id()));
        assert!(State::is_run_id("20261125T024541Z-e4eb"));
        for stray in [
            "zzz",
            "a%2Fb",
            "20261125T024541.923Z-e4eb/x",
            "20261125T024541.923Z",
            "2026112T024541Z-e4eb",
            "20261125T024541.923Z-e4eg",
        ] {
            assert!(!State::is_run_id(stray), "{stray}");
        }
    }

    #[test]
    fn run_ids_sort_by_time() {
        let a = State::new_run_id();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(State::new_run_id() > a);
    }

    #[test]
    fn locations_parse_and_print_as_given() {
        for text in [".standin", "/tmp/x", "s3://b", "s3://b/team", "s3://b/a/b"] {
            assert_eq!(Location::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Location::parse("s3://b/team/").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                prefix: "team".into()
            }
        );
        assert!(Location::parse("s3://").is_err());
        assert!(Location::parse("s3:///x").is_err());
        assert_eq!(
            LockTable::parse("dynamodb://locks").unwrap(),
            LockTable("locks".into())
        );
        assert!(LockTable::parse("locks").is_err());
        assert!(LockTable::parse("dynamodb://").is_err());
        // A scheme's case does not matter; another scheme is not a directory.
        assert_eq!(
            Location::parse("S3://b/team").unwrap(),
            Location::parse("s3://b/team").unwrap()
        );
        assert_eq!(
            LockTable::parse("DynamoDB://locks").unwrap(),
            LockTable("locks".into())
        );
        assert!(Location::parse("gs://b/team").is_err());
        assert_eq!(
            Location::parse("./gs://b").unwrap(),
            Location::Dir("./gs://b".into())
        );
    }
}
