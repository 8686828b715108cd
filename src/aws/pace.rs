//! Many independent calls at once, within AWS's rate limits: a window of calls in flight that
//! grows by one after a window's worth of successes and halves when AWS throttles (AIMD, as TCP
//! and the SDKs' adaptive retry mode do). A throttled call is made again after a backoff, so a
//! burst of writes slows down instead of failing; any other error stops new calls, lets those
//! in flight finish, and is returned with everything that did succeed.
//!
//! Parameter Store is why: `PutParameter` is throttled hard on real accounts, and a
//! thousand writes one at a time take minutes at real latencies.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{AwsError, Kind};

/// Calls in flight at first, and at most.
const START: usize = 4;
pub const MAX: usize = 16;
/// A call throttled this many times in a row fails with the throttling error (the SDK has
/// already retried each attempt).
const ATTEMPTS: u32 = 8;
/// Backoff after a throttle: doubles per attempt from this, capped at [`BACKOFF_CAP`].
const BACKOFF: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// What [`all`] got: each item's answer where its call succeeded, and the first error (with
/// the item's index) that stopped it, if any.
pub struct Done<T> {
    pub answers: Vec<Option<T>>,
    pub error: Option<(usize, AwsError)>,
}

impl<T> Done<T> {
    /// Every answer, in order, or the error that stopped the calls (reads: a partial answer is
    /// no answer).
    pub fn all_or_error(self) -> Result<Vec<T>, AwsError> {
        match self.error {
            Some((_, e)) => Err(e),
            None => Ok(self.answers.into_iter().flatten().collect()),
        }
    }
}

type Call<'a, T> = Pin<Box<dyn Future<Output = (usize, u32, Result<T, AwsError>)> + Send + 'a>>;

/// Calls `call(i)` for every `i` in `0..count`, at most `max` at once (adaptively fewer when
/// throttled). `call` may be called again for the same `i` after a throttle, so it must be
/// safe to repeat (a throttled request was not performed).
pub async fn all<'a, T, F, Fut>(count: usize, max: usize, call: F) -> Done<T>
where
    F: Fn(usize) -> Fut + Send + Sync + 'a,
    Fut: Future<Output = Result<T, AwsError>> + Send + 'a,
    T: Send + 'a,
{
    let call = &call;
    let mut answers: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let mut error = None;
    let mut window = START.min(max).max(1);
    let mut since_change = 0;
    let mut next = 0;
    let mut flying: FuturesUnordered<Call<'_, T>> = FuturesUnordered::new();
    let launch = |i: usize, attempt: u32, wait: Duration| -> Call<'_, T> {
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            (i, attempt, call(i).await)
        })
    };
    loop {
        while error.is_none() && next < count && flying.len() < window {
            flying.push(launch(next, 0, Duration::ZERO));
            next += 1;
        }
        let Some((i, attempt, result)) = flying.next().await else {
            break;
        };
        match result {
            Ok(answer) => {
                answers[i] = Some(answer);
                since_change += 1;
                if since_change >= window && window < max {
                    window += 1;
                    since_change = 0;
                }
            }
            Err(e) if e.kind == Kind::Throttled && attempt + 1 < ATTEMPTS && error.is_none() => {
                window = (window / 2).max(1);
                since_change = 0;
                flying.push(launch(i, attempt + 1, backoff(i, attempt)));
            }
            Err(e) => {
                if error.is_none() {
                    error = Some((i, e));
                }
            }
        }
    }
    Done { answers, error }
}

/// Exponential backoff with a little jitter (from the item's index: no RNG needed to keep
/// retries of one burst from landing together).
fn backoff(i: usize, attempt: u32) -> Duration {
    let base = BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(BACKOFF_CAP);
    let jitter = Duration::from_millis((i as u64 * 37) % 100);
    base + jitter
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    fn throttled() -> AwsError {
        AwsError::new("SSM.PutParameter", "ThrottlingException", "Rate exceeded")
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_calls_are_made_again_and_the_window_shrinks() {
        let calls = Mutex::new(Vec::new());
        let flying = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let done = all(40, MAX, |i| {
            let attempt = {
                let mut calls = calls.lock().unwrap();
                calls.push(i);
                calls.iter().filter(|&&c| c == i).count()
            };
            let (flying, peak) = (&flying, &peak);
            async move {
                let now = flying.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                flying.fetch_sub(1, Ordering::SeqCst);
                // Every third item is throttled twice before it goes through.
                if i % 3 == 0 && attempt <= 2 {
                    Err(throttled())
                } else {
                    Ok(i * 2)
                }
            }
        })
        .await;
        assert!(done.error.is_none());
        let answers: Vec<usize> = done.answers.into_iter().map(Option::unwrap).collect();
        assert_eq!(answers, (0..40).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(calls.lock().unwrap().len(), 40 + 14 * 2);
        assert!(peak.load(Ordering::SeqCst) <= MAX);
        assert!(peak.load(Ordering::SeqCst) > 1, "calls overlap");
    }

    #[tokio::test(start_paused = true)]
    async fn another_error_stops_new_calls_and_keeps_what_succeeded() {
        let started = AtomicUsize::new(0);
        let done = all(100, 4, |i| {
            started.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                if i == 5 {
                    Err(AwsError::new(
                        "SSM.PutParameter",
                        "AccessDeniedException",
                        "no",
                    ))
                } else {
                    Ok(i)
                }
            }
        })
        .await;
        let (index, error) = done.error.expect("the error");
        assert_eq!(index, 5);
        assert_eq!(error.code.as_deref(), Some("AccessDeniedException"));
        let started = started.load(Ordering::SeqCst);
        assert!(
            started < 12,
            "stopped launching soon after the error: {started}"
        );
        assert_eq!(done.answers.iter().flatten().count(), started - 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_throttled_every_time_fails_with_the_throttle() {
        let done = all(1, MAX, |_| async { Err::<(), _>(throttled()) }).await;
        let (_, error) = done.error.expect("gives up");
        assert_eq!(error.kind, Kind::Throttled);
    }
}
