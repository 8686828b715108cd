//! Production's queue workers, when no step restarts workers: the incident's forgotten part.
//! The site came back on the stand-in and the jobs did not, because the workers kept running
//! with their old settings (database, queue). Found two ways, in every account: the
//! worker-tier Elastic Beanstalk environments of production's application (the application
//! of an environment whose CNAME is one of production's endpoints), and EC2 instances that
//! carry `production.tags` and look like workers (a `Role` or `Name` tag with `worker` in it),
//! one finding per role. A `workers.restart` step anywhere covers them all.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use super::production::Moves;
use super::{host, Checked, Finding};
use crate::aws::{eb, tagging, AwsError};
use crate::playbook::Playbook;
use crate::steps::Ctx;

pub(super) async fn check(pb: &Playbook, moves: &Moves, ctx: &Ctx) -> Checked {
    let mut checked = Checked::default();
    if pb.steps.iter().any(|s| s.kind.restarts_workers) {
        return checked;
    }
    let tags = &pb.production.tags;
    let reads = join_all(ctx.accounts.all().map(|(_, clients)| async move {
        let environments = async {
            if moves.endpoints.is_empty() {
                return Ok(Vec::new());
            }
            eb::list(&clients.elasticbeanstalk).await
        };
        let instances = async {
            if tags.is_empty() {
                return Ok(BTreeMap::new());
            }
            tagging::instances_tagged(&clients.tagging, tags).await
        };
        tokio::join!(environments, instances)
    }))
    .await;
    let accounts: Vec<_> = ctx.accounts.all().map(|(name, _)| name).collect();
    // Production's applications, from every account: a worker tier may live in another.
    let applications: BTreeSet<String> = reads
        .iter()
        .flat_map(|(envs, _)| envs.iter().flatten())
        .filter(|e| {
            e.cname
                .as_deref()
                .is_some_and(|c| moves.endpoints.contains_key(&host(c)))
        })
        .map(|e| e.application.clone())
        .collect();
    for ((environments, instances), account) in reads.into_iter().zip(accounts) {
        let in_account = account.map_or(String::new(), |n| format!(" in account `{n}`"));
        match environments {
            Ok(environments) => checked.findings.extend(
                environments
                    .iter()
                    .filter(|e| e.tier == "Worker" && applications.contains(&e.application))
                    .map(|e| environment(e, account)),
            ),
            Err(e) => checked
                .unchecked
                .push(unread("worker environments", &in_account, &e)),
        }
        match instances {
            Ok(instances) => checked.findings.extend(tagged(&instances, tags, account)),
            Err(e) => checked
                .unchecked
                .push(unread("tagged worker instances", &in_account, &e)),
        }
    }
    checked
}

fn unread(what: &str, in_account: &str, e: &AwsError) -> String {
    format!("could not check production's {what}{in_account}: {e}")
}

const WHY: &str = "the playbook restarts no queue workers: after the failover they keep running with the settings they started with (database, queue), and production's jobs are not done on the stand-in";

/// A worker-tier environment of production's application.
fn environment(env: &eb::Env, account: Option<&str>) -> Finding {
    let at = account.map_or(String::new(), |a| format!("@{a}"));
    Finding {
        id: format!("workers:eb:{}{at}", env.name),
        kind: "workers".into(),
        account: account.map(str::to_owned),
        resource: format!(
            "worker environment {} of application {}",
            env.name, env.application
        ),
        why: format!("it runs {}'s queue jobs, and {WHY}", env.application),
        cover: cover(
            &format!("elasticbeanstalk:environment-name: {}", env.name),
            "the stand-in's worker environment: its name here",
            account,
        ),
        ignored: false,
        reason: None,
    }
}

/// Production's tagged instances that look like workers, one finding per role.
fn tagged(
    instances: &BTreeMap<String, BTreeMap<String, String>>,
    tags: &BTreeMap<String, String>,
    account: Option<&str>,
) -> Vec<Finding> {
    let mut roles: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (id, its) in instances {
        let role = ["Role", "Name"]
            .into_iter()
            .find_map(|key| its.get_key_value(key))
            .filter(|(_, value)| value.to_ascii_lowercase().contains("worker"));
        if let Some((key, value)) = role {
            roles.entry((key, value)).or_default().push(id);
        }
    }
    let production: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let at = account.map_or(String::new(), |a| format!("@{a}"));
    roles
        .into_iter()
        .map(|((key, value), ids)| Finding {
            id: format!("workers:ec2:{key}={value}{at}"),
            kind: "workers".into(),
            account: account.map(str::to_owned),
            resource: format!(
                "{} instance(s) tagged {} and {key}={value} ({})",
                ids.len(),
                production.join(", "),
                ids.join(", ")
            ),
            why: format!("they look like production's queue workers, and {WHY}"),
            cover: cover(
                &format!("{key}: {value}"),
                "and the stand-in's own tags, so that only its workers restart",
                account,
            ),
            ignored: false,
            reason: None,
        })
        .collect()
}

/// A `workers.restart` step for the stand-in's workers selected by `target` (a tag), as
/// playbook YAML; `note` says what to fill in.
fn cover(target: &str, note: &str, account: Option<&str>) -> String {
    let mut yaml = format!(
        "- id: restart-workers\n  kind: workers.restart\n  targets:\n    {target}  # {note}\n  command: systemctl restart queue-worker  # the workers' own service\n"
    );
    if let Some(account) = account {
        yaml.push_str(&format!("  account: {account}\n"));
    }
    yaml
}
