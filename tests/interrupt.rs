//! Ctrl-C during a run: the first stops after the current step (exit 5, resumable), the
//! second aborts the step in flight; the journal stays consistent either way.

use crate::support::World;

const PAUSES: &str = "\
version: 1
name: interrupt
steps:
  - id: first
    kind: ssm.put-parameters
    values:
      /shop/staging/QUEUE_URL: https://sqs.example/first
  - id: wait
    kind: pause
    duration: 4s
  - id: second
    kind: ssm.put-parameters
    values:
      /shop/staging/APP_URL: https://second.example.com
";

/// Sends SIGINT, as a terminal's Ctrl-C does.
fn interrupt(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn ctrl_c_stops_after_the_current_step_then_resume_finishes() {
    let world = World::start();
    let pb = world.playbook("pauses.yaml", PAUSES);
    let child = world.spawn(&["run", "--yes", &pb]);
    world.wait_for_journal(r#""record":"intent","step":"wait""#);
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Stopping after the current step"),
        "{stderr}"
    );
    assert!(stdout.contains("standin resume"), "{stdout}");
    // The step in flight finished; the next did not start; nothing was rolled back (no
    // terminal to ask on).
    assert_eq!(
        world.param("/shop/staging/QUEUE_URL").unwrap(),
        "https://sqs.example/first"
    );
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://staging.example.com"
    );
    let status = world.standin(&["status"]).expect(0).stdout;
    assert!(status.contains("stopped"), "{status}");

    world.standin(&["resume", "--yes"]).expect(0);
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://second.example.com"
    );
    // A finished run cannot be resumed again.
    let again = world.standin(&["resume", "--yes"]).expect(2);
    assert!(
        again.stderr.contains("already finished"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_second_ctrl_c_aborts_the_step_in_flight_and_rollback_undoes() {
    let world = World::start();
    let before = world.state();
    let pb = world.playbook("pauses.yaml", PAUSES);
    let child = world.spawn(&["run", "--yes", &pb]);
    world.wait_for_journal(r#""record":"intent","step":"wait""#);
    interrupt(&child);
    std::thread::sleep(std::time::Duration::from_millis(300));
    interrupt(&child);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(
        started.elapsed().as_secs_f64() < 3.0,
        "the pause was not aborted"
    );
    assert!(stdout.contains("aborted by a second Ctrl-C"), "{stdout}");
    let status = world
        .standin(&["--output", "json", "status"])
        .expect(0)
        .stdout;
    let view: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(view["outcome"], "stopped");
    assert_eq!(view["steps"][1]["state"], "in-doubt", "{view}");

    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
}

#[test]
fn a_second_ctrl_c_during_rollback_leaves_the_rest_for_the_next_rollback() {
    let world = World::start();
    let before = world.state();
    world.incident(&["run", "--yes"]).expect(0);
    // Undoing the environment's settings now keeps it Updating for a while.
    world.control(&["tag-env", "shop-staging", "emulator:update-seconds=6"]);
    let child = world.spawn(&["rollback", "--last", "--yes"]);
    world.wait_for_journal(r#""record":"undone","step":"repoint-app""#);
    interrupt(&child);
    std::thread::sleep(std::time::Duration::from_millis(300));
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("Finishing the rollback"), "{stderr}");
    assert!(stdout.contains("ROLLBACK INCOMPLETE"), "{stdout}");
    assert!(stdout.contains("aborted with Ctrl-C"), "{stdout}");

    world.control(&["untag-env", "shop-staging", "emulator:update-seconds"]);
    let again = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before, "{}", again.stdout);
}
