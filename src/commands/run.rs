//! `standin run`: plan (or check a saved plan), confirm, execute with the rollback stack.

use std::path::PathBuf;

use crate::cli::{Cli, GuardArgs, PlaybookArgs};
use crate::engine::journal::Outcome;
use crate::engine::plan::{self, PlanDoc};
use crate::engine::state::StateDir;
use crate::engine::{self};
use crate::error::{exit, Error};
use crate::report::{self, Console, Format, Terminal};

pub(super) struct RunArgs<'a> {
    pub playbook: Option<&'a PathBuf>,
    pub vars: &'a [(String, String)],
    pub plan: Option<&'a PathBuf>,
    pub yes: bool,
    pub guards: &'a GuardArgs,
}

pub(super) async fn run(cli: &Cli, args: RunArgs<'_>) -> Result<u8, Error> {
    let saved = args.plan.map(|p| super::plan::load_saved(p)).transpose()?;
    let path = match (args.playbook, &saved) {
        (Some(path), _) => path.clone(),
        (None, Some(saved)) => PathBuf::from(&saved.file),
        (None, None) => unreachable!("clap requires a playbook or --plan"),
    };
    let pb = super::load(&PlaybookArgs {
        playbook: path.clone(),
        vars: args.vars.to_vec(),
    })?;
    if let Some(why) = saved.as_ref().and_then(|s| plan::other_inputs(s, &pb)) {
        return Err(Error::Stale(vec![why]));
    }
    let state = StateDir::new(&cli.state_dir);
    let _lock = state.lock(&format!("standin run {}", path.display()))?;
    let terminal = Terminal::default();
    let ctx = super::context(&pb.aws, args.yes, &terminal).await;
    let forced = args.guards.forced();
    let fresh = plan::plan_all(&pb, &ctx, &forced).await;
    if cli.output == Format::Human {
        print!("{}", fresh.human());
    }
    if let Some(step) = fresh.steps.iter().find(|s| s.error.is_some()) {
        return Err(Error::Plan {
            step: step.id.clone(),
            message: step.error.clone().unwrap_or_default(),
        });
    }
    let blocking: Vec<String> = fresh
        .guards
        .iter()
        .filter(|g| g.blocks())
        .map(|g| format!("guard `{}`: {}", g.guard, g.message))
        .collect();
    if !blocking.is_empty() {
        return Err(Error::Refused(blocking));
    }
    // The plan that every step must match: the saved one, which must still hold, or the one
    // just shown.
    let expected: PlanDoc = match saved {
        Some(saved) => {
            let changed = plan::stale(&saved, &fresh);
            if !changed.is_empty() {
                return Err(Error::Stale(changed));
            }
            saved
        }
        None => fresh,
    };
    super::confirm(
        args.yes,
        &format!(
            "This changes live resources as planned above, for playbook `{}`.",
            pb.name
        ),
        &pb.name,
    )?;
    let run_id = StateDir::new_run_id();
    if cli.output == Format::Human {
        println!(
            "\nRun {run_id} (journal: {})",
            state.journal(&run_id).display()
        );
    }
    let mut console = Console::new(cli.output, terminal);
    let report = engine::run(&pb, &ctx, &state, &run_id, &mut console, &expected, &forced).await?;
    match cli.output {
        Format::Json => report::print_json(&report),
        Format::Human => print!(
            "\n{}",
            report::human_report(&report, &super::state_flag(cli))
        ),
    }
    Ok(match report.outcome {
        Outcome::Succeeded => exit::SUCCESS,
        Outcome::RolledBack => exit::ROLLED_BACK,
        Outcome::RollbackIncomplete => exit::HUMAN_NEEDED,
    })
}
