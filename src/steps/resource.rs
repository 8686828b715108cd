//! What a planned change touches, typed, so that later steps, guards and saved plans can tell
//! when two changes touch the same thing. Shown (and serialized) as one label.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A resource a step changes or checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A Parameter Store parameter, by name.
    Parameter(String),
    /// An Elastic Beanstalk environment property (an app's environment variable).
    Property { environment: String, name: String },
    /// A Route 53 record set: fully qualified name, type, and set identifier when routed.
    Record {
        name: String,
        rtype: String,
        set_id: Option<String>,
    },
    /// The CNAME of an Elastic Beanstalk environment.
    Cname(String),
    /// One key of a `.env` file kept whole in a parameter.
    EnvKey { parameter: String, key: String },
    /// Anything else (a gate, a restart, a listener rule): only its label.
    Other(String),
}

impl Resource {
    pub fn property(environment: &str, name: &str) -> Self {
        Self::Property {
            environment: environment.to_owned(),
            name: name.to_owned(),
        }
    }

    pub fn record(name: &str, rtype: &str, set_id: Option<&str>) -> Self {
        Self::Record {
            name: name.to_owned(),
            rtype: rtype.to_owned(),
            set_id: set_id.map(str::to_owned),
        }
    }

    /// The last component of the name: `DB_HOST` for `/shop/prod/DB_HOST` and for the property
    /// `shop-prod DB_HOST`; built-in guards match on it.
    pub fn key_name(&self) -> Option<&str> {
        match self {
            Self::Parameter(name) => name.rsplit('/').next(),
            Self::Property { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The Parameter Store parameter a change writes, if any: every change to it (its value,
    /// or a key inside it) moves its version on.
    pub fn parameter(&self) -> Option<&str> {
        match self {
            Self::Parameter(name)
            | Self::EnvKey {
                parameter: name, ..
            } => Some(name),
            _ => None,
        }
    }

    /// Where the resource lives: the parameter's path or the environment's name.
    pub fn location(&self) -> Option<&str> {
        match self {
            Self::Parameter(name) => name.rsplit_once('/').map(|(path, _)| path),
            Self::Property { environment, .. } => Some(environment),
            _ => None,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parameter(name) | Self::Other(name) => f.write_str(name),
            Self::Property { environment, name } => write!(f, "{environment} {name}"),
            Self::Record {
                name,
                rtype,
                set_id: Some(id),
            } => write!(f, "{name} {rtype} [{id}]"),
            Self::Record { name, rtype, .. } => write!(f, "{name} {rtype}"),
            Self::Cname(environment) => write!(f, "{environment} CNAME"),
            Self::EnvKey { parameter, key } => write!(f, "{parameter} {key}"),
        }
    }
}

impl From<String> for Resource {
    fn from(label: String) -> Self {
        Self::Other(label)
    }
}

impl From<&str> for Resource {
    fn from(label: &str) -> Self {
        Self::Other(label.to_owned())
    }
}

impl From<&String> for Resource {
    fn from(label: &String) -> Self {
        Self::Other(label.clone())
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A saved plan keeps only labels: read back, every resource is [`Resource::Other`], and plans
/// compare resources by label.
impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::Other)
    }
}
