//! Durations in playbooks are written as people write them: `30s`, `5m`, `1h 30m`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The longest wait or bound a playbook may give: a failover step that waits longer than a
/// day is a typo (`9999999999999999999s` parses, and would hang a run for ages).
pub const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest period between drills a playbook may ask for (`drill_every:`): DORA asks for
/// a test at least yearly.
pub const LONGEST_PERIOD: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// Reads a duration as people write it, refusing what is longer than [`LONGEST`].
pub fn parse(text: &str) -> Result<Duration, String> {
    bounded(
        text,
        LONGEST,
        "the 24 hours a step may take or wait",
        "`30s`, `5m` or `1h`",
    )
}

/// Reads a period (`drill_every:`) as people write it, refusing what is longer than
/// [`LONGEST_PERIOD`].
pub fn parse_period(text: &str) -> Result<Duration, String> {
    bounded(
        text,
        LONGEST_PERIOD,
        "a year (366 days), the longest time between drills",
        "`30d`, `2weeks` or `90d`",
    )
}

/// The longest retention evidence may be given (`--retain`): S3 Object Lock's default
/// retention goes up to 100 years; a longer one is a typo.
pub const LONGEST_RETENTION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Reads a retention (`--retain`, `evidence: retain:`), at most [`LONGEST_RETENTION`].
pub fn parse_retention(text: &str) -> Result<Duration, String> {
    let retention = bounded(
        text,
        LONGEST_RETENTION,
        "100 years, the longest retention S3 Object Lock's defaults take",
        "`400d` or `7years`",
    )?;
    if retention < Duration::from_secs(24 * 60 * 60) {
        return Err(format!(
            "`{text}` is shorter than a day, the shortest retention S3 Object Lock's defaults take; write e.g. `400d`"
        ));
    }
    Ok(retention)
}

fn bounded(text: &str, longest: Duration, what: &str, e_g: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("invalid duration `{text}`: {e}; write e.g. {e_g}"))?;
    if duration > longest {
        return Err(format!("`{text}` is longer than {what}; write e.g. {e_g}"));
    }
    Ok(duration)
}

/// The JSON Schema of a duration field: text as [`parse`] reads it.
pub fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text_schema(
        "a duration as people write it, at most 24 hours",
        &["30s", "5m", "1h 30m"],
    )
}

/// The JSON Schema of a period field: text as [`parse_period`] reads it.
pub fn period_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text_schema(
        "a duration as people write it, at most 366 days",
        &["30d", "2weeks"],
    )
}

fn text_schema(description: &str, examples: &[&str]) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        // A number first, or a `${vars.NAME}` that becomes one.
        "pattern": "^\\s*([0-9]|\\$\\{)",
        "description": description,
        "examples": examples
    })
}

/// Deserializes a duration string, as [`parse`] reads it.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}
