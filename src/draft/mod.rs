//! `standin init`: a first playbook drafted from a live account, with read calls only. It
//! reads the account once ([`read`]), pairs each production environment with its staging one
//! by name ([`pair`]), works out what the incident's steps need for each pair ([`draft`]), and
//! writes a commented playbook ([`render`]) that a person then reviews.

pub mod pair;
mod render;

use std::collections::BTreeMap;

use crate::aws::eb::{self, Env};
use crate::aws::route53::{self, RecordSet, Zone};
use crate::aws::{ssm, tagging, AwsError, Clients};
use crate::iam::{arn, Grant, Needs};

pub use self::render::render;

/// The account as `init` read it.
pub struct Account {
    pub envs: Vec<Env>,
    pub parameters: Vec<String>,
    pub records: Vec<(Zone, RecordSet)>,
    pub instances: BTreeMap<String, BTreeMap<String, String>>,
}

/// What [`read`] and the drafting call: environments, their settings and resources;
/// parameter names, and the values of those that are no SecureString (never decrypted: no
/// `kms:Decrypt`); zones and their records; tagged instances.
pub fn needs() -> Needs {
    Needs {
        plan: vec![
            Grant::any(&[
                "elasticbeanstalk:DescribeConfigurationSettings",
                "elasticbeanstalk:DescribeEnvironmentResources",
                "elasticbeanstalk:DescribeEnvironments",
                "route53:ListHostedZones",
                "ssm:DescribeParameters",
                "tag:GetResources",
            ]),
            Grant::new(&["route53:ListResourceRecordSets"], [arn::hosted_zones()]),
            Grant::new(&["ssm:GetParameters"], [arn::parameter("*")]),
        ],
        run: Vec::new(),
    }
}

/// Reads what drafting needs, once.
pub async fn read(aws: &Clients) -> Result<Account, AwsError> {
    let (envs, parameters, zones, instances) = tokio::try_join!(
        eb::list(&aws.elasticbeanstalk),
        ssm::all_names(&aws.ssm),
        route53::zones(&aws.route53),
        tagging::instances(&aws.tagging),
    )?;
    let mut records = Vec::new();
    for zone in zones {
        for record in route53::records(&aws.route53, &zone).await? {
            records.push((zone.clone(), record));
        }
    }
    Ok(Account {
        envs,
        parameters,
        records,
        instances,
    })
}

/// One production environment and the staging one that can stand in for it, with what each
/// step of the incident's playbook needs; `None` where the account did not tell.
pub struct Draft {
    /// What the application's names share (`shop`).
    pub stem: String,
    pub production: Env,
    pub staging: Env,
    /// Parameter prefixes: (production's, staging's), e.g. `/shop/prod/`, `/shop/staging/`.
    pub prefixes: Option<(String, String)>,
    /// Staging's `String` parameters whose value is staging's own address (`APP_URL`): it keeps
    /// them. Lists (allowed origins, even of one) are copied: the stand-in serves production's
    /// name.
    pub except: Vec<String>,
    /// Environment properties that say which environment it is (`APP_ENV: production`).
    pub set_env: BTreeMap<String, String>,
    /// Production's public name, pointing at production's environment.
    pub record: Option<(Zone, RecordSet)>,
    /// Staging's own public name.
    pub staging_host: Option<String>,
    /// The load balancer in front of staging, for the lock on its name.
    pub load_balancer: Option<String>,
    /// Tags selecting staging's queue workers, and how many instances have them.
    pub workers: Option<(BTreeMap<String, String>, usize)>,
    /// Settings the workers must see as the web tier does (queue and database).
    pub worker_keys: Vec<String>,
    /// The key of the database host, for the guard that keeps staging's database out.
    pub database_key: Option<String>,
}

/// Which pairs of web environments look like production and its staging, by name, within one
/// application; `only` (`--prod`, `--staging`) picks one pair by name instead.
pub fn candidates(account: &Account, only: Option<(&str, &str)>) -> Vec<(Env, Env)> {
    let web: Vec<&Env> = account.envs.iter().filter(|e| e.tier != "Worker").collect();
    let find = |name: &str| web.iter().find(|e| e.name == name).map(|e| (*e).clone());
    if let Some((prod, staging)) = only {
        return find(prod).zip(find(staging)).into_iter().collect();
    }
    pair::pairs(web.iter().map(|e| e.name.as_str()))
        .into_iter()
        .filter_map(|(prod, staging)| Some((find(&prod)?, find(&staging)?)))
        .filter(|(prod, staging)| prod.application == staging.application)
        .collect()
}

/// Works out each step's settings for one pair (reads properties, the load balancer and the
/// values of staging's plain parameters).
pub async fn draft(
    aws: &Clients,
    account: &Account,
    production: Env,
    staging: Env,
) -> Result<Draft, AwsError> {
    // It names the file too: letters, digits and `-` only (an application may be called
    // anything, `My App/2`).
    let stem: String = pair::shaped(&production.name)
        .map(|s| pair::stem(&s.shape))
        .unwrap_or_else(|| production.application.to_ascii_lowercase())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let prefixes = prefixes(&account.parameters, &stem);
    let pointing = |env: &Env| -> Vec<(Zone, RecordSet)> {
        let Some(cname) = env
            .cname
            .as_deref()
            .map(|c| c.trim_end_matches('.').to_ascii_lowercase())
        else {
            return Vec::new();
        };
        account
            .records
            .iter()
            // A routed record (weighted, failover, ...) is a deliberate split: not a name to
            // take over whole.
            .filter(|(_, r)| r.set_identifier.is_none())
            .filter(|(_, r)| {
                let targets = r
                    .values
                    .iter()
                    .cloned()
                    .chain(r.alias.iter().map(|a| a.dns_name.clone()));
                targets
                    .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
                    .any(|t| t == cname)
            })
            .cloned()
            .collect()
    };
    // Production's public name: one with no environment word in it, where there is one.
    let mut names = pointing(&production);
    names.sort_by_key(|(_, r)| pair::shaped(&r.name).is_some());
    let record = names.into_iter().next();
    let staging_host = pointing(&staging)
        .into_iter()
        .next()
        .map(|(_, r)| r.name.trim_end_matches('.').to_owned());
    let (production_props, staging_props) = tokio::try_join!(
        eb::properties(&aws.elasticbeanstalk, &production),
        eb::properties(&aws.elasticbeanstalk, &staging),
    )?;
    let set_env = staging_props
        .iter()
        .filter_map(|(key, value)| {
            let theirs = production_props.get(key)?;
            let names_side =
                |v: &str, side| pair::shaped(v).is_some_and(|s| s.side == side && s.shape == "{}");
            (names_side(value, pair::Side::Staging) && names_side(theirs, pair::Side::Production))
                .then(|| (key.clone(), theirs.clone()))
        })
        .collect();
    let load_balancer = eb::load_balancers_of(&aws.elasticbeanstalk, &staging.name)
        .await?
        .into_iter()
        .next()
        .map(|lb| lb.rsplit('/').nth(1).map_or(lb.clone(), str::to_owned));
    let mut except = Vec::new();
    let mut worker_keys = Vec::new();
    let mut database_key = None;
    if let Some((_, to)) = &prefixes {
        let names: Vec<String> = account
            .parameters
            .iter()
            .filter(|n| n.starts_with(to.as_str()))
            .cloned()
            .collect();
        let own: Vec<String> = [staging_host.clone(), staging.cname.clone()]
            .into_iter()
            .flatten()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        for (name, value) in ssm::string_values(&aws.ssm, &names).await? {
            let key = name.trim_start_matches(to.as_str()).to_owned();
            if own.iter().any(|h| *h == address(&value)) {
                except.push(key);
            }
        }
        for name in &names {
            let key = name.trim_start_matches(to.as_str());
            let upper = key.to_ascii_uppercase();
            let database = upper.contains("DB") && upper.contains("HOST");
            if database || upper.contains("QUEUE") {
                worker_keys.push(key.to_owned());
            }
            if database && database_key.is_none() {
                database_key = Some(key.to_owned());
            }
        }
    }
    let workers = workers(&account.instances, &staging, &stem);
    Ok(Draft {
        stem,
        production,
        staging,
        prefixes,
        except,
        set_env,
        record,
        staging_host,
        load_balancer,
        workers,
        worker_keys,
        database_key,
    })
}

/// The host a value is the address of (`https://beta.example.org/` → `beta.example.org`),
/// lowercased; a list of origins or any other text is no one address and matches no host.
fn address(value: &str) -> String {
    let value = value.trim();
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    rest.split(['/', ':', '?'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Production's and staging's parameter prefixes for the application `stem`: the directory
/// that holds an environment word, in names whose shape has that stem.
fn prefixes(parameters: &[String], stem: &str) -> Option<(String, String)> {
    let directories: Vec<String> = parameters
        .iter()
        .filter_map(|name| {
            // The shortest leading directory holding an environment word.
            let mut at = 0;
            for piece in name.split_inclusive('/') {
                at += piece.len();
                let dir = &name[..at];
                if dir.ends_with('/') && pair::shaped(dir).is_some() {
                    return Some(dir.to_owned());
                }
            }
            None
        })
        .collect();
    let mut unique = directories.clone();
    unique.sort();
    unique.dedup();
    pair::pairs(unique.iter().map(String::as_str))
        .into_iter()
        .find(|(prod, _)| pair::shaped(prod).is_some_and(|s| pair::stem(&s.shape) == stem))
}

/// Tags that select staging's queue workers: instances with a tag whose value names a worker
/// and one whose value is staging's environment word (and the application's name, where
/// instances carry it).
fn workers(
    instances: &BTreeMap<String, BTreeMap<String, String>>,
    staging: &Env,
    stem: &str,
) -> Option<(BTreeMap<String, String>, usize)> {
    let word = pair::shaped(&staging.name)?.word.to_ascii_lowercase();
    let mut chosen: Option<BTreeMap<String, String>> = None;
    let mut count = 0;
    for tags in instances.values() {
        let role = tags
            .iter()
            .find(|(k, v)| *k != "Name" && v.to_ascii_lowercase().contains("worker"));
        let side = tags.iter().find(|(_, v)| v.to_ascii_lowercase() == word);
        let (Some(role), Some(side)) = (role, side) else {
            continue;
        };
        // Instances that name another application are that application's workers.
        let other_app = tags.iter().any(|(k, v)| {
            matches!(k.to_ascii_lowercase().as_str(), "app" | "application")
                && !v.eq_ignore_ascii_case(stem)
        });
        if other_app {
            continue;
        }
        let app = tags
            .iter()
            .find(|(k, v)| *k != "Name" && v.eq_ignore_ascii_case(stem));
        let mut filter: BTreeMap<String, String> = [role, side]
            .into_iter()
            .chain(app)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        filter.retain(|k, _| k != "Name");
        match &chosen {
            None => {
                chosen = Some(filter);
                count = 1;
            }
            Some(existing) if *existing == filter => count += 1,
            Some(_) => {}
        }
    }
    chosen.map(|c| (c, count))
}

#[cfg(test)]
mod tests {
    use super::address;

    #[test]
    fn a_value_is_an_address_only_when_it_is_one() {
        assert_eq!(address("https://Beta.example.org/"), "beta.example.org");
        assert_eq!(address("beta.example.org:8443"), "beta.example.org");
        assert_eq!(
            address(" http://beta.example.org./x?y "),
            "beta.example.org"
        );
        assert_ne!(
            address("https://app.example.com,https://beta.example.org"),
            "beta.example.org"
        );
        assert_ne!(address("see beta.example.org"), "beta.example.org");
    }
}
