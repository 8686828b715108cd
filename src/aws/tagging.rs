//! The Resource Groups Tagging API: which resources (EC2 instances, queues, functions) carry
//! which tags, read in pages of 100 with one call per page (`standin init` and coverage look
//! for production's parts by tag).

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::Client;

use super::{AwsError, Call};

/// Every EC2 instance that has tags, by instance id.
pub async fn instances(
    client: &Client,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    instances_tagged(client, &BTreeMap::new()).await
}

/// Every EC2 instance that carries each of `tags` (its value), with all its tags, by id.
pub async fn instances_tagged(
    client: &Client,
    tags: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    Ok(tagged(client, tags, Some("ec2:instance"))
        .await?
        .into_iter()
        .filter_map(|(arn, tags)| Some((arn.rsplit('/').next()?.to_owned(), tags)))
        .collect())
}

/// Every resource (of `kind`, `service:type`, when given) that carries each of `tags`, with
/// all its tags, by ARN.
pub async fn tagged(
    client: &Client,
    tags: &BTreeMap<String, String>,
    kind: Option<&str>,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    let filters = tags
        .iter()
        .map(|(key, value)| {
            aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                .key(key)
                .values(value)
                .build()
        })
        .collect();
    let mut found = BTreeMap::new();
    let mut pages = client
        .get_resources()
        .set_resource_type_filters(kind.map(|k| vec![k.to_owned()]))
        .set_tag_filters(Some(filters))
        .resources_per_page(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for resource in page
            .op("ResourceGroupsTagging.GetResources")?
            .resource_tag_mapping_list()
        {
            let Some(arn) = resource.resource_arn() else {
                continue;
            };
            let tags = resource
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            found.insert(arn.to_owned(), tags);
        }
    }
    Ok(found)
}
