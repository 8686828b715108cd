//! The command line: one definition of each flag (help text comes from the `///` comments).
//! [`crate::commands`] runs what it says.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueHint};

use crate::config::{Location, LockTable};
use crate::report::Format;

/// Promote a staging environment to production on AWS when production is down, and put it back.
#[derive(Debug, Clone, Parser)]
#[command(name = "standin", version, after_help = crate::error::Exit::help(), max_term_width = 100)]
pub struct Cli {
    /// Where run journals and the lock live: a directory, or `s3://BUCKET/PREFIX` to share
    /// them with other machines (S3 access from the standard AWS chain, not the playbook's
    /// `aws:` block). Default: `STANDIN_STATE_DIR`, else `.standin`.
    #[arg(
        long,
        global = true,
        visible_alias = "state-dir",
        value_name = "DIR|s3://BUCKET/PREFIX",
        env = "STANDIN_STATE",
        value_parser = Location::parse
    )]
    pub state: Option<Location>,
    /// Lock a shared state with an item of this DynamoDB table (partition key `LockID`, a
    /// string, as in Terraform's lock tables) instead of the lock object in S3. Everyone
    /// sharing the state must use the same lock.
    #[arg(
        long,
        global = true,
        value_name = "dynamodb://TABLE",
        env = "STANDIN_LOCK",
        value_parser = LockTable::parse
    )]
    pub lock: Option<LockTable>,
    /// How long a shared state's lock lasts without its holder's heartbeat, in seconds (it
    /// is renewed every third of that).
    #[arg(
        long,
        global = true,
        hide = true,
        env = "STANDIN_LEASE_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub lease_secs: u64,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub output: Format,
    /// Print only errors and the final line (a run's outcome, a plan's summary). A run that
    /// asks for confirmation still shows its plan first.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print each AWS call as it ends, with its HTTP status and duration (never what
    /// was sent or received), on stderr. A run's `log.txt` beside its journal has them anyway.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// Color text for people: `auto` on a terminal unless `NO_COLOR` is set or `TERM=dumb`.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: crate::report::color::ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Check a playbook without calling AWS.
    Validate(PlaybookArgs),
    /// Dry run: read the live state and show what each step would change, and check the
    /// guards. Changes nothing.
    Plan {
        #[command(flatten)]
        playbook: PlaybookArgs,
        /// Also save the plan (JSON) to FILE, for `standin run --plan FILE`.
        #[arg(long = "out", short = 'o', value_name = "FILE", value_hint = ValueHint::FilePath)]
        out: Option<PathBuf>,
        #[command(flatten)]
        guards: GuardArgs,
    },
    /// Execute a playbook step by step, rolling back completed steps if one fails. Each step
    /// must do exactly what the plan shown (or saved) said, and pass the guards, or the run
    /// stops before it.
    Run {
        /// The playbook (YAML); with `--plan`, default: the playbook the plan was made from.
        #[arg(required_unless_present = "plan", value_hint = ValueHint::FilePath)]
        playbook: Option<PathBuf>,
        /// Override a playbook variable: `--var NAME=VALUE` (repeatable). With `--plan`, give
        /// the same ones as when planning (a plan keeps no values).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Execute exactly this saved plan (`standin plan -o FILE`); refuse if the live state
        /// or the playbook changed since it was made.
        #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        plan: Option<PathBuf>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        guards: GuardArgs,
        #[command(flatten)]
        account: AccountArgs,
        #[command(flatten)]
        unlock: UnlockArgs,
        /// POST the run's events to URL as they happen (Slack-compatible JSON: `text`, plus
        /// `event`, `run_id` and the event's fields): started, waiting for approval, a step
        /// failed, rolling back, and how it ended. A failed post is said and never changes the
        /// outcome.
        #[arg(long, value_name = "URL", value_parser = notify_url)]
        notify: Option<String>,
        #[command(flatten)]
        evidence: EvidenceArgs,
    },
    /// Undo a run's changes in reverse order, from its journal.
    Rollback {
        /// The run to undo (see `standin status`). Default with `--last`: the newest run.
        #[arg(required_unless_present = "last", conflicts_with = "last")]
        run_id: Option<String>,
        /// Undo the newest run.
        #[arg(long)]
        last: bool,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Overwrite values that were changed by someone else since the run.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        unlock: UnlockArgs,
        /// POST the rollback's events to URL as they happen (Slack-compatible JSON: `text`, plus
        /// `event`, `run_id` and the event's fields): started, waiting for approval, a step
        /// failed, rolling back, and how it ended. A failed post is said and never changes the
        /// outcome.
        #[arg(long, value_name = "URL", value_parser = notify_url)]
        notify: Option<String>,
        #[command(flatten)]
        evidence: EvidenceArgs,
    },
    /// Continue a run that stopped part way (killed, or Ctrl-C): steps done are skipped, a
    /// step in doubt is checked against live state first, the rest run as planned anew.
    Resume {
        /// The run to continue (see `standin status`); default: the newest run.
        run_id: Option<String>,
        /// The same `--var NAME=VALUE` overrides the run was started with (a journal keeps
        /// no values).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// A drill's reports go to DIR (default: where the drill was started with `--report`).
        #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
        report: Option<PathBuf>,
        /// A drill's summary is POSTed to URL when it ends: the journal keeps only its host,
        /// so give the URL the drill was started with again.
        #[arg(long, value_name = "URL", value_parser = notify_url)]
        notify: Option<String>,
        #[command(flatten)]
        guards: GuardArgs,
        #[command(flatten)]
        unlock: UnlockArgs,
    },
    /// Rehearse the failover and back: plan, run, hold the promoted state while the gates are
    /// checked again (`--soak`), roll back, verify that every touched resource is as it was,
    /// and report the recovery time. A drill always ends with the world put back.
    Drill {
        #[command(flatten)]
        playbook: PlaybookArgs,
        /// How long to hold the promoted state, checking the playbook's gates meanwhile
        /// (e.g. `10m`; default: no soak).
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = crate::steps::duration::parse)]
        soak: std::time::Duration,
        /// How often the gates are checked during the soak.
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::steps::duration::parse)]
        every: std::time::Duration,
        /// Change nothing: plan, make every read the run would make, and check that the
        /// caller may call every action the run and its rollback would call (IAM policy
        /// simulation). Says what would block a real drill.
        #[arg(long)]
        dry: bool,
        /// Write the reports (report.json, report.md, junit.xml, report.html) to DIR.
        #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
        report: Option<PathBuf>,
        /// POST a summary (JSON: Slack-compatible `text` plus the report's fields) to URL
        /// when the drill ends. A failed post is reported and never fails the drill.
        #[arg(long, value_name = "URL", value_parser = notify_url)]
        notify: Option<String>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        guards: GuardArgs,
        #[command(flatten)]
        account: AccountArgs,
        #[command(flatten)]
        unlock: UnlockArgs,
        #[command(flatten)]
        evidence: EvidenceArgs,
    },
    /// Check the accounts a playbook acts in (without one: the current account) before the
    /// bad day, with read-only calls (`iam-policy --for doctor`): AWS Health's risk, abuse
    /// and security events and scheduled changes, who is acting (the root user, a key AWS
    /// quarantined, old access keys, root's keys and recent sign-ins: the IAM credential
    /// report), whether AWS can reach the team (security and operations alternate contacts),
    /// and with a playbook whether it is ready to fail over (`drill --dry`'s checks, and its
    /// last passing drill against `drill_every:`). Each finding is a blocker, a warning or a
    /// note; `run` and `drill` check the blockers first. Exits 7 on blockers, 8 on warnings
    /// only.
    Doctor {
        /// The playbook (YAML); without it, the account of the standard AWS chain.
        #[arg(value_hint = ValueHint::FilePath)]
        playbook: Option<PathBuf>,
        /// Override a playbook variable: `--var NAME=VALUE` (repeatable).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var, requires = "playbook")]
        vars: Vec<(String, String)>,
        /// POST the findings (JSON: Slack-compatible `text` plus `findings`) to URL. A
        /// failed post is reported and never changes the exit code.
        #[arg(long, value_name = "URL", value_parser = notify_url)]
        notify: Option<String>,
    },
    /// Write the reports of a past run or drill, from its journal alone.
    Report {
        /// The run (see `standin history`); default: the newest.
        run_id: Option<String>,
        /// Which reports (repeatable, or comma-separated); default: all.
        #[arg(long, value_enum, value_delimiter = ',')]
        format: Vec<crate::report::ReportFormat>,
        /// Where to write them.
        #[arg(long, value_name = "DIR", default_value = ".", value_hint = ValueHint::DirPath)]
        dir: PathBuf,
        #[command(flatten)]
        evidence: EvidenceArgs,
    },
    /// Approve (or deny) a run that waits at an `approval` step, as the principal of your own
    /// AWS credentials (the standard chain: AWS_PROFILE, AWS_REGION, ...), from any machine
    /// that reaches the run's state (`--state`). Shows the plan being approved first. The
    /// answer carries a GetCallerIdentity request presigned with your credentials, which the
    /// run sends to STS itself. The runner cannot approve their own run; one principal
    /// answers once.
    Approve {
        /// The run waiting for approval (see `standin status`).
        run_id: String,
        /// Deny it: the run stops at the approval and rolls back what ran before it.
        #[arg(long, requires = "reason")]
        deny: bool,
        /// Why (shown to the runner and kept in its journal); required with `--deny`.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Check a run's evidence: its journal's hash chain (each line names the SHA-256 of the
    /// line before), its plan document and playbook against the digests its journal names,
    /// and a report's `evidence` against the journal. TARGET is a run id (read from the state)
    /// or a directory holding `journal.jsonl`, `plan.json` and `report.json` (an evidence
    /// upload, or `standin report`'s directory: what it lacks is read from the state). Names
    /// the first line or file that does not match, and exits 9.
    VerifyEvidence {
        /// A run id, or a directory of its files.
        #[arg(value_name = "DIR_OR_RUN_ID")]
        target: String,
        /// Also check this playbook file against the digest the journal names.
        #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
        playbook: Option<PathBuf>,
    },
    /// List past runs and drills: date, kind, outcome, recovery time, who ran it.
    History {
        /// Only the runs of this playbook (its `name:`, or its file).
        playbook: Option<String>,
    },
    /// Show a run's steps and their states, from its journal (default: the newest run), and
    /// who holds a shared state's lock.
    Status { run_id: Option<String> },
    /// List the step kinds this build knows.
    Kinds,
    /// Draft a first playbook from the live account, per production/staging pair of Elastic
    /// Beanstalk environments found by name (prod, production, prd, live / staging, stage,
    /// stg, beta, preprod, uat): parameters to copy, capacity, restart, health gate, DNS,
    /// the staging URL's lock, queue workers, the production gate and the database guard.
    /// Read calls only: elasticbeanstalk:DescribeEnvironments, DescribeEnvironmentResources,
    /// DescribeConfigurationSettings; ssm:DescribeParameters, GetParameters (no decryption);
    /// route53:ListHostedZones, ListResourceRecordSets; tag:GetResources. Writes
    /// DIR/promote-APP.yaml and DIR/playbook.schema.json; never over a file unless --force.
    Init {
        /// Where to write the drafts.
        #[arg(long, value_name = "DIR", default_value = "playbooks", value_hint = ValueHint::DirPath)]
        dir: PathBuf,
        /// Production's environment (with --staging): draft this pair only.
        #[arg(long, value_name = "ENV", requires = "staging")]
        prod: Option<String>,
        /// Staging's environment (with --prod).
        #[arg(long, value_name = "ENV", requires = "prod")]
        staging: Option<String>,
        /// Take every pair found without asking (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Write over existing files.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of the playbook format, for editors: with the YAML language
    /// server (VS Code's YAML extension, Neovim, Helix, JetBrains), a playbook whose first
    /// line is `# yaml-language-server: $schema=PATH` gets completion and checks as you type.
    Schema,
    /// Print the completion script for a shell. Bash: `standin completions bash >
    /// ~/.local/share/bash-completion/completions/standin`; zsh: into a directory on `$fpath`
    /// as `_standin`; fish: `~/.config/fish/completions/standin.fish`; PowerShell: add
    /// `standin completions powershell | Out-String | Invoke-Expression` to `$PROFILE`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff: `standin man | man -l -`), or write one page per command
    /// into DIR (`standin.1`, `standin-run.1`, ...), e.g. `/usr/local/share/man/man1`.
    Man {
        #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
    /// Print the least-privilege IAM policy (JSON) a playbook needs, e.g. for a break-glass
    /// role created ahead of time, with its ARNs in the partition of the playbook's region
    /// (`aws.region`, else AWS_REGION or the profile's: `arn:aws-cn:` for cn-*,
    /// `arn:aws-us-gov:` for us-gov-*, ...). Calls nothing.
    IamPolicy {
        /// The playbook (YAML); none with `--for init`, optional with `--for doctor`.
        #[arg(value_hint = ValueHint::FilePath)]
        playbook: Option<PathBuf>,
        /// Override a playbook variable: `--var NAME=VALUE` (repeatable).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// For `plan` (reads only), `run` (also `resume` and `rollback`), `drill` (a drill and
        /// `drill --dry`: also iam:GetRole and iam:SimulatePrincipalPolicy), `init` (its reads)
        /// or `doctor` (its reads; with a playbook, its dry drill's too).
        #[arg(long = "for", value_enum, default_value = "run")]
        phase: crate::iam::Phase,
        /// Only the policy of this account of the playbook's `accounts:` (`default`: its
        /// `aws:`). Without it, a playbook with `accounts:` gets one policy per account, by
        /// name.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
    },
}

/// Taking over a shared state's lock from a holder that died.
#[derive(Debug, Clone, Args)]
pub struct UnlockArgs {
    /// Take over the lock of a shared state from the holder with this lock id (shown when
    /// the lock is refused, and by `standin status`), after checking that it is dead.
    #[arg(long, value_name = "LOCK_ID")]
    pub force_unlock: Option<String>,
}

/// Going ahead although `standin doctor`'s blocker checks, which `run` and `drill` make
/// first, found one.
/// Where a run's evidence is uploaded when it ends.
#[derive(Debug, Clone, Args)]
pub struct EvidenceArgs {
    /// Upload the journal, the plan and every report to s3://BUCKET/PREFIX/RUN_ID/ when it
    /// ends (over the playbook's `evidence:`). A failed upload is said and never changes the
    /// exit code; `standin report RUN_ID --evidence ...` uploads again.
    #[arg(long, value_name = "s3://BUCKET/PREFIX", value_parser = crate::config::EvidenceUrl::parse)]
    pub evidence: Option<crate::config::EvidenceUrl>,
    /// With S3 Object Lock on the bucket, retain each object this long (e.g. `400d`); without
    /// it, the bucket's default retention applies.
    #[arg(long, value_name = "PERIOD", value_parser = crate::steps::duration::parse_retention)]
    pub retain: Option<std::time::Duration>,
    /// The retention's mode (default: the bucket's default retention's, else governance).
    #[arg(long, value_enum, value_name = "MODE")]
    pub retain_mode: Option<crate::config::RetainMode>,
}

#[derive(Debug, Clone, Args)]
pub struct AccountArgs {
    /// Act although the credentials are the account's root user: root used from a new place
    /// is what AWS flags as irregular activity (in the incident, it got the account locked
    /// mid-upgrade). Use an IAM role or user whenever there is one.
    #[arg(long)]
    pub allow_root: bool,
    /// Go ahead although this blocker of `standin doctor` was found (repeatable), by its id:
    /// `quarantined`, `health:AWS_RISK_CREDENTIALS_EXPOSED`, ... An id forces that blocker
    /// in every account of the playbook, as `--allow-root` allows the root user in each.
    #[arg(long = "force-blocker", value_name = "ID")]
    pub force_blocker: Vec<String>,
}

impl AccountArgs {
    /// The blocker ids that are overruled.
    pub fn forced(&self) -> std::collections::BTreeSet<String> {
        let mut forced: std::collections::BTreeSet<String> =
            self.force_blocker.iter().cloned().collect();
        if self.allow_root {
            forced.insert("root-caller".to_owned());
        }
        forced
    }
}

/// Overruling built-in guards, by name, one at a time.
#[derive(Debug, Clone, Default, Args)]
pub struct GuardArgs {
    /// Go ahead although this built-in guard fails (repeatable): `staging-db-in-production`
    /// or `severe-target`. The plan still shows the guard as FORCED.
    #[arg(long = "force-guard", value_name = "NAME", value_parser = builtin_guard)]
    pub force_guard: Vec<String>,
}

impl GuardArgs {
    /// The overruled built-in guards, as the planner and the engine take them.
    pub fn forced(&self) -> std::collections::BTreeSet<String> {
        self.force_guard.iter().cloned().collect()
    }
}

fn builtin_guard(name: &str) -> Result<String, String> {
    let builtin = crate::guards::BUILTIN;
    if builtin.iter().any(|(n, _)| *n == name) {
        return Ok(name.to_owned());
    }
    let known: Vec<String> = builtin
        .iter()
        .map(|(n, refuses)| format!("`{n}` (refuses when {refuses})"))
        .collect();
    Err(format!(
        "no built-in guard `{name}`; they are {}",
        known.join(", ")
    ))
}

/// A playbook and its variable overrides.
#[derive(Debug, Clone, Args)]
pub struct PlaybookArgs {
    /// The playbook (YAML).
    #[arg(value_hint = ValueHint::FilePath)]
    pub playbook: PathBuf,
    /// Override a playbook variable: `--var NAME=VALUE` (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// `--notify`: an http(s) URL with a host, checked before anything runs (a drill that could
/// not say how it went would be found out only at its end).
fn notify_url(text: &str) -> Result<String, String> {
    match reqwest::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            Ok(text.to_owned())
        }
        Ok(url) => Err(format!(
            "`{}:` is not a webhook: give an http:// or https:// URL",
            url.scheme()
        )),
        Err(e) => Err(format!("not a URL ({e}): give an http:// or https:// URL")),
    }
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("`{text}` has no variable name before `=`"));
    }
    Ok((name.to_owned(), value.to_owned()))
}
