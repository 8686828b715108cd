//! `standin rollback`: undo a run from its journal alone.

use crate::cli::Cli;
use crate::engine::journal::{now, Outcome, Record};
use crate::engine::{self, load_view};
use crate::error::{Error, Exit};
use crate::report::{self, Console, Format, Terminal};

pub(super) struct RollbackArgs<'a> {
    pub run_id: Option<&'a str>,
    pub yes: bool,
    pub force: bool,
    pub force_unlock: Option<&'a str>,
}

pub(super) async fn rollback(cli: &Cli, args: RollbackArgs<'_>) -> Result<Exit, Error> {
    let RollbackArgs {
        run_id,
        yes,
        force,
        force_unlock,
    } = args;
    let state = super::state(cli).await?;
    let run_id = super::status::resolve(&state, run_id).await?;
    let lock = state
        .lock(&format!("standin rollback {run_id}"), force_unlock)
        .await?;
    let mut journal = state.open_journal(&run_id, &lock).await?;
    let view = load_view(&journal)?;
    let stack: Vec<_> = view.rollback_stack().map(|s| s.id.clone()).collect();
    if stack.is_empty() {
        // A rollback killed after its last undo: say it finished, so `status` does too.
        if view.rolling_back {
            let record = Record::Finished {
                outcome: Outcome::RolledBack,
                at: now(),
            };
            journal
                .append(&record)
                .map_err(engine::journal_err(&journal))?;
        }
        match cli.output {
            Format::Json => report::print_json(
                &serde_json::json!({"run_id": run_id, "undone": [], "outcome": "nothing-to-undo"}),
            ),
            Format::Human => report::line(&format!(
                "Run {run_id}: nothing to roll back (no step left a change in place)."
            )),
        }
        return Ok(Exit::Success);
    }
    if cli.output == Format::Human {
        report::for_review(
            &format!(
                "Run {run_id} of `{}`: will undo, in this order: {}\n",
                view.playbook,
                stack.join(", ")
            ),
            yes,
        );
    }
    super::confirm(
        yes,
        &format!("This undoes run {run_id} on live resources."),
        &view.playbook,
    )?;
    let terminal = Terminal::default();
    // Stopping half way through a rollback helps no one: signals only warn.
    let stop = super::signals("the rollback goes on regardless...");
    let ctx = super::context((&view.aws, &view.accounts), yes, &terminal, stop).await;
    let mut console = Console::new(cli.output, terminal);
    let reason = if force {
        "requested with --force"
    } else {
        "requested"
    };
    let report = engine::rollback(&view, &ctx, &mut journal, force, reason, &mut console).await?;
    if view.drill.is_some() && report.outcome == Outcome::RolledBack {
        return verify_drill(cli, &state, &view, &ctx, &mut journal).await;
    }
    match cli.output {
        Format::Json => report::print_json(&report),
        Format::Human => report::outcome(&report::human_report(&report, &super::state_flag(cli))),
    }
    // For this command, everything put back is success (`run` says 1: its step failed).
    Ok(match Exit::of_report(&report) {
        Exit::RolledBack => Exit::Success,
        exit => exit,
    })
}

/// A drill rolled back by hand is verified against its snapshot as the drill would have
/// been, when its playbook can still be read; its report says how it ended.
async fn verify_drill(
    cli: &Cli,
    state: &crate::state::State,
    view: &crate::engine::view::RunView,
    ctx: &crate::steps::Ctx,
    journal: &mut crate::engine::journal::Journal,
) -> Result<Exit, Error> {
    let args = crate::cli::PlaybookArgs {
        playbook: view.file.clone().into(),
        vars: Vec::new(),
    };
    match super::load(&args) {
        Ok(pb) => {
            // `rollback` takes no --var: the playbook here has its defaults. When the drill ran
            // it otherwise (or the playbook was edited since) and the resources it changed are
            // not all planned here, they cannot be read: not verified, said, and nothing
            // recorded, so `resume` with the drill's inputs verifies it.
            let snapshot = crate::engine::load_view(journal)?.snapshot;
            let checked = crate::engine::drill::verify(&pb, ctx, &snapshot).await;
            let other = view
                .source
                .as_ref()
                .and_then(|s| s.differs(&pb, "the drill started"));
            match other {
                Some(why) if !checked.unread.is_empty() => report::warn(&format!(
                    "warning: the restore of drill {run} is not verified: {why}, and the playbook here does not plan {} of the {} resource(s) the drill changed; `standin{flag} resume {run}` with the playbook and --var values the drill ran with verifies it and writes its report",
                    checked.unread.len(),
                    snapshot.len(),
                    run = view.run_id,
                    flag = super::state_flag(cli),
                )),
                _ => crate::engine::drill::record_verified(
                    journal,
                    snapshot.len(),
                    checked.differences,
                ),
            }
        }
        Err(e) => report::warn(&format!(
            "warning: the restore of drill {} cannot be verified: {e}",
            view.run_id
        )),
    }
    // The rollback is done: reports that cannot be written are said, never fatal.
    let report = super::drill::Outputs::report_dir(view, None).unwrap_or_else(|e| {
        report::warn(&format!(
            "warning: the drill's reports cannot be written: {e}"
        ));
        None
    });
    let outputs = super::drill::Outputs {
        report,
        notify: None,
    };
    let exit = super::drill::conclude(cli, state, journal, &outputs, Exit::Success).await?;
    // For this command, everything put back (and verified) is success.
    Ok(match exit {
        Exit::HumanNeeded => Exit::HumanNeeded,
        _ => Exit::Success,
    })
}
