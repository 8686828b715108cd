//! CloudFront distributions with an origin on one of production's endpoints: after the
//! failover they still fetch from production, so every viewer of the distribution's names
//! gets production's errors. An origin on a CNAME a step swaps follows the swap, and one on a
//! public name the playbook repoints follows the repoint. standin changes no distribution, so
//! the cover is a `confirm` that asks a person to point the origin at the stand-in, and
//! `covers:` it. CloudFront is global: a distribution two accounts reach is read once. A
//! disabled distribution serves no one and is left out.

use std::collections::BTreeSet;

use futures_util::future::join_all;

use super::production::Moves;
use super::{at, by_hand, could_move, host, in_account, Checked, Finding, Later};
use crate::aws::cloudfront;
use crate::escape;
use crate::playbook::Playbook;
use crate::steps::Ctx;

pub(super) async fn check(pb: &Playbook, moves: &Later<Moves>, ctx: &Ctx) -> Checked {
    let mut checked = Checked::default();
    if !could_move(pb) {
        return checked;
    }
    let reads = join_all(
        ctx.accounts
            .all()
            .map(|(_, clients)| cloudfront::distributions(&clients.cloudfront)),
    )
    .await;
    let moves = moves.get().await;
    let mut seen = BTreeSet::new();
    for (read, (account, _)) in reads.into_iter().zip(ctx.accounts.all()) {
        let distributions = match read {
            Ok(distributions) => distributions,
            Err(e) => {
                checked.unchecked.push(format!(
                    "could not check CloudFront distributions{}: {e}",
                    in_account(account)
                ));
                continue;
            }
        };
        let enabled = distributions.iter().filter(|d| d.enabled);
        for distribution in enabled.filter(|d| seen.insert(d.id.clone())) {
            for (origin, domain) in &distribution.origins {
                let name = host(domain);
                if moves.endpoints.contains_key(&name) && !moves.swapped.contains(&name) {
                    checked
                        .findings
                        .push(finding(distribution, origin, domain, account));
                }
            }
        }
    }
    checked
}

fn finding(
    distribution: &cloudfront::Distribution,
    origin: &str,
    domain: &str,
    account: Option<&str>,
) -> Finding {
    let (id, origin, domain) = (
        escape::value(&distribution.id),
        escape::value(origin),
        escape::value(domain),
    );
    let names = if distribution.aliases.is_empty() {
        escape::value(&distribution.domain).into_owned()
    } else {
        distribution
            .aliases
            .iter()
            .map(|a| escape::value(a))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let finding_id = format!("cloudfront:{id}/{origin}{}", at(account));
    Finding {
        cover: by_hand(
            "repoint",
            &finding_id,
            &format!(
                "Does CloudFront distribution {id}{} fetch origin {origin} from the stand-in instead of production's {domain}?",
                in_account(account)
            ),
        ),
        id: finding_id,
        kind: "cdn-origin".into(),
        account: account.map(str::to_owned),
        resource: format!("CloudFront distribution {id} ({names}), origin {origin}"),
        why: format!(
            "its origin is production's endpoint {domain}{}, and no step takes care of it: after the failover it still fetches from production",
            in_account(account)
        ),
        ignored: false,
        reason: None,
    }
}
