//! EventBridge rules and EventBridge Scheduler schedules that send to production: its queues
//! (named by its parameters, or tagged like production), its other tagged resources (a Lambda
//! function, a state machine) and API destinations whose URL is on one of production's
//! endpoints. After the failover they go on firing at production (the incident's nightly jobs).
//! standin changes no rule or schedule, so the cover is a `confirm` that asks a person to
//! retarget it, and `covers:` it. Rules and schedules that are disabled, and rules another AWS
//! service manages, are left out.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use super::production::Moves;
use super::{at, by_hand, could_move, host, in_account, Checked, Finding};
use crate::aws::{events, tagging, AwsError};
use crate::escape;
use crate::playbook::Playbook;
use crate::steps::Ctx;

/// What is read of each account: resources tagged as production's, API destinations, rules
/// and schedules (in the order of `ctx.accounts.all()`).
pub(super) type Read = Vec<(
    Result<BTreeMap<String, BTreeMap<String, String>>, AwsError>,
    Result<Vec<events::ApiDestination>, AwsError>,
    Result<Vec<events::Rule>, AwsError>,
    Result<Vec<events::Schedule>, AwsError>,
)>;

/// Reads every account's rules and schedules, and what tells production's targets (the
/// plan's steps go on meanwhile); nothing when the playbook says nothing of production.
pub(super) async fn read(pb: &Playbook, ctx: &Ctx) -> Read {
    let tags = &pb.production.tags;
    let copies = pb.steps.iter().any(|s| s.step.copies().is_some());
    let moving = could_move(pb);
    if tags.is_empty() && !moving && !copies && pb.production.parameters.is_empty() {
        return Vec::new();
    }
    join_all(ctx.accounts.all().map(|(_, clients)| async move {
        let tagged = async {
            if tags.is_empty() {
                return Ok(BTreeMap::new());
            }
            tagging::tagged(&clients.tagging, tags, None).await
        };
        let destinations = async {
            if !moving {
                return Ok(Vec::new());
            }
            events::api_destinations(&clients.eventbridge).await
        };
        tokio::join!(
            tagged,
            destinations,
            events::rules(&clients.eventbridge),
            events::schedules(&clients.scheduler)
        )
    }))
    .await
}

/// The rules and schedules of `reads` that send to production (`queues`: every queue
/// production's parameters name, by ARN).
pub(super) fn check(moves: &Moves, queues: &BTreeSet<String>, reads: Read, ctx: &Ctx) -> Checked {
    let mut checked = Checked::default();
    // Production's ARNs, from every account: a rule may send across accounts.
    let mut production: BTreeMap<String, String> = queues
        .iter()
        .map(|q| (q.clone(), "queue".to_owned()))
        .collect();
    let accounts: Vec<_> = ctx.accounts.all().map(|(name, _)| name).collect();
    for ((tagged, destinations, _, _), account) in reads.iter().zip(&accounts) {
        match tagged {
            Ok(tagged) => {
                for arn in tagged.keys() {
                    production
                        .entry(arn.clone())
                        .or_insert_with(|| "tagged resource".into());
                }
            }
            Err(e) => {
                checked
                    .unchecked
                    .push(unread("resources tagged as production's", *account, e))
            }
        }
        match destinations {
            Ok(destinations) => production.extend(
                destinations
                    .iter()
                    .filter(|d| on_production(&d.endpoint, moves))
                    .map(|d| {
                        (
                            d.arn.clone(),
                            format!("API destination (to {})", escape::url(&d.endpoint)),
                        )
                    }),
            ),
            Err(e) => checked
                .unchecked
                .push(unread("API destinations", *account, e)),
        }
    }
    // Two accounts of the playbook may be one AWS account (another region): each rule and
    // schedule once, by its ARN.
    let mut seen = BTreeSet::new();
    for ((_, _, rules, schedules), account) in reads.into_iter().zip(accounts) {
        match rules {
            Ok(rules) => {
                for r in rules.iter().filter(|r| r.enabled && !r.managed) {
                    let sends = r.targets.iter().find_map(|t| sends_to(t, &production));
                    if let Some((target, what)) = sends.filter(|_| seen.insert(r.arn.clone())) {
                        checked.findings.push(rule(r, target, what, account));
                    }
                }
            }
            Err(e) => checked
                .unchecked
                .push(unread("EventBridge rules", account, &e)),
        }
        match schedules {
            Ok(schedules) => {
                for s in schedules.iter().filter(|s| s.enabled) {
                    let sends = sends_to(&s.target, &production);
                    if let Some((target, what)) = sends.filter(|_| seen.insert(s.arn.clone())) {
                        checked.findings.push(schedule(s, target, what, account));
                    }
                }
            }
            Err(e) => {
                checked
                    .unchecked
                    .push(unread("EventBridge Scheduler schedules", account, &e))
            }
        }
    }
    checked
}

fn unread(what: &str, account: Option<&str>, e: &AwsError) -> String {
    format!("could not check {what}{}: {e}", in_account(account))
}

/// Whether `url`'s host is one of production's endpoints (and not a CNAME a step swaps).
fn on_production(url: &str, moves: &Moves) -> bool {
    let Some(name) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(host))
    else {
        return false;
    };
    moves.endpoints.contains_key(&name) && !moves.swapped.contains(&name)
}

/// The production resource `target` is (itself, or a version or alias of a function), with
/// what it is.
fn sends_to<'a>(
    target: &'a str,
    production: &'a BTreeMap<String, String>,
) -> Option<(&'a str, &'a str)> {
    production
        .iter()
        .find(|(arn, _)| {
            target == arn.as_str()
                || target
                    .strip_prefix(arn.as_str())
                    .is_some_and(|r| r.starts_with(':'))
        })
        .map(|(arn, what)| (arn.as_str(), what.as_str()))
}

const WHY: &str =
    "and no step takes care of it: after the failover it goes on firing at production";

fn rule(rule: &events::Rule, target: &str, what: &str, account: Option<&str>) -> Finding {
    let (bus, name) = (escape::value(&rule.bus), escape::value(&rule.name));
    sender(
        "event-rule",
        format!("events:{bus}/{name}{}", at(account)),
        format!("EventBridge rule {name} (bus {bus})"),
        (target, what),
        account,
    )
}

fn schedule(
    schedule: &events::Schedule,
    target: &str,
    what: &str,
    account: Option<&str>,
) -> Finding {
    let (group, name) = (
        escape::value(&schedule.group),
        escape::value(&schedule.name),
    );
    sender(
        "schedule",
        format!("schedule:{group}/{name}{}", at(account)),
        format!("EventBridge Scheduler schedule {name} (group {group})"),
        (target, what),
        account,
    )
}

/// The finding `id` of a rule or schedule (`resource`, as people name it) that sends to
/// production's `target` (`what` it is).
fn sender(
    kind: &str,
    id: String,
    resource: String,
    (target, what): (&str, &str),
    account: Option<&str>,
) -> Finding {
    let (target, in_account) = (escape::value(target), in_account(account));
    Finding {
        cover: by_hand(
            "retarget",
            &id,
            &format!(
                "Is {resource}{in_account} now sending to the stand-in instead of production's {target}?"
            ),
        ),
        id,
        kind: kind.into(),
        account: account.map(str::to_owned),
        why: format!("it sends to production's {what} {target}{in_account}, {WHY}"),
        resource,
        ignored: false,
        reason: None,
    }
}
