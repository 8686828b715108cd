//! Elastic Load Balancing (botocore model ELBv2) and the ACM certificates its listeners serve.

use std::sync::LazyLock;

use super::{shown, Limit};

/// A load balancer's name (CreateLoadBalancer, member Name: "a maximum of 32 characters,
/// must contain only alphanumeric characters or hyphens, must not begin or end with a hyphen,
/// and must not begin with "internal-"").
pub fn load_balancer_name(name: &str) -> Result<(), Limit> {
    let fits = (1..=32).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("internal-");
    Limit::unless(
        fits,
        || format!("{} is not a load balancer name", shown(name)),
        "load balancer names are at most 32 letters, digits and hyphens, not starting or ending with a hyphen nor starting with `internal-`",
    )
}

/// A listener's port (shape Port: 1 to 65535).
pub fn port(port: i32) -> Result<(), Limit> {
    Limit::unless(
        (1..=65_535).contains(&port),
        || format!("port {port} is not a listener port"),
        "ports are 1 to 65535, e.g. 443",
    )
}

/// The status a fixed response answers (FixedResponseActionConfig, member StatusCode:
/// `^(2|4|5)\d\d$`).
pub fn fixed_status(status: u16) -> Result<(), Limit> {
    Limit::unless(
        matches!(status, 200..=299 | 400..=599),
        || format!("a load balancer's fixed response cannot answer {status}"),
        "use a 2XX, 4XX or 5XX status, e.g. 403 (a redirect is another kind of action)",
    )
}

/// The most characters of a fixed response's body (member MessageBody).
pub const MESSAGE_BODY: usize = 1024;

/// A fixed response's body.
pub fn message_body(body: &str) -> Result<(), Limit> {
    let length = body.chars().count();
    Limit::unless(
        length <= MESSAGE_BODY,
        || {
            format!("the body is {length} characters; a load balancer's fixed response holds at most {MESSAGE_BODY}")
        },
        "keep the body short, e.g. `access denied`",
    )
}

/// A listener rule's priority (CreateRule, member Priority: 1 to 50000).
pub fn rule_priority(priority: i32) -> Result<(), Limit> {
    Limit::unless(
        (1..=50_000).contains(&priority),
        || format!("priority {priority} is not a rule priority"),
        "rule priorities are 1 to 50000; leave `priority` out for the lowest free one",
    )
}

/// A host-header condition's host name (HostHeaderConditionConfig, member Values: at most 128
/// characters of `A-Z a-z 0-9 - . * ?`, at least one `.`, only letters after the last one).
pub fn host_header(host: &str) -> Result<(), Limit> {
    let last = host.rsplit_once('.').map(|(_, last)| last);
    let fits = host.chars().count() <= 128
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.*?".contains(c))
        && last.is_some_and(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_alphabetic() || "*?".contains(c))
        });
    Limit::unless(
        fits,
        || format!("{} is not a host name a load balancer rule matches", shown(host)),
        "give the host name as clients send it, e.g. `staging.example.com`: at most 128 letters, digits, `-` and `.` (`*`, `?` as wildcards)",
    )
}

static ACM_ARN: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(/[\w+=,.@-]+)*$")
        .expect("a valid pattern")
});

/// An ACM certificate's ARN (botocore model ACM DescribeCertificate, member CertificateArn).
pub fn certificate_arn(arn: &str) -> Result<(), Limit> {
    Limit::unless(
        (20..=2048).contains(&arn.len()) && ACM_ARN.is_match(arn),
        || format!("{} is not an ACM certificate's ARN", shown(arn)),
        "e.g. `arn:aws:acm:us-east-1:123456789012:certificate/ID` (`aws acm list-certificates`)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_balancer_forms() {
        assert!(
            fixed_status(403).is_ok() && fixed_status(200).is_ok() && fixed_status(503).is_ok()
        );
        assert!(
            fixed_status(302).is_err() && fixed_status(100).is_err() && fixed_status(600).is_err()
        );
        assert!(
            message_body(&"x".repeat(1024)).is_ok() && message_body(&"x".repeat(1025)).is_err()
        );
        assert!(rule_priority(1).is_ok() && rule_priority(50_000).is_ok());
        assert!(rule_priority(0).is_err() && rule_priority(50_001).is_err());
        assert!(host_header("staging.example.com").is_ok() && host_header("*.example.com").is_ok());
        assert!(host_header("localhost").is_err() && host_header("a.example.c0m").is_err());
        assert!(host_header("a b.example.com").is_err());
        assert!(load_balancer_name("shop-staging-alb").is_ok());
        assert!(load_balancer_name("internal-x").is_err() && load_balancer_name("-x").is_err());
        assert!(certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/abc-1").is_ok());
        assert!(certificate_arn("my-cert").is_err());
    }
}
