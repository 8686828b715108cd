//! What the `eb.*` kinds share: finding an environment, refusing to touch one that is not
//! Ready, and waiting until environments settle.

use super::{Ctx, StepError};
use crate::aws::eb::{self, Env};

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

/// Fails unless the environment can take a change now.
pub(super) fn require_ready(env: &Env) -> Result<(), StepError> {
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

/// Waits until every environment in `names` is Ready (the step's timeout bounds the wait).
pub(super) async fn wait_ready(ctx: &Ctx, names: &[&str]) -> Result<Vec<Env>, StepError> {
    eb::wait(&ctx.aws.elasticbeanstalk, names, ctx.poll, Env::is_ready)
        .await
        .map_err(StepError::aws(format!("environment {}", names.join(", "))))
}
