//! What the `eb.*` kinds share: finding an environment, refusing to touch one that is not
//! Ready, and waiting until environments settle.

use super::{Ctx, StepError};
use crate::aws::cli::Line;
use crate::aws::eb::{self, Env};
use crate::aws::AwsSettings;
use crate::iam::{arn, Grant, Needs};

/// Reading environments (and their settings), plus `writes` on them when running. Elastic
/// Beanstalk acts on its underlying resources (Auto Scaling, EC2, CloudFormation) with the
/// caller's permissions too; docs/playbook.md says what to add for writes.
pub(super) fn needs(environments: &[&str], writes: &'static [&'static str]) -> Needs {
    let arns: Vec<String> = environments.iter().map(|e| arn::environment(e)).collect();
    Needs {
        plan: vec![
            Grant::any(&["elasticbeanstalk:DescribeEnvironments"]),
            Grant::new(
                &["elasticbeanstalk:DescribeConfigurationSettings"],
                ["*".to_owned()],
            ),
        ],
        run: if writes.is_empty() {
            Vec::new()
        } else {
            vec![Grant::new(writes, arns)]
        },
    }
}

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

/// The aws CLI line that waits, as standin does, until environments are Ready after a change
/// made by hand (Elastic Beanstalk refuses the next change until then).
pub fn wait_by_hand(aws: &AwsSettings, environments: &[&str]) -> String {
    Line::new(aws, "elasticbeanstalk", "wait")
        .flag("environment-updated")
        .args("--environment-names", environments)
        .text()
}
