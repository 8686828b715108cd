//! Who the caller is (STS) and what its identity policies allow (IAM policy simulation), for
//! `standin drill --dry`'s permission check.

use aws_config::SdkConfig;

use super::{AwsError, Call};

/// The caller, and the IAM principal whose policies decide what it may do.
#[derive(Debug, Clone)]
pub struct Caller {
    /// As STS says it (for an assumed role, the session's ARN).
    pub arn: String,
    pub account: String,
    /// The IAM user or role to simulate (an assumed role's role).
    pub principal: String,
}

/// Asks STS who the caller is.
pub async fn caller(config: &SdkConfig) -> Result<Caller, AwsError> {
    let out = super::client!(aws_sdk_sts, config)
        .get_caller_identity()
        .send()
        .await
        .op("STS.GetCallerIdentity")?;
    let arn = out.arn().unwrap_or_default().to_owned();
    let account = out.account().unwrap_or_default().to_owned();
    Ok(Caller {
        principal: principal_of(&arn),
        arn,
        account,
    })
}

/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` is the role `arn:aws:iam::ACCOUNT:role/ROLE`
/// (a role with a path needs the path, which the session ARN does not carry: IAM then answers
/// that it cannot find the role, and the check says so). Any other ARN is its own principal.
pub fn principal_of(arn: &str) -> String {
    let Some((head, rest)) = arn.split_once(":assumed-role/") else {
        return arn.to_owned();
    };
    let role = rest.split('/').next().unwrap_or_default();
    format!("{}:role/{role}", head.replacen(":sts:", ":iam:", 1))
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
    use super::principal_of;

    #[test]
    fn an_assumed_role_is_simulated_as_its_role() {
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:assumed-role/break-glass/alice"),
            "arn:aws:iam::123456789012:role/break-glass"
        );
        assert_eq!(
            principal_of("arn:aws:iam::123456789012:user/deployer"),
            "arn:aws:iam::123456789012:user/deployer"
        );
    }
}
