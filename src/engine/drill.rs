//! What a drill adds to a run: a snapshot of everything its steps touch, a soak that holds
//! the promoted state while the gates are checked again, and a verification that the rollback
//! put every resource back as the snapshot has it. The drill itself (run, soak, roll back,
//! verify, report) is put together by `commands::drill`; these are its engine parts, which see
//! steps only through the step traits.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use super::caught::caught;
use super::journal::Journal;
use super::plan::{self, PlanDoc};
use super::record::{now, Difference, Held, Record};
use super::{EngineError, DEFAULT_STEP_TIMEOUT};
use crate::playbook::Playbook;
use crate::steps::{Action, Ctx, Resource, StepError, Value};

/// Every resource a plan's steps change or keep, with what it holds before the first step
/// (a resource's first appearance in the plan is always read live; later ones are
/// predicted). Gates, actions without undo and notes are not state, so they are left out.
/// A resource is its account's: the same name in two accounts is held twice.
pub fn snapshot(plan: &PlanDoc) -> Vec<Held> {
    let mut seen = HashSet::new();
    plan.steps
        .iter()
        .flat_map(|s| s.changes.iter().map(move |c| (&s.account, c)))
        .filter(|(_, c)| !matches!(c.action, Action::Check | Action::Run))
        .filter(|(_, c)| !matches!(c.before, Some(Value::Note { .. })))
        .filter(|(account, c)| seen.insert(((*account).clone(), c.resource.clone())))
        .map(|(account, c)| Held {
            resource: c.resource.clone(),
            account: account.clone(),
            value: c.before.clone(),
        })
        .collect()
}

/// What a verification found.
pub struct Verification {
    /// Each resource of the snapshot that does not hold what it held, or that could not be
    /// read (its `after` says why).
    pub differences: Vec<Difference>,
    /// Resources of the snapshot that the playbook, planned again, does not name at all, so
    /// were not read: the playbook is not the one the drill ran (other `--var`s, an edit), or
    /// what a step plans from moved (a parameter gone from the prefix it copies).
    pub unread: Vec<Resource>,
}

/// Reads every resource of `snapshot` again (by planning the playbook anew, which changes
/// nothing) and returns those that differ. Versions do not count (a restore writes a new
/// version of a parameter); a secret compares by its fingerprint when the snapshot was taken
/// by this process, else by type and attributes only (its value is never kept). A resource
/// the fresh plan does not name was not read: it differs as "not read", never as absent.
pub async fn verify(pb: &Playbook, ctx: &Ctx, before: &[Held]) -> Verification {
    let fresh = plan::plan_all(pb, ctx, &BTreeSet::new()).await;
    if let Some(step) = fresh.steps.iter().find(|s| s.error.is_some()) {
        // Nothing can be compared: every resource counts as unverified.
        let why = Value::note(format!(
            "not read: planning step `{}` failed: {}",
            step.id,
            step.error.clone().unwrap_or_default()
        ));
        return Verification {
            differences: before
                .iter()
                .map(|h| Difference {
                    resource: h.resource.clone(),
                    account: h.account.clone(),
                    before: h.value.clone(),
                    after: Some(why.clone()),
                })
                .collect(),
            unread: Vec::new(),
        };
    }
    let now = snapshot(&fresh);
    let mut unread = Vec::new();
    let differences = before
        .iter()
        .filter_map(|held| {
            let Some(found) = now
                .iter()
                .find(|n| n.resource == held.resource && n.account == held.account)
            else {
                unread.push(held.resource.clone());
                return Some(Difference {
                    resource: held.resource.clone(),
                    account: held.account.clone(),
                    before: held.value.clone(),
                    after: Some(Value::note(
                        "not read: the playbook, planned again, does not name it",
                    )),
                });
            };
            let after = found.value.clone();
            let same = match (&held.value, &after) {
                (None, None) => true,
                (Some(a), Some(b)) => a.restored_as(b),
                _ => false,
            };
            (!same).then(|| Difference {
                resource: held.resource.clone(),
                account: held.account.clone(),
                before: held.value.clone(),
                after,
            })
        })
        .collect();
    Verification {
        differences,
        unread,
    }
}

/// How a soak ended.
pub enum Soaked {
    /// Held for the whole time; every check passed.
    Held,
    /// A gate failed: which, and how.
    Broken(String),
    /// A signal ended it early (every check so far passed).
    Stopped,
}

/// Holds the promoted state for `soak`, checking every gate of the playbook (each bounded by
/// its own `within`/`timeout`) every `every`, and journals how it went. A gate's check changes
/// nothing, so it is not journaled on its own.
pub async fn soak(
    pb: &Playbook,
    ctx: &Ctx,
    journal: &mut Journal,
    soak: Duration,
    every: Duration,
) -> Result<Soaked, EngineError> {
    let started = Instant::now();
    let gates: Vec<_> = pb.steps.iter().filter(|s| s.kind.gate).collect();
    let mut checks = 0;
    let mut outcome = Soaked::Held;
    if !soak.is_zero() {
        'soak: loop {
            for gate in &gates {
                let limit = gate.timeout.unwrap_or(DEFAULT_STEP_TIMEOUT);
                let check = async {
                    let ctx = &ctx.on(&gate.id, gate.account.as_deref())?;
                    let mut prepared = gate.step.plan(ctx).await?;
                    prepared.mutation.apply(ctx).await
                };
                let result = tokio::time::timeout(limit, caught(check)).await;
                let failure = match result {
                    Ok(Ok(Ok(()))) => None,
                    Ok(Ok(Err(StepError::Interrupted { .. }))) => {
                        outcome = Soaked::Stopped;
                        break 'soak;
                    }
                    Ok(Ok(Err(e))) => Some(e.to_string()),
                    Ok(Err(panic)) => Some(format!("internal error: {panic}")),
                    Err(_) => Some(format!(
                        "timed out after {}",
                        humantime::format_duration(limit)
                    )),
                };
                if let Some(why) = failure {
                    let at = humantime::format_duration(Duration::from_secs(
                        started.elapsed().as_secs(),
                    ));
                    outcome = Soaked::Broken(format!(
                        "gate `{}` failed {at} into the soak: {why}",
                        gate.id
                    ));
                    break 'soak;
                }
            }
            checks += 1;
            let left = soak.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            if ctx.waits.stop.sleep(every.min(left)).await.is_err() {
                outcome = Soaked::Stopped;
                break;
            }
        }
    }
    let record = Record::Soaked {
        secs: started.elapsed().as_secs_f64(),
        checks,
        broken: match &outcome {
            Soaked::Broken(why) => Some(why.clone()),
            Soaked::Stopped | Soaked::Held => None,
        },
        stopped: matches!(outcome, Soaked::Stopped),
        at: now(),
    };
    // A journal that stopped taking writes holds the record all the same: the drill goes on
    // to put everything back from what the process holds.
    let _ = journal.append(&record);
    Ok(outcome)
}

/// Journals a verification (held, as every record, when the journal stopped taking writes:
/// the drill's report is made from what the process holds, and says the journal is behind).
pub fn record_verified(journal: &mut Journal, checked: usize, differences: Vec<Difference>) {
    let _ = journal.append(&Record::Verified {
        checked,
        differences,
        at: now(),
    });
}
