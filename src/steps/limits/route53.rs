//! Route 53 (botocore model Route53 ChangeResourceRecordSets; developer guide, "DNS domain
//! name format": "Each label can be up to 63 bytes long. The total length of a domain name
//! cannot exceed 255 bytes, including the dots").

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{shown, Limit};

/// A domain name (a record's, an alias target's, a CNAME's value).
pub fn domain_name(name: &str) -> Result<(), Limit> {
    let hint = "give a fully qualified name, e.g. `app.example.com`";
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() || bare.split('.').any(str::is_empty) {
        return Err(Limit::new(
            format!(
                "{} is not a domain name: it has an empty label",
                shown(name)
            ),
            hint,
        ));
    }
    if let Some(label) = bare.split('.').find(|l| l.len() > 63) {
        return Err(Limit::new(
            format!(
                "{} has a label of {} bytes; DNS allows 63",
                shown(name),
                label.len()
            ),
            hint,
        ));
    }
    if bare.len() + 1 > 255 {
        return Err(Limit::new(
            format!(
                "{} is {} bytes with its final dot; DNS allows 255",
                shown(name),
                bare.len() + 1
            ),
            hint,
        ));
    }
    Ok(())
}

/// A hosted zone, by id or by name.
pub fn hosted_zone(zone: &str) -> Result<(), Limit> {
    if crate::aws::route53::is_zone_id(zone) {
        zone_id(zone)
    } else {
        domain_name(zone)
    }
}

/// A hosted zone's id (ResourceId: at most 32 characters), `/hostedzone/` before it or not.
pub fn zone_id(id: &str) -> Result<(), Limit> {
    let bare = id.trim_start_matches("/hostedzone/");
    Limit::unless(
        (1..=32).contains(&bare.len()) && bare.chars().all(|c| c.is_ascii_alphanumeric()),
        || format!("{} is not a hosted zone id", shown(id)),
        "a hosted zone id is up to 32 letters and digits, e.g. `Z0123456789ABC` (for a load balancer, its `CanonicalHostedZoneId`)",
    )
}

/// A value of a record of type `rtype`: an IPv4 address for A, IPv6 for AAAA, a domain name
/// for CNAME (Route 53 refuses others, e.g. `ARRDATAIllegalIPv4Address`).
pub fn record_value(rtype: &str, value: &str) -> Result<(), Limit> {
    let (fits, what) = match rtype {
        "A" => (
            value.parse::<Ipv4Addr>().is_ok(),
            "an IPv4 address, e.g. `192.0.2.10`",
        ),
        "AAAA" => (
            value.parse::<Ipv6Addr>().is_ok(),
            "an IPv6 address, e.g. `2001:db8::1`",
        ),
        _ => return domain_name(value),
    };
    Limit::unless(
        fits,
        || format!("{} is not a value of an {rtype} record", shown(value)),
        format!("an {rtype} record holds {what}; for a host name use `type: CNAME`, or `alias:`"),
    )
}

/// A record set's identifier (ResourceRecordSetIdentifier: 1 to 128 characters).
pub fn set_identifier(id: &str) -> Result<(), Limit> {
    Limit::unless(
        (1..=128).contains(&id.chars().count()),
        || format!("set identifier {} is not 1 to 128 characters", shown(id)),
        "give the `SetIdentifier` of the routed record, as `aws route53 list-resource-record-sets` shows it",
    )
}

/// The record types an alias to `dns_name` may have, where its name tells the target's kind:
/// that kind and its types. `None`: a target standin cannot classify by name (another
/// record of the zone has its own type; the plan reads it). Sources: botocore model Route53
/// ResourceRecordSet, member Type ("Values for alias resource record sets"), and AWS's
/// knowledge center, "How do I create alias records for services hosted in AWS?" (an Elastic
/// Beanstalk environment: A; Global Accelerator: A).
pub fn alias_types(dns_name: &str) -> Option<(&'static str, &'static [&'static str])> {
    const IPV4: &[&str] = &["A"];
    const BOTH: &[&str] = &["A", "AAAA"];
    let name = dns_name.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let aws = name.ends_with(".amazonaws.com") || name.ends_with(".amazonaws.com.cn");
    Some(if aws && labels.contains(&"elb") {
        ("an Elastic Load Balancing load balancer", BOTH)
    } else if name.ends_with(".elasticbeanstalk.com") || name.ends_with(".elasticbeanstalk.com.cn")
    {
        ("an Elastic Beanstalk environment", IPV4)
    } else if name.ends_with(".cloudfront.net") {
        ("a CloudFront distribution", BOTH)
    } else if aws && labels.iter().any(|l| l.starts_with("s3-website")) {
        ("an Amazon S3 website endpoint", IPV4)
    } else if aws && labels.contains(&"execute-api") {
        ("an API Gateway API", IPV4)
    } else if aws && labels.contains(&"vpce") {
        ("a VPC interface endpoint", IPV4)
    } else if name.ends_with(".awsglobalaccelerator.com") {
        ("a Global Accelerator accelerator", IPV4)
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_aliases() {
        assert!(
            record_value("A", "192.0.2.10").is_ok()
                && record_value("A", "host.example.com").is_err()
        );
        assert!(
            record_value("AAAA", "2001:db8::1").is_ok()
                && record_value("AAAA", "192.0.2.1").is_err()
        );
        assert!(
            record_value("CNAME", "x.example.com").is_ok()
                && record_value("CNAME", "a..b").is_err()
        );
        assert!(domain_name(&format!("{}.com", "x".repeat(64))).is_err());
        assert!(hosted_zone("Z0123456789ABC").is_ok() && hosted_zone(&"Z".repeat(33)).is_err());
        let types = |n: &str| alias_types(n).map(|(_, t)| t);
        assert_eq!(
            types("dualstack.shop-1.us-east-1.elb.amazonaws.com."),
            Some(&["A", "AAAA"][..])
        );
        assert_eq!(
            types("nlb-1.elb.us-west-2.amazonaws.com"),
            Some(&["A", "AAAA"][..])
        );
        assert_eq!(
            types("shop-staging.us-east-1.elasticbeanstalk.com"),
            Some(&["A"][..])
        );
        assert_eq!(
            types("d111111abcdef8.cloudfront.net"),
            Some(&["A", "AAAA"][..])
        );
        assert_eq!(
            types("s3-website-us-east-1.amazonaws.com"),
            Some(&["A"][..])
        );
        assert_eq!(types("staging.example.com"), None);
    }
}
