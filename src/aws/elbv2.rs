//! Application Load Balancers: their listeners, and the host-header rules that answer a fixed
//! response (what `lock-url` creates and removes).

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, HostHeaderConditionConfig, Rule,
    RuleCondition,
};
use aws_sdk_elasticloadbalancingv2::Client;

use super::{AwsError, Call};

/// A listener of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub arn: String,
    pub port: i32,
    /// `HTTP` or `HTTPS` (an ALB has no other).
    pub protocol: String,
}

impl Listener {
    /// `HTTPS:443`, as plans name it.
    pub fn label(&self) -> String {
        format!("{}:{}", self.protocol, self.port)
    }
}

/// A rule as `lock-url` looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    pub arn: String,
    /// `None` for the default rule.
    pub priority: Option<i32>,
    /// Host names the rule matches on, however its condition was written.
    pub hosts: Vec<String>,
    /// The status of its fixed response, if it answers one.
    pub fixed_status: Option<String>,
}

impl HostRule {
    fn from_sdk(rule: &Rule) -> Self {
        Self {
            arn: rule.rule_arn().unwrap_or_default().to_owned(),
            priority: rule.priority().and_then(|p| p.parse().ok()),
            hosts: rule
                .conditions()
                .iter()
                .filter(|c| c.field() == Some("host-header"))
                .flat_map(|c| {
                    let configured = c
                        .host_header_config()
                        .map(|h| h.values().to_vec())
                        .unwrap_or_default();
                    configured.into_iter().chain(c.values().iter().cloned())
                })
                .collect(),
            fixed_status: rule
                .actions()
                .iter()
                .find(|a| a.r#type() == Some(&ActionTypeEnum::FixedResponse))
                .and_then(|a| a.fixed_response_config())
                .and_then(|f| f.status_code())
                .map(str::to_owned),
        }
    }

    /// Whether the rule matches `host` (host names compare without case).
    pub fn matches(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// A load balancer, as guards identify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
}

/// The load balancer with this DNS name (an alias target: case and a final dot do not count,
/// nor a `dualstack.` prefix), if this region and account has one.
pub async fn by_dns_name(
    client: &Client,
    dns_name: &str,
) -> Result<Option<LoadBalancer>, AwsError> {
    let norm = |n: &str| {
        n.trim_end_matches('.')
            .to_ascii_lowercase()
            .trim_start_matches("dualstack.")
            .to_owned()
    };
    let wanted = norm(dns_name);
    let mut pages = client.describe_load_balancers().into_paginator().send();
    while let Some(page) = pages.next().await {
        for lb in page.op("ELBv2.DescribeLoadBalancers")?.load_balancers() {
            if lb.dns_name().is_some_and(|d| norm(d) == wanted) {
                return Ok(Some(LoadBalancer {
                    arn: lb.load_balancer_arn().unwrap_or_default().to_owned(),
                    name: lb.load_balancer_name().unwrap_or_default().to_owned(),
                }));
            }
        }
    }
    Ok(None)
}

/// A load balancer by name or ARN; `None` when there is none.
pub async fn by_name_or_arn(client: &Client, id: &str) -> Result<Option<LoadBalancer>, AwsError> {
    let request = client.describe_load_balancers();
    let request = if id.starts_with("arn:") {
        request.load_balancer_arns(id)
    } else {
        request.names(id)
    };
    match request.send().await.op("ELBv2.DescribeLoadBalancers") {
        Ok(out) => Ok(out.load_balancers().first().map(|lb| LoadBalancer {
            arn: lb.load_balancer_arn().unwrap_or_default().to_owned(),
            name: lb.load_balancer_name().unwrap_or_default().to_owned(),
        })),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The load balancer named `name`, as its ARN; `None` when there is none.
pub async fn load_balancer(client: &Client, name: &str) -> Result<Option<String>, AwsError> {
    match client
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .op("ELBv2.DescribeLoadBalancers")
    {
        Ok(out) => Ok(out
            .load_balancers()
            .first()
            .and_then(|lb| lb.load_balancer_arn())
            .map(str::to_owned)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every listener of a load balancer, by port.
pub async fn listeners(client: &Client, load_balancer: &str) -> Result<Vec<Listener>, AwsError> {
    let mut found = Vec::new();
    let mut pages = client
        .describe_listeners()
        .load_balancer_arn(load_balancer)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for l in page.op("ELBv2.DescribeListeners")?.listeners() {
            found.push(Listener {
                arn: l.listener_arn().unwrap_or_default().to_owned(),
                port: l.port().unwrap_or_default(),
                protocol: l
                    .protocol()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
            });
        }
    }
    found.sort_by_key(|l| l.port);
    Ok(found)
}

/// One listener, by its ARN.
pub async fn listener(client: &Client, arn: &str) -> Result<Option<Listener>, AwsError> {
    let out = match client
        .describe_listeners()
        .listener_arns(arn)
        .send()
        .await
        .op("ELBv2.DescribeListeners")
    {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(out.listeners().first().map(|l| Listener {
        arn: arn.to_owned(),
        port: l.port().unwrap_or_default(),
        protocol: l
            .protocol()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
    }))
}

/// The rules of a listener.
pub async fn rules(client: &Client, listener: &str) -> Result<Vec<HostRule>, AwsError> {
    let out = client
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .op("ELBv2.DescribeRules")?;
    Ok(out.rules().iter().map(HostRule::from_sdk).collect())
}

/// Creates a rule answering `status` with `body` (plain text) for requests to `host`;
/// returns its ARN.
pub async fn create_fixed_response(
    client: &Client,
    listener: &str,
    priority: i32,
    host: &str,
    status: u16,
    body: &str,
) -> Result<Option<String>, AwsError> {
    let condition = RuleCondition::builder()
        .field("host-header")
        .host_header_config(HostHeaderConditionConfig::builder().values(host).build())
        .build();
    let deny = Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code(status.to_string())
                .content_type("text/plain")
                .message_body(body)
                .build(),
        )
        .build();
    let out = client
        .create_rule()
        .listener_arn(listener)
        .priority(priority)
        .conditions(condition)
        .actions(deny)
        .send()
        .await
        .op("ELBv2.CreateRule")?;
    Ok(out
        .rules()
        .first()
        .and_then(|r| r.rule_arn())
        .map(str::to_owned))
}

pub async fn delete_rule(client: &Client, arn: &str) -> Result<(), AwsError> {
    client
        .delete_rule()
        .rule_arn(arn)
        .send()
        .await
        .op("ELBv2.DeleteRule")
        .map(drop)
}

/// The certificates of an HTTPS listener: its default one first (`true`), then those added
/// with `AddListenerCertificates` (`false`).
pub async fn listener_certificates(
    client: &Client,
    listener: &str,
) -> Result<Vec<(String, bool)>, AwsError> {
    let mut found = Vec::new();
    let mut marker = None;
    loop {
        let out = client
            .describe_listener_certificates()
            .listener_arn(listener)
            .set_marker(marker.take())
            .send()
            .await
            .op("ELBv2.DescribeListenerCertificates")?;
        for c in out.certificates() {
            if let Some(arn) = c.certificate_arn() {
                found.push((arn.to_owned(), c.is_default().unwrap_or(false)));
            }
        }
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    found.sort_by_key(|(_, default)| !default);
    Ok(found)
}

/// Adds certificates to a listener's list (the default certificate is not changed).
pub async fn add_listener_certificates(
    client: &Client,
    listener: &str,
    arns: &[String],
) -> Result<(), AwsError> {
    client
        .add_listener_certificates()
        .listener_arn(listener)
        .set_certificates(Some(certificates(arns)))
        .send()
        .await
        .op("ELBv2.AddListenerCertificates")
        .map(drop)
}

/// Removes certificates from a listener's list (never its default certificate).
pub async fn remove_listener_certificates(
    client: &Client,
    listener: &str,
    arns: &[String],
) -> Result<(), AwsError> {
    client
        .remove_listener_certificates()
        .listener_arn(listener)
        .set_certificates(Some(certificates(arns)))
        .send()
        .await
        .op("ELBv2.RemoveListenerCertificates")
        .map(drop)
}

fn certificates(arns: &[String]) -> Vec<aws_sdk_elasticloadbalancingv2::types::Certificate> {
    arns.iter()
        .map(|arn| {
            aws_sdk_elasticloadbalancingv2::types::Certificate::builder()
                .certificate_arn(arn)
                .build()
        })
        .collect()
}
