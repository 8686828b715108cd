//! `standin doctor`'s account checks (issue 29): what AWS itself says about an account before
//! the bad day. In the incident AWS had written several times about irregular activity (root
//! credentials used from a new place); the messages went unread and AWS restricted the account
//! in the middle of an Elastic Beanstalk upgrade. Each account a playbook acts in is read
//! (read-only calls, all at once): who is acting (`caller.rs`: the root user, a quarantined
//! key, old keys, root's recent use), AWS Health's open events (`health.rs`) and whether AWS
//! can reach anyone but the root address (`contacts.rs`). `run` and `drill` make the blocker
//! checks first ([`Depth::Blockers`]: a few reads) and stop on a blocker unless it is forced
//! by its id. Whether the playbook is ready to fail over (its dry drill, its last drill) is
//! the command's (`commands/doctor.rs`), which has the state.

mod caller;
mod contacts;
mod health;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::aws::AwsError;
use crate::config::AwsSettings;
use crate::iam::{Arn, Grant, Needs};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `run` and `drill` stop on it unless it is forced by its id.
    Blocker,
    /// Fix it before the bad day.
    Warning,
    /// Worth knowing; changes no exit code.
    Note,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Self::Blocker => "BLOCKER",
            Self::Warning => "WARNING",
            Self::Note => "NOTE",
        }
    }
}

/// One thing found, with what it means and what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable, for `--force-blocker ID` and for scripts: `root-caller`, `quarantined`,
    /// `health:AWS_RISK_CREDENTIALS_EXPOSED`, ...
    pub id: String,
    pub severity: Severity,
    /// The playbook's account (`default`: its `aws:`; `playbook`: a finding of the playbook
    /// itself, such as an overdue drill).
    pub account: String,
    /// The AWS account's id, when STS said it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub what: String,
    pub why: String,
    pub fix: String,
}

/// A finding before it is placed in an account.
pub(crate) struct Found {
    id: String,
    severity: Severity,
    what: String,
    why: String,
    fix: String,
}

impl Found {
    pub(crate) fn new(
        id: impl Into<String>,
        severity: Severity,
        what: impl Into<String>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            severity,
            what: what.into(),
            why: why.into(),
            fix: fix.into(),
        }
    }

    /// A read that failed: a note that names what could not be read, never a crash.
    fn unread(id: &str, what: &str, e: &AwsError, needs: &str) -> Self {
        let code = e.code.as_deref().unwrap_or("error");
        Self::new(
            format!("unread:{id}"),
            Severity::Note,
            format!("could not read {what}: {}", crate::escape::value(code)),
            e.to_string(),
            format!(
                "allow {needs} (`standin iam-policy --for doctor`) and run `standin doctor` again"
            ),
        )
    }

    /// The finding, in `account` (`playbook` for one of the playbook itself).
    pub(crate) fn placed(self, account: &str, account_id: Option<String>) -> Finding {
        Finding {
            id: self.id,
            severity: self.severity,
            account: account.to_owned(),
            account_id,
            what: self.what,
            why: self.why,
            fix: self.fix,
        }
    }

    /// A read that did not end in time: a note, as a failed read is.
    fn slow(id: &str, what: &str, within: Duration) -> Self {
        Self::new(
            format!("unread:{id}"),
            Severity::Note,
            format!("could not read {what}: no answer within {within:?}"),
            "AWS did not answer in time (the network, throttling, or an endpoint this machine cannot reach)",
            "check the network and the credentials, and run `standin doctor` again",
        )
    }

    /// The checks could not tell who is acting, so none of the caller's blockers was
    /// checked: worth a warning, not a note.
    fn blind(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }
}

/// How much to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// What `run` and `drill` check first: the caller (root, AWS's quarantine policy) and
    /// AWS Health's risk, abuse and security events.
    Blockers,
    /// Everything `standin doctor` checks.
    Full,
}

/// An account to check: its name in the playbook (`None`: `aws:`) and settings.
pub type Account<'a> = (Option<&'a str>, &'a AwsSettings);

/// Checks every account at once; in each, every read at once. `resources` are the names and
/// ids the playbook acts on (a scheduled change that touches one is a warning).
pub async fn check(
    accounts: &[Account<'_>],
    depth: Depth,
    resources: &BTreeSet<String>,
) -> Vec<Finding> {
    let within = match depth {
        Depth::Blockers => BLOCKERS_WITHIN,
        Depth::Full => FULL_WITHIN,
    };
    let each = accounts.iter().map(|(name, settings)| async move {
        let label = name.unwrap_or("default").to_owned();
        // Each read has its own time, so a slow one (Health's endpoint is far, and throttles)
        // costs only its own findings; this bounds loading the credentials too.
        match tokio::time::timeout(within * 2, one(settings, depth, resources, within)).await {
            Ok((account_id, found)) => place(found, &label, account_id),
            Err(_) => {
                let what = "the account (its credentials did not load)";
                place(
                    vec![Found::slow("account", what, within * 2).blind()],
                    &label,
                    None,
                )
            }
        }
    });
    let mut findings: Vec<Finding> = futures_util::future::join_all(each)
        .await
        .into_iter()
        .flatten()
        .collect();
    findings.sort_by_key(|f| f.severity);
    findings
}

/// How long `run` and `drill` wait for each read of the blocker checks.
const BLOCKERS_WITHIN: Duration = Duration::from_secs(10);
/// How long `doctor` waits for each read (the credential report takes a few seconds).
const FULL_WITHIN: Duration = Duration::from_secs(45);

fn place(found: Vec<Found>, account: &str, account_id: Option<String>) -> Vec<Finding> {
    found
        .into_iter()
        .map(|f| f.placed(account, account_id.clone()))
        .collect()
}

/// `part`'s findings, or a note that it did not end within `within`.
async fn bounded(
    within: Duration,
    id: &str,
    what: &str,
    part: impl std::future::Future<Output = Vec<Found>>,
) -> Vec<Found> {
    tokio::time::timeout(within, part)
        .await
        .unwrap_or_else(|_| vec![Found::slow(id, what, within)])
}

/// One account's findings, and its id when STS said it.
async fn one(
    settings: &AwsSettings,
    depth: Depth,
    resources: &BTreeSet<String>,
    within: Duration,
) -> (Option<String>, Vec<Found>) {
    let config = crate::aws::config(settings).await;
    let full = depth == Depth::Full;
    let health = health::check(&config, depth, resources);
    let (caller, events, report, contacts) = tokio::join!(
        tokio::time::timeout(within, caller::check(&config)),
        bounded(within, "health", "AWS Health's events", health),
        bounded(
            within,
            "credential-report",
            "the credential report",
            async {
                if full {
                    caller::credentials(&config, SystemTime::now()).await
                } else {
                    Vec::new()
                }
            }
        ),
        bounded(within, "contacts", "the alternate contacts", async {
            if full {
                contacts::check(&config).await
            } else {
                Vec::new()
            }
        }),
    );
    let (account_id, mut found) = caller.unwrap_or_else(|_| {
        let slow = Found::slow("caller", "who is acting", within).blind();
        (None, vec![slow])
    });
    found.extend(events);
    found.extend(report);
    found.extend(contacts);
    (account_id, found)
}

/// The forced ids that name no blocker found: a typo would otherwise force nothing, silently.
pub fn unknown_forced<'a>(forced: &'a BTreeSet<String>, findings: &[Finding]) -> Vec<&'a str> {
    forced
        .iter()
        .filter(|id| !findings.iter().any(|f| &f.id == *id))
        .map(String::as_str)
        .collect()
}

/// What the checks call, for `iam-policy` (STS's GetCallerIdentity needs no permission).
pub fn needs(depth: Depth) -> Needs {
    let mut plan = vec![
        Grant::new(
            &["iam:ListAttachedUserPolicies", "iam:ListGroupsForUser"],
            [Arn::global("iam", "user/*")],
        ),
        Grant::new(
            &["iam:ListAttachedGroupPolicies"],
            [Arn::global("iam", "group/*")],
        ),
        Grant::new(
            &["iam:ListAttachedRolePolicies", "iam:GetRole"],
            [Arn::global("iam", "role/*")],
        ),
        Grant::any(&["health:DescribeEvents"]),
    ];
    if depth == Depth::Full {
        plan.push(Grant::any(&[
            "health:DescribeAffectedEntities",
            "iam:GenerateCredentialReport",
            "iam:GetCredentialReport",
        ]));
        plan.push(Grant::new(
            &["account:GetAlternateContact"],
            [Arn::global("account", "account")],
        ));
    }
    Needs {
        plan,
        run: Vec::new(),
    }
}
