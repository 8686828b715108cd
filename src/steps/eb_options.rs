//! Writing an environment's configuration options with an exact undo ([`write_options`],
//! [`OptionsUndo`]), and what Elastic Beanstalk refuses of them before any change:
//! `eb.set-options` writes any, `eb.set-env` the properties namespace's, `eb.scale` the
//! capacity's. Apart from `eb_shared.rs` (finding and waiting for an environment), which the
//! kinds that write no options use too.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::eb_shared::{busy, ended, environment, wait_by_hand, wait_ready, when_ready, Failed};
use super::{
    limits, Action, Change, Ctx, Drift, FieldError, Mutation, Prepared, Resource, StepError, Value,
};
use crate::aws::cli::Line;
use crate::aws::eb::{self, Env, OptionKey};
use crate::config::AwsSettings;

/// Options as a step wants them, or as an undo record holds them: each set to a value
/// (`Some`) or not set (`None`).
pub type Options = BTreeMap<OptionKey, Option<String>>;

/// An environment's options as read: each one that has a value.
pub type Current = BTreeMap<OptionKey, String>;

/// What Elastic Beanstalk refuses of the properties a step sets, for their form: names it
/// does not take, and more bytes than an environment holds in all (the plan counts the
/// properties the environment keeps as well). `path` locates a property's value.
pub(super) fn check_properties(
    wanted: &Options,
    path: impl Fn(&str) -> Vec<String>,
) -> Result<(), FieldError> {
    let set: Vec<(&str, &str)> = wanted
        .iter()
        .filter(|(key, _)| key.is_property())
        .filter_map(|(key, value)| Some((key.name.as_str(), value.as_deref()?)))
        .collect();
    for (key, _) in &set {
        limits::property_key(key).map_err(|l| l.at(&path(key)))?;
    }
    limits::properties("the properties this step sets", set).map_err(|l| l.at(&["set"]))
}

/// Refuses, before any change, a write after which `env`'s properties would not fit: those it
/// keeps (`current`) and those `wanted` sets, as Elastic Beanstalk counts them.
fn refuse_oversized(env: &Env, current: &Current, wanted: &Options) -> Result<(), StepError> {
    if !wanted.keys().any(OptionKey::is_property) {
        return Ok(());
    }
    let mut after: BTreeMap<&str, &str> = current
        .iter()
        .filter(|(key, _)| key.is_property())
        .map(|(key, value)| (key.name.as_str(), value.as_str()))
        .collect();
    for (key, value) in wanted.iter().filter(|(key, _)| key.is_property()) {
        match value {
            Some(value) => after.insert(&key.name, value),
            None => after.remove(key.name.as_str()),
        };
    }
    limits::properties("its properties after this step", after)
        .map_err(|l| l.on(format!("environment {}", env.name)))
}

/// Refuses option names that look secret ([`super::looks_secret`]), each `(path, name)` located
/// by its path below the step: Elastic Beanstalk keeps option values, properties included, in
/// plaintext, and undo would have to journal the old value.
pub(super) fn refuse_secrets<'a>(
    named: impl IntoIterator<Item = (Vec<String>, &'a str)>,
) -> Result<(), FieldError> {
    match named.into_iter().find(|(_, name)| super::looks_secret(name)) {
        Some((path, name)) => Err(FieldError::new(path, format!("`{name}` looks like a secret"))
            .hint("Elastic Beanstalk options (environment properties too) are plaintext and standin would journal the old value; keep secrets in Parameter Store (SecureString)")),
        None => Ok(()),
    }
}

/// An instance type as Elastic Beanstalk's `InstanceTypes` lists it: `family.size`, letters,
/// digits and `-` (`m5.large`, `t3a.2xlarge`).
pub(super) fn is_instance_type(name: &str) -> bool {
    name.split_once('.').is_some_and(|(family, size)| {
        [family, size].iter().all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    })
}

/// The plan of a kind that writes `wanted` on `environment` (see [`write_options`]).
pub(super) async fn plan_options<R>(
    ctx: &Ctx,
    environment: &str,
    wanted: &Options,
) -> Result<Prepared, StepError>
where
    R: From<OptionsUndo> + Serialize + 'static,
{
    let (env, current) = read_options(ctx, environment).await?;
    refuse_oversized(&env, &current, wanted)?;
    Ok(write_options::<R>(&env, &current, wanted))
}

/// The environment `name` and its options.
pub(super) async fn read_options(ctx: &Ctx, name: &str) -> Result<(Env, Current), StepError> {
    let env = environment(ctx, name).await?;
    let current = eb::options(&ctx.aws.elasticbeanstalk, &env)
        .await
        .map_err(StepError::aws(format!("environment {}", env.name)))?;
    Ok((env, current))
}

/// The plan of writing `wanted` on `env`, whose options are `current`: one change per option
/// (kept where it already holds what is wanted), a warning when the environment is not Ready,
/// and the mutation, whose undo record is journaled as `R` (what an [`OptionsUndo`] becomes in
/// the kind's own record format).
pub(super) fn write_options<R>(env: &Env, current: &Current, wanted: &Options) -> Prepared
where
    R: From<OptionsUndo> + Serialize + 'static,
{
    let mut changes = Vec::new();
    let mut undo = OptionsUndo {
        environment: env.name.clone(),
        before: Options::new(),
        after: Options::new(),
        failed: None,
    };
    for (key, want) in wanted {
        let now = current.get(key);
        let want = want.as_ref();
        let action = match (now, want) {
            (a, b) if a == b => Action::Keep,
            (None, Some(_)) => Action::Add,
            (Some(_), Some(_)) => Action::Modify,
            (Some(_), None) => Action::Remove,
            (None, None) => Action::Keep,
        };
        changes.push(Change {
            action,
            resource: Resource::option(&env.name, key),
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
    Prepared {
        changes,
        warnings,
        mutation: Box::new(WriteOptions::<R> {
            undo,
            record: PhantomData,
        }),
    }
}

struct WriteOptions<R> {
    undo: OptionsUndo,
    record: PhantomData<fn() -> R>,
}

#[async_trait]
impl<R: From<OptionsUndo> + Serialize + 'static> Mutation for WriteOptions<R> {
    fn undo_record(&self) -> serde_json::Value {
        serde_json::to_value(R::from(self.undo.clone())).expect("options serialize")
    }

    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        let failed = self.undo.put(ctx, &self.undo.after).await?;
        match failed {
            None => Ok(()),
            Some(failed) => {
                // Journaled with the failure, so the undo can say truthfully why it has nothing to do.
                self.undo.failed = Some(failed.words.clone());
                Err(failed.into())
            }
        }
    }
}

/// The undo of the kinds that write options: each touched option before and after (`None`: not
/// set), and, when Elastic Beanstalk reported the update failed (and kept the configuration it
/// had), its words. Journaled as `{"environment", "before": {NAMESPACE: {NAME: value or null}},
/// "after": {...}, "failed": "..."}` (`failed` only when it did); `eb.set-env` journals its own
/// flat form of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Nested", into = "Nested")]
pub struct OptionsUndo {
    pub(super) environment: String,
    pub(super) before: Options,
    pub(super) after: Options,
    pub(super) failed: Option<String>,
}

/// [`OptionsUndo`] as journaled: options by namespace.
#[derive(Serialize, Deserialize)]
struct Nested {
    environment: String,
    before: BTreeMap<String, BTreeMap<String, Option<String>>>,
    after: BTreeMap<String, BTreeMap<String, Option<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failed: Option<String>,
}

impl From<Nested> for OptionsUndo {
    fn from(n: Nested) -> Self {
        let flat = |by_namespace: BTreeMap<String, BTreeMap<String, Option<String>>>| {
            by_namespace
                .into_iter()
                .flat_map(|(ns, options)| {
                    options
                        .into_iter()
                        .map(move |(name, value)| (OptionKey::new(&ns, &name), value))
                })
                .collect()
        };
        Self {
            environment: n.environment,
            before: flat(n.before),
            after: flat(n.after),
            failed: n.failed,
        }
    }
}

impl From<OptionsUndo> for Nested {
    fn from(u: OptionsUndo) -> Self {
        let nest = |options: Options| {
            let mut by_namespace: BTreeMap<String, BTreeMap<String, Option<String>>> =
                BTreeMap::new();
            for (key, value) in options {
                by_namespace
                    .entry(key.namespace)
                    .or_default()
                    .insert(key.name, value);
            }
            by_namespace
        };
        Self {
            environment: u.environment,
            before: nest(u.before),
            after: nest(u.after),
            failed: u.failed,
        }
    }
}

impl OptionsUndo {
    /// Writes `values` and waits until the update has ended; `Some` when Elastic Beanstalk
    /// reported it failed (the environment then keeps the values it had).
    async fn put(&self, ctx: &Ctx, values: &Options) -> Result<Option<Failed>, StepError> {
        let resource = format!("environment {}", self.environment);
        let op = when_ready(ctx, &[&self.environment], &resource, || {
            eb::update_options(&ctx.aws.elasticbeanstalk, &self.environment, values)
        })
        .await?;
        Ok(ended(ctx, &[&self.environment], &op).await?.err())
    }

    /// The line that says there is nothing to put back: what the environment runs is what it
    /// ran before the run.
    fn nothing_to_undo(&self) -> String {
        if let Some(words) = &self.failed {
            return format!(
                "environment {}: the run's change never deployed (Elastic Beanstalk: {words}); nothing to undo",
                self.environment
            );
        }
        let what = if self.before.keys().all(OptionKey::is_property) {
            "properties"
        } else {
            "options"
        };
        format!(
            "environment {}: {what} already as before the run",
            self.environment
        )
    }
}

/// A value as undo lines and drift show it.
fn shown(value: Option<&String>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), Clone::clone)
}

impl super::Journaled for OptionsUndo {
    const SHAPES: &'static [(&'static str, &'static str)] = &[(
        "",
        r#"`{"environment", "before": {NAMESPACE: {NAME: value or null}}, "after": {...}}`: each option the step changes, by namespace (`{"aws:autoscaling:asg": {"MinSize": "2"}}`), before and after (`null`: not set; undo removes it)"#,
    )];
}

#[async_trait]
impl super::Undo for OptionsUndo {
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        // An update in progress (an earlier, interrupted undo's, or someone's) decides what the
        // environment runs only once it ends: until then its values are a draft.
        let env = environment(ctx, &self.environment).await?;
        if busy(&env) {
            wait_ready(ctx, &[&self.environment]).await?;
        }
        let (_, current) = read_options(ctx, &self.environment).await?;
        let mut restore = Options::new();
        let mut drift = Vec::new();
        for (key, before) in &self.before {
            let now = current.get(key);
            if now == before.as_ref() {
                continue;
            }
            let after = self.after.get(key).and_then(Option::as_ref);
            if now != after {
                drift.push(Drift {
                    resource: Resource::option(&self.environment, key).to_string(),
                    expected: shown(after),
                    found: shown(now),
                });
            }
            restore.insert(key.clone(), before.clone());
        }
        if !drift.is_empty() && !force {
            return Err(StepError::Drift(drift));
        }
        if restore.is_empty() {
            return Ok(vec![self.nothing_to_undo()]);
        }
        if let Some(failed) = self.put(ctx, &restore).await? {
            return Err(failed.into());
        }
        Ok(restore
            .iter()
            .map(|(key, v)| {
                format!(
                    "environment {}: restored {}",
                    Resource::option(&self.environment, key),
                    shown(v.as_ref())
                )
            })
            .collect())
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        let option = |key: &OptionKey, value: Option<&String>| {
            let mut o = serde_json::json!({"Namespace": key.namespace, "OptionName": key.name});
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
        vec![line.text(), wait_by_hand(aws, &[&self.environment])]
    }
}
