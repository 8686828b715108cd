//! `eb.restart`: restart an environment's app servers (e.g. so staging picks up production's
//! configuration) and wait until the restart has ended, failing if Elastic Beanstalk reports
//! it failed. A restart has no undo.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::eb_needs;
use super::eb_shared::{self, ended, environment, when_ready};
use super::{
    irreversible, one_line, Act, Action, Ctx, FieldError, Kind, NoUndo, Prepared, Resource, Step,
    StepError,
};
use crate::aws::eb;

/// Fields of an `eb.restart` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    /// The environment's name, e.g. `shop-staging`.
    #[schemars(schema_with = "super::limits::environment_schema")]
    environment: String,
}

impl Kind for Restart {
    const NAME: &'static str = "eb.restart";
    const SUMMARY: &'static str =
        "restart an Elastic Beanstalk environment's app servers and wait until Ready (no undo)";
    const EXAMPLE: &'static str = r#"
environment: shop-staging
"#;
    const DOC: &'static str = r#"
RestartAppServer, then wait until the restart has ended (not merely Ready: see "How an `eb.*`
step ends"), failing if Elastic Beanstalk reports errors. No undo (plans mark it `!`).
"#;
    type Undo = NoUndo;

    fn check(&self) -> Result<(), FieldError> {
        eb_shared::check_environment("environment", &self.environment)
    }
}

#[async_trait]
impl Step for Restart {
    fn needs(&self) -> crate::iam::Needs {
        eb_needs::needs(&[&self.environment], &["elasticbeanstalk:RestartAppServer"])
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let env = environment(ctx, &self.environment).await?;
        let mut prepared = one_line(
            Action::Run,
            Resource::Environment {
                name: env.name.clone(),
            },
            // What it observed goes in `before`: a plan compares only what a step asks for.
            Some(env.describe()),
            "restart app servers",
            irreversible(
                self.clone(),
                format!("the app servers of {} were restarted", env.name),
            ),
        );
        if !env.is_ready() {
            prepared.warnings.push(format!(
                "environment {} is {}: the restart will fail unless it is Ready",
                env.name,
                env.describe()
            ));
        }
        Ok(prepared)
    }
}

#[async_trait]
impl Act for Restart {
    async fn act(&self, ctx: &Ctx) -> Result<(), StepError> {
        let resource = format!("environment {}", self.environment);
        let op = when_ready(ctx, &[&self.environment], &resource, || {
            eb::restart_app_server(&ctx.aws.elasticbeanstalk, &self.environment)
        })
        .await?;
        ended(ctx, &[&self.environment], &op).await??;
        Ok(())
    }
}
