//! The docs made from the code (each kind's section of docs/playbook.md, docs/journal.md's
//! undo records, README's list of kinds) hold what this build makes.

use standin::playbook::docs::{splice, BLOCKS};

use crate::support::repo;

/// `STANDIN_BLESS=1` writes what the build makes instead of failing.
#[test]
fn the_generated_docs_are_current() {
    let bless = std::env::var("STANDIN_BLESS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for standin::playbook::docs::Block { file, name, make } in BLOCKS {
        let path = repo().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let made = splice(&text, name, &make())
            .unwrap_or_else(|| panic!("{file} lacks the markers of the generated block `{name}`"));
        if made == text {
            continue;
        }
        if bless {
            std::fs::write(&path, made).unwrap();
        } else {
            stale.push(format!("{file} ({name})"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale: {}; they are made from src/steps (each kind's DOC, fields' doc comments, undo records' SHAPES): run `STANDIN_BLESS=1 cargo test --locked --features crash-points --test integration docs::` and review the diff",
        stale.join(", ")
    );
}
