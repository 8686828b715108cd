//! Journals kept as files of a state directory: each record one write, then `fdatasync`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::open_no_follow;
use crate::engine::journal::{Fence, Journal, Store};
use crate::engine::record::{ReadError, Record};

/// A journal file.
pub struct FileStore {
    path: PathBuf,
}

impl Store for FileStore {
    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        let mut file = open_no_follow(&self.path, OpenOptions::new().read(true).append(true))?;
        drop_torn_tail(&mut file)?;
        crate::engine::crash::disk_full(&file)?;
        file.write_all(line)?;
        file.sync_data()
    }

    fn bytes(&self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        open_no_follow(&self.path, OpenOptions::new().read(true))?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// Creates the journal of a new run: its directory must not exist yet.
pub fn create(run_dir: &Path, fence: Fence) -> io::Result<Journal> {
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
    Ok(open(&path, fence).created())
}

/// The journal file at `path`, to read and append to (an earlier run's, for resume and
/// rollback). The file is opened for each append.
pub fn open(path: &Path, fence: Fence) -> Journal {
    Journal::new(
        path.display().to_string(),
        Box::new(FileStore {
            path: path.to_owned(),
        }),
        fence,
    )
}

/// Reads every record of a journal file, as [`crate::engine::record::parse`] does.
pub fn read(path: &Path) -> Result<Vec<Record>, ReadError> {
    open(path, Fence::default()).records()
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

/// Writes a new file at `path` (see [`crate::state::State::keep`]) whole or not at all: a
/// temporary file beside it, synced, then linked to its name only if nothing is there.
pub fn keep(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    if fs::symlink_metadata(dir)?.file_type().is_symlink() {
        return Err(io::Error::other(format!(
            "{} is a symbolic link; standin does not follow links inside its state (remove it)",
            dir.display()
        )));
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    match tmp.persist_noclobber(path) {
        Ok(_) => {
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.error),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AwsSettings;
    use crate::engine::record::{now, FORMAT};

    fn start() -> Record {
        Record::Start {
            format: FORMAT,
            run_id: "r1".into(),
            playbook: "p".into(),
            file: "p.yaml".into(),
            aws: AwsSettings::default(),
            accounts: Default::default(),
            source: None,
            steps: vec![],
            drill: None,
            by: None,
            principals: vec![],
            warnings: vec![],
            plan_sha256: None,
            at: now(),
        }
    }

    #[test]
    fn reads_back_what_it_wrote_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("runs").join("r1");
        let mut journal = create(&run, Fence::default()).unwrap();
        journal.append(&start()).unwrap();
        journal
            .append(&Record::Unchanged {
                step: "a".into(),
                took: None,
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

    #[test]
    fn a_closed_fence_stops_every_append() {
        let dir = tempfile::tempdir().unwrap();
        let fence = Fence::default();
        let mut journal = create(&dir.path().join("r"), fence.clone()).unwrap();
        journal.append(&start()).unwrap();
        fence.close("lost the lock on s3://b/lock: it was removed".into());
        let err = journal.append(&Record::Resumed { at: now() }).unwrap_err();
        assert!(err.to_string().contains("it was removed"), "{err}");
        // The process still holds the record; the file does not have it.
        assert_eq!(journal.records().unwrap().len(), 2);
        assert_eq!(read(Path::new(journal.location())).unwrap().len(), 1);
    }
}
