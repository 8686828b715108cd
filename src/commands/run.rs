//! `standin run`: plan (or check a saved plan), confirm, execute with the rollback stack.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::cli::{AccountArgs, Cli, EvidenceArgs, GuardArgs, PlaybookArgs};
use crate::engine::life::{Begin, Life};
use crate::engine::plan::{self, PlanDoc};
use crate::engine::{self, Report, Spec};
use crate::error::{Ending, Error};
use crate::playbook::Playbook;
use crate::report::{self, Console, Format, Terminal};
use crate::state::State;
use crate::steps::Ctx;
use crate::stop::Stop;

pub(super) struct RunArgs<'a> {
    pub playbook: Option<&'a PathBuf>,
    pub vars: &'a [(String, String)],
    pub plan: Option<&'a PathBuf>,
    pub yes: bool,
    pub guards: &'a GuardArgs,
    pub account: &'a AccountArgs,
    pub force_unlock: Option<&'a str>,
    pub evidence: &'a EvidenceArgs,
    pub notify: Option<&'a str>,
}

pub(super) async fn run(cli: &Cli, args: RunArgs<'_>) -> Result<Ending, Error> {
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
    if let Some(saved) = &saved {
        if let Some(why) = plan::other_inputs(saved, &pb) {
            return Err(Error::Stale(vec![why]));
        }
        // The playbook is the one planned, so a plan of other steps was edited by hand.
        if let Some(why) = plan::mismatch(saved, &pb) {
            return Err(Error::Usage(format!(
                "{}: not a usable saved plan: {why}; make a new plan (`standin plan -o FILE`)",
                args.plan
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )));
        }
    }
    super::doctor::refuse(&pb, args.account).await?;
    let cli = &super::with_state_of(cli, &pb);
    let state = super::state(cli).await?;
    let lock = state
        .lock(
            &format!("standin run {}", path.display()),
            args.force_unlock,
        )
        .await?;
    let terminal = Terminal::default();
    let ctx = super::playbook_context(&pb, args.yes, &terminal).await;
    let forced = args.guards.forced();
    let fresh = checked_plan(cli, &pb, &ctx, &forced, args.yes).await?;
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
    let run_id = State::new_run_id();
    let mut journal = state.create_journal(&run_id, &lock).await?;
    super::keep_plan(&state, &run_id, &expected).await;
    if cli.output == Format::Human {
        report::detail(&format!(
            "\nRun {run_id} (journal: {})\n",
            journal.location()
        ));
    }
    let mut console = Console::new(cli.output, terminal);
    let spec = Spec {
        playbook: &pb,
        expected: &expected,
        forced: &forced,
    };
    // From here on, signals stop the run at a safe point instead of killing it.
    let ctx = super::with_stop(ctx, stop());
    let principals = super::principals(&ctx).await;
    let chat = args
        .notify
        .map(|url| report::notify::Chat::new(url, "run", &run_id, &pb.name));
    if let Some(chat) = &chat {
        chat.event(
            "started",
            &format!(
                "started by {}{}",
                State::who(),
                principals
                    .iter()
                    .map(|p| format!(", as {p}"))
                    .collect::<String>()
            ),
            serde_json::json!({"principals": principals}),
        );
    }
    let ctx = super::with_desk(
        cli,
        &pb,
        ctx,
        &run_id,
        Some(expected.sha256()),
        &principals,
        chat.as_ref(),
    )
    .await?;
    let header = engine::Header {
        by: Some(State::who()),
        principals,
        warnings: expected.warnings.clone(),
        plan_sha256: Some(expected.sha256()),
        drill: None,
    };
    let mut obs = report::notify::Notifying {
        inner: &mut console,
        chat: chat.clone(),
    };
    let lived = Life {
        playbook: Some(&pb),
        ctx: &ctx,
        journal: &mut journal,
        obs: &mut obs,
    }
    .live(Begin::Run {
        spec: &spec,
        run_id: &run_id,
        header: Box::new(header),
    })
    .await;
    if let Some(chat) = &chat {
        let how = lived.as_ref().map(|l| l.steps.as_ref());
        report::notify::end(chat, how.map_err(ToString::to_string)).await;
    }
    let report = lived?.steps.expect("a run that began runs its steps");
    let ending = finish(cli, &report);
    if let Some(target) = super::evidence::target(args.evidence, Some(&pb)) {
        super::evidence::upload_run(&state, &run_id, &target).await;
    }
    Ok(ending)
}

/// Signal handling for a run: stop at the next safe point, then offer a rollback.
pub(super) fn stop() -> Stop {
    super::signals(
        "stopping at the next safe point (after the current change, or now if it is waiting); a second signal aborts the step in flight...",
    )
}

/// Plans every step on live state and shows the plan (under `-q` only when a person is to
/// confirm it: not with `yes`); refuses a plan that failed or that a guard blocks.
pub(super) async fn checked_plan(
    cli: &Cli,
    pb: &Playbook,
    ctx: &Ctx,
    forced: &BTreeSet<String>,
    yes: bool,
) -> Result<PlanDoc, Error> {
    let fresh = reviewed_plan(cli, pb, ctx, forced, yes).await;
    match refusal(&fresh) {
        Some(e) => Err(e),
        None => Ok(fresh),
    }
}

/// Plans every step, showing the plan for review.
pub(super) async fn reviewed_plan(
    cli: &Cli,
    pb: &Playbook,
    ctx: &Ctx,
    forced: &BTreeSet<String>,
    yes: bool,
) -> PlanDoc {
    let fresh = plan::plan_all(pb, ctx, forced).await;
    if cli.output == Format::Human {
        report::for_review(&fresh.human(), yes);
    }
    fresh
}

/// Why a plan may not run: a step that could not be planned, or guards that refuse it.
pub(super) fn refusal(fresh: &PlanDoc) -> Option<Error> {
    if let Some(step) = fresh.steps.iter().find(|s| s.error.is_some()) {
        return Some(Error::Plan {
            step: step.id.clone(),
            message: step.error.clone().unwrap_or_default(),
        });
    }
    let blocking = blocking(fresh);
    (!blocking.is_empty()).then_some(Error::Refused(blocking))
}

/// The guards that refuse a plan, one line each.
pub(super) fn blocking(fresh: &PlanDoc) -> Vec<String> {
    fresh
        .guards
        .iter()
        .filter(|g| g.blocks())
        .map(|g| format!("guard `{}`: {}", g.guard, g.message))
        .collect()
}

/// Prints a run's report and maps its outcome to the exit code.
pub(super) fn finish(cli: &Cli, report: &Report) -> Ending {
    match cli.output {
        Format::Json => report::print_json(report),
        Format::Human => report::outcome(&format!(
            "\n{}",
            report::human_report(report, &super::state_flag(cli))
        )),
    }
    Ending::of_report(report, false)
}
