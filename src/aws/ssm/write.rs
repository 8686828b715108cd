//! Parameter Store writes: a parameter put, a run's undo record put back ([`Prior`],
//! [`restore_version`], from the record or the version's history, every attribute exactly),
//! whether that already happened ([`holds`]), and deletes. Apart from the reads because a
//! restore has its own rules (a tier never goes back to Standard, a secret's value comes only
//! from the history, an error never carries the value sent).

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use aws_sdk_ssm::Client;

use super::{get_raw, history_version, Attrs, Param};
use crate::aws::{AwsError, Call};

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
