//! Who the caller is (STS) and what its identity policies allow (IAM policy simulation), for
//! `standin drill --dry`'s permission check; the managed policies attached to it and the
//! account's credential report, for `standin doctor`.

use aws_config::SdkConfig;

use super::{AwsError, Call};

/// The caller, and the IAM principal whose policies decide what it may do.
#[derive(Debug, Clone)]
pub struct Caller {
    /// As STS says it (for an assumed role, the session's ARN).
    pub arn: String,
    pub account: String,
}

/// Asks STS who the caller is (a call that needs no permission).
pub async fn caller(config: &SdkConfig) -> Result<Caller, AwsError> {
    identity(&super::client!(aws_sdk_sts, config)).await
}

/// As [`caller`], with an account's own STS client.
pub async fn identity(sts: &aws_sdk_sts::Client) -> Result<Caller, AwsError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .op("STS.GetCallerIdentity")?;
    Ok(Caller {
        arn: out.arn().unwrap_or_default().to_owned(),
        account: out.account().unwrap_or_default().to_owned(),
    })
}

/// The IAM user or role to simulate for `caller`. An assumed role's session ARN
/// (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`) names its role without the role's path
/// (IAM Identity Center's roles live under `/aws-reserved/sso.amazonaws.com/`), so the role's
/// own ARN comes from IAM (`iam:GetRole`); any other ARN is its own principal.
pub async fn principal(config: &SdkConfig, caller: &Caller) -> Result<String, AwsError> {
    let Some(role) = assumed_role(&caller.arn) else {
        return Ok(caller.arn.clone());
    };
    let out = super::client!(aws_sdk_iam, config)
        .get_role()
        .role_name(role)
        .send()
        .await
        .op("IAM.GetRole")?;
    Ok(out.role().map(|r| r.arn().to_owned()).unwrap_or_default())
}

/// Whether `arn` is an account's root user (`arn:PARTITION:iam::ACCOUNT:root`), as STS names
/// a caller with the root user's credentials.
pub fn is_root(arn: &str) -> bool {
    matches!(
        arn.splitn(6, ':').collect::<Vec<_>>().as_slice(),
        ["arn", _, "iam", "", _, "root"]
    )
}

/// The ARNs of the managed policies attached to an IAM user (directly or through its
/// groups) or role (`principal`, as [`principal`] gives it); none for anything else (the
/// root user, a federated user).
pub async fn attached_policies(
    config: &SdkConfig,
    principal: &str,
) -> Result<Vec<String>, AwsError> {
    let client = super::client!(aws_sdk_iam, config);
    let resource = principal.splitn(6, ':').nth(5).unwrap_or_default();
    let name = resource.rsplit('/').next().unwrap_or_default().to_owned();
    let mut arns = Vec::new();
    // One call's attached policies (a user's, a group's or a role's), page by page.
    macro_rules! attached {
        ($call:ident, $named:ident, $name:expr, $op:literal) => {{
            let mut pages = client.$call().$named($name).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.op($op)?;
                arns.extend(
                    page.attached_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn().map(str::to_owned)),
                );
            }
        }};
    }
    if resource.starts_with("user/") {
        attached!(
            list_attached_user_policies,
            user_name,
            &name,
            "IAM.ListAttachedUserPolicies"
        );
        // A user's groups' policies apply to it too.
        let mut groups = Vec::new();
        let mut pages = client
            .list_groups_for_user()
            .user_name(&name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.op("IAM.ListGroupsForUser")?;
            groups.extend(page.groups().iter().map(|g| g.group_name().to_owned()));
        }
        for group in groups {
            attached!(
                list_attached_group_policies,
                group_name,
                group,
                "IAM.ListAttachedGroupPolicies"
            );
        }
    } else if resource.starts_with("role/") {
        attached!(
            list_attached_role_policies,
            role_name,
            name,
            "IAM.ListAttachedRolePolicies"
        );
    }
    Ok(arns)
}

/// The account's IAM credential report (CSV text), as GenerateCredentialReport leaves it: IAM
/// makes a new one only when the last is four hours old, else the last serves; until it is ready,
/// `GetCredentialReport` says `ReportInProgress` (or `ReportNotPresent`), so it is asked
/// again for up to 20 seconds.
pub async fn credential_report(config: &SdkConfig) -> Result<String, AwsError> {
    let client = super::client!(aws_sdk_iam, config);
    client
        .generate_credential_report()
        .send()
        .await
        .op("IAM.GenerateCredentialReport")?;
    let started = std::time::Instant::now();
    loop {
        match client
            .get_credential_report()
            .send()
            .await
            .op("IAM.GetCredentialReport")
        {
            Ok(out) => {
                let bytes = out
                    .content()
                    .map(|b| b.as_ref().to_vec())
                    .unwrap_or_default();
                return Ok(String::from_utf8_lossy(&bytes).into_owned());
            }
            Err(e)
                if matches!(
                    e.code.as_deref(),
                    Some("ReportInProgress" | "ReportNotPresent")
                ) && started.elapsed() < std::time::Duration::from_secs(20) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The role's name in an assumed role's session ARN.
fn assumed_role(arn: &str) -> Option<&str> {
    match arn.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "sts", _, _, resource] => {
            resource.strip_prefix("assumed-role/")?.split('/').next()
        }
        _ => None,
    }
}

/// What IAM decided for one action on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: String,
    pub resource: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: String,
}

/// Simulates `principal`'s identity policies for every action on every resource (`*` when
/// none), following pages. Per-resource decisions are read where IAM gives them.
pub async fn simulate(
    config: &SdkConfig,
    principal: &str,
    actions: &[String],
    resources: &[String],
) -> Result<Vec<Decision>, AwsError> {
    let client = super::client!(aws_sdk_iam, config);
    let mut decisions = Vec::new();
    let mut marker = None;
    loop {
        let out = client
            .simulate_principal_policy()
            .policy_source_arn(principal)
            .set_action_names(Some(actions.to_vec()))
            .set_resource_arns((!resources.is_empty()).then(|| resources.to_vec()))
            .set_marker(marker.take())
            .send()
            .await
            .op("IAM.SimulatePrincipalPolicy")?;
        for result in out.evaluation_results() {
            let action = result.eval_action_name().to_owned();
            let specific = result.resource_specific_results();
            if specific.is_empty() {
                decisions.push(Decision {
                    action,
                    resource: result.eval_resource_name().unwrap_or("*").to_owned(),
                    decision: result.eval_decision().as_str().to_owned(),
                });
            } else {
                decisions.extend(specific.iter().map(|r| Decision {
                    action: action.clone(),
                    resource: r.eval_resource_name().to_owned(),
                    decision: r.eval_resource_decision().as_str().to_owned(),
                }));
            }
        }
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(decisions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{assumed_role, is_root};

    #[test]
    fn only_the_root_users_arn_is_root() {
        assert!(is_root("arn:aws:iam::123456789012:root"));
        assert!(is_root("arn:aws-cn:iam::123456789012:root"));
        assert!(!is_root("arn:aws:iam::123456789012:user/root"));
        assert!(!is_root("arn:aws:sts::123456789012:assumed-role/root/s"));
        assert!(!is_root("arn:aws:iam::123456789012:root/x"));
    }

    #[test]
    fn an_assumed_role_session_names_its_role_without_its_path() {
        assert_eq!(
            assumed_role("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Ops_1/alice"),
            Some("AWSReservedSSO_Ops_1")
        );
        assert_eq!(
            assumed_role("arn:aws-cn:sts::123456789012:assumed-role/break-glass/x"),
            Some("break-glass")
        );
        assert_eq!(
            assumed_role("arn:aws:iam::123456789012:user/team/deployer"),
            None
        );
    }
}
