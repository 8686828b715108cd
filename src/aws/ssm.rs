//! Parameter Store reads and writes. Values live only in memory: what is journaled about a
//! parameter is its name, version and type, and a SecureString's value is never formatted.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_ssm::types::{
    Parameter, ParameterHistory, ParameterStringFilter, ParameterTier, ParameterType,
};
use aws_sdk_ssm::Client;

use super::{AwsError, Call};

/// One parameter as read (decrypted) from Parameter Store.
#[derive(Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub ptype: ParameterType,
    pub value: String,
    pub version: i64,
    /// KMS key of a SecureString (`None` means the account's default `alias/aws/ssm`).
    pub key_id: Option<String>,
}

impl Param {
    pub fn is_secure(&self) -> bool {
        self.ptype == ParameterType::SecureString
    }

    fn from_sdk(p: &Parameter) -> Self {
        Self {
            name: p.name().unwrap_or_default().to_owned(),
            ptype: p.r#type().cloned().unwrap_or(ParameterType::String),
            value: p.value().unwrap_or_default().to_owned(),
            version: p.version(),
            key_id: None,
        }
    }
}

/// Redacts SecureString values so a stray `{:?}` cannot leak them.
impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.is_secure() {
            "<sensitive>"
        } else {
            &self.value
        };
        f.debug_struct("Param")
            .field("name", &self.name)
            .field("type", &self.ptype.as_str())
            .field("value", &value)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Reads one parameter (decrypted, with its KMS key), or `None` if it does not exist.
pub async fn get(client: &Client, name: &str) -> Result<Option<Param>, AwsError> {
    let Some(mut param) = get_raw(client, name, true)
        .await?
        .as_ref()
        .map(Param::from_sdk)
    else {
        return Ok(None);
    };
    if param.is_secure() {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .expect("key is set");
        let out = client
            .describe_parameters()
            .parameter_filters(filter)
            .send()
            .await
            .op("SSM.DescribeParameters")?;
        param.key_id = out
            .parameters()
            .first()
            .and_then(|m| m.key_id())
            .map(str::to_owned);
    }
    Ok(Some(param))
}

/// Current version of a parameter without decrypting it, or `None` if absent.
pub async fn version(client: &Client, name: &str) -> Result<Option<i64>, AwsError> {
    Ok(get_raw(client, name, false)
        .await?
        .as_ref()
        .map(Parameter::version))
}

/// GetParameter, with "not found" as `None`.
async fn get_raw(
    client: &Client,
    name: &str,
    decrypt: bool,
) -> Result<Option<Parameter>, AwsError> {
    match client
        .get_parameter()
        .name(name)
        .with_decryption(decrypt)
        .send()
        .await
        .op("SSM.GetParameter")
    {
        Ok(out) => Ok(out.parameter),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads every parameter below `path` (recursively, decrypted, with KMS key ids), keyed by the
/// name relative to `path`.
pub async fn get_tree(client: &Client, path: &str) -> Result<BTreeMap<String, Param>, AwsError> {
    let mut params = BTreeMap::new();
    let mut pages = client
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for p in page.op("SSM.GetParametersByPath")?.parameters() {
            let param = Param::from_sdk(p);
            let relative = param
                .name
                .strip_prefix(path)
                .unwrap_or(&param.name)
                .to_owned();
            params.insert(relative, param);
        }
    }
    if params.values().any(Param::is_secure) {
        let keys = key_ids(client, path).await?;
        for param in params.values_mut() {
            param.key_id = keys.get(&param.name).cloned().flatten();
        }
    }
    Ok(params)
}

/// KMS key ids of the parameters below `path` (GetParametersByPath does not return them).
async fn key_ids(
    client: &Client,
    path: &str,
) -> Result<BTreeMap<String, Option<String>>, AwsError> {
    let filter = ParameterStringFilter::builder()
        .key("Path")
        .option("Recursive")
        .values(path.trim_end_matches('/'))
        .build()
        .expect("key is set");
    let mut keys = BTreeMap::new();
    let mut pages = client
        .describe_parameters()
        .parameter_filters(filter)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for meta in page.op("SSM.DescribeParameters")?.parameters() {
            if let Some(name) = meta.name() {
                keys.insert(name.to_owned(), meta.key_id().map(str::to_owned));
            }
        }
    }
    Ok(keys)
}

/// Writes a parameter (creating or overwriting it) and returns the version written.
pub async fn put(client: &Client, param: &Param) -> Result<i64, AwsError> {
    let out = client
        .put_parameter()
        .name(&param.name)
        .value(&param.value)
        .r#type(param.ptype.clone())
        .set_key_id(param.key_id.clone().filter(|_| param.is_secure()))
        .overwrite(true)
        .send()
        .await
        .op("SSM.PutParameter")
        .map_err(|e| {
            if param.is_secure() {
                e.redact(&param.value)
            } else {
                e
            }
        })?;
    Ok(out.version())
}

/// How many versions Parameter Store keeps of a parameter.
pub const MAX_VERSIONS: i64 = 100;

/// The oldest version still in a parameter's history, and its labels.
pub async fn oldest_version(client: &Client, name: &str) -> Result<(i64, Vec<String>), AwsError> {
    let page = client
        .get_parameter_history()
        .name(name)
        .send()
        .await
        .op("SSM.GetParameterHistory")?;
    Ok(page
        .parameters()
        .iter()
        .min_by_key(|p| p.version())
        .map(|p| (p.version(), p.labels().to_vec()))
        .unwrap_or_default())
}

/// One version from a parameter's history (SecureStrings decrypted: keep it in memory, never
/// print it), or `None` once it was evicted (Parameter Store keeps the last 100).
pub async fn history_version(
    client: &Client,
    name: &str,
    version: i64,
) -> Result<Option<ParameterHistory>, AwsError> {
    let mut pages = client
        .get_parameter_history()
        .name(name)
        .with_decryption(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.op("SSM.GetParameterHistory")?;
        if let Some(old) = page.parameters().iter().find(|p| p.version() == version) {
            return Ok(Some(old.clone()));
        }
    }
    Ok(None)
}

/// What a parameter held before a run, as its undo record keeps it: the version, and for
/// non-secrets the value, which survives the version's eviction from the history.
pub struct Prior<'a> {
    pub version: i64,
    pub ptype: &'a str,
    pub value: Option<&'a str>,
}

/// Whether the parameter holds `prior`'s value and type again (a restore that was not
/// journaled); `false` when that cannot be told (a secret's version evicted).
pub async fn holds(client: &Client, name: &str, prior: &Prior<'_>) -> Result<bool, AwsError> {
    let Some(value) = prior.value else {
        return holds_version(client, name, prior.version).await;
    };
    Ok(get_raw(client, name, true).await?.is_some_and(|live| {
        live.value() == Some(value) && live.r#type().map(ParameterType::as_str) == Some(prior.ptype)
    }))
}

/// Whether the parameter holds the value and type of its `version` (e.g. written again as a
/// newer version); `false` when that version left the history.
pub async fn holds_version(client: &Client, name: &str, version: i64) -> Result<bool, AwsError> {
    let (Some(live), Some(old)) = (
        get_raw(client, name, true).await?,
        history_version(client, name, version).await?,
    ) else {
        return Ok(false);
    };
    Ok(live.value() == old.value() && live.r#type() == old.r#type())
}

/// Writes `prior`'s value back as a new version, with the old version's attributes from the
/// history; a non-secret whose version was evicted is restored from the undo record's value.
pub async fn restore_version(
    client: &Client,
    name: &str,
    prior: &Prior<'_>,
) -> Result<i64, AwsError> {
    let old = history_version(client, name, prior.version).await?;
    let sent = old
        .as_ref()
        .and_then(|o| o.value())
        .or(prior.value)
        .unwrap_or_default()
        .to_owned();
    let request = match old {
        Some(old) => client
            .put_parameter()
            .set_value(old.value().map(str::to_owned))
            .set_type(old.r#type().cloned())
            .set_key_id(old.key_id().map(str::to_owned))
            .set_description(old.description().map(str::to_owned))
            .set_allowed_pattern(old.allowed_pattern().map(str::to_owned))
            .set_data_type(old.data_type().map(str::to_owned))
            .set_tier(
                old.tier()
                    .filter(|t| **t != ParameterTier::Standard)
                    .cloned(),
            ),
        None => match prior.value {
            Some(value) => client
                .put_parameter()
                .value(value)
                .r#type(ParameterType::from(prior.ptype)),
            None => {
                return Err(AwsError {
                    operation: "SSM.GetParameterHistory",
                    code: Some("ParameterVersionNotFound".into()),
                    message: format!(
                        "version {} of {name} is no longer in its history (Parameter Store keeps the last 100), and a secret's value is never journaled",
                        prior.version
                    ),
                })
            }
        },
    };
    let out = request
        .name(name)
        .overwrite(true)
        .send()
        .await
        .op("SSM.PutParameter")
        .map_err(|e| e.redact(&sent))?;
    Ok(out.version())
}

pub async fn delete(client: &Client, name: &str) -> Result<(), AwsError> {
    client
        .delete_parameter()
        .name(name)
        .send()
        .await
        .op("SSM.DeleteParameter")
        .map(drop)
}
