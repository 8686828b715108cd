//! `standin iam-policy`: a valid policy document with exactly the actions the kinds need, each
//! on the resources it needs and no others; enough for every call a plan, a run and its
//! rollback make (counted by the recording proxy); and enough on the emulator, whose Elastic
//! Beanstalk refuses a caller that lacks the permissions it uses underneath.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

use crate::support::{repo, Keys, Proxy, World};

fn policy(phase: &str) -> Value {
    policy_in(
        "us-east-1",
        &[
            "--for",
            phase,
            &repo()
                .join("playbooks/promote-staging.yaml")
                .display()
                .to_string(),
        ],
    )
}

/// `standin iam-policy ARGS` with `region` the standard chain's (no profile, no config file).
pub(crate) fn policy_in(region: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_standin"))
        .arg("iam-policy")
        .args(args)
        .env("AWS_REGION", region)
        .env("AWS_CONFIG_FILE", "/nonexistent/standin-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/standin-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .expect("run standin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON policy")
}

/// Every resource a policy names.
fn resources(policy: &Value) -> BTreeSet<String> {
    grants(policy).into_values().flatten().collect()
}

/// An account and its ARNs are in one partition, the region's: in China or GovCloud a policy
/// naming `arn:aws:` resources grants nothing. The playbook's own region wins over the
/// standard chain's.
#[test]
fn the_policy_names_resources_in_the_partition_of_the_region() {
    let playbook = repo().join("playbooks/promote-staging.yaml");
    let playbook = playbook.display().to_string();
    for (region, partition) in [
        ("us-east-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-isob-east-1", "aws-iso-b"),
    ] {
        for phase in ["plan", "run"] {
            let found = resources(&policy_in(region, &["--for", phase, &playbook]));
            let wrong: Vec<&String> = found
                .iter()
                .filter(|r| *r != "*" && !r.starts_with(&format!("arn:{partition}:")))
                .collect();
            assert!(wrong.is_empty(), "{region} {phase}: {wrong:?}");
            assert!(found.len() > 5, "{found:?}");
        }
    }
    let text = std::fs::read_to_string(&playbook).unwrap().replacen(
        "\nsteps:",
        "\naws:\n  region: cn-northwest-1\nsteps:",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let china = dir.path().join("china.yaml");
    std::fs::write(&china, text).unwrap();
    let found = resources(&policy_in("us-east-1", &[&china.display().to_string()]));
    assert!(
        found
            .iter()
            .all(|r| r == "*" || r.starts_with("arn:aws-cn:")),
        "{found:?}"
    );
}

/// Every action the policy allows, with the resources it allows it on.
pub(crate) fn grants(policy: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in policy["Statement"].as_array().unwrap() {
        let resources: Vec<String> = statement["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        for action in statement["Action"].as_array().unwrap() {
            out.entry(action.as_str().unwrap().to_owned())
                .or_default()
                .extend(resources.iter().cloned());
        }
    }
    out
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
                        "acm",
                        "iam",
                        "elasticbeanstalk",
                        "elasticloadbalancing",
                        "cloudformation",
                        "autoscaling",
                        "ec2",
                        "s3",
                        "tag",
                        "events",
                        "scheduler",
                        "cloudfront",
                        "health",
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
fn each_write_is_allowed_only_on_what_the_playbook_changes() {
    let plan = grants(&policy("plan"));
    for action in plan.keys() {
        let name = action.split(':').nth(1).unwrap();
        assert!(
            ["Get", "List", "Describe"]
                .iter()
                .any(|p| name.starts_with(p))
                || action == "kms:Decrypt",
            "plan must only read: {action}"
        );
    }
    let run = grants(&policy("run"));
    let on = |action: &str| -> Vec<String> {
        run.get(action)
            .unwrap_or_else(|| panic!("{action} is not allowed"))
            .iter()
            .cloned()
            .collect()
    };
    // Staging's parameters are written; production's are only read; nothing else.
    for write in ["ssm:PutParameter", "ssm:DeleteParameters"] {
        assert_eq!(
            on(write),
            [
                "arn:aws:ssm:*:*:parameter/shop/staging",
                "arn:aws:ssm:*:*:parameter/shop/staging/*",
                "arn:aws:ssm:*:*:parameter/shop/staging/RUN_MIGRATIONS",
            ],
            "{write}"
        );
    }
    assert_eq!(
        on("ssm:GetParameters"),
        [
            "arn:aws:ssm:*:*:parameter/shop/prod",
            "arn:aws:ssm:*:*:parameter/shop/prod/*",
            "arn:aws:ssm:*:*:parameter/shop/staging",
            "arn:aws:ssm:*:*:parameter/shop/staging/*",
            "arn:aws:ssm:*:*:parameter/shop/staging/RUN_MIGRATIONS",
        ]
    );
    for write in [
        "elasticbeanstalk:UpdateEnvironment",
        "elasticbeanstalk:RestartAppServer",
    ] {
        assert_eq!(
            on(write),
            ["arn:aws:elasticbeanstalk:*:*:environment/*/shop-staging"],
            "{write}"
        );
    }
    assert_eq!(
        on("elasticloadbalancing:CreateRule"),
        ["arn:aws:elasticloadbalancing:*:*:listener/app/shop-staging-alb/*"]
    );
    assert_eq!(
        on("elasticloadbalancing:DeleteRule"),
        ["arn:aws:elasticloadbalancing:*:*:listener-rule/app/shop-staging-alb/*"]
    );
    // What Elastic Beanstalk does underneath, on the environment's own resources only.
    assert_eq!(
        on("cloudformation:UpdateStack"),
        ["arn:aws:cloudformation:*:*:stack/awseb-*"]
    );
    assert_eq!(on("s3:PutObject"), ["arn:aws:s3:::elasticbeanstalk-*/*"]);
    // No write of a resource-scoped service may fall back to every resource.
    for (action, resources) in &run {
        let read = ["Get", "List", "Describe"]
            .iter()
            .any(|p| action.split(':').nth(1).unwrap().starts_with(p));
        // Granted on every resource by AWS's own Elastic Beanstalk policies too: RunInstances
        // and CreateTags (a scaled environment's new instances) act on resources that do not
        // exist yet (instances, volumes, network interfaces).
        let unscoped_by_aws = [
            "kms:Encrypt",
            "kms:GenerateDataKey",
            "kms:Decrypt",
            "elasticbeanstalk:CreateStorageLocation",
            "ec2:RunInstances",
            "ec2:CreateTags",
        ];
        if !read && !unscoped_by_aws.contains(&action.as_str()) {
            assert!(
                !resources.contains("*"),
                "{action} is allowed on every resource"
            );
        }
    }
}

/// The IAM action of a call the proxy recorded: `service:Action` for JSON and query calls (the
/// SigV4 service name is the IAM prefix, but for the tagging API's `tag`), a REST route (Route
/// 53, CloudFront, EventBridge Scheduler) by its action.
pub(crate) fn iam_action(call: &str) -> String {
    let rest = [
        (
            "cloudfront GET /2020-05-31/distribution",
            "cloudfront:ListDistributions",
        ),
        ("scheduler GET /schedules", "scheduler:ListSchedules"),
        (
            "account POST /getAlternateContact",
            "account:GetAlternateContact",
        ),
        (
            "route53 GET /2013-04-01/hostedzone",
            "route53:ListHostedZones",
        ),
        (
            "route53 GET /2013-04-01/hostedzonesbyname",
            "route53:ListHostedZonesByName",
        ),
        (
            "route53 GET /2013-04-01/hostedzone/{id}/rrset",
            "route53:ListResourceRecordSets",
        ),
        (
            "route53 POST /2013-04-01/hostedzone/{id}/rrset",
            "route53:ChangeResourceRecordSets",
        ),
        ("route53 GET /2013-04-01/change/{id}", "route53:GetChange"),
        (
            "route53 GET /2013-04-01/hostedzone/{id}",
            "route53:GetHostedZone",
        ),
    ];
    if let Some((_, action)) = rest.iter().find(|(route, _)| *route == call) {
        return (*action).to_owned();
    }
    assert!(
        !call.contains(' '),
        "a REST call this test cannot name: {call}"
    );
    match call.split_once(':') {
        Some(("tagging", action)) => format!("tag:{action}"),
        _ => call.to_owned(),
    }
}

/// Whether an IAM action pattern (`*` and `?` wildcards, case-insensitive) matches `action`.
pub(crate) fn matches(pattern: &str, action: &str) -> bool {
    let regex = pattern
        .chars()
        .map(|c| match c {
            '*' => ".*".to_owned(),
            '?' => ".".to_owned(),
            c => regex::escape(&c.to_string()),
        })
        .collect::<String>();
    regex::RegexBuilder::new(&format!("^{regex}$"))
        .case_insensitive(true)
        .build()
        .unwrap()
        .is_match(action)
}

/// Every call each command makes, counted by the recording proxy, is an action the policy
/// `iam-policy --for ...` prints for that command allows: plan (a parameter it writes holding
/// Parameter Store's last 100 versions, so it reads the history), run and rollback, a drill,
/// `drill --dry` as an assumed role under a path (it looks the role up), and init.
/// `sts:GetCallerIdentity` needs no permission (STS API reference); the role's
/// `sts:AssumeRole` is the assuming credentials' call, not the role's.
#[test]
fn every_call_each_command_makes_is_in_its_policy() {
    let world = World::start();
    let proxy = Proxy::start(&world);
    let via = [("AWS_ENDPOINT_URL", proxy.url.as_str())];
    crate::version_limit::fill_history(&world, "/shop/staging/QUEUE_URL", false);
    let incident = world.incident_playbook();
    let as_sso = as_role(&world, SSO_ROLE);
    let dir = world.dir.path().join("drafts").display().to_string();
    let commands: [(&str, &[&str], &str, &str); 6] = [
        ("plan", &["plan"], &incident, "ssm:GetParameterHistory"),
        (
            "run",
            &["run", "--yes"],
            &incident,
            "elasticbeanstalk:UpdateEnvironment",
        ),
        (
            "run",
            &["rollback", "--last", "--yes"],
            "",
            "route53:ChangeResourceRecordSets",
        ),
        (
            "drill",
            &["drill", "--yes"],
            &incident,
            "elasticbeanstalk:RestartAppServer",
        ),
        ("drill", &["drill", "--dry"], &as_sso, "iam:GetRole"),
        (
            "init",
            &["init", "--yes", "--dir", &dir],
            "",
            "tag:GetResources",
        ),
    ];
    sso_role(&world, &policy("drill"));
    for (phase, args, playbook, expected) in commands {
        proxy.reset_counts(&world);
        let args = if playbook.is_empty() {
            args.iter().map(|a| (*a).to_owned()).collect()
        } else {
            world.playbook_args(args, playbook)
        };
        world.standin_env(&via, &args).expect(0);
        let called: BTreeSet<String> = proxy.counts(&world).keys().map(|c| iam_action(c)).collect();
        assert!(called.contains(expected), "{args:?} called {called:?}");
        let granted: Vec<String> = if phase == "init" {
            grants(&policy_in("us-east-1", &["--for", "init"]))
        } else {
            grants(&policy_in(
                "us-east-1",
                &[
                    "--for",
                    phase,
                    if playbook.is_empty() {
                        &incident
                    } else {
                        playbook
                    },
                ],
            ))
        }
        .into_keys()
        .collect();
        let missing: Vec<&String> = called
            .iter()
            .filter(|a| *a != "sts:GetCallerIdentity")
            .filter(|a| !(playbook == as_sso && *a == "sts:AssumeRole"))
            .filter(|a| !granted.iter().any(|g| matches(g, a)))
            .collect();
        assert!(
            missing.is_empty(),
            "{args:?} calls what `iam-policy --for {phase}` lacks: {missing:?}"
        );
    }
}

/// The incident playbook, run and rolled back as an IAM user holding exactly the generated
/// policy, against an emulator whose Elastic Beanstalk checks the caller's permissions on the
/// services underneath (harness/moto_eb_iam.py); without `cloudformation:UpdateStack`, the
/// environment step is refused as AWS refuses it, and the run rolls back.
#[test]
fn the_generated_policy_is_enough_for_elastic_beanstalk_underneath() {
    let world = World::start();
    let before = world.state();
    let user = |name: &str, doc: &Value| world.iam_user(name, doc);
    let as_user = |keys: &Keys, args: &[&str]| {
        world.as_user(keys, &world.playbook_args(args, &world.incident_playbook()))
    };
    let full = policy("run");
    let breakglass = user("breakglass", &full);
    as_user(&breakglass, &["run", "--yes"]).expect(0);
    let rollback = world.as_user(&breakglass, &["rollback", "--last", "--yes"]);
    assert_eq!(rollback.code, 0, "{}", rollback.stdout);
    assert_eq!(world.state(), before);

    let mut short = full.clone();
    for statement in short["Statement"].as_array_mut().unwrap() {
        statement["Action"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != "cloudformation:UpdateStack");
    }
    let weak = user("weak", &short);
    let out = as_user(&weak, &["run", "--yes"]).expect(1);
    assert!(
        out.stdout
            .contains("failed at step `staging-runs-as-production`")
            && out.stdout.contains("InsufficientPrivilegesException")
            && out.stdout.contains("cloudformation:UpdateStack"),
        "{}",
        out.stdout
    );
    assert_eq!(world.state(), before);
}

/// The role IAM Identity Center makes for a permission set: under a path, which the session
/// ARN STS gives its callers (`assumed-role/NAME/SESSION`) does not carry.
const SSO_ROLE: &str =
    "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Operator_0123456789abcdef";

/// The incident playbook, acting as `role` (assumed with the test's credentials).
fn as_role(world: &World, role: &str) -> String {
    let text = std::fs::read_to_string(world.incident_playbook())
        .unwrap()
        .replacen(
            "\nsteps:",
            &format!("\naws:\n  role_arn: {role}\nsteps:"),
            1,
        );
    world.playbook("as-role.yaml", &text)
}

/// Creates `SSO_ROLE` in the emulator with `policy` as its only policy.
fn sso_role(world: &World, policy: &Value) {
    let iam = aws_sdk_iam::Client::new(&world.config);
    let (path, name) = SSO_ROLE
        .split_once(":role")
        .and_then(|(_, rest)| rest.rsplit_once('/'))
        .unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    world.block_on(async {
        iam.create_role()
            .role_name(name)
            .path(format!("{path}/"))
            .assume_role_policy_document(trust)
            .send()
            .await
            .expect("role");
        iam.put_role_policy()
            .role_name(name)
            .policy_name("standin")
            .policy_document(policy.to_string())
            .send()
            .await
            .expect("role policy");
    });
}

/// `drill --dry` as a role with a path simulates that role (found through iam:GetRole), so
/// what its policy lacks blocks the drill; before, it simulated `role/NAME`, which IAM does not
/// know, and said nothing blocked.
#[test]
fn a_dry_drill_simulates_an_assumed_role_under_its_path() {
    let world = World::start();
    let mut weak = policy("drill");
    for statement in weak["Statement"].as_array_mut().unwrap() {
        statement["Action"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != "route53:ChangeResourceRecordSets");
    }
    sso_role(&world, &weak);
    let pb = as_role(&world, SSO_ROLE);
    let out = world
        .standin_env(&[], &world.playbook_args(&["drill", "--dry"], &pb))
        .expect(4);
    assert!(
        out.stdout
            .contains(&format!("simulated for {SSO_ROLE}: "))
            && out.stdout.contains(
                "not allowed (implicitDeny): route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone/"
            ),
        "{}",
        out.stdout
    );
}

/// A caller whose policies cannot be simulated (a role IAM does not know, a principal that is
/// no IAM user or role) blocks a dry drill, and says why; it is never skipped as allowed.
#[test]
fn a_dry_drill_that_cannot_simulate_is_blocked() {
    let world = World::start();
    let ghost = "arn:aws:iam::123456789012:role/ghost";
    let pb = as_role(&world, ghost);
    let out = world
        .standin_env(
            &[],
            &world.playbook_args(&["drill", "--dry", "--output", "json"], &pb),
        )
        .expect(4);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let blockers: Vec<&str> = doc["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert!(
        blockers[0].starts_with(
            "permissions not checked: cannot find the role of the caller arn:aws:sts::123456789012:assumed-role/ghost/"
        ) && blockers[0].contains("NoSuchEntity"),
        "{blockers:?}"
    );
    // The emulator's own key is no IAM user: IAM refuses to simulate it.
    let out = world.incident(&["drill", "--dry"]).expect(4);
    assert!(
        out.stdout
            .contains("  - permissions not checked: cannot simulate the policies of ")
            && out.stdout.contains("InvalidInput"),
        "{}",
        out.stdout
    );
}
