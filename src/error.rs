//! The top-level error: every failure a command can end with, and the exit code it means.

use crate::engine::state::LockError;
use crate::engine::EngineError;
use crate::playbook::Invalid;

/// Exit codes, documented in `standin --help`.
pub mod exit {
    /// Everything asked for was done.
    pub const SUCCESS: u8 = 0;
    /// A step failed and everything it and earlier steps changed was rolled back (or nothing
    /// had changed yet).
    pub const ROLLED_BACK: u8 = 1;
    /// Invalid input (playbook, arguments, saved plan, journal, state directory): nothing was
    /// called.
    pub const INVALID: u8 = 2;
    /// A step failed and the rollback is incomplete: a human must act, as the output says.
    pub const HUMAN_NEEDED: u8 = 3;
    /// Did not start: another run holds the lock, the state cannot be locked or journaled, the
    /// confirmation was not given, a guard refused the plan, the saved plan is stale, or the
    /// run cannot be resumed.
    pub const NOT_STARTED: u8 = 4;
    /// Stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) with changes in place: `resume` or
    /// `rollback` next.
    pub const STOPPED: u8 = 5;

    /// The exit code for how a run or rollback ended.
    pub fn of(outcome: &crate::engine::journal::Outcome) -> u8 {
        use crate::engine::journal::Outcome;
        match outcome {
            Outcome::Succeeded => SUCCESS,
            Outcome::RolledBack => ROLLED_BACK,
            Outcome::RollbackIncomplete => HUMAN_NEEDED,
            Outcome::Stopped => STOPPED,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid playbook\n{0}")]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("not confirmed: nothing was changed")]
    Declined,
    #[error("refusing to act without confirmation: stdin is not a terminal; pass `--yes` to confirm in automation\nnothing was changed")]
    NoConfirmation,
    #[error("cannot plan step `{step}`: {message}\nnothing was changed")]
    Plan { step: String, message: String },
    #[error("refused before any change:\n{}\nnothing was changed; fix the playbook or the world, or overrule a built-in guard with `--force-guard NAME`", lines(.0))]
    Refused(Vec<String>),
    #[error("the saved plan is stale; nothing was changed:\n{}\nmake a new plan (`standin plan -o FILE`), review it, and run that", lines(.0))]
    Stale(Vec<String>),
    #[error("cannot resume: {}\nnothing was changed", lines(.0))]
    NotResumable(Vec<String>),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn lines(items: &[String]) -> String {
    items
        .iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) | Self::Usage(_) | Self::Lock(LockError::NotShared) => exit::INVALID,
            Self::Engine(EngineError::Read(_)) => exit::INVALID,
            Self::Lock(
                LockError::Held { .. } | LockError::WrongId { .. } | LockError::Live { .. },
            )
            | Self::Declined
            | Self::NoConfirmation
            | Self::Refused(_)
            | Self::Stale(_)
            | Self::NotResumable(_) => exit::NOT_STARTED,
            // Nothing can have changed before the state is locked.
            Self::Lock(LockError::Failed { .. }) => exit::NOT_STARTED,
            Self::Plan { .. } => exit::ROLLED_BACK,
            // The journal could not be written mid-run: what happened is uncertain, unless
            // no step had journaled an intent yet.
            Self::Engine(EngineError::Journal { changed: true, .. }) => exit::HUMAN_NEEDED,
            Self::Engine(EngineError::Journal { changed: false, .. }) => exit::NOT_STARTED,
        }
    }
}
