//! A state that stops taking writes in the middle of a run: a full disk, a state bucket that
//! starts denying writes. Once a rollback has started it finishes: the run undoes everything
//! from the records it holds, prints each step undone and what the journal is missing, and the
//! next `standin rollback`, once the state can be written, finds everything back and records it.

use serde_json::json;

use std::collections::BTreeMap;

use crate::support::{Out, Proxy, World};

type State = BTreeMap<String, String>;

const BUCKET: &str = "team-state";
const STATE: &str = "s3://team-state/shop";

/// What every such run must say and leave: production's settings off staging, the steps it
/// undid named, the journal said to be behind with the command that brings it up to date.
#[track_caller]
fn rolled_back_from_memory(world: &World, before: &State, out: &Out) {
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("cannot write the journal, so the step was stopped")
            || out
                .stdout
                .contains("the change was made, but the journal could not record it"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Rolled back: ") && out.stdout.contains("prod-env-to-staging"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("THE JOURNAL IS BEHIND"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("rollback "), "{}", out.stdout);
    assert_eq!(&world.state(), before, "staging kept production's settings");
}

/// Once the state takes writes again, the next rollback finds everything back and records it:
/// `status` then says the run was rolled back.
#[track_caller]
fn recorded_once_writable(world: &World, before: &State, env: &[(&str, &str)], state: &str) {
    let flag = |args: &[&str]| {
        ["--state", state]
            .iter()
            .chain(args)
            .map(|a| (*a).to_owned())
            .collect::<Vec<_>>()
    };
    let again = world
        .standin_env(env, &flag(&["rollback", "--last", "--yes"]))
        .expect(0);
    assert_eq!(&world.state(), before, "{}", again.stdout);
    let status = world.standin_env(env, &flag(&["status"])).expect(0);
    assert!(status.stdout.contains(": rolled back"), "{}", status.stdout);
}

/// The journal writes of the incident run before the repoint's intent (the empty journal
/// created, then one write a record: start, and each step's intent and outcome).
const WRITES_BEFORE_REPOINT: usize = 17;

#[test]
fn a_state_bucket_that_starts_denying_writes_still_rolls_everything_back() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let before = world.state();
    let proxy = Proxy::start(&world);
    proxy.faults(
        &world,
        &json!([{"action": "s3 PUT /team-state/shop/runs/*/journal.jsonl", "fault": "deny",
                 "after": WRITES_BEFORE_REPOINT}]),
    );
    let through_proxy = [("AWS_ENDPOINT_URL", proxy.url.as_str())];
    let args = world.playbook_args(
        &["--state", STATE, "run", "--yes"],
        &world.incident_playbook(),
    );
    let out = world.standin_env(&through_proxy, &args);
    assert!(
        out.stdout.contains("Run ") && out.stdout.contains("failed at step `repoint-app`"),
        "{}",
        out.stdout
    );
    rolled_back_from_memory(&world, &before, &out);

    // Writes work again: the next rollback finds everything back and records it.
    proxy.faults(&world, &json!([]));
    recorded_once_writable(&world, &before, &through_proxy, STATE);
}

/// A small tmpfs where the test may mount one (root with CAP_SYS_ADMIN), else the journal's
/// injected ENOSPC (`STANDIN_CRASH_AT=disk-full:BYTES`): the same failure of the same write.
struct FullDisk {
    dir: std::path::PathBuf,
    mounted: bool,
}

impl FullDisk {
    fn new(world: &World) -> Self {
        let dir = world.dir.path().join("small-disk");
        std::fs::create_dir(&dir).expect("mount point");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=44k", "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        Self { dir, mounted }
    }

    fn env(&self) -> Vec<(&'static str, &'static str)> {
        if self.mounted {
            Vec::new()
        } else {
            vec![("STANDIN_CRASH_AT", "disk-full:12000")]
        }
    }

    /// Room again.
    fn grow(&self) {
        if self.mounted {
            let grown = std::process::Command::new("mount")
                .args(["-o", "remount,size=4m"])
                .arg(&self.dir)
                .status()
                .expect("remount");
            assert!(grown.success());
        }
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = std::process::Command::new("umount").arg(&self.dir).status();
        }
    }
}

#[test]
fn a_full_disk_mid_run_still_rolls_everything_back() {
    let world = World::start();
    let before = world.state();
    let disk = FullDisk::new(&world);
    let state = disk.dir.join("state").display().to_string();
    let args = world.playbook_args(
        &["--state", &state, "run", "--yes"],
        &world.incident_playbook(),
    );
    let out = world.standin_env(&disk.env(), &args);
    assert!(
        out.stdout.contains("No space left on device"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    rolled_back_from_memory(&world, &before, &out);

    disk.grow();
    recorded_once_writable(&world, &before, &[], &state);
}

/// A drill of one parameter: the journal's records are start, snapshot, the step's intent
/// and outcome, `finished`, then the soak's and the rollback's.
fn tiny_drill(world: &World) -> String {
    world.playbook(
        "tiny.yaml",
        r#"version: 1
name: tiny
steps:
  - id: no-migrations
    kind: ssm.put-parameters
    values:
      /shop/staging/RUN_MIGRATIONS: "false"
"#,
    )
}

/// What a drill whose journal stopped taking writes must say and leave: the world put back,
/// the restore verified, its report (made from what the process held, not from the journal)
/// saying how it went, the journal said to be behind, exit 3; then, once writes work again,
/// `rollback` finds everything back and records it.
#[track_caller]
fn drill_put_back_from_memory(world: &World, before: &State, out: &Out, how: &str) {
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(&world.state(), before, "the drill left staging changed");
    assert!(
        out.stdout.contains(how) && out.stdout.contains("restore verified"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("To continue the drill") && !out.stdout.contains("unfinished"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("THE JOURNAL IS BEHIND") && out.stderr.contains(" rollback "),
        "{}",
        out.stderr
    );
}

/// The bucket starts denying writes while the drill holds the promoted state: the soak's
/// record cannot be written. The drill exited 3 at once ("error: journal ...: AccessDenied"),
/// leaving production's settings on staging.
#[test]
fn a_drill_whose_state_bucket_denies_writes_in_its_soak_still_puts_everything_back() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let before = world.state();
    let proxy = Proxy::start(&world);
    let playbook = tiny_drill(&world);
    let running = world.running(
        &[
            "--state", STATE, "drill", "--yes", "--soak", "3s", "--every", "1s", &playbook,
        ],
        &[("AWS_ENDPOINT_URL", proxy.url.as_str())],
    );
    running.wait_for("Holding the promoted state");
    proxy.faults(
        &world,
        &json!([{"action": "s3 PUT /team-state/shop/runs/*/journal.jsonl", "fault": "deny"}]),
    );
    let out = running.finish();
    drill_put_back_from_memory(&world, &before, &out, "of `tiny`: passed.");
    assert!(
        out.stdout.contains("Rolled back: no-migrations"),
        "{}",
        out.stdout
    );

    proxy.faults(&world, &json!([]));
    let through_proxy = [("AWS_ENDPOINT_URL", proxy.url.as_str())];
    let state = |args: &[&str]| {
        let mut all = vec!["--state".to_owned(), STATE.to_owned()];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        world.standin_env(&through_proxy, &all)
    };
    state(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
    let status = state(&["status"]).expect(0);
    assert!(status.stdout.contains(": rolled back"), "{}", status.stdout);
}

/// Every step of the drill is done and journaled, but its `finished` record is refused: the
/// drill exited 3 ("error: journal ...") with the promoted state in place, neither soaked nor
/// put back.
#[test]
fn a_drill_whose_end_of_steps_cannot_be_journaled_still_puts_everything_back() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let before = world.state();
    let playbook = tiny_drill(&world);
    let drill = [
        "--state", STATE, "drill", "--yes", "--soak", "1s", &playbook,
    ];
    // A first drill says how many records come before `finished` (the second writes the
    // same): the journal's object is created empty, then written once a record.
    world.standin(&drill).expect(0);
    let ids = world.block_on(
        world
            .s3()
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix("shop/runs/")
            .send(),
    );
    let key = ids.expect("list").contents()[0].key().unwrap().to_owned();
    let body = world
        .block_on(world.s3().get_object().bucket(BUCKET).key(&key).send())
        .expect("journal");
    let text = String::from_utf8(world.block_on(body.body.collect()).unwrap().to_vec()).unwrap();
    let before_finished = text
        .lines()
        .position(|l| l.contains("\"record\":\"finished\""))
        .expect("a finished record");
    let proxy = Proxy::start(&world);
    proxy.faults(
        &world,
        &json!([{"action": "s3 PUT /team-state/shop/runs/*/journal.jsonl", "fault": "deny",
                 "after": 1 + before_finished}]),
    );
    let out = world.standin_env(
        &[("AWS_ENDPOINT_URL", proxy.url.as_str())],
        &drill.map(str::to_owned),
    );
    drill_put_back_from_memory(&world, &before, &out, "of `tiny`: passed.");
}

/// The disk fills while the drill's steps run: the run rolls back from memory as a run does,
/// and the drill's summary says a step failed and everything was put back, where it said
/// "unfinished" and offered `resume`, which would have promoted staging again.
#[test]
fn a_drill_on_a_disk_that_fills_says_a_step_failed_never_to_resume_it() {
    let world = World::start();
    let before = world.state();
    let disk = FullDisk::new(&world);
    let state = disk.dir.join("state").display().to_string();
    let args = world.playbook_args(
        &["--state", &state, "drill", "--yes", "--soak", "1s"],
        &world.incident_playbook(),
    );
    let out = world.standin_env(&disk.env(), &args);
    drill_put_back_from_memory(
        &world,
        &before,
        &out,
        ": failed: a step failed, everything was rolled back.",
    );
    assert!(
        out.stdout.contains("No space left on device"),
        "{}",
        out.stdout
    );
}
