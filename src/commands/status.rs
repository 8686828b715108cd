//! `standin status`: a run's steps and states, from its journal.

use crate::cli::Cli;
use crate::engine::load_view;
use crate::engine::state::StateDir;
use crate::error::{exit, Error};
use crate::report::{self, Format};

/// The given run id, or the newest run's.
pub(super) fn resolve(state: &StateDir, run_id: Option<&str>) -> Result<String, Error> {
    let ids = state.run_ids().map_err(|e| {
        Error::Usage(format!(
            "cannot list runs in {}: {e}",
            state.runs().display()
        ))
    })?;
    match run_id {
        Some(id) if ids.iter().any(|i| i == id) => Ok(id.to_owned()),
        Some(id) => Err(Error::Usage(format!(
            "no run `{id}` in {} (runs: {})",
            state.root().display(),
            if ids.is_empty() {
                "none".to_owned()
            } else {
                ids.join(", ")
            }
        ))),
        None => ids
            .last()
            .cloned()
            .ok_or_else(|| Error::Usage(format!("no runs in {}", state.root().display()))),
    }
}

pub(super) fn status(cli: &Cli, run_id: Option<&str>) -> Result<u8, Error> {
    let state = StateDir::new(&cli.state_dir);
    let run_id = resolve(&state, run_id)?;
    let view = load_view(&state.journal(&run_id))?;
    match cli.output {
        Format::Json => report::print_json(&view),
        Format::Human => print!("{}", report::human_status(&view, &super::state_flag(cli))),
    }
    Ok(exit::SUCCESS)
}
