//! Panics inside a step's work, turned into errors.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

/// Runs `work`, turning a panic inside it into an error message: a bug in one step must not
/// skip the rollback stack or leave the journal unfinished.
pub(crate) async fn caught<F: Future>(work: F) -> Result<F::Output, String> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a step panicked".to_owned())
        })
}
