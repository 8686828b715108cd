//! `eb.set-env`: set or unset environment properties of an Elastic Beanstalk environment.
//! Undo puts every touched property back exactly (value, or absence).
//!
//! Environment properties are plaintext on AWS, and undo needs their previous values in the
//! journal, so keys that look secret are refused: secrets belong in Parameter Store.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::eb_shared::{self, environment, require_ready, wait_ready};
use super::{
    check_set_unset, looks_secret, Action, Change, Ctx, Drift, FieldError, Kind, Mutation,
    Prepared, Resource, Step, StepError, Value,
};
use crate::aws::cli::Line;
use crate::aws::eb;
use crate::config::AwsSettings;

/// Fields of an `eb.set-env` step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetEnv {
    /// The environment's name, e.g. `shop-staging`.
    environment: String,
    /// Properties to set, name to value.
    #[serde(default)]
    set: BTreeMap<String, String>,
    /// Properties to remove.
    #[serde(default)]
    unset: Vec<String>,
}

impl Kind for SetEnv {
    const NAME: &'static str = "eb.set-env";
    const SUMMARY: &'static str = "set or unset environment properties of an Elastic Beanstalk environment; waits until it is Ready";
    type Undo = SetEnvUndo;

    fn check(&self) -> Result<(), FieldError> {
        check_set_unset(&self.set, &self.unset, "NAME")?;
        if let Some(key) = self.set.keys().chain(&self.unset).find(|k| looks_secret(k)) {
            let field = if self.set.contains_key(key) {
                "set"
            } else {
                "unset"
            };
            return Err(FieldError::new(vec![field.into(), key.clone()], format!("`{key}` looks like a secret"))
                .hint("environment properties are plaintext and standin would journal the old value; keep secrets in Parameter Store (SecureString)"));
        }
        Ok(())
    }
}

#[async_trait]
impl Step for SetEnv {
    fn needs(&self) -> crate::iam::Needs {
        eb_shared::needs(
            &[&self.environment],
            &["elasticbeanstalk:UpdateEnvironment"],
        )
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let env = environment(ctx, &self.environment).await?;
        let current = eb::properties(&ctx.aws.elasticbeanstalk, &env)
            .await
            .map_err(StepError::aws(format!("environment {}", env.name)))?;
        let wanted: BTreeMap<&String, Option<&String>> = self
            .set
            .iter()
            .map(|(k, v)| (k, Some(v)))
            .chain(self.unset.iter().map(|k| (k, None)))
            .collect();
        let mut changes = Vec::new();
        let mut undo = SetEnvUndo {
            environment: env.name.clone(),
            before: BTreeMap::new(),
            after: BTreeMap::new(),
        };
        for (key, want) in wanted {
            let now = current.get(key);
            let action = match (now, want) {
                (a, b) if a == b => Action::Keep,
                (None, Some(_)) => Action::Add,
                (Some(_), Some(_)) => Action::Modify,
                (Some(_), None) => Action::Remove,
                (None, None) => Action::Keep,
            };
            changes.push(Change {
                action,
                resource: Resource::property(&env.name, key),
                before: now.map(Value::text),
                after: want.map(Value::text),
            });
            if action != Action::Keep {
                undo.before.insert(key.clone(), now.cloned());
                undo.after.insert(key.clone(), want.cloned());
            }
        }
        let mut warnings = Vec::new();
        if !env.is_ready() {
            warnings.push(format!(
                "environment {} is {}: the step will fail unless it is Ready",
                env.name,
                env.describe()
            ));
        }
        Ok(Prepared {
            changes,
            warnings,
            mutation: Box::new(SetEnvMutation { undo }),
        })
    }
}

struct SetEnvMutation {
    undo: SetEnvUndo,
}

#[async_trait]
impl Mutation for SetEnvMutation {
    fn undo_record(&self) -> serde_json::Value {
        serde_json::to_value(&self.undo).expect("properties serialize")
    }

    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        self.undo.put(ctx, &self.undo.after).await
    }
}

/// Journaled before the change: each touched property before and after (`None`: absent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetEnvUndo {
    environment: String,
    before: BTreeMap<String, Option<String>>,
    after: BTreeMap<String, Option<String>>,
}

impl SetEnvUndo {
    /// Writes `values` and waits until the environment is Ready again.
    async fn put(
        &self,
        ctx: &Ctx,
        values: &BTreeMap<String, Option<String>>,
    ) -> Result<(), StepError> {
        let client = &ctx.aws.elasticbeanstalk;
        let resource = format!("environment {}", self.environment);
        require_ready(&environment(ctx, &self.environment).await?)?;
        eb::update_properties(client, &self.environment, values)
            .await
            .map_err(StepError::aws(&resource))?;
        wait_ready(ctx, &[&self.environment])
            .await
            .map(drop)
            .map_err(StepError::after_change)
    }
}

#[async_trait]
impl super::Undo for SetEnvUndo {
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        let env = environment(ctx, &self.environment).await?;
        let current = eb::properties(&ctx.aws.elasticbeanstalk, &env)
            .await
            .map_err(StepError::aws(format!("environment {}", env.name)))?;
        let show = |v: Option<&String>| v.map_or_else(|| "(absent)".to_owned(), Clone::clone);
        let mut restore = BTreeMap::new();
        let mut drift = Vec::new();
        for (key, before) in &self.before {
            let now = current.get(key);
            if now == before.as_ref() {
                continue;
            }
            let after = self.after.get(key).and_then(Option::as_ref);
            if now != after {
                drift.push(Drift {
                    resource: Resource::property(&self.environment, key).to_string(),
                    expected: show(after),
                    found: show(now),
                });
            }
            restore.insert(key.clone(), before.clone());
        }
        if !drift.is_empty() && !force {
            return Err(StepError::Drift(drift));
        }
        if restore.is_empty() {
            // An earlier undo (interrupted) may have written them: done once it is Ready.
            wait_ready(ctx, &[&self.environment]).await?;
            return Ok(vec![format!(
                "environment {}: properties already as before the run",
                self.environment
            )]);
        }
        self.put(ctx, &restore).await?;
        Ok(restore
            .iter()
            .map(|(k, v)| {
                format!(
                    "environment {} {k}: restored {}",
                    self.environment,
                    show(v.as_ref())
                )
            })
            .collect())
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        let option = |key: &str, value: Option<&String>| {
            let mut o = serde_json::json!({"Namespace": eb::PROPERTIES, "OptionName": key});
            if let Some(value) = value {
                o["Value"] = value.clone().into();
            }
            o
        };
        let (set, remove): (Vec<_>, Vec<_>) = self.before.iter().partition(|(_, v)| v.is_some());
        let mut line = Line::new(aws, "elasticbeanstalk", "update-environment")
            .arg("--environment-name", &self.environment);
        if !set.is_empty() {
            let all: Vec<_> = set.iter().map(|(k, v)| option(k, v.as_ref())).collect();
            line = line.arg(
                "--option-settings",
                &serde_json::Value::from(all).to_string(),
            );
        }
        if !remove.is_empty() {
            let all: Vec<_> = remove.iter().map(|(k, _)| option(k, None)).collect();
            line = line.arg(
                "--options-to-remove",
                &serde_json::Value::from(all).to_string(),
            );
        }
        vec![
            line.text(),
            eb_shared::wait_by_hand(aws, &[&self.environment]),
        ]
    }
}
