//! What a reviewer reads: the plan of every kind, pinned as a snapshot (insta). A change in how
//! any kind plans, shows values or redacts secrets shows up here as a diff to review; accept it
//! with `INSTA_UPDATE=always bash scripts/test.sh` (or `cargo insta review`).

use crate::support::World;

/// One step of every kind (two for `lock-url`), against the seeded incident world.
const EVERY_KIND: &str = r#"version: 1
name: every-kind
vars:
  edge: ""
steps:
  - id: route53-repoint
    kind: route53.repoint
    zone: example.com
    record: www.example.com
    type: A
    to: 192.0.2.20
  - id: ssm-copy-parameters
    kind: ssm.copy-parameters
    from: /shop/prod/
    to: /shop/staging/
    keys: [DB_HOST, DB_PASSWORD]
  - id: ssm-put-parameters
    kind: ssm.put-parameters
    values:
      /shop/staging/FEATURE_FLAG: "on"
      /shop/staging/RUN_MIGRATIONS: "true"
  - id: ssm-edit-env-file
    kind: ssm.edit-env-file
    parameter: /shop/dotenv/staging
    set: {APP_ENV: production}
    unset: [DEBUG]
  - id: eb-set-env
    kind: eb.set-env
    environment: shop-staging
    set: {APP_ENV: production}
    unset: [QUEUE_URL]
  - id: eb-set-options
    kind: eb.set-options
    environment: shop-staging
    set:
      aws:autoscaling:asg: {MaxSize: "8"}
      aws:autoscaling:launchconfiguration: {InstanceType: t3.xlarge}
    unset:
      aws:ec2:instances: [InstanceTypes]
  - id: eb-scale
    kind: eb.scale
    environment: shop-staging
    min: 4
    max: 12
  - id: eb-swap-cnames
    kind: eb.swap-cnames
    source: shop-staging
    destination: shop-prod
  - id: eb-restart
    kind: eb.restart
    environment: shop-staging
  - id: eb-wait-healthy
    kind: eb.wait-healthy
    environment: shop-staging
    within: 1m
  - id: lock-url-alb
    kind: lock-url
    strategy: alb
    load_balancer: shop-staging-alb
    host: staging.example.com
  - id: lock-url-dns
    kind: lock-url
    strategy: dns
    zone: example.com
    host: staging.example.com
    to: denied.example.net
  - id: alb-add-certificate
    kind: alb.add-certificate
    load_balancer: shop-staging-alb
    domain: app.example.com
  - id: workers-restart
    kind: workers.restart
    targets: {Role: queue-worker}
    command: systemctl restart queue-worker
    expect_env:
      from: /shop/staging/
      keys: [QUEUE_URL]
  - id: http-check
    kind: http.check
    url: http://app.example.com/health
    via: ${vars.edge}
    within: 1m
  - id: pause
    kind: pause
    duration: 30s
  - id: confirm
    kind: confirm
    message: Go ahead?
"#;

#[test]
fn every_kind_plans_as_its_snapshot_says() {
    let world = World::start();
    let pb = world.playbook("every-kind.yaml", EVERY_KIND);
    let out = world.with_playbook(&["plan"], &pb).expect(0);
    World::assert_no_secrets(&out.all());
    let blocks: Vec<&str> = out.stdout.split("\n[").skip(1).collect();
    assert_eq!(blocks.len(), 17, "{}", out.stdout);
    // ACM certificate ids are random in each world.
    let ids = regex::Regex::new("certificate/[0-9a-f-]{36}").unwrap();
    for block in &blocks {
        // "[3/14] id (kind) ...": drop the position so inserting a step moves no snapshot.
        let block = block.split_once("] ").map_or(*block, |(_, rest)| rest);
        let block = block.split("\n\n").next().unwrap_or(block).trim_end();
        let id = block.split_whitespace().next().unwrap();
        let block = ids.replace_all(block, "certificate/[id]");
        insta::assert_snapshot!(format!("plan-{id}"), block);
    }
    // After the steps: the playbook's warnings, the guards and the summary.
    let last = blocks.last().unwrap();
    let tail = last.split_once("\n\n").map_or("", |(_, rest)| rest);
    let tail = ids.replace_all(tail, "certificate/[id]");
    insta::assert_snapshot!("plan-warnings-guards-summary", tail);
}
