//! `eb.swap-cnames`: blue/green promotion by exchanging two environments' CNAMEs. Undo swaps
//! them back, once it has checked that they still hold what the swap left.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::eb_needs;
use super::eb_shared::{self, ended, environment, when_ready};
use super::{
    Action, Change, Ctx, Drift, FieldError, Journaled, Kind, Mutation, Prepared, Resource, Step,
    StepError, Undo, Value,
};
use crate::aws::cli::{self, Line};
use crate::aws::eb;
use crate::config::AwsSettings;

/// Fields of an `eb.swap-cnames` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapCnames {
    /// The environment being promoted, e.g. the standby `shop-staging`: it takes `destination`'s
    /// CNAME.
    #[schemars(schema_with = "super::limits::environment_schema")]
    source: String,
    /// The other, e.g. production's `shop-prod`.
    #[schemars(schema_with = "super::limits::environment_schema")]
    destination: String,
}

impl Kind for SwapCnames {
    const NAME: &'static str = "eb.swap-cnames";
    const MOVES_PRODUCTION: bool = true;
    const SUMMARY: &'static str =
        "swap the CNAMEs of two Elastic Beanstalk environments (blue/green); undo swaps back";
    const EXAMPLE: &'static str = r#"
source: shop-staging
destination: shop-prod
"#;
    const DOC: &'static str = r#"
Swap the CNAMEs of two environments (blue/green). Both must be Ready; waits until the swap
has ended on both. Undo swaps back, after checking the CNAMEs are still as the swap left them.
"#;
    type Undo = SwapUndo;

    fn check(&self) -> Result<(), FieldError> {
        eb_shared::check_environment("source", &self.source)?;
        eb_shared::check_environment("destination", &self.destination)?;
        if self.source == self.destination {
            return Err(FieldError::at(
                "destination",
                "an environment cannot swap with itself",
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Step for SwapCnames {
    fn needs(&self) -> crate::iam::Needs {
        eb_needs::needs(
            &[&self.source, &self.destination],
            &["elasticbeanstalk:SwapEnvironmentCNAMEs"],
        )
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let source = environment(ctx, &self.source).await?;
        let destination = environment(ctx, &self.destination).await?;
        let cname = |e: &crate::aws::eb::Env| e.cname.clone().unwrap_or_else(|| "(none)".into());
        let (a, b) = (cname(&source), cname(&destination));
        let mut warnings = Vec::new();
        for env in [&source, &destination] {
            if !env.is_ready() {
                warnings.push(format!(
                    "environment {} is {}: the swap will fail unless both are Ready",
                    env.name,
                    env.describe()
                ));
            }
        }
        Ok(Prepared {
            changes: vec![
                Change {
                    action: Action::Modify,
                    resource: Resource::Cname {
                        environment: source.name.clone(),
                    },
                    before: Some(Value::text(a.clone())),
                    after: Some(Value::text(b.clone())),
                },
                Change {
                    action: Action::Modify,
                    resource: Resource::Cname {
                        environment: destination.name.clone(),
                    },
                    before: Some(Value::text(b.clone())),
                    after: Some(Value::text(a.clone())),
                },
            ],
            warnings,
            mutation: Box::new(SwapMutation {
                undo: SwapUndo {
                    source: source.name,
                    destination: destination.name,
                    source_cname: a,
                    destination_cname: b,
                },
            }),
        })
    }
}

struct SwapMutation {
    undo: SwapUndo,
}

#[async_trait]
impl Mutation for SwapMutation {
    fn undo_record(&self) -> serde_json::Value {
        serde_json::to_value(&self.undo).expect("names serialize")
    }

    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        self.undo.swap(ctx).await
    }
}

/// Journaled before the swap: both environments and their CNAMEs before it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwapUndo {
    source: String,
    destination: String,
    source_cname: String,
    destination_cname: String,
}

impl SwapUndo {
    /// Swaps (both must be Ready first) and waits until the swap has ended on both, failing if
    /// Elastic Beanstalk reports it failed.
    async fn swap(&self, ctx: &Ctx) -> Result<(), StepError> {
        let resource = format!("environments {} and {}", self.source, self.destination);
        let op = when_ready(ctx, &[&self.source, &self.destination], &resource, || {
            eb::swap_cnames(&ctx.aws.elasticbeanstalk, &self.source, &self.destination)
        })
        .await?;
        ended(ctx, &[&self.source, &self.destination], &op).await??;
        Ok(())
    }
}

impl Journaled for SwapUndo {
    const SHAPES: &'static [(&'static str, &'static str)] = &[(
        "",
        r#"`{"source", "destination", "source_cname", "destination_cname"}`"#,
    )];
}

#[async_trait]
impl Undo for SwapUndo {
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        let source = environment(ctx, &self.source).await?;
        let destination = environment(ctx, &self.destination).await?;
        let now = (
            source.cname.unwrap_or_default(),
            destination.cname.unwrap_or_default(),
        );
        let resource = format!("environments {} and {}", self.source, self.destination);
        if now == (self.source_cname.clone(), self.destination_cname.clone()) {
            return Ok(vec![format!(
                "{resource}: CNAMEs already as before the run"
            )]);
        }
        if now != (self.destination_cname.clone(), self.source_cname.clone()) && !force {
            return Err(StepError::Drift(vec![Drift {
                resource: Resource::Cname {
                    environment: self.source.clone(),
                }
                .to_string(),
                expected: self.destination_cname.clone(),
                found: now.0,
            }]));
        }
        self.swap(ctx).await?;
        Ok(vec![format!(
            "{resource}: CNAMEs swapped back ({} is {} again)",
            self.source, self.source_cname
        )])
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        // A swap toggles: only while the source still has the CNAME the run gave it.
        let check = Line::new(aws, "elasticbeanstalk", "describe-environments")
            .arg("--environment-names", &self.source)
            .query("Environments[0].CNAME");
        let swap = Line::new(aws, "elasticbeanstalk", "swap-environment-cnames")
            .arg("--source-environment-name", &self.source)
            .arg("--destination-environment-name", &self.destination);
        vec![
            cli::only_if(check, &self.destination_cname, swap),
            eb_shared::wait_by_hand(aws, &[&self.source, &self.destination]),
        ]
    }
}
