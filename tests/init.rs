//! `standin init` against worlds it has never seen: the incident's, and one whose names use
//! other words (live/beta, prd/uat) with two applications. Read calls only; drafts that
//! validate and plan against the account they came from; no file written over.

use std::path::Path;

use crate::support::{Proxy, World};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn drafts_one_playbook_per_application_from_names_it_was_never_told() {
    let world = World::seeded("other");
    let proxy = Proxy::start(&world);
    let before = world.full_dump();
    let out = world
        .standin_env(
            &[("AWS_ENDPOINT_URL", &proxy.url)],
            &["init".into(), "--yes".into()],
        )
        .expect(0);
    // Reads only, and nothing in the account changed.
    let counts = proxy.counts(&world);
    let writes: Vec<&String> = counts
        .keys()
        .filter(|a| {
            // `service:Action`, or `route53 METHOD /path` for Route 53's REST API.
            let action = a.split(':').nth(1).unwrap_or(a);
            let read = ["Describe", "List", "Get"]
                .iter()
                .any(|p| action.starts_with(p));
            !read && !a.contains(" GET ")
        })
        .collect();
    assert!(writes.is_empty(), "init called {writes:?}");
    assert_eq!(world.full_dump(), before);

    let dir = world.dir.path().join("playbooks");
    let books = read(&dir.join("promote-books.yaml"));
    let maps = read(&dir.join("promote-maps.yaml"));
    assert!(
        out.stdout.contains("books-beta stands in for books-live"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("maps-uat stands in for maps-prd"),
        "{}",
        out.stdout
    );
    for expected in [
        "# yaml-language-server: $schema=playbook.schema.json",
        "from: /books/live/\n    to: /books/beta/",
        // The staging URL stays staging's.
        "except: [SITE_URL]",
        "set: {STAGE: production}",
        "environment: books-beta\n    from: books-live",
        "record: www.example.org",
        "to: books-beta.us-east-1.elasticbeanstalk.com",
        "App: books\n      Role: queue-worker\n      Stage: beta",
        "keys: [DB_HOST, QUEUE_URL]",
        "parameter: /books/beta/DB_HOST\n    equals: {parameter: /books/live/DB_HOST}",
        "url: \"https://www.example.org/\"",
    ] {
        assert!(books.contains(expected), "{expected:?} not in\n{books}");
    }
    for expected in [
        "from: /maps/prd/\n    to: /maps/uat/",
        "record: maps.example.org",
        "App: maps\n      Role: queue-worker\n      Stage: uat",
    ] {
        assert!(maps.contains(expected), "{expected:?} not in\n{maps}");
    }
    // No secret was read, so none can be written.
    for text in [&books, &maps, &out.all()] {
        assert!(!text.contains("secret-key"), "{text}");
    }
    // The schema they name is there, and each draft plans against the account it came from.
    assert!(read(&dir.join("playbook.schema.json")).contains("\"title\": \"standin playbook\""));
    for file in ["promote-books.yaml", "promote-maps.yaml"] {
        let path = dir.join(file);
        let plan = world.standin(&["plan", path.to_str().unwrap()]).expect(0);
        assert!(plan.stdout.contains("Plan: "), "{}", plan.stdout);
    }
}

#[test]
fn never_writes_over_a_file_unless_forced_and_names_one_pair_on_request() {
    let world = World::seeded("other");
    world.standin(&["init", "--yes"]).expect(0);
    let path = world.dir.path().join("playbooks/promote-books.yaml");
    std::fs::write(&path, "# mine\n").unwrap();
    let again = world.standin(&["init", "--yes"]).expect(2);
    assert!(again.stderr.contains("already exist"), "{}", again.stderr);
    assert!(
        again.stderr.contains("nothing was written"),
        "{}",
        again.stderr
    );
    assert_eq!(read(&path), "# mine\n");
    world.standin(&["init", "--yes", "--force"]).expect(0);
    assert!(read(&path).contains("kind: ssm.copy-parameters"));

    // One pair by name, into another directory.
    world
        .standin(&[
            "init",
            "--yes",
            "--prod",
            "maps-prd",
            "--staging",
            "maps-uat",
            "--dir",
            "one",
        ])
        .expect(0);
    let written: Vec<String> = std::fs::read_dir(world.dir.path().join("one"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written.len(), 2, "{written:?}");
    assert!(written.contains(&"promote-maps.yaml".to_owned()));
    // For machines: what was written, as JSON.
    let json = world
        .standin(&["--output", "json", "init", "--yes", "--dir", "json"])
        .expect(0);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let pairs: Vec<(&str, &str)> = doc["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["production"].as_str().unwrap(),
                w["staging"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [("books-live", "books-beta"), ("maps-prd", "maps-uat")]
    );
    let unknown = world
        .standin(&["init", "--yes", "--prod", "nope", "--staging", "maps-uat"])
        .expect(2);
    assert!(
        unknown.stderr.contains("no web environments named nope"),
        "{}",
        unknown.stderr
    );
    // Without a terminal to ask on, `--yes` is required, and nothing is written.
    let asked = world.standin(&["init", "--dir", "none"]).expect(4);
    assert!(asked.stderr.contains("--yes"), "{}", asked.stderr);
    assert!(!world.dir.path().join("none").exists());
}

#[test]
fn the_incident_world_gets_the_incident_steps() {
    let world = World::start();
    world.standin(&["init", "--yes"]).expect(0);
    let path = world.dir.path().join("playbooks/promote-shop.yaml");
    let text = read(&path);
    for expected in [
        "from: /shop/prod/\n    to: /shop/staging/\n    except: [APP_URL]  #",
        "set: {APP_ENV: production}",
        "record: app.example.com",
        "strategy: alb\n    load_balancer: shop-staging-alb\n    host: staging.example.com",
        "url: \"https://staging.example.com/\"\n    expect_status: 403",
        "Environment: staging\n      Role: queue-worker",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    // The routed (weighted) record is not taken for production's name: it is a part of
    // production the draft leaves behind, listed at its end with its cover.
    assert!(!text.contains("\n    record: api.example.com"), "{text}");
    assert!(
        text.contains("\n# dns:api.example.com:CNAME:blue: "),
        "{text}"
    );
    assert!(text.contains("\n#     record: api.example.com\n"), "{text}");
    world.standin(&["plan", path.to_str().unwrap()]).expect(0);
    World::assert_no_secrets(&text);
}

/// On a terminal, init asks about each pair; an answer of `n` skips it.
#[test]
fn on_a_terminal_each_pair_is_asked_about() {
    let world = World::seeded("other");
    let command = format!("{} init --dir asked", env!("CARGO_BIN_EXE_standin"));
    let out = world
        .program("script", &["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"n\ny\n")?;
            child.wait_with_output()
        })
        .expect("script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Draft a playbook where books-beta stands in for books-live? [Y/n]"),
        "{text}"
    );
    let dir = world.dir.path().join("asked");
    assert!(!dir.join("promote-books.yaml").exists(), "{text}");
    assert!(dir.join("promote-maps.yaml").exists(), "{text}");
}

/// A read refused mid-way: init names the call and the error, and writes nothing.
#[test]
fn a_refused_read_writes_nothing_and_says_which_call() {
    let world = World::seeded("other");
    let proxy = Proxy::start(&world);
    proxy.faults(
        &world,
        &serde_json::json!([{"action": "ssm:DescribeParameters", "fault": "deny"}]),
    );
    let out = world
        .standin_env(
            &[("AWS_ENDPOINT_URL", &proxy.url)],
            &["init".into(), "--yes".into()],
        )
        .expect(1);
    assert!(
        out.stderr
            .contains("cannot read the account: SSM.DescribeParameters")
            && out.stderr.contains("nothing was written"),
        "{}",
        out.stderr
    );
    assert!(!world.dir.path().join("playbooks").exists());
}

/// Two applications whose names differ only by punctuation get a draft each (never one over
/// the other), and one environment named as both sides is refused before anything is written.
#[test]
fn drafts_never_share_a_file_and_one_environment_is_not_a_pair() {
    let world = World::seeded("none");
    world.block_on(async {
        for app in ["my.app", "my-app"] {
            world
                .eb
                .create_application()
                .application_name(app)
                .send()
                .await
                .expect("application");
            for side in ["prod", "staging"] {
                world
                    .eb
                    .create_environment()
                    .application_name(app)
                    .environment_name(format!("{}-{side}", app.replace('.', "")))
                    .solution_stack_name("64bit Amazon Linux 2023 v4.3.0 running Python 3.11")
                    .send()
                    .await
                    .expect("environment");
            }
        }
    });
    let out = world
        .standin(&["--output", "json", "init", "--yes"])
        .expect(0);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let paths: Vec<&str> = doc["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{doc}");
    assert_ne!(paths[0], paths[1], "{doc}");
    for path in &paths {
        world.standin(&["validate", path]).expect(0);
    }

    let same = world
        .standin(&[
            "init",
            "--yes",
            "--prod",
            "myapp-prod",
            "--staging",
            "myapp-prod",
            "--dir",
            "same",
        ])
        .expect(2);
    assert!(
        same.stderr.contains("name one environment"),
        "{}",
        same.stderr
    );
    assert!(!world.dir.path().join("same").exists());
}

/// init runs the plan's coverage check on each draft: what it leaves behind is listed at its
/// end, as comments, the same parts `plan` names; uncommented, the covers leave nothing behind.
#[test]
fn a_draft_lists_what_it_leaves_behind_and_its_covers_cover_it() {
    let world = World::seeded("forgotten");
    let out = world
        .standin(&["--output", "json", "init", "--yes"])
        .expect(0);
    let written: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(written["written"][0]["uncovered"], 5, "{written}");
    let path = world.dir.path().join("playbooks/promote-shop.yaml");
    let text = read(&path);
    let listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| !l.starts_with(' ') && l.contains(": "))
        .filter_map(|l| l.split_once(": ").map(|(id, _)| id))
        .filter(|id| id.contains(':'))
        .collect();
    let plan = world
        .standin(&["--output", "json", "plan", path.to_str().unwrap()])
        .expect(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let named: Vec<&str> = plan["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, named, "{text}");
    for id in [
        "dns:shop.example.com:CNAME",
        "events:default/nightly-report",
        "schedule:default/hourly-sync",
    ] {
        assert!(named.contains(&id), "{id}: {named:?}");
    }
    assert!(
        named.iter().any(|id| id.starts_with("cloudfront:")),
        "{named:?}"
    );

    // Each cover uncommented under `steps:` (the last key): nothing is left behind.
    let covers: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .filter(|l| l.starts_with("- ") || l.starts_with("  "))
        .map(|l| format!("  {l}\n"))
        .collect();
    std::fs::write(&path, format!("{text}{covers}")).unwrap();
    let plan = world
        .standin(&["--output", "json", "plan", path.to_str().unwrap()])
        .expect(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["summary"]["uncovered"], 0, "{plan}");
}
