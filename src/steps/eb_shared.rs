//! What the `eb.*` kinds share about an environment: finding it, refusing to touch one that is
//! not Ready, waiting until the operation a write started has ended and failing with Elastic
//! Beanstalk's own words when it reports errors ([`ended`]). The IAM actions the kinds need are
//! in `eb_needs.rs`, the writing of configuration options with an exact undo in
//! `eb_options.rs`.

use std::future::Future;
use std::time::{Duration, Instant};

use super::{limits, Ctx, FieldError, StepError};
use crate::aws::cli::Line;
use crate::aws::eb::{self, Accepted, Env};
use crate::aws::{AwsError, Poller};
use crate::config::AwsSettings;

/// The live environment named `name`, or a step error saying there is none.
pub(super) async fn environment(ctx: &Ctx, name: &str) -> Result<Env, StepError> {
    eb::describe(&ctx.aws.elasticbeanstalk, name)
        .await
        .map_err(StepError::aws(format!("environment {name}")))?
        .ok_or_else(|| {
            StepError::failed(
                format!("environment {name}"),
                "no such Elastic Beanstalk environment",
            )
        })
}

/// How long a change waits for an environment busy with another update (the change of a run
/// killed moments ago, or of a parallel step) to be Ready before writing to it. An
/// environment whose health is Severe (the incident's production, stuck) is not waited for.
const BUSY: Duration = Duration::from_secs(120);

/// The environment must be Ready to take a change: one that is updating, and not Severe, is
/// waited for up to [`BUSY`].
pub(super) async fn ready(ctx: &Ctx, name: &str) -> Result<(), StepError> {
    let env = environment(ctx, name).await?;
    if env.is_ready() || !busy(&env) {
        return require_ready(&env);
    }
    match tokio::time::timeout(BUSY, wait_ready(ctx, &[name])).await {
        Ok(waited) => waited.map(drop),
        Err(_) => require_ready(&environment(ctx, name).await?),
    }
}

/// Updating (or launching) towards Ready: not stuck with Severe health, as the incident's
/// production is.
pub(super) fn busy(env: &Env) -> bool {
    matches!(env.status.as_str(), "Updating" | "Launching") && !env.is_severe()
}

fn require_ready(env: &Env) -> Result<(), StepError> {
    if env.is_ready() {
        return Ok(());
    }
    Err(StepError::failed(
        format!("environment {}", env.name),
        format!(
            "is {}, not Ready: Elastic Beanstalk accepts no change until it is",
            env.describe()
        ),
    ))
}

/// Elastic Beanstalk's refusal of a write to an environment that is not Ready:
/// `InvalidParameterValue`, "Environment named X is in an invalid state for this operation.
/// Must be Ready." (docs/aws-behaviour.md).
fn refused_not_ready(e: &AwsError) -> bool {
    e.code.as_deref() == Some("InvalidParameterValue")
        && e.message.contains("invalid state for this operation")
}

/// Makes `write`, on the environments `names`, once they are Ready ([`ready`]). An operation
/// accepted a moment ago (the restart of a run killed an instant earlier, whose rollback
/// starts now) leaves an environment Ready until it starts: a write then is refused as not
/// Ready, and is made again once the environment is, for up to [`BUSY`].
pub(super) async fn when_ready<F, Fut>(
    ctx: &Ctx,
    names: &[&str],
    resource: &str,
    write: F,
) -> Result<Accepted, StepError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Accepted, AwsError>>,
{
    let started = Instant::now();
    let mut poller = Poller::new(&ctx.waits);
    loop {
        for name in names {
            ready(ctx, name).await?;
        }
        match write().await {
            Err(e) if refused_not_ready(&e) && started.elapsed() < BUSY => poller
                .wait(
                    e.operation,
                    &format!("{resource}: an operation it accepted"),
                )
                .await
                .map_err(StepError::aws(resource))?,
            written => return written.map_err(StepError::aws(resource)),
        }
    }
}

/// Waits until every environment in `names` is Ready (the step's timeout bounds the wait).
pub(super) async fn wait_ready(ctx: &Ctx, names: &[&str]) -> Result<Vec<Env>, StepError> {
    eb::wait(&ctx.aws.elasticbeanstalk, names, &ctx.waits, Env::is_ready)
        .await
        .map_err(StepError::aws(format!("environment {}", names.join(", "))))
}

/// Waits until the operation `op`, which a write made on `names`, has ended (the step's timeout
/// bounds the wait). `Err(Failed)` when Elastic Beanstalk reported it failed: a deployment that
/// failed is rolled back, the environment Ready again with the configuration it had.
pub(super) async fn ended(
    ctx: &Ctx,
    names: &[&str],
    op: &Accepted,
) -> Result<Result<Vec<Env>, Failed>, StepError> {
    let resource = format!("environment {}", names.join(", "));
    let ended = eb::until_ended(&ctx.aws.elasticbeanstalk, names, op, &ctx.waits)
        .await
        .map_err(StepError::aws(&resource))
        .map_err(StepError::after_change)?;
    let errors: Vec<&str> = ended
        .events
        .iter()
        .filter(|e| e.is_error())
        .map(|e| e.message.as_str())
        .collect();
    if errors.is_empty() {
        return Ok(Ok(ended.envs));
    }
    let now: Vec<String> = ended
        .envs
        .iter()
        .map(|e| format!("{} {}", e.name, e.describe()))
        .collect();
    Ok(Err(Failed {
        resource,
        words: errors.join(" "),
        now: now.join(", "),
    }))
}

/// An operation Elastic Beanstalk reported failed: its ERROR events' messages, in order, and
/// the environments' states once it ended.
#[derive(Debug)]
pub(super) struct Failed {
    resource: String,
    pub(super) words: String,
    now: String,
}

impl From<Failed> for StepError {
    fn from(f: Failed) -> Self {
        StepError::failed(
            f.resource,
            format!(
                "Elastic Beanstalk reports the change failed (now {}): {}",
                f.now, f.words
            ),
        )
    }
}

/// The aws CLI line that waits, as standin does, until environments are Ready after a change
/// made by hand (Elastic Beanstalk refuses the next change until then).
pub fn wait_by_hand(aws: &AwsSettings, environments: &[&str]) -> String {
    Line::new(aws, "elasticbeanstalk", "wait")
        .flag("environment-updated")
        .args("--environment-names", environments)
        .text()
}

/// An environment's name in the step's `field`, as Elastic Beanstalk takes it.
pub(super) fn check_environment(field: &str, name: &str) -> Result<(), FieldError> {
    limits::environment_name(name).map_err(|l| l.at(&[field]))
}

/// Checks the fields of a kind on `shop-staging` (`fields`: YAML, one per line).
#[cfg(test)]
pub(super) fn check_fields<K: super::Kind>(fields: &str) -> Result<(), FieldError> {
    let step: K = serde_yaml::from_str(&format!("environment: shop-staging\n{fields}")).unwrap();
    step.check()
}
