//! Coverage: the plan names each part of production that no step covers (issue 28), as the
//! incident's team forgot one: a record, found by reading every zone, ready to paste.

use serde_json::Value;

use crate::support::{Proxy, World};

/// Repoints `app` only, as a playbook written before `shop` existed would.
const APP_ONLY: &str = "version: 1
name: app-only
steps:
  - id: repoint-app
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
";

fn findings(plan: &Value) -> Vec<(String, bool)> {
    plan["coverage"]
        .as_array()
        .expect("coverage in the plan")
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_owned(), f["ignored"] == true))
        .collect()
}

#[test]
fn records_pointing_at_production_are_named_until_covered_or_ignored() {
    let world = World::start();
    let prod = world
        .record("app.example.com.", "CNAME")
        .expect("app's record");
    assert!(prod.starts_with("shop-prod."), "{prod}");
    // A second name for production, added by hand after the playbook was written.
    world.upsert_record("example.com.", "shop.example.com.", "CNAME", &prod);
    let pb = world.playbook("app-only.yaml", APP_ONLY);

    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    // The hand-made record, the weighted `blue` half of api's set the world has, and the
    // worker tier of production's application (the playbook restarts no workers).
    assert_eq!(
        findings(&plan),
        [
            ("dns:api.example.com:CNAME:blue".to_owned(), false),
            ("dns:shop.example.com:CNAME".to_owned(), false),
            ("workers:eb:shop-worker".to_owned(), false),
        ],
        "{plan}"
    );
    assert_eq!(plan["summary"]["uncovered"], 3, "{plan}");

    let human = world.standin(&["plan", &pb]).expect(0).stdout;
    assert!(
        human.contains("Coverage: 3 part(s) of production no step covers"),
        "{human}"
    );
    assert!(
        human.contains("shop.example.com. CNAME [dns:shop.example.com:CNAME]"),
        "{human}"
    );
    assert!(
        human.contains(&format!("points at production's endpoint {prod}")),
        "{human}"
    );
    assert!(
        human.contains("3 part(s) of production left behind."),
        "{human}"
    );

    // A scheduled dry drill fails while a part is left behind.
    let dry = world.standin(&["drill", "--dry", &pb]).expect(4);
    assert!(
        dry.stdout
            .contains("part of production left behind: shop.example.com. CNAME"),
        "{}",
        dry.stdout
    );

    // The cover, pasted as printed, and the blue record ignored with a reason: clean.
    let shop = plan["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "dns:shop.example.com:CNAME")
        .unwrap();
    let cover: String = shop["cover"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    let covered = format!(
        "coverage:\n  ignore:\n    - id: dns:api.example.com:CNAME:blue\n      reason: the release switch shifts api's weights\n    - id: workers:eb:shop-worker\n      reason: it reads its queue's URL at each job\n{APP_ONLY}{cover}"
    );
    let pb = world.playbook("covered.yaml", &covered);
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        findings(&plan),
        [
            ("dns:api.example.com:CNAME:blue".to_owned(), true),
            ("workers:eb:shop-worker".to_owned(), true)
        ],
        "{plan}"
    );
    assert_eq!(
        plan["coverage"][0]["reason"],
        "the release switch shifts api's weights"
    );
    assert_eq!(plan["summary"]["uncovered"], 0, "{plan}");
    assert_eq!(plan["summary"]["ignored"], 2, "{plan}");
    let human = world.standin(&["plan", &pb]).expect(0).stdout;
    assert!(human.contains("left out on purpose"), "{human}");
    assert!(!human.contains("left behind"), "{human}");
    let dry = world.standin(&["drill", "--dry", &pb]);
    assert!(!dry.stdout.contains("left behind"), "{}", dry.stdout);

    // The pasted step does what it says: shop follows app to the stand-in.
    world.standin(&["run", "--yes", &pb]).expect(0);
    assert_eq!(
        world.record("shop.example.com.", "CNAME").as_deref(),
        world.record("app.example.com.", "CNAME").as_deref()
    );
    assert!(world
        .record("shop.example.com.", "CNAME")
        .unwrap()
        .starts_with("shop-staging."));
}

/// Production named by `production.endpoints`, and a CNAME swap that moves it: records at a
/// swapped CNAME follow the swap, so nothing is left behind.
#[test]
fn named_endpoints_count_and_a_swap_covers_the_records_at_its_cnames() {
    let world = World::start();
    let prod = world.record("app.example.com.", "CNAME").unwrap();
    let named = format!(
        "version: 1\nname: named\nproduction:\n  endpoints: [{}]\nsteps:\n  - id: go\n    kind: pause\n    duration: 1s\n",
        prod.to_uppercase()
    );
    let pb = world.playbook("named.yaml", &named);
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<String> = findings(&plan).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "dns:api.example.com:CNAME:blue",
            "dns:app.example.com:CNAME",
            "workers:eb:shop-worker"
        ],
        "{plan}"
    );
    // No step moves production's name: the cover says where to fill in the stand-in, and
    // `validate` refuses it as pasted, until someone does; each cover is a step of its own.
    let covers: String = plan["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            f["cover"]
                .as_str()
                .unwrap()
                .lines()
                .map(|l| format!("  {l}\n"))
        })
        .collect();
    assert!(
        covers.contains("# to: <the stand-in's name for this traffic>"),
        "{covers}"
    );
    let pasted = world.playbook(
        "pasted.yaml",
        &format!("version: 1\nname: pasted\nsteps:\n{covers}"),
    );
    let out = world.standin(&["validate", &pasted]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert_eq!(
        out.stderr
            .matches("missing field `to` (or `alias`)")
            .count(),
        2,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("is not an instance id"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("duplicate"), "{}", out.stderr);

    let swap = "version: 1\nname: swap\nsteps:\n  - id: swap\n    kind: eb.swap-cnames\n    source: shop-staging\n    destination: shop-prod\n";
    let pb = world.playbook("swap.yaml", swap);
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        findings(&plan),
        [("workers:eb:shop-worker".to_owned(), false)],
        "{plan}"
    );
}

/// Production's workers: the worker tier of its application, and instances that carry
/// production's tags and look like workers, one finding per role; a `workers.restart` step
/// covers them all.
#[test]
fn production_s_workers_are_named_until_a_step_restarts_workers() {
    let world = World::start();
    // The world's tagged workers stand for production's here.
    let tagged = APP_ONLY.replace(
        "name: app-only\n",
        "name: tagged\nproduction:\n  tags: {Environment: staging}\n",
    );
    let pb = world.playbook("tagged.yaml", &tagged);
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let workers: Vec<&Value> = plan["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "workers")
        .collect();
    let ids: Vec<&str> = workers.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["workers:eb:shop-worker", "workers:ec2:Role=queue-worker"],
        "{plan}"
    );
    let resource = workers[1]["resource"].as_str().unwrap();
    assert!(
        resource.starts_with("2 instance(s) tagged Environment=staging and Role=queue-worker (i-"),
        "{resource}"
    );
    assert!(workers[1]["cover"]
        .as_str()
        .unwrap()
        .contains("kind: workers.restart"));

    let restarts = format!(
        "{tagged}  - id: restart-workers\n    kind: workers.restart\n    targets:\n      Role: queue-worker\n    command: systemctl restart queue-worker\n"
    );
    let pb = world.playbook("restarts.yaml", &restarts);
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        findings(&plan)
            .iter()
            .all(|(id, _)| !id.starts_with("workers:")),
        "{plan}"
    );
}

/// A read that fails is a named warning, never a silent pass and never a crash; the reads
/// are in the plan's policy.
#[test]
fn a_denied_read_is_a_named_warning() {
    let world = World::start();
    let policy = world
        .standin(&[
            "iam-policy",
            "--for",
            "plan",
            &world.playbook("app-only.yaml", APP_ONLY),
        ])
        .expect(0)
        .stdout;
    for action in ["route53:ListHostedZones", "route53:ListResourceRecordSets"] {
        assert!(policy.contains(action), "{action}: {policy}");
    }
    let proxy = Proxy::start(&world);
    proxy.faults(
        &world,
        &serde_json::json!([{"action": "route53 GET /2013-04-01/hostedzone", "fault": "deny"}]),
    );
    let pb = world.playbook("app-only.yaml", APP_ONLY);
    let out = world.standin_env(
        &[("AWS_ENDPOINT_URL", &proxy.url)],
        &["--output".into(), "json".into(), "plan".into(), pb.clone()],
    );
    assert_ne!(out.code, 101, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).expect("plan JSON");
    // The worker tier is still found: only the DNS read was denied.
    assert_eq!(
        findings(&plan),
        [("workers:eb:shop-worker".to_owned(), false)],
        "{plan}"
    );
    let unchecked = plan["unchecked"].to_string();
    assert!(
        unchecked.contains("could not check DNS records for production's endpoints")
            && unchecked.contains("AccessDenied"),
        "{plan}"
    );
    // A scheduled dry drill does not pass on what it did not see.
    let dry = world.standin_env(
        &[("AWS_ENDPOINT_URL", &proxy.url)],
        &world.playbook_args(&["drill", "--dry"], &pb),
    );
    assert_eq!(dry.code, 4, "{}", dry.all());
    assert!(
        dry.stdout
            .contains("coverage not checked: could not check DNS records"),
        "{}",
        dry.stdout
    );
}

/// Production's endpoint is what a repointed record points at live, even when an earlier step
/// moves the same name first (a lock to a maintenance page): the plan's predicted state would
/// say the maintenance page.
#[test]
fn an_earlier_step_on_the_same_name_does_not_hide_production() {
    let world = World::start();
    let pb = world.playbook(
        "locked-first.yaml",
        "version: 1
name: locked-first
steps:
  - id: lock-app
    kind: lock-url
    strategy: dns
    zone: example.com
    host: app.example.com
    to: maintenance.example.net
  - id: repoint-app
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
",
    );
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let blue = plan["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "dns:api.example.com:CNAME:blue")
        .unwrap_or_else(|| panic!("api's blue record: {plan}"));
    assert!(
        blue["why"].as_str().unwrap().contains("shop-prod."),
        "{blue}"
    );
    assert!(
        blue["cover"]
            .as_str()
            .unwrap()
            .contains("to: shop-staging.us-east-1.elasticbeanstalk.com"),
        "{blue}"
    );
}

/// Copies production's parameters but its queue's: written before the nightly rule, the
/// hourly schedule, the CDN and production's own workers existed.
const FORGETFUL: &str = "version: 1
name: forgetful
production:
  tags: {Environment: production}
steps:
  - id: repoint-app
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
  - id: swap-env
    kind: ssm.copy-parameters
    from: /shop/prod/
    to: /shop/staging/
    except: [APP_URL, QUEUE_URL]
";

/// The world: a second record at production's CNAME, production's workers tagged
/// like production with no restart step, a scheduled rule and a schedule that send to
/// production's queue (which the copy leaves out), and a CloudFront origin on production.
/// Each is named with an id, fails a dry drill, and is clean once ignored or covered; the
/// covers run.
#[test]
fn every_part_a_playbook_forgets_is_named_until_ignored_or_covered() {
    let world = World::seeded("forgotten");
    let pb = world.playbook("forgetful.yaml", FORGETFUL);
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = plan["coverage"].as_array().unwrap();
    let mut ids: Vec<&str> = found.iter().map(|f| f["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let cdn = ids[0];
    assert!(
        cdn.starts_with("cloudfront:") && cdn.ends_with("/shop-prod-origin"),
        "{plan}"
    );
    assert_eq!(
        ids[1..],
        [
            "dns:api.example.com:CNAME:blue",
            "dns:shop.example.com:CNAME",
            "events:default/nightly-report",
            "schedule:default/hourly-sync",
            "sqs:us-east-1:123456789012:shop-prod-jobs",
            "workers:asg:shop-prod-workers",
            "workers:eb:shop-worker",
            "workers:ec2:Role=queue-worker",
        ],
        "{plan}"
    );
    for f in found {
        for field in ["id", "kind", "resource", "why", "cover"] {
            assert!(
                f[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field}: {f}"
            );
        }
    }
    let by_id = |id: &str| found.iter().find(|f| f["id"] == id).unwrap();
    let queue = by_id("sqs:us-east-1:123456789012:shop-prod-jobs");
    assert!(
        queue["why"]
            .as_str()
            .unwrap()
            .contains("production's parameter /shop/prod/QUEUE_URL names it"),
        "{queue}"
    );
    let rule = by_id("events:default/nightly-report");
    assert!(
        rule["why"]
            .as_str()
            .unwrap()
            .contains("production's queue arn:aws:sqs:us-east-1:123456789012:shop-prod-jobs"),
        "{rule}"
    );
    let human = world.standin(&["plan", &pb]).expect(0).stdout;
    assert!(
        human.contains("Coverage: 9 part(s) of production no step covers"),
        "{human}"
    );
    assert!(
        human.contains("EventBridge rule nightly-report (bus default)"),
        "{human}"
    );
    assert!(human.contains("static.example.com"), "{human}");
    let dry = world.standin(&["drill", "--dry", &pb]).expect(4);
    assert!(
        dry.stdout
            .contains("part of production left behind: EventBridge Scheduler schedule hourly-sync"),
        "{}",
        dry.stdout
    );

    // Ignored with reasons, or covered by the covers as printed: clean.
    let ignore = "coverage:\n  ignore:\n    - id: dns:api.example.com:CNAME:blue\n      reason: the release switch shifts api's weights\n    - id: workers:eb:shop-worker\n      reason: it reads its queue's URL at each job\n    - id: workers:ec2:Role=queue-worker\n      reason: production's workers stop with production\n    - id: workers:asg:shop-prod-workers\n      reason: production's workers stop with production\n";
    let covers: String = found
        .iter()
        .filter(|f| {
            !["dns:api", "workers:"]
                .iter()
                .any(|p| f["id"].as_str().unwrap().starts_with(p))
        })
        .flat_map(|f| {
            f["cover"]
                .as_str()
                .unwrap()
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<Vec<_>>()
        })
        .collect();
    let covered = format!("{ignore}{FORGETFUL}{covers}");
    let pb = world.playbook("covered.yaml", &covered);
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["uncovered"], 0, "{plan}");
    assert_eq!(plan["summary"]["ignored"], 4, "{plan}");
    let dry = world.standin(&["drill", "--dry", &pb]);
    assert!(!dry.stdout.contains("left behind"), "{}", dry.all());

    // The covers run: the stand-in names production's queue, and each question was asked.
    let run = world.standin(&["run", "--yes", &pb]).expect(0);
    assert_eq!(
        world.param("/shop/staging/QUEUE_URL").as_deref(),
        Some("https://sqs.us-east-1.amazonaws.com/123456789012/shop-prod-jobs"),
        "{}",
        run.all()
    );
    assert_eq!(
        world.record("shop.example.com.", "CNAME").as_deref(),
        world.record("app.example.com.", "CNAME").as_deref()
    );
    assert!(run.stdout.contains("nightly-report"), "{}", run.stdout);
    // Planned again after the failover, a repoint already done says nothing of production:
    // the stand-in's name is not taken for production's.
    let again = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    assert!(
        !again.stdout.contains("endpoint shop-staging"),
        "{}",
        again.stdout
    );
}

/// A denied discovery read of the new kinds is a named warning too, in the service's own
/// error (EventBridge's JSON, Scheduler's REST JSON, CloudFront's XML).
#[test]
fn a_denied_rule_schedule_or_distribution_read_is_a_named_warning() {
    let world = World::seeded("forgotten");
    let proxy = Proxy::start(&world);
    proxy.faults(
        &world,
        &serde_json::json!([
            {"action": "events:ListRules", "fault": "deny"},
            {"action": "scheduler GET /schedules", "fault": "deny"},
            {"action": "cloudfront GET /2020-05-31/distribution", "fault": "deny"}
        ]),
    );
    let pb = world.playbook("forgetful.yaml", FORGETFUL);
    let out = world.standin_env(
        &[("AWS_ENDPOINT_URL", &proxy.url)],
        &["--output".into(), "json".into(), "plan".into(), pb.clone()],
    );
    assert_ne!(out.code, 101, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).expect("plan JSON");
    let unchecked: Vec<&str> = plan["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    for what in [
        "could not check EventBridge rules",
        "could not check EventBridge Scheduler schedules",
        "could not check CloudFront distributions",
    ] {
        assert!(
            unchecked
                .iter()
                .any(|u| u.starts_with(what) && u.contains("AccessDenied")),
            "{what}: {unchecked:?}"
        );
    }
    // What was read is still named.
    assert!(
        findings(&plan)
            .iter()
            .any(|(id, _)| id == "sqs:us-east-1:123456789012:shop-prod-jobs"),
        "{plan}"
    );
    let policy = world
        .standin(&["iam-policy", "--for", "plan", &pb])
        .expect(0)
        .stdout;
    for action in [
        "events:ListRules",
        "events:ListTargetsByRule",
        "scheduler:ListSchedules",
        "cloudfront:ListDistributions",
        "ssm:GetParametersByPath",
    ] {
        assert!(policy.contains(action), "{action}: {policy}");
    }
}

/// `production.parameters` are path prefixes, checked before any AWS call.
#[test]
fn production_parameters_must_be_path_prefixes() {
    let world = World::seeded("none");
    let pb = world.playbook(
        "bad.yaml",
        "version: 1\nname: bad\nproduction:\n  parameters: [/shop/prod/, shop/prod]\nsteps:\n  - id: go\n    kind: pause\n    duration: 1s\n",
    );
    world.standin(&["validate", &pb]).expect_invalid(
        "a prefix without its slash",
        "bad.yaml:4:29: `shop/prod` is not a path prefix",
        "write a path such as `/shop/prod/`",
    );
}

/// From the unlucky side: a rule in CloudTrail's enabled state counts and a disabled one does
/// not; an API destination's credentials and query never show; one value naming two queues of
/// one name in two regions is two findings; every printed cover has its own step id; a
/// `production.parameters` prefix that holds nothing is unchecked, not clean; an ignore that
/// names nothing is a warning.
#[test]
fn odd_rules_queues_and_names_are_found_safely() {
    let world = World::seeded("forgotten");
    let queue = "arn:aws:sqs:us-east-1:123456789012:shop-prod-jobs";
    world.control(&[
        "rule",
        "audit-trail",
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
        queue,
    ]);
    world.control(&["rule", "retired", "DISABLED", queue]);
    let hook = world.control(&[
        "api-destination",
        "orders-hook",
        "https://admin:hunter2@SHOP-PROD.us-east-1.elasticbeanstalk.com.:8443/hook?token=SECRET-TOKEN-123",
    ]);
    world.control(&["rule", "webhook", "ENABLED", &hook]);
    world.put_param(
        "/shop/extra/WORKERS",
        "JOBS=https://sqs.us-east-1.amazonaws.com/123456789012/jobs\nEU=https://sqs.eu-west-1.amazonaws.com/123456789012/jobs\n",
    );
    let text = FORGETFUL.replace(
        "  tags: {Environment: production}\n",
        "  tags: {Environment: production}\n  parameters: [/shop/extra/, /shop/prd/]\ncoverage:\n  ignore:\n    - {id: \"dns:nope.example.com:CNAME\", reason: typo}\n",
    );
    let pb = world.playbook("odd.yaml", &text);
    let out = world.standin(&["--output", "json", "plan", &pb]).expect(0);
    for secret in ["hunter2", "SECRET-TOKEN-123", "admin:"] {
        assert!(!out.stdout.contains(secret), "{secret}: {}", out.stdout);
    }
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<String> = findings(&plan).into_iter().map(|(id, _)| id).collect();
    for id in [
        "events:default/audit-trail",
        "events:default/webhook",
        "sqs:us-east-1:123456789012:jobs",
        "sqs:eu-west-1:123456789012:jobs",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id}: {ids:?}");
    }
    assert!(!ids.iter().any(|i| i.contains("retired")), "{ids:?}");
    let webhook = plan["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "events:default/webhook")
        .unwrap();
    assert!(
        webhook["why"].as_str().unwrap().contains(
            "API destination (to https://shop-prod.us-east-1.elasticbeanstalk.com.:8443/hook?…) arn:aws:events:"
        ),
        "{webhook}"
    );
    // Every cover its own step id, so that all can be pasted at once.
    let mut step_ids: Vec<&str> = plan["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cover"].as_str().unwrap().lines().next().unwrap())
        .collect();
    let count = step_ids.len();
    step_ids.sort_unstable();
    step_ids.dedup();
    assert_eq!(step_ids.len(), count, "{step_ids:?}");
    assert!(
        plan["unchecked"]
            .to_string()
            .contains("/shop/prd/ holds no String or StringList parameter"),
        "{plan}"
    );
    // Only once everything was read can an ignore be said to name nothing.
    assert!(!plan["warnings"].to_string().contains("dns:nope"), "{plan}");
    let read_all = world.playbook("read-all.yaml", &text.replace(", /shop/prd/", ""));
    let out = world
        .standin(&["--output", "json", "plan", &read_all])
        .expect(0);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        plan["warnings"]
            .to_string()
            .contains("coverage.ignore names `dns:nope.example.com:CNAME`"),
        "{plan}"
    );
    let human = world.standin(&["plan", &pb]).expect(0).stdout;
    for secret in ["hunter2", "SECRET-TOKEN-123"] {
        assert!(!human.contains(secret), "{secret}: {human}");
    }
}
