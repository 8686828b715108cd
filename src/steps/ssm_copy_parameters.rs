//! `ssm.copy-parameters`: make one environment's parameters match another's (the incident's
//! "swap the `.env`"), or exchange both sides. Types, KMS keys and attributes (description,
//! tier, data type, allowed pattern, policies) travel with the values.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::params::{self, Wanted};
use super::{
    limits, Action, Change, Ctx, FieldError, Kind, ParamCopy, Prepared, Resource, Step, StepError,
};
use crate::aws::ssm::{self, Param};
use crate::iam::{arn, Needs};

/// Fields of an `ssm.copy-parameters` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyParameters {
    /// Path prefix to copy from, e.g. `/myapp/prod/` (read recursively).
    #[schemars(schema_with = "limits::parameter_prefix_schema")]
    from: String,
    /// Path prefix to copy to, e.g. `/myapp/staging/`.
    #[schemars(schema_with = "limits::parameter_prefix_schema")]
    to: String,
    /// Only these names (relative to the prefixes). Default: every parameter under `from`.
    #[serde(default)]
    keys: Option<Vec<String>>,
    /// Names left alone, e.g. `[APP_URL]`, which must keep naming the environment itself.
    #[serde(default)]
    except: Vec<String>,
    /// `copy` (default) writes `from` onto `to`; `swap` exchanges both sides (each name must exist
    /// on both).
    #[serde(default)]
    mode: Mode,
    /// Both sides as this process's last plan read them, by full name: the check before the
    /// write decrypts again only what was written since (see [`ssm::reread`]).
    #[serde(skip)]
    seen: Arc<Mutex<BTreeMap<String, Param>>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Copy,
    Swap,
}

impl Kind for CopyParameters {
    const NAME: &'static str = "ssm.copy-parameters";
    const SUMMARY: &'static str = "copy (or swap) the parameters under one path prefix to another, keeping types and KMS keys";
    const EXAMPLE: &'static str = r#"
from: /shop/prod/
to: /shop/staging/
except: [APP_URL]
"#;
    const DOC: &'static str = r#"
Make one environment's parameters match another's (the incident's "swap the `.env`").
Types (String, StringList, SecureString) and KMS keys travel with the values.
"#;
    type Undo = params::ParamsUndo;

    fn check(&self) -> Result<(), FieldError> {
        for (field, path) in [("from", &self.from), ("to", &self.to)] {
            if !path.starts_with('/') {
                return Err(
                    FieldError::at(field, format!("`{path}` is not a path prefix"))
                        .hint("write a path such as `/myapp/prod/`"),
                );
            }
        }
        let (from, to) = (prefix(&self.from), prefix(&self.to));
        if from.starts_with(&to) || to.starts_with(&from) {
            return Err(
                FieldError::at("to", format!("`{to}` and `{from}` overlap")).hint(
                    "copy between two separate prefixes, e.g. `/app/prod/` and `/app/staging/`",
                ),
            );
        }
        if let Some(key) = self.keys.iter().flatten().find(|k| self.except.contains(k)) {
            return Err(FieldError::at(
                "except",
                format!("`{key}` is both in `keys` and in `except`"),
            ));
        }
        self.check_names(&from, &to)
    }
}

impl CopyParameters {
    /// What PutParameter would refuse of the names written: each prefix written, and each
    /// name of `keys` under them (names found under `from` are checked by the plan).
    fn check_names(&self, from: &str, to: &str) -> Result<(), FieldError> {
        let mut written = vec![("to", to)];
        if self.mode == Mode::Swap {
            written.push(("from", from));
        }
        for (field, prefix) in &written {
            limits::parameter_name(prefix.trim_end_matches('/'), limits::SHORTEST_ARN_PREFIX)
                .map_err(|l| l.at(&[*field]))?;
            for (i, key) in self.keys.iter().flatten().enumerate() {
                limits::parameter_name(&format!("{prefix}{key}"), limits::SHORTEST_ARN_PREFIX)
                    .map_err(|l| l.at(&["keys".to_owned(), i.to_string()]))?;
            }
        }
        Ok(())
    }
}

/// Prefixes compare and join with a trailing slash.
fn prefix(path: &str) -> String {
    format!("{}/", path.trim_end_matches('/'))
}

#[async_trait]
impl Step for CopyParameters {
    fn needs(&self) -> Needs {
        let (from, to) = (
            arn::parameters_under(&self.from),
            arn::parameters_under(&self.to),
        );
        let written = if self.mode == Mode::Swap {
            [from.clone(), to.clone()].concat()
        } else {
            to.to_vec()
        };
        Needs {
            plan: params::plan_grants(&["ssm:GetParameters"], [from, to].concat(), written.clone()),
            run: params::write_grants(written),
        }
    }

    fn copies(&self) -> Option<ParamCopy> {
        let seen = self.seen.lock().expect("not poisoned");
        let read = (!seen.is_empty()).then(|| {
            seen.values()
                .filter(|p| !p.is_secure())
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect()
        });
        Some(ParamCopy {
            from: prefix(&self.from),
            to: prefix(&self.to),
            keys: self.keys.clone(),
            except: self.except.clone(),
            read,
        })
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let (from, to) = (prefix(&self.from), prefix(&self.to));
        let client = &ctx.aws.ssm;
        // Both sides at once: each is a round trip or more.
        let (source, target) =
            tokio::join!(ssm::get_tree(client, &from), ssm::get_tree(client, &to));
        let source = source.map_err(StepError::aws(&from))?;
        let target = target.map_err(StepError::aws(&to))?;
        *self.seen.lock().expect("not poisoned") = source
            .values()
            .chain(target.values())
            .map(|p| (p.name.clone(), p.clone()))
            .collect();
        let names: Vec<&String> = match &self.keys {
            Some(keys) => keys.iter().collect(),
            None => source.keys().collect(),
        };
        let names: Vec<&String> = names
            .into_iter()
            .filter(|n| !self.except.contains(n))
            .collect();
        if names.is_empty() {
            return Err(StepError::failed(
                &from,
                "no parameters to copy (is the prefix right?)",
            ));
        }
        let mut prepared = self.prepare(ctx, &source, &target, &names).await?;
        let untouched: Vec<&str> = target
            .keys()
            .filter(|k| !source.contains_key(*k) && !self.except.contains(k))
            .map(String::as_str)
            .collect();
        if self.keys.is_none() && !untouched.is_empty() {
            prepared.warnings.push(format!(
                "{to} has parameters that {from} lacks, left as they are: {}",
                untouched.join(", ")
            ));
        }
        Ok(prepared)
    }

    /// Reads only the parameters the plan writes (both sides of each), in batches, instead
    /// of both prefixes again, and decrypts only those written since the plan read them.
    async fn replan(&self, ctx: &Ctx, planned: &[Change]) -> Result<Prepared, StepError> {
        let (from, to) = (prefix(&self.from), prefix(&self.to));
        // In the plan's order (a swap lists each name twice).
        let mut names: Vec<String> = Vec::new();
        for change in planned.iter().filter(|c| c.action != Action::Keep) {
            let Resource::Parameter { name } = &change.resource else {
                continue;
            };
            let relative = name.strip_prefix(&to).or_else(|| name.strip_prefix(&from));
            if let Some(relative) = relative.filter(|r| !names.iter().any(|n| n == r)) {
                names.push(relative.to_owned());
            }
        }
        let full: Vec<String> = names
            .iter()
            .flat_map(|n| [format!("{from}{n}"), format!("{to}{n}")])
            .collect();
        let seen = self.seen.lock().expect("not poisoned").clone();
        let read = ssm::reread(&ctx.aws.ssm, &full, &seen)
            .await
            .map_err(StepError::aws(&to))?;
        let side = |prefix: &str| -> BTreeMap<String, Param> {
            read.iter()
                .filter_map(|(name, p)| Some((name.strip_prefix(prefix)?.to_owned(), p.clone())))
                .collect()
        };
        let (source, target) = (side(&from), side(&to));
        self.prepare(ctx, &source, &target, &names.iter().collect::<Vec<_>>())
            .await
    }
}

impl CopyParameters {
    /// The changes that make `names` under `to` hold what they hold under `from` (and, to
    /// swap, the other way round), from both sides as read (keyed by relative name).
    async fn prepare(
        &self,
        ctx: &Ctx,
        source: &BTreeMap<String, Param>,
        target: &BTreeMap<String, Param>,
        names: &[&String],
    ) -> Result<Prepared, StepError> {
        let (from, to) = (prefix(&self.from), prefix(&self.to));
        let missing = |side: &BTreeMap<String, Param>| -> Vec<&str> {
            names
                .iter()
                .filter(|n| !side.contains_key(**n))
                .map(|n| n.as_str())
                .collect()
        };
        let absent = missing(source);
        if !absent.is_empty() {
            return Err(StepError::failed(
                &from,
                format!("has no parameter {}", absent.join(", ")),
            ));
        }
        let mut wanted: Vec<Wanted> = names
            .iter()
            .map(|n| Wanted {
                current: target.get(*n).cloned(),
                desired: moved(&source[*n], target.get(*n), &to, n),
            })
            .collect();
        if self.mode == Mode::Swap {
            let absent = missing(target);
            if !absent.is_empty() {
                return Err(StepError::failed(
                    &to,
                    format!("has no parameter {} to swap with {from}", absent.join(", ")),
                ));
            }
            wanted.extend(names.iter().map(|n| Wanted {
                current: source.get(*n).cloned(),
                desired: moved(&target[*n], source.get(*n), &from, n),
            }));
        }
        let upgraded: Vec<String> = wanted
            .iter()
            .filter(|w| {
                w.desired.attrs.tier.as_deref() != Some("Standard")
                    && w.current
                        .as_ref()
                        .is_some_and(|c| c.attrs.tier.as_deref() == Some("Standard"))
                    && w.desired.attrs.tier.is_some()
            })
            .map(|w| w.desired.name.clone())
            .collect();
        let mut prepared = params::prepare(ctx, wanted).await?;
        if !upgraded.is_empty() {
            prepared.warnings.push(format!(
                "{} become(s) Advanced-tier parameters, as at the source; Parameter Store cannot make them Standard again, so a rollback puts their values back and leaves them Advanced",
                upgraded.join(", ")
            ));
        }
        Ok(prepared)
    }
}

/// The parameter `name` written under another prefix, with the same type, key and attributes
/// (an Advanced target stays Advanced: Parameter Store cannot make it Standard again).
fn moved(source: &Param, target: Option<&Param>, prefix: &str, name: &str) -> Param {
    let mut moved = Param {
        name: format!("{prefix}{name}"),
        ..source.clone()
    };
    let target_tier = target.and_then(|t| t.attrs.tier.as_deref());
    if moved.attrs.tier.as_deref() == Some("Standard")
        && target_tier.is_some_and(|t| t != "Standard")
    {
        moved.attrs.tier = None;
    }
    moved
}
