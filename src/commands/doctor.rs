//! `standin doctor`: the accounts' own health ([`crate::doctor`]) and, with a playbook, whether
//! it is ready to fail over: what `drill --dry` would find in the way, and how long ago it last
//! passed a drill against its `drill_every:`. Also the blocker checks `run` and `drill` make
//! before anything else ([`blockers`]).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;

use crate::cli::{AccountArgs, Cli, GuardArgs, PlaybookArgs};
use crate::config::AwsSettings;
use crate::doctor::{self, Depth, Finding, Severity};
use crate::engine::plan::PlanDoc;
use crate::error::{Ending, Error};
use crate::playbook::Playbook;
use crate::report::{self, Format};
use crate::steps::Resource;

pub(super) struct DoctorArgs<'a> {
    pub playbook: Option<&'a PathBuf>,
    pub vars: &'a [(String, String)],
    pub notify: Option<&'a str>,
}

/// What `doctor --output json` prints.
#[derive(Serialize)]
struct Checked<'a> {
    /// The playbook's name; none when the current account was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    playbook: Option<&'a str>,
    findings: &'a [Finding],
    blockers: usize,
    warnings: usize,
    notes: usize,
}

pub(super) async fn doctor(cli: &Cli, args: DoctorArgs<'_>) -> Result<Ending, Error> {
    let pb = args
        .playbook
        .map(|path| {
            super::load(&PlaybookArgs {
                playbook: path.clone(),
                vars: args.vars.to_vec(),
            })
        })
        .transpose()?;
    let mut findings = Vec::new();
    let mut resources = BTreeSet::new();
    if let Some(pb) = &pb {
        let evaluation = super::dry::evaluate(pb, &GuardArgs::default()).await;
        resources = touched(&evaluation.plan);
        findings.extend(evaluation.blockers.iter().map(|blocker| {
            finding(
                "not-ready",
                Severity::Warning,
                blocker.clone(),
                "a drill, or the failover itself, would stop here before it changes anything",
                format!("`standin drill --dry {}` says more", pb.path.display()),
            )
        }));
        findings.extend(evaluation.warnings.iter().map(|warning| {
            finding(
                "rto-at-risk",
                Severity::Warning,
                warning.clone(),
                "a drill, or the failover, would bring clients back later than the playbook's `rto_target`",
                "lower the TTL days ahead, as the line says",
            )
        }));
        findings.extend(last_drill(cli, pb).await);
    }
    let default = AwsSettings::default();
    let accounts: Vec<doctor::Account<'_>> = match &pb {
        Some(pb) => super::accounts(pb).collect(),
        None => vec![(None, &default)],
    };
    findings.extend(doctor::check(&accounts, Depth::Full, &resources).await);
    findings.sort_by_key(|f| f.severity);
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let checked = Checked {
        playbook: pb.as_ref().map(|p| p.name.as_str()),
        findings: &findings,
        blockers: count(Severity::Blocker),
        warnings: count(Severity::Warning),
        notes: count(Severity::Note),
    };
    match cli.output {
        Format::Json => report::print_json(&checked),
        Format::Human => report::print(&human(&checked)),
    }
    if let Some(url) = args.notify {
        let body = serde_json::json!({
            "text": summary(&checked),
            "playbook": checked.playbook,
            "findings": checked.findings,
        });
        if let Err(e) = report::notify::post(url, &body).await {
            report::warn(&format!("warning: {e}"));
        }
    }
    Ok(Ending::Findings {
        blockers: checked.blockers > 0,
        warnings: checked.warnings > 0,
    })
}

/// A finding of the playbook itself (not of an account).
fn finding(
    id: &str,
    severity: Severity,
    what: impl Into<String>,
    why: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    doctor::Found::new(id, severity, what, why, fix).placed("playbook", None)
}

/// The playbook's last passing drill against its `drill_every:`.
async fn last_drill(cli: &Cli, pb: &Playbook) -> Vec<Finding> {
    let cli = super::with_state_of(cli, pb);
    let last = match super::state(&cli).await {
        Ok(state) => super::reports::last_passed(&state, pb).await,
        Err(e) => Err(e.to_string()),
    };
    let last = match last {
        Ok(last) => last,
        Err(why) => {
            return vec![finding(
                "unread:drills",
                Severity::Note,
                "could not read the playbook's past drills",
                why,
                "give the state the drills are kept in (`--state`)",
            )]
        }
    };
    let Some(every) = pb.drill_every else {
        return vec![finding(
            "no-drill-every",
            Severity::Note,
            "the playbook says no `drill_every:`",
            "a failover no one has rehearsed lately is a failover done by hand under pressure, as in the incident",
            "add `drill_every: 30d` and schedule `standin drill` (examples/schedule/)",
        )];
    };
    let every_text = humantime::format_duration(every).to_string();
    match last {
        None => vec![finding(
            "never-drilled",
            Severity::Warning,
            format!(
                "the playbook has no passing drill in this state (`drill_every: {every_text}`)"
            ),
            "a playbook that was never rehearsed end to end is not known to work",
            format!(
                "run `standin drill {}` (examples/schedule/ runs it on a schedule)",
                pb.path.display()
            ),
        )],
        Some((run_id, ended)) => {
            let age = SystemTime::now().duration_since(ended).unwrap_or_default();
            if age <= every {
                return Vec::new();
            }
            vec![finding(
                "drill-overdue",
                Severity::Warning,
                format!(
                    "the last passing drill ({run_id}) was {} ago, more than `drill_every: {every_text}`",
                    humantime::format_duration(std::time::Duration::from_secs(age.as_secs()))
                ),
                "the account and the playbook change between drills; what passed then may not pass now",
                format!("run `standin drill {}`", pb.path.display()),
            )]
        }
    }
}

/// The names and ids a plan acts on, as AWS Health's affected entities may name them.
fn touched(plan: &PlanDoc) -> BTreeSet<String> {
    plan.steps
        .iter()
        .flat_map(|s| &s.changes)
        .filter_map(|c| match &c.resource {
            Resource::Property { environment, .. }
            | Resource::EnvOption { environment, .. }
            | Resource::Cname { environment }
            | Resource::Environment { name: environment } => Some(environment.clone()),
            Resource::ListenerCertificate { load_balancer, .. } => Some(load_balancer.clone()),
            Resource::Parameter { name } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The blockers `run` and `drill` stop on (forced ones aside), from a few reads of each
/// account at once; a forced id that matches no blocker is said, and changes nothing.
pub(super) async fn blockers(pb: &Playbook, args: &AccountArgs) -> Vec<Finding> {
    let accounts: Vec<doctor::Account<'_>> = super::accounts(pb).collect();
    let found = doctor::check(&accounts, Depth::Blockers, &BTreeSet::new()).await;
    // A check that could not be made is said: the run goes on without it, knowingly.
    for f in found.iter().filter(|f| f.id.starts_with("unread:")) {
        report::warn(&format!(
            "warning: account {}: {}; going ahead without that check",
            f.account_id.as_deref().unwrap_or(&f.account),
            f.what
        ));
    }
    let found: Vec<Finding> = found
        .into_iter()
        .filter(|f| f.severity == Severity::Blocker)
        .collect();
    let forced = args.forced();
    for id in doctor::unknown_forced(&forced, &found) {
        if id != "root-caller" || !args.allow_root {
            report::warn(&format!(
                "warning: `--force-blocker {}` matches no blocker found; it changes nothing",
                crate::escape::value(id)
            ));
        }
    }
    let (overruled, left): (Vec<Finding>, Vec<Finding>) =
        found.into_iter().partition(|f| forced.contains(&f.id));
    for f in &overruled {
        report::warn(&format!(
            "warning: going ahead although {} (forced)",
            refusal(f)
        ));
    }
    left
}

/// Refuses to go on when [`blockers`] finds one.
pub(super) async fn refuse(pb: &Playbook, args: &AccountArgs) -> Result<(), Error> {
    let found = blockers(pb, args).await;
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::AccountBlocked(found.iter().map(refusal).collect()))
}

/// A blocker as one line: where, what, and its id.
pub(super) fn refusal(f: &Finding) -> String {
    let account = f.account_id.as_deref().unwrap_or(&f.account);
    format!("[{}] account {}: {}", f.id, account, f.what)
}

fn human(c: &Checked<'_>) -> String {
    let mut out = match c.playbook {
        Some(name) => format!("standin doctor: playbook `{name}`\n\n"),
        None => "standin doctor: the current account\n\n".to_owned(),
    };
    for f in c.findings {
        let account = match &f.account_id {
            Some(id) if f.account != "playbook" => format!("{} ({id})", f.account),
            _ => f.account.clone(),
        };
        out.push_str(&format!(
            "{:<8} {} [{}]: {}\n         why: {}\n         fix: {}\n",
            f.severity.word(),
            account,
            f.id,
            f.what,
            f.why,
            f.fix
        ));
    }
    out.push_str(&format!("\n{}\n", summary(c)));
    out
}

fn summary(c: &Checked<'_>) -> String {
    let verdict = if c.blockers > 0 {
        "`run` and `drill` would refuse to start"
    } else if c.warnings > 0 {
        "fix the warnings before the bad day"
    } else {
        "nothing to fix"
    };
    format!(
        "standin doctor{}: {} blocker(s), {} warning(s), {} note(s): {verdict}",
        c.playbook.map(|p| format!(" of {p}")).unwrap_or_default(),
        c.blockers,
        c.warnings,
        c.notes
    )
}
