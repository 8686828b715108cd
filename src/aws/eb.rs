//! Elastic Beanstalk environments: their state, their configuration options (environment
//! properties among them), and waiting for them to settle after a change: until the operation
//! a write started has ended, with the events it logged.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_elasticbeanstalk::operation::RequestId;
use aws_sdk_elasticbeanstalk::primitives::DateTime;
use aws_sdk_elasticbeanstalk::types::{
    ConfigurationDeploymentStatus, ConfigurationOptionSetting, EnvironmentDescription,
    EnvironmentStatus, EventSeverity, OptionSpecification,
};
use aws_sdk_elasticbeanstalk::Client;

use super::{AwsError, Call, Poller};
use crate::stop::Waits;

/// Where environment properties (the app's environment variables) live.
pub const PROPERTIES: &str = "aws:elasticbeanstalk:application:environment";

/// What standin needs to know of an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    pub name: String,
    pub application: String,
    /// `Launching`, `Updating`, `Ready`, `Terminating`, `Terminated`, ...
    pub status: String,
    /// `Green`, `Yellow`, `Red`, `Grey`.
    pub health: String,
    /// Enhanced health: `Ok`, `Warning`, `Degraded`, `Severe`, ... when reported.
    pub health_status: Option<String>,
    pub cname: Option<String>,
    /// `WebServer` or `Worker`.
    pub tier: String,
}

impl Env {
    /// Whether `cname` is this environment's CNAME (any letter case, with or without the
    /// final dot).
    pub fn has_cname(&self, cname: &str) -> bool {
        let bare = |c: &str| c.trim_end_matches('.').to_ascii_lowercase();
        self.cname
            .as_deref()
            .is_some_and(|c| bare(c) == bare(cname))
    }

    fn from_sdk(e: &EnvironmentDescription) -> Self {
        Self {
            name: e.environment_name().unwrap_or_default().to_owned(),
            application: e.application_name().unwrap_or_default().to_owned(),
            status: e
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            health: e
                .health()
                .map(|h| h.as_str().to_owned())
                .unwrap_or_default(),
            health_status: e.health_status().map(|h| h.as_str().to_owned()),
            cname: e.cname().filter(|c| !c.is_empty()).map(str::to_owned),
            tier: e
                .tier()
                .and_then(|t| t.name())
                .unwrap_or_default()
                .to_owned(),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.status == "Ready"
    }

    /// Enhanced health Severe, or basic health Red where enhanced health is not reported.
    pub fn is_severe(&self) -> bool {
        match &self.health_status {
            Some(status) => status == "Severe",
            None => self.health == "Red",
        }
    }

    /// `Ready, Green (Ok)`, for plans and errors.
    pub fn describe(&self) -> String {
        match &self.health_status {
            Some(hs) => format!("{}, {} ({hs})", self.status, self.health),
            None => format!("{}, {}", self.status, self.health),
        }
    }
}

/// Reads an environment by name; `None` if there is no live one.
pub async fn describe(client: &Client, name: &str) -> Result<Option<Env>, AwsError> {
    Ok(seen(client, name).await?.map(|(env, _)| env))
}

/// An environment and when Elastic Beanstalk last modified it (`DateUpdated`).
async fn seen(client: &Client, name: &str) -> Result<Option<(Env, Option<SystemTime>)>, AwsError> {
    let out = client
        .describe_environments()
        .environment_names(name)
        .include_deleted(false)
        .send()
        .await
        .op("ElasticBeanstalk.DescribeEnvironments")?;
    Ok(out
        .environments()
        .iter()
        .find(|e| e.environment_name() == Some(name))
        .map(|e| (Env::from_sdk(e), e.date_updated().and_then(time))))
}

fn time(date: &DateTime) -> Option<SystemTime> {
    SystemTime::try_from(*date).ok()
}

/// Every live environment, following pages.
pub async fn list(client: &Client) -> Result<Vec<Env>, AwsError> {
    let mut token = None;
    let mut all = Vec::new();
    loop {
        let out = client
            .describe_environments()
            .include_deleted(false)
            .set_next_token(token)
            .send()
            .await
            .op("ElasticBeanstalk.DescribeEnvironments")?;
        all.extend(out.environments().iter().map(Env::from_sdk));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(all);
        }
    }
}

/// Environments asked about at once.
const READERS: usize = 8;

/// The environments among `envs` that a load balancer fronts (Elastic Beanstalk names an
/// environment's load balancers among its resources, by name or ARN), several asked at once.
pub async fn fronted_by(
    client: &Client,
    envs: Vec<Env>,
    lb: &super::elbv2::LoadBalancer,
) -> Result<Vec<Env>, AwsError> {
    let fronts = super::pace::all(envs.len(), READERS, |i| {
        load_balancers_of(client, &envs[i].name)
    })
    .await
    .all_or_error()?;
    Ok(envs
        .into_iter()
        .zip(fronts)
        .filter(|(_, lbs)| lbs.iter().any(|n| *n == lb.arn || *n == lb.name))
        .map(|(env, _)| env)
        .collect())
}

/// The load balancers in front of an environment, by name or ARN as Elastic Beanstalk lists
/// them among its resources.
pub async fn load_balancers_of(client: &Client, env: &str) -> Result<Vec<String>, AwsError> {
    let out = client
        .describe_environment_resources()
        .environment_name(env)
        .send()
        .await
        .op("ElasticBeanstalk.DescribeEnvironmentResources")?;
    Ok(out
        .environment_resources()
        .map(|r| r.load_balancers())
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.name().map(str::to_owned))
        .collect())
}

/// One configuration option of an environment: its namespace and name, as Elastic Beanstalk
/// names them (`aws:autoscaling:asg` `MinSize`). Environment properties are the options of
/// [`PROPERTIES`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptionKey {
    pub namespace: String,
    pub name: String,
}

impl OptionKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The environment property `name`.
    pub fn property(name: &str) -> Self {
        Self::new(PROPERTIES, name)
    }

    pub fn is_property(&self) -> bool {
        self.namespace == PROPERTIES
    }
}

/// Every option the environment's deployed configuration has a value for
/// (DescribeConfigurationSettings, which answers even for an environment that accepts no
/// change). While an update deploys, or after one failed, AWS also lists a draft (`pending`,
/// `failed`) whose values the environment does not run: left out. A property listed without a
/// value is the empty string; any other option listed without one is not set (AWS lists options
/// it knows whether or not they hold a value).
pub async fn options(client: &Client, env: &Env) -> Result<BTreeMap<OptionKey, String>, AwsError> {
    let out = client
        .describe_configuration_settings()
        .application_name(&env.application)
        .environment_name(&env.name)
        .send()
        .await
        .op("ElasticBeanstalk.DescribeConfigurationSettings")?;
    Ok(out
        .configuration_settings()
        .iter()
        .filter(|c| {
            matches!(
                c.deployment_status(),
                None | Some(ConfigurationDeploymentStatus::Deployed)
            )
        })
        .flat_map(|c| c.option_settings())
        .filter_map(|o| {
            let key = OptionKey::new(o.namespace()?, o.option_name()?);
            let value = match o.value() {
                Some(value) => value.to_owned(),
                None if key.is_property() => String::new(),
                None => return None,
            };
            Some((key, value))
        })
        .collect())
}

/// The properties of each of `envs`, in order, several read at once.
pub async fn properties_of(
    client: &Client,
    envs: &[Env],
) -> Result<Vec<BTreeMap<String, String>>, AwsError> {
    super::pace::all(envs.len(), READERS, |i| properties(client, &envs[i]))
        .await
        .all_or_error()
}

/// The environment's properties (its app's environment variables).
pub async fn properties(client: &Client, env: &Env) -> Result<BTreeMap<String, String>, AwsError> {
    Ok(options(client, env)
        .await?
        .into_iter()
        .filter(|(key, _)| key.is_property())
        .map(|(key, value)| (key.name, value))
        .collect())
}

/// Sets (`Some`) and removes (`None`) options in one UpdateEnvironment.
pub async fn update_options(
    client: &Client,
    env: &str,
    changes: &BTreeMap<OptionKey, Option<String>>,
) -> Result<Accepted, AwsError> {
    let at = SystemTime::now();
    let mut request = client.update_environment().environment_name(env);
    for (key, value) in changes {
        request = match value {
            Some(value) => request.option_settings(
                ConfigurationOptionSetting::builder()
                    .namespace(&key.namespace)
                    .option_name(&key.name)
                    .value(value)
                    .build(),
            ),
            None => request.options_to_remove(
                OptionSpecification::builder()
                    .namespace(&key.namespace)
                    .option_name(&key.name)
                    .build(),
            ),
        };
    }
    let out = request
        .send()
        .await
        .op("ElasticBeanstalk.UpdateEnvironment")?;
    Ok(Accepted {
        request_id: out.request_id().map(str::to_owned),
        at,
        updating: out.status() == Some(&EnvironmentStatus::Updating),
    })
}

/// Restarts the application server on every instance of `env` (the environment stays up).
pub async fn restart_app_server(client: &Client, env: &str) -> Result<Accepted, AwsError> {
    let at = SystemTime::now();
    let out = client
        .restart_app_server()
        .environment_name(env)
        .send()
        .await
        .op("ElasticBeanstalk.RestartAppServer")?;
    Ok(Accepted::turning_updating_later(out.request_id(), at))
}

/// Swaps the CNAMEs of two environments (Elastic Beanstalk's blue/green switch).
pub async fn swap_cnames(
    client: &Client,
    source: &str,
    destination: &str,
) -> Result<Accepted, AwsError> {
    let at = SystemTime::now();
    let out = client
        .swap_environment_cnames()
        .source_environment_name(source)
        .destination_environment_name(destination)
        .send()
        .await
        .op("ElasticBeanstalk.SwapEnvironmentCNAMEs")?;
    Ok(Accepted::turning_updating_later(out.request_id(), at))
}

/// A write Elastic Beanstalk accepted: an operation that runs on after the call, whose events
/// carry the call's RequestId (DescribeEvents' `RequestId` filter).
#[derive(Debug, Clone)]
pub struct Accepted {
    request_id: Option<String>,
    /// Just before the call: where its events start if the answer carried no RequestId.
    at: SystemTime,
    /// The answer showed the environment Updating already (UpdateEnvironment's does);
    /// RestartAppServer and SwapEnvironmentCNAMEs answer nothing, and the environment may show
    /// Ready for a moment before it turns Updating.
    updating: bool,
}

impl Accepted {
    fn turning_updating_later(request_id: Option<&str>, at: SystemTime) -> Self {
        Self {
            request_id: request_id.map(str::to_owned),
            at,
            updating: false,
        }
    }
}

/// One event Elastic Beanstalk logged for an operation.
#[derive(Debug, Clone)]
pub struct Event {
    pub date: SystemTime,
    /// `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`.
    pub severity: String,
    pub message: String,
}

impl Event {
    pub fn is_error(&self) -> bool {
        matches!(self.severity.as_str(), "ERROR" | "FATAL")
    }
}

/// An operation that has ended: its environments' states, and every event it logged, oldest
/// first.
#[derive(Debug)]
pub struct Ended {
    pub envs: Vec<Env>,
    pub events: Vec<Event>,
}

/// The events operation `op` logged (on any of its environments), oldest first; when its
/// answer carried no RequestId, every event of `names` since the call.
async fn events(client: &Client, names: &[&str], op: &Accepted) -> Result<Vec<Event>, AwsError> {
    let scopes: Vec<Option<&str>> = match op.request_id {
        Some(_) => vec![None],
        None => names.iter().map(|n| Some(*n)).collect(),
    };
    let mut all = Vec::new();
    for scope in scopes {
        let mut token = None;
        loop {
            let request = client
                .describe_events()
                .set_environment_name(scope.map(str::to_owned))
                .set_next_token(token);
            let request = match &op.request_id {
                Some(id) => request.request_id(id),
                None => request.start_time(DateTime::from(op.at)),
            };
            let out = request.send().await.op("ElasticBeanstalk.DescribeEvents")?;
            all.extend(out.events().iter().map(|e| {
                Event {
                    date: e.event_date().and_then(time).unwrap_or(op.at),
                    severity: e
                        .severity()
                        .map_or("INFO", EventSeverity::as_str)
                        .to_owned(),
                    message: e.message().unwrap_or_default().to_owned(),
                }
            }));
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    // AWS lists the most recent first.
    all.reverse();
    all.sort_by_key(|e| e.date);
    Ok(all)
}

/// Polls until the operation `op` started on `names` has ended on each, and returns what it
/// logged. An environment's operation has ended once it is Ready and, since the call, was seen
/// in another status or was modified (`DateUpdated`) no earlier than the operation's first
/// event: Ready alone is no proof, as a restart or swap leaves it Ready for a moment after the
/// call (and logs its first event then). The step's timeout bounds the wait; an environment
/// that disappears ends it with an error.
pub async fn until_ended(
    client: &Client,
    names: &[&str],
    op: &Accepted,
    waits: &Waits,
) -> Result<Ended, AwsError> {
    let mut poller = Poller::new(waits);
    let mut moved = vec![op.updating; names.len()];
    let mut began = None;
    loop {
        // The first event is read before the states it is compared with.
        if began.is_none() && !moved.iter().all(|m| *m) {
            began = events(client, names, op).await?.first().map(|e| e.date);
        }
        let mut states = Vec::with_capacity(names.len());
        for (name, moved) in names.iter().zip(&mut moved) {
            let (env, updated) = seen(client, name).await?.ok_or_else(|| gone(name))?;
            *moved |= !env.is_ready();
            let modified = matches!((updated, began), (Some(u), Some(b)) if u >= b);
            let ended = env.is_ready() && (*moved || modified);
            states.push((env, ended));
        }
        if states.iter().all(|(_, ended)| *ended) {
            return Ok(Ended {
                envs: states.into_iter().map(|(env, _)| env).collect(),
                events: events(client, names, op).await?,
            });
        }
        let what: Vec<String> = states
            .iter()
            .filter(|(_, ended)| !ended)
            .map(|(env, _)| {
                let state = format!("{} {} ({})", env.name, env.status, env.health);
                if env.is_ready() {
                    format!("{state}, the change not started yet")
                } else {
                    state
                }
            })
            .collect();
        poller
            .wait("ElasticBeanstalk.DescribeEnvironments", &what.join(", "))
            .await?;
    }
}

fn gone(name: &str) -> AwsError {
    AwsError::new(
        "ElasticBeanstalk.DescribeEnvironments",
        "NotFound",
        format!("environment {name} disappeared while standin waited for it"),
    )
}

/// Polls until every environment in `names` satisfies `done`; returns their last states.
/// The step's timeout bounds the wait; `Terminated` environments end it with an error.
pub async fn wait(
    client: &Client,
    names: &[&str],
    waits: &Waits,
    done: impl Fn(&Env) -> bool,
) -> Result<Vec<Env>, AwsError> {
    let mut poller = Poller::new(waits);
    loop {
        let mut states = Vec::with_capacity(names.len());
        for name in names {
            states.push(describe(client, name).await?.ok_or_else(|| gone(name))?);
        }
        if states.iter().all(&done) {
            return Ok(states);
        }
        let what: Vec<String> = states
            .iter()
            .filter(|env| !done(env))
            .map(|env| format!("{} {} ({})", env.name, env.status, env.health))
            .collect();
        poller
            .wait("ElasticBeanstalk.DescribeEnvironments", &what.join(", "))
            .await?;
    }
}
