//! The write-ahead journal is durable before each AWS call: every record is written and
//! `fdatasync`ed before the next request goes out. A crash test cannot tell (a killed process
//! leaves the page cache behind, so a record that was never synced still reads back), so this
//! watches the system calls themselves, with strace.

use crate::support::World;

/// Where a record of the journal is written in an strace log line, and by which thread on
/// which descriptor: `PID write(FD, "{\"record\":...`.
fn record_write(line: &str) -> Option<(&str, &str)> {
    let (pid, call) = line.split_once(' ')?;
    let call = call.trim_start();
    let rest = call.strip_prefix("write(")?;
    let (fd, data) = rest.split_once(", ")?;
    data.starts_with(r#""{\"record\":"#).then_some((pid, fd))
}

/// Whether the line sends an HTTP request (to AWS).
fn sends_request(line: &str) -> bool {
    ["write(", "writev(", "sendto(", "sendmsg("]
        .iter()
        .any(|call| line.contains(call))
        && ["\"POST /", "\"GET /", "\"PUT /", "\"DELETE /"]
            .iter()
            .any(|verb| line.contains(verb) || line.contains(&verb.replace('"', "iov_base=\"")))
}

#[test]
fn every_journal_record_is_synced_before_the_next_aws_call() {
    let world = World::start();
    let pb = world.playbook(
        "durable.yaml",
        "version: 1\nname: durable\nsteps:\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/QUEUE_URL: https://sqs.example/durable\n  - id: app\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/APP_URL: https://durable.example.com\n",
    );
    let log = world.dir.path().join("strace.log");
    let standin = env!("CARGO_BIN_EXE_standin");
    let out: crate::support::Out = world
        .program(
            "strace",
            &[
                "-f",
                "-qq",
                "-s",
                "256",
                "-e",
                "trace=write,writev,sendto,sendmsg,fdatasync,fsync",
                "-o",
                log.to_str().unwrap(),
                standin,
                "run",
                "--yes",
                &pb,
            ],
        )
        .output()
        .expect("strace (apt-get install strace; scripts/test.sh does)")
        .into();
    let out = out.expect(0);
    let trace = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let mut records = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some((pid, fd)) = record_write(line) else {
            continue;
        };
        records += 1;
        // strace pads a pid to five columns: `123  call`, `12345 call`.
        let sync = format!("fdatasync({fd})");
        let synced = |l: &str| {
            l.split_once(' ').is_some_and(|(p, call)| {
                p == pid && call.trim_start().starts_with(&sync) && l.trim_end().ends_with("= 0")
            })
        };
        let next_request = lines[i + 1..]
            .iter()
            .position(|l| sends_request(l))
            .map_or(lines.len(), |k| i + 1 + k);
        assert!(
            lines[i + 1..next_request].iter().any(|l| synced(l)),
            "a journal record was not synced before the next AWS call:\n{line}\n{}",
            lines[i + 1..next_request.min(lines.len() - 1) + 1].join("\n")
        );
    }
    // start, and an intent and an outcome per step, finished: all seen, all synced.
    assert!(records >= 6, "{records} records seen\n{}", out.stdout);
    assert!(
        lines.iter().any(|l| sends_request(l)),
        "no AWS call was seen: the check could not fail"
    );
}

/// How often a command opens a journal of the state directory to read it, watched with
/// strace: the journal folds each record it appends into the run's view, so a drill and a
/// run never read their own back, and `rollback` reads the run's once, when it opens it.
/// (Measured before this: a drill and a run read their new, empty journal once, `rollback`
/// the run's twice.)
#[test]
fn each_command_reads_a_journal_at_most_once() {
    let world = World::start();
    let pb = world.playbook(
        "reads.yaml",
        "version: 1\nname: reads\nsteps:\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/QUEUE_URL: https://sqs.example/reads\n  - id: wait\n    kind: pause\n    duration: 1s\n",
    );
    let reads = |args: &[&str]| {
        let log = world.dir.path().join("reads.log");
        let mut traced = vec!["-f", "-qq", "-e", "trace=open,openat", "-o"];
        traced.extend([log.to_str().unwrap(), env!("CARGO_BIN_EXE_standin")]);
        traced.extend(args);
        let out: crate::support::Out = world
            .program("strace", &traced)
            .output()
            .expect("strace (apt-get install strace; scripts/test.sh does)")
            .into();
        let trace = std::fs::read_to_string(&log).unwrap();
        let reads = trace
            .lines()
            .filter(|l| l.contains("journal.jsonl\"") && l.contains("O_RDONLY"))
            .count();
        (out.expect(0), reads)
    };
    let (_, drill) = reads(&["drill", "--yes", "--soak", "0s", &pb]);
    assert_eq!(drill, 0, "a drill reads its own journal");
    let (run, reads_in_run) = reads(&["run", "--yes", &pb]);
    assert_eq!(reads_in_run, 0, "a run reads its own journal");
    let run_id = run
        .stdout
        .split("/runs/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the run's journal");
    let (_, rollback) = reads(&["rollback", "--yes", run_id]);
    assert_eq!(rollback, 1, "rollback reads the run's journal once");
}
