//! EC2 Auto Scaling, read-only: the groups that carry given tags, with their instances
//! (coverage finds production's worker groups so, whether or not their tags reach the
//! instances).

use std::collections::BTreeMap;

use aws_sdk_autoscaling::types::Filter;
use aws_sdk_autoscaling::Client;

use super::{AwsError, Call};

/// An Auto Scaling group: its name, tags and the ids of its instances.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub instances: Vec<String>,
}

/// Every group that carries each of `tags` (a `tag:KEY` filter each: a group must match them
/// all), 100 per page.
pub async fn groups_tagged(
    client: &Client,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Group>, AwsError> {
    let filters = tags
        .iter()
        .map(|(key, value)| {
            Filter::builder()
                .name(format!("tag:{key}"))
                .values(value)
                .build()
        })
        .collect();
    let mut found = Vec::new();
    let mut pages = client
        .describe_auto_scaling_groups()
        .set_filters(Some(filters))
        .max_records(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for group in page
            .op("AutoScaling.DescribeAutoScalingGroups")?
            .auto_scaling_groups()
        {
            found.push(Group {
                name: group
                    .auto_scaling_group_name()
                    .unwrap_or_default()
                    .to_owned(),
                tags: group
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                    .collect(),
                instances: group
                    .instances()
                    .iter()
                    .filter_map(|i| i.instance_id().map(str::to_owned))
                    .collect(),
            });
        }
    }
    Ok(found)
}
