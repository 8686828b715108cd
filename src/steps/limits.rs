//! What AWS refuses for its form: the limits of the input shapes the steps' fields become
//! (botocore's service models and the AWS documentation their strings cite), in one place, so
//! that `validate` refuses what a playbook's text fixes (each kind's `check`) and the plan
//! refuses, before any change and in the same words, what depends on live state (a
//! parameter's tier, the properties an environment already has). Without them AWS refuses the
//! call in the middle of a run, which then rolls back.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use super::{FieldError, StepError};

/// Why AWS would refuse a value, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub message: String,
    pub hint: String,
}

impl Limit {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Nothing when the value `fits`, else the limit in these words.
    fn unless(
        fits: bool,
        message: impl FnOnce() -> String,
        hint: impl Into<String>,
    ) -> Result<(), Self> {
        if fits {
            Ok(())
        } else {
            Err(Self::new(message(), hint))
        }
    }

    /// As a problem of the field at `path` below the step (`validate`).
    pub fn at<S: AsRef<str>>(self, path: &[S]) -> FieldError {
        FieldError::new(
            path.iter().map(|s| s.as_ref().to_owned()).collect(),
            self.message,
        )
        .hint(self.hint)
    }

    /// As the plan's refusal of `resource`, before any change.
    pub fn on(self, resource: impl fmt::Display) -> StepError {
        StepError::failed(resource, format!("{} ({})", self.message, self.hint))
    }
}

/// A value for a message: escaped for a terminal, and cut where it is long.
fn shown(value: &str) -> String {
    let cut: String = value.chars().take(60).collect();
    let more = if cut.len() < value.len() { "..." } else { "" };
    format!("`{}{more}`", crate::escape::value(&cut))
}

// Parameter Store (botocore model SSM PutParameter).

/// The shortest ARN before a parameter's name, which counts toward Parameter Store's 1011
/// characters: `arn:aws:ssm:us-east-2:111122223333:parameter/` (PutParameter, member Name:
/// "the following 45 characters count toward the 1011 character maximum").
pub const SHORTEST_ARN_PREFIX: usize = 45;
/// The most characters of a name and the ARN before it.
const NAME_WITH_ARN: usize = 1011;
/// "Parameter hierarchies are limited to a maximum depth of fifteen levels."
const MAX_LEVELS: usize = 15;

/// The length of the ARN before a parameter's name in `region`:
/// `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/` (an account id is 12 digits).
pub fn parameter_arn_prefix(region: &str) -> usize {
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    format!("arn:{partition}:ssm:{region}:123456789012:parameter/").len()
}

/// A parameter name as PutParameter takes it (member Name): letters, digits and `_.-`, `/`
/// between the levels of a hierarchy (at most 15, the name starting with `/`), not prefixed
/// with `aws` or `ssm`, and at most 1011 characters with the ARN before it (`arn_prefix`
/// characters; at validate, [`SHORTEST_ARN_PREFIX`], the plan knows the region's).
pub fn parameter_name(name: &str, arn_prefix: usize) -> Result<(), Limit> {
    let hint = "Parameter Store names take letters, digits, `_`, `.`, `-`, and `/` between levels, e.g. `/shop/staging/DB_HOST`";
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-/".contains(*c)))
    {
        return Err(Limit::new(
            format!(
                "parameter name {} has `{}`, which Parameter Store does not take",
                shown(name),
                c.escape_debug()
            ),
            hint,
        ));
    }
    if name.is_empty() {
        return Err(Limit::new("empty parameter name", hint));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(Limit::new(
            format!(
                "parameter name {} has levels but does not start with `/`",
                shown(name)
            ),
            "a name in a hierarchy starts with `/`, e.g. `/shop/staging/DB_HOST`",
        ));
    }
    let relative = name.strip_prefix('/').unwrap_or(name);
    if relative.split('/').any(str::is_empty) {
        return Err(Limit::new(
            format!("parameter name {} has an empty level", shown(name)),
            "remove the doubled or final `/`",
        ));
    }
    let lower = relative.to_ascii_lowercase();
    if lower.starts_with("aws") || lower.starts_with("ssm") {
        return Err(Limit::new(
            format!(
                "parameter name {} starts with `aws` or `ssm`, which AWS reserves",
                shown(name)
            ),
            "name parameters under your own prefix, e.g. `/shop/...`",
        ));
    }
    let levels = relative.split('/').count();
    if levels > MAX_LEVELS {
        return Err(Limit::new(
            format!(
                "parameter name {} has {levels} levels; Parameter Store allows {MAX_LEVELS}",
                shown(name)
            ),
            "use a shallower hierarchy",
        ));
    }
    let most = NAME_WITH_ARN - arn_prefix;
    let length = relative.chars().count();
    if length > most {
        return Err(Limit::new(
            format!("parameter name {} is {length} characters; with its ARN, Parameter Store allows {most} here", shown(name)),
            "use a shorter name (Parameter Store counts the name and the ARN before it, at most 1011 characters)",
        ));
    }
    Ok(())
}

/// The most characters of a value in each tier ("Standard parameters have a value limit of 4
/// KB. Advanced parameters have a value limit of 8 KB": PutParameter, member Value; AWS's
/// refusal counts characters).
pub const STANDARD_VALUE: usize = 4096;
pub const ADVANCED_VALUE: usize = 8192;

/// A value a parameter of `tier` (`None`: Standard, the default) can hold.
pub fn parameter_value(value: &str, tier: Option<&str>) -> Result<(), Limit> {
    let length = value.chars().count();
    let standard = matches!(tier, None | Some("Standard"));
    if length > ADVANCED_VALUE {
        return Err(Limit::new(
            format!("the value is {length} characters; no Parameter Store tier holds more than {ADVANCED_VALUE}"),
            "split the value across parameters",
        ));
    }
    if standard && length > STANDARD_VALUE {
        return Err(Limit::new(
            format!("the value is {length} characters; a Standard-tier parameter holds at most {STANDARD_VALUE} (Advanced {ADVANCED_VALUE})"),
            "make the parameter Advanced first (`aws ssm put-parameter --tier Advanced ...`; it cannot become Standard again), or keep the value shorter",
        ));
    }
    Ok(())
}

/// A KMS key as PutParameter takes it (member KeyId): 1 to 256 of `a-zA-Z0-9:/_-`.
pub fn key_id(id: &str) -> Result<(), Limit> {
    let fits = (1..=256).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/_-".contains(c));
    Limit::unless(
        fits,
        || format!("{} is not a KMS key id Parameter Store takes", shown(id)),
        "give a key id, ARN or alias (`alias/NAME`): 1 to 256 letters, digits and `:/_-`",
    )
}

// Elastic Beanstalk.

/// An environment's name (botocore model ElasticBeanstalk CreateEnvironment, member
/// EnvironmentName: "from 4 to 40 characters ... only letters, numbers, and hyphens. It can't
/// start or end with a hyphen").
pub fn environment_name(name: &str) -> Result<(), Limit> {
    let fits = (4..=40).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    Limit::unless(
        fits,
        || format!("{} is not an Elastic Beanstalk environment name", shown(name)),
        "environment names are 4 to 40 letters, digits and hyphens, not starting or ending with a hyphen, e.g. `shop-staging`",
    )
}

/// An Auto Scaling group's MinSize or MaxSize as Elastic Beanstalk takes it
/// (`aws:autoscaling:asg`: "1 to 10000", EB developer guide, general options).
pub fn group_size(size: u32) -> Result<(), Limit> {
    Limit::unless(
        (1..=10_000).contains(&size),
        || format!("{size} instances is out of range"),
        "Auto Scaling takes 1 to 10000",
    )
}

/// [`group_size`] of an option's text.
pub fn group_size_text(text: &str) -> Result<(), Limit> {
    match text.trim().parse::<u32>() {
        Ok(size) => group_size(size),
        Err(_) => Err(Limit::new(
            format!("{} is not a number of instances", shown(text)),
            "Auto Scaling takes a whole number, 1 to 10000, quoted: `\"4\"`",
        )),
    }
}

/// The most bytes of an environment's properties, each counted as `key=value`
/// (Elastic Beanstalk developer guide, "Environment property limits").
pub const PROPERTIES_BYTES: usize = 4096;

/// A property's name (same limits: "Keys can contain any alphanumeric characters and the
/// following symbols: `_ . : / + \ - @`").
pub fn property_key(key: &str) -> Result<(), Limit> {
    let fits = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:/+\\-@".contains(c));
    Limit::unless(
        fits,
        || format!("{} is not an environment property name Elastic Beanstalk takes", shown(key)),
        "property names take letters, digits and `_ . : / + \\ - @`; `[A-Z_][A-Z0-9_]*` works on every platform",
    )
}

/// The bytes of properties as Elastic Beanstalk counts them: `key=value` each.
pub fn properties_bytes<'a>(properties: impl IntoIterator<Item = (&'a str, &'a str)>) -> usize {
    properties
        .into_iter()
        .map(|(key, value)| key.len() + 1 + value.len())
        .sum()
}

/// Properties that fit in an environment: at most [`PROPERTIES_BYTES`] bytes in all.
/// `whose`: what they are, for the message ("the properties this step sets", ...).
pub fn properties<'a>(
    whose: &str,
    properties: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), Limit> {
    let bytes = properties_bytes(properties);
    Limit::unless(
        bytes <= PROPERTIES_BYTES,
        || format!("{whose} come to {bytes} bytes as `key=value`; Elastic Beanstalk holds at most {PROPERTIES_BYTES} bytes of properties in all"),
        "keep large values in Parameter Store and the property short, or unset properties the environment no longer needs",
    )
}

// Elastic Load Balancing (botocore model ELBv2).

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

// Route 53 (botocore model Route53 ChangeResourceRecordSets; developer guide, "DNS domain
// name format": "Each label can be up to 63 bytes long. The total length of a domain name
// cannot exceed 255 bytes, including the dots").

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

// The same limits as JSON Schema, for editors (`standin schema`): a pattern also takes a
// value with `${vars.NAME}` in it, which `validate` checks once substituted.

/// Text matching `pattern`, or holding a variable.
fn text(pattern: &str) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "pattern": format!("^({pattern}|.*\\$\\{{.+)$"),
    })
}

const PARAMETER_NAME: &str = "/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*";

/// A parameter's name.
pub fn parameter_name_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(PARAMETER_NAME)
}

/// A path prefix of parameters (`/myapp/prod/`).
pub fn parameter_prefix_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text("/([A-Za-z0-9_.-]+/?)*")
}

/// Parameter names to values, a value at most as long as the Advanced tier holds.
pub fn parameter_values_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "propertyNames": text(PARAMETER_NAME),
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": ADVANCED_VALUE},
    })
}

/// Environment property names to values.
pub fn properties_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "propertyNames": text("[A-Za-z0-9_.:/+\\\\@-]+"),
        "additionalProperties": {"type": "string"},
    })
}

/// An environment's name.
pub fn environment_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text("[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]")
}

/// A load balancer's name.
pub fn load_balancer_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text("[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
}

/// A host-header condition's host name.
pub fn host_header_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = text("[A-Za-z0-9.*?-]+");
    schema.insert("maxLength".into(), 128.into());
    schema
}

/// An ACM certificate's ARN.
pub fn certificate_arn_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(r"arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(/[\w+=,.@-]+)*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_as_parameter_store_takes_them() {
        let ok = |n: &str| parameter_name(n, SHORTEST_ARN_PREFIX).is_ok();
        assert!(ok("/shop/staging/DB_HOST") && ok("plain") && ok("/a.b-c_d/E"));
        assert!(!ok("/shop/staging/DB HOST"), "a space");
        assert!(!ok("/shop/é"), "not ASCII");
        assert!(!ok("shop/staging"), "levels without a leading /");
        assert!(!ok("/shop//x") && !ok("/shop/") && !ok(""));
        assert!(!ok("/aws/x") && !ok("/SSM/x") && !ok("awsx"));
        let deep = "/a".repeat(16);
        assert!(!ok(&deep) && ok(&"/a".repeat(15)));
        let long = format!("/{}", "x".repeat(1011 - SHORTEST_ARN_PREFIX));
        assert!(ok(&long));
        assert!(parameter_name(&long, parameter_arn_prefix("ap-southeast-1")).is_err());
        assert_eq!(parameter_arn_prefix("us-east-2"), SHORTEST_ARN_PREFIX);
    }

    #[test]
    fn values_by_tier() {
        let four = "x".repeat(4096);
        assert!(parameter_value(&four, None).is_ok());
        assert!(parameter_value(&format!("{four}y"), None).is_err());
        assert!(parameter_value(&format!("{four}y"), Some("Standard")).is_err());
        assert!(parameter_value(&format!("{four}y"), Some("Advanced")).is_ok());
        assert!(
            parameter_value(&"é".repeat(4096), None).is_ok(),
            "characters, not bytes"
        );
        assert!(parameter_value(&"x".repeat(8193), Some("Advanced")).is_err());
    }

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

    #[test]
    fn properties_count_key_equals_value() {
        assert_eq!(properties_bytes([("A", "bc"), ("DE", "")]), 4 + 3);
        let value = "x".repeat(PROPERTIES_BYTES - 2);
        assert!(properties("they", [("K", value.as_str())]).is_ok());
        assert!(properties("they", [("KK", value.as_str())]).is_err());
        assert!(property_key("APP_ENV").is_ok() && property_key("a.b:c/d+e\\f-g@h").is_ok());
        assert!(property_key("A B").is_err() && property_key("").is_err());
        assert!(environment_name("shop-staging").is_ok() && environment_name("abc").is_err());
        assert!(environment_name("-shop").is_err() && environment_name(&"a".repeat(41)).is_err());
    }
}
