//! Route 53 record sets as plain data, so a step can journal the exact previous record set and
//! put it back field for field (value, TTL, alias, routing fields).

use std::ops::ControlFlow;

/// Whether a change creates-or-replaces or deletes a record set.
pub use aws_sdk_route53::types::ChangeAction;
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeBatch, ChangeStatus, GeoLocation, ResourceRecord, ResourceRecordSet,
    ResourceRecordSetFailover, ResourceRecordSetRegion, RrType,
};
use aws_sdk_route53::Client;
use serde::{Deserialize, Serialize};

use super::{AwsError, Call, Poller};
use crate::stop::Waits;

/// A hosted zone, resolved from a name or an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// The bare id (`Z123...`), without the `/hostedzone/` prefix.
    pub id: String,
    /// Fully qualified, with the trailing dot.
    pub name: String,
}

/// Alias target of an alias record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alias {
    /// The target's DNS name, e.g. a load balancer's or an Elastic Beanstalk environment's.
    #[schemars(length(max = 255))]
    pub dns_name: String,
    /// The hosted zone id of the target (each AWS service and region has its own).
    #[schemars(regex(pattern = r"^((/hostedzone/)?[A-Za-z0-9]{1,32}|.*\$\{.+)$"))]
    pub hosted_zone_id: String,
    /// Whether Route 53 checks the target's health before answering with it.
    #[serde(default)]
    pub evaluate_target_health: bool,
}

/// One record set with every field standin can restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSet {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<Alias>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_value_answer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
    /// Geolocation as `continent/country/subdivision` codes, each possibly empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_location: Option<[Option<String>; 3]>,
}

impl RecordSet {
    /// A record set with a name and type and nothing else yet.
    pub fn new(name: &str, rtype: &str) -> Self {
        Self {
            name: fqdn(name),
            rtype: rtype.to_owned(),
            ttl: None,
            values: Vec::new(),
            alias: None,
            set_identifier: None,
            weight: None,
            region: None,
            failover: None,
            multi_value_answer: None,
            health_check_id: None,
            geo_location: None,
        }
    }

    /// Whether two record sets give the same answers, compared as DNS compares them: names
    /// (the record's, an alias target's, the host names a CNAME, NS, MX, SRV or PTR record
    /// points at) case-insensitively and with or without the final dot. Route 53 returns an
    /// alias target lowercased with a trailing dot whatever was written, so a byte comparison
    /// would call standin's own write someone else's change.
    pub fn same_as(&self, other: &Self) -> bool {
        self.normalized() == other.normalized()
    }

    fn normalized(&self) -> Self {
        let mut rs = self.clone();
        rs.name = fqdn(&rs.name);
        if let Some(alias) = &mut rs.alias {
            alias.dns_name = fqdn(&alias.dns_name);
            alias.hosted_zone_id = bare_id(&alias.hosted_zone_id);
        }
        // Text records (TXT, SPF, CAA) are case-sensitive; the others name hosts or addresses.
        if !matches!(rs.rtype.as_str(), "TXT" | "SPF" | "CAA") {
            for value in &mut rs.values {
                *value = value.trim_end_matches('.').to_ascii_lowercase();
            }
        }
        rs
    }

    /// The answer as a human reads it: the values, or `ALIAS target`.
    pub fn answer(&self) -> String {
        match &self.alias {
            Some(alias) => format!("ALIAS {}", alias.dns_name),
            None => self.values.join(", "),
        }
    }

    /// The answer with its TTL, for plans and reports.
    pub fn describe(&self) -> String {
        match self.ttl {
            Some(ttl) => format!("{} (TTL {ttl})", self.answer()),
            None => self.answer(),
        }
    }

    /// Reads an SDK record set. Fails on routing features that standin could not put back
    /// exactly (CIDR and geoproximity routing), rather than losing them silently on undo.
    fn from_sdk(rs: &ResourceRecordSet) -> Result<Self, String> {
        if rs.cidr_routing_config().is_some() || rs.geo_proximity_location().is_some() {
            return Err(format!(
                "record {} {} uses CIDR or geoproximity routing, which standin cannot restore exactly",
                rs.name(),
                rs.r#type().as_str()
            ));
        }
        Ok(Self {
            name: unescape(rs.name()),
            rtype: rs.r#type().as_str().to_owned(),
            ttl: rs.ttl(),
            values: rs
                .resource_records()
                .iter()
                .map(|r| r.value().to_owned())
                .collect(),
            alias: rs.alias_target().map(|a| Alias {
                dns_name: a.dns_name().to_owned(),
                hosted_zone_id: a.hosted_zone_id().to_owned(),
                evaluate_target_health: a.evaluate_target_health(),
            }),
            set_identifier: rs.set_identifier().map(str::to_owned),
            weight: rs.weight(),
            region: rs.region().map(|r| r.as_str().to_owned()),
            failover: rs.failover().map(|f| f.as_str().to_owned()),
            multi_value_answer: rs.multi_value_answer(),
            health_check_id: rs.health_check_id().map(str::to_owned),
            geo_location: rs.geo_location().map(|g| {
                [
                    g.continent_code().map(str::to_owned),
                    g.country_code().map(str::to_owned),
                    g.subdivision_code().map(str::to_owned),
                ]
            }),
        })
    }

    /// The record set as `aws route53 change-resource-record-sets` takes it (JSON, AWS names).
    pub fn cli_json(&self) -> serde_json::Value {
        let mut set = serde_json::json!({"Name": self.name, "Type": self.rtype});
        let mut put = |key: &str, value: serde_json::Value| {
            if !value.is_null() {
                set[key] = value;
            }
        };
        put("TTL", self.ttl.into());
        if !self.values.is_empty() {
            let records: Vec<_> = self
                .values
                .iter()
                .map(|v| serde_json::json!({"Value": v}))
                .collect();
            put("ResourceRecords", records.into());
        }
        put(
            "AliasTarget",
            self.alias.as_ref().map_or(serde_json::Value::Null, |a| {
                serde_json::json!({
                    "HostedZoneId": a.hosted_zone_id,
                    "DNSName": a.dns_name,
                    "EvaluateTargetHealth": a.evaluate_target_health,
                })
            }),
        );
        put("SetIdentifier", self.set_identifier.clone().into());
        put("Weight", self.weight.into());
        put("Region", self.region.clone().into());
        put("Failover", self.failover.clone().into());
        put("MultiValueAnswer", self.multi_value_answer.into());
        put("HealthCheckId", self.health_check_id.clone().into());
        if let Some(codes) = &self.geo_location {
            let names = ["ContinentCode", "CountryCode", "SubdivisionCode"];
            let geo: serde_json::Map<_, _> = names
                .iter()
                .zip(codes)
                .filter_map(|(name, code)| Some(((*name).to_owned(), code.clone()?.into())))
                .collect();
            put("GeoLocation", geo.into());
        }
        set
    }

    fn to_sdk(&self) -> ResourceRecordSet {
        let records = (!self.values.is_empty()).then(|| {
            self.values
                .iter()
                .map(|v| {
                    ResourceRecord::builder()
                        .value(v)
                        .build()
                        .expect("value is set")
                })
                .collect::<Vec<_>>()
        });
        ResourceRecordSet::builder()
            .name(&self.name)
            .r#type(RrType::from(self.rtype.as_str()))
            .set_ttl(self.ttl)
            .set_resource_records(records)
            .set_alias_target(self.alias.as_ref().map(|a| {
                AliasTarget::builder()
                    .dns_name(&a.dns_name)
                    .hosted_zone_id(&a.hosted_zone_id)
                    .evaluate_target_health(a.evaluate_target_health)
                    .build()
                    .expect("alias fields are set")
            }))
            .set_set_identifier(self.set_identifier.clone())
            .set_weight(self.weight)
            .set_region(self.region.as_deref().map(ResourceRecordSetRegion::from))
            .set_failover(
                self.failover
                    .as_deref()
                    .map(ResourceRecordSetFailover::from),
            )
            .set_multi_value_answer(self.multi_value_answer)
            .set_health_check_id(self.health_check_id.clone())
            .set_geo_location(self.geo_location.as_ref().map(|[continent, country, sub]| {
                GeoLocation::builder()
                    .set_continent_code(continent.clone())
                    .set_country_code(country.clone())
                    .set_subdivision_code(sub.clone())
                    .build()
            }))
            .build()
            .expect("name and type are set")
    }
}

/// Route 53 names are absolute and case-insensitive; compare them in one form.
pub fn fqdn(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.")
    }
}

/// Route 53 returns `*` as `\052` (and other specials octal-escaped); names are kept readable.
fn unescape(name: &str) -> String {
    fqdn(&name.replace("\\052", "*"))
}

/// The hosted zone of the account that holds `name` (the one with the longest matching
/// suffix), if any.
pub async fn zone_containing(client: &Client, name: &str) -> Result<Option<Zone>, AwsError> {
    let name = fqdn(name);
    let mut best: Option<Zone> = None;
    let mut pages = client.list_hosted_zones().into_paginator().send();
    while let Some(page) = pages.next().await {
        for z in page.op("Route53.ListHostedZones")?.hosted_zones() {
            let zone = fqdn(z.name());
            let holds = name == zone || name.ends_with(&format!(".{zone}"));
            if holds && best.as_ref().is_none_or(|b| zone.len() > b.name.len()) {
                best = Some(Zone {
                    id: bare_id(z.id()),
                    name: zone,
                });
            }
        }
    }
    Ok(best)
}

/// Whether `zone` (a playbook's `zone:`) names a hosted zone by id, not by name.
pub fn is_zone_id(zone: &str) -> bool {
    zone.starts_with("/hostedzone/") || !zone.contains('.')
}

/// Finds a hosted zone by id (`Z...` or `/hostedzone/Z...`) or by name.
pub async fn find_zone(client: &Client, zone: &str) -> Result<Option<Zone>, AwsError> {
    if is_zone_id(zone) {
        let id = zone.trim_start_matches("/hostedzone/");
        return match client
            .get_hosted_zone()
            .id(id)
            .send()
            .await
            .op("Route53.GetHostedZone")
        {
            Ok(out) => Ok(out.hosted_zone().map(|z| Zone {
                id: bare_id(z.id()),
                name: fqdn(z.name()),
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        };
    }
    let wanted = fqdn(zone);
    let out = client
        .list_hosted_zones_by_name()
        .dns_name(&wanted)
        .max_items(10)
        .send()
        .await
        .op("Route53.ListHostedZonesByName")?;
    let mut matches = out
        .hosted_zones()
        .iter()
        .filter(|z| fqdn(z.name()) == wanted);
    let Some(first) = matches.next() else {
        return Ok(None);
    };
    // A private and a public zone may share a name; a playbook must then say which by id.
    if matches.next().is_some() {
        return Err(AwsError::new(
            "Route53.ListHostedZonesByName",
            "AmbiguousZone",
            format!("more than one hosted zone is named {wanted}; give the zone id instead"),
        ));
    }
    Ok(Some(Zone {
        id: bare_id(first.id()),
        name: wanted,
    }))
}

fn bare_id(id: &str) -> String {
    id.trim_start_matches("/hostedzone/").to_owned()
}

/// Lists the zone's record sets in Route 53's order from `name` (and `rtype`), page by page,
/// until `visit` breaks with an answer or the listing ends (`None`).
async fn scan<T>(
    client: &Client,
    zone: &Zone,
    name: &str,
    rtype: Option<&str>,
    max_items: i32,
    mut visit: impl FnMut(&ResourceRecordSet) -> ControlFlow<T>,
) -> Result<Option<T>, AwsError> {
    let mut request = client
        .list_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .start_record_name(name)
        .set_start_record_type(rtype.map(RrType::from))
        .max_items(max_items);
    loop {
        let page = request
            .clone()
            .send()
            .await
            .op("Route53.ListResourceRecordSets")?;
        for rs in page.resource_record_sets() {
            if let ControlFlow::Break(answer) = visit(rs) {
                return Ok(Some(answer));
            }
        }
        if !page.is_truncated() {
            return Ok(None);
        }
        request = request
            .set_start_record_name(page.next_record_name().map(str::to_owned))
            .set_start_record_type(page.next_record_type().cloned())
            .set_start_record_identifier(page.next_record_identifier().map(str::to_owned));
    }
}

/// Every hosted zone of the account (ListHostedZones, page after page).
pub async fn zones(client: &Client) -> Result<Vec<Zone>, AwsError> {
    let mut zones = Vec::new();
    let mut pages = client.list_hosted_zones().into_paginator().send();
    while let Some(page) = pages.next().await {
        zones.extend(
            page.op("Route53.ListHostedZones")?
                .hosted_zones()
                .iter()
                .map(|z| Zone {
                    id: bare_id(z.id()),
                    name: fqdn(z.name()),
                }),
        );
    }
    Ok(zones)
}

/// Every record set of a zone standin could change; those it could not restore exactly (CIDR,
/// geoproximity routing) are left out.
pub async fn records(client: &Client, zone: &Zone) -> Result<Vec<RecordSet>, AwsError> {
    let mut all = Vec::new();
    scan(client, zone, &zone.name, None, 300, |rs| {
        all.extend(RecordSet::from_sdk(rs).ok());
        ControlFlow::<()>::Continue(())
    })
    .await?;
    Ok(all)
}

/// Reads the record set with this name, type and set identifier, if it exists.
pub async fn get_record(
    client: &Client,
    zone: &Zone,
    name: &str,
    rtype: &str,
    set_identifier: Option<&str>,
) -> Result<Option<RecordSet>, AwsError> {
    let name = fqdn(name);
    let found = scan(client, zone, &name, Some(rtype), 100, |rs| {
        let same_name = unescape(rs.name()) == name;
        if !same_name || rs.r#type().as_str() != rtype {
            // Listing is sorted by name then type: past our record means it does not exist.
            if past(&unescape(rs.name()), rs.r#type().as_str(), &name, rtype) {
                return ControlFlow::Break(None);
            }
            return ControlFlow::Continue(());
        }
        if rs.set_identifier() == set_identifier {
            return ControlFlow::Break(Some(RecordSet::from_sdk(rs)));
        }
        ControlFlow::Continue(())
    })
    .await?;
    found.flatten().transpose().map_err(|message| {
        AwsError::new(
            "Route53.ListResourceRecordSets",
            "UnsupportedRouting",
            message,
        )
    })
}

/// The type and set identifier of every record set named `name` (any type): what Route 53
/// checks a new record set against (a CNAME shares its name with nothing; a plain record set
/// does not share name and type with routed ones).
pub async fn sets_named(
    client: &Client,
    zone: &Zone,
    name: &str,
) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let name = fqdn(name);
    let mut found = Vec::new();
    scan(client, zone, &name, None, 300, |rs| {
        if unescape(rs.name()) != name {
            return ControlFlow::Break(());
        }
        found.push((
            rs.r#type().as_str().to_owned(),
            rs.set_identifier().map(str::to_owned),
        ));
        ControlFlow::Continue(())
    })
    .await?;
    Ok(found)
}

/// Whether a listed record sorts after the one we look for (Route 53 sorts by reversed labels).
fn past(listed_name: &str, listed_type: &str, name: &str, rtype: &str) -> bool {
    let key = |n: &str| {
        n.trim_end_matches('.')
            .rsplit('.')
            .collect::<Vec<_>>()
            .join(".")
    };
    (key(listed_name), listed_type) > (key(name), rtype)
}

/// Applies one change and waits until Route 53 reports it INSYNC on all its name servers.
pub async fn change(
    client: &Client,
    zone: &Zone,
    action: ChangeAction,
    record: &RecordSet,
    comment: &str,
    waits: &Waits,
) -> Result<(), AwsError> {
    let batch = ChangeBatch::builder()
        .comment(comment)
        .changes(
            Change::builder()
                .action(action)
                .resource_record_set(record.to_sdk())
                .build()
                .expect("action and record set are set"),
        )
        .build()
        .expect("changes are set");
    let out = client
        .change_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .change_batch(batch)
        .send()
        .await
        .op("Route53.ChangeResourceRecordSets")?;
    let mut status = out
        .change_info()
        .map(|c| (c.id().to_owned(), c.status().clone()));
    let mut poller = Poller::new(waits);
    while let Some((id, ChangeStatus::Pending)) = status {
        poller
            .wait("Route53.GetChange", "Route 53 change PENDING")
            .await?;
        let info = client
            .get_change()
            .id(&id)
            .send()
            .await
            .op("Route53.GetChange")?;
        status = info
            .change_info()
            .map(|c| (c.id().to_owned(), c.status().clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_absolute_and_case_insensitive() {
        assert_eq!(fqdn("App.Example.com"), "app.example.com.");
        assert_eq!(fqdn("app.example.com."), "app.example.com.");
        assert_eq!(unescape("\\052.example.com."), "*.example.com.");
    }

    #[test]
    fn listing_order_is_by_reversed_labels() {
        assert!(past("b.example.com.", "A", "a.example.com.", "A"));
        assert!(!past("a.example.com.", "A", "a.example.com.", "CNAME"));
        assert!(past("a.example.com.", "TXT", "a.example.com.", "CNAME"));
        assert!(!past("example.com.", "NS", "app.example.com.", "CNAME"));
    }

    #[test]
    fn record_set_round_trips_through_the_sdk_type() {
        let rs = RecordSet {
            ttl: Some(60),
            values: vec!["a.example.net".into()],
            set_identifier: Some("blue".into()),
            weight: Some(100),
            health_check_id: Some("hc-1".into()),
            ..RecordSet::new("api.example.com", "CNAME")
        };
        assert_eq!(RecordSet::from_sdk(&rs.to_sdk()).unwrap(), rs);
    }
}
