//! Evidence an auditor accepts: each journal line links to the one before (a hash chain),
//! the run keeps its plan document beside the journal, every report carries `evidence`, and
//! `standin verify-evidence` names the first line or file that does not match.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::{Out, World};

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn joined(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// `verify-evidence` of `target`, as JSON, expecting `code`.
fn verify(world: &World, target: &str, code: i32) -> serde_json::Value {
    let out = world
        .standin(&["verify-evidence", target, "--output", "json"])
        .expect(code);
    serde_json::from_str(&out.stdout).unwrap()
}

/// The detail of the check of `file`, which must have ended as `status`.
fn check<'a>(verdict: &'a serde_json::Value, file: &str, status: &str) -> &'a str {
    let check = verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["file"] == file)
        .unwrap_or_else(|| panic!("no check of {file}: {verdict}"));
    assert_eq!(check["status"], status, "{file}: {verdict}");
    check["detail"].as_str().unwrap()
}

/// Changes the time of a journal line (a byte of its own, not of its link).
fn retimed(line: &str) -> String {
    let at = line.find(r#""at":"2"#).expect("a record has its time") + 6;
    let mut bytes = line.as_bytes().to_vec();
    bytes[at + 3] = if bytes[at + 3] == b'7' { b'8' } else { b'7' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn an_untouched_run_verifies_and_an_edited_dropped_or_swapped_line_is_named() {
    let world = World::start();
    world.incident(&["run", "--yes"]).expect(0);
    let run = world.run_dir();
    let id = run.file_name().unwrap().to_str().unwrap().to_owned();
    let journal = run.join("journal.jsonl");
    let original = std::fs::read_to_string(&journal).unwrap();
    let all = lines(&original);
    assert!(all.len() > 6, "{original}");
    // Every line after the first names the SHA-256 of the line before.
    assert!(!all[0].contains(r#""prev""#));
    for pair in all.windows(2) {
        let next: serde_json::Value = serde_json::from_str(&pair[1]).unwrap();
        assert_eq!(next["prev"], sha256(pair[0].as_bytes()), "{}", pair[1]);
    }
    // The plan document is kept beside the journal, and the start record names its digest.
    let plan = std::fs::read(run.join("plan.json")).expect("plan.json beside the journal");
    let start: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
    assert_eq!(start["plan_sha256"], sha256(&plan));

    let verdict = verify(&world, &id, 0);
    assert_eq!(verdict["verified"], true);
    assert!(check(&verdict, "journal.jsonl", "ok").contains(&format!("{} lines", all.len())));
    check(&verdict, "plan.json", "ok");
    let human = world.standin(&["verify-evidence", &id]).expect(0);
    assert!(
        human
            .stdout
            .contains(&format!("The evidence of run {id} verifies.")),
        "{}",
        human.stdout
    );
    // The playbook, given, is checked too; another file is not the playbook that ran.
    let playbook = world.incident_playbook();
    world
        .standin(&["verify-evidence", &id, "--playbook", &playbook])
        .expect(0);
    let other = world.playbook("other.yaml", "name: other\nsteps: []\n");
    let out = world
        .standin(&[
            "verify-evidence",
            &id,
            "--playbook",
            &other,
            "--output",
            "json",
        ])
        .expect(9);
    let verdict: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    check(&verdict, "playbook", "failed");

    // The report seals the journal; its directory verifies, the journal read from the state.
    let reports = world.dir.path().join("reports");
    world
        .standin(&["report", &id, "--dir", reports.to_str().unwrap()])
        .expect(0);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    let evidence = &doc["evidence"];
    assert_eq!(evidence["plan_sha256"], sha256(&plan));
    assert_eq!(evidence["playbook_sha256"], start["source"]["sha256"]);
    assert_eq!(evidence["journal"]["lines"], all.len());
    assert_eq!(
        evidence["journal"]["last_sha256"],
        sha256(all.last().unwrap().as_bytes())
    );
    assert!(evidence["journal"].get("broken").is_none(), "{evidence}");
    assert!(evidence["run_by"]["os_user"]
        .as_str()
        .unwrap()
        .contains('@'));
    assert!(evidence["run_by"]["principals"][0]["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:"));
    let markdown = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(markdown.contains("## Evidence"), "{markdown}");
    let verdict = verify(&world, reports.to_str().unwrap(), 0);
    check(&verdict, "report.json", "ok");

    // Tampering, each case on the journal as the run left it.
    let n = all.len();
    let mut edited = all.clone();
    edited[2] = retimed(&edited[2]);
    let mut dropped = all.clone();
    dropped.remove(2);
    let mut swapped = all.clone();
    swapped.swap(2, 3);
    let mut last = all.clone();
    last[n - 1] = retimed(&last[n - 1]);
    let cases: [(&str, Vec<String>, &str, String); 5] = [
        (
            "a byte of line 3",
            edited,
            "journal.jsonl",
            "line 4: ".into(),
        ),
        (
            "line 3 dropped",
            dropped,
            "journal.jsonl",
            "line 3: ".into(),
        ),
        (
            "lines 3 and 4 swapped",
            swapped,
            "journal.jsonl",
            "line 3: ".into(),
        ),
        (
            "the first line dropped",
            all[1..].to_vec(),
            "journal.jsonl",
            "line 1: ".into(),
        ),
        // The chain alone cannot see its own end changed: the report's seal does.
        (
            "a byte of the last line",
            last,
            "report.json",
            format!("line {n}: "),
        ),
    ];
    for (what, tampered, file, named) in cases {
        std::fs::write(&journal, joined(&tampered)).unwrap();
        let verdict = verify(&world, reports.to_str().unwrap(), 9);
        assert_eq!(verdict["verified"], false, "{what}");
        let detail = check(&verdict, file, "failed");
        assert!(detail.starts_with(&named), "{what}: {detail}");
    }
    // The last line dropped: the report sealed a line the journal no longer has.
    std::fs::write(&journal, joined(&all[..n - 1])).unwrap();
    let verdict = verify(&world, reports.to_str().unwrap(), 9);
    assert!(check(&verdict, "report.json", "failed").starts_with(&format!("line {n}: missing")));

    // The plan document edited.
    std::fs::write(&journal, &original).unwrap();
    let mut changed = plan.clone();
    let at = changed.iter().position(|b| *b == b'"').unwrap();
    changed.insert(at, b' ');
    std::fs::write(run.join("plan.json"), &changed).unwrap();
    let verdict = verify(&world, &id, 9);
    check(&verdict, "plan.json", "failed");
    std::fs::write(run.join("plan.json"), &plan).unwrap();

    // A rollback appends to the chain where the run left it; everything still verifies, and
    // the report written before now covers the journal's first lines.
    world.standin(&["rollback", &id, "--yes"]).expect(0);
    let verdict = verify(&world, &id, 0);
    assert_eq!(verdict["verified"], true);
    let verdict = verify(&world, reports.to_str().unwrap(), 0);
    assert!(check(&verdict, "report.json", "ok").contains("were written after it"));
}

#[test]
fn a_drills_report_carries_its_recovery_and_restore_as_evidence() {
    let world = World::start();
    let reports = world.dir.path().join("drill-reports");
    let out: Out = world
        .incident(&["drill", "--yes", "--report", reports.to_str().unwrap()])
        .expect(0);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("report.json")).unwrap())
            .unwrap();
    let drill = &doc["evidence"]["drill"];
    assert_eq!(drill["restored"], true, "{doc}");
    assert!(drill["restore_checked"].as_u64().unwrap() > 0, "{doc}");
    assert_eq!(drill["recovery_secs"], doc["recovery"]["clients_secs"]);
    assert_eq!(drill["target_secs"], doc["recovery"]["target_secs"]);
    assert_eq!(drill["met"], true);
    let verdict = verify(&world, reports.to_str().unwrap(), 0);
    check(&verdict, "report.json", "ok");
    check(&verdict, "plan.json", "ok");
    // The same directory with the journal and plan copied in (as an evidence upload holds
    // them) verifies without the state.
    let run = world.run_dir();
    for file in ["journal.jsonl", "plan.json"] {
        std::fs::copy(run.join(file), reports.join(file)).unwrap();
    }
    std::fs::remove_dir_all(world.dir.path().join(".standin")).unwrap();
    let verdict = verify(&world, reports.to_str().unwrap(), 0);
    check(&verdict, "journal.jsonl", "ok");
    assert!(
        Path::new(&reports.join("report.md")).exists(),
        "{}",
        out.stdout
    );
}
