//! `standin iam-policy`: a valid policy document with exactly the actions the kinds need.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::repo;

fn policy(phase: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["iam-policy", "--for", phase])
        .arg(repo().join("playbooks/promote-staging.yaml"))
        .output()
        .expect("run standin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON policy")
}

fn actions(policy: &serde_json::Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn the_policy_is_a_valid_document_with_no_wildcard_actions() {
    for phase in ["plan", "run"] {
        let doc = policy(phase);
        assert_eq!(doc["Version"], "2012-10-17");
        let mut sids = BTreeSet::new();
        for statement in doc["Statement"].as_array().unwrap() {
            assert_eq!(statement["Effect"], "Allow");
            let sid = statement["Sid"].as_str().unwrap();
            assert!(
                sid.chars().all(|c| c.is_ascii_alphanumeric()) && sids.insert(sid.to_owned()),
                "bad or repeated Sid {sid}"
            );
            for action in statement["Action"].as_array().unwrap() {
                let (service, name) = action
                    .as_str()
                    .unwrap()
                    .split_once(':')
                    .expect("service:Action");
                assert!(
                    [
                        "route53",
                        "ssm",
                        "kms",
                        "elasticbeanstalk",
                        "elasticloadbalancing"
                    ]
                    .contains(&service),
                    "{action}"
                );
                assert!(!name.contains('*'), "wildcard action {action}");
            }
            for resource in statement["Resource"].as_array().unwrap() {
                let resource = resource.as_str().unwrap();
                assert!(
                    resource == "*" || resource.starts_with("arn:aws:"),
                    "{resource}"
                );
            }
        }
    }
}

#[test]
fn plan_needs_only_reads_and_run_adds_each_kinds_writes() {
    let plan = actions(&policy("plan"));
    for action in &plan {
        let name = action.split(':').nth(1).unwrap();
        assert!(
            ["Get", "List", "Describe"]
                .iter()
                .any(|p| name.starts_with(p))
                || action == "kms:Decrypt",
            "plan must only read: {action}"
        );
    }
    let run = actions(&policy("run"));
    let writes: BTreeSet<String> = run.difference(&plan).cloned().collect();
    let expected: BTreeSet<String> = [
        "elasticbeanstalk:RestartAppServer",
        "elasticbeanstalk:UpdateEnvironment",
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:DeleteRule",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "route53:ChangeResourceRecordSets",
        "route53:GetChange",
        "ssm:DeleteParameter",
        "ssm:GetCommandInvocation",
        "ssm:GetParameterHistory",
        "ssm:ListCommandInvocations",
        "ssm:PutParameter",
        "ssm:SendCommand",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(writes, expected);
    // Staging is written; production's parameters are only read.
    let doc = policy("run");
    for statement in doc["Statement"].as_array().unwrap() {
        let acts: Vec<&str> = statement["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        if acts.contains(&"ssm:PutParameter") {
            let resources = statement["Resource"].to_string();
            assert!(
                !resources.contains("/shop/prod"),
                "production parameters must not be writable: {resources}"
            );
        }
    }
}
