//! `workers.restart`: restart queue workers through SSM Run Command and wait until the command
//! has ended on every instance (the incident's forgotten step). With `expect_env`, it then
//! checks that each worker's service runs with the web tier's queue and database settings
//! (`worker_env`: the process's own environment, compared by digests), since a mismatch there
//! is what kept the incident's workers stopped. A restart has no undo.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::worker_env::{EnvCheck, Held};
use super::{
    duration, irreversible, looks_secret, one_line, Act, Action, Change, Ctx, FieldError, Kind,
    NoUndo, Prepared, Resource, Step, StepError, Value,
};
use crate::aws::run_command::{self, form, Invocation, Rate, Targets};
use crate::aws::ssm;
use crate::iam::{arn, Arn, Grant, Needs};

/// Fields of a `workers.restart` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkersRestart {
    /// Instance ids (`i-...`, `mi-...`), at most 50. Exclusive with `targets`.
    #[serde(default)]
    instances: Vec<String>,
    /// Tags selecting the instances, e.g. `{Role: queue-worker}` (a value or a list of values); at
    /// most 5 tags, 50 values each (SendCommand's limits). `targets` or `instances` is required.
    #[serde(default)]
    targets: BTreeMap<String, OneOrMany>,
    /// The systemd service that runs the workers: the one restarted by default and whose main
    /// process `expect_env` reads. On Elastic Beanstalk's Amazon Linux 2 and 2023 platforms (worker
    /// environments too) each Procfile process runs as a service of its name, `web` for the
    /// application (check with `systemctl list-units` on one instance).
    #[serde(default = "default_service")]
    service: String,
    /// The shell command that restarts the workers (default `systemctl restart SERVICE`); with
    /// `expect_env`, a `systemctl restart UNIT` of another unit than `service` is refused.
    #[serde(default)]
    command: Option<String>,
    /// The SSM document that runs it.
    #[serde(default = "default_document")]
    document: String,
    /// After the restart, check that each worker's service runs with these settings as the web tier
    /// has them: `{from: /app/staging/, keys: [QUEUE_URL, DB_HOST]}`, the Parameter Store prefix of
    /// the web tier's settings and the names (environment variable names) that must match.
    #[serde(default)]
    expect_env: Option<ExpectEnv>,
    /// No longer read (it printed a root shell's environment, which is not the worker's, and
    /// brought every value back into Run Command's history): refused with a hint.
    #[serde(default)]
    #[schemars(skip)]
    env_command: Option<serde_yaml::Value>,
    /// How long the command may take on all instances.
    #[serde(default = "default_within", deserialize_with = "duration::deserialize")]
    #[schemars(schema_with = "duration::schema")]
    within: Duration,
    /// How many instances restart at once, a number or a share (`2`, `25%`), as Run Command's
    /// `MaxConcurrency` takes it (no leading zeros; 1% to 100%): restart in waves and keep jobs
    /// flowing. Default: Run Command's (50 instances).
    #[serde(default)]
    max_concurrency: Option<String>,
    /// How many failed restarts Run Command tolerates before it starts no more instances, a number
    /// or a share (`0`, `1`, `10%`), as its `MaxErrors`. Default: Run Command's (0: the first
    /// failure stops the instances not started yet, which end `Cancelled`). The step itself fails
    /// whenever any instance failed, naming each: a worker that did not restart is never taken for
    /// success.
    #[serde(default)]
    max_errors: Option<String>,
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

fn default_service() -> String {
    "queue-worker".into()
}

fn default_document() -> String {
    "AWS-RunShellScript".into()
}

fn default_within() -> Duration {
    Duration::from_secs(600)
}

impl Kind for WorkersRestart {
    const NAME: &'static str = "workers.restart";
    const SUMMARY: &'static str = "restart queue workers via SSM Run Command, wait for every instance, optionally check their service process runs with the web tier's settings, by digests computed on the instance (no undo)";
    const EXAMPLE: &'static str = r#"
targets:
  Role: queue-worker
command: systemctl restart queue-worker
"#;
    const DOC: &'static str = r#"
Restart queue workers through SSM Run Command, wait until the command has ended, and fail
naming each instance whose command failed or timed out. Whether the command has ended comes
from ListCommands' status and counts, which are the command's own; the list of invocations
comes in as Run Command reaches the instances (empty at first, tag targets over time), so it
is read, every page, only once the command has ended. No undo: after a rollback, restart the
workers again so they pick up the restored settings.

With `expect_env`, standin then checks that each worker's **service process** runs with the web
tier's settings (the incident's workers were stopped by exactly such a mismatch). A worker's
settings are in its process, loaded when the service last started (systemd's
`EnvironmentFile=`, Beanstalk's environment file): a shell of Run Command, root's, holds none of
them, and Parameter Store holds what the worker *would* load if restarted. So the check reads
`/proc/PID/environ` of the service's main process (`systemctl show -p MainPID SERVICE`) and,
for each key, prints a SHA-256 digest of `NAME=VALUE` salted with a random salt of this check;
standin computes the digest of the web tier's value and compares. A worker whose service was
not restarted (a `reload`, a restart of another unit, a restart that did not happen) keeps its
old values and fails the check by name. The instance needs `systemctl`, GNU `grep` and
`sha256sum` (Amazon Linux, Ubuntu, RHEL, Debian have them).

No value, secret or not, leaves the instance: Run Command keeps every command's text and output
in its history, readable by anyone allowed `ssm:ListCommandInvocations` or
`ssm:GetCommandInvocation` in the account. From that history one can learn the service's and the
keys' names, which keys a worker lacks, and whether the workers of one check hold the same
value; not the values. The salt is in the command, so a value with few possibilities
(`true`/`false`, one of a few hosts) can be confirmed by trying each guess; a random secret
cannot be. The salt changes with every check, so no table made in advance helps and a value
cannot be followed from one run to the next.

`env_command` (which printed a shell's environment) is no longer read: a playbook that sets it
is refused, with a hint.
"#;
    const RESTARTS_WORKERS: bool = true;
    type Undo = NoUndo;

    fn check(&self) -> Result<(), FieldError> {
        if self.env_command.is_some() {
            return Err(FieldError::at(
                "env_command",
                "`env_command` is no longer used: the check reads the environment of the workers' service process, not a shell's",
            )
            .hint("remove it; name the service with `service:` (default `queue-worker`)"));
        }
        self.check_targets()?;
        self.check_rates()?;
        self.check_settings()
    }
}

/// A systemd unit name (`queue-worker`, `web.service`, `worker@2`), safe in a script unquoted.
fn unit_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.@".contains(&b))
}

/// A rate field that SendCommand would refuse, refused at the field.
fn rate(
    field: &str,
    value: Option<&str>,
    takes: fn(&str) -> bool,
    message: &str,
    hint: &str,
) -> Result<(), FieldError> {
    match value {
        Some(v) if !takes(v) => Err(FieldError::at(field, message).hint(hint)),
        _ => Ok(()),
    }
}

/// An environment variable name, as a shell and `grep` take it unquoted.
fn env_name(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| !b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The unit a `systemctl restart UNIT` (or `start`) command restarts, as its `.service` name.
fn restarted_unit(command: &str) -> Option<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let words = words.strip_prefix(&["sudo"]).unwrap_or(&words);
    match words {
        ["systemctl", "restart" | "start" | "try-restart", unit] => Some(service_unit(unit)),
        _ => None,
    }
}

fn service_unit(name: &str) -> String {
    if name.contains('.') {
        name.to_owned()
    } else {
        format!("{name}.service")
    }
}

impl WorkersRestart {
    /// What SendCommand takes as targets: instance ids or tags, not both, within its limits.
    fn check_targets(&self) -> Result<(), FieldError> {
        match (self.instances.is_empty(), self.targets.is_empty()) {
            (true, true) => {
                return Err(FieldError::at("targets", "no instances selected")
                    .hint("give `targets: {Role: queue-worker}` or `instances: [i-...]`"))
            }
            (false, false) => {
                return Err(FieldError::at(
                    "targets",
                    "`instances` and `targets` are exclusive",
                ))
            }
            _ => {}
        }
        if self.instances.len() > form::MAX_INSTANCE_IDS {
            return Err(FieldError::new(
                vec!["instances".into(), form::MAX_INSTANCE_IDS.to_string()],
                format!(
                    "{} instance ids: Run Command takes at most {} in one command",
                    self.instances.len(),
                    form::MAX_INSTANCE_IDS
                ),
            )
            .hint("select them by tags with `targets:` instead"));
        }
        if let Some((i, id)) = self
            .instances
            .iter()
            .enumerate()
            .find(|(_, id)| !form::instance_id(id))
        {
            return Err(FieldError::new(
                vec!["instances".into(), i.to_string()],
                format!("`{}` is not an instance id", crate::escape::value(id)),
            )
            .hint("e.g. `i-0123456789abcdef0` (`mi-` and 17 characters for a managed node)"));
        }
        if let Some(extra) = self.targets.keys().nth(form::MAX_TARGETS) {
            return Err(FieldError::new(
                vec!["targets".into(), extra.clone()],
                format!(
                    "{} tags: Run Command takes at most {} targets in one command, one per tag",
                    self.targets.len(),
                    form::MAX_TARGETS
                ),
            )
            .hint("select by fewer tags, or list the instances with `instances:`"));
        }
        for (key, values) in &self.targets {
            if !form::tag_target(key) {
                return Err(FieldError::new(
                    vec!["targets".into(), key.clone()],
                    format!(
                        "`tag:{}` is not a target Run Command takes",
                        crate::escape::value(key)
                    ),
                )
                .hint("a tag key of letters, digits, spaces and `_.:/=-@`, up to 159 characters"));
            }
            if let OneOrMany::Many(many) = values {
                if many.len() > form::MAX_TARGET_VALUES {
                    return Err(FieldError::new(
                        vec![
                            "targets".into(),
                            key.clone(),
                            form::MAX_TARGET_VALUES.to_string(),
                        ],
                        format!(
                            "{} values: a Run Command target takes at most {}",
                            many.len(),
                            form::MAX_TARGET_VALUES
                        ),
                    )
                    .hint("tag the instances with one value and select that"));
                }
            }
        }
        if !form::document(&self.document) {
            return Err(FieldError::at("document", "not an SSM document name")
                .hint("3 to 128 letters, digits and `_-.:/`, e.g. `AWS-RunShellScript`"));
        }
        Ok(())
    }

    /// `max_concurrency` and `max_errors` exactly as SendCommand takes them.
    fn check_rates(&self) -> Result<(), FieldError> {
        rate(
            "max_concurrency",
            self.max_concurrency.as_deref(),
            form::max_concurrency,
            "not a number of instances or a share of them as Run Command takes it",
            "write e.g. `2` or `25%`: a whole number from 1, or 1% to 100%, without leading zeros",
        )?;
        rate(
            "max_errors",
            self.max_errors.as_deref(),
            form::max_errors,
            "not a number of failures or a share of instances as Run Command takes it",
            "write e.g. `0`, `1` or `10%`: a whole number, or 0% to 100%, without leading zeros",
        )
    }

    /// The service and the settings the check reads, and that the restart restarts that service.
    fn check_settings(&self) -> Result<(), FieldError> {
        if !unit_name(&self.service) {
            return Err(FieldError::at("service", "not a systemd service name")
                .hint("e.g. `queue-worker` or `web.service`"));
        }
        let Some(expect) = &self.expect_env else {
            return Ok(());
        };
        let at = |i: usize| vec!["expect_env".into(), "keys".into(), i.to_string()];
        if expect.keys.is_empty() {
            return Err(FieldError::new(
                vec!["expect_env".into(), "keys".into()],
                "no keys to compare",
            )
            .hint("e.g. `keys: [QUEUE_URL, DB_HOST]`"));
        }
        if let Some((i, key)) = expect.keys.iter().enumerate().find(|(_, k)| !env_name(k)) {
            return Err(FieldError::new(
                at(i),
                format!(
                    "`{}` is not an environment variable name",
                    crate::escape::value(key)
                ),
            )
            .hint("letters, digits and `_`, not starting with a digit"));
        }
        match self.command.as_deref().and_then(restarted_unit) {
            Some(unit) if unit != service_unit(&self.service) => Err(FieldError::at(
                "command",
                format!(
                    "the check reads `{}` but `command` restarts `{unit}`",
                    service_unit(&self.service)
                ),
            )
            .hint(format!(
                "set `service: {}`",
                unit.trim_end_matches(".service")
            ))),
            _ => Ok(()),
        }
    }

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

    fn command(&self) -> String {
        self.command
            .clone()
            .unwrap_or_else(|| format!("systemctl restart {}", self.service))
    }

    /// Runs a script (its lines) on every target within `within`, at `rate`; fails naming each
    /// instance that failed (or that Run Command did not start after too many failures).
    async fn run(
        &self,
        ctx: &Ctx,
        commands: &[String],
        what: &str,
        rate: &Rate,
    ) -> Result<Vec<Invocation>, StepError> {
        let targets = self.targets();
        let resource = format!("queue workers ({targets})");
        let ran = tokio::time::timeout(
            self.within,
            run_command::run(
                &ctx.aws.ssm,
                &targets,
                &self.document,
                commands,
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

    /// Compares the environment of each worker's service process with the web tier's
    /// parameters, by digests computed on the instance (`worker_env`): no value is printed.
    async fn check_env(&self, ctx: &Ctx, expect: &ExpectEnv) -> Result<(), StepError> {
        let resource = format!("queue workers ({})", self.targets());
        let web = ssm::get_tree(&ctx.aws.ssm, &expect.from)
            .await
            .map_err(StepError::aws(&expect.from))?;
        let wanted = expect
            .keys
            .iter()
            .map(|key| {
                web.get(key).map(|p| (key, p)).ok_or_else(|| {
                    StepError::failed(
                        &expect.from,
                        format!("has no parameter {key} to compare with"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let check = EnvCheck::new(&self.service, &expect.keys).map_err(|e| {
            StepError::failed(&resource, format!("no random salt for the check: {e}"))
        })?;
        // Reading settings changes nothing: all workers at once.
        let workers = self
            .run(
                ctx,
                &check.script(),
                &format!("reading the environment of {}", self.service),
                &Rate::default(),
            )
            .await?;
        let mut mismatches = Vec::new();
        for worker in &workers {
            let held = check.read(&worker.stdout).map_err(|why| {
                StepError::failed(
                    &resource,
                    format!(
                        "{}: the check of {} failed: {why}",
                        worker.instance, self.service
                    ),
                )
            })?;
            let who = format!("{}'s {}", worker.instance, self.service);
            for (key, param) in &wanted {
                let same = Held::Digest(check.digest(key, &param.value));
                mismatches.push(match &held[key.as_str()] {
                    now if *now == same => continue,
                    Held::Missing => format!("{who} has no {key}"),
                    Held::Digest(_) if param.is_secure() || looks_secret(key) => {
                        format!("{who} has another {key} (sensitive)")
                    }
                    Held::Digest(_) => format!(
                        "{who} has another {key} than {}",
                        crate::escape::value(&param.value)
                    ),
                });
            }
        }
        if mismatches.is_empty() {
            return Ok(());
        }
        Err(StepError::failed(
            resource,
            format!(
                "workers do not run with the web tier's settings ({}): {}; restart them so they load the current ones",
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
            Grant::any(&[
                "ssm:ListCommands",
                "ssm:ListCommandInvocations",
                "ssm:GetCommandInvocation",
            ]),
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
                self.command(),
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
                    self.command()
                ),
            ),
        );
        if let Some(expect) = &self.expect_env {
            prepared.changes.push(Change {
                action: Action::Check,
                resource,
                before: None,
                after: Some(Value::note(format!(
                    "{} runs with the same {} as {}",
                    self.service,
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
        self.run(ctx, &[self.command()], "the restart", &self.rate())
            .await?;
        match &self.expect_env {
            Some(expect) => self.check_env(ctx, expect).await,
            None => Ok(()),
        }
    }
}
