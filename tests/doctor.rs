//! `standin doctor` (issue 29): what AWS says about an account before the bad day, and the
//! blocker checks `run` and `drill` make first. The emulator plays AWS's parts moto lacks
//! (harness/moto_health.py, harness/moto_iam_root.py; docs/aws-behaviour.md, "Doctor's
//! reads"): AWS Health and its support-plan gate, the root user's credentials, the credential
//! report's `<root_account>` row, AWS's quarantine policy.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::iam::{grants, iam_action, matches, policy_in};
use crate::support::{Keys, Proxy, World};

/// Repoints `app` to staging: one reversible change, quick to run and to drill (the parts
/// of production it leaves behind are left out on purpose, so its dry drill is clean).
fn small(drill_every: &str) -> String {
    format!(
        "version: 1
name: doctor-small
drill_every: {drill_every}
coverage:
  ignore:
    - id: dns:api.example.com:CNAME:blue
      reason: api fails over on its own
    - id: workers:eb:shop-worker
      reason: no jobs in this test
steps:
  - id: repoint-app
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
"
    )
}

fn keys(out: &str) -> Keys {
    let (id, secret) = out.split_once(' ').expect("key id and secret");
    [
        ("AWS_ACCESS_KEY_ID".into(), id.to_owned()),
        ("AWS_SECRET_ACCESS_KEY".into(), secret.to_owned()),
    ]
}

/// `doctor --output json ARGS` with the exit code expected; its findings by id, with their
/// severity.
fn doctor(
    world: &World,
    as_keys: Option<&Keys>,
    args: &[&str],
    code: i32,
) -> Vec<(String, String)> {
    let mut all = vec!["--output", "json", "doctor"];
    all.extend(args);
    let out = match as_keys {
        Some(k) => world.as_user(k, &all),
        None => world.standin(&all),
    }
    .expect(code);
    let doc: Value = serde_json::from_str(&out.stdout).expect("doctor's JSON");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            for field in ["id", "severity", "account", "what", "why", "fix"] {
                assert!(f[field].is_string(), "{field} of {f}");
            }
            (
                f["id"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(findings: &[(String, String)], id: &str, severity: &str) -> bool {
    findings.iter().any(|(i, s)| i == id && s == severity)
}

fn contacts(world: &World) {
    world.control(&["contact", "SECURITY", "security@example.com"]);
    world.control(&["contact", "OPERATIONS", "ops@example.com"]);
}

#[test]
fn root_credentials_are_refused_by_run_and_drill_unless_allowed() {
    let world = World::start();
    let root = keys(&world.control(&["root-key"]));
    let pb = world.playbook("small.yaml", &small("30d"));
    let before = world.state();

    for args in [vec!["run", "--yes"], vec!["drill", "--yes"]] {
        let mut args: Vec<&str> = args;
        args.push(&pb);
        let out = world.as_user(&root, &args).expect(4);
        assert!(out.stderr.contains("[root-caller]"), "{}", out.stderr);
        assert!(out.stderr.contains("--allow-root"), "{}", out.stderr);
        assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
        assert_eq!(world.state(), before, "{args:?} changed something");
    }
    let dry = world.as_user(&root, &["drill", "--dry", &pb]).expect(4);
    assert!(dry.stdout.contains("[root-caller]"), "{}", dry.stdout);
    let found = doctor(&world, Some(&root), &[&pb], 7);
    assert!(has(&found, "root-caller", "blocker"), "{found:?}");
    // The root user's key shows in the credential report.
    assert!(has(&found, "root-access-key", "warning"), "{found:?}");

    // Allowed: a drill there and back, then a run.
    world
        .as_user(&root, &["drill", "--yes", "--allow-root", &pb])
        .expect(0);
    assert_eq!(world.state(), before, "the drill put everything back");
    let out = world
        .as_user(&root, &["run", "--yes", "--allow-root", &pb])
        .expect(0);
    assert!(
        out.stderr.contains("going ahead although [root-caller]"),
        "{}",
        out.stderr
    );
    assert!(
        world
            .record("app.example.com.", "CNAME")
            .unwrap()
            .starts_with("shop-staging."),
        "the run went ahead"
    );
}

#[test]
fn a_quarantined_caller_and_an_aws_risk_event_are_blockers() {
    let world = World::start();
    let ops = world.iam_user(
        "ops",
        &serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    );
    world.control(&["quarantine", "ops"]);
    let pb = world.playbook("small.yaml", &small("30d"));
    let before = world.state();
    let found = doctor(&world, Some(&ops), &[], 7);
    assert!(has(&found, "quarantined", "blocker"), "{found:?}");
    let out = world.as_user(&ops, &["run", "--yes", &pb]).expect(4);
    assert!(out.stderr.contains("[quarantined]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("AWSCompromisedKeyQuarantine"),
        "{}",
        out.stderr
    );
    assert_eq!(world.state(), before);
    // A scheduled drill refused so says it to its webhook.
    let (url, server) = crate::drill::webhook(200);
    world
        .as_user(&ops, &["drill", "--yes", "--notify", &url, &pb])
        .expect(4);
    let body: Value = serde_json::from_str(&server.join().unwrap()).expect("JSON body");
    let text = body["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("did not start") && text.contains("[quarantined]"),
        "{body}"
    );
    // Forced by its id, like a guard; an id that matches nothing is said.
    let out = world
        .as_user(
            &ops,
            &[
                "run",
                "--yes",
                "--force-blocker",
                "quarantined",
                "--force-blocker",
                "quarantine",
                &pb,
            ],
        )
        .expect(0);
    assert!(
        out.stderr
            .contains("`--force-blocker quarantine` matches no blocker"),
        "{}",
        out.stderr
    );

    // The default caller is clean, until AWS writes about exposed credentials.
    world.control(&["support-plan", "business"]);
    let clean = doctor(&world, None, &[], 8);
    assert!(!clean.iter().any(|(_, s)| s == "blocker"), "{clean:?}");
    world.control(&[
        "health-event",
        "AWS_RISK_CREDENTIALS_EXPOSED",
        "issue",
        "open",
        "RISK",
    ]);
    let found = doctor(&world, None, &[], 7);
    assert!(
        has(&found, "health:AWS_RISK_CREDENTIALS_EXPOSED", "blocker"),
        "{found:?}"
    );
    let human = world.standin(&["doctor"]).expect(7).stdout;
    assert!(
        human.contains("BLOCKER  default")
            && human.contains("[health:AWS_RISK_CREDENTIALS_EXPOSED]"),
        "{human}"
    );
    let out = world.standin(&["drill", "--yes", &pb]).expect(4);
    assert!(
        out.stderr.contains("[health:AWS_RISK_CREDENTIALS_EXPOSED]"),
        "{}",
        out.stderr
    );

    // A scheduled change that touches the playbook's environment is a warning.
    world.control(&[
        "health-event",
        "AWS_ELASTICBEANSTALK_PLATFORM_RETIREMENT_SCHEDULED",
        "scheduledChange",
        "upcoming",
        "ELASTICBEANSTALK",
        "shop-staging",
    ]);
    let restart = world.playbook(
        "restart.yaml",
        "version: 1\nname: restart\ndrill_every: 30d\nsteps:\n  - id: restart\n    kind: eb.restart\n    environment: shop-staging\n",
    );
    let found = doctor(&world, None, &[&restart], 7);
    assert!(
        has(
            &found,
            "health:AWS_ELASTICBEANSTALK_PLATFORM_RETIREMENT_SCHEDULED",
            "warning"
        ),
        "{found:?}"
    );
}

/// Only AWS's own policy is AWS's quarantine (a customer's of the same name is not), and it
/// counts through a group as much as attached to the user.
#[test]
fn the_quarantine_is_awss_policy_directly_or_through_a_group() {
    let world = World::start();
    let admin = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let dev = world.iam_user("dev", &admin);
    let iam = aws_sdk_iam::Client::new(&world.config);
    world.block_on(async {
        let lookalike = iam
            .create_policy()
            .policy_name("AWSCompromisedKeyQuarantineV3")
            .policy_document(admin.to_string())
            .send()
            .await
            .expect("a customer's policy");
        let arn = lookalike.policy().unwrap().arn().unwrap().to_owned();
        iam.attach_user_policy()
            .user_name("dev")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    });
    let found = doctor(&world, Some(&dev), &[], 8);
    assert!(
        !found.iter().any(|(id, _)| id == "quarantined"),
        "{found:?}"
    );
    world.block_on(async {
        iam.create_group().group_name("devs").send().await.unwrap();
        iam.add_user_to_group()
            .group_name("devs")
            .user_name("dev")
            .send()
            .await
            .unwrap();
        iam.attach_group_policy()
            .group_name("devs")
            .policy_arn("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3")
            .send()
            .await
            .unwrap();
    });
    let found = doctor(&world, Some(&dev), &[], 7);
    assert!(has(&found, "quarantined", "blocker"), "{found:?}");
}

/// A Health endpoint that does not answer costs only Health's check: the root user is still
/// refused, and the check not made is said.
#[test]
fn a_health_endpoint_that_hangs_still_refuses_the_root_user() {
    let world = World::start();
    let root = keys(&world.control(&["root-key"]));
    let proxy = Proxy::start(&world);
    proxy.faults(
        &world,
        &serde_json::json!([{"action": "health:DescribeEvents", "fault": "slow", "seconds": 30}]),
    );
    let pb = world.playbook("small.yaml", &small("30d"));
    let mut env: Vec<(&str, &str)> = root.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("AWS_ENDPOINT_URL", proxy.url.as_str()));
    let out = world.standin_env(&env, &["run".into(), "--yes".into(), pb]);
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(out.stderr.contains("[root-caller]"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("could not read AWS Health's events: no answer within"),
        "{}",
        out.stderr
    );
}

#[test]
fn health_without_a_support_plan_is_a_note_and_contacts_are_warnings() {
    let world = World::start();
    let found = doctor(&world, None, &[], 8);
    assert!(has(&found, "health-unavailable", "note"), "{found:?}");
    assert!(has(&found, "no-security-contact", "warning"), "{found:?}");
    assert!(has(&found, "no-operations-contact", "warning"), "{found:?}");
    let human = world.standin(&["doctor"]).expect(8).stdout;
    assert!(human.contains("SubscriptionRequiredException"), "{human}");
    assert!(
        human.contains("examples/health-events-rule.json"),
        "{human}"
    );
    assert!(human.contains("0 blocker(s), 2 warning(s)"), "{human}");

    // `--notify`: the findings posted for a chat; a refusing webhook changes no exit code.
    let (url, server) = crate::drill::webhook(200);
    world.standin(&["doctor", "--notify", &url]).expect(8);
    let body: Value = serde_json::from_str(&server.join().unwrap()).expect("JSON body");
    let text = body["text"].as_str().expect("Slack's `text`");
    assert!(
        text.contains("standin doctor: 0 blocker(s), 2 warning(s)"),
        "{text}"
    );
    assert!(
        body["findings"]
            .as_array()
            .is_some_and(|f| f.len() == found.len()),
        "{body}"
    );
    let (url, server) = crate::drill::webhook(500);
    let out = world.standin(&["doctor", "--notify", &url]).expect(8);
    server.join().unwrap();
    assert!(out.stderr.contains("could not notify"), "{}", out.stderr);
    assert!(!out.all().contains("SECRETPATH"), "{}", out.all());

    contacts(&world);
    let found = doctor(&world, None, &[], 0);
    assert!(found.iter().all(|(_, s)| s == "note"), "{found:?}");
}

#[test]
fn a_playbook_never_drilled_or_drilled_too_long_ago_is_a_warning() {
    let world = World::start();
    contacts(&world);
    let pb = world.playbook("small.yaml", &small("1h"));
    let found = doctor(&world, None, &[&pb], 8);
    assert!(has(&found, "never-drilled", "warning"), "{found:?}");
    world.standin(&["drill", "--yes", &pb]).expect(0);
    // Still warned: the dry drill's findings (the stand-in's certificate for `app`, and
    // permissions the emulator's default caller cannot have simulated).
    let found = doctor(&world, None, &[&pb], 8);
    assert!(has(&found, "not-ready", "warning"), "{found:?}");
    assert!(
        !found.iter().any(|(id, _)| id.contains("drill")),
        "{found:?}"
    );
    // The same playbook, now held to a second: its drill is overdue.
    std::fs::write(&pb, small("1s")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let found = doctor(&world, None, &[&pb], 8);
    assert!(has(&found, "drill-overdue", "warning"), "{found:?}");
    // Without `drill_every:`, a note says to set one.
    std::fs::write(&pb, small("1s").replace("drill_every: 1s\n", "")).unwrap();
    let found = doctor(&world, None, &[&pb], 8);
    assert!(has(&found, "no-drill-every", "note"), "{found:?}");
}

#[test]
fn a_denied_read_is_a_named_note_and_every_call_is_in_the_doctor_policy() {
    let world = World::start();
    contacts(&world);
    let proxy = Proxy::start(&world);
    let via = [("AWS_ENDPOINT_URL", proxy.url.as_str())];
    let pb = world.playbook("small.yaml", &small("30d"));
    world.control(&["support-plan", "business"]);
    world.control(&[
        "health-event",
        "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
        "scheduledChange",
        "upcoming",
        "EC2",
        "i-0123456789abcdef0",
    ]);
    let args: Vec<String> = ["--output", "json", "doctor", &pb]
        .map(str::to_owned)
        .to_vec();
    world.standin_env(&via, &args).expect(8);
    let called: BTreeSet<String> = proxy.counts(&world).keys().map(|c| iam_action(c)).collect();
    for expected in [
        "iam:GetCredentialReport",
        "health:DescribeAffectedEntities",
        "account:GetAlternateContact",
        "iam:SimulatePrincipalPolicy",
    ] {
        assert!(called.contains(expected), "doctor called {called:?}");
    }
    let granted: Vec<String> = grants(&policy_in("us-east-1", &["--for", "doctor", &pb]))
        .into_keys()
        .collect();
    let missing: Vec<&String> = called
        .iter()
        .filter(|a| *a != "sts:GetCallerIdentity")
        .filter(|a| !granted.iter().any(|g| matches(g, a)))
        .collect();
    assert!(
        missing.is_empty(),
        "doctor calls what `iam-policy --for doctor` lacks: {missing:?}"
    );
    // No playbook: the account's checks alone.
    let alone: Vec<String> = grants(&policy_in("us-east-1", &["--for", "doctor"]))
        .into_keys()
        .collect();
    assert!(
        alone.contains(&"iam:GetCredentialReport".to_owned()),
        "{alone:?}"
    );
    assert!(
        !alone.iter().any(|a| a.starts_with("route53:")),
        "{alone:?}"
    );

    proxy.faults(
        &world,
        &serde_json::json!([
            {"action": "iam:GenerateCredentialReport", "fault": "deny"},
            {"action": "health:DescribeEvents", "fault": "deny"}
        ]),
    );
    let out = world.standin_env(&via, &["doctor".to_owned()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("could not read the credential report: AccessDenied"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("could not read AWS Health's events: AccessDenied"),
        "{}",
        out.stdout
    );
    // A run goes on without the checks it could not make.
    let run: Vec<String> = ["run", "--yes", &pb].map(str::to_owned).to_vec();
    world.standin_env(&via, &run).expect(0);
}
