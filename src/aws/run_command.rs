//! SSM Run Command: run a shell command on instances (by id or by tags) and wait for every
//! invocation to finish, keeping each instance's outcome and output.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::{CommandInvocation, CommandInvocationStatus, CommandPluginStatus, Target};
use aws_sdk_ssm::Client;

use super::{AwsError, Call, Poller};
use crate::stop::Waits;

/// How long SendCommand may take to resolve tag targets to instances before "no instance
/// matched" is believed.
const RESOLVE_GRACE: Duration = Duration::from_secs(60);

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

/// Sends `commands` with `document` and waits until every targeted instance has finished
/// (Run Command starts them in waves of `rate.max_concurrency`; those it never starts because
/// `rate.max_errors` was exceeded end `Cancelled`).
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
    let started = Instant::now();
    let mut poller = Poller::new(waits);
    // No command is done the moment it is sent: the first look is after the first wait.
    let mut what = format!("command {id}: sent to {targets}");
    let invocations = loop {
        poller.wait("SSM.ListCommandInvocations", &what).await?;
        let mut pages = client
            .list_command_invocations()
            .command_id(&id)
            .details(true)
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            all.extend(
                page.op("SSM.ListCommandInvocations")?
                    .command_invocations()
                    .to_vec(),
            );
        }
        if !all.is_empty() && all.iter().all(|i| finished(i.status())) {
            break all;
        }
        if all.is_empty() && started.elapsed() > RESOLVE_GRACE {
            return Err(AwsError::new("SSM.SendCommand", "NoTargets", format!("command {id} reached no instance: no running managed instance matches {targets}")));
        }
        let running = all.iter().filter(|i| !finished(i.status())).count();
        what = format!(
            "command {id}: {running} of {} instances still running",
            all.len()
        );
    };
    let mut outcomes = Vec::with_capacity(invocations.len());
    for invocation in &invocations {
        let instance = invocation.instance_id().unwrap_or_default().to_owned();
        if let Some(outcome) = listed(invocation, &instance) {
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

/// The most ListCommandInvocations shows of a plugin's output; GetCommandInvocation gives up
/// to 24,000 characters of each stream.
const LISTED_OUTPUT: usize = 2500;

/// An instance's outcome from the list alone, where it is whole: a success of one plugin whose
/// output is shorter than the list's cut and holds no error stream (AWS appends stderr to the
/// plugin's output after a marker). Otherwise `None`, and the streams are read one by one.
fn listed(invocation: &CommandInvocation, instance: &str) -> Option<Invocation> {
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
