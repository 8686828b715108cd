//! `alb.add-certificate`: attach an ACM certificate to the HTTPS listener(s) of an Application
//! Load Balancer, so the stand-in can serve the production name over TLS (issue 14). The
//! certificate is given by ARN, or found as the one issued certificate covering a name; it is
//! added to each listener's certificate list (SNI), never made the default. Undo removes exactly
//! what the run added, never a default certificate.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    limits, Action, Change, Ctx, Drift, FieldError, Journaled, Kind, Mutation, Prepared, Resource,
    Step, StepError, Undo, Value,
};
use crate::aws::acm::{self, Certificate};
use crate::aws::cli::Line;
use crate::aws::elbv2::{self, Listener};
use crate::config::AwsSettings;
use crate::iam::{Arn, Grant, Needs};

/// Fields of an `alb.add-certificate` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCertificate {
    /// The load balancer's name, e.g. `shop-staging-alb`.
    #[schemars(schema_with = "limits::load_balancer_schema")]
    load_balancer: String,
    /// The ACM certificate, by ARN (in the load balancer's region; ISSUED). `certificate_arn` or
    /// `domain` is required.
    #[serde(default)]
    #[schemars(schema_with = "limits::certificate_arn_schema")]
    certificate_arn: Option<String>,
    /// A name the certificate must cover (exactly, or by a `*.` wildcard one label up): the one
    /// ISSUED ACM certificate covering it, of any key algorithm a load balancer serves (RSA 1024 to
    /// 4096 bits, ECDSA P-256, P-384, P-521). None: the plan fails (requesting and validating a
    /// certificate is not something a run can do, DNS validation takes minutes to hours: prepare it
    /// in calm times); several: the plan fails naming them, give `certificate_arn`.
    #[serde(default)]
    #[schemars(length(max = 255))]
    domain: Option<String>,
    /// Only the HTTPS listeners on these ports, e.g. `[443]`. Default: every HTTPS listener.
    #[serde(default)]
    #[schemars(inner(range(min = 1, max = 65_535)))]
    listeners: Option<Vec<i32>>,
}

impl Kind for AddCertificate {
    const NAME: &'static str = "alb.add-certificate";
    const SUMMARY: &'static str = "attach an ACM certificate (by ARN, or the issued one covering a name) to a load balancer's HTTPS listeners, e.g. one for the production name on the stand-in's; undo removes exactly what was added";
    const EXAMPLE: &'static str = r#"
load_balancer: shop-staging-alb
domain: app.example.com
"#;
    const DOC: &'static str = r#"
Attach an ACM certificate to the HTTPS listeners of an Application Load Balancer, so the
stand-in can serve the production name over TLS (a staging load balancer usually holds only a
certificate for the staging name: clients asking for the production name would get a
certificate error). The certificate joins each listener's certificate list (served by SNI to
the names it covers); the listener's default certificate is not changed. The plan shows one
line per listener, `=` where the listener already has the certificate (as its default or in its
list), and fails when the load balancer has no HTTPS listener. Undo removes the certificate from
exactly the listeners the run added it to, and never removes a default certificate: if the
certificate has become a listener's default since the run, undo refuses (drift; even
`--force` leaves a default in place). A certificate someone already removed counts as removed;
a listener deleted since the run is drift.
"#;
    type Undo = CertificateUndo;

    fn check(&self) -> Result<(), FieldError> {
        match (&self.certificate_arn, &self.domain) {
            (Some(_), Some(_)) => {
                return Err(FieldError::at(
                    "domain",
                    "`certificate_arn` and `domain` are exclusive",
                )
                .hint("name the certificate by ARN, or by the name it must cover, not both"))
            }
            (None, None) => {
                return Err(
                    FieldError::at("certificate_arn", "no certificate given").hint(
                        "give `certificate_arn: ARN`, or `domain: NAME` to use the issued ACM certificate covering NAME",
                    ),
                )
            }
            _ => {}
        }
        if self.listeners.as_ref().is_some_and(Vec::is_empty) {
            return Err(FieldError::at("listeners", "no listener given").hint(
                "list ports (`listeners: [443]`), or leave `listeners` out for every HTTPS listener",
            ));
        }
        limits::load_balancer_name(&self.load_balancer).map_err(|l| l.at(&["load_balancer"]))?;
        if let Some(arn) = &self.certificate_arn {
            limits::certificate_arn(arn).map_err(|l| l.at(&["certificate_arn"]))?;
        }
        if let Some(domain) = &self.domain {
            limits::domain_name(domain).map_err(|l| l.at(&["domain"]))?;
        }
        for (i, port) in self.listeners.iter().flatten().enumerate() {
            limits::port(*port).map_err(|l| l.at(&["listeners".to_owned(), i.to_string()]))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Step for AddCertificate {
    fn needs(&self) -> Needs {
        let listeners = Arn::regional(
            "elasticloadbalancing",
            format!("listener/app/{}/*", self.load_balancer),
        );
        let mut plan = vec![Grant::any(&[
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeListenerCertificates",
        ])];
        match &self.certificate_arn {
            Some(arn) => plan.push(Grant::new(
                &["acm:DescribeCertificate"],
                [Arn::Given(arn.clone())],
            )),
            // Which certificate is not known before the plan lists them.
            None => plan.extend([
                Grant::any(&["acm:ListCertificates"]),
                Grant::new(
                    &["acm:DescribeCertificate"],
                    [Arn::regional("acm", "certificate/*")],
                ),
            ]),
        }
        Needs {
            plan,
            run: vec![Grant::new(
                &[
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates",
                ],
                [listeners],
            )],
        }
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let cert = self.certificate(ctx).await?;
        let shown = Value::Certificate {
            arn: cert.arn.clone(),
            names: cert.names.clone(),
        };
        let mut changes = Vec::new();
        let mut undo = CertificateUndo {
            load_balancer: self.load_balancer.clone(),
            listeners: Vec::new(),
        };
        for listener in self.listeners(ctx).await? {
            let resource = Resource::ListenerCertificate {
                load_balancer: self.load_balancer.clone(),
                listener: listener.label(),
                certificate: cert.arn.clone(),
            };
            let held = elbv2::listener_certificates(&ctx.aws.elbv2, &listener.arn)
                .await
                .map_err(StepError::aws(&resource))?;
            // Already served: as the default, or in the list.
            if held.iter().any(|(arn, _)| *arn == cert.arn) {
                changes.push(Change {
                    action: Action::Keep,
                    resource,
                    before: Some(shown.clone()),
                    after: Some(shown.clone()),
                });
                continue;
            }
            changes.push(Change {
                action: Action::Add,
                resource,
                before: None,
                after: Some(shown.clone()),
            });
            undo.listeners.push(Added {
                listener_arn: listener.arn.clone(),
                listener: listener.label(),
                certificate_arn: cert.arn.clone(),
                added: false,
            });
        }
        Ok(Prepared {
            changes,
            warnings: Vec::new(),
            mutation: Box::new(AddMutation { undo }),
        })
    }
}

impl AddCertificate {
    /// The certificate: the one named, or the one issued certificate covering `domain`.
    async fn certificate(&self, ctx: &Ctx) -> Result<Certificate, StepError> {
        let client = &ctx.aws.acm;
        if let Some(arn) = &self.certificate_arn {
            let resource = format!("certificate {arn}");
            let cert = acm::certificate(client, arn)
                .await
                .map_err(StepError::aws(&resource))?
                .ok_or_else(|| {
                    StepError::failed(
                        &resource,
                        "no such certificate in ACM (in this region, which must be the load balancer's)",
                    )
                })?;
            if !cert.issued() {
                return Err(StepError::failed(
                    &resource,
                    format!(
                        "is {}, not ISSUED: a load balancer serves only issued certificates",
                        if cert.status.is_empty() {
                            "of unknown status"
                        } else {
                            &cert.status
                        }
                    ),
                ));
            }
            return Ok(cert);
        }
        let domain = self.domain.clone().unwrap_or_default();
        let resource = format!("certificate for {domain}");
        let mut found = acm::covering(client, &domain)
            .await
            .map_err(StepError::aws(&resource))?;
        match found.len() {
            0 => Err(StepError::failed(
                &resource,
                format!(
                    "no issued ACM certificate in this region covers {domain}; requesting and validating one is not something a run can do (DNS validation takes minutes to hours): prepare one in calm times (`aws acm request-certificate --domain-name {domain} --validation-method DNS`), then run again"
                ),
            )),
            1 => Ok(found.remove(0)),
            n => Err(StepError::failed(
                &resource,
                format!(
                    "{n} issued ACM certificates cover {domain}: {}; name the one to use with `certificate_arn:`",
                    found.iter().map(describe).collect::<Vec<_>>().join("; ")
                ),
            )),
        }
    }

    /// The listeners to add the certificate to: the HTTPS ones on `listeners`' ports, or every
    /// HTTPS one.
    async fn listeners(&self, ctx: &Ctx) -> Result<Vec<Listener>, StepError> {
        let client = &ctx.aws.elbv2;
        let resource = format!("load balancer {}", self.load_balancer);
        let lb = elbv2::load_balancer(client, &self.load_balancer)
            .await
            .map_err(StepError::aws(&resource))?
            .ok_or_else(|| StepError::failed(&resource, "no such load balancer"))?;
        let all = elbv2::listeners(client, &lb)
            .await
            .map_err(StepError::aws(&resource))?;
        let has = || {
            if all.is_empty() {
                "none".to_owned()
            } else {
                all.iter()
                    .map(Listener::label)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let Some(ports) = &self.listeners else {
            let https: Vec<Listener> = all
                .iter()
                .filter(|l| l.protocol == "HTTPS")
                .cloned()
                .collect();
            if https.is_empty() {
                return Err(StepError::failed(
                    resource,
                    format!(
                        "has no HTTPS listener (it has {}): a certificate goes on an HTTPS listener; create one (with its default certificate) first",
                        has()
                    ),
                ));
            }
            return Ok(https);
        };
        let mut chosen: Vec<Listener> = Vec::new();
        for port in ports {
            let Some(listener) = all.iter().find(|l| l.port == *port) else {
                return Err(StepError::failed(
                    resource,
                    format!("has no listener on port {port} (it has {})", has()),
                ));
            };
            if listener.protocol != "HTTPS" {
                return Err(StepError::failed(
                    resource,
                    format!(
                        "its listener on port {port} is {}: a certificate goes on an HTTPS listener",
                        listener.label()
                    ),
                ));
            }
            if !chosen.iter().any(|l| l.arn == listener.arn) {
                chosen.push(listener.clone());
            }
        }
        chosen.sort_by_key(|l| l.port);
        Ok(chosen)
    }
}

/// `ARN (name, name)`, for messages.
fn describe(cert: &Certificate) -> String {
    format!("{} ({})", cert.arn, cert.names.join(", "))
}

struct AddMutation {
    undo: CertificateUndo,
}

#[async_trait]
impl Mutation for AddMutation {
    fn undo_record(&self) -> serde_json::Value {
        serde_json::to_value(&self.undo).expect("listener ids serialize")
    }

    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        let lb = self.undo.load_balancer.clone();
        for entry in &mut self.undo.listeners {
            elbv2::add_listener_certificates(
                &ctx.aws.elbv2,
                &entry.listener_arn,
                std::slice::from_ref(&entry.certificate_arn),
            )
            .await
            .map_err(StepError::aws(entry.resource(&lb)))?;
            entry.added = true;
        }
        Ok(())
    }
}

/// The undo record: every listener the plan adds the certificate to, journaled before the
/// first add; `added` turns true as each add succeeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateUndo {
    load_balancer: String,
    listeners: Vec<Added>,
}

/// The certificate added to one listener's list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Added {
    listener_arn: String,
    /// `HTTPS:443`, for messages.
    listener: String,
    certificate_arn: String,
    /// False until the add succeeded: a run stopped during it may or may not have added it.
    added: bool,
}

impl Added {
    fn resource(&self, load_balancer: &str) -> String {
        Resource::ListenerCertificate {
            load_balancer: load_balancer.to_owned(),
            listener: self.listener.clone(),
            certificate: self.certificate_arn.clone(),
        }
        .to_string()
    }
}

/// What undo finds on a listener.
enum Found {
    /// The listener no longer exists.
    NoListener,
    /// The certificate is the listener's default now (someone made it so).
    Default,
    /// In the list, where the run put it.
    Listed,
    /// Not there (removed since, or never added).
    Absent,
}

impl Journaled for CertificateUndo {
    const SHAPES: &'static [(&'static str, &'static str)] = &[(
        "",
        r#"`{"load_balancer", "listeners": [{"listener_arn", "listener", "certificate_arn", "added"}]}`: one entry per listener the plan adds the certificate to (`listener` is its label, `HTTPS:443`), journaled before the first add; `added` is `false` until that add succeeded (undo removes a certificate found in the list even then: the plan found it absent, so it is the run's)"#,
    )];
}

#[async_trait]
impl Undo for CertificateUndo {
    /// Removes the certificate from each listener the run added it to. Every listener is
    /// checked first, so a drifted one stops the undo before anything is removed. A
    /// certificate already gone counts as removed (a killed rollback can run again); one made
    /// the default since, or a listener deleted since, is drift; a default certificate is
    /// never removed, even with `force`.
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        let client = &ctx.aws.elbv2;
        let mut lines = Vec::new();
        let mut drift = Vec::new();
        let mut remove = Vec::new();
        let mut refused = None;
        for entry in &self.listeners {
            let resource = entry.resource(&self.load_balancer);
            let found = match elbv2::listener_certificates(client, &entry.listener_arn).await {
                Err(e) if e.is_not_found() => Found::NoListener,
                Err(e) => return Err(StepError::aws(&resource)(e)),
                Ok(held) => {
                    let is = |default: bool| {
                        held.iter()
                            .any(|(arn, d)| *arn == entry.certificate_arn && *d == default)
                    };
                    if is(true) {
                        Found::Default
                    } else if is(false) {
                        Found::Listed
                    } else {
                        Found::Absent
                    }
                }
            };
            match found {
                // Without `added` the run stopped while adding it: the plan found it absent,
                // so one in the list now is the one the run added.
                Found::Listed => remove.push((resource, entry)),
                Found::Absent if entry.added => {
                    lines.push(format!("{resource}: already removed"));
                }
                Found::Absent => lines.push(format!("{resource}: was not added by this run")),
                Found::Default if force => {
                    refused = Some(StepError::failed(
                        resource,
                        "is the listener's default certificate now: standin never removes a default certificate, even with --force; make another one the default (aws elbv2 modify-listener), then roll back again",
                    ));
                }
                Found::Default => drift.push(Drift {
                    resource,
                    expected: format!(
                        "{} in the listener's certificate list",
                        entry.certificate_arn
                    ),
                    found: format!(
                        "{} as the listener's default certificate",
                        entry.certificate_arn
                    ),
                }),
                Found::NoListener if force => lines.push(format!(
                    "{resource}: the listener {} no longer exists; nothing to remove",
                    entry.listener_arn
                )),
                Found::NoListener => drift.push(Drift {
                    resource,
                    expected: format!(
                        "listener {} with {} in its certificate list",
                        entry.listener_arn, entry.certificate_arn
                    ),
                    found: "no such listener (deleted since the run)".to_owned(),
                }),
            }
        }
        if !drift.is_empty() {
            return Err(StepError::Drift(drift));
        }
        for (resource, entry) in remove.into_iter().rev() {
            match elbv2::remove_listener_certificates(
                client,
                &entry.listener_arn,
                std::slice::from_ref(&entry.certificate_arn),
            )
            .await
            {
                Ok(()) => lines.push(format!("{resource}: removed")),
                // Removed by someone else between the check and now.
                Err(e) if e.code.as_deref() == Some("CertificateNotFound") => {
                    lines.push(format!("{resource}: already removed"));
                }
                Err(e) => return Err(StepError::aws(&resource)(e)),
            }
        }
        match refused {
            Some(e) => Err(e),
            None => Ok(lines),
        }
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        self.listeners
            .iter()
            .map(|entry| {
                Line::new(aws, "elbv2", "remove-listener-certificates")
                    .arg("--listener-arn", &entry.listener_arn)
                    .args(
                        "--certificates",
                        &[&format!("CertificateArn={}", entry.certificate_arn)],
                    )
                    .text()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(yaml: &str) -> AddCertificate {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn exactly_one_of_certificate_arn_and_domain() {
        let both = step("load_balancer: lb\ncertificate_arn: a\ndomain: d\n");
        assert_eq!(both.check().unwrap_err().path, ["domain"]);
        let neither = step("load_balancer: lb\n");
        let e = neither.check().unwrap_err();
        assert_eq!(e.path, ["certificate_arn"]);
        assert!(e.hint.unwrap().contains("domain: NAME"));
        assert!(step("load_balancer: lb\ndomain: d\n").check().is_ok());
        let none = step("load_balancer: lb\ndomain: d\nlisteners: []\n");
        assert_eq!(none.check().unwrap_err().path, ["listeners"]);
    }

    #[test]
    fn the_undo_record_names_what_was_added_and_reads_back() {
        let undo = CertificateUndo {
            load_balancer: "shop-staging-alb".into(),
            listeners: vec![Added {
                listener_arn: "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/lb/1/2".into(),
                listener: "HTTPS:443".into(),
                certificate_arn: "arn:aws:acm:us-east-1:1:certificate/abc".into(),
                added: true,
            }],
        };
        let json = serde_json::to_value(&undo).unwrap();
        assert_eq!(json["listeners"][0]["listener"], "HTTPS:443");
        let back: CertificateUndo = serde_json::from_value(json).unwrap();
        let aws = AwsSettings {
            region: Some("us-east-1".into()),
            ..AwsSettings::default()
        };
        assert_eq!(
            back.by_hand(&aws),
            ["aws elbv2 remove-listener-certificates --region=us-east-1 \
              --listener-arn=arn:aws:elasticloadbalancing:us-east-1:1:listener/app/lb/1/2 \
              --certificates CertificateArn=arn:aws:acm:us-east-1:1:certificate/abc"]
        );
    }
}
