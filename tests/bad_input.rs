//! Bad input: exit 2 before any AWS call, with `file:line:col`, what is wrong and a hint.

use crate::support::World;

/// (case, playbook, expected `line:col`, expected message part, expected hint part)
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "invalid YAML",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: [oops\n",
        ":6:1:",
        "invalid YAML",
        "check indentation",
    ),
    (
        "unknown kind",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: route53.repiont\n    zone: z\n",
        ":5:5:",
        "unknown kind `route53.repiont`",
        "did you mean `route53.repoint`?",
    ),
    (
        "unknown field",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: route53.repoint\n    zone: example.com\n    recrod: app.example.com\n    to: x\n",
        ":7:5:",
        "unknown field `recrod`",
        "did you mean `record`?",
    ),
    (
        "missing field",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: route53.repoint\n    zone: example.com\n    to: x\n",
        ":4:5:",
        "missing field `record`",
        "add `record:`",
    ),
    (
        "duplicate id",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: ssm.put-parameters\n    values: {/x/A: \"1\"}\n  - id: a\n    kind: ssm.put-parameters\n    values: {/x/B: \"1\"}\n",
        ":7:5:",
        "duplicate step id `a` (first used at line 4)",
        "give every step (and group) its own id",
    ),
    (
        "undefined variable",
        "version: 1\nname: t\nvars:\n  domain: example.com\nsteps:\n  - id: a\n    kind: route53.repoint\n    zone: ${vars.domian}\n    record: app.example.com\n    to: x\n",
        ":8:5:",
        "undefined variable `domian`",
        "did you mean `domain`?",
    ),
    (
        "wrong type",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: route53.repoint\n    zone: example.com\n    record: app.example.com\n    to: x\n    ttl: soon\n",
        ":9:5:",
        "invalid type: string \"soon\", expected i64",
        "this field takes a whole number, without quotes",
    ),
    (
        "wrong version",
        "version: 2\nname: t\nsteps:\n  - id: a\n    kind: ssm.put-parameters\n    values: {/x/A: \"1\"}\n",
        ":1:1:",
        "unsupported playbook version 2",
        "this standin reads `version: 1`",
    ),
    (
        "to and alias together",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: route53.repoint\n    zone: example.com\n    record: app.example.com\n    to: x\n    alias: {dns_name: d, hosted_zone_id: h}\n",
        ":9:5:",
        "`to` and `alias` are exclusive",
        "a record is either a plain value (`to`) or an alias (`alias`)",
    ),
    (
        "eb.scale min above max",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: eb.scale\n    environment: shop-staging\n    min: 5\n    max: 3\n",
        ":7:5:",
        "min 5 is above max 3",
        "`min` is the fewest instances, `max` the most",
    ),
    (
        "eb.scale from and explicit values together",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: eb.scale\n    environment: shop-staging\n    from: shop-prod\n    max: 3\n",
        ":7:5:",
        "`from` and `min`/`max`/`instance_types` are exclusive",
        "`from: ENVIRONMENT` copies its capacity",
    ),
    (
        "eb.set-options secret-looking option",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: eb.set-options\n    environment: shop-staging\n    set:\n      aws:rds:dbinstance:\n        DBPassword: hunter2\n",
        ":9:9:",
        "`DBPassword` looks like a secret",
        "Elastic Beanstalk options (environment properties too) are plaintext",
    ),
    (
        "eb.set-options namespace without aws:",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: eb.set-options\n    environment: shop-staging\n    set:\n      autoscaling:asg: {MinSize: \"4\"}\n",
        ":8:7:",
        "`autoscaling:asg` is not an option namespace",
        "Elastic Beanstalk's namespaces look like `aws:autoscaling:asg`",
    ),
    (
        "certificate_arn and domain together",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: alb.add-certificate\n    load_balancer: lb\n    certificate_arn: arn:aws:acm:us-east-1:1:certificate/x\n    domain: app.example.com\n",
        ":8:5:",
        "`certificate_arn` and `domain` are exclusive",
        "name the certificate by ARN, or by the name it must cover, not both",
    ),
    (
        "neither certificate_arn nor domain",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: alb.add-certificate\n    load_balancer: lb\n",
        ":4:5:",
        "no certificate given",
        "give `certificate_arn: ARN`, or `domain: NAME`",
    ),
    (
        "a typo in an alb.add-certificate field",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: alb.add-certificate\n    load_balancer: lb\n    certficate_arn: arn:aws:acm:us-east-1:1:certificate/x\n",
        ":7:5:",
        "unknown field `certficate_arn`",
        "did you mean `certificate_arn`?",
    ),
];

#[test]
fn every_bad_input_exits_2_with_a_location_and_calls_nothing() {
    let world = World::start();
    let before = world.full_dump();
    for (case, text, at, message, hint) in CASES {
        let pb = world.playbook("bad.yaml", text);
        for command in ["validate", "plan", "run"] {
            let args: Vec<&str> = if command == "run" {
                vec!["run", "--yes", &pb]
            } else {
                vec![command, &pb]
            };
            world.standin(&args).expect_invalid(
                &format!("{case} ({command})"),
                &format!("bad.yaml{at} {message}"),
                hint,
            );
        }
    }
    assert_eq!(world.full_dump(), before, "bad input reached the emulator");
    assert!(
        !world.dir.path().join(".standin/runs").exists(),
        "bad input started a run"
    );
}

#[test]
fn all_problems_are_reported_at_once_in_file_order() {
    let world = World::start();
    let pb = world.playbook(
        "many.yaml",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: nope\n  - id: b\n    kind: ssm.copy-parameters\n    from: /a/\n    to: /b/\n    mode: mirror\n",
    );
    let out = world.standin(&["validate", &pb]).expect(2);
    let first = out
        .stderr
        .find("many.yaml:5:5: unknown kind `nope`")
        .expect("first problem");
    let second = out
        .stderr
        .find("many.yaml:10:5: unknown variant `mirror`")
        .expect("second problem");
    assert!(first < second, "{}", out.stderr);
}

#[test]
fn an_undeclared_var_override_is_refused() {
    let world = World::start();
    let out = world
        .standin(&[
            "plan",
            "--var",
            "DOMIAN=example.org",
            &world.incident_playbook(),
        ])
        .expect(2);
    assert!(
        out.stderr
            .contains("`--var DOMIAN`: the playbook declares no variable `DOMIAN`"),
        "{}",
        out.stderr
    );
}

/// A URL parser drops a line break or tab anywhere, and a space at either end, without a
/// word: a `--var` with one (pasted, or from a file's last line) would check another URL.
#[test]
fn a_check_url_with_a_line_break_or_tab_is_refused_not_cleaned() {
    let world = World::start();
    for (value, what) in [
        ("https://app.example.com/he\nalth", "a line break"),
        ("https://app.example.com/health\n", "a line break"),
        ("https://app.example.com/\thealth", "a tab"),
        (" https://app.example.com/health", "a space at one end"),
    ] {
        let var = format!("app_check_url={value}");
        let out = world
            .standin(&["validate", "--var", &var, &world.incident_playbook()])
            .expect(2);
        assert!(
            out.stderr
                .contains(&format!("the URL holds {what}, which URLs drop silently")),
            "{value:?}: {}",
            out.stderr
        );
    }
}

/// A step with a problem of its own is the problem: a `recovery:` that names it is not said
/// to name no step.
#[test]
fn a_gate_with_a_problem_is_not_also_missing_for_recovery() {
    let world = World::start();
    let out = world
        .standin(&[
            "validate",
            "--var",
            "edge=not an address",
            &world.incident_playbook(),
        ])
        .expect(2);
    assert!(out.stderr.contains("is not an address"), "{}", out.stderr);
    assert!(!out.stderr.contains("`recovery`"), "{}", out.stderr);
}

/// An endpoint variable set to nothing (a CI template's unset value) is no override, as an
/// unset one is: the SDK would take it for a URL and fail every call as a bug of standin's.
#[test]
fn an_empty_endpoint_variable_is_no_override() {
    let world = World::start();
    let out = world
        .standin_env(
            &[("AWS_ENDPOINT_URL_SSM", "")],
            &world.playbook_args(&["plan"], &world.incident_playbook()),
        )
        .expect(0);
    assert!(!out.all().contains("internal error"), "{}", out.all());
}
