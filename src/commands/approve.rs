//! `standin approve`: answers a run waiting at an `approval` step, as the principal of the
//! caller's own credentials, after showing what it approves (see [`crate::approval`]).

use std::time::SystemTime;

use crate::approval::{self, Answer, Decision, Request};
use crate::aws::identity;
use crate::cli::Cli;
use crate::config::AwsSettings;
use crate::engine::plan::PlanDoc;
use crate::engine::view::StepState;
use crate::error::{Ending, Error};
use crate::report::{self, Format};
use crate::steps::approval::Approval;
use crate::steps::Kind;

pub(super) async fn approve(
    cli: &Cli,
    run_id: &str,
    deny: bool,
    reason: Option<&str>,
    yes: bool,
) -> Result<Ending, Error> {
    let state = super::state(cli).await?;
    let run_id = super::status::resolve(&state, Some(run_id)).await?;
    let view = state.view(&run_id).await?;
    let unanswered = |why: String| Error::Unanswered(why);
    let read = |e: std::io::Error| unanswered(format!("cannot read run {run_id}: {e}"));
    // The approval step it waits at: started, not ended, its request filed.
    let step = view
        .steps
        .iter()
        .filter(|s| s.kind == Approval::NAME && s.state == StepState::StoppedWaiting)
        .map(|s| s.id.clone())
        .next()
        .filter(|_| view.outcome.is_none())
        .ok_or_else(|| unanswered(format!("run {run_id} is not waiting for an approval")))?;
    let names = state
        .kept_in(&run_id, &approval::dir(&step))
        .await
        .map_err(read)?;
    let Some(newest) = approval::newest_request(&names) else {
        return Err(unanswered(format!(
            "run {run_id} has not asked for approval yet"
        )));
    };
    let request: Request = match state
        .kept(&run_id, &format!("{}/{newest}", approval::dir(&step)))
        .await
        .map_err(read)?
    {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| unanswered(format!("its request is not readable ({e})")))?,
        None => {
            return Err(unanswered(format!(
                "run {run_id} has not asked for approval yet"
            )))
        }
    };
    let until = humantime::parse_rfc3339_weak(&request.until).map_err(|_| {
        unanswered(format!(
            "its request's time `{}` does not read",
            request.until
        ))
    })?;
    if until < SystemTime::now() {
        return Err(unanswered(format!(
            "the request expired at {}",
            request.until
        )));
    }
    // What is approved is the plan the run is held to: its digest is the request's.
    let plan_bytes = state
        .kept(&run_id, "plan.json")
        .await
        .map_err(read)?
        .ok_or_else(|| unanswered("the run kept no plan to approve".into()))?;
    let digest = {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(&plan_bytes))
    };
    if request.plan_sha256.as_deref() != Some(digest.as_str()) {
        return Err(unanswered(
            "the plan kept beside the journal is not the one the run asks approval for".into(),
        ));
    }
    let plan: PlanDoc = serde_json::from_slice(&plan_bytes)
        .map_err(|e| unanswered(format!("its plan is not readable ({e})")))?;
    if cli.output == Format::Human {
        report::for_review(&plan.human(), yes);
        report::print(&format!(
            "\nRun {run_id} of playbook `{}` asks for {} approval{} at step `{step}`, until {}: run by {}{}.\n",
            request.playbook,
            request.count,
            if request.count == 1 { "" } else { "s" },
            request.until,
            request.runners.join(", "),
            request
                .os_user
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default()
        ));
    }
    let decision = if deny {
        Decision::Deny
    } else {
        Decision::Approve
    };
    super::confirm(
        yes,
        &if deny {
            "Deny this run? It stops at the approval.".to_owned()
        } else {
            "Approve this run as planned above?".to_owned()
        },
        &request.playbook,
    )?;
    let config = crate::aws::config(&AwsSettings::default()).await;
    let caller = crate::aws::iam::caller(&config)
        .await
        .map_err(|e| unanswered(format!("STS cannot say who you are: {e}")))?;
    if request
        .runners
        .iter()
        .any(|r| approval::same_person(r, &caller.arn))
    {
        return Err(unanswered(format!(
            "you ({}) are running this run; another person must answer it, with their own credentials",
            caller.arn
        )));
    }
    // Answered already since this request: the run counts one answer per principal.
    let asked = newest
        .trim_start_matches("request-")
        .trim_end_matches(".json")
        .to_owned();
    let prefix = approval::answer_prefix(&caller.arn);
    if names.iter().any(|n| {
        n.strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".json"))
            .is_some_and(|at| at >= asked.as_str())
    }) {
        return Err(unanswered(format!(
            "{} answered this request already",
            caller.arn
        )));
    }
    let purpose = approval::purpose(&run_id, &step, decision, request.plan_sha256.as_deref());
    let proof = identity::prove(&config, &purpose)
        .await
        .map_err(|e| unanswered(format!("cannot prove who you are: {e}")))?;
    let answer = Answer {
        decision,
        reason: reason.map(str::to_owned),
        run_id: run_id.clone(),
        step: step.clone(),
        plan_sha256: request.plan_sha256.clone(),
        arn: caller.arn.clone(),
        os_user: Some(crate::state::State::who()),
        at: crate::engine::record::now(),
        proof,
    };
    let filed = approval::file(&state, &answer)
        .await
        .map_err(|e| unanswered(format!("cannot write the answer: {e}")))?;
    if !filed {
        return Err(unanswered(format!(
            "{} answered this request already (at this very millisecond)",
            caller.arn
        )));
    }
    match cli.output {
        Format::Json => report::print_json(&serde_json::json!({
            "run_id": run_id,
            "step": step,
            "decision": decision,
            "arn": caller.arn,
        })),
        Format::Human => report::outcome(&format!(
            "{} run {run_id} at step `{step}` as {}; the run counts it within seconds.\n",
            if deny { "Denied" } else { "Approved" },
            caller.arn
        )),
    }
    Ok(Ending::Done)
}
