//! ACM certificates: which names a certificate covers, and which certificates cover a name.

use aws_sdk_acm::types::{CertificateStatus, Filters, KeyAlgorithm};
use aws_sdk_acm::Client;

use super::{AwsError, Call};

/// A certificate as TLS checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub arn: String,
    /// Its domain name and every subject alternative name, as ACM lists them.
    pub names: Vec<String>,
    /// `ISSUED`, `PENDING_VALIDATION`, `EXPIRED`, ...
    pub status: String,
}

impl Certificate {
    /// Whether the certificate covers `host`: a name equal to it, or a wildcard `*.parent`
    /// whose parent is `host` less its first label (a wildcard covers one label only).
    /// Names compare without case and without a final dot.
    pub fn covers(&self, host: &str) -> bool {
        covers(&self.names, host)
    }

    pub fn issued(&self) -> bool {
        self.status == "ISSUED"
    }
}

/// Whether any of `names` covers `host` (see [`Certificate::covers`]).
pub fn covers(names: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    names.iter().any(|name| {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        match name.strip_prefix("*.") {
            Some(parent) => host
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == parent),
            None => name == host,
        }
    })
}

/// One certificate, by ARN; `None` when it does not exist.
pub async fn certificate(client: &Client, arn: &str) -> Result<Option<Certificate>, AwsError> {
    let out = match client
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .op("ACM.DescribeCertificate")
    {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(out.certificate().map(|c| {
        let mut names: Vec<String> = c.domain_name().into_iter().map(str::to_owned).collect();
        for san in c.subject_alternative_names() {
            if !names.contains(san) {
                names.push(san.clone());
            }
        }
        Certificate {
            arn: arn.to_owned(),
            names,
            status: c
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        }
    }))
}

/// Every key algorithm a certificate of an Application Load Balancer may have: "Application
/// Load Balancer supports all of the algorithms available from ACM" (ACM User Guide,
/// "Prerequisites for importing certificates"). ListCertificates must be asked for them:
/// without `Includes.keyTypes` it lists only RSA_1024 and RSA_2048 certificates.
const LOAD_BALANCER_KEY_TYPES: [KeyAlgorithm; 7] = [
    KeyAlgorithm::Rsa1024,
    KeyAlgorithm::Rsa2048,
    KeyAlgorithm::Rsa3072,
    KeyAlgorithm::Rsa4096,
    KeyAlgorithm::EcPrime256v1,
    KeyAlgorithm::EcSecp384r1,
    KeyAlgorithm::EcSecp521r1,
];

/// Every issued certificate of the account (in the client's region) that covers `host`, of
/// any key algorithm a load balancer serves.
pub async fn covering(client: &Client, host: &str) -> Result<Vec<Certificate>, AwsError> {
    let mut found = Vec::new();
    let mut pages = client
        .list_certificates()
        .certificate_statuses(CertificateStatus::Issued)
        .includes(
            Filters::builder()
                .set_key_types(Some(LOAD_BALANCER_KEY_TYPES.to_vec()))
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for summary in page.op("ACM.ListCertificates")?.certificate_summary_list() {
            let Some(arn) = summary.certificate_arn() else {
                continue;
            };
            if let Some(cert) = certificate(client, arn).await? {
                if cert.issued() && cert.covers(host) {
                    found.push(cert);
                }
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_wildcard_covers_one_label_and_names_compare_without_case() {
        let names = vec![
            "staging.example.com".to_owned(),
            "*.Example.com.".to_owned(),
        ];
        assert!(covers(&names, "staging.example.com"));
        assert!(covers(&names, "APP.example.com."));
        assert!(!covers(&names, "example.com"));
        assert!(!covers(&names, "a.b.example.com"));
        assert!(!covers(
            &["staging.example.com".to_owned()],
            "app.example.com"
        ));
    }
}
