//! `ssm.edit-env-file`: where an account keeps the whole `.env` in one parameter, set and unset
//! keys inside it, keeping every other line, its order and its comments. Values are written so
//! that a shell sourcing the file and dotenv loaders read them unchanged ([`crate::dotenv`]).
//! Undo restores the parameter's previous version (the shared `ssm.*` undo).

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::dotenv;
use schemars::JsonSchema;
use serde::Deserialize;

use super::params::{self, Wanted};
use super::{
    check_set_unset, limits, Action, Change, Ctx, FieldError, Kind, Prepared, Resource, Secretish,
    Step, StepError, Value,
};
use crate::aws::ssm::{self, Param};
use crate::iam::{arn, Needs};

/// Fields of an `ssm.edit-env-file` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditEnvFile {
    /// The parameter holding the `.env` text, e.g. `/shop/staging/env`.
    #[schemars(schema_with = "limits::parameter_name_schema")]
    parameter: String,
    /// Keys to set (added at the end when absent).
    #[serde(default)]
    set: BTreeMap<String, String>,
    /// Keys to remove.
    #[serde(default)]
    unset: Vec<String>,
}

impl Kind for EditEnvFile {
    const NAME: &'static str = "ssm.edit-env-file";
    const SUMMARY: &'static str =
        "set/unset keys inside a parameter holding a whole .env file, keeping order and comments";
    const EXAMPLE: &'static str = r#"
parameter: /shop/staging/env
set:
  APP_ENV: production
unset: [DEBUG]
"#;
    const DOC: &'static str = r#"
Where the whole `.env` lives in one parameter: set and unset keys inside it, keeping every
other line, the order and the comments. New keys are appended; values that a loader would
misread are double-quoted. Undo restores the parameter's previous version. For a SecureString,
plans show each key's change only as versions.
"#;
    type Undo = params::ParamsUndo;

    fn check(&self) -> Result<(), FieldError> {
        limits::parameter_name(&self.parameter, limits::SHORTEST_ARN_PREFIX)
            .map_err(|l| l.at(&["parameter"]))?;
        check_set_unset(&self.set, &self.unset, "KEY")?;
        let valid = |k: &str| {
            k.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if let Some(key) = self.set.keys().chain(&self.unset).find(|k| !valid(k)) {
            return Err(FieldError::at("set", format!("`{key}` is not a .env key"))
                .hint("keys are letters, digits and `_`, not starting with a digit"));
        }
        for (key, value) in &self.set {
            if let Err(why) = dotenv::encode(value) {
                return Err(FieldError::new(
                    vec!["set".into(), key.clone()],
                    format!("this value cannot be written into a .env file safely: {why}"),
                )
                .hint(
                    "change the value, or keep it in a parameter of its own (ssm.put-parameters)",
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Step for EditEnvFile {
    fn needs(&self) -> Needs {
        let name = vec![arn::parameter(&self.parameter)];
        Needs {
            plan: params::plan_grants(&["ssm:GetParameter"], name.clone(), name.clone()),
            run: params::write_grants(name),
        }
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let current = ssm::get(&ctx.aws.ssm, &self.parameter)
            .await
            .map_err(StepError::aws(&self.parameter))?
            .ok_or_else(|| {
                StepError::failed(
                    &self.parameter,
                    "no such parameter (create it first, e.g. with ssm.put-parameters)",
                )
            })?;
        let (text, keys) =
            dotenv::edit(&current.value, &self.set, &self.unset).map_err(|(key, why)| {
                StepError::failed(
                    format!("{} {key}", self.parameter),
                    format!("cannot be written safely: {why}"),
                )
            })?;
        let secure = current.is_secure();
        let version = current.version;
        let changes = keys
            .into_iter()
            .map(|(key, before, after)| {
                let action = match (&before, &after) {
                    (b, a) if b == a => Action::Keep,
                    (None, Some(_)) => Action::Add,
                    (Some(_), None) => Action::Remove,
                    _ => Action::Modify,
                };
                let shown = |v: Option<String>, version: i64| {
                    v.map(|v| {
                        if secure {
                            Value::EnvKey(Secretish::secret(version, &[&v]))
                        } else {
                            Value::EnvKey(Secretish::plain(v, version))
                        }
                    })
                };
                let next = if action == Action::Keep {
                    version
                } else {
                    version + 1
                };
                Change {
                    action,
                    resource: Resource::EnvKey {
                        parameter: self.parameter.clone(),
                        key,
                    },
                    before: shown(before, version),
                    after: shown(after, next),
                }
            })
            .collect();
        let desired = Param {
            value: text,
            ..current.clone()
        };
        let mut prepared = params::prepare(
            ctx,
            vec![Wanted {
                current: Some(current),
                desired,
            }],
        )
        .await?;
        prepared.changes = changes;
        Ok(prepared)
    }
}
