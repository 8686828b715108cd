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
}

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
        let Some(rest) = text.strip_prefix("s3://") else {
            return Ok(Self::Dir(text.into()));
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
        match text.strip_prefix("dynamodb://") {
            Some(table) if !table.is_empty() && !table.contains('/') => Ok(Self(table.to_owned())),
            _ => Err(format!("`{text}` is not dynamodb://TABLE")),
        }
    }
}

impl fmt::Display for LockTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dynamodb://{}", self.0)
    }
}
