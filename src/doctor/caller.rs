//! Who is acting, and what the account's credentials say: the root user (what got the
//! incident's account locked was root used from a new place), a key AWS has quarantined,
//! access keys kept too long, root's own keys and recent sign-ins (the IAM credential report).

use std::time::{Duration, SystemTime};

use super::{Found, Severity};
use crate::aws::iam;

/// The AWS managed policies AWS attaches to a user whose key it found exposed; every version
/// shares the name's start (`AWSCompromisedKeyQuarantine`, `...V2`, `...V3`).
const QUARANTINE: &str = "AWSCompromisedKeyQuarantine";
/// An access key older than this is a warning (CIS AWS Foundations: rotate within 90 days).
const KEY_AGE: Duration = Duration::from_secs(90 * 86_400);
/// Root used more recently than this is a warning.
const ROOT_USE: Duration = Duration::from_secs(30 * 86_400);

/// The caller: root is a blocker, a quarantine policy on it is one; its account id.
pub(super) async fn check(config: &crate::aws::Config) -> (Option<String>, Vec<Found>) {
    let caller = match iam::caller(config).await {
        Ok(caller) => caller,
        Err(e) => {
            // GetCallerIdentity needs no permission: its failure is the credentials or the
            // network, and then nothing of the caller was checked.
            let mut found = Found::unread("caller", "who is acting", &e, "sts:GetCallerIdentity");
            found.fix = "check the credentials (expired, revoked, or none found) and the network, and run `standin doctor` again".to_owned();
            return (None, vec![found.blind()]);
        }
    };
    let account = Some(caller.account.clone());
    if iam::is_root(&caller.arn) {
        let found = Found::new(
            "root-caller",
            Severity::Blocker,
            format!(
                "the credentials are the account's root user ({})",
                crate::escape::value(&caller.arn)
            ),
            "root used from a new place is what AWS flags as irregular activity; in the incident it got the account restricted mid-upgrade. A failover must not add to it",
            "act as an IAM role or user with `standin iam-policy` (a break-glass role), or pass `--allow-root` to `run` or `drill` if there is truly no other way",
        );
        return (account, vec![found]);
    }
    let principal = match iam::principal(config, &caller).await {
        Ok(principal) => principal,
        Err(e) => {
            return (
                account,
                vec![Found::unread(
                    "caller-role",
                    "the caller's role",
                    &e,
                    "iam:GetRole",
                )],
            )
        }
    };
    let found = match iam::attached_policies(config, &principal).await {
        Ok(arns) => arns
            .iter()
            .filter(|arn| {
                arn.rsplit('/').next().is_some_and(|n| n.starts_with(QUARANTINE))
                    && arn.split(':').nth(4) == Some("aws")
            })
            .map(|arn| {
                Found::new(
                    "quarantined",
                    Severity::Blocker,
                    format!(
                        "{} has AWS's quarantine policy attached ({})",
                        crate::escape::value(&principal),
                        crate::escape::value(arn)
                    ),
                    "AWS attaches it when it finds the principal's access key exposed: the key must be treated as compromised, and the account is at risk of being restricted",
                    "follow AWS's notice (AWS Health, the root address's mail): rotate and delete the exposed key, review CloudTrail, then detach the policy; act with other credentials meanwhile",
                )
            })
            .collect(),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => vec![Found::unread(
            "caller-policies",
            "the caller's policies",
            &e,
            "iam:ListAttachedUserPolicies, iam:ListGroupsForUser, iam:ListAttachedGroupPolicies and iam:ListAttachedRolePolicies",
        )],
    };
    (account, found)
}

/// What the IAM credential report says of keys and root, at `now`.
pub(super) async fn credentials(config: &crate::aws::Config, now: SystemTime) -> Vec<Found> {
    match iam::credential_report(config).await {
        Ok(text) => read_report(&text, now),
        Err(e) => vec![Found::unread(
            "credential-report",
            "the credential report",
            &e,
            "iam:GenerateCredentialReport and iam:GetCredentialReport",
        )],
    }
}

/// The report's rows as findings: root's keys and sign-ins, each user's active old keys.
fn read_report(text: &str, now: SystemTime) -> Vec<Found> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let Ok(header) = reader.headers().cloned() else {
        return Vec::new();
    };
    let column = |row: &csv::StringRecord, name: &str| -> Option<String> {
        let at = header.iter().position(|h| h == name)?;
        row.get(at).map(str::to_owned)
    };
    let mut found = Vec::new();
    for row in reader.records().flatten() {
        let user = column(&row, "user").unwrap_or_default();
        let keys = [1, 2].map(|n| {
            let active = column(&row, &format!("access_key_{n}_active")).as_deref() == Some("true");
            let rotated =
                column(&row, &format!("access_key_{n}_last_rotated")).and_then(|t| when(&t));
            (active, rotated)
        });
        if user == "<root_account>" {
            if keys.iter().any(|(active, _)| *active) {
                found.push(Found::new(
                    "root-access-key",
                    Severity::Warning,
                    "the root user has an active access key",
                    "a root key can do anything, cannot be limited by a policy, and is what AWS flags first when it leaks",
                    "delete the root user's access keys (IAM console, signed in as root: Security credentials) and use IAM roles",
                ));
            }
            // Its last sign-in, or its keys' last use: root acting from a new place either way.
            let used = [
                "password_last_used",
                "access_key_1_last_used_date",
                "access_key_2_last_used_date",
            ]
            .iter()
            .filter_map(|c| column(&row, c).and_then(|t| when(&t)))
            .max();
            if let Some(ago) = used
                .and_then(|t| now.duration_since(t).ok())
                .filter(|ago| *ago < ROOT_USE)
            {
                found.push(Found::new(
                    "root-used",
                    Severity::Warning,
                    format!("the root user acted {} ago (a sign-in or an access key)", days(ago)),
                    "root acting from new places is what AWS reads as irregular activity",
                    "make sure each use was yours (CloudTrail: ConsoleLogin events, and calls whose userIdentity.type is Root); keep root for the few tasks only it can do, with MFA",
                ));
            }
            continue;
        }
        for (n, (active, rotated)) in keys.iter().enumerate() {
            let Some(age) = rotated.and_then(|t| now.duration_since(t).ok()) else {
                continue;
            };
            if *active && age > KEY_AGE {
                found.push(Found::new(
                    format!("old-access-key:{user}"),
                    Severity::Warning,
                    format!(
                        "IAM user `{}`'s access key {} is {} old",
                        crate::escape::value(&user),
                        n + 1,
                        days(age)
                    ),
                    "a long-lived key has had longer to leak; an exposed key gets the account quarantined",
                    "rotate it (create a new key, switch to it, deactivate and delete the old one), or use roles instead of keys",
                ));
            }
        }
    }
    found
}

/// A report's time, ISO 8601 with an offset (`2026-12-01T10:00:00+00:00`) or `Z`; `N/A`,
/// `no_information`, `not_supported` are none.
fn when(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if let Some(local) = text.strip_suffix('Z') {
        return humantime::parse_rfc3339_weak(&format!("{local}Z")).ok();
    }
    // `±HH:MM` at the end: the local time, moved back by the offset.
    let (local, offset) = text.split_at(text.len().checked_sub(6)?);
    let sign = match offset.as_bytes().first()? {
        b'+' => 1i64,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = offset[1..].split_once(':')?;
    let shift = sign * (hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60);
    let at = humantime::parse_rfc3339_weak(&format!("{local}Z")).ok()?;
    let by = Duration::from_secs(shift.unsigned_abs());
    if shift >= 0 {
        at.checked_sub(by)
    } else {
        at.checked_add(by)
    }
}

fn days(span: Duration) -> String {
    match span.as_secs() / 86_400 {
        0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n";

    fn ids(text: &str) -> Vec<String> {
        let now = humantime::parse_rfc3339("2026-12-07T00:00:00Z").unwrap();
        read_report(&format!("{HEADER}{text}"), now)
            .into_iter()
            .map(|f| f.id)
            .collect()
    }

    #[test]
    fn the_report_names_root_keys_recent_root_use_and_old_active_keys() {
        let root = "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-12-01T09:00:00+00:00,not_supported,not_supported,true,true,2021-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n";
        // A user's name may hold a comma: the report quotes it.
        let old = "\"ops,eu\",arn:aws:iam::123456789012:user/ops,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2026-01-01T00:00:00+00:00,N/A,N/A,N/A,false,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n";
        let fresh = "ci,arn:aws:iam::123456789012:user/ci,2020-01-01T00:00:00+00:00,false,no_information,N/A,N/A,false,true,2026-11-30T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n";
        assert_eq!(
            ids(&format!("{root}{old}{fresh}")),
            ["root-access-key", "root-used", "old-access-key:ops,eu"]
        );
        // Root's key used lately counts as root used; a report in another offset is read.
        let keyed = "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,false,2021-01-01T00:00:00+00:00,2026-12-06T20:00:00-02:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n";
        assert_eq!(ids(keyed), ["root-used"]);
        assert_eq!(
            when("2026-12-07T01:00:00+02:00"),
            when("2026-12-06T23:00:00+00:00")
        );
        assert_eq!(
            when("2026-12-06T21:00:00-02:00"),
            when("2026-12-06T23:00:00Z")
        );
        assert_eq!(when("N/A"), None);
        // Root long unused and without keys, an inactive old key: nothing.
        let quiet = "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2025-01-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n";
        let inactive = "ops,arn:aws:iam::123456789012:user/ops,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n";
        assert!(ids(&format!("{quiet}{inactive}")).is_empty());
    }
}
