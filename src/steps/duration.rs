//! Durations in playbooks are written as people write them: `30s`, `5m`, `1h 30m`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Deserializes a humantime duration string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration `{text}`: {e}; write e.g. `30s`, `5m` or `1h`"
        ))
    })
}
