//! `standin status`: a run's steps and states, from its journal, and who holds a shared
//! state's lock.

use serde::Serialize;

use crate::cli::Cli;
use crate::engine::view::RunView;
use crate::error::{Ending, Error};
use crate::report::{self, Format};
use crate::state::{Holder, State};

/// The given run id, or the newest run's.
pub(super) async fn resolve(state: &State, run_id: Option<&str>) -> Result<String, Error> {
    let location = state.location();
    let ids = state
        .run_ids()
        .await
        .map_err(|e| Error::Usage(format!("cannot list runs in {location}: {e}")))?;
    match run_id {
        Some(id) if ids.iter().any(|i| i == id) => Ok(id.to_owned()),
        Some(id) => Err(Error::Usage(format!(
            "no run `{id}` in {location} (runs: {})",
            if ids.is_empty() {
                "none".to_owned()
            } else {
                ids.join(", ")
            }
        ))),
        None => ids
            .last()
            .cloned()
            .ok_or_else(|| Error::Usage(format!("no runs in {location}"))),
    }
}

/// The JSON document: the run's view, and the lock's holder when there is one.
#[derive(Serialize)]
struct Status<'a> {
    #[serde(flatten)]
    view: &'a RunView,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock: Option<Lock<'a>>,
}

#[derive(Serialize)]
struct Lock<'a> {
    #[serde(flatten)]
    holder: &'a Holder,
    expired: bool,
}

pub(super) async fn status(cli: &Cli, run_id: Option<&str>) -> Result<Ending, Error> {
    let state = super::state(cli).await?;
    let run_id = resolve(&state, run_id).await?;
    let view = state.view(&run_id).await?;
    // The run is what was asked for; a lock that cannot be read is only a warning.
    let holder = state.holder().await.unwrap_or_else(|e| {
        report::warn(&format!("warning: {e}"));
        None
    });
    match cli.output {
        Format::Json => report::print_json(&Status {
            view: &view,
            lock: holder.as_ref().map(|holder| Lock {
                holder,
                expired: holder.expired(),
            }),
        }),
        Format::Human => {
            report::print(&report::human_status(&view, &super::state_flag(cli)));
            if let Some(holder) = holder {
                report::line(&format!("Lock: held by {holder}"));
            }
        }
    }
    Ok(Ending::Done)
}
