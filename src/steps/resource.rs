//! What a planned change touches, typed, so that later steps, guards and saved plans can tell
//! when two changes touch the same thing. Shown as one label; saved as its fields.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A resource a step changes or checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Resource {
    /// A Parameter Store parameter, by name.
    Parameter { name: String },
    /// One key of a `.env` file kept whole in a parameter.
    EnvKey { parameter: String, key: String },
    /// An Elastic Beanstalk environment property (an app's environment variable).
    Property { environment: String, name: String },
    /// Any other configuration option of an Elastic Beanstalk environment
    /// (`aws:autoscaling:asg` `MinSize`).
    EnvOption {
        environment: String,
        namespace: String,
        name: String,
    },
    /// A Route 53 record set: fully qualified name, type, and set identifier when routed.
    Record {
        name: String,
        #[serde(rename = "type")]
        rtype: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        set_id: Option<String>,
    },
    /// The CNAME of an Elastic Beanstalk environment.
    Cname { environment: String },
    /// An Elastic Beanstalk environment as a whole (its health, a restart).
    Environment { name: String },
    /// The fixed-response rule for a host on one listener (`HTTPS:443`).
    ListenerRule { host: String, listener: String },
    /// A certificate in the list of one HTTPS listener (`HTTPS:443`) of a load balancer
    /// (`alb.add-certificate`; the TLS check counts it as covering its names).
    ListenerCertificate {
        load_balancer: String,
        listener: String,
        certificate: String,
    },
    /// Instances that run a command (queue workers), as the playbook selects them.
    Instances { selected: String },
    /// A URL a gate requests.
    Url { url: String },
    /// A pause.
    Pause,
    /// A question to the operator.
    Confirm,
    /// Approvals by other people.
    Approval,
}

impl Resource {
    pub fn parameter(name: &str) -> Self {
        Self::Parameter {
            name: name.to_owned(),
        }
    }

    pub fn property(environment: &str, name: &str) -> Self {
        Self::Property {
            environment: environment.to_owned(),
            name: name.to_owned(),
        }
    }

    /// An option of an environment: a [`Resource::Property`] in the properties namespace, else
    /// a [`Resource::EnvOption`], so that guards see a property however a step sets it.
    pub fn option(environment: &str, key: &crate::aws::eb::OptionKey) -> Self {
        if key.is_property() {
            return Self::property(environment, &key.name);
        }
        Self::EnvOption {
            environment: environment.to_owned(),
            namespace: key.namespace.clone(),
            name: key.name.clone(),
        }
    }

    /// The environment option a [`Resource::Property`] or [`Resource::EnvOption`] is.
    pub fn option_key(&self) -> Option<crate::aws::eb::OptionKey> {
        use crate::aws::eb::OptionKey;
        match self {
            Self::Property { name, .. } => Some(OptionKey::property(name)),
            Self::EnvOption {
                namespace, name, ..
            } => Some(OptionKey::new(namespace, name)),
            _ => None,
        }
    }

    /// A record set; its name fully qualified and lowercased, as DNS compares names.
    pub fn record(name: &str, rtype: &str, set_id: Option<&str>) -> Self {
        let name = name.trim().to_ascii_lowercase();
        Self::Record {
            name: if name.ends_with('.') {
                name
            } else {
                format!("{name}.")
            },
            rtype: rtype.to_owned(),
            set_id: set_id.map(str::to_owned),
        }
    }

    /// The last component of the name: `DB_HOST` for `/shop/prod/DB_HOST` and for the property
    /// `shop-prod DB_HOST`; built-in guards match on it.
    pub fn key_name(&self) -> Option<&str> {
        match self {
            Self::Parameter { name } => name.rsplit('/').next(),
            Self::Property { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Where the resource lives: the parameter's path or the environment's name.
    pub fn location(&self) -> Option<&str> {
        match self {
            Self::Parameter { name } => name.rsplit_once('/').map(|(path, _)| path),
            Self::Property { environment, .. } => Some(environment),
            _ => None,
        }
    }

    /// What a change of this resource changes as a whole, which two changes at once must not
    /// share: an environment takes one update at a time (its properties, options, CNAME, a
    /// restart), and a `.env` file is rewritten whole; anything else is itself.
    pub fn unit(&self) -> Self {
        match self {
            Self::Property { environment, .. }
            | Self::EnvOption { environment, .. }
            | Self::Cname { environment } => Self::Environment {
                name: environment.clone(),
            },
            Self::EnvKey { parameter, .. } => Self::parameter(parameter),
            other => other.clone(),
        }
    }

    /// The Parameter Store parameter a change writes, if any: every change to it (its value,
    /// or a key inside it) moves its version on.
    pub fn held_by(&self) -> Option<&str> {
        match self {
            Self::Parameter { name }
            | Self::EnvKey {
                parameter: name, ..
            } => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parameter { name } => f.write_str(name),
            Self::EnvKey { parameter, key } => write!(f, "{parameter} {key}"),
            Self::Property { environment, name } => write!(f, "{environment} {name}"),
            Self::EnvOption {
                environment,
                namespace,
                name,
            } => write!(f, "{environment} {namespace} {name}"),
            Self::Record {
                name,
                rtype,
                set_id: Some(id),
            } => write!(f, "{name} {rtype} [{id}]"),
            Self::Record { name, rtype, .. } => write!(f, "{name} {rtype}"),
            Self::Cname { environment } => write!(f, "{environment} CNAME"),
            Self::Environment { name } => write!(f, "environment {name}"),
            Self::ListenerRule { host, listener } => {
                write!(f, "listener rule for host {host} on {listener}")
            }
            Self::ListenerCertificate {
                load_balancer,
                listener,
                certificate,
            } => write!(f, "certificate {certificate} on {load_balancer} {listener}"),
            Self::Instances { selected } => write!(f, "queue workers ({selected})"),
            Self::Url { url } => write!(f, "GET {url}"),
            Self::Pause => f.write_str("pause"),
            Self::Confirm => f.write_str("confirm"),
            Self::Approval => f.write_str("approval"),
        }
    }
}
