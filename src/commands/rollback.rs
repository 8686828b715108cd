//! `standin rollback`: undo a run from its journal alone.

use crate::cli::Cli;
use crate::engine;
use crate::engine::life::{Begin, Life};
use crate::engine::record::Outcome;
use crate::error::{Ending, Error};
use crate::report::{self, Console, Format, Terminal};

pub(super) struct RollbackArgs<'a> {
    pub run_id: Option<&'a str>,
    pub yes: bool,
    pub force: bool,
    pub force_unlock: Option<&'a str>,
    pub evidence: &'a crate::cli::EvidenceArgs,
    pub notify: Option<&'a str>,
}

pub(super) async fn rollback(cli: &Cli, args: RollbackArgs<'_>) -> Result<Ending, Error> {
    let RollbackArgs {
        run_id,
        yes,
        force,
        force_unlock,
        evidence,
        notify,
    } = args;
    let state = super::state(cli).await?;
    let run_id = super::status::resolve(&state, run_id).await?;
    let lock = state
        .lock(&format!("standin rollback {run_id}"), force_unlock)
        .await?;
    let mut journal = state.open_journal(&run_id, &lock).await?;
    let view = journal.view().map_err(engine::EngineError::from)?.clone();
    let stack: Vec<_> = view.rollback_stack().map(|s| s.id.clone()).collect();
    if !stack.is_empty() {
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
    }
    let terminal = Terminal::default();
    // Stopping half way through a rollback helps no one: signals only warn.
    let stop = super::signals("the rollback goes on regardless...");
    let ctx = super::context((&view.aws, &view.accounts), yes, &terminal, stop).await;
    let mut console = Console::new(cli.output, terminal);
    let chat =
        notify.map(|url| report::notify::Chat::new(url, "rollback", &run_id, &view.playbook));
    let mut obs = report::notify::Notifying {
        inner: &mut console,
        chat: chat.clone(),
    };
    // A drill's restore is verified against its snapshot as the drill would have been, when
    // its playbook can still be read. `rollback` takes no --var: the playbook here has its
    // defaults (see `Unverified`).
    let pb = match (&view.drill, stack.is_empty()) {
        (Some(_), false) => super::load(&crate::cli::PlaybookArgs {
            playbook: view.file.clone().into(),
            vars: Vec::new(),
        })
        .map_err(|e| {
            report::warn(&format!(
                "warning: the restore of drill {run_id} cannot be verified: {e}"
            ))
        })
        .ok(),
        _ => None,
    };
    let lived = Life {
        playbook: pb.as_ref(),
        ctx: &ctx,
        journal: &mut journal,
        obs: &mut obs,
    }
    .live(Begin::Rollback { force })
    .await;
    if let Some(chat) = &chat {
        let how = lived.as_ref().map(|l| l.rollback.as_ref());
        report::notify::end(chat, how.map_err(ToString::to_string)).await;
    }
    let lived = lived?;
    let Some(report) = &lived.rollback else {
        match cli.output {
            Format::Json => report::print_json(
                &serde_json::json!({"run_id": run_id, "undone": [], "outcome": "nothing-to-undo"}),
            ),
            Format::Human => report::line(&format!(
                "Run {run_id}: nothing to roll back (no step left a change in place)."
            )),
        }
        return Ok(Ending::Done);
    };
    if view.drill.is_some() && report.outcome == Outcome::RolledBack {
        super::drill::shown(cli, &run_id, &lived);
        // The rollback is done: reports that cannot be written are said, never fatal.
        let dir = super::drill::Outputs::report_dir(&view, None).unwrap_or_else(|e| {
            report::warn(&format!(
                "warning: the drill's reports cannot be written: {e}"
            ));
            None
        });
        let outputs = super::drill::Outputs {
            report: dir,
            notify: None,
            evidence: super::evidence::target(evidence, pb.as_ref()),
        };
        // For this command, everything put back (and verified) is success.
        return super::drill::conclude(cli, &state, &mut journal, &outputs, true).await;
    }
    match cli.output {
        Format::Json => report::print_json(report),
        Format::Human => report::outcome(&report::human_report(report, &super::state_flag(cli))),
    }
    if let Some(target) = super::evidence::target(evidence, None) {
        super::evidence::upload_run(&state, &run_id, &target).await;
    }
    // For this command, everything put back is success (`run` says 1: its step failed).
    Ok(Ending::of_report(report, true))
}
