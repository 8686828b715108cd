//! Can the stand-in serve the name it is given? For each record the plan points at a load
//! balancer (a CNAME to an Elastic Beanstalk environment or to the load balancer itself, an
//! alias to it), each HTTPS listener must hold a certificate covering the name (exact, or a
//! wildcard one label up), counting the certificates the plan adds; and no host-header rule may
//! send the name elsewhere. Otherwise browsers show a certificate error and `https://` gates
//! fail with no hint why. Plans warn; `drill --dry` counts these as blockers.

use super::live::{Front, Live};
use super::predicted::Predicted;
use crate::aws::acm;
use crate::steps::{Resource, Value};

/// One sentence per problem, each saying what to add.
pub async fn serving_warnings(state: &Predicted<'_>, live: &dyn Live) -> Vec<String> {
    let mut out = Vec::new();
    for change in &state.changed {
        let (Resource::Record { name, .. }, Some(Value::Record { record })) =
            (&change.resource, &change.after)
        else {
            continue;
        };
        let target = match (&record.alias, record.rtype.as_str()) {
            (Some(alias), _) => alias.dns_name.clone(),
            (None, "CNAME") => match record.values.first() {
                Some(v) => v.clone(),
                None => continue,
            },
            _ => continue,
        };
        let host = name.trim_end_matches('.');
        match live.front(&target).await {
            Ok(Some(front)) => out.extend(check(host, &front, &added(state, &front.name))),
            Ok(None) => {}
            Err(e) => out.push(format!(
                "cannot tell whether {target} can serve {host} over HTTPS: {e}"
            )),
        }
    }
    out
}

/// Names covered by certificates the plan adds to each listener of load balancer `lb`:
/// (listener label, names).
fn added(state: &Predicted<'_>, lb: &str) -> Vec<(String, Vec<String>)> {
    state
        .changed
        .iter()
        .filter_map(|c| match (&c.resource, &c.after) {
            (
                Resource::ListenerCertificate {
                    load_balancer,
                    listener,
                    ..
                },
                Some(Value::Certificate { names, .. }),
            ) if load_balancer == lb => Some((listener.clone(), names.clone())),
            _ => None,
        })
        .collect()
}

fn check(host: &str, front: &Front, added: &[(String, Vec<String>)]) -> Vec<String> {
    let mut out = Vec::new();
    for listener in &front.listeners {
        let label = &listener.label;
        if label.starts_with("HTTPS") {
            let has: Vec<&String> = listener
                .certificates
                .iter()
                .filter(|c| c.issued())
                .flat_map(|c| &c.names)
                .collect();
            let covered = listener
                .certificates
                .iter()
                .any(|c| c.issued() && c.covers(host))
                || added
                    .iter()
                    .any(|(l, names)| l == label && acm::covers(names, host));
            if !covered {
                out.push(format!(
                    "{host} would be served by load balancer {} whose {label} listener has no certificate for {host} (it has: {}): HTTPS clients would get a certificate error; add an `alb.add-certificate` step (load_balancer: {}, domain: {host}) before the repoint, with an ACM certificate for {host} prepared ahead of time (validation takes minutes to hours)",
                    front.name,
                    if has.is_empty() { "none".to_owned() } else { has.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ") },
                    front.name
                ));
            }
        }
        for rule in &listener.rules {
            if rule.priority.is_some()
                && rule
                    .hosts
                    .iter()
                    .any(|h| acm::covers(std::slice::from_ref(h), host))
            {
                out.push(format!(
                    "a host-header rule (priority {}) on {label} of {} matches {host}: requests for {host} would be answered by that rule{}, not by the environment; remove it or add a rule for {host} with a higher priority",
                    rule.priority.unwrap_or_default(),
                    front.name,
                    rule.fixed_status
                        .as_ref()
                        .map_or_else(String::new, |s| format!(" (fixed response {s})"))
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::acm::Certificate;
    use crate::aws::elbv2::HostRule;
    use crate::aws::route53::RecordSet;
    use crate::guards::fake::Fake;
    use crate::guards::live::FrontListener;
    use crate::steps::{Action, Change};

    fn cert(names: &[&str]) -> Certificate {
        Certificate {
            arn: format!("arn:aws:acm:us-east-1:1:certificate/{}", names[0]),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            status: "ISSUED".into(),
        }
    }

    fn front(certs: Vec<Certificate>, rules: Vec<HostRule>) -> Front {
        Front {
            name: "shop-staging-alb".into(),
            listeners: vec![
                FrontListener {
                    label: "HTTP:80".into(),
                    certificates: vec![],
                    rules: vec![],
                },
                FrontListener {
                    label: "HTTPS:443".into(),
                    certificates: certs,
                    rules,
                },
            ],
        }
    }

    fn repoint() -> Change {
        let record = RecordSet {
            values: vec!["shop-staging.us-east-1.elasticbeanstalk.com".into()],
            ttl: Some(60),
            ..RecordSet::new("app.example.com.", "CNAME")
        };
        Change {
            action: Action::Modify,
            resource: Resource::record("app.example.com", "CNAME", None),
            before: None,
            after: Some(Value::Record { record }),
        }
    }

    fn warnings(fake: Fake, extra: Vec<Change>) -> Vec<String> {
        let mut changes = vec![repoint()];
        changes.extend(extra);
        let state = Predicted::new(changes.iter());
        futures_util::FutureExt::now_or_never(serving_warnings(&state, &fake)).unwrap()
    }

    #[test]
    fn a_certificate_for_another_name_is_named_with_what_to_add() {
        let fake = Fake::default().front(
            "shop-staging.us-east-1.elasticbeanstalk.com",
            front(vec![cert(&["staging.example.com"])], vec![]),
        );
        let w = warnings(fake, vec![]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("HTTPS:443 listener has no certificate for app.example.com"));
        assert!(w[0].contains("(it has: staging.example.com)"));
        assert!(w[0].contains("alb.add-certificate"));
    }

    #[test]
    fn an_exact_or_wildcard_certificate_or_one_the_plan_adds_covers_the_name() {
        for certs in [
            vec![cert(&["app.example.com"])],
            vec![cert(&["x.example.com", "*.example.com"])],
        ] {
            let fake = Fake::default().front(
                "shop-staging.us-east-1.elasticbeanstalk.com",
                front(certs, vec![]),
            );
            assert!(warnings(fake, vec![]).is_empty());
        }
        let fake = Fake::default().front(
            "shop-staging.us-east-1.elasticbeanstalk.com",
            front(vec![cert(&["staging.example.com"])], vec![]),
        );
        let add = Change {
            action: Action::Add,
            resource: Resource::ListenerCertificate {
                load_balancer: "shop-staging-alb".into(),
                listener: "HTTPS:443".into(),
                certificate: "arn:aws:acm:us-east-1:1:certificate/app".into(),
            },
            before: None,
            after: Some(Value::Certificate {
                arn: "arn:aws:acm:us-east-1:1:certificate/app".into(),
                names: vec!["app.example.com".into()],
            }),
        };
        assert!(warnings(fake, vec![add]).is_empty());
    }

    #[test]
    fn a_host_rule_that_takes_the_name_elsewhere_is_named() {
        let rule = HostRule {
            arn: "r".into(),
            priority: Some(5),
            hosts: vec!["*.example.com".into()],
            fixed_status: Some("503".into()),
        };
        let fake = Fake::default().front(
            "shop-staging.us-east-1.elasticbeanstalk.com",
            front(vec![cert(&["*.example.com"])], vec![rule]),
        );
        let w = warnings(fake, vec![]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("priority 5") && w[0].contains("fixed response 503"));
    }

    #[test]
    fn a_name_nothing_fronts_is_not_checked() {
        assert!(warnings(Fake::default(), vec![]).is_empty());
    }
}
