//! `workers.restart`: restart queue workers through SSM Run Command and wait for every
//! instance (the incident's forgotten step). With `expect_env`, it then checks that every
//! worker sees the same queue and database settings as the web tier, since a mismatch there is
//! what kept the incident's workers stopped. A restart has no undo.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{
    duration, irreversible, looks_secret, one_line, Act, Action, Change, Ctx, FieldError, Kind,
    NoUndo, Prepared, Resource, Step, StepError, Value,
};
use crate::aws::run_command::{self, Invocation, Rate, Targets};
use crate::aws::ssm;
use crate::iam::{arn, Arn, Grant, Needs};

/// Fields of a `workers.restart` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkersRestart {
    /// Instance ids to restart workers on. Exclusive with `targets`.
    #[serde(default)]
    instances: Vec<String>,
    /// Tags selecting the instances, e.g. `{Role: queue-worker}` (a value or a list of values).
    #[serde(default)]
    targets: BTreeMap<String, OneOrMany>,
    /// The shell command that restarts the workers (default `systemctl restart queue-worker`).
    #[serde(default = "default_command")]
    command: String,
    /// The SSM document that runs it (default `AWS-RunShellScript`).
    #[serde(default = "default_document")]
    document: String,
    /// After the restart, check that each worker sees these settings as the web tier has them.
    #[serde(default)]
    expect_env: Option<ExpectEnv>,
    /// Prints a worker's environment as `NAME=VALUE` lines (default `printenv`).
    #[serde(default = "default_env_command")]
    env_command: String,
    /// How long the command may take on all instances (default `10m`).
    #[serde(default = "default_within", deserialize_with = "duration::deserialize")]
    #[schemars(schema_with = "duration::schema")]
    within: Duration,
    /// How many instances restart at once, a number or a share (`2`, `25%`): restart in waves
    /// and keep jobs flowing. Default: Run Command's (50 instances).
    #[serde(default)]
    max_concurrency: Option<String>,
    /// How many failed restarts Run Command tolerates before it starts no more instances, a
    /// number or a share (`0`, `10%`). Default: Run Command's (0: the first failure stops the
    /// instances not started yet). The step fails whenever any instance failed.
    #[serde(default)]
    max_errors: Option<String>,
}

/// Whether `text` is a count from `min` up, or a share `1%`..`100%` (`0%` too when `min` is 0),
/// as Run Command takes `MaxConcurrency` and `MaxErrors`.
fn count_or_share(text: &str, min: u64) -> bool {
    match text.strip_suffix('%') {
        Some(share) => share.parse::<u64>().is_ok_and(|p| p >= min && p <= 100),
        None => text.parse::<u64>().is_ok_and(|n| n >= min),
    }
}

/// The web tier's settings that workers must match.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExpectEnv {
    /// Parameter Store prefix holding the web tier's settings, e.g. `/shop/staging/`.
    from: String,
    /// The names that must match, e.g. `[QUEUE_URL, DB_HOST]`.
    keys: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn default_command() -> String {
    "systemctl restart queue-worker".into()
}

fn default_document() -> String {
    "AWS-RunShellScript".into()
}

fn default_env_command() -> String {
    "printenv".into()
}

fn default_within() -> Duration {
    Duration::from_secs(600)
}

impl Kind for WorkersRestart {
    const NAME: &'static str = "workers.restart";
    const SUMMARY: &'static str = "restart queue workers via SSM Run Command, wait for every instance, optionally check they see the web tier's settings (no undo)";
    type Undo = NoUndo;

    fn check(&self) -> Result<(), FieldError> {
        match (self.instances.is_empty(), self.targets.is_empty()) {
            (true, true) => Err(FieldError::at("targets", "no instances selected")
                .hint("give `targets: {Role: queue-worker}` or `instances: [i-...]`")),
            (false, false) => Err(FieldError::at(
                "targets",
                "`instances` and `targets` are exclusive",
            )),
            _ if self
                .max_concurrency
                .as_deref()
                .is_some_and(|c| !count_or_share(c, 1)) =>
            {
                Err(FieldError::at(
                    "max_concurrency",
                    "not a number of instances or a share of them",
                )
                .hint("write e.g. `2` or `25%` (at least 1)"))
            }
            _ if self
                .max_errors
                .as_deref()
                .is_some_and(|e| !count_or_share(e, 0)) =>
            {
                Err(FieldError::at(
                    "max_errors",
                    "not a number of failures or a share of instances",
                )
                .hint("write e.g. `0`, `1` or `10%`"))
            }
            _ if self.expect_env.as_ref().is_some_and(|e| e.keys.is_empty()) => {
                Err(FieldError::new(
                    vec!["expect_env".into(), "keys".into()],
                    "no keys to compare",
                )
                .hint("e.g. `keys: [QUEUE_URL, DB_HOST]`"))
            }
            _ => Ok(()),
        }
    }
}

impl WorkersRestart {
    fn targets(&self) -> Targets {
        if self.instances.is_empty() {
            Targets::Tags(
                self.targets
                    .iter()
                    .map(|(k, v)| match v {
                        OneOrMany::One(one) => (k.clone(), vec![one.clone()]),
                        OneOrMany::Many(many) => (k.clone(), many.clone()),
                    })
                    .collect(),
            )
        } else {
            Targets::Instances(self.instances.clone())
        }
    }

    fn rate(&self) -> Rate {
        Rate {
            max_concurrency: self.max_concurrency.clone(),
            max_errors: self.max_errors.clone(),
        }
    }

    /// Runs a command on every target within `within`, at `rate`; fails naming each instance
    /// that failed (or that Run Command did not start after too many failures).
    async fn run(
        &self,
        ctx: &Ctx,
        command: &str,
        what: &str,
        rate: &Rate,
    ) -> Result<Vec<Invocation>, StepError> {
        let targets = self.targets();
        let resource = format!("queue workers ({targets})");
        let commands = [command.to_owned()];
        let ran = tokio::time::timeout(
            self.within,
            run_command::run(
                &ctx.aws.ssm,
                &targets,
                &self.document,
                &commands,
                rate,
                &ctx.waits,
            ),
        )
        .await
        .map_err(|_| {
            StepError::failed(
                &resource,
                format!(
                    "{what} did not finish within {}",
                    humantime::format_duration(self.within)
                ),
            )
        })?
        // The command was sent before any wait: a stop leaves it sent.
        .map_err(|e| StepError::aws(&resource)(e).after_change())?;
        let failed: Vec<String> = ran
            .iter()
            .filter(|i| !i.succeeded())
            .map(|i| {
                let detail = i
                    .stderr
                    .lines()
                    .next()
                    .map(|l| format!(": {l}"))
                    .unwrap_or_default();
                format!("{} ({}, exit {}{detail})", i.instance, i.status, i.code)
            })
            .collect();
        if failed.is_empty() {
            Ok(ran)
        } else {
            Err(StepError::failed(
                resource,
                format!(
                    "{what} failed on {} of {} instances: {}",
                    failed.len(),
                    ran.len(),
                    failed.join("; ")
                ),
            ))
        }
    }

    /// Compares each worker's environment with the web tier's parameters.
    async fn check_env(&self, ctx: &Ctx, expect: &ExpectEnv) -> Result<(), StepError> {
        let web = ssm::get_tree(&ctx.aws.ssm, &expect.from)
            .await
            .map_err(StepError::aws(&expect.from))?;
        // Reading settings changes nothing: all workers at once.
        let workers = self
            .run(
                ctx,
                &self.env_command,
                "reading the workers' environment",
                &Rate::default(),
            )
            .await?;
        let mut mismatches = Vec::new();
        for worker in &workers {
            let seen: BTreeMap<&str, &str> = worker
                .stdout
                .lines()
                .filter_map(|line| line.trim().trim_start_matches("export ").split_once('='))
                .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
                .collect();
            for key in &expect.keys {
                let wanted = web.get(key).ok_or_else(|| {
                    StepError::failed(
                        &expect.from,
                        format!("has no parameter {key} to compare with"),
                    )
                })?;
                let found = seen.get(key.as_str()).copied();
                if found == Some(wanted.value.as_str()) {
                    continue;
                }
                let secret = wanted.is_secure() || looks_secret(key);
                mismatches.push(match (found, secret) {
                    (None, _) => format!("{} has no {key}", worker.instance),
                    (Some(_), true) => {
                        format!("{} sees a different {key} (sensitive)", worker.instance)
                    }
                    (Some(v), false) => format!(
                        "{} sees {key}={}, web tier has {}",
                        worker.instance,
                        crate::escape::value(v),
                        crate::escape::value(&wanted.value)
                    ),
                });
            }
        }
        if mismatches.is_empty() {
            return Ok(());
        }
        Err(StepError::failed(
            format!("queue workers ({})", self.targets()),
            format!(
                "workers do not see the web tier's settings ({}): {}",
                expect.from,
                mismatches.join("; ")
            ),
        ))
    }
}

#[async_trait]
impl Step for WorkersRestart {
    fn needs(&self) -> Needs {
        let document = format!("document/{}", self.document);
        // AWS's own documents are owned by no account.
        let document = if self.document.starts_with("AWS-") {
            Arn::Template {
                service: "ssm",
                region: "*",
                account: "",
                resource: document,
            }
        } else {
            Arn::regional("ssm", document)
        };
        let mut run = vec![
            Grant::new(
                &["ssm:SendCommand"],
                [document, Arn::regional("ec2", "instance/*")],
            ),
            Grant::any(&["ssm:ListCommandInvocations", "ssm:GetCommandInvocation"]),
        ];
        if let Some(expect) = &self.expect_env {
            run.extend(super::params::read_grants(
                &["ssm:GetParameters"],
                arn::parameters_under(&expect.from).to_vec(),
            ));
        }
        Needs {
            plan: Vec::new(),
            run,
        }
    }

    async fn plan(&self, _ctx: &Ctx) -> Result<Prepared, StepError> {
        let resource = Resource::Instances {
            selected: self.targets().to_string(),
        };
        let mut prepared = one_line(
            Action::Run,
            resource.clone(),
            None,
            format!(
                "run `{}` ({}{})",
                self.command,
                self.document,
                match (&self.max_concurrency, &self.max_errors) {
                    (None, None) => String::new(),
                    (c, e) => format!(
                        "; {} at a time, {}",
                        c.as_deref().unwrap_or("50"),
                        e.as_deref().map_or("stopping at the first failure".to_owned(), |e| {
                            format!("stopping once more than {e} fail")
                        })
                    ),
                }
            ),
            irreversible(
                self.clone(),
                format!(
                    "the workers ({}) were restarted with the settings of the run: restart them again (`{}`) so they load the restored ones",
                    self.targets(),
                    self.command
                ),
            ),
        );
        if let Some(expect) = &self.expect_env {
            prepared.changes.push(Change {
                action: Action::Check,
                resource,
                before: None,
                after: Some(Value::note(format!(
                    "see the same {} as {}",
                    expect.keys.join(", "),
                    expect.from
                ))),
            });
        }
        Ok(prepared)
    }
}

#[async_trait]
impl Act for WorkersRestart {
    async fn act(&self, ctx: &Ctx) -> Result<(), StepError> {
        self.run(ctx, &self.command, "the restart", &self.rate())
            .await?;
        match &self.expect_env {
            Some(expect) => self.check_env(ctx, expect).await,
            None => Ok(()),
        }
    }
}
