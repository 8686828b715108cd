//! Stopping on request: Ctrl-C (SIGINT), SIGTERM (a CI cancel, `systemctl stop`) and SIGHUP
//! (a dropped SSH session) all count the same way. The first asks to stop at the next safe
//! point: between steps, or inside any wait (a pause, a gate, a DNS or environment wait),
//! which then ends within moments. The second aborts the step in flight, leaving it in doubt
//! in the journal, which `resume` and `rollback` know how to settle. The journal stays
//! consistent either way: records are written synchronously, so no stop cuts one in half.
//! Once a rollback has started, signals are only reported: it finishes (SIGKILL, which cannot
//! be caught, still ends it, and `standin rollback` goes on from the journal).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::watch;

/// How many stops were asked for, and by which signal first; cheap to clone and check.
#[derive(Clone)]
pub struct Stop {
    requests: watch::Receiver<u8>,
    first: Arc<OnceLock<&'static str>>,
    /// Set (for every clone) once a rollback started: signals are then only reported.
    rolling_back: Arc<AtomicBool>,
    /// Whether a request ends this stop's waits (not a rollback's).
    ends_waits: bool,
    /// A member of a parallel group: true once another member failed, which ends this one's
    /// waits (a gate need not wait out its time for a run that rolls back) and keeps it from
    /// starting its change.
    group: Option<watch::Receiver<bool>>,
}

impl Default for Stop {
    /// A stop that is never asked for (tests, commands that act at once).
    fn default() -> Self {
        Self {
            requests: watch::channel(0).1,
            first: Arc::new(OnceLock::new()),
            rolling_back: Arc::new(AtomicBool::new(false)),
            ends_waits: true,
            group: None,
        }
    }
}

/// When a signal came, for what is said about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// The first signal, while running: the run stops at the next safe point.
    First,
    /// Any signal once a rollback started: it goes on.
    InRollback,
}

/// How something that settles (a DNS change, an environment update, a command) is waited for:
/// the longest pause between polls, the stop that ends the wait early, and where the wait
/// says what it is waiting for.
#[derive(Clone)]
pub struct Waits {
    pub every: Duration,
    pub stop: Stop,
    pub told: Told,
}

/// Hears what a wait waits for and how long it has waited so far (the progress display);
/// hears nothing by default.
#[derive(Clone, Default)]
pub struct Told(Option<Arc<Hears>>);

/// What a [`Told`] calls: what is waited for, and for how long so far.
type Hears = dyn Fn(&str, Duration) + Send + Sync;

impl Told {
    pub fn new(hear: impl Fn(&str, Duration) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(hear)))
    }

    /// `what` is waited for, since `waited` ago, e.g. "Route 53 change PENDING".
    pub fn tell(&self, what: &str, waited: Duration) {
        if let Some(hear) = &self.0 {
            hear(what, waited);
        }
    }
}

/// A wait ended because a stop was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl Stop {
    /// Counts SIGINT, SIGTERM and SIGHUP from now on, instead of the default of dying at once;
    /// `said` is told the first signal's name, and each one's during a rollback, so that the
    /// operator knows it was seen and what it does.
    pub fn on_signals(said: impl Fn(&'static str, Heard) + Send + 'static) -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let (tx, requests) = watch::channel(0u8);
        let first = Arc::new(OnceLock::new());
        let named = first.clone();
        let rolling_back = Arc::new(AtomicBool::new(false));
        let in_rollback = rolling_back.clone();
        let streams = [
            (SignalKind::interrupt(), "SIGINT (Ctrl-C)"),
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
        ]
        .map(|(kind, name)| (signal(kind).ok(), name));
        tokio::spawn(async move {
            let [(mut int, i), (mut term, t), (mut hup, h)] = streams;
            loop {
                let name = tokio::select! {
                    Some(()) = recv(&mut int) => i,
                    Some(()) = recv(&mut term) => t,
                    Some(()) = recv(&mut hup) => h,
                    else => break,
                };
                let count = (*tx.borrow()).saturating_add(1);
                if count == 1 {
                    let _ = named.set(name);
                }
                if in_rollback.load(Ordering::SeqCst) {
                    said(name, Heard::InRollback);
                } else if count == 1 {
                    said(name, Heard::First);
                }
                if tx.send(count).is_err() {
                    break;
                }
            }
        });
        Self {
            requests,
            first,
            rolling_back,
            ends_waits: true,
            group: None,
        }
    }

    /// Whether a stop was asked for (one signal or more), or another member of this one's
    /// parallel group failed.
    pub fn requested(&self) -> bool {
        *self.requests.borrow() >= 1 || self.group.as_ref().is_some_and(|g| *g.borrow())
    }

    /// The same stop, for a member of a parallel group whose `failed` turns true when another
    /// member fails.
    #[must_use]
    pub fn in_group(&self, failed: watch::Receiver<bool>) -> Self {
        Self {
            group: Some(failed),
            ..self.clone()
        }
    }

    /// The signal that asked first, e.g. `SIGTERM`; `None` until one did.
    pub fn first_signal(&self) -> Option<&'static str> {
        self.first.get().copied()
    }

    /// Whether the first stop came from the operator's own terminal (Ctrl-C), who may be
    /// asked what to do next.
    pub fn from_terminal(&self) -> bool {
        self.first_signal().is_some_and(|s| s.starts_with("SIGINT"))
    }

    /// Resolves on the second request; never for a default stop.
    pub async fn aborted(&self) {
        self.reaches(2).await;
    }

    /// The same stop, for a rollback, which from now on finishes whatever signals come: its
    /// waits are never ended by one, and each signal is reported as not stopping it.
    #[must_use]
    pub fn for_rollback(&self) -> Self {
        self.rolling_back.store(true, Ordering::SeqCst);
        Self {
            ends_waits: false,
            ..self.clone()
        }
    }

    /// Sleeps `duration`, unless a stop ends the wait first.
    pub async fn sleep(&self, duration: Duration) -> Result<(), Interrupted> {
        self.until(tokio::time::sleep(duration)).await
    }

    /// Waits for `work`, unless a stop ends the wait first (`work` is then dropped: use it
    /// only for what may be abandoned, such as a poll or a probe, never for a change).
    pub async fn until<F: std::future::Future>(&self, work: F) -> Result<F::Output, Interrupted> {
        tokio::select! {
            out = work => Ok(out),
            () = self.reaches(1), if self.ends_waits => Err(Interrupted),
            () = group_failed(self.group.clone()), if self.ends_waits => Err(Interrupted),
        }
    }

    async fn reaches(&self, count: u8) {
        let mut requests = self.requests.clone();
        if requests.wait_for(|n| *n >= count).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Resolves once another member of the group failed; never outside a group.
async fn group_failed(group: Option<watch::Receiver<bool>>) {
    if let Some(mut failed) = group {
        if failed.wait_for(|f| *f).await.is_ok() {
            return;
        }
    }
    std::future::pending::<()>().await;
}

async fn recv(stream: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match stream {
        Some(s) => s.recv().await,
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_default_stop_never_interrupts() {
        let stop = Stop::default();
        assert!(!stop.requested());
        assert_eq!(stop.sleep(Duration::from_millis(5)).await, Ok(()));
    }

    #[tokio::test]
    async fn a_member_s_waits_end_when_another_member_fails() {
        let (failed, group) = watch::channel(false);
        let member = Stop::default().in_group(group);
        assert!(!member.requested());
        assert_eq!(member.sleep(Duration::from_millis(5)).await, Ok(()));
        failed.send(true).unwrap();
        assert!(member.requested());
        let started = std::time::Instant::now();
        assert_eq!(
            member.sleep(Duration::from_secs(30)).await,
            Err(Interrupted)
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn waits_end_at_the_first_request_and_a_rollback_s_never() {
        let (tx, requests) = watch::channel(0u8);
        let stop = Stop {
            requests,
            ..Stop::default()
        };
        tx.send(1).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(stop.sleep(Duration::from_secs(30)).await, Err(Interrupted));
        assert!(started.elapsed() < Duration::from_secs(1));
        let rollback = stop.for_rollback();
        assert!(
            stop.rolling_back.load(Ordering::SeqCst),
            "every clone knows"
        );
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        assert_eq!(rollback.sleep(Duration::from_millis(50)).await, Ok(()));
    }
}
