//! What the `eb.*` kinds share: finding an environment, refusing to touch one that is not
//! Ready, waiting until the operation a write started has ended and failing with Elastic
//! Beanstalk's own words when it reports errors ([`ended`]), and writing configuration options
//! with an exact undo ([`write_options`], [`OptionsUndo`]): `eb.set-options` writes any,
//! `eb.set-env` the properties namespace's, `eb.scale` the capacity's.

use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    limits, Action, Change, Ctx, Drift, FieldError, Mutation, Prepared, Resource, StepError, Value,
};
use crate::aws::cli::Line;
use crate::aws::eb::{self, Accepted, Env, OptionKey};
use crate::aws::{AwsError, Poller};
use crate::config::AwsSettings;
use crate::iam::{arn, Arn, Grant, Needs};

/// Reading environments (and their settings), plus `writes` on them when running, the events
/// those writes log, and what Elastic Beanstalk does underneath each write with the caller's
/// permissions ([`underneath`]).
pub(super) fn needs(environments: &[&str], writes: &'static [&'static str]) -> Needs {
    let arns: Vec<Arn> = environments.iter().map(|e| arn::environment(e)).collect();
    let mut run = Vec::new();
    if !writes.is_empty() {
        run.push(Grant::new(writes, arns));
        // How the operation a write started ended: the events it logged.
        run.push(Grant::any(&["elasticbeanstalk:DescribeEvents"]));
    }
    for write in writes {
        run.extend(underneath(write));
    }
    Needs {
        plan: vec![
            Grant::any(&["elasticbeanstalk:DescribeEnvironments"]),
            Grant::new(
                &["elasticbeanstalk:DescribeConfigurationSettings"],
                [Arn::Any],
            ),
        ],
        run,
    }
}

/// The environment's CloudFormation stack, Auto Scaling group and storage bucket, as AWS's
/// managed policy `AdministratorAccess-AWSElasticBeanstalk` scopes them.
fn stack() -> Arn {
    Arn::regional("cloudformation", "stack/awseb-*")
}
fn group() -> Arn {
    Arn::regional(
        "autoscaling",
        "autoScalingGroup:*:autoScalingGroupName/awseb-*",
    )
}
fn bucket() -> Arn {
    Arn::unowned("s3", "elasticbeanstalk-*")
}
fn objects() -> Arn {
    Arn::unowned("s3", "elasticbeanstalk-*/*")
}

/// What Elastic Beanstalk calls on the services underneath when the caller makes `write`:
/// it acts with the caller's permissions (AWS: "Elastic Beanstalk requires AWS CloudFormation
/// permissions to orchestrate resource deployments and updates"), so a role allowed only the
/// Elastic Beanstalk action is refused on the bad day. AWS lists no dependent actions for
/// these calls; the lists follow the managed policy's resource patterns and the calls users of
/// Elastic Beanstalk deploy tools found denied (docs/playbook.md, "Least privilege").
fn underneath(write: &str) -> Vec<Grant> {
    let stack_reads: &'static [&'static str] = &[
        "cloudformation:DescribeStackResource",
        "cloudformation:DescribeStackResources",
        "cloudformation:DescribeStacks",
    ];
    match write {
        "elasticbeanstalk:UpdateEnvironment" => vec![
            Grant::new(
                &[
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:DescribeStackResource",
                    "cloudformation:DescribeStackResources",
                    "cloudformation:DescribeStacks",
                    "cloudformation:GetTemplate",
                    "cloudformation:ListStackResources",
                    "cloudformation:UpdateStack",
                ],
                [stack()],
            ),
            Grant::new(
                &[
                    "autoscaling:ResumeProcesses",
                    "autoscaling:SuspendProcesses",
                ],
                [group()],
            ),
            Grant::any(&[
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "ec2:DescribeAccountAttributes",
                "ec2:DescribeAddresses",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeKeyPairs",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
                "elasticbeanstalk:CreateStorageLocation",
                "elasticloadbalancing:DescribeInstanceHealth",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
            ]),
            Grant::new(
                &[
                    "s3:CreateBucket",
                    "s3:GetBucketLocation",
                    "s3:GetBucketPolicy",
                    "s3:ListBucket",
                ],
                [bucket()],
            ),
            Grant::new(
                &[
                    "s3:DeleteObject",
                    "s3:GetObject",
                    "s3:GetObjectAcl",
                    "s3:PutObject",
                    "s3:PutObjectAcl",
                ],
                [objects()],
            ),
        ],
        "elasticbeanstalk:RestartAppServer" => vec![
            Grant::new(stack_reads, [stack()]),
            Grant::any(&[
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "ec2:DescribeInstances",
            ]),
        ],
        "elasticbeanstalk:SwapEnvironmentCNAMEs" => vec![
            Grant::new(stack_reads, [stack()]),
            Grant::any(&["elasticloadbalancing:DescribeLoadBalancers"]),
        ],
        _ => Vec::new(),
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

/// How long a change waits for an environment busy with another update (the change of a run
/// killed moments ago, or of a parallel step) to be Ready before writing to it. An
/// environment whose health is Severe (the incident's production, stuck) is not waited for.
const BUSY: Duration = Duration::from_secs(120);

/// The environment must be Ready to take a change: one that is updating, and not Severe, is
/// waited for up to [`BUSY`].
pub(super) async fn ready(ctx: &Ctx, name: &str) -> Result<(), StepError> {
    let env = environment(ctx, name).await?;
    if env.is_ready() || !busy(&env) {
        return require_ready(&env);
    }
    match tokio::time::timeout(BUSY, wait_ready(ctx, &[name])).await {
        Ok(waited) => waited.map(drop),
        Err(_) => require_ready(&environment(ctx, name).await?),
    }
}

/// Updating (or launching) towards Ready: not stuck with Severe health, as the incident's
/// production is.
fn busy(env: &Env) -> bool {
    matches!(env.status.as_str(), "Updating" | "Launching") && !env.is_severe()
}

fn require_ready(env: &Env) -> Result<(), StepError> {
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

/// Elastic Beanstalk's refusal of a write to an environment that is not Ready:
/// `InvalidParameterValue`, "Environment named X is in an invalid state for this operation.
/// Must be Ready." (docs/aws-behaviour.md).
fn refused_not_ready(e: &AwsError) -> bool {
    e.code.as_deref() == Some("InvalidParameterValue")
        && e.message.contains("invalid state for this operation")
}

/// Makes `write`, on the environments `names`, once they are Ready ([`ready`]). An operation
/// accepted a moment ago (the restart of a run killed an instant earlier, whose rollback
/// starts now) leaves an environment Ready until it starts: a write then is refused as not
/// Ready, and is made again once the environment is, for up to [`BUSY`].
pub(super) async fn when_ready<F, Fut>(
    ctx: &Ctx,
    names: &[&str],
    resource: &str,
    write: F,
) -> Result<Accepted, StepError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Accepted, AwsError>>,
{
    let started = Instant::now();
    let mut poller = Poller::new(&ctx.waits);
    loop {
        for name in names {
            ready(ctx, name).await?;
        }
        match write().await {
            Err(e) if refused_not_ready(&e) && started.elapsed() < BUSY => poller
                .wait(
                    e.operation,
                    &format!("{resource}: an operation it accepted"),
                )
                .await
                .map_err(StepError::aws(resource))?,
            written => return written.map_err(StepError::aws(resource)),
        }
    }
}

/// Waits until every environment in `names` is Ready (the step's timeout bounds the wait).
pub(super) async fn wait_ready(ctx: &Ctx, names: &[&str]) -> Result<Vec<Env>, StepError> {
    eb::wait(&ctx.aws.elasticbeanstalk, names, &ctx.waits, Env::is_ready)
        .await
        .map_err(StepError::aws(format!("environment {}", names.join(", "))))
}

/// Waits until the operation `op`, which a write made on `names`, has ended (the step's timeout
/// bounds the wait). `Err(Failed)` when Elastic Beanstalk reported it failed: a deployment that
/// failed is rolled back, the environment Ready again with the configuration it had.
pub(super) async fn ended(
    ctx: &Ctx,
    names: &[&str],
    op: &Accepted,
) -> Result<Result<Vec<Env>, Failed>, StepError> {
    let resource = format!("environment {}", names.join(", "));
    let ended = eb::until_ended(&ctx.aws.elasticbeanstalk, names, op, &ctx.waits)
        .await
        .map_err(StepError::aws(&resource))
        .map_err(StepError::after_change)?;
    let errors: Vec<&str> = ended
        .events
        .iter()
        .filter(|e| e.is_error())
        .map(|e| e.message.as_str())
        .collect();
    if errors.is_empty() {
        return Ok(Ok(ended.envs));
    }
    let now: Vec<String> = ended
        .envs
        .iter()
        .map(|e| format!("{} {}", e.name, e.describe()))
        .collect();
    Ok(Err(Failed {
        resource,
        words: errors.join(" "),
        now: now.join(", "),
    }))
}

/// An operation Elastic Beanstalk reported failed: its ERROR events' messages, in order, and
/// the environments' states once it ended.
#[derive(Debug)]
pub(super) struct Failed {
    resource: String,
    words: String,
    now: String,
}

impl From<Failed> for StepError {
    fn from(f: Failed) -> Self {
        StepError::failed(
            f.resource,
            format!(
                "Elastic Beanstalk reports the change failed (now {}): {}",
                f.now, f.words
            ),
        )
    }
}

/// The aws CLI line that waits, as standin does, until environments are Ready after a change
/// made by hand (Elastic Beanstalk refuses the next change until then).
pub fn wait_by_hand(aws: &AwsSettings, environments: &[&str]) -> String {
    Line::new(aws, "elasticbeanstalk", "wait")
        .flag("environment-updated")
        .args("--environment-names", environments)
        .text()
}

/// Options as a step wants them, or as an undo record holds them: each set to a value
/// (`Some`) or not set (`None`).
pub type Options = BTreeMap<OptionKey, Option<String>>;

/// An environment's options as read: each one that has a value.
pub type Current = BTreeMap<OptionKey, String>;

/// An environment's name in the step's `field`, as Elastic Beanstalk takes it.
pub(super) fn check_environment(field: &str, name: &str) -> Result<(), FieldError> {
    limits::environment_name(name).map_err(|l| l.at(&[field]))
}

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

/// The Auto Scaling group's bounds.
const SCALING: &[(&str, &str)] = &[
    ("aws:autoscaling:asg", "MinSize"),
    ("aws:autoscaling:asg", "MaxSize"),
];
/// Options whose change replaces the environment's instances.
const REPLACING: &[(&str, &str)] = &[
    ("aws:ec2:instances", "InstanceTypes"),
    ("aws:autoscaling:launchconfiguration", "InstanceType"),
    ("aws:autoscaling:launchconfiguration", "IamInstanceProfile"),
];

/// The role of Elastic Beanstalk's default instance profile (profile and role share the name).
const DEFAULT_INSTANCE_ROLE: &str = "aws-elasticbeanstalk-ec2-role";

/// What writing (and restoring) `options` on `environment` takes: UpdateEnvironment and what
/// Elastic Beanstalk does underneath any update ([`needs`]), plus what these options make it
/// do with the caller's permissions: new bounds for the Auto Scaling group, or new instances
/// (a launch template version, instances run and terminated, registered with the load
/// balancer's target group, the instance role passed to them). The role is the default
/// instance profile's, and the one a value of `IamInstanceProfile` names; an environment
/// whose instances run under another role needs `iam:PassRole` on that one as well.
pub(super) fn option_needs(environment: &str, options: &Options) -> Needs {
    let mut needs = needs(&[environment], &["elasticbeanstalk:UpdateEnvironment"]);
    let is = |key: &OptionKey, list: &[(&str, &str)]| {
        list.iter()
            .any(|(ns, name)| key.namespace == *ns && key.name == *name)
    };
    let (mut scales, mut replaces) = (false, false);
    let mut roles = vec![DEFAULT_INSTANCE_ROLE.to_owned()];
    for (key, value) in options {
        let value = value.as_deref();
        scales |= is(key, SCALING);
        replaces |= is(key, REPLACING);
        if key.name == "IamInstanceProfile" {
            // A profile by name or ARN; standin assumes its role has its name, as the default's.
            if let Some(profile) = value
                .and_then(|v| v.rsplit('/').next())
                .filter(|p| !p.is_empty())
            {
                roles.push(profile.to_owned());
            }
        }
    }
    if scales || replaces {
        let actions: &'static [&'static str] = if replaces {
            &[
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                "autoscaling:UpdateAutoScalingGroup",
            ]
        } else {
            &["autoscaling:UpdateAutoScalingGroup"]
        };
        needs.run.push(Grant::new(actions, [group()]));
    }
    if replaces {
        needs.run.extend([
            Grant::new(
                &["ec2:CreateLaunchTemplateVersion"],
                [Arn::regional("ec2", "launch-template/*")],
            ),
            Grant::any(&["ec2:CreateTags", "ec2:RunInstances"]),
            Grant::new(
                &["ec2:TerminateInstances"],
                [Arn::regional("ec2", "instance/*")],
            ),
            Grant::new(
                &[
                    "elasticloadbalancing:DeregisterTargets",
                    "elasticloadbalancing:RegisterTargets",
                ],
                [Arn::regional("elasticloadbalancing", "targetgroup/awseb-*")],
            ),
            Grant::new(
                &["iam:PassRole"],
                roles
                    .iter()
                    .map(|r| Arn::global("iam", format!("role/{r}"))),
            ),
        ]);
    }
    needs
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

/// Checks the fields of a kind on `shop-staging` (`fields`: YAML, one per line).
#[cfg(test)]
pub(super) fn check_fields<K: super::Kind>(fields: &str) -> Result<(), FieldError> {
    let step: K = serde_yaml::from_str(&format!("environment: shop-staging\n{fields}")).unwrap();
    step.check()
}
