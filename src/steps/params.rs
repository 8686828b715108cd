//! What every `ssm.*` kind shares: turning "these parameters should hold these values" into
//! planned changes, a mutation, and one undo record type. Kinds only decide the desired values.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    limits, Action, Change, Ctx, Drift, Journaled, Mutation, ParamValue, Prepared, Resource,
    Secretish, StepError, Undo, Value,
};
use crate::aws::cli::Line;
use crate::aws::pace;
use crate::aws::ssm::{self, Attrs, Param};
use crate::config::AwsSettings;
use crate::iam::{Arn, Grant};

/// One parameter a step wants to hold `desired` (name, type, value, KMS key; version unused).
pub struct Wanted {
    pub current: Option<Param>,
    pub desired: Param,
}

/// What writing and restoring parameters takes, on `resources` (parameter ARNs). SecureStrings
/// need their KMS key too; any key ([`kms_keys`]).
pub fn write_grants(resources: Vec<Arn>) -> Vec<Grant> {
    vec![
        Grant::new(
            &[
                "ssm:PutParameter",
                "ssm:DeleteParameters",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:GetParameterHistory",
            ],
            resources,
        ),
        Grant::new(&["kms:Encrypt", "kms:GenerateDataKey"], [kms_keys()]),
    ]
}

/// What planning writes of parameters takes: `actions` on `read`, and the history of those
/// `written`, which the plan reads where one holds Parameter Store's last 100 versions.
pub fn plan_grants(
    actions: &'static [&'static str],
    read: Vec<Arn>,
    written: Vec<Arn>,
) -> Vec<Grant> {
    let mut grants = read_grants(actions, read);
    grants.push(Grant::new(&["ssm:GetParameterHistory"], written));
    grants
}

/// Any KMS key: a SecureString's is known only once a plan reads it.
fn kms_keys() -> Arn {
    Arn::regional("kms", "key/*")
}

/// What reading parameters takes, on `resources`.
pub fn read_grants(actions: &'static [&'static str], resources: Vec<Arn>) -> Vec<Grant> {
    vec![
        Grant::new(actions, resources),
        Grant::any(&["ssm:DescribeParameters"]),
        Grant::new(&["kms:Decrypt"], [kms_keys()]),
    ]
}

/// Plans the writes: a change line per parameter, and a mutation writing only those that differ;
/// warns where Parameter Store's 100-version limit bites.
pub async fn prepare(ctx: &Ctx, wanted: Vec<Wanted>) -> Result<Prepared, StepError> {
    let arn_prefix = ssm::region(&ctx.aws.ssm).map_or(limits::SHORTEST_ARN_PREFIX, |r| {
        limits::parameter_arn_prefix(&r)
    });
    for w in wanted
        .iter()
        .filter(|w| !w.current.as_ref().is_some_and(|c| unchanged(c, &w.desired)))
    {
        refuse(w, arn_prefix)?;
    }
    let mut warnings = Vec::new();
    for w in &wanted {
        if let Some(current) = w.current.as_ref().filter(|c| !unchanged(c, &w.desired)) {
            warnings.extend(version_limit(ctx, current).await?);
        }
    }
    let mut prepared = changes(wanted);
    prepared.warnings = warnings;
    Ok(prepared)
}

/// Refuses, before any change, a write Parameter Store would refuse for what the parameter
/// is: its name in this region (with its ARN, at most 1011 characters), a value longer than
/// its tier holds (the tier written, else the one it has), or one its allowed pattern (the one
/// written, else its own) does not match. A SecureString's value is never shown.
fn refuse(w: &Wanted, arn_prefix: usize) -> Result<(), StepError> {
    let d = &w.desired;
    let now = w.current.as_ref().map(|c| &c.attrs);
    let attrs = now.map_or_else(|| d.attrs.clone(), |now| d.attrs.over(now));
    limits::parameter_name(&d.name, arn_prefix).map_err(|l| l.on(&d.name))?;
    limits::parameter_value(&d.value, attrs.tier.as_deref()).map_err(|l| l.on(&d.name))?;
    let pattern = attrs.allowed_pattern.as_deref().filter(|p| !p.is_empty());
    // A pattern Rust's regex cannot read is left to Parameter Store to judge.
    if let Some(re) = pattern.and_then(|p| regex::Regex::new(p).ok()) {
        if !re.is_match(&d.value) {
            return Err(StepError::failed(
                &d.name,
                format!(
                    "the value does not match the parameter's allowed pattern `{}`: Parameter Store refuses it (ParameterPatternMismatchException)",
                    crate::escape::value(re.as_str())
                ),
            ));
        }
    }
    Ok(())
}

/// Parameter Store keeps a parameter's last 100 versions: a write then evicts the oldest, or is
/// refused when the oldest carries a label. Undo never needs an evicted version for a
/// non-secret (its value is journaled), but a secret's is read back from the history.
async fn version_limit(ctx: &Ctx, current: &Param) -> Result<Option<String>, StepError> {
    if current.version < ssm::MAX_VERSIONS {
        return Ok(None);
    }
    let (oldest, labels) = ssm::oldest_version(&ctx.aws.ssm, &current.name)
        .await
        .map_err(StepError::aws(&current.name))?;
    Ok(if !labels.is_empty() {
        Some(format!(
            "{}: holds Parameter Store's maximum of {} versions and its oldest (version {oldest}) has labels {}, so this write will be refused (ParameterMaxVersionLimitExceeded); move the labels to a newer version first",
            current.name,
            ssm::MAX_VERSIONS,
            labels.join(", ")
        ))
    } else if current.is_secure() {
        Some(format!(
            "{}: holds Parameter Store's maximum of {} versions, so each write evicts the oldest; rollback reads version {} back from the history (a secret is never journaled), so roll back before {} more writes of it",
            current.name,
            ssm::MAX_VERSIONS,
            current.version,
            ssm::MAX_VERSIONS - 1
        ))
    } else {
        None
    })
}

/// Whether writing `desired` would change nothing: the same value, type and key, and every
/// attribute it gives already as given.
fn unchanged(current: &Param, desired: &Param) -> bool {
    current.value == desired.value
        && current.ptype == desired.ptype
        && (!current.is_secure() || current.key_id == desired.key_id)
        && desired.attrs.over(&current.attrs).same(&current.attrs)
}

fn changes(wanted: Vec<Wanted>) -> Prepared {
    let mut changes = Vec::new();
    let mut writes = Vec::new();
    let mut undo = ParamsUndo { params: Vec::new() };
    for Wanted { current, desired } in wanted {
        let same = current.as_ref().is_some_and(|c| unchanged(c, &desired));
        let next_version = current.as_ref().map_or(1, |c| c.version + 1);
        // What the parameter will be: the attributes a write does not give stay as they are.
        let after = Param {
            attrs: current
                .as_ref()
                .map_or(desired.attrs.clone(), |c| desired.attrs.over(&c.attrs)),
            ..desired.clone()
        };
        changes.push(Change {
            action: match (&current, same) {
                (None, _) => Action::Add,
                (Some(_), true) => Action::Keep,
                (Some(_), false) => Action::Modify,
            },
            resource: Resource::parameter(&desired.name),
            before: current.as_ref().map(|c| show(c, c.version)),
            after: Some({
                let mut after = show(&after, next_version - i64::from(same));
                // The attributes this write sets, for the planner to carry the others forward.
                if let Value::Parameter(p) = &mut after {
                    p.given = Some(desired.attrs.clone());
                }
                after
            }),
        });
        if !same {
            undo.params.push(ParamUndo {
                name: desired.name.clone(),
                before: current.as_ref().map(|c| Prior {
                    version: c.version,
                    ptype: c.ptype.as_str().to_owned(),
                    value: (!c.is_secure()).then(|| c.value.clone()),
                    attrs: c.attrs.clone(),
                    key_id: c.key_id.clone().filter(|_| c.is_secure()),
                }),
                written: None,
                written_attrs: Some(after.attrs.clone()),
            });
            // Every attribute stated, as the parameter will hold it: what a write leaves out
            // is not kept the same way by every Parameter Store (moto resets the data type).
            writes.push(after);
        }
    }
    Prepared {
        changes,
        warnings: Vec::new(),
        mutation: Box::new(ParamsMutation { writes, undo }),
    }
}

/// A parameter as plans show it (a SecureString only by version), at `version`.
pub(super) fn show(param: &Param, version: i64) -> Value {
    let held = if param.is_secure() {
        Secretish::secret(
            version,
            &[&param.value, param.key_id.as_deref().unwrap_or_default()],
        )
    } else {
        Secretish::plain(param.value.clone(), version)
    };
    Value::Parameter(ParamValue {
        held,
        ptype: param.ptype.as_str().to_owned(),
        attrs: param.attrs.clone(),
        given: None,
    })
}

struct ParamsMutation {
    writes: Vec<Param>,
    undo: ParamsUndo,
}

#[async_trait]
impl Mutation for ParamsMutation {
    fn undo_record(&self) -> serde_json::Value {
        serde_json::to_value(&self.undo).expect("undo records serialize")
    }

    /// Writes at once, as many as Parameter Store lets through (see [`pace`]); every write
    /// is in the undo record journaled before this starts.
    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        let (client, writes) = (&ctx.aws.ssm, &self.writes);
        let done = pace::all(writes.len(), pace::MAX, |i| ssm::put(client, &writes[i])).await;
        for (undo, version) in self.undo.params.iter_mut().zip(done.answers) {
            undo.written = version.or(undo.written);
        }
        match done.error {
            Some((i, e)) => Err(StepError::aws(&writes[i].name)(e)),
            None => Ok(()),
        }
    }
}

/// The undo record of every `ssm.*` kind: per parameter, the version before and the version
/// written. Never a SecureString's value: undo reads the old version back from the history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParamsUndo {
    params: Vec<ParamUndo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ParamUndo {
    name: String,
    /// `None`: the parameter did not exist, so undo deletes it.
    before: Option<Prior>,
    /// The version standin wrote; `None` until the write succeeded.
    written: Option<i64>,
    /// The attributes that version holds: undo compares the old ones with them without
    /// reading them back. Journals written before they were kept have none, and undo reads
    /// them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    written_attrs: Option<Attrs>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Prior {
    version: i64,
    #[serde(rename = "type")]
    ptype: String,
    /// The old value, for people reading the journal; absent for SecureStrings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    /// The old attributes (description, tier, ...), put back with a value restored from the
    /// journal. Journals written before they were kept have none.
    #[serde(default, skip_serializing_if = "Attrs::is_default")]
    attrs: Attrs,
    /// A SecureString's KMS key (not a secret): with it and `attrs`, undo needs only the old
    /// version's value, read 10 at a time. Journals written before it was kept have none, and
    /// undo reads the version's history instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
}

/// Names a batch of parameters in an error: the first, and how many more.
fn several(names: &[String]) -> String {
    match names {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
        [] => "parameters".to_owned(),
    }
}

fn describe_version(version: Option<i64>) -> String {
    version.map_or_else(
        || "nothing (deleted)".to_owned(),
        |v| format!("version {v}"),
    )
}

impl ParamUndo {
    fn prior(&self) -> Option<ssm::Prior<'_>> {
        self.before.as_ref().map(|b| ssm::Prior {
            version: b.version,
            ptype: &b.ptype,
            value: b.value.as_deref(),
            attrs: &b.attrs,
            key_id: b.key_id.as_deref(),
        })
    }

    /// Whether `now` is the version this run wrote. A write the journal did not see finish
    /// (the run was killed during it) counts as ours when it is the very next version.
    fn wrote(&self, now: Option<i64>) -> bool {
        match self.written {
            Some(written) => now == Some(written),
            None => now == Some(self.before.as_ref().map_or(1, |b| b.version + 1)),
        }
    }
}

impl Journaled for ParamsUndo {
    const SHAPES: &'static [(&'static str, &'static str)] = &[(
        "",
        r#"`{"params": [{"name", "before", "written"}]}`: `before` is `null` (the parameter did not exist: undo deletes it) or `{"version", "type", "value"}`, `value` only when `type` is not `SecureString` (it lets undo restore a version already gone from the parameter's history); `written` is the version standin wrote, `null` until the write succeeded; `written_attrs` (optional) the attributes that version holds, which undo compares the old ones with instead of reading them back"#,
    )];
}

#[async_trait]
impl Undo for ParamsUndo {
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        let client = &ctx.aws.ssm;
        // Check every parameter first, so a drifted one stops the step before anything is written.
        let mut todo = Vec::new();
        let mut drift = Vec::new();
        let mut lines = Vec::new();
        let names: Vec<String> = self.params.iter().map(|p| p.name.clone()).collect();
        let versions = ssm::versions(client, &names)
            .await
            .map_err(StepError::aws(&several(&names)))?;
        for p in &self.params {
            let now = versions.get(&p.name).map(|s| s.version);
            if now == p.before.as_ref().map(|b| b.version) {
                continue;
            }
            let ours = p.wrote(now)
                || match p.written {
                    // Ours too: what this run wrote, written again by a later step's undo.
                    Some(written) => ssm::holds_version(client, &p.name, written)
                        .await
                        .map_err(StepError::aws(&p.name))?,
                    None => false,
                };
            if !ours {
                // A rollback that was killed after restoring, before journaling it.
                let restored = match p.prior() {
                    Some(prior) => ssm::holds(client, &p.name, &prior)
                        .await
                        .map_err(StepError::aws(&p.name))?,
                    None => false,
                };
                if restored {
                    lines.push(format!("{}: already as before the run", p.name));
                    continue;
                }
                drift.push(Drift {
                    resource: p.name.clone(),
                    expected: p.written.map_or_else(
                        || "the version after the one recorded, or none".to_owned(),
                        |v| format!("version {v}"),
                    ),
                    found: describe_version(now),
                });
                if !force {
                    continue;
                }
            }
            todo.push(p);
        }
        if !drift.is_empty() && !force {
            return Err(StepError::Drift(drift));
        }
        // The attributes each parameter to restore holds now: those of the version this run
        // wrote, as journaled; the others' read (exactly, however recent the write).
        let mut now: BTreeMap<String, Attrs> = BTreeMap::new();
        let mut unknown = BTreeMap::new();
        for p in todo.iter().filter(|p| p.before.is_some()) {
            let stamp = versions.get(&p.name);
            match p
                .written_attrs
                .as_ref()
                .filter(|_| p.wrote(stamp.map(|s| s.version)))
            {
                Some(attrs) => {
                    now.insert(p.name.clone(), attrs.clone());
                }
                None => {
                    if let Some(stamp) = stamp {
                        unknown.insert(p.name.clone(), *stamp);
                    }
                }
            }
        }
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.keys().cloned().collect();
            now.extend(
                ssm::attrs_at(client, &unknown)
                    .await
                    .map_err(StepError::aws(&several(&names)))?,
            );
        }
        // Restores one by one; deletions of what did not exist before, 10 per call.
        let (restores, deletes): (Vec<&ParamUndo>, Vec<&ParamUndo>) =
            todo.into_iter().partition(|p| p.before.is_some());
        // Secrets whose key and attributes were journaled: their old values, 10 per call
        // (in memory only); the others are read from their history one by one.
        let wanted: Vec<(String, i64)> = restores
            .iter()
            .filter_map(|p| p.before.as_ref().map(|b| (p, b)))
            .filter(|(_, b)| b.value.is_none() && b.key_id.is_some() && !b.attrs.is_default())
            .map(|(p, b)| (p.name.clone(), b.version))
            .collect();
        let secrets = ssm::values_at(client, &wanted)
            .await
            .map_err(StepError::aws(&several(
                &restores.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
            )))?;
        let secrets = &secrets;
        let batches: Vec<Vec<String>> = deletes
            .chunks(ssm::BATCH_DELETE)
            .map(|batch| batch.iter().map(|p| p.name.clone()).collect())
            .collect();
        let (restores, batches, now) = (&restores, &batches, &now);
        let done = pace::all(restores.len() + batches.len(), pace::MAX, |i| async move {
            let Some(p) = restores.get(i) else {
                let names = &batches[i - restores.len()];
                ssm::delete_many(client, names).await?;
                return Ok(names
                    .iter()
                    .map(|name| format!("{name}: deleted (it did not exist before the run)"))
                    .collect());
            };
            let mut prior = p.prior().expect("restores have a prior version");
            if let Some(secret) = secrets.get(&p.name) {
                prior.value = Some(secret);
            }
            let attrs = now.get(&p.name).cloned().unwrap_or_default();
            let version = ssm::restore_version(client, &p.name, &prior, &attrs).await?;
            Ok(vec![format!(
                "{}: restored version {} (as new version {version})",
                p.name, prior.version
            )])
        })
        .await;
        if let Some((i, e)) = done.error {
            let names = match restores.get(i) {
                Some(p) => p.name.clone(),
                None => several(&batches[i - restores.len()]),
            };
            return Err(StepError::aws(&names)(e));
        }
        lines.extend(done.answers.into_iter().flatten().flatten().rev());
        if lines.is_empty() {
            lines.push("parameters already as before the run".to_owned());
        }
        Ok(lines)
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        self.params
            .iter()
            .map(|p| {
                let Some(prior) = &p.before else {
                    return Line::new(aws, "ssm", "delete-parameter")
                        .arg("--name", &p.name)
                        .text();
                };
                let put = Line::new(aws, "ssm", "put-parameter")
                    .arg("--name", &p.name)
                    .arg("--type", &prior.ptype)
                    .flag("--overwrite");
                match &prior.value {
                    Some(value) => put.arg("--value", value),
                    // The secret is read back from the history when the command runs.
                    None => put
                        .output_of(
                            "--key-id",
                            Line::new(aws, "ssm", "get-parameter-history")
                                .arg("--name", &p.name)
                                .query(&format!(
                                    "Parameters[?Version==`{}`].KeyId | [0]",
                                    prior.version
                                )),
                        )
                        .output_of(
                            "--value",
                            Line::new(aws, "ssm", "get-parameter")
                                .arg("--name", &format!("{}:{}", p.name, prior.version))
                                .flag("--with-decryption")
                                .query("Parameter.Value"),
                        ),
                }
                .text()
            })
            .collect()
    }
}
