//! AWS Health, read-only: the account's open and upcoming events, and the resources each
//! touches. The API answers only in one region per partition, and only for accounts with a
//! Business, Enterprise On-Ramp or Enterprise support plan (`SubscriptionRequiredException`
//! otherwise: docs/aws-behaviour.md, "Doctor's reads").

use std::collections::BTreeMap;

use aws_config::{Region, SdkConfig};
use aws_sdk_health::types::{EntityFilter, EventFilter, EventStatusCode};
use aws_sdk_health::Client;

use super::{AwsError, Call};

/// An event of the account, as Health says it.
#[derive(Debug, Clone)]
pub struct Event {
    pub arn: String,
    /// e.g. `RISK`, `ABUSE`, `ELASTICBEANSTALK`.
    pub service: String,
    /// e.g. `AWS_RISK_CREDENTIALS_EXPOSED`.
    pub type_code: String,
    /// `issue`, `accountNotification`, `scheduledChange` or `investigation`.
    pub category: String,
    pub region: String,
    /// `open` or `upcoming`.
    pub status: String,
    /// When it starts (or started), RFC 3339.
    pub start: Option<String>,
    /// `ACCOUNT_SPECIFIC` (about this account), `PUBLIC` (a service's, in a region) or `NONE`.
    pub scope: String,
}

/// The region whose endpoint serves `partition`'s Health API (the SDK's endpoint rules make
/// a regional host of any other region, and the API answers only in these).
fn home(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "cn-northwest-1",
        "aws-us-gov" => "us-gov-west-1",
        _ => "us-east-1",
    }
}

/// A Health client of `config`'s account, in its partition's Health region.
pub fn client(config: &SdkConfig) -> Client {
    let partition = crate::iam::partition(config.region().map(|r| r.as_ref()));
    let config = config
        .to_builder()
        .region(Region::from_static(home(partition)))
        .build();
    super::client!(aws_sdk_health, &config)
}

/// Whether the account's support plan gives no Health API.
pub fn unsubscribed(e: &AwsError) -> bool {
    e.code.as_deref() == Some("SubscriptionRequiredException")
}

/// Every open or upcoming event of the account, 100 per page.
pub async fn events(client: &Client) -> Result<Vec<Event>, AwsError> {
    let filter = EventFilter::builder()
        .event_status_codes(EventStatusCode::Open)
        .event_status_codes(EventStatusCode::Upcoming)
        .build();
    let mut found = Vec::new();
    let mut pages = client
        .describe_events()
        .filter(filter)
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for e in page.op("Health.DescribeEvents")?.events() {
            let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
            found.push(Event {
                arn: text(e.arn()),
                service: text(e.service()),
                type_code: text(e.event_type_code()),
                category: text(e.event_type_category().map(|c| c.as_str())),
                region: text(e.region()),
                status: text(e.status_code().map(|s| s.as_str())),
                scope: text(e.event_scope_code().map(|s| s.as_str())),
                start: e
                    .start_time()
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
            });
        }
    }
    Ok(found)
}

/// The resources (entity values: ids, names, ARNs) each event touches, by event ARN; the
/// API takes ten events at a time.
pub async fn affected(
    client: &Client,
    events: &[String],
) -> Result<BTreeMap<String, Vec<String>>, AwsError> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ten in events.chunks(10) {
        let filter = EntityFilter::builder()
            .set_event_arns(Some(ten.to_vec()))
            .build()
            .map_err(|e| {
                AwsError::new("Health.DescribeAffectedEntities", "Invalid", e.to_string())
            })?;
        let mut pages = client
            .describe_affected_entities()
            .filter(filter)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for entity in page.op("Health.DescribeAffectedEntities")?.entities() {
                if let (Some(event), Some(value)) = (entity.event_arn(), entity.entity_value()) {
                    found
                        .entry(event.to_owned())
                        .or_default()
                        .push(value.to_owned());
                }
            }
        }
    }
    Ok(found)
}
