//! Least privilege: each step says which IAM actions on which resources it needs to be
//! planned, and what running it adds (apply and undo). `standin iam-policy` merges them into a
//! policy document, so a break-glass role can be created before the bad day.

use std::collections::BTreeMap;

use serde::Serialize;

/// Some actions on some resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub actions: &'static [&'static str],
    pub resources: Vec<String>,
}

impl Grant {
    pub fn new(
        actions: &'static [&'static str],
        resources: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            actions,
            resources: resources.into_iter().collect(),
        }
    }

    /// For actions that support no resource-level permissions (List*, Describe*).
    pub fn any(actions: &'static [&'static str]) -> Self {
        Self::new(actions, ["*".to_owned()])
    }
}

/// What a step needs: to be planned (reads), and in addition to be run and undone.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    pub plan: Vec<Grant>,
    pub run: Vec<Grant>,
}

/// ARNs of the resources steps touch; region and account are left open (`*`).
pub mod arn {
    pub fn hosted_zone(zone: &str) -> String {
        let id = zone.trim_start_matches("/hostedzone/");
        if id.contains('.') {
            "arn:aws:route53:::hostedzone/*".to_owned()
        } else {
            format!("arn:aws:route53:::hostedzone/{id}")
        }
    }

    pub fn parameter(name: &str) -> String {
        format!("arn:aws:ssm:*:*:parameter/{}", name.trim_start_matches('/'))
    }

    /// A path and every parameter below it.
    pub fn parameters_under(prefix: &str) -> [String; 2] {
        let path = format!("arn:aws:ssm:*:*:parameter/{}", prefix.trim_matches('/'));
        [format!("{path}/*"), path]
    }

    pub fn environment(name: &str) -> String {
        format!("arn:aws:elasticbeanstalk:*:*:environment/*/{name}")
    }
}

/// Which phase a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// `standin plan`: reads only.
    Plan,
    /// `standin run` and `standin rollback`: reads, writes and undo.
    Run,
}

/// An IAM policy document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: &'static str,
    pub action: Vec<String>,
    pub resource: Vec<String>,
}

/// Merges the steps' needs: one statement per set of resources, with every action any step
/// needs on exactly those resources.
pub fn policy(needs: &[(&str, Needs)], phase: Phase) -> Policy {
    let mut by_resources: BTreeMap<Vec<String>, (Vec<String>, Vec<&str>)> = BTreeMap::new();
    for (step, need) in needs {
        let grants = need.plan.iter().chain(if phase == Phase::Run {
            need.run.iter()
        } else {
            [].iter()
        });
        for grant in grants {
            let mut resources = grant.resources.clone();
            resources.sort();
            resources.dedup();
            let entry = by_resources.entry(resources).or_default();
            entry
                .0
                .extend(grant.actions.iter().map(|a| (*a).to_owned()));
            if !entry.1.contains(step) {
                entry.1.push(step);
            }
        }
    }
    let statement = by_resources
        .into_iter()
        .enumerate()
        .map(|(i, (resource, (mut action, steps)))| {
            action.sort();
            action.dedup();
            // Named after the first step that needs it; numbered to stay unique.
            let first: String = steps[0]
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(capitalize)
                .collect();
            Statement {
                sid: format!("{first}{}", i + 1),
                effect: "Allow",
                action,
                resource,
            }
        })
        .collect();
    Policy {
        version: "2012-10-17",
        statement,
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_actions_on_the_same_resources_and_separates_phases() {
        let dns = Needs {
            plan: vec![
                Grant::any(&["route53:ListHostedZonesByName"]),
                Grant::new(
                    &["route53:ListResourceRecordSets"],
                    [arn::hosted_zone("Z1")],
                ),
            ],
            run: vec![Grant::new(
                &["route53:ChangeResourceRecordSets"],
                [arn::hosted_zone("Z1")],
            )],
        };
        let plan = policy(&[("dns", dns.clone())], Phase::Plan);
        let actions: Vec<&String> = plan.statement.iter().flat_map(|s| &s.action).collect();
        assert_eq!(
            actions,
            [
                "route53:ListHostedZonesByName",
                "route53:ListResourceRecordSets"
            ]
        );
        let run = policy(&[("dns", dns)], Phase::Run);
        let zone = run
            .statement
            .iter()
            .find(|s| s.resource == ["arn:aws:route53:::hostedzone/Z1"])
            .unwrap();
        assert_eq!(
            zone.action,
            [
                "route53:ChangeResourceRecordSets",
                "route53:ListResourceRecordSets"
            ]
        );
        assert_eq!(zone.sid, "Dns2");
    }

    #[test]
    fn arns_name_what_they_can() {
        assert_eq!(
            arn::hosted_zone("example.com"),
            "arn:aws:route53:::hostedzone/*"
        );
        assert_eq!(
            arn::parameters_under("/shop/prod/"),
            [
                "arn:aws:ssm:*:*:parameter/shop/prod/*",
                "arn:aws:ssm:*:*:parameter/shop/prod"
            ]
        );
        assert_eq!(
            arn::parameter("/shop/prod/DB_HOST"),
            "arn:aws:ssm:*:*:parameter/shop/prod/DB_HOST"
        );
    }
}
