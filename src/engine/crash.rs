//! Test-only crash points: with the `crash-points` feature, `STANDIN_CRASH_AT=POINT:STEP` kills
//! the process with SIGKILL at that point of that step (POINT: `intent-written`, `applied`,
//! `step-done`, `undone`), so tests can stop a run at every step boundary exactly; with
//! `STANDIN_CRASH_AT=panic:STEP` the step's change panics as it starts, as a bug in it would;
//! with `STANDIN_CRASH_AT=disk-full:BYTES` a journal file stops taking writes (ENOSPC) once it
//! holds that many bytes, as on a full disk where a test cannot mount a small one. Without the
//! feature (release builds) the points compile to nothing.

/// Where a run can be killed: each leaves a different journal behind.
#[derive(Debug, Clone, Copy)]
pub enum Point {
    /// The intent (undo record) is on disk; the mutation has not started.
    IntentWritten,
    /// The mutation finished; its completion record is not written.
    Applied,
    /// The step's last record is on disk; the next step has not started.
    StepDone,
    /// An undo finished during rollback; its record is not written.
    Undone,
}

#[cfg(feature = "crash-points")]
pub fn at(point: Point, step: &str) {
    let name = match point {
        Point::IntentWritten => "intent-written",
        Point::Applied => "applied",
        Point::StepDone => "step-done",
        Point::Undone => "undone",
    };
    let wanted = std::env::var("STANDIN_CRASH_AT").unwrap_or_default();
    if wanted == format!("{name}:{step}") {
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// With `STANDIN_CRASH_AT=panic:STEP`, the step's change panics as it starts, as a bug in it
/// would.
#[cfg(feature = "crash-points")]
pub fn panic_at(step: &str) {
    if std::env::var("STANDIN_CRASH_AT").is_ok_and(|v| v == format!("panic:{step}")) {
        panic!("crash point: a bug in step `{step}`");
    }
}

/// With `STANDIN_CRASH_AT=disk-full:BYTES`, fails as a full disk does once `journal` holds
/// that many bytes.
#[cfg(feature = "crash-points")]
pub fn disk_full(journal: &std::fs::File) -> std::io::Result<()> {
    let wanted = std::env::var("STANDIN_CRASH_AT").unwrap_or_default();
    match wanted.strip_prefix("disk-full:").map(str::parse::<u64>) {
        Some(Ok(limit)) if journal.metadata()?.len() >= limit => {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        }
        _ => Ok(()),
    }
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn disk_full(_journal: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn panic_at(_step: &str) {}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn at(_point: Point, _step: &str) {}
