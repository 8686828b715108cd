//! What a parameter is, as standin holds it: its value, type, version and attributes
//! ([`Param`], [`Attrs`]), when it was written ([`Stamp`]), what only metadata tells
//! ([`Meta`]), each made from the SDK's shapes. Apart from the reads and writes because
//! those are about which call to trust; this is only the data, and the care that a
//! SecureString's value is never formatted.

use std::fmt;

use aws_sdk_ssm::types::{
    Parameter, ParameterHistory, ParameterInlinePolicy, ParameterMetadata, ParameterType,
};
use serde::{Deserialize, Serialize};

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

    pub(super) fn of_history(old: &ParameterHistory) -> Self {
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
    pub(super) fn restoring(&self, now: &Self) -> Self {
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
    pub(super) fn describe(&mut self, meta: Meta) {
        self.key_id = meta.key_id.filter(|_| self.is_secure());
        self.attrs = meta.attrs;
    }

    pub(super) fn stamp(&self) -> Stamp {
        Stamp {
            version: self.version,
            modified: self.modified,
        }
    }

    pub(super) fn from_sdk(p: &Parameter) -> Self {
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

/// When a parameter was written, as a consistent read (GetParameter(s)) finds it: its version
/// and time of writing (a parameter deleted and created again restarts at version 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub version: i64,
    modified: Option<i64>,
}

impl Stamp {
    pub(super) fn of(p: &Parameter) -> Self {
        Self {
            version: p.version(),
            modified: p.last_modified_date().and_then(|t| t.to_millis().ok()),
        }
    }

    /// Whether DescribeParameters' entry is of this very write, not one before it.
    pub(super) fn describes(&self, meta: &ParameterMetadata) -> bool {
        meta.version() == self.version
            && self.modified.is_some()
            && meta.last_modified_date().and_then(|t| t.to_millis().ok()) == self.modified
    }
}

/// What only metadata tells about a version of a parameter: its KMS key and attributes.
pub(super) struct Meta {
    pub(super) key_id: Option<String>,
    pub(super) attrs: Attrs,
}

impl Meta {
    pub(super) fn of(meta: &ParameterMetadata) -> Self {
        Self {
            key_id: meta.key_id().map(str::to_owned),
            attrs: Attrs::of(meta),
        }
    }

    pub(super) fn of_history(old: &ParameterHistory) -> Self {
        Self {
            key_id: old.key_id().map(str::to_owned),
            attrs: Attrs::of_history(old),
        }
    }
}
