//! `standin resume`: continue a run that stopped part way (killed, or Ctrl-C), from its journal.

use std::path::PathBuf;
use std::time::Duration;

use super::drill::{Left, Outputs};
use crate::cli::{Cli, GuardArgs};
use crate::engine::journal::Outcome;
use crate::engine::{self, load_view, Spec};
use crate::error::{Error, Exit};
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

pub(super) async fn resume(cli: &Cli, args: ResumeArgs<'_>) -> Result<Exit, Error> {
    let state = super::state(cli).await?;
    let run_id = super::status::resolve(&state, args.run_id).await?;
    let lock = state
        .lock(&format!("standin resume {run_id}"), args.force_unlock)
        .await?;
    let mut journal = state.open_journal(&run_id, &lock).await?;
    let view = load_view(&journal)?;
    let left = super::drill::left(&view);
    if left.is_none() && !view.resumable() {
        let why = if view.rolling_back {
            format!(
                "run {run_id} was being rolled back; finish that with `standin{} rollback {run_id}`",
                super::state_flag(cli)
            )
        } else if let Some(step) = view.failed_step().filter(|_| view.outcome.is_none()) {
            format!(
                "run {run_id} failed at step `{}` and stopped before rolling back; roll it back with `standin{} rollback {run_id}`",
                step.id,
                super::state_flag(cli)
            )
        } else {
            format!(
                "run {run_id} already finished; `standin{} status {run_id}` shows how",
                super::state_flag(cli)
            )
        };
        return Err(Error::NotResumable(vec![why]));
    }
    let pb = super::load(&crate::cli::PlaybookArgs {
        playbook: PathBuf::from(&view.file),
        vars: args.vars.to_vec(),
    })?;
    // The journal's undo records and step states are only meaningful for the playbook the
    // run started with.
    let mut changed: Vec<String> = view
        .source
        .as_ref()
        .and_then(|s| s.differs(&pb, "the run started"))
        .into_iter()
        .collect();
    let now: Vec<(&str, &str)> = pb
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.kind.name))
        .collect();
    let then: Vec<(&str, &str)> = view
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.kind.as_str()))
        .collect();
    if changed.is_empty() && now != then {
        changed.push(format!(
            "the playbook {} no longer has the run's steps",
            view.file
        ));
    }
    if !changed.is_empty() {
        changed.push(format!(
            "undo what the run did with `standin{} rollback {run_id}` instead",
            super::state_flag(cli)
        ));
        return Err(Error::NotResumable(changed));
    }
    // What the soak is to be, checked before anything changes: an edited journal must not
    // stop a resumed drill half way.
    let soak_every = match view
        .drill
        .as_ref()
        .map(crate::engine::journal::DrillSpec::durations)
    {
        Some(Err(why)) => {
            return Err(Error::NotResumable(vec![
                format!("drill {run_id}: {why}; the journal was edited"),
                format!(
                    "put back what the drill changed with `standin{} rollback {run_id}` instead",
                    super::state_flag(cli)
                ),
            ]))
        }
        Some(Ok(durations)) => Some(durations),
        None => None,
    };
    let (report, notify) = args.outputs;
    let outputs = Outputs {
        report: Outputs::report_dir(&view, report)
            .map_err(|e| Error::Usage(format!("--report: {e}; nothing was called")))?,
        notify: notify.map(str::to_owned),
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
    let rest = |ctx, soaked: bool| super::drill::Rest {
        pb: &pb,
        ctx,
        soak: match (soak_every, soaked) {
            (Some((soak, _)), false) => Some(soak),
            _ => None,
        },
        every: soak_every.map_or(Duration::from_secs(30), |(_, every)| every),
        output: cli.output,
        state_flag: super::state_flag(cli),
    };
    let exit = match left {
        Some(left) => {
            super::confirm(
                args.yes,
                &format!("This finishes drill {run_id}: it puts back what the drill changed."),
                &pb.name,
            )?;
            let ctx = super::with_stop(ctx, super::run::stop());
            match left {
                Left::Restore { soaked } => {
                    rest(&ctx, soaked)
                        .hold_and_restore(&mut journal, &mut console)
                        .await?
                }
                Left::Verify => rest(&ctx, true).verify(&mut journal).await?,
            }
        }
        None => {
            let forced = args.guards.forced();
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
            let spec = Spec {
                playbook: &pb,
                expected: &expected,
                forced: &forced,
            };
            let ctx = super::with_stop(ctx, super::run::stop());
            let report = engine::resume(&spec, &ctx, &mut journal, &view, &mut console).await?;
            match (view.drill.is_some(), report.outcome) {
                (true, Outcome::Succeeded) => {
                    rest(&ctx, false)
                        .hold_and_restore(&mut journal, &mut console)
                        .await?
                }
                (true, Outcome::RolledBack) => rest(&ctx, true).verify(&mut journal).await?,
                _ => return Ok(super::run::finish(cli, &report)),
            }
        }
    };
    super::drill::conclude(cli, &state, &journal, &outputs, exit).await
}
