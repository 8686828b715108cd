//! SQS queues that production's parameters name and the stand-in's will not after the copy:
//! the jobs waiting in them, and whatever still sends to them, are left behind (the stand-in's
//! workers read their own queue). Production's parameters are `production.parameters` and the
//! `from:` of each `ssm.copy-parameters`; a queue counts as taken over when a copy writes the
//! parameter that names it, when the stand-in's parameters (a copy's `to:`) already name it, or
//! when a step writes a value that names it. Only `String` and `StringList` values are read:
//! a SecureString is never decrypted for this, so a queue named only inside one is not seen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use futures_util::future::join_all;
use regex::Regex;

use super::production::Moves;
use super::{at, id_of, in_account, yaml, Checked, Finding, Later};
use crate::aws::ssm;
use crate::escape;
use crate::playbook::Playbook;
use crate::steps::{Ctx, ParamCopy};

/// What a cover says where no copy tells the stand-in's prefix: not a path, so `validate`
/// refuses the step until someone fills it in.
const FILL_IN: &str = "<the stand-in's prefix, such as /shop/staging/>";

/// A queue as its URL or its ARN names it. URLs: `https://sqs.REGION.DOMAIN/ACCOUNT/NAME`
/// (any partition's domain, a port, `sqs-fips.`, an interface endpoint's
/// `vpce-ID.sqs.REGION.vpce.DOMAIN`), and the older `REGION.queue.amazonaws.com` and
/// `queue.amazonaws.com` (us-east-1); hosts in any case.
static QUEUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i:https?://(?:[a-z0-9-]+\.)*?",
        r"(?:sqs(?:-fips)?\.(?P<r1>[a-z]{2,}(?:-[a-z]+)+-\d+)|(?P<r2>[a-z]{2,}(?:-[a-z]+)+-\d+)\.queue|queue)",
        r"\.[a-z0-9.-]+(?::\d+)?)/(?P<a1>\d{12})/(?P<n1>[A-Za-z0-9_-]+(?:\.fifo)?)",
        r"|arn:aws[a-z-]*:sqs:(?P<r3>[a-z0-9-]+):(?P<a2>\d{12}):(?P<n2>[A-Za-z0-9_-]+(?:\.fifo)?)",
    ))
    .expect("a valid pattern")
});

/// The ARN of each queue `text` names (in a JSON text too: `https:\/\/...`), in the
/// partition of its region.
pub(super) fn queues_in(text: &str) -> BTreeSet<String> {
    let text = text.replace("\\/", "/");
    QUEUE
        .captures_iter(&text)
        .filter_map(|c| {
            let name = |k: &str| c.name(k).map(|m| m.as_str());
            let region = name("r1")
                .or(name("r2"))
                .or(name("r3"))
                .unwrap_or("us-east-1")
                .to_ascii_lowercase();
            Some(format!(
                "arn:{}:sqs:{region}:{}:{}",
                crate::iam::partition(Some(&region)),
                name("a1").or(name("a2"))?,
                name("n1").or(name("n2"))?
            ))
        })
        .collect()
}

/// Production's parameters, by account: where they are read and which copies take them over.
struct Prefix {
    account: Option<String>,
    path: String,
}

/// A prefix `production.parameters` names that holds nothing to read: most likely a typo,
/// which must not pass as "no queue left behind".
fn empty(path: &str) -> String {
    format!(
        "could not check the queues production's parameters name: {} holds no String or StringList parameter (is the prefix right?)",
        escape::value(path)
    )
}

/// The findings, and every queue production's parameters name (by ARN: rules and schedules
/// that send to one are production's too).
pub(super) async fn check(
    pb: &Playbook,
    moves: &Later<Moves>,
    ctx: &Ctx,
) -> (Checked, BTreeSet<String>) {
    // What the copies read and write, their plans tell: once they are done.
    let moves = moves.get().await;
    let mut checked = Checked::default();
    let copies: Vec<(Option<String>, ParamCopy)> = pb
        .steps
        .iter()
        .filter_map(|s| Some((s.account.clone(), s.step.copies()?)))
        .collect();
    let mut production: Vec<Prefix> = Vec::new();
    let given = pb.production.parameters.iter().map(|p| (None, p.clone()));
    let copied = copies.iter().map(|(a, c)| (a.clone(), c.from.clone()));
    for (account, path) in given.chain(copied) {
        let path = format!("{}/", path.trim_end_matches('/'));
        if !production
            .iter()
            .any(|p| p.account == account && p.path == path)
        {
            production.push(Prefix { account, path });
        }
    }
    let stand_in: Vec<(Option<String>, String)> = copies
        .iter()
        .map(|(a, c)| (a.clone(), c.to.clone()))
        .collect();
    // What a copy's plan read already, where it read that prefix; else a read of our own.
    let planned = |account: &Option<String>, path: &str| {
        copies
            .iter()
            .filter(|(a, c)| a == account && (c.from == path || c.to == path))
            .find_map(|(_, c)| c.read.as_ref())
            .map(|read| {
                read.iter()
                    .filter(|(name, _)| name.starts_with(path))
                    .map(|(n, v)| (n.clone(), v.clone()))
                    .collect::<BTreeMap<_, _>>()
            })
    };
    let read = |account: Option<String>, path: String| async move {
        if let Some(values) = planned(&account, &path) {
            return (account, path, Ok(values));
        }
        let clients = ctx.accounts.get(account.as_deref());
        let values = match clients {
            Some(clients) => ssm::plain_values(&clients.ssm, &path).await,
            None => Ok(BTreeMap::new()),
        };
        (account, path, values)
    };
    let (production_read, stand_in_read) = tokio::join!(
        join_all(
            production
                .iter()
                .map(|p| read(p.account.clone(), p.path.clone()))
        ),
        join_all(stand_in.iter().map(|(a, p)| read(a.clone(), p.clone())))
    );
    // What the stand-in's parameters name, by account: theirs now, and what steps write.
    let mut named: BTreeMap<Option<String>, BTreeSet<String>> = BTreeMap::new();
    for (account, path, values) in stand_in_read {
        match values {
            Ok(values) => named
                .entry(account)
                .or_default()
                .extend(values.values().flat_map(|v| queues_in(v))),
            Err(e) => checked
                .unchecked
                .push(unread(&path, account.as_deref(), &e)),
        }
    }
    let written: BTreeSet<String> = moves.written.iter().flat_map(|v| queues_in(v)).collect();
    let mut all = BTreeSet::new();
    for (account, path, values) in production_read {
        let values = match values {
            Ok(values) => values,
            Err(e) => {
                checked
                    .unchecked
                    .push(unread(&path, account.as_deref(), &e));
                continue;
            }
        };
        let given = pb
            .production
            .parameters
            .iter()
            .any(|p| format!("{}/", p.trim_end_matches('/')) == path);
        if values.is_empty() && given && account.is_none() {
            checked.unchecked.push(empty(&path));
        }
        for (name, value) in &values {
            let key = name.strip_prefix(&path).unwrap_or(name);
            let copy = copies.iter().find(|(a, c)| *a == account && c.from == path);
            if copy.is_some_and(|(_, c)| c.copies(key)) {
                all.extend(queues_in(value));
                continue;
            }
            for queue in queues_in(value) {
                all.insert(queue.clone());
                let kept = named.get(&account).is_some_and(|n| n.contains(&queue));
                if kept || written.contains(&queue) {
                    continue;
                }
                checked.findings.push(finding(
                    &queue,
                    name,
                    key,
                    &path,
                    copy.map(|(_, c)| c.to.as_str()),
                    account.as_deref(),
                ));
            }
        }
    }
    (checked, all)
}

fn unread(path: &str, account: Option<&str>, e: &crate::aws::AwsError) -> String {
    format!(
        "could not check the queues named under {}{}: {e}",
        escape::value(path),
        in_account(account)
    )
}

fn finding(
    queue: &str,
    parameter: &str,
    key: &str,
    from: &str,
    to: Option<&str>,
    account: Option<&str>,
) -> Finding {
    // `arn:PARTITION:sqs:REGION:ACCOUNT:NAME`: the id keeps what tells two queues apart.
    let tail = queue.splitn(4, ':').nth(3).unwrap_or(queue);
    let id = format!("sqs:{}{}", escape::value(tail), at(account));
    let mut cover = format!(
        "- id: {}\n  kind: ssm.copy-parameters\n  from: {}\n  to: {}\n  keys: [{}]\n",
        yaml(&format!("copy-{}-for-{}", id_of(key), id_of(tail))),
        yaml(from),
        yaml(to.unwrap_or(FILL_IN)),
        yaml(key)
    );
    if let Some(account) = account {
        cover.push_str(&format!("  account: {}\n", yaml(account)));
    }
    Finding {
        id,
        kind: "queue".into(),
        account: account.map(str::to_owned),
        resource: format!("SQS queue {}", escape::value(queue)),
        why: format!(
            "production's parameter {} names it{}, and after the copy the stand-in's parameters do not: the jobs waiting in it, and whatever still sends to it, are left behind",
            escape::value(parameter),
            in_account(account)
        ),
        cover,
        ignored: false,
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::queues_in;

    #[test]
    fn every_form_of_a_queue_is_its_arn() {
        let arn = |r: &str, n: &str| format!("arn:aws:sqs:{r}:123456789012:{n}");
        for (text, want) in [
            (
                "QUEUE=https://sqs.eu-west-1.amazonaws.com/123456789012/prod-jobs\n",
                arn("eu-west-1", "prod-jobs"),
            ),
            (
                "https://eu-west-1.queue.amazonaws.com/123456789012/prod-jobs",
                arn("eu-west-1", "prod-jobs"),
            ),
            (
                "https://queue.amazonaws.com/123456789012/prod-jobs",
                arn("us-east-1", "prod-jobs"),
            ),
            (
                "arn:aws:sqs:us-east-2:123456789012:orders.fifo",
                arn("us-east-2", "orders.fifo"),
            ),
            (
                "https://SQS.US-EAST-1.AMAZONAWS.COM:443/123456789012/q",
                arn("us-east-1", "q"),
            ),
            (
                "https://sqs-fips.us-east-1.amazonaws.com/123456789012/q",
                arn("us-east-1", "q"),
            ),
            (
                "https://vpce-0a1b-c2d3.sqs.us-east-1.vpce.amazonaws.com/123456789012/q",
                arn("us-east-1", "q"),
            ),
            (
                r#"{"queue":"https:\/\/sqs.us-east-1.amazonaws.com\/123456789012\/q"}"#,
                arn("us-east-1", "q"),
            ),
        ] {
            assert_eq!(
                queues_in(text).into_iter().collect::<Vec<_>>(),
                vec![want],
                "{text}"
            );
        }
        assert_eq!(
            queues_in("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"),
            ["arn:aws-cn:sqs:cn-north-1:123456789012:q".to_owned()].into()
        );
        assert_eq!(
            queues_in("https://sqs.us-gov-west-1.amazonaws.com/123456789012/q"),
            ["arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q".to_owned()].into()
        );
        let two = "arn:aws:sqs:us-east-1:123456789012:jobs https://sqs.eu-west-1.amazonaws.com/123456789012/jobs";
        assert_eq!(queues_in(two).len(), 2);
        assert!(queues_in(
            "https://sqs.example.com/123456789012/q and arn:aws:sns:us-east-1:123456789012:t"
        )
        .is_empty());
    }
}
