//! Files a user hands standin (playbooks, saved plans): only regular files, and never more
//! than a cap, so `/dev/zero`, a FIFO or a huge file is refused in milliseconds instead of
//! hanging or exhausting memory.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The largest playbook standin reads. A real playbook is a few kilobytes.
pub const PLAYBOOK_CAP: u64 = 1024 * 1024;
/// The largest saved plan standin reads (a plan of thousands of parameters is a few MB).
pub const PLAN_CAP: u64 = 64 * 1024 * 1024;

/// Why a file handed to standin cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}, not a regular file")]
    NotAFile(&'static str),
    #[error("larger than {}, the most standin reads; is this the right file?", size(*.0))]
    TooLarge(u64),
    #[error("not UTF-8 text (invalid byte at offset {0})")]
    NotText(usize),
}

/// Reads `path` as UTF-8 text: a regular file (or a link to one) of at most `cap` bytes.
pub fn read_text(path: &Path, cap: u64) -> Result<String, InputError> {
    // Opening a FIFO for reading blocks until a writer comes: never block on open.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    check_regular(&file)?;
    let mut bytes = Vec::new();
    (&mut file).take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(InputError::TooLarge(cap));
    }
    String::from_utf8(bytes).map_err(|e| InputError::NotText(e.utf8_error().valid_up_to()))
}

fn check_regular(file: &File) -> Result<(), InputError> {
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(InputError::NotAFile(what))
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_text(Path::new("/dev/zero"), 10)
            .unwrap_err()
            .to_string()
            .contains("a device"));
        assert!(read_text(dir.path(), 10)
            .unwrap_err()
            .to_string()
            .contains("a directory"));
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read_text(&fifo, 10)
            .unwrap_err()
            .to_string()
            .contains("FIFO"));
        let big = dir.path().join("big");
        std::fs::write(&big, "x".repeat(11)).unwrap();
        assert!(read_text(&big, 10)
            .unwrap_err()
            .to_string()
            .contains("larger than 10 bytes"));
        std::fs::write(&big, "x".repeat(10)).unwrap();
        assert_eq!(read_text(&big, 10).unwrap(), "x".repeat(10));
    }
}
