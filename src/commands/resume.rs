//! `standin resume`: continue a run that stopped part way (killed, or Ctrl-C), from its journal.

use std::path::PathBuf;

use super::drill::Outputs;
use crate::cli::{Cli, GuardArgs};
use crate::engine::life::{self, Begin, Life, Next, Unresumable};
use crate::engine::{self, Spec};
use crate::error::{Ending, Error};
use crate::report::{self, Console, Format, Terminal};

pub(super) struct ResumeArgs<'a> {
    pub run_id: Option<&'a str>,
    pub vars: &'a [(String, String)],
    pub yes: bool,
    /// A drill's `--report` and `--notify`, over what its journal says.
    pub outputs: (Option<&'a std::path::Path>, Option<&'a str>),
    pub guards: &'a GuardArgs,
    pub force_unlock: Option<&'a str>,
}

pub(super) async fn resume(cli: &Cli, args: ResumeArgs<'_>) -> Result<Ending, Error> {
    let state = super::state(cli).await?;
    let run_id = super::status::resolve(&state, args.run_id).await?;
    let lock = state
        .lock(&format!("standin resume {run_id}"), args.force_unlock)
        .await?;
    let mut journal = state.open_journal(&run_id, &lock).await?;
    let view = journal.view().map_err(engine::EngineError::from)?.clone();
    let flag = super::state_flag(cli);
    let refuse = |why: Unresumable| Error::NotResumable(unresumable(&why, &run_id, &flag));
    let next = life::resumable(&view).map_err(refuse)?;
    // The run's playbook, with the --var values given here: it must be the run's.
    let pb = super::load(&crate::cli::PlaybookArgs {
        playbook: PathBuf::from(&view.file),
        vars: args.vars.to_vec(),
    })?;
    life::same_run(&view, &pb).map_err(refuse)?;
    let (report, notify) = args.outputs;
    let outputs = Outputs {
        report: Outputs::report_dir(&view, report)
            .map_err(|e| Error::Usage(format!("--report: {e}; nothing was called")))?,
        notify: notify.map(str::to_owned),
        evidence: None,
    };
    if let (None, Some(origin)) = (
        notify,
        view.drill.as_ref().and_then(|d| d.notify_origin.as_ref()),
    ) {
        report::warn(&format!(
            "warning: the drill was started with --notify to {origin}; the journal keeps no webhook URL (its path is its secret): pass `--notify URL` to post the outcome"
        ));
    }
    let terminal = Terminal::default();
    let ctx = super::playbook_context(&pb, args.yes, &terminal).await;
    let mut console = Console::new(cli.output, terminal.clone());
    let forced = args.guards.forced();
    // Past its steps, a drill needs no plan: what it puts back is in its journal.
    let expected = if next == Next::Steps {
        if cli.output == Format::Human {
            let done: Vec<&str> = view
                .steps
                .iter()
                .filter(|s| s.state.is_done())
                .map(|s| s.id.as_str())
                .collect();
            report::detail(&format!(
                "Run {run_id} of `{}`: done so far: {}. Planning the rest on live state:\n",
                pb.name,
                if done.is_empty() {
                    "nothing".to_owned()
                } else {
                    done.join(", ")
                }
            ));
        }
        let expected = super::run::checked_plan(cli, &pb, &ctx, &forced, args.yes).await?;
        super::confirm(
            args.yes,
            &format!("This continues run {run_id}, changing live resources as planned above."),
            &pb.name,
        )?;
        Some(expected)
    } else {
        super::confirm(
            args.yes,
            &format!("This finishes drill {run_id}: it puts back what the drill changed."),
            &pb.name,
        )?;
        None
    };
    let spec = expected.as_ref().map(|expected| Spec {
        playbook: &pb,
        expected,
        forced: &forced,
    });
    let ctx = super::with_stop(ctx, super::run::stop());
    // Approvals answer the run's request: its plan and its runner, as the journal names them.
    let ctx = super::with_desk(
        cli,
        &pb,
        ctx,
        &run_id,
        view.plan_sha256.clone(),
        &view.principals,
        None,
    )
    .await?;
    let lived = Life {
        playbook: Some(&pb),
        ctx: &ctx,
        journal: &mut journal,
        obs: &mut console,
    }
    .live(Begin::Resume {
        spec: spec.as_ref(),
    })
    .await?;
    if view.drill.is_none() {
        let report = lived.steps.expect("a run resumed runs its steps");
        return Ok(super::run::finish(cli, &report));
    }
    super::drill::shown(cli, &run_id, &lived);
    super::drill::conclude(cli, &state, &mut journal, &outputs, false).await
}

/// Why a run cannot be resumed, and what to do instead, one line each.
fn unresumable(why: &Unresumable, run_id: &str, flag: &str) -> Vec<String> {
    let rollback = format!("`standin{flag} rollback {run_id}`");
    match why {
        Unresumable::RollingBack => vec![format!(
            "run {run_id} was being rolled back; finish that with {rollback}"
        )],
        Unresumable::FailedBeforeRollback(step) => vec![format!(
            "run {run_id} failed at step `{step}` and stopped before rolling back; roll it back with {rollback}"
        )],
        Unresumable::Finished => vec![format!(
            "run {run_id} already finished; `standin{flag} status {run_id}` shows how"
        )],
        Unresumable::OtherPlaybook(changed) => changed
            .iter()
            .cloned()
            .chain([format!(
                "undo what the run did with {rollback} instead"
            )])
            .collect(),
        Unresumable::Edited(why) => vec![
            format!("drill {run_id}: {why}; the journal was edited"),
            format!("put back what the drill changed with {rollback} instead"),
        ],
    }
}
