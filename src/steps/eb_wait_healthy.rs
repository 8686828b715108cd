//! `eb.wait-healthy`: a gate. Waits until an environment is Ready and Green, and fails the run
//! (so the rollback stack runs) if it is not within the time given.

use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::eb_needs;
use super::eb_shared::{self, environment};
use super::{
    duration, irreversible, one_line, Act, Action, Ctx, FieldError, Kind, NoUndo, Prepared,
    Resource, Step, StepError,
};
use crate::aws::eb::{self, Env};

/// Fields of an `eb.wait-healthy` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitHealthy {
    /// The environment's name.
    #[schemars(schema_with = "super::limits::environment_schema")]
    environment: String,
    /// How long to wait.
    #[serde(default = "default_within", deserialize_with = "duration::deserialize")]
    #[schemars(schema_with = "duration::schema")]
    within: Duration,
}

fn default_within() -> Duration {
    Duration::from_secs(600)
}

fn healthy(env: &Env) -> bool {
    env.is_ready() && env.health == "Green"
}

impl Kind for WaitHealthy {
    const NAME: &'static str = "eb.wait-healthy";
    const SUMMARY: &'static str =
        "gate: wait until an Elastic Beanstalk environment is Ready and Green, or fail the run";
    const EXAMPLE: &'static str = r#"
environment: shop-staging
within: 5m
"#;
    const DOC: &'static str = r#"
Wait until the environment is Ready and its health Green; otherwise fail the run, which rolls
back the steps before it.
"#;
    type Undo = NoUndo;
    const GATE: bool = true;

    fn check(&self) -> Result<(), FieldError> {
        eb_shared::check_environment("environment", &self.environment)
    }
}

#[async_trait]
impl Step for WaitHealthy {
    fn needs(&self) -> crate::iam::Needs {
        eb_needs::needs(&[&self.environment], &[])
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let env = environment(ctx, &self.environment).await?;
        Ok(one_line(
            Action::Check,
            Resource::Environment {
                name: env.name.clone(),
            },
            Some(env.describe()),
            format!(
                "Ready and Green within {}",
                humantime::format_duration(self.within)
            ),
            irreversible(self.clone(), "a health gate changes nothing"),
        ))
    }
}

#[async_trait]
impl Act for WaitHealthy {
    async fn act(&self, ctx: &Ctx) -> Result<(), StepError> {
        let client = &ctx.aws.elasticbeanstalk;
        let resource = format!("environment {}", self.environment);
        let waited = tokio::time::timeout(
            self.within,
            eb::wait(client, &[&self.environment], &ctx.waits, healthy),
        )
        .await;
        match waited {
            Ok(result) => result.map(drop).map_err(StepError::aws(resource)),
            Err(_) => {
                let now = environment(ctx, &self.environment).await?;
                Err(StepError::failed(
                    resource,
                    format!(
                        "still {} after {}; wanted Ready and Green",
                        now.describe(),
                        humantime::format_duration(self.within)
                    ),
                ))
            }
        }
    }
}
