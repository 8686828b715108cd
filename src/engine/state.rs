//! The state directory (`.standin/` by default): one folder per run under `runs/`, and the lock
//! that keeps two runs from acting on the same state at once.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::journal::now;

/// Where runs and the lock live.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another standin holds the lock on {path}: {holder}")]
    Held { path: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Held while a run or rollback acts; released when dropped or when the process dies (an OS
/// file lock, so a killed holder never leaves a stale lock behind).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }

    pub fn journal(&self, run_id: &str) -> PathBuf {
        self.runs().join(run_id).join("journal.jsonl")
    }

    /// A new run id: sortable by start time, unique enough for one state dir.
    pub fn new_run_id() -> String {
        let stamp = humantime::format_rfc3339_seconds(SystemTime::now())
            .to_string()
            .replace(['-', ':'], "");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("{stamp}-{:04x}", (nanos ^ std::process::id()) & 0xffff)
    }

    /// Every run id, oldest first.
    pub fn run_ids(&self) -> io::Result<Vec<String>> {
        let mut ids = match fs::read_dir(self.runs()) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("journal.jsonl").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        ids.sort();
        Ok(ids)
    }

    /// Takes the lock, or says who holds it. `what` describes the holder for others to read.
    pub fn lock(&self, what: &str) -> Result<Lock, LockError> {
        let path = self.root.join("lock");
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(&self.root).map_err(io_err)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                file.read_to_string(&mut holder).map_err(io_err)?;
                let holder = holder.trim();
                return Err(LockError::Held {
                    path,
                    holder: if holder.is_empty() {
                        "holder unknown".into()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
        let host = fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "unknown host".into());
        let line = format!(
            "pid {} on {host} since {}: {what}\n",
            std::process::id(),
            now()
        );
        file.set_len(0).map_err(io_err)?;
        file.rewind().map_err(io_err)?;
        file.write_all(line.as_bytes()).map_err(io_err)?;
        file.sync_data().map_err(io_err)?;
        Ok(Lock { _file: file })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let held = state.lock("standin run a.yaml").unwrap();
        let err = state.lock("standin run b.yaml").unwrap_err();
        assert!(err.to_string().contains("standin run a.yaml"), "{err}");
        drop(held);
        state.lock("standin run b.yaml").unwrap();
    }

    #[test]
    fn run_ids_sort_by_time() {
        let a = StateDir::new_run_id();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(StateDir::new_run_id() > a);
    }
}
