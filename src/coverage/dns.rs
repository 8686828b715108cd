//! DNS records that point at production and that no step repoints: after the failover they
//! still send their traffic to production, which is down (the incident's `www` repointed and
//! `api` forgotten). Every zone of every account the playbook can read is listed, each zone
//! once (Route 53 is global: accounts that reach the same one see the same zones); a record
//! counts when its CNAME value or alias target is one of production's endpoints, unless a step
//! changes that very record, or swaps the CNAME it points at (a record that points at a
//! swapped CNAME follows the swap).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use super::production::{targets, Moves};
use super::{at, could_move, host, id_of, in_account, yaml, Checked, Finding, Later};
use crate::aws::pace;
use crate::aws::route53::{self, RecordSet, Zone};
use crate::escape;
use crate::playbook::Playbook;
use crate::steps::{Ctx, Resource};

/// Zones read at once in an account: Route 53 answers five requests a second per account,
/// and the plan's other reads share them (throttled calls back off, see [`pace`]).
const ZONES_AT_ONCE: usize = 4;

/// What a cover says where the playbook does not tell where the traffic goes: in a comment,
/// so that `validate` refuses the step (no `to`) until someone fills it in.
const FILL_IN: &str = "<the stand-in's name for this traffic>";

pub(super) async fn check(pb: &Playbook, moves: &Later<Moves>, ctx: &Ctx) -> Checked {
    let mut checked = Checked::default();
    if !could_move(pb) {
        return checked;
    }
    let listed = join_all(
        ctx.accounts
            .all()
            .map(|(_, clients)| route53::zones(&clients.route53)),
    )
    .await;
    // Each zone once, in the first account that lists it.
    let mut seen = BTreeSet::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut zones_of = Vec::new();
    for (read, (account, clients)) in listed.into_iter().zip(ctx.accounts.all()) {
        let in_account = in_account(account);
        match read {
            Ok(zones) => {
                let zones: Vec<Zone> = zones
                    .into_iter()
                    .filter(|z| seen.insert(z.id.clone()))
                    .collect();
                for zone in &zones {
                    *names.entry(zone.name.clone()).or_default() += 1;
                }
                zones_of.push((account, in_account, clients, zones));
            }
            Err(e) => checked.unchecked.push(format!(
                "could not check DNS records{in_account} for production's endpoints: {e}"
            )),
        }
    }
    let read = join_all(zones_of.iter().map(|(_, _, clients, zones)| {
        pace::all(zones.len(), ZONES_AT_ONCE, |k| {
            route53::records(&clients.route53, &zones[k])
        })
    }))
    .await;
    // Which records are production's, the steps' plans tell: read meanwhile.
    let moves = moves.get().await;
    if moves.endpoints.is_empty() {
        return checked;
    }
    for ((account, in_account, _, zones), done) in zones_of.iter().zip(read) {
        if let Some((k, e)) = &done.error {
            let left = done.answers.iter().filter(|a| a.is_none()).count();
            checked.unchecked.push(format!(
                "could not check DNS records of {left} zone(s){in_account} for production's endpoints: zone {}: {e}",
                zones[*k].name
            ));
        }
        for (zone, records) in zones.iter().zip(done.answers) {
            // Two zones of one name (public and private): the zone's id tells them apart.
            let shared = names.get(&zone.name).is_some_and(|n| *n > 1);
            for record in records.iter().flatten() {
                if let Some(finding) = finding(moves, *account, zone, shared, record) {
                    checked.findings.push(finding);
                }
            }
        }
    }
    checked
}

/// The finding for `record` in `zone` of `account`, when it points at production and no step
/// covers it; `shared`: another zone has the same name.
fn finding(
    moves: &Moves,
    account: Option<&str>,
    zone: &Zone,
    shared: bool,
    record: &RecordSet,
) -> Option<Finding> {
    let name = host(&record.name);
    let key = (
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
    let mut id = format!("dns:{}:{}", escape::value(&name), record.rtype);
    if let Some(set) = &record.set_identifier {
        id.push_str(&format!(":{}", escape::value(set)));
    }
    if shared {
        id.push_str(&format!("/{}", zone.id));
    }
    id.push_str(&at(account));
    let in_account = in_account(account);
    let cover = cover(
        &id,
        account,
        zone,
        shared,
        record,
        moves.endpoints.get(&endpoint).cloned().flatten(),
    );
    Some(Finding {
        id,
        cover,
        kind: "dns-record".into(),
        account: account.map(str::to_owned),
        resource: Resource::Record {
            name: route53::fqdn(&record.name),
            rtype: record.rtype.clone(),
            set_id: record.set_identifier.clone(),
        }
        .to_string(),
        why: format!(
            "points at production's endpoint {}{in_account}, and no step repoints it: after the failover it still sends its traffic to production",
            escape::value(&endpoint)
        ),
        ignored: false,
        reason: None,
    })
}

/// A `route53.repoint` step that points `record` where the playbook points production's
/// name (`to`: the record set a step writes instead of production's), as playbook YAML.
fn cover(
    finding: &str,
    account: Option<&str>,
    zone: &Zone,
    shared: bool,
    record: &RecordSet,
    to: Option<RecordSet>,
) -> String {
    let name = host(&record.name);
    // From the whole finding id: two records of one name (A and AAAA, two zones, two
    // accounts) get steps of their own.
    let id = format!("repoint-{}", id_of(finding.trim_start_matches("dns:")));
    let zone_field = if shared {
        zone.id.clone()
    } else {
        host(&zone.name)
    };
    let mut out = format!(
        "- id: {}\n  kind: route53.repoint\n  zone: {}\n  record: {}\n  type: {}\n",
        yaml(&id),
        yaml(&zone_field),
        yaml(&name),
        yaml(&record.rtype)
    );
    if let Some(set) = &record.set_identifier {
        out.push_str(&format!("  set_identifier: {}\n", yaml(set)));
    }
    let target = to.as_ref().and_then(|to| match &to.alias {
        Some(alias) => Some((host(&alias.dns_name), Some(alias))),
        None => to.values.first().map(|v| (host(v), None)),
    });
    let zone_id = "<the hosted zone id of its service and region>";
    match (&record.alias, target) {
        (Some(_), Some((name, Some(alias)))) => out.push_str(&format!(
            "  alias:\n    dns_name: {}\n    hosted_zone_id: {}\n    evaluate_target_health: {}\n",
            yaml(&name),
            yaml(&alias.hosted_zone_id),
            alias.evaluate_target_health
        )),
        // Where the playbook points a plain name: the zone of its service and region is not
        // known here, and the placeholder is not a zone id.
        (Some(found), Some((name, None))) => out.push_str(&format!(
            "  alias:\n    dns_name: {}\n    hosted_zone_id: {}\n    evaluate_target_health: {}\n",
            yaml(&name),
            yaml(zone_id),
            found.evaluate_target_health
        )),
        (Some(_), None) => out.push_str(&format!(
            "  # alias: {{dns_name: {FILL_IN}, hosted_zone_id: {zone_id}}}  (fill in: a repoint needs `to` or `alias`)\n"
        )),
        (None, Some((target, _))) => out.push_str(&format!("  to: {}\n", yaml(&target))),
        (None, None) => out.push_str(&format!(
            "  # to: {FILL_IN}  (fill in: a repoint needs `to` or `alias`)\n"
        )),
    }
    if let Some(account) = account {
        out.push_str(&format!("  account: {}\n", yaml(account)));
    }
    out
}
