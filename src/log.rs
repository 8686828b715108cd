//! The verbose log: what `-v` adds on stderr (each AWS call with its duration), also written,
//! with a timestamp, to the run's log file next to its journal, whatever the verbosity. It
//! says which operations ran, how they answered and how long they took; never a request's
//! or a response's content, so no value (and no secret) can reach it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

static VERBOSE: AtomicBool = AtomicBool::new(false);
static FILE: Mutex<Option<File>> = Mutex::new(None);

/// `-v`: log lines go to stderr too.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Appends the log to `path` from now on (a run's `log.txt`). Refuses to follow a symlink
/// planted there, as the journal does. A log that cannot be opened is said on stderr and
/// stops nothing: the journal, not the log, is what a run needs.
pub fn to_file(path: &Path) {
    let opened = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    match opened {
        Ok(file) => *FILE.lock().unwrap_or_else(|e| e.into_inner()) = Some(file),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "warning: no log file {}: {e}",
                path.display()
            );
        }
    }
}

/// One line of the log; control characters are dropped, so a line stays one line.
pub fn line(text: &str) {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    if verbose() {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
    if let Some(file) = FILE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let at = humantime::format_rfc3339_millis(SystemTime::now());
        let _ = writeln!(file, "{at} {text}");
    }
}
