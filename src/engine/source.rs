//! What a saved plan and a run's journal keep of their inputs (the playbook's digest, the
//! `--var`s, where it acts), so that neither is used with another playbook, other values or
//! in other accounts.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::playbook::Playbook;

/// The inputs of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub sha256: String,
    pub vars: BTreeSet<String>,
    /// Where the playbook acts, when it names accounts or a role: the SHA-256 of its `aws:`,
    /// `accounts:` and each step's account as variables made them. The same text with other
    /// `--var` values may act elsewhere; a saved plan or a journal is only for where it was
    /// made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<String>,
    /// The `--var` values, as `SALT:DIGEST` ([`crate::playbook::Given::digest`]): the same
    /// names with other values act on other resources. Absent without `--var`, and in plans
    /// and journals written before it was kept (then only the names are compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
}

impl Source {
    pub fn of(pb: &Playbook) -> Self {
        let mut source = Self::unsalted(pb);
        // Without a salt (no /dev/urandom) the values are not kept: only their names compare.
        if !pb.given.is_empty() {
            source.values = crate::digest::salt()
                .ok()
                .map(|salt| format!("{salt}:{}", pb.given.digest(&salt)));
        }
        source
    }

    /// All but the values' digest, which needs a salt: a kept source's own (see
    /// [`Source::differs`]).
    fn unsalted(pb: &Playbook) -> Self {
        let accounts = crate::config::acts_elsewhere(&pb.aws, &pb.accounts).then(|| {
            let steps: Vec<(&str, Option<&str>)> = pb
                .steps
                .iter()
                .map(|s| (s.id.as_str(), s.account.as_deref()))
                .collect();
            let place = serde_json::json!({"aws": pb.aws, "accounts": pb.accounts, "steps": steps});
            format!("{:x}", Sha256::digest(place.to_string().as_bytes()))
        });
        Self {
            sha256: format!("{:x}", Sha256::digest(pb.text.as_bytes())),
            vars: pb.overridden.clone(),
            accounts,
            values: None,
        }
    }

    /// How `pb` differs from these inputs, if it does; `when` names the moment they were
    /// taken ("the plan was made").
    pub fn differs(&self, pb: &Playbook, when: &str) -> Option<String> {
        let now = Self::unsalted(pb);
        if self.sha256 != now.sha256 {
            return Some(format!(
                "the playbook {} was edited since {when}",
                pb.path.display()
            ));
        }
        if self.vars != now.vars {
            let names = |v: &BTreeSet<String>| {
                v.iter()
                    .map(|n| format!("--var {n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            return Some(format!(
                "{when} with [{}], now given [{}]",
                names(&self.vars),
                names(&now.vars)
            ));
        }
        if self.accounts != now.accounts {
            return Some(format!(
                "with these variables the playbook acts in other accounts (its `aws:`, `accounts:` or a step's `account:`) than when {when}"
            ));
        }
        let same_values = |kept: &str| {
            kept.split_once(':')
                .is_some_and(|(salt, digest)| pb.given.digest(salt) == digest)
        };
        if self
            .values
            .as_deref()
            .is_some_and(|kept| !same_values(kept))
        {
            return Some(format!(
                "{when} with other values of [{}] (only a digest of them is kept: give the ones it was given)",
                now.vars
                    .iter()
                    .map(|n| format!("--var {n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        None
    }
}
