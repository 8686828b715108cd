//! `standin drill`: snapshot → plan → run → soak → rollback → verify → report. A drill always
//! ends with the world put back (or says exactly what a human must put back), and its journal
//! is a run's journal marked as a drill, so `status`, `resume` and `rollback` work on it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{AccountArgs, Cli, GuardArgs, PlaybookArgs};
use crate::engine::journal::Journal;
use crate::engine::life::{Begin, Life, Lived, Unverified};
use crate::engine::plan::PlanDoc;
use crate::engine::record::{DrillSpec, Outcome};
use crate::engine::view::RunView;
use crate::engine::{self, drill, FailedStep, Header, Spec};
use crate::error::{Ending, Error, Exit};
use crate::report::{self, Console, Format, Terminal};
use crate::state::State;
use crate::steps::Action;

pub(super) struct DrillArgs<'a> {
    pub playbook: &'a PlaybookArgs,
    pub soak: Duration,
    pub every: Duration,
    pub dry: bool,
    pub report: Option<&'a Path>,
    pub notify: Option<&'a str>,
    pub yes: bool,
    pub guards: &'a GuardArgs,
    pub account: &'a AccountArgs,
    pub force_unlock: Option<&'a str>,
    pub evidence: &'a crate::cli::EvidenceArgs,
}

/// Where a drill's report goes when it ends.
#[derive(Clone, Default)]
pub(super) struct Outputs {
    pub report: Option<PathBuf>,
    pub notify: Option<String>,
    /// Where its evidence is uploaded.
    pub evidence: Option<crate::playbook::EvidenceTarget>,
}

impl Outputs {
    /// Where a drill finished by `resume` or `rollback` writes its reports: `report`, else
    /// where it was started with (`--report`), checked as a new drill's are.
    pub fn report_dir(view: &RunView, report: Option<&Path>) -> Result<Option<PathBuf>, String> {
        let journaled = view.drill.as_ref().and_then(|d| d.report_dir.as_deref());
        report
            .or(journaled.map(Path::new))
            .map(super::reports::ready)
            .transpose()
    }
}

pub(super) async fn drill(cli: &Cli, args: DrillArgs<'_>) -> Result<Ending, Error> {
    let pb = super::load(args.playbook)?;
    if args.every.is_zero() {
        return Err(Error::Usage(
            "`--every` must be longer than 0s: it is how often the gates are checked during the soak".into(),
        ));
    }
    if args.dry {
        if args.report.is_some() || args.notify.is_some() {
            return Err(Error::Usage(
                "`drill --dry` changes nothing and reports no drill: `--report` and `--notify` are for a drill that runs (use `--output json` for what --dry found)".into(),
            ));
        }
        return super::dry::dry(cli, &pb, args.guards, args.account).await;
    }
    // Where the reports go is checked before anything changes: found only at the end, a
    // directory that cannot take them would cost the drill's outcome.
    let report_dir = args
        .report
        .map(super::reports::ready)
        .transpose()
        .map_err(|e| Error::Usage(format!("--report: {e}; nothing was called")))?;
    if let Err(refused) = super::doctor::refuse(&pb, args.account).await {
        // A scheduled drill refused for the account's sake must not end in silence.
        if let Some(url) = args.notify {
            let body = serde_json::json!({
                "text": format!("standin drill of {} did not start: {refused}", pb.name),
                "kind": "drill",
                "playbook": pb.name,
                "exit_code": refused.exit().code(),
            });
            if let Err(e) = report::notify::post(url, &body).await {
                report::warn(&format!("warning: {e}"));
            }
        }
        return Err(refused);
    }
    let cli = &super::with_state_of(cli, &pb);
    let state = super::state(cli).await?;
    let lock = state
        .lock(
            &format!("standin drill {}", args.playbook.playbook.display()),
            args.force_unlock,
        )
        .await?;
    let terminal = Terminal::default();
    let ctx = super::playbook_context(&pb, args.yes, &terminal).await;
    let forced = args.guards.forced();
    let plan = super::run::reviewed_plan(cli, &pb, &ctx, &forced, args.yes).await;
    let spec = DrillSpec {
        recovery: pb.recovery.clone(),
        rto_target_secs: pb.rto_target.map(|d| d.as_secs_f64()),
        soak_secs: args.soak.as_secs_f64(),
        every_secs: args.every.as_secs_f64(),
        report_dir: report_dir.as_ref().map(|d| d.display().to_string()),
        notify_origin: args.notify.map(crate::escape::origin),
    };
    let principals = super::principals(&ctx).await;
    let header = |snapshot| Header {
        by: Some(State::who()),
        principals: principals.clone(),
        warnings: plan
            .warnings
            .iter()
            .cloned()
            .chain(plan.steps.iter().flat_map(|s| s.warnings.iter().cloned()))
            .collect(),
        plan_sha256: Some(plan.sha256()),
        drill: Some((spec.clone(), snapshot)),
    };
    let outputs = Outputs {
        report: report_dir.clone(),
        notify: args.notify.map(str::to_owned),
        evidence: super::evidence::target(args.evidence, Some(&pb)),
    };
    // Ended before any change: journaled all the same, so that its reports (a scheduled
    // drill's JUnit file) say why and `history` lists it.
    if let Some(error) = super::run::refusal(&plan) {
        report::warn(&error.to_string());
        let run_id = State::new_run_id();
        let mut journal = state.create_journal(&run_id, &lock).await?;
        super::keep_plan(&state, &run_id, &plan).await;
        engine::refused(
            &pb,
            &mut journal,
            &run_id,
            header(Vec::new()),
            &unplanned(&plan),
        )?;
        return conclude(cli, &state, &mut journal, &outputs, false).await;
    }
    let snapshot = drill::snapshot(&plan);
    super::confirm(
        args.yes,
        &format!(
            "This drill changes live resources as planned above, holds them for {}, then puts them back, for playbook `{}`.",
            humantime::format_duration(args.soak),
            pb.name
        ),
        &pb.name,
    )?;
    let run_id = State::new_run_id();
    let mut journal = state.create_journal(&run_id, &lock).await?;
    super::keep_plan(&state, &run_id, &plan).await;
    if cli.output == Format::Human {
        report::detail(&format!(
            "\nDrill {run_id} (journal: {})\n",
            journal.location()
        ));
    }
    let header = header(snapshot);
    let mut console = Console::new(cli.output, terminal);
    let run = Spec {
        playbook: &pb,
        expected: &plan,
        forced: &forced,
    };
    let ctx = super::with_stop(ctx, super::run::stop());
    let ctx = super::with_desk(
        cli,
        &pb,
        ctx,
        &run_id,
        Some(plan.sha256()),
        &principals,
        None,
    )
    .await?;
    let lived = Life {
        playbook: Some(&pb),
        ctx: &ctx,
        journal: &mut journal,
        obs: &mut console,
    }
    .live(Begin::Run {
        spec: &run,
        run_id: &run_id,
        header: Box::new(header),
    })
    .await?;
    shown(cli, &run_id, &lived);
    conclude(cli, &state, &mut journal, &outputs, false).await
}

/// What stopped a drill before any change, by step: each step that could not be planned, or
/// the guards that refuse the plan, at its first step that changes something (where a run
/// would stop).
fn unplanned(plan: &PlanDoc) -> Vec<FailedStep> {
    let failed: Vec<FailedStep> = plan
        .steps
        .iter()
        .filter_map(|s| {
            Some(FailedStep {
                step: s.id.clone(),
                error: format!("cannot be planned: {}", s.error.as_ref()?),
            })
        })
        .collect();
    if !failed.is_empty() {
        return failed;
    }
    let changing = plan
        .steps
        .iter()
        .find(|s| s.changes.iter().any(|c| c.action != Action::Keep))
        .or(plan.steps.first());
    changing
        .map(|s| FailedStep {
            step: s.id.clone(),
            error: format!(
                "refused before any change: {}",
                super::run::blocking(plan).join("; ")
            ),
        })
        .into_iter()
        .collect()
}

/// Shows what a drill's life in this process leaves for a person to read before the drill's
/// report: the run's end when its steps did not all run (what to do next: resume, rollback,
/// the commands a human needs), a rollback that left work or could not be journaled, a
/// restore that could not be verified. How the drill ended is its report's to say (see
/// [`conclude`]).
pub(super) fn shown(cli: &Cli, run: &str, lived: &Lived) {
    let human = cli.output == Format::Human;
    let flag = super::state_flag(cli);
    if let Some(ran) = &lived.steps {
        let told = match ran.outcome {
            Outcome::Succeeded => false,
            Outcome::RolledBack => ran.unjournaled.is_some(),
            _ => true,
        };
        if told && human {
            super::run::finish(cli, ran);
        }
    }
    if let Some(restore) = &lived.rollback {
        let incomplete = restore.outcome == Outcome::RollbackIncomplete;
        if (incomplete || restore.unjournaled.is_some()) && human {
            report::outcome(&format!("\n{}", report::human_report(restore, &flag)));
        }
    }
    if let Some(Unverified {
        why,
        unread,
        changed,
    }) = &lived.unverified
    {
        report::warn(&format!(
            "warning: the restore of drill {run} is not verified: {why}, and the playbook here does not plan {unread} of the {changed} resource(s) the drill changed; `standin{flag} resume {run}` with the playbook and --var values the drill ran with verifies it and writes its report"
        ));
    }
}

/// Ends a drill: builds its report from the journal's view as this process holds it (the records
/// a journal that stopped taking writes could not take folded in too), shows it, writes and
/// posts it, and says how it ended: as the report says, unless the journal is behind (and
/// `by_rollback`: `standin rollback` put it back).
pub(super) async fn conclude(
    cli: &Cli,
    state: &State,
    journal: &mut Journal,
    outputs: &Outputs,
    by_rollback: bool,
) -> Result<Ending, Error> {
    let view = journal.view().map_err(engine::EngineError::from)?.clone();
    let run_id = view.run_id.as_str();
    // The journal as this process wrote it: its lines and chain are its own.
    let sealed = journal.seal().map(|(lines, tip)| crate::evidence::Sealed {
        lines,
        last_sha256: tip,
        broken: None,
    });
    let mut doc = super::reports::document_of(state, &view, sealed).await?;
    // What the journal is missing: this report, not the journal, says how the drill ended.
    let behind = journal.broken().map(|why| {
        format!(
            "THE JOURNAL IS BEHIND: {} stopped taking writes ({why}); this report is made from what the drill's process held. Once the state can be written again, run `standin{} rollback {run_id}`: it finds what is already back, records it, and undoes what is not.",
            journal.location(),
            super::state_flag(cli)
        )
    });
    if let Some(behind) = &behind {
        doc.warnings.push(behind.clone());
        doc.exit_code = Exit::of(Ending::ended(doc.outcome, true)).code();
    }
    match cli.output {
        Format::Json => report::print_json(&doc),
        Format::Human => report::headline(&format!(
            "\n{}",
            report::human_drill(&doc, &super::state_flag(cli))
        )),
    }
    // On stderr, which `-q` keeps, as it keeps the exit code this sets.
    if let Some(behind) = &behind {
        report::warn(behind);
    }
    if let Some(dir) = &outputs.report {
        match super::reports::write(&doc, dir, &crate::report::ReportFormat::ALL) {
            Ok(()) => report::warn(&format!("Reports written to {}", dir.display())),
            Err(e) => report::warn(&format!(
                "warning: {e}; the drill's outcome is as above (`standin{} report {run_id} --dir DIR` writes the reports again)",
                super::state_flag(cli)
            )),
        }
    }
    if let Some(target) = &outputs.evidence {
        super::evidence::upload(state, &doc, target).await;
    }
    if let Some(url) = &outputs.notify {
        if let Err(e) = report::notify(url, &doc).await {
            report::warn(&format!(
                "warning: {e} (the drill's outcome is not affected)"
            ));
        }
    }
    Ok(Ending::Ended {
        verdict: doc.outcome,
        behind: behind.is_some(),
        by_rollback,
    })
}
