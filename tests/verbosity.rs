//! `-q`, `-v` and the run's log: what each prints, and that no value ever reaches the log.

use crate::support::World;

#[test]
fn verbose_prints_each_aws_call_and_the_log_keeps_them_without_values() {
    let world = World::start();
    let out = world.incident(&["-v", "run", "--yes"]).expect(0);
    for call in [
        "aws SSM.PutParameter: 200 in ",
        "aws Route 53.ChangeResourceRecordSets: 200 in ",
        "aws SSM.SendCommand: 200 in ",
    ] {
        assert!(out.stderr.contains(call), "{call} not in {}", out.stderr);
    }
    let log = std::fs::read_to_string(world.run_dir().join("log.txt")).unwrap();
    // Every call of the run, timestamped, also without `-v`.
    let line = log
        .lines()
        .find(|l| l.contains("aws SSM.PutParameter: 200 in "))
        .expect("the write is logged");
    assert!(line.starts_with("20") && line.contains("Z aws "), "{line}");
    World::assert_no_secrets(&log);
    World::assert_no_secrets(&out.all());
    // No value reaches the log: not production's database host, which the run copied.
    assert!(!log.contains("prod-db.cluster"), "{log}");

    // Without -v: nothing about calls on stderr, the rollback still appends to the log.
    let rollback = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(!rollback.stderr.contains("aws "), "{}", rollback.stderr);
    let after = std::fs::read_to_string(world.run_dir().join("log.txt")).unwrap();
    assert!(after.len() > log.len() && after.starts_with(&log));
}

#[test]
fn quiet_prints_only_the_outcome_and_errors() {
    let world = World::start();
    let out = world.incident(&["-q", "run", "--yes"]).expect(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    assert!(
        lines[0].starts_with("Run ") && lines[0].contains(" succeeded in "),
        "{}",
        out.stdout
    );
    let rollback = world
        .standin(&["-q", "rollback", "--last", "--yes"])
        .expect(0);
    assert_eq!(rollback.stdout.lines().count(), 1, "{}", rollback.stdout);
    // A plan's summary line.
    let plan = world.incident(&["-q", "plan"]).expect(0);
    assert!(
        plan.stdout.starts_with("Plan: ") && plan.stdout.lines().count() == 1,
        "{}",
        plan.stdout
    );
    // Errors still say everything.
    let bad = world.standin(&["-q", "rollback", "no-such-run", "--yes"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("error:"), "{}", bad.stderr);
    // -q and -v together make no sense.
    let both = world.standin(&["-q", "-v", "status"]).expect(2);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
}

/// A log.txt planted as a symlink in a run's directory is not followed: the rollback goes
/// on, says so, and the file it points at is untouched.
#[test]
fn a_symlinked_log_is_not_followed() {
    let world = World::start();
    world.incident(&["run", "--yes"]).expect(0);
    let log = world.run_dir().join("log.txt");
    std::fs::remove_file(&log).unwrap();
    let target = world.dir.path().join("precious");
    std::fs::write(&target, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&target, &log).unwrap();
    let out = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(
        out.stderr.contains("warning: no log file"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
}
