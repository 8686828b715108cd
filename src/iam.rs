//! Least privilege: each step says which IAM actions on which resources it needs to be
//! planned, and what running it adds (apply and undo). `standin iam-policy` merges them into a
//! policy document, so a break-glass role can be created before the bad day.

use std::collections::BTreeMap;

use serde::Serialize;

/// Some actions on some resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub actions: &'static [&'static str],
    pub resources: Vec<Arn>,
}

impl Grant {
    pub fn new(actions: &'static [&'static str], resources: impl IntoIterator<Item = Arn>) -> Self {
        Self {
            actions,
            resources: resources.into_iter().collect(),
        }
    }

    /// For actions that support no resource-level permissions (List*, Describe*), or whose
    /// resources are not known before a plan reads them.
    pub fn any(actions: &'static [&'static str]) -> Self {
        Self::new(actions, [Arn::Any])
    }
}

/// What a step needs: to be planned (reads), and in addition to be run and undone.
#[derive(Debug, Clone, Default)]
pub struct Needs {
    pub plan: Vec<Grant>,
    pub run: Vec<Grant>,
}

/// A resource a grant names. An ARN's partition is its account's (`aws-cn` in China,
/// `aws-us-gov` in GovCloud, ...: [`partition`]), known only when a policy is made for a
/// region, so standin's own ARNs are templates filled in then; an ARN the playbook gives is
/// taken as given.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arn {
    /// `*`: every resource.
    Any,
    /// `arn:PARTITION:service:region:account:resource`; region and account are `*` (any) or
    /// empty (where the service's ARNs have none).
    Template {
        service: &'static str,
        region: &'static str,
        account: &'static str,
        resource: String,
    },
    /// As the playbook gives it (a listener's, a certificate's, a role's ARN).
    Given(String),
}

impl Arn {
    /// A regional resource in any region and account.
    pub fn regional(service: &'static str, resource: impl Into<String>) -> Self {
        Self::Template {
            service,
            region: "*",
            account: "*",
            resource: resource.into(),
        }
    }

    /// A resource whose ARN has no region (IAM's), in any account.
    pub fn global(service: &'static str, resource: impl Into<String>) -> Self {
        Self::Template {
            service,
            region: "",
            account: "*",
            resource: resource.into(),
        }
    }

    /// A resource whose ARN names neither region nor account (Route 53's, S3 buckets').
    pub fn unowned(service: &'static str, resource: impl Into<String>) -> Self {
        Self::Template {
            service,
            region: "",
            account: "",
            resource: resource.into(),
        }
    }

    /// The ARN in `partition`; with `at` (region, account), those fill what is left open
    /// (`*`), as a simulation of the caller's policies asks about them.
    pub fn render(&self, partition: &str, at: Option<(&str, &str)>) -> String {
        match self {
            Self::Any => "*".to_owned(),
            Self::Given(arn) => arn.clone(),
            Self::Template {
                service,
                region,
                account,
                resource,
            } => {
                let fill = |open: &str, with: Option<&str>| match (open, with) {
                    ("*", Some(value)) => value.to_owned(),
                    _ => open.to_owned(),
                };
                format!(
                    "arn:{partition}:{service}:{}:{}:{resource}",
                    fill(region, at.map(|a| a.0)),
                    fill(account, at.map(|a| a.1))
                )
            }
        }
    }
}

/// Regions outside AWS's standard partition, by the labels their names start with, as AWS's
/// endpoints data (`partitions.json`, each partition's `regionRegex`) has them.
const PARTITIONS: &[(&str, &str)] = &[
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-iso-", "aws-iso"),
    ("us-isob-", "aws-iso-b"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("eusc-de-", "aws-eusc"),
];

/// The partition of `region` (an account and its ARNs are in one): `aws-cn` for `cn-*`,
/// `aws-us-gov` for `us-gov-*`, the ISO and European Sovereign Cloud ones, and `aws` for any
/// other region or none, as the SDKs resolve it (an unknown region is in `aws`).
pub fn partition(region: Option<&str>) -> &'static str {
    let Some(region) = region else { return "aws" };
    let regional = |rest: &str| {
        rest.split_once('-').is_some_and(|(word, number)| {
            !word.is_empty()
                && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        })
    };
    PARTITIONS
        .iter()
        .find(|(prefix, partition)| {
            region.strip_prefix(prefix).is_some_and(regional)
                || region.strip_suffix("-global") == Some(partition)
        })
        .map_or("aws", |(_, partition)| partition)
}

/// The ARNs of the resources steps touch; region and account are left open (`*`).
pub mod arn {
    use super::Arn;

    /// Every hosted zone.
    pub fn hosted_zones() -> Arn {
        Arn::unowned("route53", "hostedzone/*")
    }

    /// A zone given by id; one given by name is any (its id is known once a plan looks it up).
    pub fn hosted_zone(zone: &str) -> Arn {
        let id = zone.trim_start_matches("/hostedzone/");
        if id.contains('.') {
            hosted_zones()
        } else {
            Arn::unowned("route53", format!("hostedzone/{id}"))
        }
    }

    pub fn parameter(name: &str) -> Arn {
        Arn::regional("ssm", format!("parameter/{}", name.trim_start_matches('/')))
    }

    /// A path and every parameter below it.
    pub fn parameters_under(prefix: &str) -> [Arn; 2] {
        let path = prefix.trim_matches('/');
        [parameter(&format!("{path}/*")), parameter(path)]
    }

    pub fn environment(name: &str) -> Arn {
        Arn::regional("elasticbeanstalk", format!("environment/*/{name}"))
    }
}

/// Which commands a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// `standin plan`: reads only.
    Plan,
    /// `standin run`, `resume` and `rollback`: reads, writes and undo.
    Run,
    /// `standin drill` (its snapshot and verification read what a plan reads, its soak checks
    /// the gates) and `drill --dry` (the caller's role, and the simulation of its policies).
    Drill,
    /// `standin init`: the reads it drafts playbooks from (give no playbook).
    Init,
    /// `standin doctor`: the accounts' health, and with a playbook the reads of its dry drill
    /// (a playbook is optional).
    Doctor,
}

impl Phase {
    /// Whether the writes and undo of steps are in it.
    fn runs(self) -> bool {
        matches!(self, Self::Run | Self::Drill)
    }
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

/// Merges the needs: one statement per set of resources (each ARN as `render` writes it),
/// with every action any of them needs on exactly those resources.
pub fn policy(needs: &[(&str, Needs)], phase: Phase, render: impl Fn(&Arn) -> String) -> Policy {
    let mut by_resources: BTreeMap<Vec<String>, (Vec<String>, Vec<&str>)> = BTreeMap::new();
    for (step, need) in needs {
        let grants = need.plan.iter().chain(if phase.runs() {
            need.run.iter()
        } else {
            [].iter()
        });
        for grant in grants {
            let mut resources: Vec<String> = grant.resources.iter().map(&render).collect();
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
        let render = |a: &Arn| a.render("aws", None);
        let plan = policy(&[("dns", dns.clone())], Phase::Plan, render);
        let actions: Vec<&String> = plan.statement.iter().flat_map(|s| &s.action).collect();
        assert_eq!(
            actions,
            [
                "route53:ListHostedZonesByName",
                "route53:ListResourceRecordSets"
            ]
        );
        for phase in [Phase::Run, Phase::Drill] {
            let run = policy(&[("dns", dns.clone())], phase, render);
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
    }

    #[test]
    fn arns_name_what_they_can_in_the_partition_asked_for() {
        let aws = |a: Arn| a.render("aws", None);
        assert_eq!(
            aws(arn::hosted_zone("example.com")),
            "arn:aws:route53:::hostedzone/*"
        );
        assert_eq!(
            arn::parameters_under("/shop/prod/").map(aws),
            [
                "arn:aws:ssm:*:*:parameter/shop/prod/*",
                "arn:aws:ssm:*:*:parameter/shop/prod"
            ]
        );
        let secret = arn::parameter("/shop/prod/DB_HOST");
        assert_eq!(
            secret.render("aws-cn", None),
            "arn:aws-cn:ssm:*:*:parameter/shop/prod/DB_HOST"
        );
        assert_eq!(
            secret.render("aws-us-gov", Some(("us-gov-west-1", "123456789012"))),
            "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/shop/prod/DB_HOST"
        );
        // What has no region or account keeps none; what the playbook gave stays as given.
        assert_eq!(
            arn::hosted_zone("Z1").render("aws-cn", Some(("cn-north-1", "1"))),
            "arn:aws-cn:route53:::hostedzone/Z1"
        );
        let given = Arn::Given("arn:aws:acm:us-east-1:1:certificate/c".into());
        assert_eq!(
            given.render("aws-cn", Some(("cn-north-1", "2"))),
            "arn:aws:acm:us-east-1:1:certificate/c"
        );
        assert_eq!(Arn::Any.render("aws-cn", Some(("cn-north-1", "2"))), "*");
    }

    #[test]
    fn each_region_is_in_its_partition() {
        for (region, wanted) in [
            (None, "aws"),
            (Some("us-east-1"), "aws"),
            (Some("eu-central-2"), "aws"),
            (Some("aws-global"), "aws"),
            (Some("cn-north-1"), "aws-cn"),
            (Some("cn-northwest-1"), "aws-cn"),
            (Some("aws-cn-global"), "aws-cn"),
            (Some("us-gov-west-1"), "aws-us-gov"),
            (Some("us-iso-east-1"), "aws-iso"),
            (Some("us-isob-east-1"), "aws-iso-b"),
            (Some("eu-isoe-west-1"), "aws-iso-e"),
            (Some("us-isof-south-1"), "aws-iso-f"),
            (Some("eusc-de-east-1"), "aws-eusc"),
            // Not a region of those partitions' form: the SDKs' default.
            (Some("cn-north"), "aws"),
            (Some("us-gov-west-x"), "aws"),
            (Some("mars-north-1"), "aws"),
        ] {
            assert_eq!(partition(region), wanted, "{region:?}");
        }
    }
}
