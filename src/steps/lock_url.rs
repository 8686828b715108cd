//! `lock-url`: make a URL answer "access denied", so nobody keeps using the old staging URL as
//! staging once it serves production (the incident's third step). Two strategies:
//! - `alb`: a listener rule on the Application Load Balancer answering a fixed 403 for the
//!   host name (undo deletes the rule);
//! - `dns`: repoint the host name to a denial target (undo restores the record exactly).

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Action as LbAction, ActionTypeEnum, FixedResponseActionConfig, HostHeaderConditionConfig, Rule,
    RuleCondition,
};
use serde::{Deserialize, Serialize};

use super::route53_repoint::{repoint_needs, Repoint, RepointUndo};
use super::{
    Action, Change, Ctx, Drift, FieldError, Kind, Mutation, Prepared, Shown, Step, StepError, Undo,
};
use crate::aws::cli::Line;
use crate::aws::{AwsSettings, Call};
use crate::iam::{Grant, Needs};

/// Fields of a `lock-url` step: `strategy: alb` or `strategy: dns`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "strategy", rename_all = "lowercase")]
pub enum LockUrl {
    Alb(AlbLock),
    Dns(DnsLock),
}

/// `strategy: alb`: a fixed-response rule on a load balancer listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbLock {
    /// The host name to lock, e.g. `staging.example.com`.
    host: String,
    /// The listener's ARN; or give `load_balancer` (and `port`).
    #[serde(default)]
    listener_arn: Option<String>,
    /// The load balancer's name, e.g. `shop-staging-alb`.
    #[serde(default)]
    load_balancer: Option<String>,
    /// The listener's port on `load_balancer` (default 80).
    #[serde(default = "default_port")]
    port: i32,
    /// Rule priority (default: the lowest free one, so the lock is evaluated first).
    #[serde(default)]
    priority: Option<i32>,
    /// Status to answer (default 403).
    #[serde(default = "default_status")]
    status: u16,
    /// Body to answer (default `access denied`).
    #[serde(default = "default_body")]
    body: String,
}

/// `strategy: dns`: the host name repointed to a target that denies access.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsLock {
    /// The host name to lock, e.g. `staging.example.com`.
    host: String,
    /// Its hosted zone, by name or id.
    zone: String,
    /// The denial target: a host name (CNAME) or address (A) that answers 403.
    to: String,
    /// Record type (default `CNAME`).
    #[serde(rename = "type", default = "default_type")]
    rtype: String,
    /// TTL of the locked record (default: keep the current one).
    #[serde(default)]
    ttl: Option<i64>,
}

fn default_port() -> i32 {
    80
}
fn default_status() -> u16 {
    403
}
fn default_body() -> String {
    "access denied".into()
}
fn default_type() -> String {
    "CNAME".into()
}

impl Kind for LockUrl {
    const NAME: &'static str = "lock-url";
    const SUMMARY: &'static str = "make a host answer \"access denied\": an ALB fixed-403 rule or a DNS repoint; undo removes the lock";
    type Undo = LockUndo;

    fn check(&self) -> Result<(), FieldError> {
        match self {
            Self::Alb(alb) => match (&alb.listener_arn, &alb.load_balancer) {
                (None, None) => Err(FieldError::at("load_balancer", "no listener given")
                    .hint("give `load_balancer: NAME` (and `port:`) or `listener_arn:`")),
                (Some(_), Some(_)) => Err(FieldError::at(
                    "load_balancer",
                    "`listener_arn` and `load_balancer` are exclusive",
                )),
                _ if !(100..=599).contains(&alb.status) => Err(FieldError::at(
                    "status",
                    "an HTTP status is between 100 and 599",
                )),
                _ => Ok(()),
            },
            Self::Dns(dns) if !matches!(dns.rtype.as_str(), "A" | "AAAA" | "CNAME") => Err(
                FieldError::at("type", format!("unsupported record type `{}`", dns.rtype))
                    .hint("use A, AAAA or CNAME"),
            ),
            Self::Dns(_) => Ok(()),
        }
    }
}

#[async_trait]
impl Step for LockUrl {
    fn needs(&self) -> Needs {
        match self {
            Self::Dns(dns) => repoint_needs(&dns.zone),
            Self::Alb(alb) => {
                let (listener, rules) = match (&alb.listener_arn, &alb.load_balancer) {
                    (Some(arn), _) => (
                        arn.clone(),
                        arn.replacen(":listener/", ":listener-rule/", 1) + "/*",
                    ),
                    (None, lb) => {
                        let lb = lb.as_deref().unwrap_or("*");
                        (
                            format!("arn:aws:elasticloadbalancing:*:*:listener/app/{lb}/*"),
                            format!("arn:aws:elasticloadbalancing:*:*:listener-rule/app/{lb}/*"),
                        )
                    }
                };
                Needs {
                    plan: vec![Grant::any(&[
                        "elasticloadbalancing:DescribeLoadBalancers",
                        "elasticloadbalancing:DescribeListeners",
                        "elasticloadbalancing:DescribeRules",
                    ])],
                    run: vec![
                        Grant::new(&["elasticloadbalancing:CreateRule"], [listener]),
                        Grant::new(&["elasticloadbalancing:DeleteRule"], [rules]),
                    ],
                }
            }
        }
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        match self {
            Self::Alb(alb) => alb.plan(ctx).await,
            Self::Dns(dns) => {
                let repoint = Repoint::to_value(
                    dns.zone.clone(),
                    dns.host.clone(),
                    &dns.rtype,
                    dns.to.clone(),
                    dns.ttl,
                );
                repoint.plan(ctx).await
            }
        }
    }
}

/// The host names a rule matches on, whichever way its condition was written.
fn rule_hosts(rule: &Rule) -> Vec<String> {
    rule.conditions()
        .iter()
        .filter(|c| c.field() == Some("host-header"))
        .flat_map(|c| {
            let configured = c
                .host_header_config()
                .map(|h| h.values().to_vec())
                .unwrap_or_default();
            configured.into_iter().chain(c.values().iter().cloned())
        })
        .collect()
}

/// Whether the rule is a fixed response with this status.
fn answers(rule: &Rule, status: u16) -> bool {
    rule.actions().iter().any(|a| {
        a.r#type() == Some(&ActionTypeEnum::FixedResponse)
            && a.fixed_response_config()
                .is_some_and(|f| f.status_code() == Some(status.to_string().as_str()))
    })
}

async fn rules(ctx: &Ctx, listener: &str) -> Result<Vec<Rule>, StepError> {
    let out = ctx
        .aws
        .elbv2
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .op("ELBv2.DescribeRules")
        .map_err(StepError::aws(listener))?;
    Ok(out.rules().to_vec())
}

fn priority(rule: &Rule) -> Option<i32> {
    rule.priority().and_then(|p| p.parse().ok())
}

impl AlbLock {
    /// The listener's ARN, from `listener_arn` or `load_balancer` + `port`.
    async fn listener(&self, ctx: &Ctx) -> Result<String, StepError> {
        if let Some(arn) = &self.listener_arn {
            return Ok(arn.clone());
        }
        let name = self.load_balancer.clone().unwrap_or_default();
        let resource = format!("load balancer {name}");
        let lbs = ctx
            .aws
            .elbv2
            .describe_load_balancers()
            .names(&name)
            .send()
            .await
            .op("ELBv2.DescribeLoadBalancers")
            .map_err(StepError::aws(&resource))?;
        let lb_arn = lbs
            .load_balancers()
            .first()
            .and_then(|lb| lb.load_balancer_arn())
            .unwrap_or_default()
            .to_owned();
        let listeners = ctx
            .aws
            .elbv2
            .describe_listeners()
            .load_balancer_arn(&lb_arn)
            .send()
            .await
            .op("ELBv2.DescribeListeners")
            .map_err(StepError::aws(&resource))?;
        listeners
            .listeners()
            .iter()
            .find(|l| l.port() == Some(self.port))
            .and_then(|l| l.listener_arn())
            .map(str::to_owned)
            .ok_or_else(|| {
                StepError::failed(resource, format!("has no listener on port {}", self.port))
            })
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let listener = self.listener(ctx).await?;
        let existing = rules(ctx, &listener).await?;
        let resource = format!("listener rule for host {}", self.host);
        let wanted = format!("{} {:?}", self.status, self.body);
        let for_host: Vec<&Rule> = existing
            .iter()
            .filter(|r| rule_hosts(r).contains(&self.host))
            .collect();
        if let Some(locked) = for_host.iter().find(|r| answers(r, self.status)) {
            let undo = AlbUndo {
                listener_arn: listener,
                host: self.host.clone(),
                priority: priority(locked).unwrap_or_default(),
                rule_arn: None,
            };
            return Ok(Prepared {
                changes: vec![Change {
                    action: Action::Keep,
                    resource: resource.into(),
                    before: Some(Shown::Plain(wanted.clone())),
                    after: Some(Shown::Plain(wanted)),
                }],
                warnings: Vec::new(),
                mutation: Box::new(AlbMutation {
                    lock: self.clone(),
                    undo,
                }),
            });
        }
        let used: Vec<i32> = existing.iter().filter_map(priority).collect();
        let chosen = self
            .priority
            .unwrap_or_else(|| (1..).find(|p| !used.contains(p)).unwrap_or(1));
        if used.contains(&chosen) {
            return Err(StepError::failed(
                &resource,
                format!("priority {chosen} is taken on the listener"),
            ));
        }
        if let Some(first) = for_host
            .iter()
            .filter_map(|r| priority(r))
            .filter(|p| *p < chosen)
            .min()
        {
            return Err(StepError::failed(
                &resource,
                format!("a rule with priority {first} already matches {} and would answer before the lock (priority {chosen})", self.host),
            ));
        }
        Ok(Prepared {
            changes: vec![Change {
                action: Action::Add,
                resource: resource.into(),
                before: None,
                after: Some(Shown::Plain(format!("{wanted} (priority {chosen})"))),
            }],
            warnings: Vec::new(),
            mutation: Box::new(AlbMutation {
                lock: self.clone(),
                undo: AlbUndo {
                    listener_arn: listener,
                    host: self.host.clone(),
                    priority: chosen,
                    rule_arn: None,
                },
            }),
        })
    }
}

struct AlbMutation {
    lock: AlbLock,
    undo: AlbUndo,
}

#[async_trait]
impl Mutation for AlbMutation {
    fn undo_record(&self) -> serde_json::Value {
        serde_json::to_value(LockUndo::Alb(self.undo.clone())).expect("rule ids serialize")
    }

    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        let condition = RuleCondition::builder()
            .field("host-header")
            .host_header_config(
                HostHeaderConditionConfig::builder()
                    .values(&self.lock.host)
                    .build(),
            )
            .build();
        let deny = LbAction::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code(self.lock.status.to_string())
                    .content_type("text/plain")
                    .message_body(&self.lock.body)
                    .build(),
            )
            .build();
        let out = ctx
            .aws
            .elbv2
            .create_rule()
            .listener_arn(&self.undo.listener_arn)
            .priority(self.undo.priority)
            .conditions(condition)
            .actions(deny)
            .send()
            .await
            .op("ELBv2.CreateRule")
            .map_err(StepError::aws(&format!(
                "listener rule for host {}",
                self.lock.host
            )))?;
        self.undo.rule_arn = out
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .map(str::to_owned);
        Ok(())
    }
}

/// Undo records of `lock-url`, one shape per strategy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LockUndo {
    Alb(AlbUndo),
    Dns(Box<RepointUndo>),
}

/// Journaled before the rule is created; `rule_arn` once it exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbUndo {
    listener_arn: String,
    host: String,
    priority: i32,
    rule_arn: Option<String>,
}

#[async_trait]
impl Undo for LockUndo {
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        match self {
            Self::Dns(dns) => dns.undo(ctx, force).await,
            Self::Alb(alb) => alb.undo(ctx, force).await,
        }
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        match self {
            Self::Dns(dns) => dns.by_hand(aws),
            Self::Alb(alb) => alb.by_hand(aws),
        }
    }
}

impl AlbUndo {
    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        let delete = Line::new(aws, "elbv2", "delete-rule");
        match &self.rule_arn {
            Some(arn) => vec![delete.arg("--rule-arn", arn).text()],
            None => vec![delete
                .output_of(
                    "--rule-arn",
                    Line::new(aws, "elbv2", "describe-rules")
                        .arg("--listener-arn", &self.listener_arn)
                        // The rule standin creates: this priority, this host.
                        .query(&format!(
                                "Rules[?Priority==`\"{}\"` && contains(Conditions[].HostHeaderConfig.Values[], `\"{}\"`)].RuleArn | [0]",
                                self.priority, self.host
                            )),
                )
                .text()],
        }
    }

    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        let resource = format!("listener rule for host {}", self.host);
        let current = rules(ctx, &self.listener_arn).await?;
        // Without an ARN the run stopped while creating the rule: the priority was free when
        // planned, so a rule there for this host is the one it created.
        let found = match &self.rule_arn {
            Some(arn) => current.iter().find(|r| r.rule_arn() == Some(arn.as_str())),
            None => current
                .iter()
                .find(|r| priority(r) == Some(self.priority) && rule_hosts(r).contains(&self.host)),
        };
        let Some(rule) = found else {
            return Ok(vec![match self.rule_arn {
                Some(_) => format!("{resource}: already removed"),
                None => format!("{resource}: was not created by this run"),
            }]);
        };
        let arn = rule.rule_arn().unwrap_or_default();
        if (!rule_hosts(rule).contains(&self.host) || priority(rule) != Some(self.priority))
            && !force
        {
            return Err(StepError::Drift(vec![Drift {
                resource,
                expected: format!("host {} at priority {}", self.host, self.priority),
                found: format!(
                    "hosts {} at priority {}",
                    rule_hosts(rule).join(", "),
                    rule.priority().unwrap_or("?")
                ),
            }]));
        }
        ctx.aws
            .elbv2
            .delete_rule()
            .rule_arn(arn)
            .send()
            .await
            .op("ELBv2.DeleteRule")
            .map_err(StepError::aws(&resource))?;
        Ok(vec![format!("{resource}: lock rule deleted")])
    }
}
