//! Elastic Beanstalk environments: their state, their configuration options (environment
//! properties among them), and waiting for them to settle after a change.

use std::collections::BTreeMap;

use aws_sdk_elasticbeanstalk::types::{
    ConfigurationOptionSetting, EnvironmentDescription, OptionSpecification,
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
        .map(Env::from_sdk))
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

/// Every option the environment's configuration has a value for (DescribeConfigurationSettings,
/// which answers even for an environment that accepts no change). A property listed without a
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
) -> Result<(), AwsError> {
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
    request
        .send()
        .await
        .op("ElasticBeanstalk.UpdateEnvironment")
        .map(drop)
}

/// Restarts the application server on every instance of `env` (the environment stays up).
pub async fn restart_app_server(client: &Client, env: &str) -> Result<(), AwsError> {
    client
        .restart_app_server()
        .environment_name(env)
        .send()
        .await
        .op("ElasticBeanstalk.RestartAppServer")
        .map(drop)
}

/// Swaps the CNAMEs of two environments (Elastic Beanstalk's blue/green switch).
pub async fn swap_cnames(client: &Client, source: &str, destination: &str) -> Result<(), AwsError> {
    client
        .swap_environment_cnames()
        .source_environment_name(source)
        .destination_environment_name(destination)
        .send()
        .await
        .op("ElasticBeanstalk.SwapEnvironmentCNAMEs")
        .map(drop)
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
            let env = describe(client, name).await?.ok_or_else(|| {
                AwsError::new(
                    "ElasticBeanstalk.DescribeEnvironments",
                    "NotFound",
                    format!("environment {name} disappeared while standin waited for it"),
                )
            })?;
            states.push(env);
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
