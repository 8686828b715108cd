//! Guards: assertions about the state a plan leads to, checked when planning and again right
//! before each mutation, so a run stops before the change that would break them.
//!
//! The units: the guard language lives with the model ([`crate::playbook::guard`]); here are
//! the state a plan leads to ([`predicted`]), the live reads guards need ([`live`]), the
//! evaluation of a playbook's own guards ([`evaluate`]) and the built-in guards and warnings
//! ([`builtin`]). Two guards are built in and always on, because they are the mistakes that
//! wipe a production database or break production during a swap; a human can overrule one by
//! name (`--force-guard NAME`), never by accident. Every guard fails closed.

mod builtin;
mod evaluate;
#[cfg(test)]
mod fake;
mod live;
mod predicted;
mod tls;

use std::collections::BTreeSet;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

pub use self::builtin::playbook_warnings;
use self::builtin::{SEVERE, STAGING_DB};
pub use self::live::{Live, LiveAws};
pub use self::predicted::Predicted;
pub use self::tls::serving_warnings;
use crate::iam::{arn, Arn, Grant, Needs};
use crate::playbook::guard::Guard;

/// The built-in guards: name and what each refuses.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        STAGING_DB,
        "a production parameter or property would hold a staging database host",
    ),
    (
        SEVERE,
        "production traffic would go to an environment whose health is Severe, or to one standin cannot classify",
    ),
];

/// A guard's verdict on a plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuardResult {
    pub guard: String,
    pub builtin: bool,
    pub passed: bool,
    /// A failed built-in guard overruled with `--force-guard`.
    #[serde(default)]
    pub forced: bool,
    /// Why it failed (or, when it passed, what it saw).
    pub message: String,
}

impl GuardResult {
    /// True when the guard stops the run.
    pub fn blocks(&self) -> bool {
        !self.passed && !self.forced
    }
}

/// Checks the playbook's guards and the built-in ones against `state`, all at once (their
/// reads are mostly round trips, shared through `live`). A guard that cannot read what it
/// needs fails: guards fail closed.
pub async fn check(
    guards: &[Guard],
    state: &Predicted<'_>,
    live: &dyn Live,
    forced: &BTreeSet<String>,
) -> Vec<GuardResult> {
    let own = join_all(guards.iter().map(|guard| async {
        let failures = evaluate::evaluate(guard, state, live).await;
        GuardResult {
            guard: guard.name.clone(),
            builtin: false,
            passed: failures.is_empty(),
            forced: false,
            message: failures.join("; "),
        }
    }));
    let builtin = async {
        let (staging_db, severe) = tokio::join!(
            builtin::staging_db_in_production(state, live),
            builtin::severe_target(state, live)
        );
        [(STAGING_DB, staging_db), (SEVERE, severe)].map(|(name, failures)| GuardResult {
            guard: name.to_owned(),
            builtin: true,
            passed: failures.is_empty(),
            forced: !failures.is_empty() && forced.contains(name),
            message: failures.join("; "),
        })
    };
    let (mut out, builtin) = tokio::join!(own, builtin);
    out.extend(builtin);
    out
}

/// What the built-in guards read, for every plan (a run checks them again before each
/// change), given what the steps need: the environments (their capacity too, for the
/// playbook's warnings) and load balancers behind records,
/// the account's records (to follow its own domains), and the staging twin of each
/// production parameter a step may write (never every parameter: some are secrets).
pub fn needs(steps: &[&Needs]) -> Needs {
    let mut plan = vec![
        Grant::any(&[
            "elasticbeanstalk:DescribeConfigurationSettings",
            "elasticbeanstalk:DescribeEnvironments",
            "elasticbeanstalk:DescribeEnvironmentResources",
            "elasticloadbalancing:DescribeLoadBalancers",
            // The TLS check (`tls.rs`): the stand-in's listeners, their certificates and rules.
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:DescribeRules",
            "route53:ListHostedZones",
        ]),
        Grant::new(&["route53:ListResourceRecordSets"], [arn::hosted_zones()]),
        Grant::new(
            &["acm:DescribeCertificate"],
            [Arn::regional("acm", "certificate/*")],
        ),
    ];
    let twins: BTreeSet<Arn> = steps
        .iter()
        .flat_map(|n| n.plan.iter().chain(&n.run))
        .filter(|g| g.actions.contains(&"ssm:PutParameter"))
        .flat_map(|g| &g.resources)
        .filter_map(|written| match written {
            Arn::Template {
                service: "ssm",
                resource,
                ..
            } => resource.strip_prefix("parameter"),
            _ => None,
        })
        .flat_map(builtin::staging_twins)
        .map(|twin| arn::parameter(&twin))
        .collect();
    if !twins.is_empty() {
        plan.push(Grant::new(&["ssm:GetParameter"], twins));
    }
    Needs {
        plan,
        run: Vec::new(),
    }
}
