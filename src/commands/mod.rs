//! One function per subcommand; they share loading, planning and confirmation.

mod approve;
mod doctor;
mod drill;
mod dry;
mod evidence;
mod init;
mod manual;
mod plan;
mod reports;
mod resume;
mod rollback;
mod run;
mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::aws;
use crate::config::{Accounts, AwsSettings, DEFAULT_ACCOUNT};
use crate::stop::Waits;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, PlaybookArgs};
use crate::config::Location;
use crate::error::{Ending, Error, Exit};
use crate::playbook::{self, Playbook};
use crate::report::{self, Format, Terminal};
use crate::state::State;
use crate::steps::{Ctx, Kind, KINDS};
use crate::stop::{Heard, Stop};

/// Parses the command line, runs the command, and turns the result into an exit code.
pub fn main() -> ExitCode {
    forget_empty_endpoints();
    let cli = Cli::parse();
    crate::report::color::choose(cli.color);
    crate::report::set_quiet(cli.quiet);
    crate::log::set_verbose(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            crate::report::warn(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(Exit::of(Ending::NoRuntime).code());
        }
    };
    match runtime.block_on(dispatch(&cli)) {
        Ok(ending) => ExitCode::from(Exit::of(ending).code()),
        Err(e) => {
            print_error(&e);
            ExitCode::from(e.exit().code())
        }
    }
}

/// An endpoint variable set to nothing (`AWS_ENDPOINT_URL=`, or a service's own, as a CI
/// template that expands an unset value leaves it) means no override, as an unset one does;
/// the SDK would take it for a URL and fail on every call. Called before any thread starts,
/// which is when the environment may be changed.
fn forget_empty_endpoints() {
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(name, value)| {
            name.to_str()
                .is_some_and(|n| n.starts_with("AWS_ENDPOINT_URL"))
                && value.to_str().is_some_and(|v| v.trim().is_empty())
        })
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        std::env::remove_var(name);
    }
}

fn print_error(err: &Error) {
    crate::report::warn(&format!("error: {err}"));
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if !err.to_string().contains(&cause.to_string()) {
            crate::report::warn(&format!("  caused by: {cause}"));
        }
        source = cause.source();
    }
}

pub async fn dispatch(cli: &Cli) -> Result<Ending, Error> {
    match &cli.command {
        Command::Validate(args) => validate(cli, args),
        Command::Plan {
            playbook,
            out,
            guards,
        } => plan::plan(cli, playbook, out.as_deref(), guards).await,
        Command::Run {
            playbook,
            vars,
            plan,
            yes,
            guards,
            account,
            unlock,
            notify,
            evidence,
        } => {
            let args = run::RunArgs {
                playbook: playbook.as_ref(),
                vars,
                plan: plan.as_ref(),
                yes: *yes,
                guards,
                account,
                force_unlock: unlock.force_unlock.as_deref(),
                evidence,
                notify: notify.as_deref(),
            };
            run::run(cli, args).await
        }
        Command::Rollback {
            run_id,
            last: _,
            yes,
            force,
            unlock,
            notify,
            evidence,
        } => {
            let args = rollback::RollbackArgs {
                run_id: run_id.as_deref(),
                yes: *yes,
                force: *force,
                force_unlock: unlock.force_unlock.as_deref(),
                evidence,
                notify: notify.as_deref(),
            };
            rollback::rollback(cli, args).await
        }
        Command::Resume {
            run_id,
            vars,
            yes,
            report,
            notify,
            guards,
            unlock,
        } => {
            let args = resume::ResumeArgs {
                run_id: run_id.as_deref(),
                vars,
                yes: *yes,
                outputs: (report.as_deref(), notify.as_deref()),
                guards,
                force_unlock: unlock.force_unlock.as_deref(),
            };
            resume::resume(cli, args).await
        }
        Command::Drill {
            playbook,
            soak,
            every,
            dry,
            report,
            notify,
            yes,
            guards,
            account,
            unlock,
            evidence,
        } => {
            let args = drill::DrillArgs {
                playbook,
                soak: *soak,
                every: *every,
                dry: *dry,
                report: report.as_deref(),
                notify: notify.as_deref(),
                yes: *yes,
                guards,
                account,
                force_unlock: unlock.force_unlock.as_deref(),
                evidence,
            };
            drill::drill(cli, args).await
        }
        Command::Doctor {
            playbook,
            vars,
            notify,
        } => {
            let args = doctor::DoctorArgs {
                playbook: playbook.as_ref(),
                vars,
                notify: notify.as_deref(),
            };
            doctor::doctor(cli, args).await
        }
        Command::Report {
            run_id,
            format,
            dir,
            evidence,
        } => reports::report(cli, run_id.as_deref(), format, dir, evidence).await,
        Command::Approve {
            run_id,
            deny,
            reason,
            yes,
        } => approve::approve(cli, run_id, *deny, reason.as_deref(), *yes).await,
        Command::VerifyEvidence { target, playbook } => {
            evidence::verify(cli, target, playbook.as_deref()).await
        }
        Command::History { playbook } => reports::history(cli, playbook.as_deref()).await,
        Command::Status { run_id } => status::status(cli, run_id.as_deref()).await,
        Command::IamPolicy {
            playbook,
            vars,
            phase,
            account,
        } => {
            let playbook = match (phase, playbook, account) {
                (crate::iam::Phase::Init, None, None) => {
                    report::print_json(&init::policy().await);
                    return Ok(Ending::Done);
                }
                (crate::iam::Phase::Doctor, None, None) => {
                    let region = aws::region(&AwsSettings::default()).await;
                    let partition = crate::iam::partition(region.as_deref());
                    let needs = [("doctor", crate::doctor::needs(crate::doctor::Depth::Full))];
                    report::print_json(&crate::iam::policy(&needs, *phase, |arn| {
                        arn.render(partition, None)
                    }));
                    return Ok(Ending::Done);
                }
                (crate::iam::Phase::Init, _, _) => {
                    return Err(Error::Usage(
                        "`--for init` takes no playbook and no --account: init reads the account of the standard chain".into(),
                    ))
                }
                (_, Some(playbook), _) => PlaybookArgs {
                    playbook: playbook.clone(),
                    vars: vars.clone(),
                },
                (_, None, _) => {
                    return Err(Error::Usage(
                        "give the playbook whose policy to print (only `--for init` and `--for doctor` take none)"
                            .into(),
                    ))
                }
            };
            let pb = load(&playbook)?;
            match account.as_deref() {
                None if !pb.accounts.is_empty() => {
                    let mut all = std::collections::BTreeMap::new();
                    for (name, aws) in accounts(&pb) {
                        all.insert(
                            name.unwrap_or(DEFAULT_ACCOUNT),
                            policy(&pb, *phase, name, aws).await,
                        );
                    }
                    report::print_json(&all);
                }
                None | Some(DEFAULT_ACCOUNT) => {
                    report::print_json(&policy(&pb, *phase, None, &pb.aws).await);
                }
                Some(name) if pb.accounts.contains_key(name) => {
                    let aws = &pb.accounts[name];
                    report::print_json(&policy(&pb, *phase, Some(name), aws).await);
                }
                Some(name) => {
                    return Err(Error::Usage(format!(
                        "the playbook has no account `{}`; it has {}",
                        crate::escape::value(name),
                        accounts(&pb)
                            .map(|(n, _)| format!("`{}`", n.unwrap_or(DEFAULT_ACCOUNT)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            }
            Ok(Ending::Done)
        }
        Command::Kinds => {
            kinds(cli.output);
            Ok(Ending::Done)
        }
        Command::Init {
            dir,
            prod,
            staging,
            yes,
            force,
        } => {
            let args = init::InitArgs {
                dir,
                only: prod.as_deref().zip(staging.as_deref()),
                yes: *yes,
                force: *force,
            };
            init::init(cli, args).await
        }
        Command::Schema => {
            report::print_json(&playbook::schema());
            Ok(Ending::Done)
        }
        Command::Completions { shell } => manual::completions(*shell),
        Command::Man { dir } => manual::man(dir.as_deref()),
    }
}

/// The least-privilege policy a playbook needs in `account` (`None`: its `aws:`), its ARNs
/// in the partition of that account's region.
async fn policy(
    pb: &Playbook,
    phase: crate::iam::Phase,
    account: Option<&str>,
    settings: &AwsSettings,
) -> crate::iam::Policy {
    let partition = crate::iam::partition(aws::region(settings).await.as_deref());
    crate::iam::policy(&needs(pb, account, phase), phase, |arn| {
        arn.render(partition, None)
    })
}

/// What a playbook needs in `account` (`None`: its `aws:`) for `phase`: the steps that act
/// there, the built-in guards' reads, which look in every account, and for a drill what
/// `drill --dry` calls there.
fn needs<'p>(
    pb: &'p Playbook,
    account: Option<&str>,
    phase: crate::iam::Phase,
) -> Vec<(&'p str, crate::iam::Needs)> {
    let all: Vec<crate::iam::Needs> = pb.steps.iter().map(|s| s.step.needs()).collect();
    let guards = crate::guards::needs(&all.iter().collect::<Vec<_>>());
    let mut needs: Vec<(&str, crate::iam::Needs)> = pb
        .steps
        .iter()
        .zip(all.iter().cloned())
        .filter(|(s, _)| s.account.as_deref() == account)
        .map(|(s, needs)| (s.id.as_str(), needs))
        .collect();
    needs.push(("built-in guards", guards));
    needs.push(("coverage", crate::coverage::needs()));
    let doctor = match phase {
        crate::iam::Phase::Doctor => Some(crate::doctor::Depth::Full),
        crate::iam::Phase::Run | crate::iam::Phase::Drill => Some(crate::doctor::Depth::Blockers),
        crate::iam::Phase::Plan | crate::iam::Phase::Init => None,
    };
    if let Some(depth) = doctor {
        needs.push(("account checks", crate::doctor::needs(depth)));
    }
    // `doctor` makes `drill --dry`'s checks of the playbook.
    if matches!(phase, crate::iam::Phase::Drill | crate::iam::Phase::Doctor) {
        needs.push(("drill --dry", dry::needs()));
    }
    // A role is assumed with its account's profile (or the standard chain): the playbook's
    // own principal's, when that profile is `aws:`'s and `aws:` assumes no role itself.
    let roles: Vec<crate::iam::Arn> = pb
        .accounts
        .values()
        .filter(|a| a.profile == pb.aws.profile)
        .filter_map(|a| a.role_arn.clone().map(crate::iam::Arn::Given))
        .collect();
    if account.is_none() && pb.aws.role_arn.is_none() && !roles.is_empty() {
        let assume = crate::iam::Grant::new(&["sts:AssumeRole"], roles);
        needs.push((
            "accounts",
            crate::iam::Needs {
                plan: vec![assume],
                run: Vec::new(),
            },
        ));
    }
    needs
}

/// Every account a playbook acts in, its own (`None`) first, with its settings.
fn accounts(pb: &Playbook) -> impl Iterator<Item = (Option<&str>, &AwsSettings)> {
    std::iter::once((None, &pb.aws)).chain(
        pb.accounts
            .iter()
            .map(|(name, settings)| (Some(name.as_str()), settings)),
    )
}

fn load(args: &PlaybookArgs) -> Result<Playbook, Error> {
    Ok(playbook::load(&args.playbook, &args.vars)?)
}

fn validate(cli: &Cli, args: &PlaybookArgs) -> Result<Ending, Error> {
    let pb = load(args)?;
    let warnings = pb.warnings_text();
    match cli.output {
        Format::Json => report::print_json(&serde_json::json!({
            "valid": true,
            "playbook": pb.name,
            "steps": pb.steps.iter().map(|s| serde_json::json!({"id": s.id, "kind": s.kind.name})).collect::<Vec<_>>(),
            "warnings": warnings,
        })),
        Format::Human => warnings.iter().for_each(|w| report::warn(w)),
    }
    if cli.output == Format::Human {
        report::line(&format!(
            "{}: valid playbook `{}` with {} steps",
            args.playbook.display(),
            pb.name,
            pb.steps.len()
        ));
    }
    Ok(Ending::Done)
}

fn kinds(format: Format) {
    match format {
        Format::Json => report::print_json(
            &KINDS
                .iter()
                .map(|k| {
                    serde_json::json!({"kind": k.name, "summary": k.summary,
                                       "changes_nothing": k.changes_nothing})
                })
                .collect::<Vec<_>>(),
        ),
        Format::Human => {
            for k in KINDS {
                report::line(&format!("{:<22} {}", k.name, k.summary));
            }
        }
    }
}

/// Builds the clients (no network call happens here) and the step context.
async fn context(
    (aws, accounts): (&AwsSettings, &Accounts),
    assume_yes: bool,
    terminal: &Terminal,
    stop: Stop,
) -> Ctx {
    let waits = Waits {
        every: Duration::from_secs(5),
        stop,
        told: Default::default(),
    };
    Ctx::new(
        aws::Accounts::load(aws, accounts).await,
        waits,
        assume_yes,
        Arc::new(terminal.clone()),
    )
}

/// The context of a command that has the playbook (not yet listening for signals).
async fn playbook_context(pb: &Playbook, assume_yes: bool, terminal: &Terminal) -> Ctx {
    context(
        (&pb.aws, &pb.accounts),
        assume_yes,
        terminal,
        Stop::default(),
    )
    .await
}

/// Signal handling from now on: the first signal is acknowledged with `then`; once a rollback
/// started, each one is acknowledged as not stopping it.
fn signals(then: &'static str) -> Stop {
    Stop::on_signals(move |signal, heard| {
        let then = match heard {
            Heard::First => then,
            Heard::InRollback => "the rollback goes on: once started, it ends only when everything is put back or left for a human, with what to do (SIGKILL would stop it; `standin rollback` then goes on from the journal)",
        };
        report::warn(&format!("\nReceived {signal}: {then}"));
    })
}

/// Whom a run acts as in AWS: the caller in the playbook's own account and in each of its
/// `accounts:` (STS GetCallerIdentity, which needs no permission), asked at once. One that
/// cannot be told within [`WHO_WITHIN`] is left out with a warning: it never holds up a run
/// (an unreachable endpoint would take the SDK's whole timeout, retries included).
async fn principals(ctx: &Ctx) -> Vec<crate::engine::record::Principal> {
    let asked = ctx.accounts.all().map(|(account, clients)| async move {
        let answer = tokio::time::timeout(WHO_WITHIN, aws::iam::identity(&clients.sts)).await;
        (account, answer)
    });
    let mut found = Vec::new();
    for (account, answer) in futures_util::future::join_all(asked).await {
        let why = match answer {
            Ok(Ok(caller)) => {
                found.push(crate::engine::record::Principal {
                    account: account.map(str::to_owned),
                    arn: caller.arn,
                });
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("STS.GetCallerIdentity: no answer within {WHO_WITHIN:?}"),
        };
        report::warn(&format!(
            "warning: whom the run acts as{} is not known ({why}); the run goes on",
            account
                .map(|a| format!(" in account `{a}`"))
                .unwrap_or_default()
        ));
    }
    found
}

/// How long a run waits to learn whom it acts as before it goes on without knowing.
const WHO_WITHIN: Duration = Duration::from_secs(5);

/// The context with `stop` ending its waits.
fn with_stop(ctx: Ctx, stop: Stop) -> Ctx {
    Ctx {
        waits: Waits { stop, ..ctx.waits },
        ..ctx
    }
}

/// Where the state is: `--state` (or `STANDIN_STATE`), else `STANDIN_STATE_DIR`, else
/// `.standin`.
fn location(cli: &Cli) -> Location {
    cli.state.clone().unwrap_or_else(|| {
        Location::Dir(
            std::env::var_os("STANDIN_STATE_DIR").map_or_else(|| ".standin".into(), PathBuf::from),
        )
    })
}

/// The global options, completed by the playbook's `state:` block where they say nothing
/// (`--state`, `STANDIN_STATE`, `STANDIN_STATE_DIR`; `--lock`, `STANDIN_LOCK`).
fn with_state_of(cli: &Cli, pb: &Playbook) -> Cli {
    let mut cli = cli.clone();
    if let Some(block) = &pb.state {
        if cli.state.is_none() && std::env::var_os("STANDIN_STATE_DIR").is_none() {
            cli.state = Some(block.location.clone());
        }
        if cli.lock.is_none() {
            cli.lock = block.lock.clone();
        }
    }
    cli
}

/// The state and its lock, as the global options say (clients are built, nothing is called).
async fn state(cli: &Cli) -> Result<State, Error> {
    State::open(
        location(cli),
        cli.lock.as_ref(),
        Duration::from_secs(cli.lease_secs),
        Arc::new(|notice: &str| report::warn(notice)),
    )
    .await
    .map_err(Error::State)
}

/// `--state X --lock Y` as they must be repeated in suggested commands (empty for the
/// defaults).
fn state_flag(cli: &Cli) -> String {
    let mut flags = String::new();
    let location = location(cli);
    if location != Location::Dir(".standin".into()) {
        flags.push_str(&format!(" --state {location}"));
    }
    if let Some(table) = &cli.lock {
        flags.push_str(&format!(" --lock {table}"));
    }
    flags
}

/// Writes a file people read (a saved plan, a report) atomically: a new temporary file beside
/// it, readable as files usually are (it holds no secret), synced, then renamed over `path`,
/// which replaces a planted link instead of writing through it.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

/// Keeps the plan a run is held to beside its journal (`plan.json`): the document whose
/// SHA-256 its start record names. Failing to keep it is said and never stops the run.
async fn keep_plan(state: &State, run_id: &str, plan: &crate::engine::plan::PlanDoc) {
    if let Err(e) = state.keep(run_id, "plan.json", &plan.document()).await {
        report::warn(&format!(
            "could not keep the plan beside the journal, so the run's evidence lacks it: {e}"
        ));
    }
}

/// The context of a run whose playbook has `approval` steps: with the desk where they are
/// asked for and answered, in the run's state (see [`crate::approval`]). The runner is the
/// caller of the playbook's own account.
async fn with_desk(
    cli: &Cli,
    pb: &Playbook,
    ctx: Ctx,
    run_id: &str,
    plan_sha256: Option<String>,
    principals: &[crate::engine::record::Principal],
    chat: Option<&report::notify::Chat>,
) -> Result<Ctx, Error> {
    if !pb
        .steps
        .iter()
        .any(|s| s.kind.name == crate::steps::approval::Approval::NAME)
    {
        return Ok(ctx);
    }
    let json = cli.output == Format::Json;
    // Machines read stdout's JSON: what a person must know goes to stderr then.
    let print = move |text: &str| {
        if json {
            report::warn(text);
        } else {
            report::line(text);
        }
    };
    let (told, asked) = (chat.cloned(), chat.cloned());
    // Who runs it cannot approve it: the caller in each account it acts in (the playbook's
    // own first), and whom this process's own credentials are, which `approve` would use.
    let config = aws::config(&AwsSettings::default()).await;
    let mut runners: Vec<String> = principals
        .iter()
        .filter(|p| p.account.is_none())
        .chain(principals.iter().filter(|p| p.account.is_some()))
        .map(|p| p.arn.clone())
        .collect();
    if let Ok(Ok(caller)) = tokio::time::timeout(WHO_WITHIN, aws::iam::caller(&config)).await {
        if !runners.contains(&caller.arn) {
            runners.push(caller.arn);
        }
    }
    let desk = crate::approval::StateDesk::new(crate::approval::Setup {
        state: state(cli).await?,
        run_id: run_id.to_owned(),
        playbook: pb.name.clone(),
        plan_sha256,
        runners,
        os_user: State::who(),
        config,
        say: Box::new(move |text: &str| {
            print(text);
            if let Some(chat) = &told {
                chat.event("approval", text, serde_json::json!({}));
            }
        }),
        asked: Box::new(move |text: &str| {
            print(text);
            if let Some(chat) = &asked {
                chat.event("waiting-for-approval", text, serde_json::json!({}));
            }
        }),
        how: format!("standin{} approve {run_id}", state_flag(cli)),
    });
    Ok(Ctx {
        desk: Some(desk),
        ..ctx
    })
}

/// Asks a human to type `expected` unless `--yes`; refuses without a terminal to ask on.
fn confirm(yes: bool, question: &str, expected: &str) -> Result<(), Error> {
    if yes {
        return Ok(());
    }
    match Terminal::default().ask(&format!("{question} Type `{expected}` to confirm:")) {
        Some(answer) if answer == expected => Ok(()),
        Some(_) => Err(Error::Declined),
        None => Err(Error::NoConfirmation),
    }
}
