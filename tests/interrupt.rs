//! Signals during a run: SIGINT (Ctrl-C), SIGTERM (a CI cancel) and SIGHUP (a dropped SSH
//! session) all stop at the next safe point: between steps, or at once inside a wait (exit 5,
//! resumable). A second signal aborts the step in flight. Once a rollback has started, signals
//! are reported and it finishes. The journal stays consistent either way. Each test acts on
//! the line that says a signal was seen, never on a sleep.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Proxy, World};

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
    duration: 30s
  - id: second
    kind: ssm.put-parameters
    values:
      /shop/staging/APP_URL: https://second.example.com
";

/// A signal in the pause ends the wait within a second; the run stops before `second`, with
/// the pause stopped while waiting (a pause changes nothing: nothing is in doubt); `resume`
/// runs the pause again and finishes.
fn a_signal_in_a_wait_stops_at_once_then_resume_finishes(signal: &str, name: &str) {
    let world = World::start();
    let pb = world.playbook("pauses.yaml", PAUSES);
    let run = world.running(&["run", "--yes", &pb], &[]);
    world.wait_for_journal(r#""record":"intent","step":"wait""#);
    run.signal(signal);
    let sent = Instant::now();
    let out = run.finish();
    let stopped_in = sent.elapsed();
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    assert!(
        stopped_in < Duration::from_secs(2),
        "the 30 s pause was not cut short: {stopped_in:?}"
    );
    assert!(
        out.stderr
            .contains(&format!("Received {name}: stopping at the next safe point")),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains(&format!("stopped by {name} while waiting")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("doubt"), "{}", out.stdout);
    assert!(out.stdout.contains("standin resume"), "{}", out.stdout);
    // The change before the pause stands; the step after it did not start.
    assert_eq!(
        world.param("/shop/staging/QUEUE_URL").unwrap(),
        "https://sqs.example/first"
    );
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://staging.example.com"
    );
    let status = world
        .standin(&["--output", "json", "status"])
        .expect(0)
        .stdout;
    let view: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(view["outcome"], "stopped", "{view}");
    assert_eq!(view["steps"][0]["state"], "applied", "{view}");
    assert_eq!(view["steps"][1]["state"], "stopped-while-waiting", "{view}");
    assert_eq!(view["steps"][2]["state"], "not-started", "{view}");
    // Why it stopped is the journal's: `status` says it once the run's process is gone.
    assert_eq!(view["stopped_at"]["step"], "wait", "{view}");
    let why = view["stopped_at"]["error"].as_str().unwrap_or_default();
    assert!(
        why.contains(&format!("stopped by {name} while waiting")),
        "{view}"
    );
    let human = world.standin(&["status"]).expect(0).stdout;
    assert!(human.contains("stopped while waiting"), "{human}");
    assert!(
        human.contains(&format!(
            "stopped at step `wait`: stopped by {name} while waiting"
        )),
        "{human}"
    );
    assert!(!human.contains("DOUBT"), "{human}");
}

/// Stops `run --output json` of PAUSES (its pause `secs` long) in the pause, with SIGTERM.
fn stopped_in_the_pause(world: &World, secs: u64) -> serde_json::Value {
    let pb = world.playbook("pauses.yaml", &PAUSES.replace("30s", &format!("{secs}s")));
    let run = world.running(&["--output", "json", "run", "--yes", &pb], &[]);
    world.wait_for_journal(r#""record":"intent","step":"wait""#);
    run.signal("TERM");
    let out = run.finish();
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    serde_json::from_str(&out.stdout).expect("run JSON")
}

/// A pause changes nothing: stopped in it, the run's JSON says it stopped while waiting (no
/// doubt), `resume` waits the whole pause again (a new intent, then `applied` after the wait,
/// not settled as landed), and `rollback` undoes the rest.
#[test]
fn a_pause_stopped_while_waiting_is_never_in_doubt_and_resume_waits_again() {
    let world = World::start();
    let doc = stopped_in_the_pause(&world, 3);
    assert_eq!(doc["outcome"], "stopped", "{doc}");
    assert_eq!(doc["failed_step"]["step"], "wait", "{doc}");
    let error = doc["failed_step"]["error"].as_str().expect("error");
    assert!(error.contains("while waiting"), "{doc}");
    assert!(!error.contains("doubt"), "{doc}");
    let run_id = doc["run_id"].as_str().expect("run id").to_owned();

    let t0 = Instant::now();
    let resumed = world
        .standin(&["--output", "json", "resume", "--yes"])
        .expect(0);
    assert!(
        t0.elapsed() >= Duration::from_secs(3),
        "resume did not wait the pause again: {:?}\n{}",
        t0.elapsed(),
        resumed.stdout
    );
    let journal = world.journal(&run_id);
    let of_wait = |record: &str| {
        journal
            .iter()
            .filter(|r| r["record"] == record && r["step"] == "wait")
            .collect::<Vec<_>>()
    };
    assert_eq!(of_wait("intent").len(), 2, "{journal:?}");
    let applied = of_wait("applied");
    assert_eq!(applied.len(), 1, "{journal:?}");
    assert!(applied[0]["secs"].as_f64().unwrap() >= 2.9, "{journal:?}");
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://second.example.com"
    );

    // Stopped in the pause again, then rolled back: everything is put back.
    let world = World::start();
    let before = world.state();
    stopped_in_the_pause(&world, 30);
    let out = world
        .standin(&["--output", "json", "rollback", "--last", "--yes"])
        .expect(0);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "rolled-back", "{doc}");
    assert_eq!(doc["undone"], json!(["wait", "first"]), "{doc}");
    assert_eq!(world.state(), before);
    let status = world
        .standin(&["--output", "json", "status"])
        .expect(0)
        .stdout;
    let view: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(view["steps"][1]["state"], "undone", "{view}");
}

#[test]
fn sigint_in_a_pause_stops_at_once_then_resume_finishes() {
    a_signal_in_a_wait_stops_at_once_then_resume_finishes("INT", "SIGINT (Ctrl-C)");
}

#[test]
fn sigterm_and_sighup_stop_like_the_first_ctrl_c() {
    for (signal, name) in [("TERM", "SIGTERM"), ("HUP", "SIGHUP")] {
        a_signal_in_a_wait_stops_at_once_then_resume_finishes(signal, name);
    }
}

#[test]
fn resume_after_a_stop_runs_the_rest_and_a_finished_run_cannot_resume() {
    let world = World::start();
    let pb = world.playbook("pauses.yaml", &PAUSES.replace("30s", "5s"));
    let run = world.running(&["run", "--yes", &pb], &[]);
    world.wait_for_journal(r#""record":"intent","step":"wait""#);
    run.signal("TERM");
    run.finish().expect(5);
    // The pause in doubt runs again, then the rest.
    world.standin(&["resume", "--yes"]).expect(0);
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://second.example.com"
    );
    let again = world.standin(&["resume", "--yes"]).expect(4);
    assert!(
        again.stderr.contains("already finished"),
        "{}",
        again.stderr
    );
    // Each reason on a line of its own, the first as well.
    assert!(
        again.stderr.contains("cannot resume:\n  - run "),
        "{}",
        again.stderr
    );
}

#[test]
fn a_second_signal_aborts_an_api_call_in_flight_and_rollback_undoes() {
    let world = World::start();
    let before = world.state();
    let proxy = Proxy::start(&world);
    // The second step's write hangs for 20 s: a change in flight, which the first signal
    // lets finish and the second abandons.
    proxy.faults(
        &world,
        &json!([{"action": "ssm:PutParameter", "fault": "slow", "seconds": 20, "after": 1}]),
    );
    let pb = world.playbook(
        "pauses.yaml",
        &PAUSES.replace("duration: 30s", "duration: 1ms"),
    );
    let run = world.running(&["run", "--yes", &pb], &[("AWS_ENDPOINT_URL", &proxy.url)]);
    world.wait_for_journal(r#""record":"intent","step":"second""#);
    run.signal("INT");
    run.wait_for("Received SIGINT (Ctrl-C)");
    run.signal("TERM");
    let sent = Instant::now();
    let out = run.finish();
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "the call was not abandoned"
    );
    assert!(
        out.stdout.contains("aborted by a second signal"),
        "{}",
        out.stdout
    );
    let status = world
        .standin(&["--output", "json", "status"])
        .expect(0)
        .stdout;
    let view: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(view["outcome"], "stopped");
    assert_eq!(view["steps"][2]["state"], "in-doubt", "{view}");

    drop(proxy);
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
}

/// Once a rollback has started it finishes: signals (CI runners send SIGINT, then SIGTERM a
/// few seconds later) are reported and do not stop it, in `standin rollback`...
#[test]
fn signals_during_a_rollback_are_reported_and_it_finishes() {
    let world = World::start();
    let before = world.state();
    world.incident(&["run", "--yes"]).expect(0);
    // Undoing the environment's settings now keeps it Updating for a while.
    world.control(&["tag-env", "shop-staging", "emulator:update-seconds=4"]);
    let run = world.running(&["rollback", "--last", "--yes"], &[]);
    world.wait_for_journal(r#""record":"undone","step":"repoint-app""#);
    run.signal("INT");
    run.wait_for("Received SIGINT (Ctrl-C): the rollback goes on");
    run.signal("TERM");
    run.wait_for("Received SIGTERM: the rollback goes on");
    let out = run.finish();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Everything the run changed is back as it was"),
        "{}",
        out.stdout
    );
    assert_eq!(world.state(), before);
}

/// ...and in the automatic rollback of a run whose step failed: the messages are the
/// rollback's, not the run's, and nothing is left for a human.
#[test]
fn signals_during_a_run_s_automatic_rollback_do_not_stop_it() {
    let world = World::start();
    let before = world.state();
    let proxy = Proxy::start(&world);
    // The workers' restart is denied (a late step fails), and each environment change takes
    // a few seconds, so the rollback is still undoing when the signals come.
    proxy.faults(
        &world,
        &json!([{"action": "ssm:SendCommand", "fault": "deny"}]),
    );
    world.control(&["tag-env", "shop-staging", "emulator:update-seconds=3"]);
    let args = world.playbook_args(&["run", "--yes"], &world.incident_playbook());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = world.running(&args, &[("AWS_ENDPOINT_URL", &proxy.url)]);
    world.wait_for_journal(r#""record":"undone","step":"repoint-app""#);
    run.signal("INT");
    run.wait_for("Received SIGINT (Ctrl-C): the rollback goes on");
    run.signal("TERM");
    run.wait_for("Received SIGTERM: the rollback goes on");
    let out = run.finish();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        !out.all().contains("stopping at the next safe point"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout
            .contains("Everything the run changed is back as it was"),
        "{}",
        out.stdout
    );
    assert_eq!(world.state(), before);
}

/// A signal in the wait that follows a change (here a restart, which has no undo) stops the
/// run at once with the change recorded as made: `resume` goes on after it instead of
/// restarting again.
#[test]
fn a_signal_in_the_wait_after_a_restart_keeps_the_restart_done() {
    let world = World::start();
    world.control(&["tag-env", "shop-staging", "emulator:update-seconds=30"]);
    let pb = world.playbook(
        "restart.yaml",
        "version: 1\nname: restart\nsteps:\n  - id: restart\n    kind: eb.restart\n    environment: shop-staging\n  - id: after\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/APP_URL: https://after.example.com\n",
    );
    let run = world.running(&["run", "--yes", &pb], &[]);
    // The restart was accepted once the environment is Updating.
    for _ in 0..300 {
        if world.environment("shop-staging").0 == "Updating" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(world.environment("shop-staging").0, "Updating");
    run.signal("TERM");
    let sent = Instant::now();
    let out = run.finish();
    assert_eq!(out.code, 5, "{}\n{}", out.stdout, out.stderr);
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "the wait was not cut short"
    );
    assert!(
        out.stdout
            .contains("stopped by SIGTERM while its change settled; the change was made"),
        "{}",
        out.stdout
    );
    let status = world
        .standin(&["--output", "json", "status"])
        .expect(0)
        .stdout;
    let view: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(view["steps"][0]["state"], "applied", "{view}");
    assert_eq!(view["steps"][1]["state"], "not-started", "{view}");

    world.control(&["untag-env", "shop-staging", "emulator:update-seconds"]);
    world.standin(&["resume", "--yes"]).expect(0);
    let journal = world.written_files();
    assert_eq!(
        journal
            .matches(r#""record":"intent","step":"restart""#)
            .count(),
        1,
        "the restart was made again\n{journal}"
    );
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://after.example.com"
    );
}
