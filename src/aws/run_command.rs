//! SSM Run Command: run a shell command on instances (by id or by tags) and wait until the
//! command has ended, keeping each instance's outcome and output.
//!
//! Whether a command has ended is read from ListCommands, whose status and counts are the
//! command's own: ListCommandInvocations lists nothing right after SendCommand and lists tag
//! targets as Run Command reaches them, so a list that looks finished may still miss instances.
//! Each instance's outcome is read from the invocations once the command has ended, all pages.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ssm::types::{
    Command, CommandInvocation, CommandInvocationStatus, CommandPluginStatus, CommandStatus, Target,
};
use aws_sdk_ssm::Client;

use super::{AwsError, Call, Poller};
use crate::stop::Waits;

/// Which instances a command goes to.
#[derive(Debug, Clone)]
pub enum Targets {
    Instances(Vec<String>),
    /// Tag key to accepted values; an instance must match every key.
    Tags(BTreeMap<String, Vec<String>>),
}

impl std::fmt::Display for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Instances(ids) => write!(f, "instances {}", ids.join(", ")),
            Self::Tags(tags) => {
                let tags: Vec<String> = tags
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.join("|")))
                    .collect();
                write!(f, "instances tagged {}", tags.join(", "))
            }
        }
    }
}

/// One instance's outcome.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub instance: String,
    /// `Success`, `Failed`, `TimedOut`, `Cancelled`.
    pub status: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Invocation {
    pub fn succeeded(&self) -> bool {
        self.status == "Success"
    }
}

fn finished(status: Option<&CommandInvocationStatus>) -> bool {
    matches!(
        status,
        Some(
            CommandInvocationStatus::Success
                | CommandInvocationStatus::Failed
                | CommandInvocationStatus::TimedOut
                | CommandInvocationStatus::Cancelled
        )
    )
}

/// How many instances run a command at once, and how many failures stop it, as SSM Run
/// Command takes them (`10`, `50%`); `None`: Run Command's defaults (50 at once, stop at the
/// first failure).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rate {
    pub max_concurrency: Option<String>,
    pub max_errors: Option<String>,
}

/// Sends `commands` with `document`, waits until the command has ended, and returns each
/// instance's outcome (Run Command starts them in waves of `rate.max_concurrency`; those it
/// never starts because `rate.max_errors` was exceeded end `Cancelled`).
pub async fn run(
    client: &Client,
    targets: &Targets,
    document: &str,
    commands: &[String],
    rate: &Rate,
    waits: &Waits,
) -> Result<Vec<Invocation>, AwsError> {
    let mut request = client
        .send_command()
        .document_name(document)
        .parameters("commands", commands.to_vec())
        .set_max_concurrency(rate.max_concurrency.clone())
        .set_max_errors(rate.max_errors.clone())
        .comment("standin");
    request = match targets {
        Targets::Instances(ids) => request.set_instance_ids(Some(ids.clone())),
        Targets::Tags(tags) => tags.iter().fold(request, |r, (key, values)| {
            r.targets(
                Target::builder()
                    .key(format!("tag:{key}"))
                    .set_values(Some(values.clone()))
                    .build(),
            )
        }),
    };
    let sent = request.send().await.op("SSM.SendCommand")?;
    let id = sent
        .command()
        .and_then(|c| c.command_id())
        .unwrap_or_default()
        .to_owned();
    let targets_reached = ended(client, &id, targets, waits).await?;
    if targets_reached == 0 {
        return Err(AwsError::new(
            "SSM.SendCommand",
            "NoTargets",
            format!(
                "command {id} reached no instance: no running managed instance matches {targets}"
            ),
        ));
    }
    let invocations = listed(client, &id, targets_reached, waits).await?;
    let mut outcomes = Vec::with_capacity(invocations.len());
    for invocation in &invocations {
        let instance = invocation.instance_id().unwrap_or_default().to_owned();
        if let Some(outcome) = whole(invocation, &instance) {
            outcomes.push(outcome);
            continue;
        }
        let out = client
            .get_command_invocation()
            .command_id(&id)
            .instance_id(&instance)
            .send()
            .await
            .op("SSM.GetCommandInvocation")?;
        outcomes.push(Invocation {
            status: out
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            code: out.response_code(),
            stdout: out.standard_output_content().unwrap_or_default().to_owned(),
            stderr: out.standard_error_content().unwrap_or_default().to_owned(),
            instance,
        });
    }
    Ok(outcomes)
}

/// Where a command stands, from ListCommands alone.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    /// Not ended: what is waited for.
    Running(String),
    /// Ended, on this many instances.
    Ended(usize),
}

fn progress(id: &str, command: Option<&Command>) -> Progress {
    let Some(command) = command else {
        return Progress::Running(format!("command {id}: sent, not listed yet"));
    };
    let count = |n: i32| usize::try_from(n).unwrap_or(0);
    match command.status() {
        Some(
            CommandStatus::Success
            | CommandStatus::Failed
            | CommandStatus::TimedOut
            | CommandStatus::Cancelled,
        ) => Progress::Ended(count(command.target_count())),
        Some(CommandStatus::Pending) | None => {
            Progress::Running(format!("command {id}: sent, no instance reached yet"))
        }
        Some(_) => Progress::Running(format!(
            "command {id}: {} of {} instances done so far",
            count(command.completed_count()),
            count(command.target_count())
        )),
    }
}

/// Waits until the command has ended (its status is terminal); the number of instances it
/// reached.
async fn ended(
    client: &Client,
    id: &str,
    targets: &Targets,
    waits: &Waits,
) -> Result<usize, AwsError> {
    let mut poller = Poller::new(waits);
    // No command is done the moment it is sent: the first look is after the first wait.
    let mut what = format!("command {id}: sent to {targets}");
    loop {
        poller.wait("SSM.ListCommands", &what).await?;
        let listed = client
            .list_commands()
            .command_id(id)
            .send()
            .await
            .op("SSM.ListCommands")?;
        match progress(id, listed.commands().first()) {
            Progress::Ended(reached) => return Ok(reached),
            Progress::Running(now) => what = now,
        }
    }
}

/// Every invocation of an ended command, all pages, once all `reached` are listed and ended
/// (the list may lag the command's status for a moment).
async fn listed(
    client: &Client,
    id: &str,
    reached: usize,
    waits: &Waits,
) -> Result<Vec<CommandInvocation>, AwsError> {
    let mut poller = Poller::new(waits);
    loop {
        let mut pages = client
            .list_command_invocations()
            .command_id(id)
            .details(true)
            .into_paginator()
            .send();
        // In the order listed; an instance listed twice (pages moving under the reader) once.
        let mut all: Vec<CommandInvocation> = Vec::new();
        let mut seen = BTreeSet::new();
        while let Some(page) = pages.next().await {
            for invocation in page.op("SSM.ListCommandInvocations")?.command_invocations() {
                if seen.insert(invocation.instance_id().unwrap_or_default().to_owned()) {
                    all.push(invocation.clone());
                }
            }
        }
        let done = all.iter().filter(|i| finished(i.status())).count();
        if all.len() >= reached && done == all.len() {
            return Ok(all);
        }
        poller
            .wait(
                "SSM.ListCommandInvocations",
                &format!("command {id}: ended, {done} of {reached} instances' outcomes listed"),
            )
            .await?;
    }
}

/// The most ListCommandInvocations shows of a plugin's output; GetCommandInvocation gives up
/// to 24,000 characters of each stream.
const LISTED_OUTPUT: usize = 2500;

/// An instance's outcome from the list alone, where it is whole: a success of one plugin whose
/// output is shorter than the list's cut and holds no error stream (AWS appends stderr to the
/// plugin's output after a marker). Otherwise `None`, and the streams are read one by one.
fn whole(invocation: &CommandInvocation, instance: &str) -> Option<Invocation> {
    let [plugin] = invocation.command_plugins() else {
        return None;
    };
    let output = plugin.output().unwrap_or_default();
    let whole = plugin.status() == Some(&CommandPluginStatus::Success)
        && output.chars().count() < LISTED_OUTPUT
        && !output.contains("----------ERROR-------");
    whole.then(|| Invocation {
        instance: instance.to_owned(),
        status: "Success".to_owned(),
        code: plugin.response_code(),
        stdout: output.to_owned(),
        stderr: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(status: CommandStatus, targets: i32, completed: i32) -> Command {
        Command::builder()
            .status(status)
            .target_count(targets)
            .completed_count(completed)
            .build()
    }

    /// The command's status decides, not how many invocations look finished: a command still
    /// InProgress with every target reached so far done is not ended.
    #[test]
    fn ended_only_when_the_commands_status_is_terminal() {
        let running = |c: &Command| matches!(progress("c", Some(c)), Progress::Running(_));
        assert!(matches!(progress("c", None), Progress::Running(_)));
        assert!(running(&command(CommandStatus::Pending, 0, 0)));
        assert!(running(&command(CommandStatus::InProgress, 1, 1)));
        assert!(running(&command(CommandStatus::Cancelling, 2, 1)));
        assert_eq!(
            progress("c", Some(&command(CommandStatus::InProgress, 2, 1))),
            Progress::Running("command c: 1 of 2 instances done so far".into())
        );
        for status in [
            CommandStatus::Success,
            CommandStatus::Failed,
            CommandStatus::TimedOut,
            CommandStatus::Cancelled,
        ] {
            assert_eq!(
                progress("c", Some(&command(status, 3, 3))),
                Progress::Ended(3)
            );
        }
        assert_eq!(
            progress("c", Some(&command(CommandStatus::Success, 0, 0))),
            Progress::Ended(0)
        );
    }
}

/// What SendCommand refuses for its form (botocore's SSM model: `SendCommand` members and their
/// patterns and lengths), so that a playbook can be refused before any call.
pub mod form {
    use std::sync::LazyLock;

    use regex::Regex;

    /// `Targets`: at most 5; a step sends one per tag key.
    pub const MAX_TARGETS: usize = 5;
    /// `InstanceIds`: at most 50.
    pub const MAX_INSTANCE_IDS: usize = 50;
    /// `Target.Values`: at most 50.
    pub const MAX_TARGET_VALUES: usize = 50;

    static MAX_CONCURRENCY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$").expect("valid"));
    static MAX_ERRORS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$").expect("valid")
    });
    // `\w` as AWS's (Java's) regular expressions mean it: ASCII letters, digits, `_`.
    static INSTANCE_ID: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(^i-([A-Za-z0-9_]{8}|[A-Za-z0-9_]{17})$)|(^mi-[A-Za-z0-9_]{17}$)")
            .expect("valid")
    });
    static TARGET_KEY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=\-@]*$").expect("valid"));
    static DOCUMENT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_\-.:/]{3,128}$").expect("valid"));

    /// `MaxConcurrency`: 1 to 7 characters, a count from 1 or a share from 1% to 100%.
    pub fn max_concurrency(text: &str) -> bool {
        text.len() <= 7 && MAX_CONCURRENCY.is_match(text)
    }

    /// `MaxErrors`: 1 to 7 characters, a count from 0 or a share from 0% to 100%.
    pub fn max_errors(text: &str) -> bool {
        text.len() <= 7 && MAX_ERRORS.is_match(text)
    }

    /// An item of `InstanceIds`.
    pub fn instance_id(text: &str) -> bool {
        INSTANCE_ID.is_match(text)
    }

    /// `Target.Key` for a tag, `tag:KEY`: 1 to 163 characters of the key's pattern.
    pub fn tag_target(key: &str) -> bool {
        let target = format!("tag:{key}");
        !key.is_empty() && target.chars().count() <= 163 && TARGET_KEY.is_match(&target)
    }

    /// `DocumentName`.
    pub fn document(name: &str) -> bool {
        DOCUMENT.is_match(name)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn rates_as_send_command_takes_them() {
            for ok in ["1", "50", "1234567", "1%", "10%", "99%", "100%"] {
                assert!(max_concurrency(ok), "{ok}");
            }
            for bad in ["0", "050%", "05", "0%", "101%", "12345678", "", "1.5", " 2"] {
                assert!(!max_concurrency(bad), "{bad}");
            }
            for ok in ["0", "1", "0%", "5%", "100%"] {
                assert!(max_errors(ok), "{ok}");
            }
            for bad in ["00", "01", "050%", "101%", "-1", "12345678"] {
                assert!(!max_errors(bad), "{bad}");
            }
        }

        #[test]
        fn ids_keys_and_documents() {
            assert!(instance_id("i-0123456789abcdef0"));
            assert!(instance_id("i-12345678"));
            assert!(instance_id("mi-0123456789abcdef0"));
            assert!(!instance_id("i-123"));
            assert!(!instance_id("i-0123456789abcdéf0"));
            assert!(tag_target("Role"));
            assert!(tag_target("aws:cloudformation:stack-name"));
            assert!(!tag_target(""));
            assert!(!tag_target("Role;rm"));
            assert!(!tag_target(&"k".repeat(160)));
            assert!(document("AWS-RunShellScript"));
            assert!(!document("ab"));
        }
    }
}
