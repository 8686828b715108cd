//! `pause`: wait a fixed time, e.g. for DNS caches to expire before the next step.

use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{
    duration, irreversible, one_line, Act, Action, Ctx, Kind, NoUndo, Prepared, Resource, Step,
    StepError,
};

/// Fields of a `pause` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    /// How long, e.g. `60s`.
    #[serde(deserialize_with = "duration::deserialize")]
    #[schemars(schema_with = "duration::schema")]
    duration: Duration,
}

impl Kind for Pause {
    const NAME: &'static str = "pause";
    const SUMMARY: &'static str = "wait a fixed time (e.g. for DNS caches to expire)";
    const EXAMPLE: &'static str = r#"
duration: 60s
"#;
    const DOC: &'static str = r#"
Wait a fixed time, e.g. for DNS caches (field `duration`, e.g. `60s`).
"#;
    const CHANGES_NOTHING: bool = true;
    const WAITS_ON_DNS: bool = true;
    type Undo = NoUndo;
}

#[async_trait]
impl Step for Pause {
    async fn plan(&self, _ctx: &Ctx) -> Result<Prepared, StepError> {
        let wait = humantime::format_duration(self.duration).to_string();
        Ok(one_line(
            Action::Check,
            Resource::Pause,
            None,
            format!("wait {wait}"),
            irreversible(self.clone(), "a pause changes nothing"),
        ))
    }
}

#[async_trait]
impl Act for Pause {
    async fn act(&self, ctx: &Ctx) -> Result<(), StepError> {
        ctx.waits
            .stop
            .sleep(self.duration)
            .await
            .map_err(StepError::interrupted("pause"))
    }
}
