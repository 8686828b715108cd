//! Durations in playbooks are written as people write them: `30s`, `5m`, `1h 30m`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The longest wait or bound a playbook may give: a failover step that waits longer than a
/// day is a typo (`9999999999999999999s` parses, and would hang a run for ages).
pub const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// Reads a duration as people write it, refusing what is longer than [`LONGEST`].
pub fn parse(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("invalid duration `{text}`: {e}; write e.g. `30s`, `5m` or `1h`"))?;
    if duration > LONGEST {
        return Err(format!(
            "`{text}` is longer than the 24 hours a step may take or wait; write e.g. `30s`, `5m` or `1h`"
        ));
    }
    Ok(duration)
}

/// The JSON Schema of a duration field: text as [`parse`] reads it.
pub fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        // A number first, or a `${vars.NAME}` that becomes one.
        "pattern": "^\\s*([0-9]|\\$\\{)",
        "description": "a duration as people write it, at most 24 hours",
        "examples": ["30s", "5m", "1h 30m"]
    })
}

/// Deserializes a duration string, as [`parse`] reads it.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}
