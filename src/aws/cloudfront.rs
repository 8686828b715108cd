//! CloudFront, read-only: each distribution and the domain names of its origins (coverage
//! names those whose origin is production). CloudFront is global: every account that can
//! read it sees its own distributions, listed in pages of 100.

use aws_sdk_cloudfront::Client;

use super::{AwsError, Call};

/// A distribution: its id, the names viewers use, and each origin's (id, domain name).
#[derive(Debug, Clone)]
pub struct Distribution {
    pub id: String,
    /// A disabled distribution serves no viewer.
    pub enabled: bool,
    pub domain: String,
    pub aliases: Vec<String>,
    pub origins: Vec<(String, String)>,
}

pub async fn distributions(client: &Client) -> Result<Vec<Distribution>, AwsError> {
    let mut found = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_distributions()
            .max_items(100)
            .set_marker(marker)
            .send()
            .await
            .op("CloudFront.ListDistributions")?;
        let Some(list) = page.distribution_list() else {
            return Ok(found);
        };
        found.extend(list.items().iter().map(|d| {
            Distribution {
                id: d.id().to_owned(),
                enabled: d.enabled(),
                domain: d.domain_name().to_owned(),
                aliases: d.aliases().map(|a| a.items().to_vec()).unwrap_or_default(),
                origins: d
                    .origins()
                    .map(|o| {
                        o.items()
                            .iter()
                            .map(|o| (o.id().to_owned(), o.domain_name().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        }));
        marker = list
            .next_marker()
            .filter(|_| list.is_truncated())
            .map(str::to_owned);
        if marker.is_none() {
            return Ok(found);
        }
    }
}
