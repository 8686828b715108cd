//! EventBridge and EventBridge Scheduler, read-only: where rules and schedules send what
//! they fire (coverage names those that still fire at production after a failover). Every
//! list is paged to its end; the targets of many rules are read several at once.

use aws_sdk_eventbridge::Client as Events;
use aws_sdk_scheduler::Client as Scheduler;

use super::{pace, AwsError, Call};

/// Rules' targets read at once: EventBridge's list calls share a per-account rate (tens a
/// second), and the plan's other reads go on beside these.
const RULES_AT_ONCE: usize = 8;

/// An EventBridge rule and the ARN of each of its targets.
#[derive(Debug, Clone)]
pub struct Rule {
    pub arn: String,
    pub bus: String,
    pub name: String,
    pub enabled: bool,
    /// Another AWS service made it and keeps it (`ManagedBy`): not the account's to change.
    pub managed: bool,
    pub targets: Vec<String>,
}

/// An API destination: an HTTP endpoint rules may send to.
#[derive(Debug, Clone)]
pub struct ApiDestination {
    pub arn: String,
    pub endpoint: String,
}

/// An EventBridge Scheduler schedule and its target's ARN.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub arn: String,
    pub group: String,
    pub name: String,
    pub enabled: bool,
    pub target: String,
}

/// Every rule of every event bus of the account, with its targets.
pub async fn rules(client: &Events) -> Result<Vec<Rule>, AwsError> {
    let mut buses = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_event_buses()
            .limit(100)
            .set_next_token(token)
            .send()
            .await
            .op("EventBridge.ListEventBuses")?;
        buses.extend(
            page.event_buses()
                .iter()
                .filter_map(|b| b.name())
                .map(str::to_owned),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut rules = Vec::new();
    for bus in &buses {
        let mut token = None;
        loop {
            let page = client
                .list_rules()
                .event_bus_name(bus)
                .limit(100)
                .set_next_token(token)
                .send()
                .await
                .op("EventBridge.ListRules")?;
            rules.extend(page.rules().iter().filter_map(|r| {
                Some(Rule {
                    arn: r.arn()?.to_owned(),
                    bus: bus.clone(),
                    name: r.name()?.to_owned(),
                    // ENABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, and any state
                    // added later: only DISABLED stops a rule.
                    enabled: r.state().is_none_or(|s| s.as_str() != "DISABLED"),
                    managed: r.managed_by().is_some(),
                    targets: Vec::new(),
                })
            }));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    let rules_ref = &rules;
    let targets = pace::all(rules.len(), RULES_AT_ONCE, |i| async move {
        targets_of(client, &rules_ref[i]).await
    })
    .await
    .all_or_error()?;
    for (rule, targets) in rules.iter_mut().zip(targets) {
        rule.targets = targets;
    }
    Ok(rules)
}

/// A rule's targets; none when it was deleted since it was listed (it fires no more).
async fn targets_of(client: &Events, rule: &Rule) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let page = match client
            .list_targets_by_rule()
            .rule(&rule.name)
            .event_bus_name(&rule.bus)
            .limit(100)
            .set_next_token(token)
            .send()
            .await
        {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(Vec::new())
            }
            sent => sent.op("EventBridge.ListTargetsByRule")?,
        };
        arns.extend(page.targets().iter().map(|t| t.arn().to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(arns);
        }
    }
}

/// Every API destination of the account, with the URL it calls.
pub async fn api_destinations(client: &Events) -> Result<Vec<ApiDestination>, AwsError> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_api_destinations()
            .limit(100)
            .set_next_token(token)
            .send()
            .await
            .op("EventBridge.ListApiDestinations")?;
        found.extend(page.api_destinations().iter().filter_map(|d| {
            Some(ApiDestination {
                arn: d.api_destination_arn()?.to_owned(),
                endpoint: d.invocation_endpoint()?.to_owned(),
            })
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(found);
        }
    }
}

/// Every schedule of every schedule group of the account, with its target.
pub async fn schedules(client: &Scheduler) -> Result<Vec<Schedule>, AwsError> {
    let mut found = Vec::new();
    let mut pages = client
        .list_schedules()
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        found.extend(
            page.op("Scheduler.ListSchedules")?
                .schedules()
                .iter()
                .filter_map(|s| {
                    Some(Schedule {
                        arn: s.arn()?.to_owned(),
                        group: s.group_name().unwrap_or("default").to_owned(),
                        name: s.name()?.to_owned(),
                        enabled: s.state().is_none_or(|s| s.as_str() != "DISABLED"),
                        target: s.target()?.arn().to_owned(),
                    })
                }),
        );
    }
    Ok(found)
}
