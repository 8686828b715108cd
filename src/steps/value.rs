//! What a resource holds, as a plan knows it: typed, so that the planner, the check before each
//! change, saved plans and guards compare values and versions, never how they are printed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::aws::route53::RecordSet;
use crate::aws::ssm::Attrs;

/// The value of a resource before or after a change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "kebab-case")]
pub enum Value {
    /// A Parameter Store parameter.
    Parameter(ParamValue),
    /// One key of a `.env` file kept whole in a parameter: its value, and the parameter's
    /// version (a key of a SecureString file shows only that).
    EnvKey(Secretish),
    /// Text a resource holds: an environment property, an environment's CNAME.
    Text { text: String },
    /// A DNS record set.
    Record { record: RecordSet },
    /// A listener rule answering a fixed response.
    Rule {
        status: u16,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<i32>,
    },
    /// An ACM certificate in a listener's list, and the names it covers.
    Certificate { arn: String, names: Vec<String> },
    /// What a gate or an action asks for, or what it observed: for people only.
    Note { text: String },
}

/// A parameter as a plan shows it: its value unless it is a secret, its type, version and
/// attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParamValue {
    #[serde(flatten)]
    pub held: Secretish,
    /// `String`, `StringList` or `SecureString`.
    #[serde(rename = "type")]
    pub ptype: String,
    #[serde(
        default,
        skip_serializing_if = "Attrs::looks_default",
        serialize_with = "Attrs::serialize_shown"
    )]
    pub attrs: Attrs,
    /// In a plan, the attributes this change's write sets (the others stay as they are);
    /// `None` for a value read, not written. In memory only.
    #[serde(skip)]
    pub given: Option<Attrs>,
}

/// A value that may be a secret: shown in clear, or only by version with a fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Secretish {
    /// The value in clear; absent for a secret, which is never kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The version of the parameter that holds it.
    pub version: i64,
    /// A keyed hash of a secret, in memory only (never written, and its key dies with the
    /// process): lets a plan tell whether a later write of a secret changes it.
    #[serde(skip)]
    pub fingerprint: Option<u64>,
}

impl Secretish {
    /// A value in clear.
    pub fn plain(value: impl Into<String>, version: i64) -> Self {
        Self {
            value: Some(value.into()),
            version,
            fingerprint: None,
        }
    }

    /// A secret, fingerprinted from what makes it what it is.
    pub fn secret(version: i64, parts: &[&str]) -> Self {
        use std::hash::BuildHasher;
        static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> =
            std::sync::OnceLock::new();
        Self {
            value: None,
            version,
            fingerprint: Some(KEY.get_or_init(Default::default).hash_one(parts)),
        }
    }

    fn same(&self, other: &Self) -> bool {
        match (&self.value, &other.value) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.fingerprint.is_some() && self.fingerprint == other.fingerprint,
            _ => false,
        }
    }
}

impl Value {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    pub fn note(text: impl Into<String>) -> Self {
        Self::Note { text: text.into() }
    }

    /// The value in clear, for guards: a parameter's or key's value, a property, a CNAME, a
    /// record's answer (its values, or `ALIAS target`). `None` for a secret.
    pub fn clear(&self) -> Option<String> {
        match self {
            Self::Parameter(p) => p.held.value.clone(),
            Self::EnvKey(k) => k.value.clone(),
            Self::Text { text } | Self::Note { text } => Some(text.clone()),
            Self::Record { record } => Some(record.answer()),
            Self::Rule { status, body, .. } => Some(format!("{status} {body}")),
            Self::Certificate { arn, .. } => Some(arn.clone()),
        }
    }

    /// Whether this is a secret (shown only by version).
    pub fn is_secret(&self) -> bool {
        match self {
            Self::Parameter(p) => p.held.value.is_none(),
            Self::EnvKey(k) => k.value.is_none(),
            _ => false,
        }
    }

    /// The version of the parameter holding it, if it is held by one.
    pub fn version(&self) -> Option<i64> {
        match self {
            Self::Parameter(p) => Some(p.held.version),
            Self::EnvKey(k) => Some(k.version),
            _ => None,
        }
    }

    /// Sets the version of the parameter holding it.
    pub fn set_version(&mut self, version: i64) {
        match self {
            Self::Parameter(p) => p.held.version = version,
            Self::EnvKey(k) => k.version = version,
            _ => {}
        }
    }

    /// Whether writing `self` over `before` changes nothing, as the step that writes it
    /// decides: the same value (a secret by fingerprint), type and attributes; records as DNS
    /// compares them. Versions do not count: every write makes a new one.
    pub fn same(&self, before: &Self) -> bool {
        match (self, before) {
            (Self::Parameter(a), Self::Parameter(b)) => {
                a.held.same(&b.held) && a.ptype == b.ptype && a.attrs.same(&b.attrs)
            }
            (Self::EnvKey(a), Self::EnvKey(b)) => a.same(b),
            (Self::Record { record: a }, Self::Record { record: b }) => a.same_as(b),
            (a, b) => a == b,
        }
    }

    /// Whether `now` holds what `self` held before a change and its undo: as [`Self::same`],
    /// except that a secret whose fingerprint is gone (read back from a journal by another
    /// process) compares by type and attributes only, since its value is never kept.
    pub fn restored_as(&self, now: &Self) -> bool {
        match (self, now) {
            (Self::Parameter(a), Self::Parameter(b))
                if a.held.value.is_none() && a.held.fingerprint.is_none() =>
            {
                b.held.value.is_none() && a.ptype == b.ptype && a.attrs.same(&b.attrs)
            }
            (Self::EnvKey(a), Self::EnvKey(b)) if a.value.is_none() && a.fingerprint.is_none() => {
                b.value.is_none()
            }
            _ => self.same(now),
        }
    }

    /// A planned write over `before`: the attributes the write does not set stay as `before`
    /// has them.
    pub fn written_over(&mut self, before: Option<&Self>) {
        if let (Self::Parameter(after), Some(Self::Parameter(before))) = (self, before) {
            if let Some(given) = &after.given {
                after.attrs = given.over(&before.attrs);
            }
        }
    }
}

/// Values compare as a plan shows them: parameters by value (a secret by version), type,
/// version and attributes; nothing held only in memory counts (a saved plan has none of it).
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Parameter(a), Self::Parameter(b)) => {
                a.held == b.held && a.ptype == b.ptype && a.attrs.same(&b.attrs)
            }
            (Self::EnvKey(a), Self::EnvKey(b)) => a == b,
            (Self::Text { text: a }, Self::Text { text: b })
            | (Self::Note { text: a }, Self::Note { text: b }) => a == b,
            (Self::Record { record: a }, Self::Record { record: b }) => a == b,
            (Self::Certificate { arn: a, names: x }, Self::Certificate { arn: b, names: y }) => {
                a == b && x == y
            }
            (
                Self::Rule {
                    status,
                    body,
                    priority,
                },
                Self::Rule {
                    status: s,
                    body: b,
                    priority: p,
                },
            ) => status == s && body == b && priority == p,
            _ => false,
        }
    }
}

impl PartialEq for Secretish {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.version == other.version
    }
}

/// A value as people read it: a secret only by version, a record as its answer and TTL, any
/// text from AWS escaped ([`crate::escape::value`]).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let esc = |t: &str| crate::escape::value(t).into_owned();
        match self {
            Self::Parameter(p) => {
                match &p.held.value {
                    None => write!(f, "version {}", p.held.version)?,
                    Some(v) if p.ptype == "StringList" => write!(f, "{} (StringList)", esc(v))?,
                    Some(v) => f.write_str(&esc(v))?,
                }
                let notes = p.attrs.notes();
                if notes.is_empty() {
                    Ok(())
                } else {
                    write!(f, " [{}]", esc(&notes.join(", ")))
                }
            }
            Self::EnvKey(k) => match &k.value {
                None => write!(f, "version {}", k.version),
                Some(v) => f.write_str(&esc(v)),
            },
            Self::Text { text } | Self::Note { text } => f.write_str(&esc(text)),
            Self::Record { record } => f.write_str(&esc(&record.describe())),
            Self::Certificate { arn, names } => {
                write!(f, "{} ({})", esc(arn), esc(&names.join(", ")))
            }
            Self::Rule {
                status,
                body,
                priority,
            } => {
                write!(f, "{status} {body:?}")?;
                match priority {
                    Some(p) => write!(f, " (priority {p})"),
                    None => Ok(()),
                }
            }
        }
    }
}
