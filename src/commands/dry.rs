//! `standin drill --dry`: the rehearsal without changes (what AWS ARC calls plan evaluation).
//! It plans (every read the run makes), then says what would block a real drill: a step that
//! cannot be planned (a missing resource), a guard that refuses, an environment a step would
//! change that is not Ready, and any action the run or its rollback would call that the
//! caller's IAM policies do not allow (IAM policy simulation of the caller's principal), or a
//! simulation that cannot be made.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::aws::iam::{self as aws_iam, Decision};
use crate::cli::{AccountArgs, Cli, GuardArgs};
use crate::config::AwsSettings;
use crate::engine::plan::{self, PlanDoc};
use crate::error::{Ending, Error};
use crate::iam::{Arn, Grant, Needs, Phase};
use crate::playbook::Playbook;
use crate::report::{self, Format};
use crate::steps::{Action, Ctx, Resource};

/// What a dry drill found.
#[derive(Serialize)]
pub(super) struct Evaluation {
    pub plan: PlanDoc,
    /// What would stop a real drill; empty when nothing would.
    pub blockers: Vec<String>,
    /// What would not stop a drill but would make it miss its target: a DNS record whose TTL
    /// alone takes up the whole `rto_target`.
    pub warnings: Vec<String>,
    /// In the playbook's own account (`aws:`).
    permissions: Permissions,
    /// In each account of `accounts:`, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    accounts: BTreeMap<String, Permissions>,
}

/// The permission check.
#[derive(Serialize, Default)]
struct Permissions {
    /// The IAM principal simulated.
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<String>,
    /// Action and resource pairs checked.
    checked: usize,
    denied: Vec<Denied>,
    /// Why the check could not be made, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_checked: Option<String>,
}

#[derive(Serialize)]
struct Denied {
    action: String,
    resource: String,
    decision: String,
}

pub(super) async fn dry(
    cli: &Cli,
    pb: &Playbook,
    guards: &GuardArgs,
    account: &AccountArgs,
) -> Result<Ending, Error> {
    let mut evaluation = evaluate(pb, guards).await;
    // What `drill` checks of the accounts before anything else would stop it first.
    let findings = super::doctor::blockers(pb, account).await;
    evaluation
        .blockers
        .splice(0..0, findings.iter().map(super::doctor::refusal));
    match cli.output {
        Format::Json => report::print_json(&evaluation),
        Format::Human => report::print(&human(&evaluation)),
    }
    Ok(if evaluation.blockers.is_empty() {
        Ending::Done
    } else {
        Ending::Blocked
    })
}

/// What would block a real drill of `pb`, and what would make it miss its target (the
/// accounts' own blockers aside: `doctor` checks those).
pub(super) async fn evaluate(pb: &Playbook, guards: &GuardArgs) -> Evaluation {
    let terminal = crate::report::Terminal::default();
    let ctx = super::playbook_context(pb, true, &terminal).await;
    let plan = plan::plan_all(pb, &ctx, &guards.forced()).await;
    let mut blockers: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| {
            Some(format!(
                "step `{}` cannot be planned: {}",
                s.id,
                s.error.as_ref()?
            ))
        })
        .collect();
    blockers.extend(
        plan.guards
            .iter()
            .filter(|g| g.blocks())
            .map(|g| format!("guard `{}` refuses: {}", g.guard, g.message)),
    );
    blockers.extend(plan.serving.iter().cloned());
    // A part of production added since the playbook was written fails the scheduled drill.
    blockers.extend(plan.coverage.iter().filter(|f| !f.ignored).map(|f| {
        format!(
            "part of production left behind: {} [{}]: {}",
            f.resource, f.id, f.why
        )
    }));
    blockers.extend(
        plan.unchecked
            .iter()
            .map(|why| format!("coverage not checked: {why}")),
    );
    blockers.extend(not_ready(&plan, &ctx).await);
    let own = permissions(pb, None, &pb.aws).await;
    let mut accounts = BTreeMap::new();
    for (name, settings) in &pb.accounts {
        accounts.insert(name.clone(), permissions(pb, Some(name), settings).await);
    }
    let permissions = own;
    for (place, p) in each_account(&permissions, &accounts) {
        blockers.extend(
            p.not_checked
                .iter()
                .map(|why| format!("permissions{place} not checked: {why}")),
        );
        blockers.extend(p.denied.iter().map(|d| {
            format!(
                "not allowed{place} ({}): {} on {}",
                d.decision, d.action, d.resource
            )
        }));
    }
    let warnings = ttl_over_target(&plan, pb.rto_target);
    Evaluation {
        plan,
        blockers,
        warnings,
        permissions,
        accounts,
    }
}

/// Each account's permission check, the playbook's own first, with how a line names where
/// (empty for the own account, "in account NAME" with backticks for the others).
fn each_account<'e>(
    own: &'e Permissions,
    accounts: &'e BTreeMap<String, Permissions>,
) -> impl Iterator<Item = (String, &'e Permissions)> {
    std::iter::once((String::new(), own)).chain(
        accounts
            .iter()
            .map(|(name, p)| (format!(" in account `{name}`"), p)),
    )
}

fn human(e: &Evaluation) -> String {
    let mut out = e.plan.human();
    for (place, p) in each_account(&e.permissions, &e.accounts) {
        out.push_str(&match (&p.not_checked, &p.principal) {
            (Some(why), _) => format!("\nPermissions{place} NOT checked: {why}\n"),
            (None, Some(principal)) => format!(
                "\nPermissions{place}: {} action/resource pair(s) the run and its rollback call, simulated for {principal}: {}\n",
                p.checked,
                if p.denied.is_empty() { "all allowed".to_owned() } else { format!("{} denied", p.denied.len()) }
            ),
            (None, None) => String::new(),
        });
    }
    for w in &e.warnings {
        out.push_str(&format!("\n! {w}\n"));
    }
    if e.blockers.is_empty() {
        out.push_str("Dry drill: nothing would block a real drill.\n");
    } else {
        out.push_str("Dry drill: a real drill would be blocked by:\n");
        for b in &e.blockers {
            out.push_str(&format!("  - {b}\n"));
        }
    }
    out
}

/// Records whose TTL before the change is, alone, at least the recovery time objective:
/// clients keep the old answer that long after the change (docs/aws-behaviour.md, "DNS
/// clients and TTLs"), so no drill can meet the target until the TTL is lowered, and the
/// lower TTL itself only counts once the old one has run out since.
fn ttl_over_target(plan: &PlanDoc, target: Option<std::time::Duration>) -> Vec<String> {
    let Some(target) = target else {
        return Vec::new();
    };
    plan.steps
        .iter()
        .flat_map(|s| s.clients.iter().map(move |f| (s, f)))
        .filter(|(_, f)| f.within_secs as f64 >= target.as_secs_f64())
        .map(|(step, f)| {
            format!(
                "{} (step `{}`): resolvers keep the old answer {}s after the change, no less than the `rto_target` of {}, so clients cannot be back within it: lower the TTL days ahead of a drill or a failover (at least the old TTL ahead, so that no resolver still holds it)",
                f.reason(),
                step.id,
                f.within_secs,
                humantime::format_duration(target)
            )
        })
        .collect()
}

/// Environments a step would change (or restart) that are not Ready: Elastic Beanstalk
/// refuses changes to them, as it did in the incident.
async fn not_ready(plan: &PlanDoc, ctx: &Ctx) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for step in &plan.steps {
        for change in &step.changes {
            if matches!(change.action, Action::Keep | Action::Check) {
                continue;
            }
            let name = match &change.resource {
                Resource::Property { environment, .. }
                | Resource::EnvOption { environment, .. }
                | Resource::Cname { environment } => environment,
                Resource::Environment { name } => name,
                _ => continue,
            };
            if !seen.insert((step.account.clone(), name.clone())) {
                continue;
            }
            let Some(aws) = ctx.accounts.get(step.account.as_deref()) else {
                continue;
            };
            match crate::aws::eb::describe(&aws.elasticbeanstalk, name).await {
                Ok(Some(env)) if env.is_ready() => {}
                Ok(Some(env)) => found.push(format!(
                    "environment {name} is {}, not Ready: step `{}` would fail (Elastic Beanstalk refuses changes until it is Ready)",
                    env.describe(),
                    step.id
                )),
                Ok(None) => found.push(format!(
                    "environment {name} does not exist: step `{}` would fail",
                    step.id
                )),
                Err(e) => found.push(format!(
                    "environment {name} cannot be read: {e}"
                )),
            }
        }
    }
    found
}

/// What `drill --dry` calls in each account besides a plan's reads: the role behind an
/// assumed role's session (`iam:GetRole`) and the simulation of its principal's policies
/// (`iam:SimulatePrincipalPolicy`), on whichever role or user runs it (known only then).
/// STS GetCallerIdentity needs no permission.
pub(super) fn needs() -> Needs {
    Needs {
        plan: vec![
            Grant::new(
                &["iam:GetRole", "iam:SimulatePrincipalPolicy"],
                [Arn::global("iam", "role/*")],
            ),
            Grant::new(
                &["iam:SimulatePrincipalPolicy"],
                [Arn::global("iam", "user/*")],
            ),
        ],
        run: Vec::new(),
    }
}

/// Simulates the caller's policies in `account` (with its `settings`) for every action and
/// resource `iam-policy` lists there for the run and its rollback (steps and built-in guards).
/// What stops the simulation is said in `not_checked`, a blocker: a principal IAM does not
/// know, or a caller that may not simulate, proves nothing about a real drill.
async fn permissions(pb: &Playbook, account: Option<&str>, settings: &AwsSettings) -> Permissions {
    let config = crate::aws::config(settings).await;
    let not_checked = |principal: Option<&str>, why: String| Permissions {
        principal: principal.map(str::to_owned),
        not_checked: Some(why),
        ..Permissions::default()
    };
    let caller = match aws_iam::caller(&config).await {
        Ok(caller) => caller,
        Err(e) => return not_checked(None, format!("cannot tell who the caller is: {e}")),
    };
    let principal = match aws_iam::principal(&config, &caller).await {
        Ok(principal) => principal,
        Err(e) => {
            return not_checked(
                None,
                format!(
                    "cannot find the role of the caller {} in IAM: {e}",
                    caller.arn
                ),
            )
        }
    };
    let region = config.region().map(ToString::to_string);
    let partition = crate::iam::partition(region.as_deref());
    // `iam-policy` leaves region and account open; the simulation asks about these.
    let at = (region.as_deref().unwrap_or("*"), caller.account.as_str());
    let policy = crate::iam::policy(&super::needs(pb, account, Phase::Run), Phase::Run, |arn| {
        arn.render(partition, Some(at))
    });
    let mut checked = 0;
    let mut denied = Vec::new();
    for statement in &policy.statement {
        let resources = &statement.resource;
        match aws_iam::simulate(&config, &principal, &statement.action, resources).await {
            Ok(decisions) => {
                checked += decisions.len();
                denied.extend(
                    decisions
                        .into_iter()
                        .filter(|d| d.decision != "allowed")
                        .map(
                            |Decision {
                                 action,
                                 resource,
                                 decision,
                             }| Denied {
                                action,
                                resource,
                                decision,
                            },
                        ),
                );
            }
            Err(e) => {
                return not_checked(
                    Some(&principal),
                    format!(
                        "cannot simulate the policies of {principal} (the caller is {}): {e}",
                        caller.arn
                    ),
                )
            }
        }
    }
    Permissions {
        principal: Some(principal),
        checked,
        denied,
        not_checked: None,
    }
}
