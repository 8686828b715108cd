//! Coverage: the parts of production a playbook leaves behind. In the incident the team
//! promoted staging by hand and forgot the queue workers; a playbook can forget the same way
//! (it repoints `www` and not `api`). The plan reads the account and names each part of
//! production no step covers, why it matters and the step that would cover it, ready to paste;
//! `coverage: {ignore: ...}` leaves one out on purpose, with a reason.
//!
//! What production is comes from the playbook's `production:` block, or is inferred from its
//! steps (what the records it repoints point at now: `production.rs`). Each kind of part has
//! its own file (`dns.rs`: records that point at production; `workers.rs`: production's queue
//! workers when no step restarts workers). Every read is read-only and granted by
//! `iam-policy --for plan` ([`needs`]); a read that fails is a named warning, never a pass.

mod cdn;
mod dns;
mod production;
mod queues;
mod schedules;
mod workers;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use tokio::sync::Notify;

use serde::{Deserialize, Serialize};

pub use self::production::Moves;
use crate::escape;
use crate::iam::{arn, Grant, Needs};
use crate::playbook::Playbook;
use crate::steps::{Change, Ctx};

/// A step as planned: what the coverage check needs of the plan.
pub struct Planned<'a> {
    pub kind: &'a str,
    /// Its changes as it read them live (before the plan put the steps in order).
    pub changes: &'a [Change],
}

/// A part of production that no step covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable across plans: what `coverage.ignore` names.
    pub id: String,
    /// What kind of part: `dns-record`, `workers`.
    pub kind: String,
    /// The account it is in (`None`: the playbook's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The part, as people name it (`api.example.com. CNAME`).
    pub resource: String,
    /// Why it matters on the day.
    pub why: String,
    /// The step that would cover it, as playbook YAML.
    pub cover: String,
    /// Left out on purpose (`coverage.ignore`), with its reason.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the coverage check found, and what it could not read.
#[derive(Debug, Default)]
pub struct Checked {
    pub findings: Vec<Finding>,
    /// Reads that failed, each a warning naming what went unchecked and why.
    pub unchecked: Vec<String>,
    /// Ids that `coverage.ignore` or a step's `covers:` name and that the check did not find
    /// (a typo, or a part since gone): warnings, not blockers.
    pub stale: Vec<String>,
}

/// A value given later, awaited meanwhile: what the plan says of production, once its steps
/// are planned. Coverage reads the account while they plan, and compares once it is given.
#[derive(Default)]
pub struct Later<T> {
    value: OnceLock<T>,
    given: Notify,
}

impl<T> Later<T> {
    pub fn give(&self, value: T) {
        let _ = self.value.set(value);
        self.given.notify_waiters();
    }

    async fn get(&self) -> &T {
        loop {
            // Made before the look, so that a give in between still wakes it.
            let given = self.given.notified();
            if let Some(value) = self.value.get() {
                return value;
            }
            given.await;
        }
    }
}

/// Whether any step may move production's name (or the playbook names its endpoints): else
/// there is no production endpoint to read the account for.
fn could_move(pb: &Playbook) -> bool {
    !pb.production.endpoints.is_empty() || pb.steps.iter().any(|s| s.kind.moves_production)
}

/// Every part of production the plan leaves behind (`moves`: what its steps say of
/// production, [`Moves::of`], given once they are planned: the account's reads go on
/// meanwhile), in every account the playbook can read, with those the playbook ignores
/// marked so.
pub async fn check(pb: &Playbook, moves: &Later<Moves>, ctx: &Ctx) -> Checked {
    // Rules and schedules are production's when they send to its queues, which its
    // parameters name: both are read at once, then compared.
    let sends = async {
        let (reads, (queues, named)) =
            tokio::join!(schedules::read(pb, ctx), queues::check(pb, moves, ctx));
        let schedules = schedules::check(moves.get().await, &named, reads, ctx);
        [queues, schedules]
    };
    let (mut checked, workers, cdn, sends) = tokio::join!(
        dns::check(pb, moves, ctx),
        workers::check(pb, moves, ctx),
        cdn::check(pb, moves, ctx),
        sends
    );
    for part in [workers, cdn].into_iter().chain(sends) {
        checked.findings.extend(part.findings);
        checked.unchecked.extend(part.unchecked);
    }
    let covered: BTreeSet<&str> = pb
        .steps
        .iter()
        .flat_map(|s| s.covers.iter().map(String::as_str))
        .collect();
    // Only when everything was read can a name be said to match nothing.
    if checked.unchecked.is_empty() {
        let found: BTreeSet<&str> = checked.findings.iter().map(|f| f.id.as_str()).collect();
        let ignored = pb
            .coverage
            .ignore
            .iter()
            .map(|i| ("coverage.ignore", i.id.as_str()));
        let covers = covered.iter().map(|id| ("a step's covers:", *id));
        checked.stale = ignored
            .chain(covers)
            .filter(|(_, id)| !found.contains(id))
            .map(|(what, id)| {
                format!(
                    "{what} names `{}`, which the coverage check did not find: a typo, or a part of production since gone",
                    escape::value(id)
                )
            })
            .collect();
    }
    let mut seen = BTreeSet::new();
    checked
        .findings
        .retain(|f| !covered.contains(f.id.as_str()) && seen.insert(f.id.clone()));
    for finding in &mut checked.findings {
        if let Some(ignore) = pb.coverage.ignore.iter().find(|i| i.id == finding.id) {
            finding.ignored = true;
            finding.reason = Some(ignore.reason.clone());
        }
    }
    checked
}

impl Checked {
    /// The findings and what went unread as YAML comments, for the end of a draft (`standin
    /// init`): each part with why, and its cover to uncomment under `steps:`.
    pub fn as_comments(&self) -> String {
        let mut out = String::new();
        if self.findings.is_empty() && self.unchecked.is_empty() {
            return out;
        }
        out.push_str("\n# Coverage, as `standin plan` checks it: ");
        if self.findings.is_empty() {
            out.push_str("nothing of production left behind that could be read.\n");
        } else {
            out.push_str(&format!(
                "{} part(s) of production this draft leaves behind.\n# Uncomment a cover under `steps:` (fill in its <placeholders>), or leave the part\n# out on purpose under `coverage: {{ignore: [{{id: ID, reason: WHY}}]}}`.\n",
                self.findings.len()
            ));
        }
        for f in &self.findings {
            out.push_str(&format!("#\n# {}: {}\n#   {}\n", f.id, f.resource, f.why));
            for line in f.cover.lines() {
                out.push_str(&format!("#   {line}\n"));
            }
        }
        for unchecked in &self.unchecked {
            out.push_str(&format!("# Not checked: {unchecked}\n"));
        }
        out
    }
}

/// What the coverage check reads, in every account: read-only calls, for the plan's policy.
pub fn needs() -> Needs {
    Needs {
        plan: vec![
            Grant::any(&["route53:ListHostedZones"]),
            Grant::new(&["route53:ListResourceRecordSets"], [arn::hosted_zones()]),
            Grant::any(&[
                "elasticbeanstalk:DescribeEnvironments",
                "tag:GetResources",
                "autoscaling:DescribeAutoScalingGroups",
                "events:ListEventBuses",
                "events:ListRules",
                "events:ListTargetsByRule",
                "events:ListApiDestinations",
                "scheduler:ListSchedules",
                "cloudfront:ListDistributions",
            ]),
            // Production's and the stand-in's prefixes: which, a plan knows only from steps.
            Grant::new(&["ssm:GetParametersByPath"], [arn::parameter("*")]),
        ],
        run: Vec::new(),
    }
}

/// A `confirm` step that asks a person `question` and covers the finding `id` (its step id:
/// `verb` and the whole finding id, so that no two covers share one): the cover of a part
/// standin does not change itself, as playbook YAML.
fn by_hand(verb: &str, id: &str, question: &str) -> String {
    format!(
        "- id: {}\n  kind: confirm\n  covers: [{}]\n  message: {}\n",
        yaml(&format!("{verb}-{}", id_of(id))),
        yaml(id),
        yaml(question)
    )
}

/// ` in account `NAME`` for a message about `account` (nothing for the playbook's own).
fn in_account(account: Option<&str>) -> String {
    account.map_or(String::new(), |a| format!(" in account `{a}`"))
}

/// `@NAME`, the end of a finding's id in `account` (nothing for the playbook's own).
fn at(account: Option<&str>) -> String {
    account.map_or(String::new(), |a| format!("@{a}"))
}

/// A DNS name as compared: lower case, without the final dot, and without the `dualstack.`
/// that Elastic Load Balancing puts before its names for IPv6 (the same load balancer).
fn host(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match name.strip_prefix("dualstack.") {
        Some(rest) => rest.to_owned(),
        None => name,
    }
}

/// A step id from `text`: letters, digits and `-`, as the playbook takes ids (a wildcard is
/// `wildcard`, so `*.example.com` and `example.com` differ).
fn id_of(text: &str) -> String {
    let id: String = text
        .replace('*', "wildcard")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    id.trim_matches('-').to_owned()
}

/// `text` as one YAML scalar, quoted where YAML would read it otherwise (`*`, `#`, `: `, a
/// line break), so a cover pasted under `steps:` says exactly this.
fn yaml(text: &str) -> String {
    serde_yaml::to_string(text)
        .map(|s| s.trim_end().to_owned())
        .unwrap_or_else(|_| format!("{text:?}"))
}
