//! Evidence an auditor accepts: each journal line links to the one before (a hash chain),
//! the run keeps its plan document beside the journal, every report carries `evidence`, and
//! `standin verify-evidence` names the first line or file that does not match.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::{Out, World};

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The id of the one run in the world's local state.
fn only_run(world: &World) -> String {
    world
        .run_dir()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
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
    let id = only_run(&world);
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
    // What the journal names cannot just go missing: the plan, the report's evidence.
    let plan = std::fs::read(reports.join("plan.json")).unwrap();
    std::fs::remove_file(reports.join("plan.json")).unwrap();
    let verdict = verify(&world, reports.to_str().unwrap(), 9);
    assert!(check(&verdict, "plan.json", "failed").starts_with("missing"));
    std::fs::write(reports.join("plan.json"), plan).unwrap();
    let mut stripped = doc.clone();
    stripped.as_object_mut().unwrap().remove("evidence");
    std::fs::write(reports.join("report.json"), stripped.to_string()).unwrap();
    let verdict = verify(&world, reports.to_str().unwrap(), 9);
    check(&verdict, "report.json", "failed");
}

/// Every SecureString value the emulated account holds, decrypted.
fn secure_values(world: &World) -> Vec<String> {
    world.block_on(async {
        let mut values = Vec::new();
        let mut pages = world.ssm.describe_parameters().into_paginator().send();
        while let Some(page) = pages.next().await {
            for p in page.expect("describe").parameters() {
                if p.r#type() == Some(&aws_sdk_ssm::types::ParameterType::SecureString) {
                    let name = p.name().unwrap().to_owned();
                    let out = world
                        .ssm
                        .get_parameter()
                        .name(name)
                        .with_decryption(true)
                        .send()
                        .await
                        .expect("get");
                    values.push(out.parameter().unwrap().value().unwrap().to_owned());
                }
            }
        }
        values
    })
}

/// The objects under `prefix` of `bucket`: key to (body, lock mode, retain-until).
type Kept = std::collections::BTreeMap<String, (Vec<u8>, Option<String>, Option<i64>)>;

fn objects(world: &World, bucket: &str, prefix: &str) -> Kept {
    world.block_on(async {
        let s3 = world.s3();
        let listed = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("list");
        let mut kept = Kept::new();
        for o in listed.contents() {
            let key = o.key().unwrap().to_owned();
            let head = s3
                .head_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .expect("head");
            let body = s3
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .expect("get")
                .body
                .collect()
                .await
                .unwrap()
                .to_vec();
            kept.insert(
                key.rsplit('/').next().unwrap().to_owned(),
                (
                    body,
                    head.object_lock_mode().map(|m| m.as_str().to_owned()),
                    head.object_lock_retain_until_date().map(|d| d.secs()),
                ),
            );
        }
        kept
    })
}

const FILES: [&str; 6] = [
    "journal.jsonl",
    "junit.xml",
    "plan.json",
    "report.html",
    "report.json",
    "report.md",
];

#[test]
fn evidence_is_uploaded_retained_as_asked_and_holds_no_secret() {
    let world = World::start();
    world
        .block_on(
            world
                .s3()
                .create_bucket()
                .bucket("evidence-locked")
                .object_lock_enabled_for_bucket(true)
                .send(),
        )
        .expect("an Object Lock bucket");
    world.create_bucket("evidence-plain");
    let out = world
        .incident(&[
            "run",
            "--yes",
            "--evidence",
            "s3://evidence-locked/audit",
            "--retain",
            "400d",
            "--retain-mode",
            "compliance",
        ])
        .expect(0);
    assert!(
        out.stderr.contains("retained in COMPLIANCE mode until"),
        "{}",
        out.stderr
    );
    let id = only_run(&world);
    let kept = objects(&world, "evidence-locked", &format!("audit/{id}/"));
    assert_eq!(kept.keys().map(String::as_str).collect::<Vec<_>>(), FILES);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let secrets = secure_values(&world);
    assert!(!secrets.is_empty());
    let downloaded = world.dir.path().join("downloaded");
    std::fs::create_dir(&downloaded).unwrap();
    for (name, (body, mode, until)) in &kept {
        // Read back with HeadObject: the retention asked for.
        assert_eq!(mode.as_deref(), Some("COMPLIANCE"), "{name}");
        let until = until.expect("a retain-until date");
        assert!(
            (now + 399 * 86400..now + 401 * 86400).contains(&until),
            "{name}: {until}"
        );
        let text = String::from_utf8_lossy(body);
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{name} holds a secret");
        }
        std::fs::write(downloaded.join(name), body).unwrap();
    }
    // What was uploaded verifies on its own, as an auditor would check it.
    std::fs::remove_dir_all(world.dir.path().join(".standin")).unwrap();
    let verdict = verify(&world, downloaded.to_str().unwrap(), 0);
    check(&verdict, "journal.jsonl", "ok");
    check(&verdict, "report.json", "ok");
    check(&verdict, "plan.json", "ok");

    // A bucket without Object Lock still takes the upload, and says retention was not
    // applied; `report` uploads a past run again.
    let run = world.incident(&["run", "--yes"]).expect(0);
    let id = run
        .stdout
        .split("/runs/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let out = world
        .standin(&[
            "report",
            &id,
            "--dir",
            world.dir.path().join("r").to_str().unwrap(),
            "--evidence",
            "s3://evidence-plain/x",
            "--retain",
            "400d",
        ])
        .expect(0);
    assert!(
        out.stderr.contains("retention was not applied"),
        "{}",
        out.stderr
    );
    let plain = objects(&world, "evidence-plain", &format!("x/{id}/"));
    assert_eq!(plain.keys().map(String::as_str).collect::<Vec<_>>(), FILES);
    assert!(plain.values().all(|(_, mode, _)| mode.is_none()));

    // A failed upload is said and never fails the run.
    let out = world
        .standin(&[
            "rollback",
            &id,
            "--yes",
            "--evidence",
            "s3://no-such-bucket/x",
        ])
        .expect(0);
    assert!(
        out.stderr.contains("could not be uploaded"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_playbooks_evidence_block_uploads_each_drill_with_its_retention() {
    let world = World::start();
    world
        .block_on(
            world
                .s3()
                .create_bucket()
                .bucket("drills")
                .object_lock_enabled_for_bucket(true)
                .send(),
        )
        .expect("an Object Lock bucket");
    let pb = world.playbook(
        "kept.yaml",
        "version: 1\nname: kept\nevidence:\n  to: s3://drills/kept\n  retain: 2d\nsteps:\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/QUEUE_URL: https://sqs.example/kept\n",
    );
    world
        .standin(&["drill", "--yes", "--soak", "0s", &pb])
        .expect(0);
    let id = only_run(&world);
    let kept = objects(&world, "drills", &format!("kept/{id}/"));
    assert_eq!(kept.keys().map(String::as_str).collect::<Vec<_>>(), FILES);
    // No mode asked and no default on the bucket: governance, which can be lifted.
    assert!(kept
        .values()
        .all(|(_, mode, until)| mode.as_deref() == Some("GOVERNANCE") && until.is_some()));
}
