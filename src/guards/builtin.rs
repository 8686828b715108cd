//! The built-in guards, always on, because they are the mistakes that wipe a production
//! database or send production to a broken environment during a swap; and the playbook-wide
//! warnings. Each built-in fails closed: a target it cannot classify is a failure with the
//! reason, overruled only by `--force-guard NAME`.

use std::collections::BTreeMap;

use super::live::{Live, ReadError};
use super::predicted::Predicted;
use crate::aws::eb::{Env, OptionKey};
use crate::aws::route53::RecordSet;
use crate::playbook::Playbook;
use crate::steps::{self, Resource, Value};

pub(super) const STAGING_DB: &str = "staging-db-in-production";
pub(super) const SEVERE: &str = "severe-target";

/// Name tokens that mark production and staging (in paths, environment and host names).
const PRODUCTION: &[&str] = &["prod", "production", "prd", "live"];
const STAGING: &[&str] = &["staging", "stage", "stg"];

/// How many names standin follows from a record to what serves it.
const MAX_HOPS: usize = 5;

/// Whether a key names a database host (or a URL that contains one).
fn is_database_host(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    [
        "DB_HOST",
        "DATABASE_HOST",
        "DATABASE_URL",
        "DB_URL",
        "PGHOST",
        "MYSQL_HOST",
    ]
    .iter()
    .any(|k| key.ends_with(k))
}

/// The alphanumeric words of a name, lowercased.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

fn has_word(text: &str, set: &[&str]) -> bool {
    words(text).any(|w| set.contains(&w.as_str()))
}

/// `location` with its production word replaced by each staging word (`/shop/prod` →
/// `/shop/staging`, `/shop/stage`, `/shop/stg`).
pub(super) fn staging_twins(location: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prod in PRODUCTION {
        let found = location.match_indices(prod).find(|(i, _)| {
            let before = location[..*i].chars().last();
            let after = location[i + prod.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        });
        if let Some((i, _)) = found {
            for stage in STAGING {
                out.push(format!(
                    "{}{stage}{}",
                    &location[..i],
                    &location[i + prod.len()..]
                ));
            }
        }
    }
    out
}

/// Built-in: no production parameter or property may end up holding a staging database host,
/// recognised by a staging word in the host name or by being the value of the same key in the
/// staging twin of its path or environment.
pub(super) async fn staging_db_in_production(
    state: &Predicted<'_>,
    live: &dyn Live,
) -> Vec<String> {
    let mut failures = Vec::new();
    for change in &state.changed {
        let resource = &change.resource;
        let (Some(key), Some(location)) = (resource.key_name(), resource.location()) else {
            continue;
        };
        if !is_database_host(key) || !has_word(location, PRODUCTION) {
            continue;
        }
        let Some(host) = change.after.as_ref().and_then(Value::clear) else {
            continue;
        };
        if has_word(&host, STAGING) {
            failures.push(format!(
                "{resource} would become `{}`, a staging database host",
                crate::escape::value(&host)
            ));
            continue;
        }
        for twin in staging_twins(location) {
            let twin = match resource {
                Resource::Parameter { .. } => Resource::parameter(&format!("{twin}/{key}")),
                _ => Resource::property(&twin, key),
            };
            match state.value(live, &twin, None).await {
                Ok(Some(v)) if v.clear().as_deref() == Some(host.as_str()) => {
                    failures.push(format!(
                        "{resource} would become `{}`, the database host of {twin}",
                        crate::escape::value(&host)
                    ));
                    break;
                }
                Ok(_) => {}
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    failures
}

/// A failed read as the reason a guard fails.
fn why(e: ReadError) -> String {
    e.to_string()
}

/// What a DNS answer points at, as far as its own name tells.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// An Elastic Beanstalk environment's CNAME.
    Environment(String),
    /// An Elastic Load Balancing DNS name (an ALB in front of environments).
    LoadBalancer(String),
    /// Another host name, which may be a record of the account (followed) or not.
    Name(String),
    /// IP addresses: not an environment.
    Addresses,
}

/// What a record set sends traffic to; `None` for records that carry no traffic (TXT, MX...).
fn target_of(record: &RecordSet) -> Option<Target> {
    let name = match &record.alias {
        Some(alias) => alias.dns_name.clone(),
        None if record.rtype == "CNAME" => record.values.first().cloned()?,
        None if matches!(record.rtype.as_str(), "A" | "AAAA") => return Some(Target::Addresses),
        None => return None,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    // The China partitions' names end in `.com.cn`.
    let name_in = |suffix: &str| {
        name.ends_with(suffix)
            || name
                .strip_suffix(".cn")
                .is_some_and(|n| n.ends_with(suffix))
    };
    Some(if name_in(".elasticbeanstalk.com") {
        Target::Environment(name)
    } else if name_in(".elb.amazonaws.com") {
        Target::LoadBalancer(name)
    } else {
        Target::Name(name)
    })
}

/// The environments `record` sends traffic to, following records of the account; `Err` when
/// it points at something that should be an environment and cannot be classified.
async fn environments_of(record: &RecordSet, live: &dyn Live) -> Result<Vec<Env>, String> {
    let mut target = target_of(record);
    for _ in 0..MAX_HOPS {
        match target {
            None | Some(Target::Addresses) => return Ok(Vec::new()),
            Some(Target::Environment(cname)) => {
                return match live.environment_by_cname(&cname).await.map_err(why)? {
                    Some(env) => Ok(vec![env]),
                    None => Err(format!(
                        "points at {cname}, an Elastic Beanstalk name of no environment standin can see (another region or account?), so its health cannot be checked"
                    )),
                }
            }
            Some(Target::LoadBalancer(dns)) => {
                return live.environments_behind(&dns).await.map_err(why)?.ok_or_else(|| {
                    format!(
                        "points at load balancer {dns}, which standin cannot see (another region or account?), so the health of what it serves cannot be checked"
                    )
                })
            }
            Some(Target::Name(name)) => match live.record(&name).await.map_err(why)? {
                // A custom domain of the account: follow it.
                Some(next) => target = target_of(&next),
                // Not a record of the account, nor an environment or a load balancer.
                None => return Ok(Vec::new()),
            },
        }
    }
    Err(format!(
        "leads through more than {MAX_HOPS} names; standin cannot tell what serves it"
    ))
}

/// Built-in: no change may send traffic to an Elastic Beanstalk environment whose health is
/// Severe: a record repointed at it (its CNAME, an alias to it, a load balancer in front of
/// it, a custom domain of the account that leads there), or a swap that hands it production's
/// CNAME. A target that should be an environment but cannot be classified fails the guard.
pub(super) async fn severe_target(state: &Predicted<'_>, live: &dyn Live) -> Vec<String> {
    let mut failures = Vec::new();
    for change in &state.changed {
        let resource = &change.resource;
        let envs = match (resource, &change.after) {
            (Resource::Record { .. }, Some(Value::Record { record })) => {
                environments_of(record, live).await
            }
            (Resource::Cname { environment }, Some(Value::Text { text }))
                if has_word(text.split('.').next().unwrap_or(""), PRODUCTION) =>
            {
                match live.environment(environment).await {
                    Ok(Some(env)) => Ok(vec![env]),
                    Ok(None) => Err(format!("environment {environment} does not exist")),
                    Err(e) => Err(why(e)),
                }
            }
            _ => continue,
        };
        match envs {
            Ok(envs) => {
                for env in envs.iter().filter(|e| e.is_severe()) {
                    failures.push(format!(
                        "{resource} would send traffic to environment {}, which is {}",
                        env.name,
                        env.describe()
                    ));
                }
            }
            Err(why) => failures.push(format!("{resource} {why}")),
        }
    }
    failures
}

/// Warnings about the playbook as a whole: the incident's forgotten step, and workers left
/// with other settings than the web tier.
pub async fn playbook_warnings(
    pb: &Playbook,
    state: &Predicted<'_>,
    live: &dyn Live,
) -> Vec<String> {
    let configures = state.changed.iter().any(|c| {
        matches!(
            c.resource,
            Resource::Parameter { .. } | Resource::Property { .. }
        )
    });
    let restarts_workers = pb.steps.iter().any(|s| s.kind.restarts_workers);
    let mut out = Vec::new();
    if configures && !restarts_workers {
        out.push("the plan changes configuration but restarts no queue workers: workers keep their old settings (database, queue) until restarted; add a `workers.restart` step, or confirm the playbook has no workers".into());
    }
    out.extend(worker_tier_mismatches(state, live).await);
    out.extend(capacity_shortfalls(state, live).await);
    out
}

/// Properties the plan changes on a web-tier environment that a worker-tier environment of the
/// same application holds with another value, after the plan.
async fn worker_tier_mismatches(state: &Predicted<'_>, live: &dyn Live) -> Vec<String> {
    let mut changed: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::new();
    for c in &state.changed {
        if let (Resource::Property { environment, name }, Some(after)) = (&c.resource, &c.after) {
            changed.entry(environment).or_default().push((name, after));
        }
    }
    let mut out = Vec::new();
    for (name, keys) in changed {
        let web = match live.environment(name).await {
            Ok(Some(env)) if env.tier != "Worker" => env,
            Ok(_) => continue,
            Err(e) => {
                out.push(format!("cannot compare {name} with its workers: {e}"));
                continue;
            }
        };
        let workers = match live.workers(&web.application).await {
            Ok(workers) => workers,
            Err(e) => {
                out.push(format!("cannot compare {name} with its workers: {e}"));
                continue;
            }
        };
        for (worker, props) in workers {
            for (key, value) in &keys {
                let theirs = match state.planned(&Resource::property(&worker.name, key)) {
                    Some(v) => v.clone(),
                    None => props.get(*key).map(|v| Value::text(v.clone())),
                };
                if let Some(theirs) = theirs.filter(|t| t != *value) {
                    out.push(format!(
                        "worker environment {} keeps {key}={theirs} while {name} gets {key}={value}: the workers would run with other settings than the web tier; add an `eb.set-env` step for {} if they must match",
                        worker.name, worker.name
                    ));
                }
            }
        }
    }
    out
}

/// Where the plan moves traffic from one Elastic Beanstalk environment to another (a record
/// repointed from one to the other, a swap that hands over a production CNAME), the capacity
/// the new one has after the plan compared with the old one's ([`steps::eb_scale::Capacity`]): a stand-in with a third of
/// production's instances is the next outage. Capacity is read with DescribeConfigurationSettings,
/// which answers for a production that accepts no change; an `eb.scale` anywhere in the plan
/// counts. Targets that cannot be classified are `severe-target`'s to report.
async fn capacity_shortfalls(state: &Predicted<'_>, live: &dyn Live) -> Vec<String> {
    // (stand-in, production) -> what moves production's traffic there.
    let mut moves: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for change in &state.changed {
        let (from, to) = match (&change.resource, &change.before, &change.after) {
            (
                Resource::Record { .. },
                Some(Value::Record { record: was }),
                Some(Value::Record { record: now }),
            ) => match tokio::join!(environments_of(was, live), environments_of(now, live)) {
                (Ok(from), Ok(to)) => (from, to),
                _ => continue,
            },
            // A swap moves traffic both ways: production's is the side that matters.
            (Resource::Cname { environment }, _, Some(Value::Text { text }))
                if has_word(text.split('.').next().unwrap_or(""), PRODUCTION) =>
            {
                match tokio::join!(
                    live.environment_by_cname(text),
                    live.environment(environment)
                ) {
                    (Ok(Some(from)), Ok(Some(to))) => (vec![from], vec![to]),
                    _ => continue,
                }
            }
            _ => continue,
        };
        for to in &to {
            for from in from.iter().filter(|f| f.name != to.name) {
                moves
                    .entry((to.name.clone(), from.name.clone()))
                    .or_default()
                    .push(change.resource.to_string());
            }
        }
    }
    let mut out = Vec::new();
    for ((to, from), via) in moves {
        let short = match tokio::join!(
            capacity_after(state, live, &to),
            capacity_after(state, live, &from)
        ) {
            (Ok(stand_in), Ok(production)) => stand_in.short_of(&production),
            (Err(e), _) | (_, Err(e)) => {
                out.push(format!(
                    "cannot compare the capacity of {to} with {from}'s: {e}"
                ));
                continue;
            }
        };
        if !short.is_empty() {
            out.push(format!(
                "{to} would take {from}'s traffic ({}) with less capacity: {}; give it {from}'s with an `eb.scale` step (`from: {from}`) before the traffic moves",
                via.join(", "),
                short.join(", ")
            ));
        }
    }
    out
}

/// An environment's capacity in the state the plan leads to.
async fn capacity_after(
    state: &Predicted<'_>,
    live: &dyn Live,
    environment: &str,
) -> Result<steps::eb_scale::Capacity, ReadError> {
    let mut values = BTreeMap::new();
    for (ns, name) in steps::eb_scale::CAPACITY {
        let key = OptionKey::new(ns, name);
        let value = state
            .value(live, &Resource::option(environment, &key), None)
            .await?;
        values.insert(key, value.and_then(|v| v.clear()));
    }
    Ok(steps::eb_scale::Capacity::of(|key| {
        values.get(key).cloned().flatten()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::route53::Alias;
    use crate::guards::fake::{change, env, Fake};
    use crate::steps::{Action, Change};

    fn record(name: &str, rtype: &str, to: &str) -> RecordSet {
        RecordSet {
            values: vec![to.to_owned()],
            ttl: Some(60),
            ..RecordSet::new(name, rtype)
        }
    }

    fn repoint(record: RecordSet) -> Change {
        Change {
            action: Action::Modify,
            resource: Resource::record(&record.name, &record.rtype, None),
            before: None,
            after: Some(Value::Record { record }),
        }
    }

    async fn severe(changes: &[Change], live: &Fake) -> Vec<String> {
        severe_target(&Predicted::new(changes), live).await
    }

    #[test]
    fn twins_name_the_staging_side_of_a_production_path() {
        assert_eq!(
            staging_twins("/shop/prod"),
            ["/shop/staging", "/shop/stage", "/shop/stg"]
        );
        assert!(staging_twins("/shop/productions").is_empty());
        assert!(is_database_host("DATABASE_URL") && !is_database_host("DB_NAME"));
    }

    #[tokio::test]
    async fn a_staging_database_host_in_production_is_refused() {
        let live = Fake::default().with(
            Resource::parameter("/shop/staging/DB_HOST"),
            crate::guards::fake::param("db-7.internal"),
        );
        let by_word = [change(
            Action::Modify,
            "/shop/prod/DB_HOST",
            "prod-db",
            "staging-db",
        )];
        let failures = staging_db_in_production(&Predicted::new(&by_word), &live).await;
        assert_eq!(
            failures,
            ["/shop/prod/DB_HOST would become `staging-db`, a staging database host"]
        );
        let by_twin = [change(
            Action::Modify,
            "/shop/prod/DB_HOST",
            "prod-db",
            "db-7.internal",
        )];
        let failures = staging_db_in_production(&Predicted::new(&by_twin), &live).await;
        assert_eq!(
            failures,
            ["/shop/prod/DB_HOST would become `db-7.internal`, the database host of /shop/staging/DB_HOST"]
        );
        let fine = [change(
            Action::Modify,
            "/shop/prod/DB_HOST",
            "a",
            "prod-db-2",
        )];
        assert!(staging_db_in_production(&Predicted::new(&fine), &live)
            .await
            .is_empty());
    }

    #[tokio::test]
    async fn a_severe_environment_is_found_behind_cnames_aliases_balancers_and_own_domains() {
        let sick = env(
            "shop-prod",
            "shop-prod.us-east-1.elasticbeanstalk.com",
            true,
        );
        let well = env(
            "shop-staging",
            "shop-staging.us-east-1.elasticbeanstalk.com",
            false,
        );
        let live = Fake::default()
            .environment(sick.clone())
            .environment(well.clone())
            .balancer("lb-1.us-east-1.elb.amazonaws.com", vec![sick.clone()])
            .record(record(
                "old.example.com.",
                "CNAME",
                "Shop-Prod.us-east-1.ElasticBeanstalk.com.",
            ));
        let cname = repoint(record(
            "app.example.com.",
            "CNAME",
            "shop-prod.us-east-1.elasticbeanstalk.com",
        ));
        let mut alias = RecordSet::new("app.example.com.", "A");
        alias.alias = Some(Alias {
            dns_name: "dualstack.LB-1.us-east-1.elb.amazonaws.com.".into(),
            hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
            evaluate_target_health: false,
        });
        let own = repoint(record("app.example.com.", "CNAME", "old.example.com"));
        for change in [cname, repoint(alias), own] {
            let failures = severe(std::slice::from_ref(&change), &live).await;
            assert_eq!(failures.len(), 1, "{change:?}: {failures:?}");
            assert!(
                failures[0].contains("environment shop-prod, which is"),
                "{failures:?}"
            );
        }
        let fine = repoint(record(
            "app.example.com.",
            "CNAME",
            "shop-staging.us-east-1.elasticbeanstalk.com",
        ));
        assert!(severe(&[fine], &live).await.is_empty());
        // Not an environment at all: addresses, hosts outside the account.
        let address = repoint(record("www.example.com.", "A", "192.0.2.10"));
        let outside = repoint(record("www.example.com.", "CNAME", "cdn.example.net"));
        assert!(severe(&[address, outside], &live).await.is_empty());
    }

    #[tokio::test]
    async fn a_target_that_cannot_be_classified_fails_closed() {
        let live = Fake::default();
        let unknown_env = repoint(record(
            "app.example.com.",
            "CNAME",
            "gone.us-east-1.elasticbeanstalk.com",
        ));
        let failures = severe(&[unknown_env], &live).await;
        assert!(
            failures[0].contains("an Elastic Beanstalk name of no environment standin can see"),
            "{failures:?}"
        );
        let unknown_lb = repoint(record(
            "app.example.com.",
            "CNAME",
            "lb-9.us-east-1.elb.amazonaws.com",
        ));
        let failures = severe(&[unknown_lb], &live).await;
        assert!(
            failures[0].contains("which standin cannot see"),
            "{failures:?}"
        );
        // Names of the China partitions are classified too.
        for cn in [
            "gone.cn-north-1.elasticbeanstalk.com.cn",
            "lb-9.cn-north-1.elb.amazonaws.com.cn",
        ] {
            let failures = severe(&[repoint(record("app.example.com.", "CNAME", cn))], &live).await;
            assert!(
                failures.first().is_some_and(|f| f.contains("cannot")),
                "{cn}: {failures:?}"
            );
        }
        let looping = Fake::default().record(record("a.example.com.", "CNAME", "a.example.com"));
        let failures = severe(
            &[repoint(record(
                "app.example.com.",
                "CNAME",
                "a.example.com",
            ))],
            &looping,
        )
        .await;
        assert!(failures[0].contains("more than 5 names"), "{failures:?}");
        let denied = Fake::default().failing_environments();
        let failures = severe(
            &[repoint(record(
                "app.example.com.",
                "CNAME",
                "x.us-east-1.elasticbeanstalk.com",
            ))],
            &denied,
        )
        .await;
        assert!(failures[0].contains("denied"), "{failures:?}");
    }

    #[tokio::test]
    async fn a_swap_that_hands_production_s_cname_to_a_severe_environment_is_refused() {
        let sick = env(
            "shop-blue",
            "shop-blue.us-east-1.elasticbeanstalk.com",
            true,
        );
        let live = Fake::default().environment(sick);
        let swap = Change {
            action: Action::Modify,
            resource: Resource::Cname {
                environment: "shop-blue".into(),
            },
            before: Some(Value::text("shop-blue.us-east-1.elasticbeanstalk.com")),
            after: Some(Value::text("shop-prod.us-east-1.elasticbeanstalk.com")),
        };
        let failures = severe(&[swap], &live).await;
        assert_eq!(failures.len(), 1, "{failures:?}");
    }
}
