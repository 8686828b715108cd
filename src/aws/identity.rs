//! A proof of who someone is that another process checks with AWS itself: an STS
//! GetCallerIdentity request presigned with their credentials (the scheme of HashiCorp
//! Vault's AWS IAM auth and of aws-iam-authenticator). Whoever holds it can send it to STS,
//! which answers the signer's ARN; it cannot be forged without the signer's secret key, and
//! it expires ([`VALID`]). The request also signs `x-standin-purpose` (an approval's run and
//! step), so a proof made for one purpose proves nothing for another; and the checker sends it
//! only to an STS endpoint it trusts, never to a host the proof names.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use serde::{Deserialize, Serialize};

/// How long a proof stays valid: STS refuses it after this.
pub const VALID: Duration = Duration::from_secs(15 * 60);

/// The header whose value the proof signs.
const PURPOSE: &str = "x-standin-purpose";

/// A presigned GetCallerIdentity request: its URL, query signature included. It grants no
/// access to anything (GetCallerIdentity needs no permission and changes nothing).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Proof {
    pub url: String,
}

/// The STS endpoint of a configuration: its endpoint URL when one is set (an emulator, a
/// VPC endpoint), else the regional endpoint of its region.
fn endpoint(config: &SdkConfig) -> Result<String, String> {
    if let Some(url) = config.endpoint_url() {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let region = config
        .region()
        .ok_or("no AWS region is set (AWS_REGION), so there is no STS endpoint to prove to")?;
    let suffix = if region.as_ref().starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Ok(format!("https://sts.{region}.{suffix}"))
}

/// Presigns GetCallerIdentity with the configuration's credentials, for `purpose`.
pub async fn prove(config: &SdkConfig, purpose: &str) -> Result<Proof, String> {
    let provider = config
        .credentials_provider()
        .ok_or("no AWS credentials are configured")?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| format!("cannot load AWS credentials: {}", super::error_chain(&e)))?;
    let region = config
        .region()
        .map_or_else(|| "us-east-1".to_owned(), |r| r.as_ref().to_owned());
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(VALID);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("sts")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| format!("cannot sign: {e}"))?
        .into();
    let base = format!(
        "{}/?Action=GetCallerIdentity&Version=2011-06-15",
        endpoint(config)?
    );
    let host = reqwest::Url::parse(&base)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_owned();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .ok_or("the STS endpoint is not a URL")?;
    let headers = [("host", host.as_str()), (PURPOSE, purpose)];
    let signable =
        SignableRequest::new("GET", &base, headers.into_iter(), SignableBody::Bytes(&[]))
            .map_err(|e| format!("cannot sign: {e}"))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| format!("cannot sign: {e}"))?
        .into_parts();
    let mut url = reqwest::Url::parse(&base).map_err(|e| e.to_string())?;
    for (name, value) in instructions.params() {
        url.query_pairs_mut().append_pair(name, value);
    }
    Ok(Proof { url: url.into() })
}

/// Why a proof proves nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    /// STS could not be asked just now (unreachable, no answer): ask again later.
    Unasked(String),
    /// It is not a proof of anyone for this purpose, or STS refused it.
    Refused(String),
}

/// Sends a proof made for `purpose` to the STS endpoint of `own` (the checker's
/// configuration): the ARN STS answers is whom it proves. A proof made for another endpoint,
/// another purpose, or expired, is refused by STS, or before it is sent.
pub async fn check(proof: &Proof, purpose: &str, own: &SdkConfig) -> Result<String, Failed> {
    let refused = |why: String| Failed::Refused(why);
    let url =
        reqwest::Url::parse(&proof.url).map_err(|_| refused("the proof is not a URL".into()))?;
    let trusted = reqwest::Url::parse(&endpoint(own).map_err(Failed::Unasked)?)
        .map_err(|e| Failed::Unasked(e.to_string()))?;
    // Only STS may vouch: a proof that names another host (one its maker runs, which would
    // answer any ARN) is never sent.
    if (url.scheme(), url.host_str(), url.port_or_known_default())
        != (
            trusted.scheme(),
            trusted.host_str(),
            trusted.port_or_known_default(),
        )
    {
        return Err(refused(format!(
            "it is made for {}, not for the STS endpoint this process trusts ({}): make it with the same region or endpoint",
            crate::escape::origin(proof.url.as_str()),
            crate::escape::origin(trusted.as_str())
        )));
    }
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let value = |key: &str| {
        let mut found = pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        match (found.next(), found.next()) {
            (Some(v), None) => Some(v),
            _ => None,
        }
    };
    // Only the one action, and a signature that covers the purpose: a header it does not
    // sign, STS ignores.
    let signs_purpose =
        value("X-Amz-SignedHeaders").is_some_and(|h| h.split(';').any(|name| name == PURPOSE));
    if value("Action") != Some("GetCallerIdentity")
        || value("Version").is_none()
        || url.path() != "/"
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || pairs
            .iter()
            .any(|(k, _)| !matches!(k.as_str(), "Action" | "Version") && !k.starts_with("X-Amz-"))
    {
        return Err(refused("it is not a GetCallerIdentity request".into()));
    }
    if !signs_purpose {
        return Err(refused(format!(
            "its signature does not cover `{PURPOSE}`, so it proves nothing about this approval"
        )));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failed::Unasked(e.to_string()))?;
    let response = client
        .get(url)
        .header(PURPOSE, purpose)
        .send()
        .await
        .map_err(|e| Failed::Unasked(format!("STS could not be reached: {}", e.without_url())))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| {
        Failed::Unasked(format!(
            "STS's answer could not be read: {}",
            e.without_url()
        ))
    })?;
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(Failed::Unasked(format!("STS answered {status}")));
    }
    if !status.is_success() {
        let code = between(&body, "<Code>", "</Code>").unwrap_or_default();
        return Err(refused(format!(
            "STS refused it ({status}{}): expired, made for another purpose, or not signed by a valid key",
            if code.is_empty() {
                String::new()
            } else {
                format!(" {code}")
            }
        )));
    }
    between(&body, "<Arn>", "</Arn>")
        .map(|arn| {
            arn.replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .filter(|arn| arn.starts_with("arn:"))
        .ok_or_else(|| refused("STS's answer names no ARN".into()))
}

/// The text between the first `open` and the `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}
