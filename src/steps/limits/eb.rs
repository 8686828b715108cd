//! Elastic Beanstalk (botocore model ElasticBeanstalk; the developer guide's option and
//! property limits).

use super::{shown, Limit};

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

#[cfg(test)]
mod tests {
    use super::*;

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
