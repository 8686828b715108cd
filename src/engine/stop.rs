//! Ctrl-C during a run: the first asks to stop after the current step (the engine then offers a
//! rollback), the second aborts the step in flight, leaving it in doubt in the journal, which
//! `resume` and `rollback` know how to settle. The journal stays consistent either way: records
//! are written synchronously, so an abort never cuts one in half.

use tokio::sync::watch;

/// How many times the operator asked to stop; cheap to clone and check.
#[derive(Clone)]
pub struct Stop {
    requests: watch::Receiver<u8>,
}

impl Default for Stop {
    /// A stop that is never asked for (tests, commands that act at once).
    fn default() -> Self {
        Self {
            requests: watch::channel(0).1,
        }
    }
}

impl Stop {
    /// Counts Ctrl-C from now on, instead of the default of dying at once; `on_first` is said
    /// once, on the first.
    pub fn on_ctrl_c(on_first: &'static str) -> Self {
        let (tx, requests) = watch::channel(0u8);
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                let count = (*tx.borrow()).saturating_add(1);
                if count == 1 {
                    eprintln!("\n{on_first}");
                }
                if tx.send(count).is_err() {
                    break;
                }
            }
        });
        Self { requests }
    }

    /// Whether a stop was asked for (one Ctrl-C or more).
    pub fn requested(&self) -> bool {
        *self.requests.borrow() >= 1
    }

    /// Resolves on the second Ctrl-C; never for a default stop.
    pub async fn aborted(&self) {
        let mut requests = self.requests.clone();
        if requests.wait_for(|n| *n >= 2).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
