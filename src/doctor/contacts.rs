//! Whether AWS can reach anyone but the root user's address: the account's security and
//! operations alternate contacts. In the incident AWS's warnings went to a mailbox no one read.

use super::{Found, Severity};
use crate::aws::account::{self, Contact};

pub(super) async fn check(config: &crate::aws::Config) -> Vec<Found> {
    let asked = account::KINDS.map(|kind| async move {
        let answer = account::contact(config, kind).await;
        (kind, answer)
    });
    let mut found = Vec::new();
    for (kind, answer) in futures_util::future::join_all(asked).await {
        let name = kind.as_str().to_lowercase();
        match answer {
            Ok(Some(_)) => {}
            Ok(None) => found.push(Found::new(
                format!("no-{name}-contact"),
                Severity::Warning,
                format!("the account has no {name} alternate contact"),
                match kind {
                    Contact::Security => "AWS sends security notices (exposed keys, irregular activity) to it; without one they go only to the root user's address, which in the incident no one read",
                    _ => "AWS sends operational notices (scheduled retirements, maintenance) to it; without one they go only to the root user's address",
                },
                format!(
                    "set it to a team address that is read: `aws account put-alternate-contact --alternate-contact-type {} --email-address ... --name ... --phone-number ... --title ...`",
                    kind.as_str()
                ),
            )),
            Err(e) => found.push(Found::unread(
                &format!("{name}-contact"),
                &format!("the {name} alternate contact"),
                &e,
                "account:GetAlternateContact",
            )),
        }
    }
    found
}
