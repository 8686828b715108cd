//! `route53.repoint`: point a DNS record at another target (the incident's first move: send the
//! production name to the staging environment). Undo puts back the exact previous record set, or
//! deletes the record if the step created it.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clients::Follow;
use super::{
    limits, Action, Change, Ctx, Drift, FieldError, Journaled, Kind, Mutation, Prepared, Resource,
    Step, StepError, Undo, Value,
};
use crate::aws::cli::Line;
use crate::aws::route53::{self, fqdn, Alias, RecordSet, Zone};
use crate::config::AwsSettings;
use crate::iam::{arn, Arn, Grant, Needs};

/// TTL of a record the step creates when the playbook gives none.
const DEFAULT_TTL: i64 = 300;

/// Fields of a `route53.repoint` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repoint {
    /// Hosted zone, by name (`example.com`) or id (`Z0123456789ABC`).
    #[schemars(length(max = 255))]
    zone: String,
    /// The record, fully qualified (`app.example.com`).
    #[schemars(length(max = 255))]
    record: String,
    /// Record type: `A`, `AAAA` or `CNAME`. Default `CNAME` with `to`, `A` with `alias`.
    #[serde(rename = "type", default, deserialize_with = "given")]
    rtype: Option<RecordType>,
    /// One record of a weighted, failover, latency or geolocation set (1 to 128 characters): the
    /// record must exist, its routing fields are kept.
    #[serde(default)]
    #[schemars(length(min = 1, max = 128))]
    set_identifier: Option<String>,
    /// The new value: a host name for CNAME, an IPv4 address for A, IPv6 for AAAA. `to` or `alias`
    /// is required, not both.
    #[serde(default)]
    to: Option<String>,
    /// An alias target instead of `to` (load balancers, CloudFront, another record): `{dns_name,
    /// hosted_zone_id, evaluate_target_health}`. Alias records have no TTL.
    #[serde(default)]
    alias: Option<Alias>,
    /// New TTL in seconds. Default: keep the record's TTL (300 for a new record).
    #[serde(default)]
    #[schemars(range(min = 0, max = 2_147_483_647))]
    ttl: Option<i64>,
    /// The hosted zone this process's last plan found: the check right before the change
    /// reads the record there while it looks the zone up by name again (see `replan`).
    #[serde(skip)]
    found: Arc<Mutex<Option<Zone>>>,
}

/// Record types a repoint may target.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
enum RecordType {
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "CNAME")]
    Cname,
}

/// A type written in the playbook: an empty `type:` is a mistake, not the default.
fn given<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<RecordType>, D::Error> {
    RecordType::deserialize(d).map(Some)
}

impl RecordType {
    fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Cname => "CNAME",
        }
    }
}

impl Kind for Repoint {
    const NAME: &'static str = "route53.repoint";
    const SUMMARY: &'static str = "point a DNS record at a new value or alias target; undo restores the exact previous record set";
    const EXAMPLE: &'static str = r#"
zone: example.com
record: app.example.com
type: CNAME
to: shop-staging.us-east-1.elasticbeanstalk.com
ttl: 60
"#;
    const DOC: &'static str = r#"
Point a DNS record at a new value or alias target. Apply is an UPSERT followed by a wait until
Route 53 reports the change INSYNC. Undo restores the exact previous record set (values, TTL,
alias, routing fields), or deletes the record if the step created it.

An alias has the type its target can have, as Route 53 requires: a load balancer or a CloudFront
distribution A or AAAA; an Elastic Beanstalk environment, an S3 website endpoint, an API
Gateway API, a VPC interface endpoint or a Global Accelerator A (validate knows the target from
its name); another record of the zone, that record's type (the plan reads it). Names are DNS
names (labels of at most 63 bytes, 255 in all), `zone` an id of at most 32 characters or a
name.

The plan says when clients follow the change: once it is INSYNC, and within the TTL the
record had before it (resolvers keep the old answer that long, whatever TTL the change sets;
an alias counts 60 s, a new record 0); so does the run, and a drill adds the longest such TTL
to its recovery time (docs/output.md, `clients`). To repoint quickly, lower the TTL days ahead
of the day it matters, not in the step. Records with CIDR or geoproximity routing are refused,
since standin could not restore them exactly. Right before the change, the record is read
again in the zone the plan found while a zone given by name is looked up again: a zone
replaced since the plan (deleted and made again, or a second one of that name) stops the
step before it changes anything.
"#;
    const WAITS_ON_DNS: bool = true;
    const MOVES_PRODUCTION: bool = true;
    type Undo = RepointUndo;

    fn check(&self) -> Result<(), FieldError> {
        match (&self.to, &self.alias) {
            (None, None) => {
                return Err(FieldError::at("to", "missing field `to` (or `alias`)")
                    .hint("give the new value with `to:`, or an alias target with `alias:`"))
            }
            (Some(_), Some(_)) => {
                return Err(FieldError::at("alias", "`to` and `alias` are exclusive")
                    .hint("a record is either a plain value (`to`) or an alias (`alias`)"))
            }
            (None, Some(_)) if self.ttl.is_some() => {
                return Err(FieldError::at("ttl", "alias records have no TTL")
                    .hint("remove `ttl`; Route 53 uses the alias target's TTL"))
            }
            _ => {}
        }
        if self.ttl.is_some_and(|t| !(0..=2_147_483_647).contains(&t)) {
            return Err(FieldError::at(
                "ttl",
                "TTL must be between 0 and 2147483647 seconds",
            ));
        }
        self.check_forms()
    }
}

impl Repoint {
    /// What Route 53 would refuse for its form: the zone, the names, the value for the type,
    /// and an alias's type where its target's name tells what the target is.
    fn check_forms(&self) -> Result<(), FieldError> {
        limits::hosted_zone(&self.zone).map_err(|l| l.at(&["zone"]))?;
        limits::domain_name(&self.record).map_err(|l| l.at(&["record"]))?;
        if let Some(id) = &self.set_identifier {
            limits::set_identifier(id).map_err(|l| l.at(&["set_identifier"]))?;
        }
        let rtype = self.record_type().as_str();
        if let Some(to) = &self.to {
            limits::record_value(rtype, to).map_err(|l| l.at(&["to"]))?;
        }
        let Some(alias) = &self.alias else {
            return Ok(());
        };
        limits::domain_name(&alias.dns_name).map_err(|l| l.at(&["alias", "dns_name"]))?;
        limits::zone_id(&alias.hosted_zone_id).map_err(|l| l.at(&["alias", "hosted_zone_id"]))?;
        match limits::alias_types(&alias.dns_name) {
            Some((target, types)) if !types.contains(&rtype) => Err(FieldError::at(
                "type",
                format!(
                    "an alias to {target} ({}) is of type {}, not {rtype}: Route 53 refuses it",
                    crate::escape::value(&alias.dns_name),
                    types.join(" or ")
                ),
            )
            .hint("leave `type` out (an alias is A by default) or say `type: A`")),
            _ => Ok(()),
        }
    }

    /// The record's type: as given, else CNAME for a value and A for an alias (Route 53
    /// answers an alias to an AWS resource with its addresses).
    fn record_type(&self) -> RecordType {
        self.rtype.unwrap_or(if self.alias.is_some() {
            RecordType::A
        } else {
            RecordType::Cname
        })
    }

    /// A repoint to a plain value, for kinds that repoint as part of their work.
    pub(super) fn to_value(
        zone: String,
        record: String,
        rtype: &str,
        to: String,
        ttl: Option<i64>,
    ) -> Self {
        Self {
            zone,
            record,
            rtype: Some(match rtype {
                "A" => RecordType::A,
                "AAAA" => RecordType::Aaaa,
                _ => RecordType::Cname,
            }),
            set_identifier: None,
            to: Some(to),
            alias: None,
            ttl,
            found: Arc::default(),
        }
    }

    fn resource(&self) -> Resource {
        Resource::record(
            &fqdn(&self.record),
            self.record_type().as_str(),
            self.set_identifier.as_deref(),
        )
    }

    /// Refuses, before any change, an alias to another record of the zone whose type differs
    /// from the alias's: "the alias record must have the same type as the record you're
    /// routing traffic to" (botocore model Route53 ResourceRecordSet, member Type), and Route
    /// 53 refuses an alias whose target it does not find with that type.
    async fn refuse_alias_type(&self, ctx: &Ctx, zone: &Zone) -> Result<(), StepError> {
        let Some(alias) = &self.alias else {
            return Ok(());
        };
        let in_zone = alias.hosted_zone_id.trim_start_matches("/hostedzone/") == zone.id;
        if !in_zone || limits::alias_types(&alias.dns_name).is_some() {
            return Ok(());
        }
        let rtype = self.record_type().as_str();
        let sets = route53::sets_named(&ctx.aws.route53, zone, &alias.dns_name)
            .await
            .map_err(StepError::aws(self.resource()))?;
        if sets.iter().any(|(t, _)| t == rtype) {
            return Ok(());
        }
        let mut types: Vec<&str> = sets.iter().map(|(t, _)| t.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        let (found, hint) = match types.as_slice() {
            [] => (
                "no record".to_owned(),
                "an alias to a record of the zone needs that record to exist".to_owned(),
            ),
            [one] => (
                format!("only {one}"),
                format!("an alias has its target's type: say `type: {one}`"),
            ),
            _ => (
                types.join(", "),
                "an alias has its target's type: say which one with `type:`".to_owned(),
            ),
        };
        Err(StepError::failed(
            self.resource(),
            format!(
                "an {rtype} alias to {} in hosted zone {}, which holds {found} of that name: Route 53 refuses it ({hint})",
                fqdn(&alias.dns_name),
                zone.name
            ),
        ))
    }

    /// Refuses, before any change, a new record set that Route 53 would refuse (and that a
    /// plan must not show as a plain add): a CNAME beside other records of its name, another
    /// type beside a CNAME, or a plain record set beside routed ones of its name and type.
    async fn refuse_conflicts(&self, ctx: &Ctx, zone: &Zone) -> Result<(), StepError> {
        let rtype = self.record_type().as_str();
        let others = route53::sets_named(&ctx.aws.route53, zone, &self.record)
            .await
            .map_err(StepError::aws(self.resource()))?;
        let types: Vec<&str> = others
            .iter()
            .map(|(t, _)| t.as_str())
            .filter(|t| *t != rtype)
            .collect();
        let why = if rtype == "CNAME" && !types.is_empty() {
            format!(
                "{} already has {} record(s); a CNAME cannot share its name with other records (Route 53 would refuse it)",
                fqdn(&self.record),
                types.join(", ")
            )
        } else if rtype != "CNAME" && types.contains(&"CNAME") {
            let instead = if self.alias.is_some() {
                "repoint the CNAME with `to:` the target's name, or delete the CNAME before the alias"
            } else {
                "repoint the CNAME (`type: CNAME`) instead"
            };
            format!(
                "{} is a CNAME; no other record can share its name (Route 53 would refuse it): {instead}",
                fqdn(&self.record)
            )
        } else {
            let routed: Vec<&str> = others
                .iter()
                .filter(|(t, _)| t == rtype)
                .filter_map(|(_, id)| id.as_deref())
                .collect();
            if routed.is_empty() {
                return Ok(());
            }
            format!(
                "{} {rtype} is routed (set identifiers {}); say which one to repoint with `set_identifier:`",
                fqdn(&self.record),
                routed.join(", ")
            )
        };
        Err(StepError::failed(self.resource(), why))
    }

    /// The record set after the step: the new answer, everything else kept from the current one.
    fn desired(&self, current: Option<&RecordSet>) -> RecordSet {
        let mut rs = current.cloned().unwrap_or_else(|| RecordSet {
            set_identifier: self.set_identifier.clone(),
            ..RecordSet::new(&self.record, self.record_type().as_str())
        });
        if let Some(alias) = &self.alias {
            rs.alias = Some(alias.clone());
            rs.values.clear();
            rs.ttl = None;
        } else {
            let kept_ttl = current.and_then(|c| c.ttl);
            rs.ttl = Some(self.ttl.or(kept_ttl).unwrap_or(DEFAULT_TTL));
            rs.values = self.to.iter().cloned().collect();
            rs.alias = None;
        }
        rs
    }
}

/// How plans and reports name a record: `app.example.com. CNAME`, `api.example.com. CNAME [blue]`.
async fn zone_of(ctx: &Ctx, zone: &str, record: &str) -> Result<Zone, StepError> {
    let found = route53::find_zone(&ctx.aws.route53, zone)
        .await
        .map_err(StepError::aws(format!("hosted zone {zone}")))?;
    let zone_found = found.ok_or_else(|| {
        StepError::failed(
            format!("hosted zone {zone}"),
            "no such hosted zone in this account (check `zone:` and the AWS account/profile)",
        )
    })?;
    let name = fqdn(record);
    if name != zone_found.name && !name.ends_with(&format!(".{}", zone_found.name)) {
        return Err(StepError::failed(
            name,
            format!("is not inside hosted zone {}", zone_found.name),
        ));
    }
    Ok(zone_found)
}

/// Route 53 permissions of a repoint in `zone` (shared with `lock-url`'s DNS strategy).
pub(super) fn repoint_needs(zone: &str) -> Needs {
    Needs {
        plan: vec![
            Grant::any(&["route53:ListHostedZonesByName"]),
            Grant::new(
                &["route53:GetHostedZone", "route53:ListResourceRecordSets"],
                [arn::hosted_zone(zone)],
            ),
        ],
        run: vec![
            Grant::new(
                &["route53:ChangeResourceRecordSets"],
                [arn::hosted_zone(zone)],
            ),
            Grant::new(
                &["route53:GetChange"],
                [Arn::unowned("route53", "change/*")],
            ),
        ],
    }
}

#[async_trait]
impl Step for Repoint {
    fn needs(&self) -> Needs {
        repoint_needs(&self.zone)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        self.plan_in(ctx, None).await
    }

    /// Reads the record in the zone the plan found while it looks the zone up by name again:
    /// no round trip of its own, and a zone of that name made since (one that replaced it, or
    /// a second one) stops the step rather than leave it writing where the name no longer
    /// lives. A zone given by id is that zone (deleted, its record cannot be read).
    async fn replan(&self, ctx: &Ctx, _planned: &[Change]) -> Result<Prepared, StepError> {
        let known = self.found.lock().expect("not poisoned").clone();
        let Some(known) = known else {
            return self.plan_in(ctx, None).await;
        };
        if route53::is_zone_id(&self.zone) {
            return self.plan_in(ctx, Some(known)).await;
        }
        let (now, prepared) = tokio::join!(
            zone_of(ctx, &self.zone, &self.record),
            self.plan_in(ctx, Some(known.clone()))
        );
        let now = now?;
        if now.id != known.id {
            return Err(StepError::failed(
                format!("hosted zone {}", self.zone),
                format!(
                    "is now {} where the plan found {}: the zone was replaced since; plan again",
                    now.id, known.id
                ),
            ));
        }
        prepared
    }
}

impl Repoint {
    /// The plan, in `zone` when it is known (else found by name).
    async fn plan_in(&self, ctx: &Ctx, zone: Option<Zone>) -> Result<Prepared, StepError> {
        let zone = match zone {
            Some(zone) => zone,
            None => zone_of(ctx, &self.zone, &self.record).await?,
        };
        *self.found.lock().expect("not poisoned") = Some(zone.clone());
        let current = route53::get_record(
            &ctx.aws.route53,
            &zone,
            &self.record,
            self.record_type().as_str(),
            self.set_identifier.as_deref(),
        )
        .await
        .map_err(StepError::aws(self.resource()))?;
        if current.is_none() && self.set_identifier.is_some() {
            return Err(StepError::failed(
                self.resource(),
                "no such record; standin repoints existing routed records but does not create them",
            ));
        }
        if current.is_none() {
            self.refuse_conflicts(ctx, &zone).await?;
        }
        let desired = self.desired(current.as_ref());
        if !current.as_ref().is_some_and(|c| c.same_as(&desired)) {
            self.refuse_alias_type(ctx, &zone).await?;
        }
        let action = match &current {
            None => Action::Add,
            Some(c) if c.same_as(&desired) => Action::Keep,
            Some(_) => Action::Modify,
        };
        // When clients follow the change, TTL included, the plan says for every record
        // (`clients`), from the changes as earlier steps leave them.
        Ok(Prepared {
            changes: vec![Change {
                action,
                resource: self.resource(),
                before: current.clone().map(|record| Value::Record { record }),
                after: Some(Value::Record {
                    record: desired.clone(),
                }),
            }],
            warnings: Vec::new(),
            mutation: Box::new(RepointMutation {
                undo: RepointUndo {
                    zone,
                    before: current,
                    after: desired,
                },
            }),
        })
    }
}

struct RepointMutation {
    undo: RepointUndo,
}

#[async_trait]
impl Mutation for RepointMutation {
    fn undo_record(&self) -> serde_json::Value {
        serde_json::to_value(&self.undo).expect("record sets serialize")
    }

    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        let u = &self.undo;
        route53::change(
            &ctx.aws.route53,
            &u.zone,
            route53::ChangeAction::Upsert,
            &u.after,
            "standin: route53.repoint",
            &ctx.waits,
        )
        .await
        // Only the INSYNC wait after the change can be stopped.
        .map_err(|e| StepError::aws(u.resource())(e).after_change())
    }
}

/// Journaled before the change: the record set before (none if absent) and the one written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepointUndo {
    zone: Zone,
    before: Option<RecordSet>,
    after: RecordSet,
}

impl RepointUndo {
    fn resource(&self) -> String {
        Resource::record(
            &self.after.name,
            &self.after.rtype,
            self.after.set_identifier.as_deref(),
        )
        .to_string()
    }
}

impl Journaled for RepointUndo {
    const SHAPES: &'static [(&'static str, &'static str)] = &[(
        "",
        r#"`{"zone": {"id", "name"}, "before": <record set or null>, "after": <record set>}`; a record set has `name`, `type` and, as set, `ttl`, `values`, `alias`, `set_identifier`, `weight`, `region`. Reports read `before` (its TTL) for recovery as clients see it ([output.md](output.md), `clients_secs`)"#,
    )];
}

#[async_trait]
impl Undo for RepointUndo {
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        let resource = self.resource();
        let a = &self.after;
        let current = route53::get_record(
            &ctx.aws.route53,
            &self.zone,
            &a.name,
            &a.rtype,
            a.set_identifier.as_deref(),
        )
        .await
        .map_err(StepError::aws(&resource))?;
        let same = |x: Option<&RecordSet>, y: Option<&RecordSet>| match (x, y) {
            (Some(x), Some(y)) => x.same_as(y),
            (x, y) => x.is_none() && y.is_none(),
        };
        if same(current.as_ref(), self.before.as_ref()) {
            return Ok(vec![format!("{resource}: already as before the run")]);
        }
        if !same(current.as_ref(), Some(a)) && !force {
            return Err(StepError::Drift(vec![Drift {
                resource,
                expected: a.describe(),
                found: current.map_or_else(|| "nothing (record deleted)".into(), |c| c.describe()),
            }]));
        }
        let client = &ctx.aws.route53;
        let comment = "standin: undo route53.repoint";
        match (&self.before, &current) {
            (Some(before), _) => {
                route53::change(
                    client,
                    &self.zone,
                    route53::ChangeAction::Upsert,
                    before,
                    comment,
                    &ctx.waits,
                )
                .await
                .map_err(StepError::aws(&resource))?;
                Ok(vec![format!("{resource}: restored {}", before.describe())])
            }
            (None, Some(now)) => {
                route53::change(
                    client,
                    &self.zone,
                    route53::ChangeAction::Delete,
                    now,
                    comment,
                    &ctx.waits,
                )
                .await
                .map_err(StepError::aws(&resource))?;
                Ok(vec![format!(
                    "{resource}: deleted (it did not exist before the run)"
                )])
            }
            (None, None) => Ok(vec![format!(
                "{resource}: already absent, as before the run"
            )]),
        }
    }

    fn follow(&self) -> Option<Follow> {
        Some(Follow::of(self.resource(), self.before.as_ref()))
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        let (action, set) = match &self.before {
            Some(before) => ("UPSERT", before),
            None => ("DELETE", &self.after),
        };
        let batch = serde_json::json!({
            "Comment": "standin: undo by hand",
            "Changes": [{"Action": action, "ResourceRecordSet": set.cli_json()}],
        });
        vec![Line::new(aws, "route53", "change-resource-record-sets")
            .arg("--hosted-zone-id", &self.zone.id)
            .arg("--change-batch", &batch.to_string())
            .text()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Repoint, FieldError> {
        let step: Repoint =
            serde_yaml::from_str(yaml).map_err(|e| FieldError::new(vec![], e.to_string()))?;
        step.check().map(|()| step)
    }

    #[test]
    fn needs_exactly_one_of_to_and_alias() {
        let missing = parse("zone: example.com\nrecord: app.example.com\n").unwrap_err();
        assert_eq!(missing.path, ["to"]);
        let both = parse("zone: z\nrecord: r\nto: x\nalias: {dns_name: d, hosted_zone_id: h}\n")
            .unwrap_err();
        assert_eq!(both.path, ["alias"]);
        let alias_ttl =
            parse("zone: z\nrecord: r\nttl: 5\nalias: {dns_name: d, hosted_zone_id: h}\n")
                .unwrap_err();
        assert_eq!(alias_ttl.path, ["ttl"]);
    }

    #[test]
    fn keeps_ttl_and_routing_fields_of_the_current_record() {
        let step =
            parse("zone: z\nrecord: api.example.com\nset_identifier: blue\nto: new.example.net\n")
                .unwrap();
        let current = RecordSet {
            ttl: Some(60),
            values: vec!["old.example.net".into()],
            set_identifier: Some("blue".into()),
            weight: Some(100),
            ..RecordSet::new("api.example.com", "CNAME")
        };
        let desired = step.desired(Some(&current));
        assert_eq!(desired.values, ["new.example.net"]);
        assert_eq!((desired.ttl, desired.weight), (Some(60), Some(100)));
        assert_eq!(step.desired(None).ttl, Some(DEFAULT_TTL));
    }
}
