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
use super::{at, could_move, host, id_of, in_account, yaml, Checked, Finding, Later};
use crate::aws::{autoscaling, eb, tagging, AwsError};
use crate::escape;
use crate::playbook::Playbook;
use crate::steps::Ctx;

pub(super) async fn check(pb: &Playbook, moves: &Later<Moves>, ctx: &Ctx) -> Checked {
    let mut checked = Checked::default();
    if pb.steps.iter().any(|s| s.kind.restarts_workers) {
        return checked;
    }
    let tags = &pb.production.tags;
    let reads = join_all(ctx.accounts.all().map(|(_, clients)| async move {
        let environments = async {
            if !could_move(pb) {
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
        let groups = async {
            if tags.is_empty() {
                return Ok(Vec::new());
            }
            autoscaling::groups_tagged(&clients.autoscaling, tags).await
        };
        tokio::join!(environments, instances, groups)
    }))
    .await;
    let moves = moves.get().await;
    let accounts: Vec<_> = ctx.accounts.all().map(|(name, _)| name).collect();
    // Production's applications, from every account: a worker tier may live in another.
    let applications: BTreeSet<String> = reads
        .iter()
        .flat_map(|(envs, _, _)| envs.iter().flatten())
        .filter(|e| {
            e.cname
                .as_deref()
                .is_some_and(|c| moves.endpoints.contains_key(&host(c)))
        })
        .map(|e| e.application.clone())
        .collect();
    // Two accounts of the playbook may be one AWS account (another region): each instance
    // once (its id is AWS's only).
    let mut seen = BTreeSet::new();
    for ((environments, instances, groups), account) in reads.into_iter().zip(accounts) {
        let in_account = in_account(account);
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
            Ok(mut instances) => {
                instances.retain(|id, _| seen.insert(id.clone()));
                checked.findings.extend(tagged(&instances, tags, account));
            }
            Err(e) => checked
                .unchecked
                .push(unread("tagged worker instances", &in_account, &e)),
        }
        match groups {
            // A group whose instances were all named by their own tags adds nothing.
            Ok(groups) => checked.findings.extend(
                groups
                    .iter()
                    .filter(|g| {
                        g.instances.is_empty() || !g.instances.iter().all(|i| seen.contains(i))
                    })
                    .filter_map(|g| group(g, account)),
            ),
            Err(e) => checked
                .unchecked
                .push(unread("worker Auto Scaling groups", &in_account, &e)),
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
    let at = at(account);
    let (name, application) = (escape::value(&env.name), escape::value(&env.application));
    Finding {
        id: format!("workers:eb:{name}{at}"),
        kind: "workers".into(),
        account: account.map(str::to_owned),
        resource: format!("worker environment {name} of application {application}"),
        why: format!("it runs {application}'s queue jobs, and {WHY}"),
        cover: cover(
            &format!("restart-workers-{}", id_of(&env.name)),
            "`elasticbeanstalk:environment-name: <its worker environment>`",
            account,
        ),
        ignored: false,
        reason: None,
    }
}

/// An Auto Scaling group of production's (its tags) that looks like workers: its name, or
/// its `Role` tag, has `worker` in it. Its instances need not carry production's tags.
fn group(group: &autoscaling::Group, account: Option<&str>) -> Option<Finding> {
    let role = role(&group.tags).map(|(_, value)| value);
    if role.is_none() && !group.name.to_ascii_lowercase().contains("worker") {
        return None;
    }
    let name = escape::value(&group.name);
    let instances: Vec<_> = group.instances.iter().map(|i| escape::value(i)).collect();
    Some(Finding {
        id: format!("workers:asg:{name}{}", at(account)),
        kind: "workers".into(),
        account: account.map(str::to_owned),
        resource: format!(
            "Auto Scaling group {name} ({} instance(s): {})",
            instances.len(),
            instances.join(", ")
        ),
        why: format!("it looks like production's queue workers, and {WHY}"),
        cover: cover(
            &format!("restart-workers-{}", id_of(&group.name)),
            "`aws:autoscaling:groupName: <the stand-in's worker group>`",
            account,
        ),
        ignored: false,
        reason: None,
    })
}

/// The tag that says an instance is a worker: `Role` (any case) with `worker` in it, else
/// `Name` with `worker` in it, its last number cut off (`prod-worker-3` is one of
/// `prod-worker`), so that one finding stands for every instance of a role.
fn role(tags: &BTreeMap<String, String>) -> Option<(String, String)> {
    let worker = |value: &str| value.to_ascii_lowercase().contains("worker");
    let find = |wanted: &str| {
        tags.iter()
            .find(|(key, value)| key.eq_ignore_ascii_case(wanted) && worker(value))
    };
    if let Some((key, value)) = find("Role") {
        return Some((key.clone(), value.clone()));
    }
    let (key, value) = find("Name")?;
    let stem = value.trim_end_matches(|c: char| c.is_ascii_digit());
    let stem = stem.trim_end_matches(['-', '_', '.']);
    Some((key.clone(), format!("{stem}*")))
}

/// Production's tagged instances that look like workers, one finding per role.
fn tagged(
    instances: &BTreeMap<String, BTreeMap<String, String>>,
    tags: &BTreeMap<String, String>,
    account: Option<&str>,
) -> Vec<Finding> {
    let mut roles: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for (id, its) in instances {
        if let Some(role) = role(its) {
            roles.entry(role).or_default().push(id);
        }
    }
    let production: Vec<String> = tags
        .iter()
        .map(|(k, v)| format!("{}={}", escape::value(k), escape::value(v)))
        .collect();
    let at = at(account);
    roles
        .into_iter()
        .map(|((key, value), ids)| {
            let tag = format!("{}={}", escape::value(&key), escape::value(&value));
            Finding {
                id: format!("workers:ec2:{tag}{at}"),
                kind: "workers".into(),
                account: account.map(str::to_owned),
                resource: format!(
                    "{} instance(s) tagged {} and {tag} ({})",
                    ids.len(),
                    production.join(", "),
                    ids.iter()
                        .map(|i| escape::value(i))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                why: format!("they look like production's queue workers, and {WHY}"),
                cover: cover(
                    &format!("restart-workers-{}", id_of(&value)),
                    &format!("`{key}: {value}`"),
                    account,
                ),
                ignored: false,
                reason: None,
            }
        })
        .collect()
}

/// A `workers.restart` step named `id` for the stand-in's workers, as playbook YAML. Which
/// instances are the stand-in's is not known here: the placeholder says what to fill in
/// (`select`: the tag production's are found by) and is not an instance id, so `validate`
/// refuses the step until someone does.
fn cover(id: &str, select: &str, account: Option<&str>) -> String {
    let mut out = format!(
        "- id: {}\n  kind: workers.restart\n  instances: [{}]\n  command: {}\n",
        yaml(id),
        yaml(&format!(
            "<the stand-in's workers: their ids, or instead `targets:` with {select} and the stand-in's own tag>"
        )),
        yaml("systemctl restart <the workers' service>")
    );
    if let Some(account) = account {
        out.push_str(&format!("  account: {}\n", yaml(account)));
    }
    out
}
