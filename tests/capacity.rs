//! `eb.set-options` and `eb.scale` against the emulator: options (capacity among them) undone
//! exactly, an option that was not set removed again; drift refused and `--force` overwriting
//! it; production's capacity copied while production is stuck; the plan's warning when a
//! stand-in would take production's traffic with less; and the generated IAM policy enough for
//! what Elastic Beanstalk does underneath (new bounds, new instances).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{Keys, World};

const ASG: &str = "aws:autoscaling:asg";
const INSTANCES: &str = "aws:ec2:instances";
const LAUNCH: &str = "aws:autoscaling:launchconfiguration";

pub type Options = BTreeMap<(String, String), String>;

/// Every option `env` has a value for, as DescribeConfigurationSettings answers.
pub fn options(world: &World, env: &str) -> Options {
    world.block_on(async {
        let out = world
            .eb
            .describe_configuration_settings()
            .application_name("shop")
            .environment_name(env)
            .send()
            .await
            .expect("configuration settings");
        out.configuration_settings()
            .iter()
            .flat_map(|c| c.option_settings())
            .filter_map(|o| {
                Some((
                    (o.namespace()?.to_owned(), o.option_name()?.to_owned()),
                    o.value()?.to_owned(),
                ))
            })
            .collect()
    })
}

fn option(options: &Options, ns: &str, name: &str) -> Option<String> {
    options.get(&(ns.to_owned(), name.to_owned())).cloned()
}

/// The capacity options of `env`: MinSize, MaxSize, InstanceTypes, InstanceType.
fn capacity(world: &World, env: &str) -> [Option<String>; 4] {
    let all = options(world, env);
    [
        option(&all, ASG, "MinSize"),
        option(&all, ASG, "MaxSize"),
        option(&all, INSTANCES, "InstanceTypes"),
        option(&all, LAUNCH, "InstanceType"),
    ]
}

fn wait_ready(world: &World, env: &str) {
    for _ in 0..300 {
        if world.environment(env).0 == "Ready" {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{env} did not become Ready");
}

/// Someone else sets an option by hand; returns once the environment is Ready again.
fn set_by_hand(world: &World, env: &str, ns: &str, name: &str, value: &str) {
    use aws_sdk_elasticbeanstalk::types::ConfigurationOptionSetting;
    wait_ready(world, env);
    world
        .block_on(
            world
                .eb
                .update_environment()
                .environment_name(env)
                .option_settings(
                    ConfigurationOptionSetting::builder()
                        .namespace(ns)
                        .option_name(name)
                        .value(value)
                        .build(),
                )
                .send(),
        )
        .expect("update by hand");
    wait_ready(world, env);
}

fn some(values: [&str; 4]) -> [Option<String>; 4] {
    values.map(|v| (!v.is_empty()).then(|| v.to_owned()))
}

const SET_OPTIONS: &str = r#"version: 1
name: t
steps:
  - id: options
    kind: eb.set-options
    environment: shop-staging
    set:
      aws:autoscaling:asg: {MinSize: "4", MaxSize: "12"}
      aws:autoscaling:launchconfiguration: {InstanceType: m5.large}
    unset:
      aws:ec2:instances: [InstanceTypes]
"#;

#[test]
fn set_options_undo_puts_every_option_back_and_removes_the_one_it_added() {
    let world = World::start();
    let (before, state) = (options(&world, "shop-staging"), world.state());
    let pb = world.playbook("options.yaml", SET_OPTIONS);
    let plan = world.standin(&["plan", &pb]).expect(0);
    for line in [
        "~ shop-staging aws:autoscaling:asg MaxSize: 6 → 12",
        "~ shop-staging aws:autoscaling:asg MinSize: 2 → 4",
        "+ shop-staging aws:autoscaling:launchconfiguration InstanceType: m5.large",
        "- shop-staging aws:ec2:instances InstanceTypes: t3.large → removed",
    ] {
        assert!(plan.stdout.contains(line), "{line}\n{}", plan.stdout);
    }
    world.standin(&["run", "--yes", &pb]).expect(0);
    assert_eq!(
        capacity(&world, "shop-staging"),
        some(["4", "12", "", "m5.large"])
    );
    // Properties are options too: untouched.
    assert_eq!(world.env_properties("shop-staging")["APP_ENV"], "staging");
    let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(
        back.stdout.contains(
            "shop-staging aws:autoscaling:launchconfiguration InstanceType: restored (absent)"
        ),
        "{}",
        back.stdout
    );
    assert_eq!(options(&world, "shop-staging"), before);
    assert_eq!(world.state(), state);
    // Its journal holds the options by namespace, the one it added as null.
    let journal = world.written_files();
    assert!(
        journal.contains(r#""before":{"aws:autoscaling:asg":{"MaxSize":"6","MinSize":"2"},"aws:autoscaling:launchconfiguration":{"InstanceType":null},"aws:ec2:instances":{"InstanceTypes":"t3.large"}}"#),
        "{journal}"
    );
}

#[test]
fn scale_sets_the_capacity_and_undo_restores_it_exactly() {
    let world = World::start();
    let (before, state) = (options(&world, "shop-staging"), world.state());
    let pb = world.playbook(
        "scale.yaml",
        "version: 1\nname: t\nsteps:\n  - id: scale\n    kind: eb.scale\n    environment: shop-staging\n    min: 4\n    max: 12\n    instance_types: [m5.large, m5a.large]\n",
    );
    let plan = world.standin(&["plan", &pb]).expect(0);
    for line in [
        "~ shop-staging aws:autoscaling:asg MaxSize: 6 → 12",
        "~ shop-staging aws:autoscaling:asg MinSize: 2 → 4",
        "~ shop-staging aws:ec2:instances InstanceTypes: t3.large → m5.large,m5a.large",
    ] {
        assert!(plan.stdout.contains(line), "{line}\n{}", plan.stdout);
    }
    world.standin(&["run", "--yes", &pb]).expect(0);
    assert_eq!(
        capacity(&world, "shop-staging"),
        some(["4", "12", "m5.large,m5a.large", ""])
    );
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(options(&world, "shop-staging"), before);
    assert_eq!(world.state(), state);

    // Bounds the group would refuse (MinSize above the MaxSize it keeps): the plan fails.
    let pb = world.playbook(
        "above.yaml",
        "version: 1\nname: t\nsteps:\n  - id: scale\n    kind: eb.scale\n    environment: shop-staging\n    min: 8\n",
    );
    let out = world.standin(&["plan", &pb]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.all()
            .contains("environment shop-staging: would have MinSize 8 above MaxSize 6"),
        "{}",
        out.all()
    );
}

#[test]
fn rollback_refuses_options_changed_since_the_run_and_force_overwrites_them() {
    let world = World::start();
    let (before, state) = (options(&world, "shop-staging"), world.state());
    let pb = world.playbook(
        "both.yaml",
        "version: 1\nname: t\nsteps:\n  - id: scale\n    kind: eb.scale\n    environment: shop-staging\n    min: 4\n    max: 12\n  - id: types\n    kind: eb.set-options\n    environment: shop-staging\n    set:\n      aws:ec2:instances: {InstanceTypes: m5.large}\n",
    );
    world.standin(&["run", "--yes", &pb]).expect(0);
    set_by_hand(&world, "shop-staging", ASG, "MinSize", "5");
    set_by_hand(
        &world,
        "shop-staging",
        INSTANCES,
        "InstanceTypes",
        "c5.large",
    );
    let out = world.standin(&["rollback", "--last", "--yes"]).expect(3);
    for drift in [
        "shop-staging aws:autoscaling:asg MinSize holds",
        "shop-staging aws:ec2:instances InstanceTypes holds",
    ] {
        assert!(out.stdout.contains(drift), "{drift}\n{}", out.stdout);
    }
    // Neither step changed anything: what someone set stays.
    assert_eq!(
        capacity(&world, "shop-staging"),
        some(["5", "12", "c5.large", ""])
    );
    world
        .standin(&["rollback", "--last", "--yes", "--force"])
        .expect(0);
    assert_eq!(options(&world, "shop-staging"), before);
    assert_eq!(world.state(), state);
}

/// The incident: production is stuck and cannot be changed, yet its capacity can be read.
const COPY_AND_REPOINT: &str = r#"version: 1
name: t
steps:
  - id: capacity
    kind: eb.scale
    environment: shop-staging
    from: shop-prod
  - id: repoint-app
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
"#;

#[test]
fn scale_from_copies_production_s_capacity_while_production_is_stuck() {
    let world = World::start();
    assert_eq!(world.environment("shop-prod").0, "Updating");
    let prod = capacity(&world, "shop-prod");
    let state = world.state();
    let pb = world.playbook("copy.yaml", COPY_AND_REPOINT);
    let plan = world.standin(&["plan", &pb]).expect(0);
    for line in [
        "~ shop-staging aws:autoscaling:asg MaxSize: 6 → 18",
        "~ shop-staging aws:autoscaling:asg MinSize: 2 → 6",
        "~ shop-staging aws:ec2:instances InstanceTypes: t3.large → m5.large",
    ] {
        assert!(plan.stdout.contains(line), "{line}\n{}", plan.stdout);
    }
    // Production's capacity travels with its traffic: nothing to warn about.
    assert!(!plan.stdout.contains("less capacity"), "{}", plan.stdout);
    world.standin(&["run", "--yes", &pb]).expect(0);
    assert_eq!(capacity(&world, "shop-staging"), prod);
    assert_eq!(capacity(&world, "shop-prod"), prod);
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), state);
}

#[test]
fn the_plan_warns_when_a_stand_in_would_take_production_s_traffic_with_less() {
    let world = World::start();
    let repoint = "  - id: repoint-app\n    kind: route53.repoint\n    zone: example.com\n    record: app.example.com\n    to: shop-staging.us-east-1.elasticbeanstalk.com\n";
    let pb = world.playbook(
        "repoint.yaml",
        &format!("version: 1\nname: t\nsteps:\n{repoint}"),
    );
    let plan = world.standin(&["plan", &pb]).expect(0);
    assert!(
        plan.stdout.contains("! shop-staging would take shop-prod's traffic (app.example.com. CNAME) with less capacity: MinSize 2 < 6, MaxSize 6 < 18, instance type t3.large, not m5.large; give it shop-prod's with an `eb.scale` step (`from: shop-prod`) before the traffic moves"),
        "{}",
        plan.stdout
    );
    // A playbook without any Elastic Beanstalk step still reads capacity: its plan policy says so.
    let policy = world
        .standin(&["iam-policy", "--for", "plan", &pb])
        .expect(0);
    assert!(
        policy
            .stdout
            .contains("elasticbeanstalk:DescribeConfigurationSettings"),
        "{}",
        policy.stdout
    );
    // What the plan leads to counts: scaled, but not enough.
    let scaled = world.playbook(
        "scaled.yaml",
        &format!("version: 1\nname: t\nsteps:\n  - id: scale\n    kind: eb.scale\n    environment: shop-staging\n    min: 6\n    max: 12\n    instance_types: [m5.large]\n{repoint}"),
    );
    let plan = world.standin(&["plan", &scaled]).expect(0);
    assert!(
        plan.stdout
            .contains("with less capacity: MaxSize 12 < 18; give it"),
        "{}",
        plan.stdout
    );
    // A swap that hands production's CNAME to staging warns the same; the other way round not.
    let swap = world.playbook(
        "swap.yaml",
        "version: 1\nname: t\nsteps:\n  - id: swap\n    kind: eb.swap-cnames\n    source: shop-staging\n    destination: shop-prod\n",
    );
    let plan = world.standin(&["plan", &swap]).expect(0);
    let warnings: Vec<&str> = plan
        .stdout
        .lines()
        .filter(|l| l.contains("less capacity"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", plan.stdout);
    assert!(
        warnings[0].contains("shop-staging would take shop-prod's traffic (shop-staging CNAME)"),
        "{}",
        plan.stdout
    );
}

/// The playbook's generated policy, as an IAM user's only policy, runs and rolls back both
/// kinds on an emulator that checks what Elastic Beanstalk does underneath; without
/// `ec2:RunInstances` (new instance types mean new instances) the run is refused as AWS
/// refuses it.
#[test]
fn the_generated_policy_is_enough_to_scale_and_to_undo_it() {
    let world = World::start();
    let state = world.state();
    let pb = world.playbook(
        "scale.yaml",
        "version: 1\nname: t\nsteps:\n  - id: scale\n    kind: eb.scale\n    environment: shop-staging\n    from: shop-prod\n  - id: options\n    kind: eb.set-options\n    environment: shop-staging\n    set:\n      aws:autoscaling:launchconfiguration: {InstanceType: m5.large}\n",
    );
    let policy = world
        .standin(&["iam-policy", "--for", "run", &pb])
        .expect(0);
    let full: Value = serde_json::from_str(&policy.stdout).expect("a JSON policy");
    assert!(
        policy.stdout.contains("autoscaling:UpdateAutoScalingGroup")
            && policy
                .stdout
                .contains("arn:aws:iam::*:role/aws-elasticbeanstalk-ec2-role"),
        "{}",
        policy.stdout
    );
    let user = |name: &str, doc: &Value| world.iam_user(name, doc);
    let as_user = |keys: &Keys, args: &[&str]| world.as_user(keys, args);
    let breakglass = user("breakglass", &full);
    as_user(&breakglass, &["run", "--yes", &pb]).expect(0);
    assert_eq!(
        capacity(&world, "shop-staging"),
        some(["6", "18", "m5.large", "m5.large"])
    );
    as_user(&breakglass, &["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), state);

    let mut short = full.clone();
    for statement in short["Statement"].as_array_mut().unwrap() {
        statement["Action"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != "ec2:RunInstances");
    }
    let weak = user("weak", &short);
    let out = as_user(&weak, &["run", "--yes", &pb]).expect(1);
    assert!(
        out.stdout.contains("failed at step `scale`")
            && out.stdout.contains("InsufficientPrivilegesException")
            && out.stdout.contains("ec2:RunInstances"),
        "{}",
        out.stdout
    );
    assert_eq!(world.state(), state);
}
