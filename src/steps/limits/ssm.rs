//! Parameter Store (botocore model SSM PutParameter).

use super::{shown, Limit};

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
}
