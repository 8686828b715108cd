//! The state a plan leads to, as guards see it: the last planned value of each resource the
//! plan changes; everything else is read live when a guard asks.

use std::collections::{BTreeSet, HashMap};

use super::live::{Live, Read};
use crate::steps::{Action, Change, Resource, Value};

/// The state a plan leads to. A resource is its account's: the same name changed in two
/// accounts is two changes, each seen by the guards (a guard asking for a name gets the
/// playbook's own account's planned value first, then the others' by name).
pub struct Predicted<'a> {
    values: HashMap<(Option<&'a str>, Resource), Option<Value>>,
    /// The accounts of `accounts:` that changes are in, by name.
    accounts: BTreeSet<&'a str>,
    /// The changes that change something, the last of each resource of each account.
    pub(super) changed: Vec<&'a Change>,
}

impl<'a> Predicted<'a> {
    /// Changes in the playbook's own account.
    pub fn new(changes: impl IntoIterator<Item = &'a Change>) -> Self {
        Self::in_accounts(changes.into_iter().map(|c| (None, c)))
    }

    /// Changes, each with the account of `accounts:` it is in (`None`: the playbook's own).
    pub fn in_accounts(changes: impl IntoIterator<Item = (Option<&'a str>, &'a Change)>) -> Self {
        let mut values = HashMap::new();
        let mut accounts = BTreeSet::new();
        let mut changed: Vec<(Option<&str>, &Change)> = Vec::new();
        for (account, c) in changes {
            if matches!(c.action, Action::Check | Action::Run) {
                continue;
            }
            accounts.extend(account);
            values.insert((account, c.resource.clone()), c.after.clone());
            if c.action != Action::Keep {
                changed.retain(|(a, earlier)| (*a, &earlier.resource) != (account, &c.resource));
                changed.push((account, c));
            }
        }
        Self {
            values,
            accounts,
            changed: changed.into_iter().map(|(_, c)| c).collect(),
        }
    }

    /// The planned value, else the live one.
    pub(super) async fn value(
        &self,
        live: &dyn Live,
        resource: &Resource,
        zone: Option<&str>,
    ) -> Read<Option<Value>> {
        match self.planned(resource) {
            Some(planned) => Ok(planned.clone()),
            None => live.value(resource, zone).await,
        }
    }

    /// The planned value, if the plan changes `resource`: in the playbook's own account, else
    /// in the first account by name that changes it.
    pub(super) fn planned(&self, resource: &Resource) -> Option<&Option<Value>> {
        std::iter::once(None)
            .chain(self.accounts.iter().map(|a| Some(*a)))
            .find_map(|account| self.values.get(&(account, resource.clone())))
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
