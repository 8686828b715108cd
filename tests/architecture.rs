//! The house as ARCHITECTURE.md draws it: every module uses only the layers below its own, so
//! there is no cycle between top-level modules; README's exit codes are the ones the code
//! decides; and every file and test the page names exists.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::repo;
use standin::error::Exit;

/// The layers of ARCHITECTURE.md's `layers` block: module → rank, top first.
fn layers() -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let block = doc
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```layers block in ARCHITECTURE.md");
    block
        .lines()
        .enumerate()
        .flat_map(|(rank, line)| line.split_whitespace().map(move |m| (m.to_owned(), rank)))
        .collect()
}

/// The Rust files under `dir`.
fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// `crate::X` uses of each top-level module of src/, outside comments and unit tests.
fn uses() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = repo().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap().display().to_string();
        let module = relative
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for used in line.split("crate::").skip(1) {
                let name: String = used
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    out.entry(module.clone())
                        .or_default()
                        .entry(name)
                        .or_insert_with(|| relative.clone());
                }
            }
        }
    }
    out
}

/// The engine sees steps only through their traits: it names no AWS service (no `aws`
/// module, no SDK), outside its unit tests.
#[test]
fn the_engine_names_no_aws_service() {
    let used = uses().remove("engine").unwrap_or_default();
    assert_eq!(used.get("aws"), None, "the engine uses crate::aws");
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let layers = layers();
    let mut wrong = Vec::new();
    for (module, used) in uses() {
        let Some(&rank) = layers.get(&module) else {
            wrong.push(format!("{module} is in no layer of ARCHITECTURE.md"));
            continue;
        };
        for (other, at) in used {
            match layers.get(&other) {
                Some(&below) if below > rank => {}
                Some(_) => wrong.push(format!(
                    "{at}: {module} uses {other}, which is not below it"
                )),
                None => wrong.push(format!("{at}: {module} uses {other}, in no layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The files of `src/engine` as ARCHITECTURE.md's `engine-layers` block ranks them (`mod` is
/// `mod.rs`): each uses only those below it, so there is no cycle inside the engine either.
#[test]
fn every_file_of_the_engine_uses_only_those_below_it() {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let block = doc
        .split("```engine-layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a ```engine-layers block in ARCHITECTURE.md");
    let rank: BTreeMap<&str, usize> = block
        .lines()
        .enumerate()
        .flat_map(|(rank, line)| line.split_whitespace().map(move |m| (m, rank)))
        .collect();
    let dir = repo().join("src/engine");
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        let file = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(&own) = rank.get(file.as_str()) else {
            wrong.push(format!("engine/{file}.rs is in no line of engine-layers"));
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let mut used = std::collections::BTreeSet::new();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            // A file names another as `super::X` (mod.rs's own items: `super::item`), and
            // mod.rs names its files as `self::X` or `X::`.
            for part in line.split("super::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                used.insert(if rank.contains_key(name.as_str()) && name != "mod" {
                    name
                } else {
                    "mod".to_owned()
                });
            }
            if file == "mod" {
                for name in rank.keys().filter(|n| **n != "mod") {
                    let named = line.match_indices(&format!("{name}::")).any(|(at, _)| {
                        !line[..at]
                            .chars()
                            .last()
                            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                            || line[..at].ends_with("self::")
                    });
                    if named {
                        used.insert((*name).to_owned());
                    }
                }
            }
        }
        for other in used.iter().filter(|o| **o != file) {
            if rank[other.as_str()] <= own {
                wrong.push(format!(
                    "engine/{file}.rs uses {other}, which is not below it"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Every call to AWS goes through `src/aws`: no other module names an SDK crate (it may use
/// the types `src/aws` re-exports).
#[test]
fn only_src_aws_names_the_aws_sdk() {
    let src = repo().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let wrong: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(src.join("aws")))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            ["aws_sdk_", "aws_config", "aws_smithy", "aws_types"]
                .iter()
                .any(|c| text.contains(c))
        })
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(wrong.is_empty(), "SDK named outside src/aws: {wrong:?}");
}

#[test]
fn readme_lists_exactly_the_exit_codes_the_code_decides() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let table = readme
        .split("### Exit codes")
        .nth(1)
        .expect("README has an exit code table");
    let rows: Vec<(u8, String)> = table
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split(" | ").collect();
            Some((
                cells.first()?.trim().parse().ok()?,
                cells.get(1)?.trim().to_owned(),
            ))
        })
        .collect();
    let decided: Vec<(u8, String)> = Exit::ALL
        .iter()
        .map(|e| (e.code(), e.meaning().to_owned()))
        .collect();
    assert_eq!(rows, decided);
    // `--help` shows them too.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains(&Exit::help()));
}

/// Cargo.toml's `rust-version` is at least what every locked dependency declares it needs:
/// cargo refuses an older compiler by it (instead of failing deep in a dependency), and
/// clippy's `incompatible_msrv` checks standin's own code against it.
#[test]
fn the_minimum_rust_version_covers_every_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--locked", "--format-version", "1"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = |v: &str| -> Vec<u64> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    let packages = metadata["packages"].as_array().unwrap();
    let ours = packages
        .iter()
        .find(|p| p["name"] == "standin")
        .and_then(|p| p["rust_version"].as_str())
        .expect("Cargo.toml sets rust-version");
    let needed: Vec<(Vec<u64>, &str)> = packages
        .iter()
        .filter_map(|p| Some((version(p["rust_version"].as_str()?), p["name"].as_str()?)))
        .filter(|(v, _)| *v > version(ours))
        .collect();
    assert!(
        needed.is_empty(),
        "rust-version {ours} is older than these dependencies need: {needed:?}"
    );
}

/// What ARCHITECTURE.md names is there, so the page cannot go stale unnoticed: every file (a
/// path with a `/`, from the repository or from src/; a bare `NAME.rs` under the directory of
/// the bullet it is in, such as the `engine/` one, or at the top of src/), and every test (a
/// backticked snake_case name of four words or more: some `fn NAME(` in src/ or tests/).
#[test]
fn every_file_and_test_architecture_md_names_exists() {
    let repo = repo();
    let src = repo.join("src");
    let doc = std::fs::read_to_string(repo.join("ARCHITECTURE.md")).unwrap();
    let mut code = Vec::new();
    walk(&src, &mut code);
    walk(&repo.join("tests"), &mut code);
    let code: Vec<String> = code
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let under = |dir: &Path, name: &str| {
        let mut files = Vec::new();
        walk(dir, &mut files);
        files
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n == name))
    };
    let mut missing = Vec::new();
    let mut scope: Option<std::path::PathBuf> = None;
    let mut fenced = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if line.starts_with('#') || line.starts_with("- ") {
            scope = line
                .strip_prefix("- **`")
                .and_then(|rest| rest.split_once("/`**"))
                .map(|(dir, _)| src.join(dir));
        }
        let path_chars = |c: char| c.is_ascii_alphanumeric() || "_/.-".contains(c);
        for token in line.split(|c: char| !path_chars(c)) {
            let token = token.trim_end_matches('.');
            let file = token.rsplit('/').next().unwrap_or_default();
            let named = [".rs", ".py", ".md"].iter().any(|e| file.ends_with(e));
            if !named || file.len() <= 3 {
                continue;
            }
            let found = if token.contains('/') {
                repo.join(token).is_file() || src.join(token).is_file()
            } else {
                src.join(token).is_file() || scope.as_ref().is_some_and(|dir| under(dir, token))
            };
            if !found {
                missing.push(format!("the file {token}"));
            }
        }
        for (i, part) in line.split('`').enumerate() {
            let test_like = i % 2 == 1
                && part.matches('_').count() >= 3
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if test_like && !code.iter().any(|c| c.contains(&format!("fn {part}("))) {
                missing.push(format!("the test {part}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what is not there: {missing:#?}"
    );
}
