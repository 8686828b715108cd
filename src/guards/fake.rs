//! The live world of guard unit tests: a map, no AWS.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;

use super::live::{Live, Read, ReadError};
use crate::aws::eb::Env;
use crate::aws::route53::RecordSet;
use crate::aws::AwsError;
use crate::steps::{Action, Change, ParamValue, Resource, Secretish, Value};

#[derive(Default)]
pub struct Fake {
    values: HashMap<Resource, Value>,
    failing: Vec<Resource>,
    environments: Vec<Env>,
    environments_fail: bool,
    balancers: BTreeMap<String, Vec<Env>>,
    records: BTreeMap<String, RecordSet>,
    fronts: BTreeMap<String, super::live::Front>,
}

impl Fake {
    pub fn with(mut self, resource: Resource, value: Value) -> Self {
        self.values.insert(resource, value);
        self
    }

    /// What serves HTTPS for `dns` (see [`Live::front`]).
    pub fn front(mut self, dns: &str, front: super::live::Front) -> Self {
        self.fronts.insert(dns.to_owned(), front);
        self
    }

    pub fn failing(mut self, resource: Resource) -> Self {
        self.failing.push(resource);
        self
    }

    pub fn environment(mut self, env: Env) -> Self {
        self.environments.push(env);
        self
    }

    pub fn failing_environments(mut self) -> Self {
        self.environments_fail = true;
        self
    }

    pub fn balancer(mut self, dns: &str, envs: Vec<Env>) -> Self {
        self.balancers.insert(dns.to_owned(), envs);
        self
    }

    pub fn record(mut self, record: RecordSet) -> Self {
        self.records.insert(record.name.clone(), record);
        self
    }
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.')
        .to_ascii_lowercase()
        .trim_start_matches("dualstack.")
        .to_owned()
}

/// A read AWS refused.
fn denied(what: impl std::fmt::Display) -> ReadError {
    ReadError::Aws {
        what: what.to_string(),
        source: AwsError::new("Fake.Read", "AccessDenied", "denied"),
    }
}

#[async_trait]
impl Live for Fake {
    async fn value(&self, resource: &Resource, _zone: Option<&str>) -> Read<Option<Value>> {
        if self.failing.contains(resource) {
            return Err(denied(resource));
        }
        Ok(self.values.get(resource).cloned())
    }

    async fn environment(&self, name: &str) -> Read<Option<Env>> {
        Ok(self.environments.iter().find(|e| e.name == name).cloned())
    }

    async fn environment_by_cname(&self, cname: &str) -> Read<Option<Env>> {
        if self.environments_fail {
            return Err(denied(format!("the environment behind {cname}")));
        }
        Ok(self
            .environments
            .iter()
            .find(|e| e.cname.as_deref().is_some_and(|c| norm(c) == norm(cname)))
            .cloned())
    }

    async fn environments_behind(&self, dns_name: &str) -> Read<Option<Vec<Env>>> {
        Ok(self
            .balancers
            .iter()
            .find(|(dns, _)| norm(dns) == norm(dns_name))
            .map(|(_, envs)| envs.clone()))
    }

    async fn record(&self, name: &str) -> Read<Option<RecordSet>> {
        Ok(self.records.get(&format!("{}.", norm(name))).cloned())
    }

    async fn front(&self, target: &str) -> Read<Option<super::live::Front>> {
        Ok(self
            .fronts
            .iter()
            .find(|(dns, _)| norm(dns) == norm(target))
            .map(|(_, f)| f.clone()))
    }

    async fn workers(&self, _application: &str) -> Read<Vec<(Env, BTreeMap<String, String>)>> {
        Ok(Vec::new())
    }
}

/// A plain parameter's value.
pub fn param(value: &str) -> Value {
    Value::Parameter(ParamValue {
        held: Secretish::plain(value, 1),
        ptype: "String".into(),
        attrs: Default::default(),
        given: None,
    })
}

/// A change of a plain parameter.
pub fn change(action: Action, name: &str, before: &str, after: &str) -> Change {
    Change {
        action,
        resource: Resource::parameter(name),
        before: Some(param(before)),
        after: Some(param(after)),
    }
}

/// An environment, Severe or Ready and Green.
pub fn env(name: &str, cname: &str, severe: bool) -> Env {
    Env {
        name: name.into(),
        application: "shop".into(),
        status: if severe { "Updating" } else { "Ready" }.into(),
        health: if severe { "Red" } else { "Green" }.into(),
        health_status: Some(if severe { "Severe" } else { "Ok" }.into()),
        cname: Some(cname.into()),
        tier: "WebServer".into(),
    }
}
