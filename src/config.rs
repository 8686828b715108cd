//! Configuration as the playbook and the command line give it: where and as whom to call AWS
//! (`aws:`), and where runs are kept (`state:`, `--state`, `--lock`). Plain data with its
//! parsing, read by the model and consumed by the layers below it.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where and as whom to call AWS; the playbook's `aws:` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// Region for regional services (SSM, Elastic Beanstalk). Default: the standard chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Named profile from the shared config files. Default: the standard chain (AWS_PROFILE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Endpoint for every service, e.g. a local emulator. Default: the real AWS endpoints
    /// (or AWS_ENDPOINT_URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// A role to assume (STS AssumeRole) with the credentials the rest of these settings
    /// give, e.g. `arn:aws:iam::111111111111:role/standin` in a shared networking account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^(arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+|.*\$\{.+)$"
    ))]
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for (with `role_arn` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl AwsSettings {
    /// The first field that is wrong, and why: no control characters anywhere (these values
    /// end up in terminals and in aws CLI lines), a role named by its ARN in IAM's characters,
    /// an external id only with a role and in STS's characters.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        let fields = [
            ("region", &self.region),
            ("profile", &self.profile),
            ("endpoint_url", &self.endpoint_url),
            ("role_arn", &self.role_arn),
            ("external_id", &self.external_id),
        ];
        for (field, value) in fields {
            if value
                .as_deref()
                .is_some_and(|v| v.chars().any(char::is_control))
            {
                return Some((field, format!("`{field}` contains a control character")));
            }
        }
        match (&self.role_arn, &self.external_id) {
            (None, Some(_)) => Some((
                "external_id",
                "`external_id` is only used with `role_arn`".into(),
            )),
            (Some(arn), _) if !is_role_arn(arn) => Some((
                "role_arn",
                "`role_arn` is not a role's ARN: arn:aws:iam::ACCOUNT:role/NAME, ACCOUNT 12 digits, NAME of letters, digits and `+=,.@_-` (a path with `/`)".into(),
            )),
            (_, Some(id)) if !is_external_id(id) => Some((
                "external_id",
                "`external_id` takes 2 to 1224 letters, digits and `+=,.@:/_-`".into(),
            )),
            _ => None,
        }
    }

    /// These settings as a place, spelled one way where AWS (or a network) takes several
    /// spellings alike: an endpoint's host in any case, `localhost`, `127.0.0.1` and `[::1]`,
    /// its default port and a final `/`; a role's ARN in any case (IAM does not tell names
    /// apart by case). Two accounts that are one place compare equal so.
    #[must_use]
    pub fn place(&self) -> Self {
        let endpoint = self.endpoint_url.as_deref().map(|text| {
            let Ok(mut url) = reqwest::Url::parse(text.trim()) else {
                return text.trim().to_ascii_lowercase();
            };
            if matches!(url.host_str(), Some("localhost" | "[::1]" | "::1")) {
                let _ = url.set_host(Some("127.0.0.1"));
            }
            let path = url.path().trim_end_matches('/').to_owned();
            url.set_path(&path);
            url.to_string().trim_end_matches('/').to_owned()
        });
        Self {
            endpoint_url: endpoint,
            role_arn: self.role_arn.as_deref().map(str::to_ascii_lowercase),
            ..self.clone()
        }
    }

    /// These settings over `base`: what they leave out of region, profile and endpoint is
    /// `base`'s; the role is their own (an account's `role_arn` is not the playbook's).
    #[must_use]
    pub fn over(self, base: &Self) -> Self {
        Self {
            region: self.region.or_else(|| base.region.clone()),
            profile: self.profile.or_else(|| base.profile.clone()),
            endpoint_url: self.endpoint_url.or_else(|| base.endpoint_url.clone()),
            ..self
        }
    }
}

/// Whether a playbook with these `aws:` and `accounts:` acts anywhere but as the caller's
/// own credentials: in other accounts, or through a role. Such a run writes journal format
/// 6 (format 5 readers would undo in the wrong place, or refuse `role_arn`), and its plans
/// and journals keep a digest of where it acts.
pub fn acts_elsewhere(aws: &AwsSettings, accounts: &Accounts) -> bool {
    !accounts.is_empty() || aws.role_arn.is_some() || aws.external_id.is_some()
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`, ACCOUNT being 12 digits, PATH and NAME in the
/// characters IAM allows.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
    if partition.starts_with("aws")
        && partition.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && arn.len() <= 2048
        && resource.strip_prefix("role/").is_some_and(|name| {
            !name.is_empty()
                && !name.ends_with('/')
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
        }))
}

/// STS's external id: `[\w+=,.@:/-]{2,1224}`.
fn is_external_id(id: &str) -> bool {
    (2..=1224).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/_-".contains(&b))
}

/// The name a step uses for the playbook's own `aws:` settings; `accounts:` may not use it.
pub const DEFAULT_ACCOUNT: &str = "default";

/// A playbook's `accounts:` block: settings by account name, for steps that act in an account
/// other than the playbook's `aws:` one (DNS in a shared networking account, say).
pub type Accounts = std::collections::BTreeMap<String, AwsSettings>;

/// A `--state` value: a directory, or `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
pub enum Location {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// Parses a `--state` value (no I/O).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err(
                "the state location is empty; give a directory or s3://BUCKET/PREFIX".into(),
            );
        }
        let rest = match scheme(text) {
            None => return Ok(Self::Dir(text.into())),
            Some((scheme, rest)) if scheme == "s3" => rest,
            Some(_) => {
                return Err(format!(
                    "`{text}` is neither a directory nor s3://BUCKET/PREFIX (write `./{text}` for a directory of that name)"
                ))
            }
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("`{text}` names no bucket: s3://BUCKET/PREFIX"));
        }
        Ok(Self::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "{}", dir.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// A `--lock` value: `dynamodb://TABLE`, a table whose partition key is the string `LockID`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
pub struct LockTable(pub String);

impl TryFrom<String> for Location {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl TryFrom<String> for LockTable {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

/// A playbook's `state:` block: where its runs are kept when no `--state` / `--lock` (or their
/// environment variables) say otherwise. Commands without a playbook (`status`, `resume`,
/// `rollback`) still need the flags, which every suggested command repeats.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateBlock {
    /// `s3://BUCKET/PREFIX` or a directory.
    pub location: Location,
    /// `dynamodb://TABLE`.
    #[serde(default)]
    pub lock: Option<LockTable>,
}

impl LockTable {
    pub fn parse(text: &str) -> Result<Self, String> {
        match scheme(text) {
            Some((scheme, table))
                if scheme == "dynamodb" && !table.is_empty() && !table.contains('/') =>
            {
                Ok(Self(table.to_owned()))
            }
            _ => Err(format!("`{text}` is not dynamodb://TABLE")),
        }
    }
}

/// `SCHEME://REST` as (the scheme in lower case, REST): a URL's scheme is case-insensitive
/// (RFC 3986, 3.1), so `S3://b/p` is the team's bucket, never a local directory `S3:`.
/// `None` when `text` does not start with a scheme.
fn scheme(text: &str) -> Option<(String, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| (scheme.to_ascii_lowercase(), rest))
}

impl fmt::Display for LockTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dynamodb://{}", self.0)
    }
}

/// Where a run's evidence is uploaded (`--evidence`, a playbook's `evidence:`): an S3 bucket
/// and prefix, each run under `PREFIX/RUN_ID/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "String")]
#[schemars(with = "String")]
pub struct EvidenceUrl {
    pub bucket: String,
    pub prefix: String,
}

impl EvidenceUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        match Location::parse(text) {
            Ok(Location::S3 { bucket, prefix }) => Ok(Self { bucket, prefix }),
            _ => Err(format!("`{text}` is not s3://BUCKET/PREFIX")),
        }
    }
}

impl TryFrom<String> for EvidenceUrl {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl fmt::Display for EvidenceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// An S3 Object Lock retention mode.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RetainMode {
    /// Users allowed `s3:BypassGovernanceRetention` may shorten or remove it.
    Governance,
    /// No one, the root user included, can shorten or remove it before it ends.
    Compliance,
}

impl fmt::Display for RetainMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        })
    }
}

/// A playbook's `evidence:` block: where each run's and drill's reports, journal and plan are
/// uploaded when it ends, unless `--evidence` says otherwise.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBlock {
    /// `s3://BUCKET/PREFIX`.
    pub to: EvidenceUrl,
    /// How long S3 Object Lock keeps each object, e.g. `400d` (the bucket's default retention
    /// when not given).
    #[serde(default)]
    pub retain: Option<String>,
    /// The retention's mode (default: the bucket's default retention's, else governance).
    #[serde(default)]
    pub retain_mode: Option<RetainMode>,
}
