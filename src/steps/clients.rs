//! When DNS clients follow a change to a record. Route 53 answers with the new record once the
//! change is INSYNC on its name servers, but a resolver that cached the old answer keeps it for
//! the TTL that answer carried (RFC 1035 §3.2.1): the TTL the record had *before* the change,
//! whatever TTL the change sets. Plans say it for each record a step changes, and a drill's
//! report adds the longest, read from the journal's undo records, to its recovery time
//! (docs/aws-behaviour.md, "DNS clients and TTLs").

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Action, Change, Resource, Value};
use crate::aws::route53::RecordSet;

/// The TTL taken for an alias record, which has none of its own: Route 53 answers it with its
/// target's, 60 s for a load balancer (botocore model: Route53 `ResourceRecordSet.TTL`).
pub const ALIAS_TTL: u64 = 60;

/// When clients follow a change to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follow {
    /// The record, as plans name it (`app.example.com. CNAME`).
    pub record: String,
    /// How long after the change is INSYNC a resolver may still give the answer from before.
    pub within_secs: u64,
    /// Where `within_secs` comes from.
    pub why: Why,
}

/// Where the time clients may keep the old answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Why {
    /// The record's TTL before the change.
    Ttl,
    /// The record was an alias: its target's TTL, taken as [`ALIAS_TTL`].
    Alias,
    /// The record did not exist: nothing to keep (a resolver that cached its absence keeps
    /// that for the zone's negative-caching TTL, RFC 2308, which is not read).
    New,
}

impl Follow {
    /// For `record`, which held `before` (`None`: it did not exist) until the change.
    pub fn of(record: String, before: Option<&RecordSet>) -> Self {
        let (within_secs, why) = match before {
            None => (0, Why::New),
            Some(rs) if rs.alias.is_some() => (ALIAS_TTL, Why::Alias),
            Some(rs) => (
                rs.ttl.map_or(0, |t| u64::try_from(t).unwrap_or(0)),
                Why::Ttl,
            ),
        };
        Self {
            record,
            within_secs,
            why,
        }
    }

    /// For a planned change, when it changes a DNS record.
    pub fn of_change(change: &Change) -> Option<Self> {
        if !matches!(change.action, Action::Add | Action::Modify | Action::Remove) {
            return None;
        }
        if !matches!(change.resource, Resource::Record { .. }) {
            return None;
        }
        let before = match &change.before {
            Some(Value::Record { record }) => Some(record),
            Some(_) => return None,
            None => None,
        };
        Some(Self::of(change.resource.to_string(), before))
    }

    /// The longest of `follows` (the first of equals).
    pub fn longest(follows: impl IntoIterator<Item = Self>) -> Option<Self> {
        follows
            .into_iter()
            .fold(None, |longest: Option<Self>, f| match longest {
                Some(l) if l.within_secs >= f.within_secs => Some(l),
                _ => Some(f),
            })
    }

    /// Why resolvers may keep the old answer that long, in words.
    pub fn reason(&self) -> String {
        let n = self.within_secs;
        match self.why {
            Why::Ttl => format!("{}: TTL {n}s before the change", self.record),
            Why::Alias => format!(
                "{}: an alias before the change, answered with its target's TTL (taken as {n}s, a load balancer's)",
                self.record
            ),
            Why::New => format!("{}: did not exist before the change", self.record),
        }
    }
}

impl fmt::Display for Follow {
    /// The plan's line: when clients follow.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.within_secs;
        write!(
            f,
            "{}: clients follow once the change is INSYNC on Route 53's name servers",
            self.record
        )?;
        match self.why {
            Why::Ttl => write!(
                f,
                ", and within {n}s after: resolvers keep the old answer for the TTL it had ({n}s)"
            ),
            Why::Alias => write!(
                f,
                ", and within {n}s after: the old answer was an alias, which resolvers keep for its target's TTL ({n}s for a load balancer)"
            ),
            Why::New => f.write_str(
                " (it did not exist: only a resolver that cached its absence waits, for the zone's negative-caching TTL)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::route53::Alias;

    fn cname(ttl: i64) -> RecordSet {
        RecordSet {
            ttl: Some(ttl),
            values: vec!["shop-prod.example.net".into()],
            ..RecordSet::new("app.example.com", "CNAME")
        }
    }

    fn change(action: Action, before: Option<RecordSet>, after: RecordSet) -> Change {
        Change {
            action,
            resource: Resource::record("app.example.com.", "CNAME", None),
            before: before.map(|record| Value::Record { record }),
            after: Some(Value::Record { record: after }),
        }
    }

    #[test]
    fn clients_follow_within_the_ttl_the_record_had_before_the_change() {
        // 300 s before, 60 s after: resolvers hold the old answer for 300 s.
        let f = Follow::of_change(&change(Action::Modify, Some(cname(300)), cname(60))).unwrap();
        assert_eq!((f.within_secs, f.why), (300, Why::Ttl));
        assert!(f.to_string().contains("INSYNC"), "{f}");
        assert!(f.to_string().contains("within 300s"), "{f}");
        let new = Follow::of_change(&change(Action::Add, None, cname(60))).unwrap();
        assert_eq!((new.within_secs, new.why), (0, Why::New));
        let alias = RecordSet {
            alias: Some(Alias {
                dns_name: "lb-1.us-east-1.elb.amazonaws.com.".into(),
                hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
                evaluate_target_health: false,
            }),
            ..RecordSet::new("app.example.com", "A")
        };
        let was_alias = Follow::of_change(&change(Action::Modify, Some(alias), cname(60))).unwrap();
        assert_eq!(
            (was_alias.within_secs, was_alias.why),
            (ALIAS_TTL, Why::Alias)
        );
        // Nothing changed, or not a record: nothing to follow.
        assert!(Follow::of_change(&change(Action::Keep, Some(cname(300)), cname(300))).is_none());
        let parameter = Change {
            resource: Resource::parameter("/x"),
            ..change(Action::Modify, None, cname(1))
        };
        assert!(Follow::of_change(&parameter).is_none());
    }

    #[test]
    fn the_longest_is_the_first_of_the_longest() {
        let f = |record: &str, within_secs| Follow {
            record: record.into(),
            within_secs,
            why: Why::Ttl,
        };
        let longest = Follow::longest([f("a", 60), f("b", 300), f("c", 300), f("d", 0)]);
        assert_eq!(longest.unwrap().record, "b");
        assert!(Follow::longest([]).is_none());
    }
}
