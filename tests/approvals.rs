//! Two people for the big switch: a run with an `approval` step waits, with nothing changed,
//! until another AWS principal approves it with `standin approve` from another directory
//! sharing the S3 state; the runner cannot approve it (neither with the command nor with an
//! answer file of their own), one principal counts once, a denial or the timeout stops the
//! run with nothing changed, and `--yes` never answers it. Two IAM users of the emulator are
//! the two people: each answer's principal is what STS says of its presigned request.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::support::{Keys, Out, World};

const BUCKET: &str = "team-state";
const STATE: &str = "s3://team-state/shop";
const PARAM: &str = "/shop/staging/QUEUE_URL";

fn everything() -> serde_json::Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
}

/// A playbook whose one change waits for `count` approvals within `timeout`.
fn approved(world: &World, timeout: &str) -> String {
    world.playbook(
        "approved.yaml",
        &format!(
            "version: 1\nname: approved\nsteps:\n  - id: second-person\n    kind: approval\n    count: 1\n    timeout: {timeout}\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      {PARAM}: https://sqs.example/approved\n"
        ),
    )
}

fn env(keys: &Keys) -> Vec<(&str, &str)> {
    keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// `standin ARGS` as the user of `keys`, in `dir` (another machine).
fn as_user_in(world: &World, dir: &Path, keys: &Keys, args: &[&str]) -> Out {
    let mut command: Command = world.program(env!("CARGO_BIN_EXE_standin"), args);
    command
        .current_dir(dir)
        .envs(env(keys))
        .output()
        .expect("run standin")
        .into()
}

/// An object of the state bucket.
fn object(world: &World, key: &str) -> Option<Vec<u8>> {
    world.object(BUCKET, key)
}

/// `standin approve RUN_ID --yes EXTRA...` on the shared state, as the user of `keys`, in
/// `dir`.
fn answer(world: &World, dir: &Path, keys: &Keys, id: &str, extra: &[&str]) -> Out {
    let mut args = vec!["--state", STATE, "approve", id, "--yes"];
    args.extend(extra);
    as_user_in(world, dir, keys, &args)
}

/// The one run in the bucket.
fn run_id(world: &World) -> String {
    let ids = world.s3_run_ids(BUCKET, "shop");
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

fn journal(world: &World, run_id: &str) -> Vec<serde_json::Value> {
    let bytes = object(world, &format!("shop/runs/{run_id}/journal.jsonl")).expect("journal");
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// An answer file written by hand with `keys`' own proof: what a runner who skips
/// `standin approve`'s own check would file.
fn forge_answer(world: &World, keys: &Keys, run_id: &str, claimed: &str) {
    let config = aws_config::SdkConfig::builder()
        .endpoint_url(&world.endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(&keys[0].1, &keys[1].1, None, None, "test"),
            ),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let names: Vec<String> = world.block_on(async {
        let prefix = format!("shop/runs/{run_id}/approvals/second-person/");
        let out = world
            .s3()
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(&prefix)
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key()?.strip_prefix(prefix.as_str()).map(str::to_owned))
            .collect()
    });
    let newest = standin::approval::newest_request(&names).expect("a request");
    let request: serde_json::Value = serde_json::from_slice(
        &object(
            world,
            &format!("shop/runs/{run_id}/approvals/second-person/{newest}"),
        )
        .expect("the request"),
    )
    .unwrap();
    let purpose = standin::approval::purpose(
        run_id,
        "second-person",
        standin::approval::Decision::Approve,
        request["plan_sha256"].as_str(),
    );
    let proof = world
        .block_on(standin::aws::identity::prove(&config, &purpose))
        .expect("a proof");
    let answer = json!({
        "decision": "approve", "run_id": run_id, "step": "second-person",
        "plan_sha256": request["plan_sha256"], "arn": claimed,
        "at": "2026-12-08T00:00:00.000Z", "proof": proof,
    });
    let key = format!(
        "shop/runs/{run_id}/{}",
        standin::approval::answer_file("second-person", claimed, std::time::SystemTime::now())
    );
    world
        .block_on(
            world
                .s3()
                .put_object()
                .bucket(BUCKET)
                .key(key)
                .body(answer.to_string().into_bytes().into())
                .send(),
        )
        .expect("put the answer");
}

#[test]
fn a_run_waits_for_another_principal_and_records_both() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let alice = world.iam_user("alice", &everything());
    let bob = world.iam_user("bob", &everything());
    let before = world.param(PARAM);
    let playbook = approved(&world, "2m");
    // `--yes` answers confirmations, never approvals.
    let running = world.running(&["--state", STATE, "run", "--yes", &playbook], &env(&alice));
    running.wait_for(
        "waiting for 1 approval by another AWS principal than arn:aws:iam::123456789012:user/alice",
    );
    running.wait_for(&format!(
        "standin --state {STATE} approve {}",
        run_id(&world)
    ));
    let id = run_id(&world);
    assert_eq!(world.param(PARAM), before, "nothing changes while it waits");

    // The runner's own `approve` is refused, and writes nothing.
    let mine = tempfile::tempdir().unwrap();
    let out = answer(&world, mine.path(), &alice, &id, &[]);
    let out = out.expect(4);
    assert!(
        out.stderr.contains("are running this run"),
        "{}",
        out.stderr
    );
    // Nor does an answer the runner files by hand count, nor one claiming another's name.
    forge_answer(&world, &alice, &id, "arn:aws:iam::123456789012:user/alice");
    running.wait_for("the runner cannot approve their own run");
    forge_answer(&world, &alice, &id, "arn:aws:iam::123456789012:user/carol");
    running.wait_for("STS says otherwise");
    assert_eq!(world.param(PARAM), before);

    // Bob approves from another machine, seeing the plan he approves.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = answer(&world, elsewhere.path(), &bob, &id, &[]).expect(0);
    assert!(
        out.stdout.contains("https://sqs.example/approved"),
        "the plan: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "Approved run {id} at step `second-person` as arn:aws:iam::123456789012:user/bob"
        )),
        "{}",
        out.stdout
    );
    // One principal answers once.
    let again = answer(&world, elsewhere.path(), &bob, &id, &[]).expect(4);
    assert!(
        again.stderr.contains("answered this request already"),
        "{}",
        again.stderr
    );

    let out = running.finish().expect(0);
    assert!(
        out.all()
            .contains("approved by arn:aws:iam::123456789012:user/bob (1 of 1)"),
        "{}",
        out.all()
    );
    assert_eq!(
        world.param(PARAM).as_deref(),
        Some("https://sqs.example/approved")
    );

    // The journal keeps both principals: the runner's, and the approver's as STS proved it,
    // with the answers not counted and why.
    let records = journal(&world, &id);
    assert_eq!(
        records[0]["principals"][0]["arn"],
        "arn:aws:iam::123456789012:user/alice"
    );
    let applied = records
        .iter()
        .find(|r| r["record"] == "applied" && r["step"] == "second-person")
        .expect("the approval applied");
    let approvals = applied["undo"]["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1, "{applied}");
    assert_eq!(approvals[0]["arn"], "arn:aws:iam::123456789012:user/bob");
    let refused = applied["undo"]["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2, "{applied}");

    // `status` and every report show them; the evidence verifies.
    let status = as_user_in(
        &world,
        elsewhere.path(),
        &bob,
        &["--state", STATE, "status", &id],
    )
    .expect(0);
    assert!(
        status
            .stdout
            .contains("approved by arn:aws:iam::123456789012:user/bob"),
        "{}",
        status.stdout
    );
    let reports = elsewhere.path().join("reports");
    as_user_in(
        &world,
        elsewhere.path(),
        &bob,
        &[
            "--state",
            STATE,
            "report",
            &id,
            "--dir",
            reports.to_str().unwrap(),
        ],
    )
    .expect(0);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    let given = &doc["evidence"]["approvals"];
    assert_eq!(
        given[0]["arn"], "arn:aws:iam::123456789012:user/bob",
        "{doc}"
    );
    assert_eq!(given[0]["step"], "second-person");
    assert_eq!(
        doc["evidence"]["run_by"]["principals"][0]["arn"],
        "arn:aws:iam::123456789012:user/alice"
    );
    for file in ["report.md", "report.html", "junit.xml"] {
        let text = std::fs::read_to_string(reports.join(file)).unwrap();
        assert!(text.contains("user/bob"), "{file}: {text}");
    }
    as_user_in(
        &world,
        elsewhere.path(),
        &bob,
        &["--state", STATE, "verify-evidence", &id],
    )
    .expect(0);
}

#[test]
fn a_denial_or_the_timeout_stops_the_run_with_nothing_changed() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let alice = world.iam_user("alice", &everything());
    let bob = world.iam_user("bob", &everything());
    let before = world.full_dump();
    let playbook = approved(&world, "2m");
    let running = world.running(&["--state", STATE, "run", "--yes", &playbook], &env(&alice));
    running.wait_for("waiting for 1 approval");
    let id = run_id(&world);
    let elsewhere = tempfile::tempdir().unwrap();
    answer(
        &world,
        elsewhere.path(),
        &bob,
        &id,
        &["--deny", "--reason", "not during the sale"],
    )
    .expect(0);
    let out = running.finish().expect(1);
    assert!(
        out.all()
            .contains("denied by arn:aws:iam::123456789012:user/bob: not during the sale"),
        "{}",
        out.all()
    );
    assert_eq!(world.full_dump(), before, "a denial changes nothing");
    let failed = journal(&world, &id)
        .into_iter()
        .find(|r| r["record"] == "failed" && r["step"] == "second-person")
        .expect("the approval failed");
    assert_eq!(
        failed["undo"]["denied"]["arn"],
        "arn:aws:iam::123456789012:user/bob"
    );
    assert_eq!(failed["undo"]["denied"]["reason"], "not during the sale");
    // A run no longer waiting takes no answer.
    let late = answer(&world, elsewhere.path(), &bob, &id, &[]).expect(4);
    assert!(
        late.stderr.contains("is not waiting for an approval"),
        "{}",
        late.stderr
    );

    // No answer within the timeout: stopped, nothing changed.
    let local = approved(&world, "2s");
    let out = world
        .as_user(&alice, &["run", "--yes", local.as_str()])
        .expect(1);
    assert!(
        out.all()
            .contains("too few approvals before the step's timeout (0 of 1 given)"),
        "{}",
        out.all()
    );
    assert_eq!(world.full_dump(), before, "a timeout changes nothing");
}

/// An HTTP server that answers 200 to every request until one's `event` ends a run, and
/// hands back every body, in order.
fn chat() -> (String, std::thread::JoinHandle<Vec<serde_json::Value>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/SECRETPATH", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        loop {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            )
            .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let end = ["finished", "rolled-back", "rollback-incomplete", "stopped"]
                .contains(&body["event"].as_str().unwrap_or_default());
            bodies.push(body);
            if end {
                return bodies;
            }
        }
    });
    (url, handle)
}

#[test]
fn the_team_hears_each_event_of_a_run_in_slack_compatible_json() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let alice = world.iam_user("alice", &everything());
    let bob = world.iam_user("bob", &everything());
    let playbook = approved(&world, "2m");
    let (url, heard) = chat();
    let running = world.running(
        &[
            "--state", STATE, "run", "--yes", "--notify", &url, &playbook,
        ],
        &env(&alice),
    );
    running.wait_for("waiting for 1 approval");
    let id = run_id(&world);
    let elsewhere = tempfile::tempdir().unwrap();
    answer(
        &world,
        elsewhere.path(),
        &bob,
        &id,
        &["--deny", "--reason", "the CFO says no"],
    )
    .expect(0);
    let out = running.finish().expect(1);
    assert!(!out.all().contains("SECRETPATH"), "{}", out.all());
    let bodies = heard.join().unwrap();
    let events: Vec<&str> = bodies
        .iter()
        .map(|b| b["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "started",
            "waiting-for-approval",
            "step-failed",
            "rolling-back",
            "rolled-back"
        ],
        "{bodies:?}"
    );
    for body in &bodies {
        // Slack's incoming webhooks show `text`.
        let text = body["text"].as_str().unwrap();
        assert!(
            text.starts_with(&format!("standin run {id} of `approved`: ")),
            "{text}"
        );
        assert_eq!(body["run_id"], id.as_str());
        World::assert_no_secrets(&body.to_string());
    }
    assert!(bodies[0]["text"].as_str().unwrap().contains("user/alice"));
    assert!(bodies[1]["text"]
        .as_str()
        .unwrap()
        .contains(&format!("standin --state {STATE} approve {id}")));
    assert_eq!(bodies[2]["step"], "second-person");
    assert!(bodies[2]["error"]
        .as_str()
        .unwrap()
        .contains("the CFO says no"));

    // A rollback tells the team too.
    let (url, heard) = chat();
    let local = world.playbook(
        "plain.yaml",
        &format!("version: 1\nname: plain\nsteps:\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      {PARAM}: https://sqs.example/plain\n"),
    );
    world.standin(&["run", "--yes", &local]).expect(0);
    world
        .standin(&["rollback", "--last", "--yes", "--notify", &url])
        .expect(0);
    let events: Vec<String> = heard
        .join()
        .unwrap()
        .iter()
        .map(|b| b["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["rolling-back", "rolled-back"]);
}

#[test]
fn a_run_killed_while_waiting_resumes_and_still_needs_the_approval() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let alice = world.iam_user("alice", &everything());
    let bob = world.iam_user("bob", &everything());
    let playbook = approved(&world, "2m");
    // A short lease, so that the killed run's lock expires soon.
    let mut short = env(&alice);
    short.push(("STANDIN_LEASE_SECS", "2"));
    let running = world.running(&["--state", STATE, "run", "--yes", &playbook], &short);
    running.wait_for("waiting for 1 approval");
    running.signal("KILL");
    running.finish();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let id = run_id(&world);
    let before = world.param(PARAM);
    // Resumed (taking over the dead run's lock): it asks again, and waits.
    let refused = world
        .as_user(&alice, &["--state", STATE, "resume", &id, "--yes"])
        .expect(4);
    let lock = refused
        .stderr
        .split("--force-unlock ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("the lock's id")
        .to_owned();
    let resumed = world.running(
        &[
            "--state",
            STATE,
            "resume",
            &id,
            "--yes",
            "--force-unlock",
            &lock,
        ],
        &env(&alice),
    );
    resumed.wait_for("waiting for 1 approval");
    assert_eq!(world.param(PARAM), before, "nothing changes while it waits");
    let elsewhere = tempfile::tempdir().unwrap();
    answer(&world, elsewhere.path(), &bob, &id, &[]).expect(0);
    let out = resumed.finish().expect(0);
    assert!(
        out.all()
            .contains("approved by arn:aws:iam::123456789012:user/bob (1 of 1)"),
        "{}",
        out.all()
    );
    assert_eq!(
        world.param(PARAM).as_deref(),
        Some("https://sqs.example/approved")
    );
}

#[test]
fn each_approval_step_needs_its_own_answer() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let alice = world.iam_user("alice", &everything());
    let bob = world.iam_user("bob", &everything());
    let before = world.param(PARAM);
    let playbook = world.playbook(
        "twice.yaml",
        &format!("version: 1\nname: twice\nsteps:\n  - id: first\n    kind: approval\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      {PARAM}: https://sqs.example/twice\n  - id: before-repoint\n    kind: approval\n  - id: put-again\n    kind: ssm.put-parameters\n    values:\n      {PARAM}: https://sqs.example/twice-again\n"),
    );
    let running = world.running(&["--state", STATE, "run", "--yes", &playbook], &env(&alice));
    running.wait_for("waiting for 1 approval");
    let id = run_id(&world);
    let elsewhere = tempfile::tempdir().unwrap();
    answer(&world, elsewhere.path(), &bob, &id, &[]).expect(0);
    // Bob's approval of the first step is not his answer at the second: he denies it there.
    running.wait_for("approved by arn:aws:iam::123456789012:user/bob (1 of 1)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = answer(
            &world,
            elsewhere.path(),
            &bob,
            &id,
            &["--deny", "--reason", "not the second time"],
        );
        if out.code == 0 && out.stdout.contains("at step `before-repoint`") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", out.all());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = running.finish().expect(1);
    assert!(
        out.all()
            .contains("denied by arn:aws:iam::123456789012:user/bob: not the second time"),
        "{}",
        out.all()
    );
    assert_eq!(
        world.param(PARAM),
        before,
        "the first change is rolled back"
    );
}
