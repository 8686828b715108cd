//! AWS access: one place builds the SDK configuration and clients, one place turns SDK errors into
//! messages a human can act on (operation, service code, message).
//!
//! Clients come from aws-config's standard chain (AWS_PROFILE, AWS_REGION, credential variables,
//! AWS_ENDPOINT_URL), so the local emulator is reached with no code path of its own. A playbook's
//! `aws:` block overrides the chain where it says something.

pub mod account;
pub mod acm;
pub mod autoscaling;
mod calls;
pub mod cli;
pub mod cloudfront;
pub mod dynamodb;
pub mod eb;
pub mod elbv2;
pub mod events;
pub mod health;
pub mod iam;
pub mod identity;
pub mod pace;
pub mod route53;
pub mod run_command;
pub mod s3;
pub mod ssm;
pub mod tagging;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;

use std::collections::BTreeMap;

use crate::config::{self, AwsSettings};

use crate::stop::{Interrupted, Waits};

/// A client of service crate `$sdk` from an `SdkConfig`, with every call logged (see
/// [`calls`]).
macro_rules! client {
    ($sdk:ident, $config:expr) => {
        crate::aws::client!($sdk, $config, None)
    };
    ($sdk:ident, $config:expr, $account:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .interceptor(crate::aws::calls::Logged($account))
                .build(),
        )
    };
}
pub(crate) use client;

/// The service clients a step may use. Building them makes no network call.
#[derive(Clone, Debug)]
pub struct Clients {
    pub route53: aws_sdk_route53::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub elasticbeanstalk: aws_sdk_elasticbeanstalk::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub acm: aws_sdk_acm::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub sts: aws_sdk_sts::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
}

impl Clients {
    /// Loads the standard chain, applies the playbook's overrides, and builds every client.
    ///
    /// Retries: the SDK's standard mode (exponential backoff with jitter on throttling, 5xx and
    /// transient network errors), 5 attempts. Each operation, retries included, is bounded so a
    /// hung endpoint cannot stall a run forever.
    pub async fn load(settings: &AwsSettings) -> Self {
        Self::load_as(settings, None).await
    }

    /// As [`Clients::load`], for the account `name` of a playbook's `accounts:` (the call
    /// log names it).
    async fn load_as(settings: &AwsSettings, name: Option<&str>) -> Self {
        let config = config(settings).await;
        let name: Option<std::sync::Arc<str>> = name.map(Into::into);
        Self {
            route53: client!(aws_sdk_route53, &config, name.clone()),
            ssm: client!(aws_sdk_ssm, &config, name.clone()),
            elasticbeanstalk: client!(aws_sdk_elasticbeanstalk, &config, name.clone()),
            elbv2: client!(aws_sdk_elasticloadbalancingv2, &config, name.clone()),
            acm: client!(aws_sdk_acm, &config, name.clone()),
            tagging: client!(aws_sdk_resourcegroupstagging, &config, name.clone()),
            sts: client!(aws_sdk_sts, &config, name.clone()),
            eventbridge: client!(aws_sdk_eventbridge, &config, name.clone()),
            scheduler: client!(aws_sdk_scheduler, &config, name.clone()),
            cloudfront: client!(aws_sdk_cloudfront, &config, name.clone()),
            autoscaling: client!(aws_sdk_autoscaling, &config, name),
        }
    }
}

/// The region calls with `settings` go to, without a call: theirs, else `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`), else the profile's; `None` when none says (the standard chain would
/// ask the instance metadata service next).
pub async fn region(settings: &AwsSettings) -> Option<String> {
    if let Some(region) = &settings.region {
        return Some(region.clone());
    }
    let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(name) = &settings.profile {
        profile = profile.profile_name(name);
    }
    aws_config::meta::region::RegionProviderChain::first_try(
        aws_config::environment::region::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(profile.build())
    .region()
    .await
    .map(|r| r.to_string())
}

/// An account's SDK configuration (credentials, region, endpoint), as [`config`] loads it:
/// the clients of a read that is made once (`doctor`'s) are built from it where they are used.
pub type Config = SdkConfig;

/// The standard chain with `settings`' overrides, and the retry and timeout policy of every
/// client (see [`Clients::load`]).
pub async fn config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let base = loader.load().await;
    let Some(role) = &settings.role_arn else {
        return base;
    };
    // The role's credentials, from STS with the base ones, asked for on the first call and
    // renewed before they expire (the config's identity cache); STS itself is reached through
    // the same region and endpoint.
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("standin")
        .configure(&base);
    if let Some(id) = &settings.external_id {
        provider = provider.external_id(id);
    }
    let provider = provider.build().await;
    base.into_builder()
        .credentials_provider(aws_sdk_route53::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

/// Every account a playbook acts in: its own `aws:` settings and the `accounts:` it names,
/// each with its clients. Building them makes no network call (roles are assumed on first use).
#[derive(Clone, Debug)]
pub struct Accounts {
    default: Clients,
    named: BTreeMap<String, Clients>,
}

impl Accounts {
    pub async fn load(default: &AwsSettings, named: &config::Accounts) -> Self {
        let mut clients = BTreeMap::new();
        for (name, settings) in named {
            clients.insert(name.clone(), Clients::load_as(settings, Some(name)).await);
        }
        Self {
            default: Clients::load(default).await,
            named: clients,
        }
    }

    /// The clients of the account `name` (`None`: the playbook's `aws:`). Names are checked
    /// against `accounts:` when a playbook or a journal is read, so an unknown one is a bug;
    /// it gets no clients rather than another account's.
    pub fn get(&self, name: Option<&str>) -> Option<&Clients> {
        match name {
            None => Some(&self.default),
            Some(name) => self.named.get(name),
        }
    }

    /// The clients of the playbook's own account (`aws:`).
    pub fn own(&self) -> &Clients {
        &self.default
    }

    /// Every account's name (`None`: the playbook's own) and clients, the playbook's own
    /// first, then by name.
    pub fn all(&self) -> impl Iterator<Item = (Option<&str>, &Clients)> {
        std::iter::once((None, &self.default))
            .chain(self.named.iter().map(|(name, c)| (Some(name.as_str()), c)))
    }

    /// Whether the playbook acts in more than its own account.
    pub fn several(&self) -> bool {
        !self.named.is_empty()
    }
}

/// What a conditional write expects to find (S3 objects, DynamoDB items).
#[derive(Debug, Clone, Copy)]
pub enum Expect<'a> {
    /// Nothing there yet.
    Absent,
    /// This version: what the last read or write returned.
    Version(&'a str),
}

/// Waits between polls: quick at first, since many changes settle in seconds, then backing
/// off up to [`Waits::every`]; a stop asked for ends the wait at once.
pub struct Poller<'a> {
    next: Duration,
    waits: &'a Waits,
    started: std::time::Instant,
}

impl<'a> Poller<'a> {
    pub fn new(waits: &'a Waits) -> Self {
        Self {
            next: Duration::from_millis(250).min(waits.every),
            waits,
            started: std::time::Instant::now(),
        }
    }

    /// Says what is waited for (`what`, e.g. "Route 53 change PENDING"), then sleeps until
    /// the next poll; `operation` names the call polled if a stop ends the wait.
    pub async fn wait(&mut self, operation: &'static str, what: &str) -> Result<(), AwsError> {
        self.waits.told.tell(what, self.started.elapsed());
        self.waits
            .stop
            .sleep(self.next)
            .await
            .map_err(|Interrupted| AwsError::interrupted(operation))?;
        self.next = (self.next * 3 / 2).min(self.waits.every);
        Ok(())
    }
}

/// What a failed call means to standin, decided once, in [`AwsError::from_sdk`], from the
/// service's error code (the SDK's error metadata) and the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The thing does not exist (an absent parameter, record, object, zone...).
    NotFound,
    /// A conditional write or delete found the object or item not as expected.
    ConditionFailed,
    /// The caller may not: IAM, an SCP, a restricted account.
    Denied,
    /// AWS asked to slow down, and the SDK's retries ran out.
    Throttled,
    /// No answer in time, retries included.
    Timeout,
    /// A stop (a signal) ended a wait before what it waited for settled.
    Interrupted,
    /// Anything else: the code and message say what.
    Other,
}

impl Kind {
    /// The kind of a service error with this `code` (from the error metadata) and HTTP
    /// `status`. The codes are those of the services standin calls; a status decides only where
    /// a service sent no code (S3 HEAD, for one).
    pub fn of(code: Option<&str>, status: Option<u16>) -> Self {
        match code {
            Some(
                "ParameterNotFound"
                | "ParameterVersionNotFound"
                | "NoSuchHostedZone"
                | "NoSuchKey"
                | "NoSuchEntity"
                | "NotFound"
                | "LoadBalancerNotFound"
                | "ListenerNotFound"
                | "RuleNotFound"
                | "ResourceNotFoundException",
            ) => Self::NotFound,
            Some(
                "PreconditionFailed"
                | "ConditionalRequestConflict"
                | "ConditionalCheckFailedException",
            ) => Self::ConditionFailed,
            Some(
                "AccessDenied"
                | "AccessDeniedException"
                | "UnauthorizedOperation"
                | "InsufficientPrivilegesException"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "ExpiredToken"
                | "ExpiredTokenException",
            ) => Self::Denied,
            Some(
                "Throttling"
                | "ThrottlingException"
                | "ThrottledException"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "SlowDown"
                | "PriorRequestNotComplete",
            ) => Self::Throttled,
            Some(_) => Self::Other,
            None => match status {
                Some(404) => Self::NotFound,
                Some(412) => Self::ConditionFailed,
                Some(403) => Self::Denied,
                Some(429) => Self::Throttled,
                _ => Self::Other,
            },
        }
    }
}

/// A failed AWS call, reduced to what a human needs: which API, the service's error code and
/// its message.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{operation} failed: {}{}", code.as_deref().map(|c| format!("{}: ", crate::escape::value(c))).unwrap_or_default(), crate::escape::value(message))]
pub struct AwsError {
    /// `Service.Operation`, e.g. `Route53.ChangeResourceRecordSets`.
    pub operation: &'static str,
    /// The service's error code (e.g. `NoSuchHostedZone`), when it sent one.
    pub code: Option<String>,
    pub message: String,
    /// What it means to standin.
    #[serde(skip)]
    pub kind: Kind,
}

impl AwsError {
    /// An error standin itself decides (a zone that is ambiguous, an environment that vanished
    /// mid-wait), in AWS's terms so that it reads like the others.
    pub fn new(operation: &'static str, code: &str, message: impl Into<String>) -> Self {
        Self {
            operation,
            code: Some(code.to_owned()),
            message: message.into(),
            kind: Kind::of(Some(code), None),
        }
    }

    /// Converts any SDK error; the operation name is given by the caller since the SDK error
    /// does not carry it.
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let status = service.raw().status().as_u16();
                Self {
                    operation,
                    code: inner.code().map(str::to_owned),
                    message: inner
                        .message()
                        .map_or_else(|| inner.to_string(), str::to_owned),
                    kind: Kind::of(inner.code(), Some(status)),
                }
            }
            SdkError::TimeoutError(_) => Self {
                kind: Kind::Timeout,
                ..Self::new(
                    operation,
                    "Timeout",
                    "no answer within the operation timeout (retries included)",
                )
            },
            other => Self {
                operation,
                code: None,
                message: error_chain(other),
                kind: Kind::Other,
            },
        }
    }

    /// Removes a secret from the message: some APIs quote the offending value back.
    #[must_use]
    pub fn redact(mut self, secret: &str) -> Self {
        if !secret.is_empty() {
            self.message = self.message.replace(secret, "(sensitive)");
        }
        self
    }

    /// A wait that a stop (a signal) ended before what it waited for settled.
    pub fn interrupted(operation: &'static str) -> Self {
        Self {
            operation,
            code: None,
            message: "stopped waiting, as asked (a signal)".into(),
            kind: Kind::Interrupted,
        }
    }

    /// Whether this is a wait a stop ended, not a failure of AWS.
    pub fn is_interrupted(&self) -> bool {
        self.kind == Kind::Interrupted
    }

    /// Whether the service said the thing does not exist (used to tell "absent" from "failed").
    pub fn is_not_found(&self) -> bool {
        self.kind == Kind::NotFound
    }

    /// Whether a conditional write or delete found the object or item not as expected: S3's
    /// `If-Match`/`If-None-Match` (412, or 409 when two such writes race) and DynamoDB's
    /// condition expressions.
    pub fn is_condition_failed(&self) -> bool {
        self.kind == Kind::ConditionFailed
    }
}

/// Waits for an AWS call from synchronous code, blocking this thread as `fsync` does: a journal
/// append (the S3 PUT returning is its durability point, and no Ctrl-C may cut it in half) and
/// a lock's release when it is dropped. Works only on the multi-threaded runtime (standin's).
pub fn block_on<F: std::future::Future>(call: F) -> std::io::Result<F::Output> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| handle.block_on(call)))
        }
        _ => Err(std::io::Error::other(
            "an AWS call from synchronous code needs the multi-threaded tokio runtime",
        )),
    }
}

/// Joins an error and its sources, so "dispatch failure" also says why (refused connection, DNS...).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Shorthand for mapping an SDK result with the operation's name.
pub trait Call<T> {
    fn op(self, operation: &'static str) -> Result<T, AwsError>;
}

impl<T, E> Call<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn op(self, operation: &'static str) -> Result<T, AwsError> {
        self.map_err(|e| AwsError::from_sdk(operation, e))
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn a_code_decides_before_a_status() {
        assert_eq!(
            Kind::of(Some("ParameterNotFound"), Some(400)),
            Kind::NotFound
        );
        assert_eq!(Kind::of(Some("NoSuchKey"), Some(404)), Kind::NotFound);
        assert_eq!(
            Kind::of(Some("ConditionalCheckFailedException"), Some(400)),
            Kind::ConditionFailed
        );
        assert_eq!(
            Kind::of(Some("ConditionalRequestConflict"), Some(409)),
            Kind::ConditionFailed
        );
        assert_eq!(
            Kind::of(Some("AccessDeniedException"), Some(400)),
            Kind::Denied
        );
        assert_eq!(
            Kind::of(Some("ThrottlingException"), Some(400)),
            Kind::Throttled
        );
        // A code standin does not know is an error like any other, whatever its status.
        assert_eq!(
            Kind::of(Some("ValidationException"), Some(404)),
            Kind::Other
        );
    }

    #[test]
    fn without_a_code_the_status_decides() {
        assert_eq!(Kind::of(None, Some(404)), Kind::NotFound);
        assert_eq!(Kind::of(None, Some(412)), Kind::ConditionFailed);
        assert_eq!(Kind::of(None, Some(403)), Kind::Denied);
        assert_eq!(Kind::of(None, Some(429)), Kind::Throttled);
        assert_eq!(Kind::of(None, Some(500)), Kind::Other);
        assert_eq!(Kind::of(None, None), Kind::Other);
    }
}
