//! The Resource Groups Tagging API: which EC2 instances carry which tags, read in pages of
//! 100 with one call per page (`standin init` looks for queue workers by tag).

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
        .resource_type_filters("ec2:instance")
        .set_tag_filters(Some(filters))
        .resources_per_page(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for resource in page
            .op("ResourceGroupsTagging.GetResources")?
            .resource_tag_mapping_list()
        {
            let Some(id) = resource
                .resource_arn()
                .and_then(|arn| arn.rsplit('/').next())
            else {
                continue;
            };
            let tags = resource
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            found.insert(id.to_owned(), tags);
        }
    }
    Ok(found)
}
