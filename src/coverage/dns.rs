//! DNS records that point at production and that no step repoints: after the failover they
//! still send their traffic to production, which is down (the incident's `www` repointed and
//! `api` forgotten). Every zone of every account the playbook can read is listed; a record
//! counts when its CNAME value or alias target is one of production's endpoints, unless a step
//! changes that very record, or swaps the CNAME it points at (a record that points at a
//! swapped CNAME follows the swap).

use futures_util::future::join_all;

use super::production::{targets, Moves};
use super::{host, Checked, Finding};
use crate::aws::route53::{self, RecordSet, Zone};
use crate::aws::{pace, AwsError};
use crate::steps::{Ctx, Resource};

/// Zones read at once in an account: Route 53 answers five requests a second per account,
/// and the plan's other reads share them (throttled calls back off, see [`pace`]).
const ZONES_AT_ONCE: usize = 4;

pub(super) async fn check(moves: &Moves, ctx: &Ctx) -> Checked {
    let mut checked = Checked::default();
    if moves.endpoints.is_empty() {
        return checked;
    }
    let accounts = join_all(ctx.accounts.all().map(|(_, clients)| async move {
        let client = &clients.route53;
        let zones = route53::zones(client).await?;
        let done = pace::all(zones.len(), ZONES_AT_ONCE, |k| {
            route53::records(client, &zones[k])
        })
        .await;
        Ok::<_, AwsError>((zones, done))
    }))
    .await;
    for (read, (account, _)) in accounts.into_iter().zip(ctx.accounts.all()) {
        let in_account = account.map_or(String::new(), |n| format!(" in account `{n}`"));
        let (zones, done) = match read {
            Ok(read) => read,
            Err(e) => {
                checked.unchecked.push(format!(
                    "could not check DNS records{in_account} for production's endpoints: {e}"
                ));
                continue;
            }
        };
        if let Some((k, e)) = &done.error {
            let left = done.answers.iter().filter(|a| a.is_none()).count();
            checked.unchecked.push(format!(
                "could not check DNS records of {left} zone(s){in_account} for production's endpoints: zone {}: {e}",
                zones[*k].name
            ));
        }
        for (zone, records) in zones.iter().zip(done.answers) {
            for record in records.iter().flatten() {
                if let Some(finding) = finding(moves, account, zone, record) {
                    checked.findings.push(finding);
                }
            }
        }
    }
    checked
}

/// The finding for `record` in `zone` of `account`, when it points at production and no step
/// covers it.
fn finding(
    moves: &Moves,
    account: Option<&str>,
    zone: &Zone,
    record: &RecordSet,
) -> Option<Finding> {
    let name = host(&record.name);
    let key = (
        account.map(str::to_owned),
        name.clone(),
        record.rtype.clone(),
        record.set_identifier.clone(),
    );
    if moves.changed.contains(&key) {
        return None;
    }
    let endpoint = targets(record)
        .into_iter()
        .find(|t| moves.endpoints.contains_key(t) && !moves.swapped.contains(t))?;
    let mut id = format!("dns:{name}:{}", record.rtype);
    if let Some(set) = &record.set_identifier {
        id.push_str(&format!(":{set}"));
    }
    if let Some(account) = account {
        id.push_str(&format!("@{account}"));
    }
    let in_account = account.map_or(String::new(), |a| format!(" in account `{a}`"));
    Some(Finding {
        id,
        kind: "dns-record".into(),
        account: account.map(str::to_owned),
        resource: Resource::Record {
            name: route53::fqdn(&record.name),
            rtype: record.rtype.clone(),
            set_id: record.set_identifier.clone(),
        }
        .to_string(),
        why: format!(
            "points at production's endpoint {endpoint}{in_account}, and no step repoints it: after the failover it still sends its traffic to production"
        ),
        cover: cover(
            account,
            zone,
            record,
            moves.endpoints.get(&endpoint).cloned().flatten(),
        ),
        ignored: false,
        reason: None,
    })
}

/// A `route53.repoint` step that points `record` where the playbook points production's
/// name (`to`: the record set a step writes instead of production's), as playbook YAML.
fn cover(account: Option<&str>, zone: &Zone, record: &RecordSet, to: Option<RecordSet>) -> String {
    let name = host(&record.name);
    let id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut yaml = format!(
        "- id: repoint-{id}\n  kind: route53.repoint\n  zone: {}\n  record: {name}\n  type: {}\n",
        host(&zone.name),
        record.rtype
    );
    if let Some(set) = &record.set_identifier {
        yaml.push_str(&format!("  set_identifier: {set}\n"));
    }
    let target = to.as_ref().and_then(|to| match &to.alias {
        Some(alias) => Some(host(&alias.dns_name)),
        None => to.values.first().map(|v| host(v)),
    });
    match (&record.alias, target) {
        (Some(alias), Some(target)) => yaml.push_str(&format!(
            "  alias:\n    dns_name: {target}\n    hosted_zone_id: {}  # the zone of {target}'s service and region\n",
            to.as_ref()
                .and_then(|t| t.alias.as_ref())
                .map_or(alias.hosted_zone_id.as_str(), |a| a.hosted_zone_id.as_str())
        )),
        (None, Some(target)) => yaml.push_str(&format!("  to: {target}\n")),
        (_, None) => yaml.push_str("  to: STAND_IN_ENDPOINT  # where the stand-in takes this traffic\n"),
    }
    if let Some(account) = account {
        yaml.push_str(&format!("  account: {account}\n"));
    }
    yaml
}
