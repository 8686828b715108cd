//! Parameter Store reads and writes. Values live only in memory: what is journaled about a
//! parameter is its name, version and type, and a SecureString's value is never formatted.
//!
//! DescribeParameters is eventually consistent: right after a write it may not list a
//! parameter just created, still list one just deleted, or give a parameter's previous version's
//! KMS key and attributes. GetParameter(s) and GetParameterHistory see the write. So which
//! parameters exist, at which version, and what they hold are read with those; metadata from
//! DescribeParameters counts only when it is of the version they found (else it comes from that
//! version's history). Only a listing of a path has to trust DescribeParameters alone.
//!
//! The reads are here; what a parameter is lives in `param.rs`, the writes and restores in
//! `write.rs`.

mod param;
mod write;

use std::collections::BTreeMap;

/// `String`, `StringList` or `SecureString`.
pub use aws_sdk_ssm::types::ParameterType;
use aws_sdk_ssm::types::{Parameter, ParameterHistory, ParameterMetadata, ParameterStringFilter};
use aws_sdk_ssm::Client;

use self::param::Meta;
pub use self::param::{Attrs, Param, Stamp};
pub use self::write::{
    delete_many, holds, holds_version, put, restore_version, Prior, BATCH_DELETE,
};
use super::{AwsError, Call};

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

/// The values of every `String` and `StringList` parameter below `path` (recursively), by full
/// name, without decrypting anything: a SecureString's value is never read (GetParametersByPath,
/// 10 per page).
pub async fn plain_values(
    client: &Client,
    path: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let mut found = BTreeMap::new();
    let mut pages = client
        .get_parameters_by_path()
        .path(path.trim_end_matches('/'))
        .recursive(true)
        .with_decryption(false)
        .max_results(10)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for p in page.op("SSM.GetParametersByPath")?.parameters() {
            if p.r#type() == Some(&ParameterType::SecureString) {
                continue;
            }
            if let (Some(name), Some(value)) = (p.name(), p.value()) {
                found.insert(name.to_owned(), value.to_owned());
            }
        }
    }
    Ok(found)
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
