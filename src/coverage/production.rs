//! What production is, as the plan says it: the endpoints its traffic goes to (what the
//! records and CNAMEs that steps move to the stand-in point at now, and `production.endpoints`),
//! and what the steps change. Every kind of coverage compares the account with this.

use std::collections::{BTreeMap, BTreeSet};

use super::{host, Planned};
use crate::aws::route53::RecordSet;
use crate::playbook::Playbook;
use crate::steps::{self, Action, Resource, Value};

/// What the plan says of production's names (from the changes as each step read them live,
/// before the plan put them in order: a name an earlier step moves elsewhere first, a lock,
/// still counts as production's): each endpoint, with the record set a step
/// points its name at instead (`None`: named by `production.endpoints` and moved by no step).
#[derive(Default)]
pub struct Moves {
    pub(super) endpoints: BTreeMap<String, Option<RecordSet>>,
    /// Endpoints that are an environment's CNAME a step swaps: records at them follow.
    pub(super) swapped: BTreeSet<String>,
    /// Records some step changes: (name, type, set identifier). Route 53 is global, so the
    /// same zone may be read through several accounts: a record is one whichever it is.
    pub(super) changed: BTreeSet<(String, String, Option<String>)>,
    /// The values steps write to parameters, where the plan shows them (not a secret's).
    pub(super) written: Vec<String>,
}

impl Moves {
    pub fn of(pb: &Playbook, steps: &[Planned<'_>]) -> Self {
        let mut moves = Self::default();
        for step in steps {
            let moving = steps::find_kind(step.kind).is_some_and(|k| k.moves_production);
            for change in step.changes {
                let written = match &change.after {
                    Some(Value::Parameter(p)) => p.held.value.as_ref(),
                    Some(Value::EnvKey(held)) => held.value.as_ref(),
                    _ => None,
                };
                moves.written.extend(written.cloned());
                match (&change.resource, &change.before) {
                    (
                        Resource::Record {
                            name,
                            rtype,
                            set_id,
                        },
                        before,
                    ) => {
                        moves
                            .changed
                            .insert((host(name), rtype.clone(), set_id.clone()));
                        // A record already where the step wants it (a resumed run, a second
                        // plan after the failover) says nothing of where production is.
                        let moves_it = moving && change.action != Action::Keep;
                        let Some(Value::Record { record }) = before.as_ref().filter(|_| moves_it)
                        else {
                            continue;
                        };
                        let after = match &change.after {
                            Some(Value::Record { record }) => Some(record.clone()),
                            _ => None,
                        };
                        for target in targets(record) {
                            moves.endpoints.insert(target, after.clone());
                        }
                    }
                    (Resource::Cname { .. }, Some(Value::Text { text }))
                        if moving && change.action != Action::Keep =>
                    {
                        moves.swapped.insert(host(text));
                        moves.endpoints.entry(host(text)).or_insert(None);
                    }
                    _ => {}
                }
            }
        }
        for endpoint in &pb.production.endpoints {
            moves.endpoints.entry(host(endpoint)).or_insert(None);
        }
        moves
    }
}

impl Moves {
    /// What a draft of `standin init` says of production before any plan: `endpoint` (its
    /// environment's CNAME) is production's, and the draft repoints `record` to the stand-in's
    /// `to` (its CNAME), so records left at the endpoint get covers that point there too.
    pub fn drafted(endpoint: &str, record: Option<&RecordSet>, to: &str) -> Self {
        let mut moves = Self::default();
        let after = record.filter(|r| r.alias.is_none()).map(|r| RecordSet {
            values: vec![to.to_owned()],
            ..r.clone()
        });
        moves.endpoints.insert(host(endpoint), after);
        if let Some(r) = record {
            moves
                .changed
                .insert((host(&r.name), r.rtype.clone(), r.set_identifier.clone()));
        }
        moves
    }
}

/// The names a record set sends its traffic to: its alias target, or a CNAME's value.
pub(super) fn targets(record: &RecordSet) -> Vec<String> {
    match &record.alias {
        Some(alias) => vec![host(&alias.dns_name)],
        None if record.rtype == "CNAME" => record.values.iter().map(|v| host(v)).collect(),
        None => Vec::new(),
    }
}
