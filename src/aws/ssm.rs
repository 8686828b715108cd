//! Parameter Store reads and writes. Values live only in memory: what is journaled about a
//! parameter is its name, version and type, and a SecureString's value is never formatted.
//!
//! DescribeParameters is eventually consistent: right after a write it may not list a
//! parameter just created, still list one just deleted, or give a parameter's previous version's
//! KMS key and attributes. GetParameter(s) and GetParameterHistory see the write. So which
//! parameters exist, at which version, and what they hold are read with those; metadata from
//! DescribeParameters counts only when it is of the version they found (else it comes from that
//! version's history). Only a listing of a path has to trust DescribeParameters alone.

use std::collections::BTreeMap;
use std::fmt;

/// `String`, `StringList` or `SecureString`.
pub use aws_sdk_ssm::types::ParameterType;
use aws_sdk_ssm::types::{
    Parameter, ParameterHistory, ParameterInlinePolicy, ParameterMetadata, ParameterStringFilter,
    ParameterTier,
};
use aws_sdk_ssm::Client;
use serde::{Deserialize, Serialize};

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
    /// What else defines the parameter besides its value.
    pub attrs: Attrs,
    /// When it was last written (milliseconds since the epoch), where read: with the version,
    /// what tells that it is still the same (a parameter deleted and created again restarts
    /// at version 1).
    pub modified: Option<i64>,
}

/// A parameter's attributes besides its value and type: carried when it is copied, shown when
/// they change, put back on undo. `None` where a write leaves the attribute as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attrs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Standard`, `Advanced` or `Intelligent-Tiering`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// `text` (the default), `aws:ec2:image`, `aws:ssm:integration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// The policies of an Advanced parameter, as the JSON array PutParameter takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<String>,
}

impl Attrs {
    /// Nothing known (an undo record from before attributes were kept).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Whether both describe the same parameter, an absent attribute counting as AWS's
    /// default (a Standard tier, the `text` data type, no description, pattern or policies).
    pub fn same(&self, other: &Self) -> bool {
        self.shown() == other.shown()
    }

    /// These attributes without those that are AWS's defaults: what a plan shows.
    pub fn shown(&self) -> Self {
        let not =
            |v: &Option<String>, default: &str| v.clone().filter(|v| !v.is_empty() && v != default);
        Self {
            description: not(&self.description, ""),
            tier: not(&self.tier, "Standard"),
            data_type: not(&self.data_type, "text"),
            allowed_pattern: not(&self.allowed_pattern, ""),
            policies: not(&self.policies, "[]"),
        }
    }

    /// Whether all of these are AWS's defaults.
    pub fn looks_default(&self) -> bool {
        self.shown().is_default()
    }

    /// Serializes only the attributes that are not AWS's defaults (see [`Attrs::shown`]).
    pub fn serialize_shown<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(s)
    }

    fn of(meta: &ParameterMetadata) -> Self {
        Self {
            description: meta.description().map(str::to_owned),
            tier: meta.tier().map(|t| t.as_str().to_owned()),
            data_type: meta.data_type().map(str::to_owned),
            allowed_pattern: meta.allowed_pattern().map(str::to_owned),
            policies: policies(meta.policies()),
        }
    }

    fn of_history(old: &ParameterHistory) -> Self {
        Self {
            description: old.description().map(str::to_owned),
            tier: old.tier().map(|t| t.as_str().to_owned()),
            data_type: old.data_type().map(str::to_owned),
            allowed_pattern: old.allowed_pattern().map(str::to_owned),
            policies: policies(old.policies()),
        }
    }

    /// These attributes where given, the others as in `base`: what a write leaves.
    pub fn over(&self, base: &Self) -> Self {
        Self {
            description: self
                .description
                .clone()
                .or_else(|| base.description.clone()),
            tier: self.tier.clone().or_else(|| base.tier.clone()),
            data_type: self.data_type.clone().or_else(|| base.data_type.clone()),
            allowed_pattern: self
                .allowed_pattern
                .clone()
                .or_else(|| base.allowed_pattern.clone()),
            policies: self.policies.clone().or_else(|| base.policies.clone()),
        }
    }

    /// What a restore of these (old) attributes sends over `now`: each one that differs, an
    /// absent one as its empty or default value so that it is cleared. Nothing when these are
    /// unknown (an undo record of a journal from before attributes were kept). A tier is never
    /// sent back to Standard (Parameter Store refuses; the plan warns).
    fn restoring(&self, now: &Self) -> Self {
        if *self == Self::default() {
            return Self::default();
        }
        // Absent and empty are the same attribute; send only what differs.
        let pick = |old: &Option<String>, now: &Option<String>, empty: &str| {
            let old = old.clone().unwrap_or_else(|| empty.to_owned());
            (now.as_deref().unwrap_or(empty) != old).then_some(old)
        };
        Self {
            description: pick(&self.description, &now.description, ""),
            tier: self
                .tier
                .clone()
                .filter(|t| t != "Standard" && now.tier.as_ref() != Some(t)),
            data_type: pick(&self.data_type, &now.data_type, "text"),
            allowed_pattern: pick(&self.allowed_pattern, &now.allowed_pattern, ""),
            policies: pick(&self.policies, &now.policies, "[]"),
        }
    }

    /// The attributes that are not AWS's defaults, for a plan: `Advanced`, `data type
    /// aws:ec2:image`, `pattern ^ami-`, `description "..."`, `policies`.
    pub fn notes(&self) -> Vec<String> {
        let shown = self.shown();
        let mut notes = Vec::new();
        if let Some(tier) = shown.tier {
            notes.push(tier);
        }
        if let Some(data_type) = shown.data_type {
            notes.push(format!("data type {data_type}"));
        }
        if let Some(pattern) = shown.allowed_pattern {
            notes.push(format!("pattern {pattern}"));
        }
        if let Some(description) = shown.description {
            notes.push(format!("description {description:?}"));
        }
        if shown.policies.is_some() {
            notes.push("policies".to_owned());
        }
        notes
    }
}

/// Policies as PutParameter takes them: a JSON array of the policies' texts.
fn policies(list: &[ParameterInlinePolicy]) -> Option<String> {
    let texts: Vec<&str> = list.iter().filter_map(|p| p.policy_text()).collect();
    (!texts.is_empty()).then(|| format!("[{}]", texts.join(",")))
}

impl Param {
    pub fn is_secure(&self) -> bool {
        self.ptype == ParameterType::SecureString
    }

    /// Adds what only metadata tells: the KMS key (of a SecureString) and the attributes.
    fn describe(&mut self, meta: Meta) {
        self.key_id = meta.key_id.filter(|_| self.is_secure());
        self.attrs = meta.attrs;
    }

    fn stamp(&self) -> Stamp {
        Stamp {
            version: self.version,
            modified: self.modified,
        }
    }

    fn from_sdk(p: &Parameter) -> Self {
        Self {
            name: p.name().unwrap_or_default().to_owned(),
            ptype: p.r#type().cloned().unwrap_or(ParameterType::String),
            value: p.value().unwrap_or_default().to_owned(),
            version: p.version(),
            key_id: None,
            attrs: Attrs::default(),
            modified: p.last_modified_date().and_then(|t| t.to_millis().ok()),
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

/// Reads one parameter (decrypted, with its KMS key and attributes), or `None` if it does not
/// exist.
pub async fn get(client: &Client, name: &str) -> Result<Option<Param>, AwsError> {
    let Some(param) = get_raw(client, name).await?.as_ref().map(Param::from_sdk) else {
        return Ok(None);
    };
    let mut params = BTreeMap::from([(param.name.clone(), param)]);
    describe_all(client, &mut params, None).await?;
    Ok(params.remove(name))
}

/// GetParameter (decrypted), with "not found" as `None`.
async fn get_raw(client: &Client, name: &str) -> Result<Option<Parameter>, AwsError> {
    match client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .op("SSM.GetParameter")
    {
        Ok(out) => Ok(out.parameter),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The largest pages and batches each API allows.
const PAGE_DESCRIBE: i32 = 50;
/// Names per GetParameters call, and values per DescribeParameters `Name` filter.
const BATCH_GET: usize = 10;
const BATCH_DESCRIBE: usize = 50;
/// Batches read at once.
const READERS: usize = 4;

/// GetParameters over `names`, 10 per call, a few calls at once; absent names are left out.
async fn get_batched(
    client: &Client,
    names: &[String],
    decrypt: bool,
) -> Result<Vec<Parameter>, AwsError> {
    let batches: &Vec<&[String]> = &names.chunks(BATCH_GET).collect();
    let done = super::pace::all(batches.len(), READERS, |i| async move {
        client
            .get_parameters()
            .set_names(Some(batches[i].to_vec()))
            .with_decryption(decrypt)
            .send()
            .await
            .op("SSM.GetParameters")
    })
    .await;
    Ok(done
        .all_or_error()?
        .iter()
        .flat_map(|out| out.parameters().iter().cloned())
        .collect())
}

/// When a parameter was written, as a consistent read (GetParameter(s)) finds it: its version
/// and time of writing (a parameter deleted and created again restarts at version 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub version: i64,
    modified: Option<i64>,
}

impl Stamp {
    fn of(p: &Parameter) -> Self {
        Self {
            version: p.version(),
            modified: p.last_modified_date().and_then(|t| t.to_millis().ok()),
        }
    }

    /// Whether DescribeParameters' entry is of this very write, not one before it.
    fn describes(&self, meta: &ParameterMetadata) -> bool {
        meta.version() == self.version
            && self.modified.is_some()
            && meta.last_modified_date().and_then(|t| t.to_millis().ok()) == self.modified
    }
}

/// What only metadata tells about a version of a parameter: its KMS key and attributes.
struct Meta {
    key_id: Option<String>,
    attrs: Attrs,
}

impl Meta {
    fn of(meta: &ParameterMetadata) -> Self {
        Self {
            key_id: meta.key_id().map(str::to_owned),
            attrs: Attrs::of(meta),
        }
    }

    fn of_history(old: &ParameterHistory) -> Self {
        Self {
            key_id: old.key_id().map(str::to_owned),
            attrs: Attrs::of_history(old),
        }
    }
}

/// The metadata of each parameter at the write `stamps` found, keyed by name: from
/// DescribeParameters (`listed`, when the caller has its answer already; else asked, 50 names
/// per call) where its entry is of that write; else, since DescribeParameters lags writes, from
/// that version's history (one parameter at a time, a few at once). A parameter left out was
/// deleted (or written again) since `stamps` were read: as if read a moment later.
async fn metadata(
    client: &Client,
    stamps: &BTreeMap<String, Stamp>,
    listed: Option<BTreeMap<String, ParameterMetadata>>,
) -> Result<BTreeMap<String, Meta>, AwsError> {
    let listed = match listed {
        Some(listed) => listed,
        None => describe_many(client, &stamps.keys().cloned().collect::<Vec<_>>()).await?,
    };
    let mut found = BTreeMap::new();
    let mut behind = Vec::new();
    for (name, stamp) in stamps {
        match listed.get(name).filter(|m| stamp.describes(m)) {
            Some(meta) => {
                found.insert(name.clone(), Meta::of(meta));
            }
            None => behind.push((name.clone(), stamp.version)),
        }
    }
    let behind = &behind;
    let done = super::pace::all(behind.len(), READERS, |i| async move {
        let (name, version) = &behind[i];
        match history_entry(client, name, *version, false).await {
            Err(e) if e.is_not_found() => Ok(None),
            other => other,
        }
    })
    .await;
    for (old, (name, _)) in done.all_or_error()?.into_iter().zip(behind) {
        if let Some(old) = old {
            found.insert(name.clone(), Meta::of_history(&old));
        }
    }
    Ok(found)
}

/// Adds to each parameter (as GetParameter(s) just read it) its KMS key and attributes, from
/// [`metadata`]; one whose metadata is gone is left out.
async fn describe_all(
    client: &Client,
    params: &mut BTreeMap<String, Param>,
    listed: Option<BTreeMap<String, ParameterMetadata>>,
) -> Result<(), AwsError> {
    let stamps = params.iter().map(|(n, p)| (n.clone(), p.stamp())).collect();
    let mut found = metadata(client, &stamps, listed).await?;
    params.retain(|name, param| match found.remove(name) {
        Some(meta) => {
            param.describe(meta);
            true
        }
        None => false,
    });
    Ok(())
}

/// Reads the named parameters again (decrypted, with KMS key ids and attributes), keyed by
/// full name; absent ones are left out. Which exist, and at which write, from GetParameters
/// without decryption (10 names per call): a parameter still at the write `known` (what an
/// earlier read saw) holds what was read then; the others (decrypted again only if secret)
/// are read anew, with their metadata (see [`metadata`]).
pub async fn reread(
    client: &Client,
    names: &[String],
    known: &BTreeMap<String, Param>,
) -> Result<BTreeMap<String, Param>, AwsError> {
    let mut params = BTreeMap::new();
    let mut changed = BTreeMap::new();
    let mut secrets = Vec::new();
    for p in get_batched(client, names, false).await? {
        let read = Param::from_sdk(&p);
        match known
            .get(&read.name)
            .filter(|k| k.modified.is_some() && k.stamp() == read.stamp())
        {
            Some(same) => {
                params.insert(read.name.clone(), same.clone());
            }
            // Its value as read is ciphertext: never kept.
            None if read.is_secure() => secrets.push(read.name),
            None => {
                changed.insert(read.name.clone(), read);
            }
        }
    }
    for p in get_batched(client, &secrets, true).await? {
        let read = Param::from_sdk(&p);
        changed.insert(read.name.clone(), read);
    }
    describe_all(client, &mut changed, None).await?;
    params.extend(changed);
    Ok(params)
}

/// The named parameters' metadata as DescribeParameters lists it, keyed by name (50 names per
/// call): possibly behind the latest writes.
async fn describe_many(
    client: &Client,
    names: &[String],
) -> Result<BTreeMap<String, ParameterMetadata>, AwsError> {
    let batches: &Vec<&[String]> = &names.chunks(BATCH_DESCRIBE).collect();
    let done = super::pace::all(batches.len(), READERS, |i| {
        described(client, "Name", "Equals", batches[i].to_vec())
    })
    .await;
    Ok(done.all_or_error()?.into_iter().flatten().collect())
}

/// Every page of DescribeParameters for one filter, keyed by name.
async fn described(
    client: &Client,
    key: &str,
    option: &str,
    values: Vec<String>,
) -> Result<BTreeMap<String, ParameterMetadata>, AwsError> {
    let filter = ParameterStringFilter::builder()
        .key(key)
        .option(option)
        .set_values(Some(values))
        .build()
        .expect("key is set");
    let mut found = BTreeMap::new();
    let mut pages = client
        .describe_parameters()
        .parameter_filters(filter)
        .max_results(PAGE_DESCRIBE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for meta in page.op("SSM.DescribeParameters")?.parameters() {
            if let Some(name) = meta.name() {
                found.insert(name.to_owned(), meta.clone());
            }
        }
    }
    Ok(found)
}

/// The names of every parameter in a path (below `/`), 50 per DescribeParameters page; no
/// value is read.
pub async fn all_names(client: &Client) -> Result<Vec<String>, AwsError> {
    Ok(described(client, "Path", "Recursive", vec!["/".to_owned()])
        .await?
        .into_keys()
        .collect())
}

/// The values of the named parameters of type `String`, without decrypting anything (10 names
/// per GetParameters); secrets, lists and absent names are left out.
pub async fn string_values(
    client: &Client,
    names: &[String],
) -> Result<BTreeMap<String, String>, AwsError> {
    Ok(get_batched(client, names, false)
        .await?
        .iter()
        .filter(|p| p.r#type() == Some(&ParameterType::String))
        .filter_map(|p| Some((p.name()?.to_owned(), p.value()?.to_owned())))
        .collect())
}

/// The values (decrypted: keep them in memory, never print them) of the named parameters at
/// the given versions, 10 per GetParameters (`NAME:VERSION` selectors), keyed by name; a
/// version no longer kept (Parameter Store keeps the last 100) is left out.
pub async fn values_at(
    client: &Client,
    wanted: &[(String, i64)],
) -> Result<BTreeMap<String, String>, AwsError> {
    let selectors: Vec<String> = wanted.iter().map(|(n, v)| format!("{n}:{v}")).collect();
    Ok(get_batched(client, &selectors, true)
        .await?
        .iter()
        .filter(|p| {
            wanted
                .iter()
                .any(|(n, v)| p.name() == Some(n.as_str()) && p.version() == *v)
        })
        .filter_map(|p| Some((p.name()?.to_owned(), p.value()?.to_owned())))
        .collect())
}

/// When each named parameter was last written (its version), without decrypting anything,
/// keyed by name; absent ones are left out (10 names per call).
pub async fn versions(
    client: &Client,
    names: &[String],
) -> Result<BTreeMap<String, Stamp>, AwsError> {
    Ok(get_batched(client, names, false)
        .await?
        .iter()
        .filter_map(|p| Some((p.name()?.to_owned(), Stamp::of(p))))
        .collect())
}

/// Reads every parameter below `path` (recursively, decrypted, with KMS key ids and
/// attributes), keyed by the name relative to `path`.
///
/// DescribeParameters first (50 per page: the names, types, keys and attributes), then the
/// values with GetParameters, 10 names per call and several calls at once. GetParametersByPath
/// would give values 10 per page, but its pages follow one another: at a thousand parameters
/// that is a hundred round trips in a row where this makes twenty, then batches side by side.
/// The listing is DescribeParameters' alone: a parameter created a moment ago may be missing
/// from it (one deleted is left out, as GetParameters no longer finds it), and the metadata
/// of one just written comes from its history (see [`metadata`]).
pub async fn get_tree(client: &Client, path: &str) -> Result<BTreeMap<String, Param>, AwsError> {
    let listed = described(
        client,
        "Path",
        "Recursive",
        vec![path.trim_end_matches('/').to_owned()],
    )
    .await?;
    let names: Vec<String> = listed.keys().cloned().collect();
    let mut params: BTreeMap<String, Param> = get_batched(client, &names, true)
        .await?
        .iter()
        .map(Param::from_sdk)
        .map(|p| (p.name.clone(), p))
        .collect();
    describe_all(client, &mut params, Some(listed)).await?;
    Ok(params
        .into_values()
        .map(|param| {
            let relative = param
                .name
                .strip_prefix(path)
                .unwrap_or(&param.name)
                .to_owned();
            (relative, param)
        })
        .collect())
}

/// Writes a parameter (creating or overwriting it) with the attributes it gives (the others
/// stay as they are) and returns the version written.
pub async fn put(client: &Client, param: &Param) -> Result<i64, AwsError> {
    let a = &param.attrs;
    let out = client
        .put_parameter()
        .name(&param.name)
        .value(&param.value)
        .r#type(param.ptype.clone())
        .set_key_id(param.key_id.clone().filter(|_| param.is_secure()))
        .set_description(a.description.clone())
        .set_tier(a.tier.as_deref().map(ParameterTier::from))
        .set_data_type(a.data_type.clone())
        .set_allowed_pattern(a.allowed_pattern.clone())
        .set_policies(a.policies.clone())
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

/// The region `client` calls, where it has one (a parameter's ARN names it).
pub fn region(client: &Client) -> Option<String> {
    client.config().region().map(ToString::to_string)
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
    history_entry(client, name, version, true).await
}

/// One version from a parameter's history, its value decrypted or not, or `None` once it was
/// evicted.
async fn history_entry(
    client: &Client,
    name: &str,
    version: i64,
    decrypt: bool,
) -> Result<Option<ParameterHistory>, AwsError> {
    let mut pages = client
        .get_parameter_history()
        .name(name)
        .with_decryption(decrypt)
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
/// non-secrets the value and attributes, which survive the version's eviction from the
/// history.
pub struct Prior<'a> {
    pub version: i64,
    pub ptype: &'a str,
    pub value: Option<&'a str>,
    pub attrs: &'a Attrs,
    /// A SecureString's KMS key, where known: a restore with `value` encrypts with it.
    pub key_id: Option<&'a str>,
}

/// Whether the parameter holds `prior`'s value and type again (a restore that was not
/// journaled); `false` when that cannot be told (a secret's version evicted).
pub async fn holds(client: &Client, name: &str, prior: &Prior<'_>) -> Result<bool, AwsError> {
    let Some(value) = prior.value else {
        return holds_version(client, name, prior.version).await;
    };
    Ok(get_raw(client, name).await?.is_some_and(|live| {
        live.value() == Some(value) && live.r#type().map(ParameterType::as_str) == Some(prior.ptype)
    }))
}

/// Whether the parameter holds the value and type of its `version` (e.g. written again as a
/// newer version); `false` when that version left the history.
pub async fn holds_version(client: &Client, name: &str, version: i64) -> Result<bool, AwsError> {
    let (Some(live), Some(old)) = (
        get_raw(client, name).await?,
        history_version(client, name, version).await?,
    ) else {
        return Ok(false);
    };
    Ok(live.value() == old.value() && live.r#type() == old.r#type())
}

/// Writes `prior`'s value back as a new version over attributes `now` (as the parameter holds
/// them), every attribute that differs put back exactly, also one the old version did not have
/// (a copied description is cleared). A non-secret comes back from the undo record alone; a
/// secret (or a record from before attributes were kept) from the version in the history.
pub async fn restore_version(
    client: &Client,
    name: &str,
    prior: &Prior<'_>,
    now: &Attrs,
) -> Result<i64, AwsError> {
    let from_record = prior.value.filter(|_| !prior.attrs.is_default());
    let old = match from_record {
        Some(_) => None,
        None => history_version(client, name, prior.version).await?,
    };
    let sent = old
        .as_ref()
        .and_then(|o| o.value())
        .or(prior.value)
        .unwrap_or_default()
        .to_owned();
    let request = match &old {
        Some(old) => client
            .put_parameter()
            .set_value(old.value().map(str::to_owned))
            .set_type(old.r#type().cloned())
            .set_key_id(old.key_id().map(str::to_owned))
            .set_attrs(&Attrs::of_history(old).restoring(now)),
        None => match prior.value {
            Some(value) => client
                .put_parameter()
                .value(value)
                .r#type(ParameterType::from(prior.ptype))
                .set_key_id(prior.key_id.map(str::to_owned))
                .set_attrs(&prior.attrs.restoring(now)),
            None => {
                return Err(AwsError::new("SSM.GetParameterHistory", "ParameterVersionNotFound", format!(
                        "version {} of {name} is no longer in its history (Parameter Store keeps the last 100), and a secret's value is never journaled",
                        prior.version
                    )))
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

/// The attributes of each parameter at the write `stamps` found (see [`versions`]), keyed by
/// name: exact however recent the write (see [`metadata`]).
pub async fn attrs_at(
    client: &Client,
    stamps: &BTreeMap<String, Stamp>,
) -> Result<BTreeMap<String, Attrs>, AwsError> {
    Ok(metadata(client, stamps, None)
        .await?
        .into_iter()
        .map(|(name, meta)| (name, meta.attrs))
        .collect())
}

/// Attributes on a PutParameter request, as a restore sends them. A tier is never set back to
/// Standard: Parameter Store cannot make an Advanced parameter Standard again (the plan warns).
trait SetAttrs {
    fn set_attrs(self, attrs: &Attrs) -> Self;
}

impl SetAttrs for aws_sdk_ssm::operation::put_parameter::builders::PutParameterFluentBuilder {
    fn set_attrs(self, a: &Attrs) -> Self {
        self.set_description(a.description.clone())
            .set_allowed_pattern(a.allowed_pattern.clone())
            .set_data_type(a.data_type.clone())
            .set_tier(
                a.tier
                    .as_deref()
                    .filter(|t| *t != "Standard")
                    .map(ParameterTier::from),
            )
            .set_policies(a.policies.clone())
    }
}

/// Names per DeleteParameters call.
pub const BATCH_DELETE: usize = 10;

/// Deletes the named parameters (at most [`BATCH_DELETE`]) in one call; one already gone
/// counts as deleted.
pub async fn delete_many(client: &Client, names: &[String]) -> Result<(), AwsError> {
    client
        .delete_parameters()
        .set_names(Some(names.to_vec()))
        .send()
        .await
        .op("SSM.DeleteParameters")
        .map(drop)
}
