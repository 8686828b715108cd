//! `lock-url`: make a URL answer "access denied", so nobody keeps using the old staging URL as
//! staging once it serves production (the incident's third step). Two strategies:
//! - `alb`: a listener rule answering a fixed 403 for the host name, on every HTTP and HTTPS
//!   listener of the load balancer (a staging URL is HTTPS on 443 with 80 redirecting: locking
//!   one listener would leave the site open); undo deletes exactly the rules it created;
//! - `dns`: repoint the host name to a denial target (undo restores the record exactly).

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::route53_repoint::{repoint_needs, Repoint, RepointUndo};
use super::{
    limits, Action, Change, Ctx, Drift, FieldError, Journaled, Kind, Mutation, Prepared, Resource,
    Step, StepError, Undo, Value,
};
use crate::aws::cli::Line;
use crate::aws::elbv2::{self, HostRule, Listener};
use crate::config::AwsSettings;
use crate::iam::{Arn, Grant, Needs};

/// Fields of a `lock-url` step: `strategy: alb` or `strategy: dns`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "strategy", rename_all = "lowercase")]
pub enum LockUrl {
    Alb(AlbLock),
    Dns(DnsLock),
}

/// `strategy: alb`: fixed-response rules on a load balancer's listeners.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlbLock {
    /// The host name to lock, e.g. `staging.example.com`.
    #[schemars(schema_with = "limits::host_header_schema")]
    host: String,
    /// One listener, directly, by its ARN; or give `load_balancer` (and optionally `port`).
    #[serde(default)]
    listener_arn: Option<String>,
    /// The load balancer's name, e.g. `shop-staging-alb`. `load_balancer` or `listener_arn` is
    /// required.
    #[serde(default)]
    #[schemars(schema_with = "limits::load_balancer_schema")]
    load_balancer: Option<String>,
    /// Only the listener on this port of `load_balancer`. Default: every HTTP and HTTPS
    /// listener.
    #[serde(default)]
    #[schemars(range(min = 1, max = 65_535))]
    port: Option<i32>,
    /// Rule priority, 1 to 50000 (default: on each listener the lowest free one, so the lock
    /// is evaluated first).
    #[serde(default)]
    #[schemars(range(min = 1, max = 50_000))]
    priority: Option<i32>,
    /// Status to answer, 2XX, 4XX or 5XX (a fixed response cannot redirect).
    #[serde(default = "default_status")]
    #[schemars(schema_with = "fixed_status")]
    status: u16,
    /// Body to answer, at most 1,024 characters.
    #[serde(default = "default_body")]
    #[schemars(length(max = 1024))]
    body: String,
}

/// `strategy: dns`: the host name repointed to a target that denies access.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsLock {
    /// The host name to lock, e.g. `staging.example.com`.
    #[schemars(length(max = 255))]
    host: String,
    /// Its hosted zone, by name or id.
    #[schemars(length(max = 255))]
    zone: String,
    /// The denial target: a host name (CNAME) or address (A) that answers 403.
    to: String,
    /// Record type: A, AAAA or CNAME.
    #[serde(rename = "type", default = "default_type")]
    rtype: String,
    /// TTL of the locked record. Default: keep the record's TTL.
    #[serde(default)]
    ttl: Option<i64>,
    /// The repoint that does the work, made once, so that the check before the change reads
    /// again in the zone the plan found (see `route53.repoint`).
    #[serde(skip)]
    repoint: std::sync::OnceLock<Repoint>,
}

fn default_status() -> u16 {
    403
}

/// The statuses a fixed response answers: `^(2|4|5)\d\d$` (ELBv2 FixedResponseActionConfig).
fn fixed_status(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "integer",
        "default": 403,
        "anyOf": [{"minimum": 200, "maximum": 299}, {"minimum": 400, "maximum": 599}],
    })
}
fn default_body() -> String {
    "access denied".into()
}
fn default_type() -> String {
    "CNAME".into()
}

impl Kind for LockUrl {
    const NAME: &'static str = "lock-url";
    const SUMMARY: &'static str = "make a host answer \"access denied\": ALB fixed-403 rules on every HTTP/HTTPS listener, or a DNS repoint; undo removes the lock";
    const EXAMPLE: &'static str = r#"
strategy: alb
load_balancer: shop-staging-alb
host: staging.example.com
"#;
    const DOC: &'static str = r#"
Make a host name answer "access denied", so nobody keeps using the old staging URL.

`strategy: alb` adds, on every HTTP and HTTPS listener of an Application Load Balancer, a
listener rule with a host-header condition and a fixed response (a staging URL is usually
HTTPS on 443 with 80 redirecting to it: locking only one listener would leave the site open);
the plan shows one line per listener, and undo deletes exactly the rules the run created. Each
rule takes its listener's lowest free priority, and the step refuses if another rule for the
same host would answer first.

`host` is what the rule matches: at most 128 letters, digits, `-` and `.` (`*` and `?` as
wildcards), with a `.` and only letters after the last one; `load_balancer` a load balancer's
name (at most 32 letters, digits and hyphens).

`strategy: dns` repoints the host name to a denial target, exactly as `route53.repoint` does
(and undoes it the same way).
"#;
    type Undo = LockUndo;

    fn check(&self) -> Result<(), FieldError> {
        match self {
            Self::Alb(alb) => alb.check(),
            Self::Dns(dns) if !matches!(dns.rtype.as_str(), "A" | "AAAA" | "CNAME") => Err(
                FieldError::at("type", format!("unsupported record type `{}`", dns.rtype))
                    .hint("use A, AAAA or CNAME"),
            ),
            // The repoint's own checks, its `record` being this step's `host`.
            Self::Dns(dns) => dns.repoint().check().map_err(|mut e| {
                if e.path.first().is_some_and(|f| f == "record") {
                    e.path[0] = "host".to_owned();
                }
                e
            }),
        }
    }
}

impl AlbLock {
    /// The listeners given, and what CreateRule would refuse for its form (the rule's host,
    /// priority, status and body).
    fn check(&self) -> Result<(), FieldError> {
        match (&self.listener_arn, &self.load_balancer) {
            (None, None) => {
                return Err(FieldError::at("load_balancer", "no listener given").hint(
                    "give `load_balancer: NAME` (and optionally `port:`) or `listener_arn:`",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(FieldError::at(
                    "load_balancer",
                    "`listener_arn` and `load_balancer` are exclusive",
                ))
            }
            (Some(_), None) if self.port.is_some() => {
                return Err(FieldError::at(
                    "port",
                    "`port` picks a listener of `load_balancer`; `listener_arn` already names one",
                ))
            }
            _ => {}
        }
        limits::host_header(&self.host).map_err(|l| l.at(&["host"]))?;
        if let Some(name) = &self.load_balancer {
            limits::load_balancer_name(name).map_err(|l| l.at(&["load_balancer"]))?;
        }
        if let Some(port) = self.port {
            limits::port(port).map_err(|l| l.at(&["port"]))?;
        }
        if let Some(priority) = self.priority {
            limits::rule_priority(priority).map_err(|l| l.at(&["priority"]))?;
        }
        limits::fixed_status(self.status).map_err(|l| l.at(&["status"]))?;
        limits::message_body(&self.body).map_err(|l| l.at(&["body"]))
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
                        Arn::Given(arn.clone()),
                        Arn::Given(arn.replacen(":listener/", ":listener-rule/", 1) + "/*"),
                    ),
                    (None, lb) => {
                        let lb = lb.as_deref().unwrap_or("*");
                        (
                            Arn::regional("elasticloadbalancing", format!("listener/app/{lb}/*")),
                            Arn::regional(
                                "elasticloadbalancing",
                                format!("listener-rule/app/{lb}/*"),
                            ),
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
            Self::Dns(dns) => dns.repoint().plan(ctx).await,
        }
    }

    async fn replan(&self, ctx: &Ctx, planned: &[Change]) -> Result<Prepared, StepError> {
        match self {
            Self::Alb(alb) => alb.plan(ctx).await,
            Self::Dns(dns) => dns.repoint().replan(ctx, planned).await,
        }
    }
}

impl DnsLock {
    fn repoint(&self) -> &Repoint {
        self.repoint.get_or_init(|| {
            Repoint::to_value(
                self.zone.clone(),
                self.host.clone(),
                &self.rtype,
                self.to.clone(),
                self.ttl,
            )
        })
    }
}

impl AlbLock {
    /// The listeners to lock: the one named, the one on `port`, or every HTTP and HTTPS one.
    async fn listeners(&self, ctx: &Ctx) -> Result<Vec<Listener>, StepError> {
        let client = &ctx.aws.elbv2;
        if let Some(arn) = &self.listener_arn {
            return elbv2::listener(client, arn)
                .await
                .map_err(StepError::aws(arn))?
                .map(|l| vec![l])
                .ok_or_else(|| StepError::failed(arn, "no such listener"));
        }
        let name = self.load_balancer.clone().unwrap_or_default();
        let resource = format!("load balancer {name}");
        let lb = elbv2::load_balancer(client, &name)
            .await
            .map_err(StepError::aws(&resource))?
            .ok_or_else(|| StepError::failed(&resource, "no such load balancer"))?;
        let all = elbv2::listeners(client, &lb)
            .await
            .map_err(StepError::aws(&resource))?;
        let chosen: Vec<Listener> = all
            .iter()
            .filter(|l| match self.port {
                Some(port) => l.port == port,
                None => matches!(l.protocol.as_str(), "HTTP" | "HTTPS"),
            })
            .cloned()
            .collect();
        if chosen.is_empty() {
            let has: Vec<String> = all.iter().map(Listener::label).collect();
            return Err(StepError::failed(
                resource,
                match self.port {
                    Some(port) => format!(
                        "has no listener on port {port} (it has {})",
                        if has.is_empty() {
                            "none".into()
                        } else {
                            has.join(", ")
                        }
                    ),
                    None => "has no HTTP or HTTPS listener".to_owned(),
                },
            ));
        }
        Ok(chosen)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let rule = |priority| Value::Rule {
            status: self.status,
            body: self.body.clone(),
            priority,
        };
        let mut changes = Vec::new();
        let mut undo = AlbUndo {
            host: self.host.clone(),
            rules: Vec::new(),
        };
        for listener in self.listeners(ctx).await? {
            let resource = Resource::ListenerRule {
                host: self.host.clone(),
                listener: listener.label(),
            };
            let existing = elbv2::rules(&ctx.aws.elbv2, &listener.arn)
                .await
                .map_err(StepError::aws(&resource))?;
            let status = self.status.to_string();
            let for_host: Vec<&HostRule> =
                existing.iter().filter(|r| r.matches(&self.host)).collect();
            if for_host
                .iter()
                .any(|r| r.fixed_status.as_deref() == Some(status.as_str()))
            {
                changes.push(Change {
                    action: Action::Keep,
                    resource,
                    before: Some(rule(None)),
                    after: Some(rule(None)),
                });
                continue;
            }
            let used: Vec<i32> = existing.iter().filter_map(|r| r.priority).collect();
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
                .filter_map(|r| r.priority)
                .filter(|p| *p < chosen)
                .min()
            {
                return Err(StepError::failed(
                    &resource,
                    format!("a rule with priority {first} already matches {} and would answer before the lock (priority {chosen})", self.host),
                ));
            }
            changes.push(Change {
                action: Action::Add,
                resource,
                before: None,
                after: Some(rule(Some(chosen))),
            });
            undo.rules.push(RuleUndo {
                listener_arn: listener.arn.clone(),
                listener: listener.label(),
                priority: chosen,
                rule_arn: None,
            });
        }
        Ok(Prepared {
            changes,
            warnings: Vec::new(),
            mutation: Box::new(AlbMutation {
                lock: self.clone(),
                undo,
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
        let lock = &self.lock;
        for rule in &mut self.undo.rules {
            let resource = format!("listener rule for host {} on {}", lock.host, rule.listener);
            rule.rule_arn = elbv2::create_fixed_response(
                &ctx.aws.elbv2,
                &rule.listener_arn,
                rule.priority,
                &lock.host,
                lock.status,
                &lock.body,
            )
            .await
            .map_err(StepError::aws(resource))?;
        }
        Ok(())
    }
}

/// Undo records of `lock-url`, one shape per strategy (and the single-listener shape that
/// journals written before every listener was locked have).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LockUndo {
    Alb(AlbUndo),
    OneListener(OneListenerUndo),
    Dns(Box<RepointUndo>),
}

/// Journaled before the rules are created; each rule's ARN once it exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbUndo {
    host: String,
    rules: Vec<RuleUndo>,
}

/// One rule a run creates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleUndo {
    listener_arn: String,
    /// `HTTPS:443`, for messages.
    listener: String,
    priority: i32,
    rule_arn: Option<String>,
}

/// The undo record of a lock on one listener, as journals of standin 0.1 hold it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneListenerUndo {
    listener_arn: String,
    host: String,
    priority: i32,
    rule_arn: Option<String>,
}

impl From<&OneListenerUndo> for AlbUndo {
    fn from(old: &OneListenerUndo) -> Self {
        Self {
            host: old.host.clone(),
            rules: vec![RuleUndo {
                listener_arn: old.listener_arn.clone(),
                listener: "listener".to_owned(),
                priority: old.priority,
                rule_arn: old.rule_arn.clone(),
            }],
        }
    }
}

impl Journaled for LockUndo {
    const SHAPES: &'static [(&'static str, &'static str)] = &[
        (
            "with `strategy: alb`",
            r#"`{"host", "rules": [{"listener_arn", "listener", "priority", "rule_arn"}]}`: one rule per listener (`listener` is its label, `HTTPS:443`), journaled before the first is created; `rule_arn` is `null` until that rule exists. Journals of standin 0.1 hold one listener's: `{"listener_arn", "host", "priority", "rule_arn"}`"#,
        ),
        ("with `strategy: dns`", RepointUndo::SHAPES[0].1),
    ];
}

#[async_trait]
impl Undo for LockUndo {
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        match self {
            Self::Dns(dns) => dns.undo(ctx, force).await,
            Self::Alb(alb) => alb.undo(ctx, force).await,
            Self::OneListener(old) => AlbUndo::from(old).undo(ctx, force).await,
        }
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        match self {
            Self::Dns(dns) => dns.by_hand(aws),
            Self::Alb(alb) => alb.by_hand(aws),
            Self::OneListener(old) => AlbUndo::from(old).by_hand(aws),
        }
    }

    fn follow(&self) -> Option<super::clients::Follow> {
        match self {
            Self::Dns(dns) => dns.follow(),
            Self::Alb(_) | Self::OneListener(_) => None,
        }
    }
}

impl AlbUndo {
    fn resource(&self, rule: &RuleUndo) -> String {
        format!("listener rule for host {} on {}", self.host, rule.listener)
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        self.rules
            .iter()
            .map(|rule| {
                let delete = Line::new(aws, "elbv2", "delete-rule");
                match &rule.rule_arn {
                    Some(arn) => delete.arg("--rule-arn", arn).text(),
                    None => delete
                        .output_of(
                            "--rule-arn",
                            Line::new(aws, "elbv2", "describe-rules")
                                .arg("--listener-arn", &rule.listener_arn)
                                // The rule standin creates: this priority, this host.
                                .query(&format!(
                                    "Rules[?Priority==`\"{}\"` && contains(Conditions[].HostHeaderConfig.Values[], `\"{}\"`)].RuleArn | [0]",
                                    rule.priority, self.host
                                )),
                        )
                        .text(),
                }
            })
            .collect()
    }

    /// Deletes the rules the run created. Every rule is checked first, so a drifted one stops
    /// the undo before any lock is lifted.
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        let client = &ctx.aws.elbv2;
        let mut lines = Vec::new();
        let mut drift = Vec::new();
        let mut delete = Vec::new();
        for rule in &self.rules {
            let resource = self.resource(rule);
            let current = elbv2::rules(client, &rule.listener_arn)
                .await
                .map_err(StepError::aws(&resource))?;
            // Without an ARN the run stopped while creating the rule: the priority was free
            // when planned, so a rule there for this host is the one it created.
            let found = match &rule.rule_arn {
                Some(arn) => current.iter().find(|r| r.arn == *arn),
                None => current
                    .iter()
                    .find(|r| r.priority == Some(rule.priority) && r.matches(&self.host)),
            };
            let Some(found) = found else {
                lines.push(match rule.rule_arn {
                    Some(_) => format!("{resource}: already removed"),
                    None => format!("{resource}: was not created by this run"),
                });
                continue;
            };
            if !(found.matches(&self.host) && found.priority == Some(rule.priority)) {
                drift.push(Drift {
                    resource: resource.clone(),
                    expected: format!("host {} at priority {}", self.host, rule.priority),
                    found: format!(
                        "hosts {} at priority {}",
                        found.hosts.join(", "),
                        found.priority.map_or("?".to_owned(), |p| p.to_string())
                    ),
                });
                if !force {
                    continue;
                }
            }
            delete.push((resource, found.arn.clone()));
        }
        if !drift.is_empty() && !force {
            return Err(StepError::Drift(drift));
        }
        for (resource, arn) in delete.into_iter().rev() {
            elbv2::delete_rule(client, &arn)
                .await
                .map_err(StepError::aws(&resource))?;
            lines.push(format!("{resource}: lock rule deleted"));
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_undo_record_of_a_lock_on_one_listener_from_older_journals() {
        let old = serde_json::json!({
            "listener_arn": "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/lb/1/2",
            "host": "staging.example.com",
            "priority": 3,
            "rule_arn": "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/lb/1/2/3"
        });
        let undo: LockUndo = serde_json::from_value(old).unwrap();
        let LockUndo::OneListener(one) = &undo else {
            panic!("read as {undo:?}");
        };
        let now = AlbUndo::from(one);
        assert_eq!(now.rules.len(), 1);
        assert_eq!(now.rules[0].priority, 3);
        assert!(now.rules[0].rule_arn.as_deref().unwrap().ends_with("/3"));
        // The new shape is read as itself, not as the old one.
        let new = serde_json::to_value(LockUndo::Alb(now)).unwrap();
        assert!(matches!(
            serde_json::from_value::<LockUndo>(new).unwrap(),
            LockUndo::Alb(_)
        ));
    }
}
