//! AWS Health's events of the account: AWS's own warnings. Risk, abuse and security events
//! are blockers (AWS is about to restrict the account, or has begun); a scheduled change
//! (a platform or instance retirement, maintenance) that touches the playbook's resources is a
//! warning, one elsewhere a note. Without a Business or Enterprise support plan the API is not
//! there: a note says so and where the same events go without it (EventBridge).

use std::collections::BTreeSet;

use super::{Depth, Found, Severity};
use crate::aws::health::{self, Event};

/// The Health services whose events are about the account's standing.
const STANDING: [&str; 3] = ["RISK", "ABUSE", "SECURITY"];

pub(super) async fn check(
    config: &crate::aws::Config,
    depth: Depth,
    resources: &BTreeSet<String>,
) -> Vec<Found> {
    let client = health::client(config);
    let events = match health::events(&client).await {
        Ok(events) => events,
        Err(e) if health::unsubscribed(&e) => return vec![unsubscribed()],
        Err(e) => {
            return vec![Found::unread(
                "health",
                "AWS Health's events",
                &e,
                "health:DescribeEvents",
            )]
        }
    };
    // A public event (a service's trouble in a region) says nothing of this account.
    let events: Vec<Event> = events
        .into_iter()
        .filter(|e| e.scope == "ACCOUNT_SPECIFIC")
        .map(shown)
        .collect();
    let mut found: Vec<Found> = events.iter().filter(|e| standing(e)).map(blocker).collect();
    if depth == Depth::Blockers {
        return found;
    }
    let scheduled: Vec<&Event> = events
        .iter()
        .filter(|e| !standing(e) && e.category == "scheduledChange")
        .collect();
    if scheduled.is_empty() {
        return found;
    }
    let arns: Vec<String> = scheduled.iter().map(|e| e.arn.clone()).collect();
    let touched = match health::affected(&client, &arns).await {
        Ok(touched) => touched,
        Err(e) => {
            found.push(Found::unread(
                "health-entities",
                "what AWS Health's scheduled changes touch",
                &e,
                "health:DescribeAffectedEntities",
            ));
            Default::default()
        }
    };
    for event in scheduled {
        let ours: Vec<&String> = touched
            .get(&event.arn)
            .into_iter()
            .flatten()
            .filter(|entity| resources.contains(*entity))
            .collect();
        let when = event
            .start
            .as_deref()
            .map(|s| format!(" from {s}"))
            .unwrap_or_default();
        let (severity, what) = if ours.is_empty() {
            (
                Severity::Note,
                format!(
                    "AWS scheduled {} in {}{when}",
                    event.type_code, event.region
                ),
            )
        } else {
            let names: Vec<String> = ours
                .iter()
                .map(|s| crate::escape::value(s).into_owned())
                .collect();
            (
                Severity::Warning,
                format!(
                    "AWS scheduled {} in {}{when}, touching the playbook's {}",
                    event.type_code,
                    event.region,
                    names.join(", ")
                ),
            )
        };
        found.push(Found::new(
            format!("health:{}", event.type_code),
            severity,
            what,
            "a scheduled change (a retirement, maintenance) can take production down on its own date, or leave the stand-in unable to take over",
            format!("read the event in the AWS Health Dashboard ({}) and act before its date", event.arn),
        ));
    }
    found
}

/// The event with every field a person reads escaped (it comes from AWS, or whatever answers
/// at the endpoint).
fn shown(e: Event) -> Event {
    let text = |s: &str| crate::escape::value(s).into_owned();
    Event {
        type_code: text(&e.type_code),
        region: text(&e.region),
        status: text(&e.status),
        start: e.start.as_deref().map(text),
        arn: text(&e.arn),
        ..e
    }
}

/// Whether an event is about the account's standing: AWS's risk, abuse or security notices.
fn standing(event: &Event) -> bool {
    STANDING.contains(&event.service.as_str())
        || ["AWS_RISK_", "AWS_ABUSE_", "AWS_SECURITY_"]
            .iter()
            .any(|p| event.type_code.starts_with(p))
}

fn blocker(event: &Event) -> Found {
    let since = event
        .start
        .as_deref()
        .map(|s| format!(", since {s}"))
        .unwrap_or_default();
    Found::new(
        format!("health:{}", event.type_code),
        Severity::Blocker,
        format!("AWS Health has an {} event {} ({}{since})", event.status, event.type_code, event.region),
        "AWS writes this when it sees the account at risk (exposed credentials, abuse, irregular activity); left unanswered, AWS restricts the account, as it did in the incident, mid-upgrade",
        format!("read it in the AWS Health Dashboard ({}), do what it asks, and answer AWS Support's case", event.arn),
    )
}

fn unsubscribed() -> Found {
    Found::new(
        "health-unavailable",
        Severity::Note,
        "AWS Health's API needs a Business, Enterprise On-Ramp or Enterprise support plan (SubscriptionRequiredException)",
        "without it standin cannot read AWS's risk and abuse notices; AWS still sends them to EventBridge and to the root user's address",
        "deliver them where the team reads them: examples/health-events-rule.json is an EventBridge rule for `aws.health` events",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(service: &str, code: &str, category: &str) -> Event {
        Event {
            arn: format!("arn:aws:health:us-east-1::event/{service}/{code}/1"),
            service: service.into(),
            type_code: code.into(),
            category: category.into(),
            region: "us-east-1".into(),
            status: "open".into(),
            start: None,
            scope: "ACCOUNT_SPECIFIC".into(),
        }
    }

    #[test]
    fn risk_abuse_and_security_events_are_about_the_accounts_standing() {
        assert!(standing(&event(
            "RISK",
            "AWS_RISK_CREDENTIALS_EXPOSED",
            "issue"
        )));
        assert!(standing(&event("ABUSE", "AWS_ABUSE_DOS_REPORT", "issue")));
        assert!(standing(&event(
            "SECURITY",
            "AWS_SECURITY_NOTIFICATION",
            "accountNotification"
        )));
        assert!(standing(&event("IAM", "AWS_RISK_IAM_QUARANTINE", "issue")));
        assert!(!standing(&event(
            "EC2",
            "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
            "scheduledChange"
        )));
    }
}
