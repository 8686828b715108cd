//! The state a plan leads to, as guards see it: the last planned value of each resource the
//! plan changes; everything else is read live when a guard asks.

use std::collections::{BTreeSet, HashMap};

use super::live::{Live, Read};
use crate::steps::{Action, Change, Resource, Value};

/// The state a plan leads to.
pub struct Predicted<'a> {
    values: HashMap<Resource, Option<Value>>,
    /// The changes that change something, the last of each resource.
    pub(super) changed: Vec<&'a Change>,
}

impl<'a> Predicted<'a> {
    pub fn new(changes: impl IntoIterator<Item = &'a Change>) -> Self {
        let mut values = HashMap::new();
        let mut changed = Vec::new();
        for c in changes {
            if matches!(c.action, Action::Check | Action::Run) {
                continue;
            }
            values.insert(c.resource.clone(), c.after.clone());
            if c.action != Action::Keep {
                changed.retain(|earlier: &&Change| earlier.resource != c.resource);
                changed.push(c);
            }
        }
        Self { values, changed }
    }

    /// The planned value, else the live one.
    pub(super) async fn value(
        &self,
        live: &dyn Live,
        resource: &Resource,
        zone: Option<&str>,
    ) -> Read<Option<Value>> {
        match self.values.get(resource) {
            Some(planned) => Ok(planned.clone()),
            None => live.value(resource, zone).await,
        }
    }

    /// The planned value, if the plan changes `resource`.
    pub(super) fn planned(&self, resource: &Resource) -> Option<&Option<Value>> {
        self.values.get(resource)
    }

    /// Every parameter path (`true`) and environment (`false`) the plan changes.
    pub(super) fn locations(&self) -> BTreeSet<(bool, String)> {
        self.changed
            .iter()
            .filter_map(|c| match &c.resource {
                Resource::Parameter { .. } => Some((true, c.resource.location()?.to_owned())),
                Resource::Property { environment, .. } => Some((false, environment.clone())),
                _ => None,
            })
            .collect()
    }
}
