//! Property tests of the two readers of untrusted files: the playbook parser and the journal
//! reader. Mutated input (truncated, corrupted, reordered, from a future version) must never
//! panic, must be refused with a clear error that names the file and where in it, and must
//! call nothing.
//!
//! "Calls nothing" holds by construction: `playbook::load` and `state::read` take a path and
//! no AWS client, and nothing here builds a `steps::Ctx` (the only way a step or an undo can
//! reach AWS). What these tests exercise past the readers is plan-free too: IAM needs, the
//! run view, the status text, and decoding undo records (`KindDef::load_undo`).
//!
//! Deterministic: a small seeded PRNG drives every mutation, so a failure names its case and
//! reproduces. `STANDIN_PROPERTY_CASES=N` raises the number of random cases per test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::{cases, Rng};
use serde_json::{json, Value};
use standin::config::AwsSettings;
use standin::engine::journal::Fence;
use standin::engine::record::{FailedStep, Outcome, ReadError, Record, StepRef, FORMAT};
use standin::engine::source::Source;
use standin::engine::view::{RunView, StepState};
use standin::engine::{load_view, EngineError, Report};
use standin::iam::{self, Phase};
use standin::playbook::{self, Invalid, Playbook};
use standin::state;
use standin::steps::{self, Action, Change, Drift, ParamValue, Resource, Secretish, Value as Held};

// ---------------------------------------------------------------------------------------------
// Shared: temp files (the seeded PRNG and case counts are in support).

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An input shown in a failure message: escaped, and cut when long.
fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cut: String = text.chars().take(1500).collect();
    let more = if cut.len() < text.len() {
        " ...(cut)"
    } else {
        ""
    };
    format!("{cut:?}{more}")
}

// ---------------------------------------------------------------------------------------------
// Playbooks.

/// The real playbooks: the incident runbook and every example. All must load as they are.
fn seed_playbooks() -> Vec<(String, String)> {
    let mut files = vec![repo().join("playbooks/promote-staging.yaml")];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    examples.sort();
    files.extend(examples);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read a seed playbook");
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect()
}

/// Upper bounds for a position in `text`: lines counted with every YAML line break (libyaml
/// and yaml-rust2 differ on `\r`, NEL, LS, PS), columns on the longest `\n`-separated line.
fn position_bounds(text: &str) -> (usize, usize) {
    let breaks = text
        .chars()
        .filter(|c| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'))
        .count();
    let longest = text
        .split('\n')
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    (breaks + 1, longest + 1)
}

/// What one load came to, for tallies.
#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
}

/// Loads `bytes` as a playbook from `path` and checks the properties every outcome must have.
/// Returns, for the failure list, the case, what does not hold, and the input.
fn load_and_check(
    path: &Path,
    bytes: &[u8],
    vars: &[(String, String)],
    case: &str,
    tally: &mut Tally,
) -> Result<(), String> {
    std::fs::write(path, bytes).expect("write the mutated playbook");
    // The parse entry point takes a path and `--var` pairs: no client, so no AWS call.
    match playbook::load(path, vars) {
        Ok(pb) => {
            tally.valid += 1;
            check_valid(&pb, bytes).map_err(|e| format!("{case}: valid playbook: {e}"))
        }
        Err(invalid) => {
            tally.invalid += 1;
            check_invalid(&invalid, path, bytes)
                .map_err(|e| format!("{case}: {e}\n--- error\n{invalid}"))
        }
    }
    .map_err(|e| format!("{e}\n--- input\n{}", shown(bytes)))
}

/// A refused playbook: at least one problem, each with a message, a position inside the text,
/// rendered as `file:line:col: message`.
fn check_invalid(invalid: &Invalid, path: &Path, bytes: &[u8]) -> Result<(), String> {
    if invalid.file != path {
        return Err(format!("names file {:?}, not {path:?}", invalid.file));
    }
    if invalid.problems.is_empty() {
        return Err("an error with no problem in it".into());
    }
    let rendered = invalid.to_string();
    let (max_line, max_col) = match std::str::from_utf8(bytes) {
        Ok(text) => position_bounds(text),
        // Not UTF-8: the file cannot be read, so the one problem is at its start.
        Err(_) => (1, 1),
    };
    // Problems render in order: look for each after the previous one (linear, even for
    // thousands of problems).
    let mut rest = rendered.as_str();
    for p in &invalid.problems {
        if p.message.trim().is_empty() {
            return Err("a problem with an empty message".into());
        }
        if p.hint.as_deref().is_some_and(|h| h.trim().is_empty()) {
            return Err("an empty hint".into());
        }
        let (line, col) = (p.pos.line, p.pos.col);
        if line == 0 || col == 0 || line > max_line || col > max_col {
            return Err(format!(
                "position {line}:{col} outside the text (lines <= {max_line}, columns <= {max_col})"
            ));
        }
        let located = format!("{}:{line}:{col}: {}", path.display(), p.message);
        match rest.find(&located) {
            Some(at) => rest = &rest[at + located.len()..],
            None => return Err(format!("`{located}` not in the rendered error, in order")),
        }
    }
    if std::str::from_utf8(bytes).is_err()
        && !invalid.problems[0]
            .message
            .starts_with("cannot read the playbook")
    {
        return Err("a non-UTF-8 file that was not refused as unreadable".into());
    }
    Ok(())
}

/// A playbook that loaded: a well-formed structure, and every plan-free accessor works.
fn check_valid(pb: &Playbook, bytes: &[u8]) -> Result<(), String> {
    if pb.name.trim().is_empty() {
        return Err("empty name".into());
    }
    if pb.steps.is_empty() {
        return Err("no steps".into());
    }
    if pb.text.as_bytes() != bytes {
        return Err("`text` is not the file as read".into());
    }
    let mut ids = BTreeSet::new();
    for s in &pb.steps {
        let ok_id = !s.id.is_empty()
            && s.id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_id || !ids.insert(s.id.as_str()) {
            return Err(format!("bad or duplicate step id {:?}", s.id));
        }
        if steps::find_kind(s.kind.name).is_none() {
            return Err(format!("unregistered kind {:?}", s.kind.name));
        }
    }
    for g in &pb.guards {
        if format!("{g:?}").is_empty() || g.name.is_empty() {
            return Err("a guard without a name".into());
        }
    }
    // Plan-free: IAM needs and the plan's source fingerprint.
    let needs: Vec<(&str, iam::Needs)> = pb
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.step.needs()))
        .collect();
    for phase in [Phase::Plan, Phase::Run] {
        serde_json::to_string(&iam::policy(&needs, phase, |a| a.render("aws", None)))
            .map_err(|e| e.to_string())?;
    }
    let source = Source::of(pb);
    if source.sha256.len() != 64 {
        return Err("a fingerprint that is not a sha256".into());
    }
    Ok(())
}

/// Tokens that YAML, serde_yaml or the playbook's own checks treat specially.
const TOKENS: &[&str] = &[
    ":",
    ": ",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "?",
    "? ",
    "&a ",
    "*a",
    "*nope",
    "&a [1] ",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!!map ",
    "!custom ",
    "!<tag:x> ",
    "|",
    "|-\n",
    ">",
    ">+\n",
    "#",
    " # c",
    "'",
    "\"",
    "\"\\u0000\"",
    "\"\\x\"",
    "\t",
    "\n",
    "\n\n",
    "\r",
    "\r\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "${",
    "${vars.",
    "${vars.nope}",
    "${vars.app}",
    "$${",
    "${}",
    "${ vars. }",
    "<<: *a\n",
    "~",
    "null",
    "true",
    "yes",
    "-1",
    "0",
    "1e400",
    "99999999999999999999999",
    "-9223372036854775809",
    "0x7fffffffffffffff",
    "0o777",
    ".nan",
    ".inf",
    "-.inf",
    "1_000",
    "é",
    "\u{202e}",
    "\u{feff}",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "🦀",
    "\u{ffff}",
    "\u{10ffff}",
    "id: x\n",
    "kind: pause\n",
    "kind: confirm\n",
    "steps: []\n",
    "version: 2\n",
    "within: 99999999999999999999h\n",
    "timeout: -5m\n",
    "timeout: 1y\n",
    "ttl: 9223372036854775807\n",
    "expect_status: 70000\n",
    "matches: \"(\"\n",
    "matches: \"a{1000}{1000}{1000}\"\n",
    "values: {}\n",
    "- id: a\n    kind: pause\n",
];

/// Values that replace a scalar after `key: `.
const VALUES: &[&str] = &[
    "",
    "~",
    "null",
    "true",
    "0",
    "-1",
    "1",
    "2",
    "18446744073709551616",
    "1e400",
    "-0",
    "0.5",
    "\"\"",
    "\" \"",
    "[]",
    "{}",
    "[a, b]",
    "{a: b}",
    "!!binary aGk=",
    "*nope",
    "&x y",
    "|\n  x",
    "\"${vars.nope}\"",
    "${vars.app",
    "$${x}",
    "\"\\uD800\"",
    "é",
    "🦀",
    "\"a\u{0}b\"",
    "0s",
    "99999999999999999999h",
    "1y",
    "-5m",
    "1 fortnight",
    "600000000000s",
    "\"(\"",
    "\"[z-a]\"",
    "\"a{1000}{1000}{1000}\"",
    "\"\\\\p{Nope}\"",
    "/",
    "//",
    "/x/",
    "no/slash",
    "xn--",
    "*.example.com",
    "CNAME",
    "TXT",
    "SOA",
    "i-0",
    "http://",
    "://",
];

const INDENTS: &[&str] = &["", " ", "  ", "    ", "\t", " \t", "          "];

/// One random edit of `text` (line-, token- or byte-level). Returns the new bytes and a label.
fn mutate(rng: &mut Rng, text: &[u8]) -> (Vec<u8>, &'static str) {
    let mut out = text.to_vec();
    let lines =
        |b: &[u8]| -> Vec<Vec<u8>> { b.split(|c| *c == b'\n').map(<[u8]>::to_vec).collect() };
    let join = |ls: Vec<Vec<u8>>| -> Vec<u8> { ls.join(&b'\n') };
    // A char boundary near a random offset (so most edits keep the text UTF-8).
    let boundary = |rng: &mut Rng, b: &[u8]| -> usize {
        let mut at = rng.below(b.len() + 1);
        while at < b.len() && (b[at] & 0xc0) == 0x80 {
            at += 1;
        }
        at
    };
    let label = match rng.below(13) {
        0 => {
            let at = boundary(rng, &out);
            out.truncate(at);
            "truncate"
        }
        1 => {
            let mut ls = lines(&out);
            if !ls.is_empty() {
                ls.remove(rng.below(ls.len()));
            }
            out = join(ls);
            "delete a line"
        }
        2 => {
            let mut ls = lines(&out);
            let i = rng.below(ls.len());
            let copy = ls[i].clone();
            ls.insert(rng.below(ls.len() + 1), copy);
            out = join(ls);
            "duplicate a line"
        }
        3 => {
            let mut ls = lines(&out);
            let (i, j) = (rng.below(ls.len()), rng.below(ls.len()));
            ls.swap(i, j);
            out = join(ls);
            "swap two lines"
        }
        4 => {
            let mut ls = lines(&out);
            let i = rng.below(ls.len());
            let body: Vec<u8> = ls[i]
                .iter()
                .copied()
                .skip_while(|c| *c == b' ' || *c == b'\t')
                .collect();
            let mut line = rng.pick(INDENTS).as_bytes().to_vec();
            line.extend(body);
            ls[i] = line;
            out = join(ls);
            "re-indent a line"
        }
        5 | 6 => {
            let at = boundary(rng, &out);
            let token = rng.pick(TOKENS).as_bytes();
            out.splice(at..at, token.iter().copied());
            "insert a token"
        }
        7 => {
            // Replace the value of a random `key: value` line.
            let mut ls = lines(&out);
            let keyed: Vec<usize> = (0..ls.len())
                .filter(|i| ls[*i].windows(2).any(|w| w == b": "))
                .collect();
            if !keyed.is_empty() {
                let i = *rng.pick(&keyed);
                let colon = ls[i].windows(2).position(|w| w == b": ").unwrap();
                ls[i].truncate(colon + 2);
                ls[i].extend_from_slice(rng.pick(VALUES).as_bytes());
            }
            out = join(ls);
            "replace a value"
        }
        8 => {
            // Flip bytes: may leave the file not UTF-8.
            for _ in 0..=rng.below(3) {
                if !out.is_empty() {
                    let at = rng.below(out.len());
                    out[at] ^= 1 << rng.below(8);
                }
            }
            "flip bits"
        }
        9 => {
            if !out.is_empty() {
                let at = rng.below(out.len());
                out[at] = rng.next() as u8;
            }
            "random byte"
        }
        10 => {
            // Random unicode, from ASCII controls to astral planes (never a surrogate).
            let at = boundary(rng, &out);
            let mut s = String::new();
            for _ in 0..=rng.below(4) {
                let c = match rng.below(4) {
                    0 => char::from_u32(rng.below(0x80) as u32),
                    1 => char::from_u32(0x80 + rng.below(0x780) as u32),
                    2 => char::from_u32(0x800 + rng.below(0xf800) as u32),
                    _ => char::from_u32(0x10000 + rng.below(0x100000) as u32),
                };
                s.push(c.unwrap_or('\u{fffd}'));
            }
            out.splice(at..at, s.bytes());
            "insert unicode"
        }
        11 => {
            // Move a block of lines elsewhere.
            let mut ls = lines(&out);
            let start = rng.below(ls.len());
            let end = (start + 1 + rng.below(6)).min(ls.len());
            let block: Vec<Vec<u8>> = ls.drain(start..end).collect();
            let at = rng.below(ls.len() + 1);
            for (k, l) in block.into_iter().enumerate() {
                ls.insert(at + k, l);
            }
            out = join(ls);
            "move lines"
        }
        _ => {
            // Duplicate a random span (duplicated keys, repeated steps).
            if !out.is_empty() {
                let a = boundary(rng, &out);
                let b = boundary(rng, &out);
                let (a, b) = (a.min(b), a.max(b).min(a.min(b) + 400));
                let b = {
                    let mut b = b;
                    while b < out.len() && (out[b] & 0xc0) == 0x80 {
                        b += 1;
                    }
                    b
                };
                let span = out[a..b].to_vec();
                let at = boundary(rng, &out);
                out.splice(at..at, span);
            }
            "duplicate a span"
        }
    };
    (out, label)
}

fn fail_all(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} case(s) failed; the first:\n{}",
        failures.len(),
        failures[0]
    );
}

#[test]
fn seed_playbooks_load_and_pass_the_checks() {
    let dir = tempfile::tempdir().unwrap();
    let mut tally = Tally::default();
    for (name, text) in seed_playbooks() {
        let path = dir.path().join(&name);
        load_and_check(&path, text.as_bytes(), &[], &name, &mut tally).unwrap();
    }
    assert_eq!(tally.invalid, 0, "every shipped playbook is valid");
}

/// Cut the main playbook short: every 4th byte, and on both sides of every byte YAML or the
/// playbook's checks care about (line ends, `:`, `-`, brackets, quotes, `$`), about 1,600
/// cuts; every byte offset when `STANDIN_PROPERTY_CASES` is set.
#[test]
fn playbook_truncated_anywhere_is_refused_or_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("promote-staging.yaml");
    let text = std::fs::read(repo().join("playbooks/promote-staging.yaml")).unwrap();
    let every = std::env::var_os("STANDIN_PROPERTY_CASES").is_some();
    let near_structure = |at: usize| {
        (at.saturating_sub(2)..at.min(text.len())).any(|i| b"\n:-{[$\"".contains(&text[i]))
    };
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for at in (0..=text.len()).filter(|at| every || at % 4 == 0 || near_structure(*at)) {
        if let Err(e) = load_and_check(&path, &text[..at], &[], &format!("cut at {at}"), &mut tally)
        {
            failures.push(e);
        }
    }
    fail_all(&failures);
    // A cut after the last step's last line still loads; most cuts are refused.
    assert!(tally.valid >= 1 && tally.invalid > tally.valid, "{tally:?}");
}

/// Random edits of every shipped playbook, one to three at a time, with and without `--var`.
#[test]
fn playbook_mutations_never_panic_and_errors_point_into_the_file() {
    let seeds = seed_playbooks();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mutated.yaml");
    let mut rng = Rng::new(0x5eed_0001);
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let n = cases(1500);
    for case in 0..n {
        let (name, text) = rng.pick(&seeds);
        let mut bytes = text.as_bytes().to_vec();
        let mut labels = Vec::new();
        for _ in 0..=rng.below(3) {
            let (next, label) = mutate(&mut rng, &bytes);
            bytes = next;
            labels.push(label);
        }
        let vars: Vec<(String, String)> = match rng.below(6) {
            0 => vec![("domain".into(), "example.org".into())],
            1 => vec![("domian".into(), "x".into())],
            2 => vec![("edge".into(), "${vars.domain}".into())],
            _ => vec![],
        };
        let label = format!("case {case} ({name}: {}; vars {vars:?})", labels.join(", "));
        if let Err(e) = load_and_check(&path, &bytes, &vars, &label, &mut tally) {
            failures.push(e);
        }
    }
    fail_all(&failures);
    // The mutations must not be so gentle that nothing is refused, nor so rough that nothing
    // parses.
    assert!(tally.invalid > n / 4 && tally.valid > n / 20, "{tally:?}");
}

/// Hand-made hostile documents: nesting, alias bombs, huge numbers, odd keys, encodings.
#[test]
fn hostile_playbooks_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.yaml");
    let head = "version: 1\nname: t\n";
    let step = "steps:\n  - id: a\n    kind: pause\n    duration: 1s\n";
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |label: &str, text: String| inputs.push((label.to_owned(), text.into_bytes()));
    add("empty", String::new());
    add("only a comment", "# nothing\n".into());
    add("only spaces", "   \n\n  \n".into());
    add("a BOM", format!("\u{feff}{head}{step}"));
    add("a scalar", "hello".into());
    add("a list", "- a\n- b\n".into());
    add("null document", "~\n".into());
    add("tagged document", format!("!thing\n{head}{step}"));
    add("two documents", format!("{head}{step}---\n{head}{step}"));
    add("duplicate top key", format!("{head}name: u\n{step}"));
    add(
        "non-string top keys",
        format!("{head}1: x\n? [a, b]\n: c\nnull: d\n{step}"),
    );
    add(
        "non-string vars keys",
        format!("{head}vars:\n  1: x\n  [a]: b\n{step}"),
    );
    add(
        "non-string step keys",
        format!("{head}steps:\n  - id: a\n    kind: pause\n    duration: 1s\n    7: x\n"),
    );
    add(
        "huge version",
        format!("version: 18446744073709551616\nname: t\n{step}"),
    );
    add("float version", format!("version: 1.0\nname: t\n{step}"));
    add("version 1e400", format!("version: 1e400\nname: t\n{step}"));
    add("negative version", format!("version: -1\nname: t\n{step}"));
    add("huge ttl", format!("{head}steps:\n  - id: a\n    kind: route53.repoint\n    zone: example.com\n    record: a.example.com\n    to: x\n    ttl: 99999999999999999999999999\n"));
    add("huge timeout", format!("{head}steps:\n  - id: a\n    kind: pause\n    duration: 1s\n    timeout: 99999999999999999999999h\n"));
    add(
        "huge pause",
        format!("{head}steps:\n  - id: a\n    kind: pause\n    duration: 9999999999999999999s\n"),
    );
    add("huge regex", format!("{head}guards:\n  - parameter: /a/B\n    matches: \"a{{1000}}{{1000}}{{1000}}\"\n{step}"));
    add(
        "bad regex",
        format!("{head}guards:\n  - parameter: /a/B\n    matches: \"(\"\n{step}"),
    );
    add(
        "unknown alias",
        format!("{head}{step}    description: *nope\n"),
    );
    add(
        "merge key",
        format!("{head}base: &b {{kind: pause, duration: 1s}}\nsteps:\n  - <<: *b\n    id: a\n"),
    );
    add("self-referencing anchor", format!("{head}steps: &s [*s]\n"));
    add(
        "long string",
        format!("{head}description: \"{}\"\n{step}", "x".repeat(200_000)),
    );
    add(
        "long key",
        format!("{head}{}: 1\n{step}", "k".repeat(50_000)),
    );
    add(
        "many steps",
        format!(
            "{head}steps:\n{}",
            "  - {id: a, kind: pause, duration: 1s}\n".repeat(2_000)
        ),
    );
    add("CR line ends", format!("{head}{step}").replace('\n', "\r"));
    add(
        "CRLF line ends",
        format!("{head}{step}").replace('\n', "\r\n"),
    );
    add(
        "NEL line ends",
        format!("{head}{step}").replace('\n', "\u{85}"),
    );
    add(
        "tabs for indent",
        format!("{head}steps:\n\t- id: a\n\t  kind: pause\n"),
    );
    add("NUL byte", format!("{head}\0{step}"));
    add(
        "RTL override in id",
        format!("{head}steps:\n  - id: \"a\u{202e}b\"\n    kind: pause\n    duration: 1s\n"),
    );
    add("vars reference loops", format!("{head}vars:\n  a: ${{vars.b}}\n  b: ${{vars.a}}\nsteps:\n  - id: a\n    kind: pause\n    duration: ${{vars.a}}\n"));
    add(
        "unclosed reference",
        format!("{head}steps:\n  - id: a\n    kind: pause\n    duration: ${{vars.\n"),
    );
    // Nesting, flow and block, well past serde_yaml's recursion limit.
    for depth in [10, 127, 128, 129, 1_000, 5_000] {
        add(
            &format!("flow nesting {depth}"),
            format!("{head}steps: {}{}\n", "[".repeat(depth), "]".repeat(depth)),
        );
        add(
            &format!("map nesting {depth}"),
            format!(
                "{head}vars: {}x{}\n{step}",
                "{a: ".repeat(depth),
                "}".repeat(depth)
            ),
        );
        add(
            &format!("block nesting {depth}"),
            format!("{head}steps:\n{}x\n", "- ".repeat(depth)),
        );
    }
    // Billion laughs: each level doubles ten times; expanded, level 9 is 10^9 strings.
    let mut bomb = format!("{head}{step}vars:\n  l0: &l0 \"lol\"\n");
    for level in 1..10 {
        let refs = vec![format!("*l{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("  l{level}: &l{level} [{refs}]\n"));
    }
    add("billion laughs in vars", bomb.clone());
    add(
        "billion laughs in a step",
        format!("{bomb}guards:\n  - parameter: /a/B\n    equals: *l9\n"),
    );
    inputs.push(("not UTF-8".into(), b"version: 1\nname: \xff\xfe\n".to_vec()));
    inputs.push((
        "UTF-16".into(),
        "version: 1\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect(),
    ));

    // What must come of each input: it loads (`None`), or is refused saying this.
    let expected: &[(&str, Option<&str>)] = &[
        ("empty", Some("a playbook is a YAML mapping")),
        ("only a comment", Some("a playbook is a YAML mapping")),
        ("only spaces", Some("a playbook is a YAML mapping")),
        ("a BOM", None),
        ("a scalar", Some("a playbook is a YAML mapping")),
        ("a list", Some("a playbook is a YAML mapping")),
        ("null document", Some("a playbook is a YAML mapping")),
        ("tagged document", Some("a playbook is a YAML mapping")),
        ("two documents", Some("more than one document")),
        (
            "duplicate top key",
            Some("duplicate entry with key \"name\""),
        ),
        ("non-string top keys", Some("unknown field `1`")),
        (
            "non-string vars keys",
            Some("variable names are text, found `1`"),
        ),
        ("non-string step keys", Some("unknown field `7`")),
        (
            "huge version",
            Some("`version` 18446744073709551616 is too large"),
        ),
        ("float version", Some("unsupported playbook version 1.0")),
        ("version 1e400", Some("unsupported playbook version 1e400")),
        ("negative version", Some("unsupported playbook version -1")),
        (
            "huge ttl",
            Some("`ttl` 99999999999999999999999999 is too large"),
        ),
        ("huge timeout", Some("invalid timeout")),
        (
            "huge pause",
            Some("is longer than the 24 hours a step may take or wait"),
        ),
        ("huge regex", Some("exceeds size limit")),
        ("bad regex", Some("unclosed group")),
        ("unknown alias", Some("unknown anchor")),
        ("merge key", Some("unknown field `base`")),
        ("self-referencing anchor", Some("recursion limit exceeded")),
        ("long string", None),
        ("long key", Some("invalid YAML")),
        ("many steps", Some("duplicate step id `a`")),
        // YAML and editors agree on CR and CRLF; not on NEL, which could hide a line.
        ("CR line ends", None),
        ("CRLF line ends", None),
        (
            "NEL line ends",
            Some("U+0085 breaks lines for some YAML readers and not for editors"),
        ),
        ("tabs for indent", Some("cannot start any token")),
        ("NUL byte", Some("control characters are not allowed")),
        ("RTL override in id", Some("invalid step id")),
        ("vars reference loops", Some("invalid duration `${vars.b}`")),
        ("unclosed reference", Some("unclosed `${`")),
        ("flow nesting 10", Some("a step is a mapping")),
        ("map nesting 10", Some("variable `a` must be a string")),
        ("block nesting 10", Some("a step is a mapping")),
        ("billion laughs in vars", Some("repetition limit exceeded")),
        (
            "billion laughs in a step",
            Some("repetition limit exceeded"),
        ),
        ("not UTF-8", Some("not UTF-8 text")),
        ("UTF-16", Some("control characters are not allowed")),
    ];
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for (label, bytes) in &inputs {
        let t0 = std::time::Instant::now();
        if let Err(e) = load_and_check(&path, bytes, &[], label, &mut tally) {
            failures.push(e);
        }
        let want = if label.contains("nesting") && !label.ends_with(" 10") {
            Some(Some("nested more than 64 levels deep"))
        } else {
            expected.iter().find(|(l, _)| l == label).map(|(_, w)| *w)
        };
        std::fs::write(&path, bytes).unwrap();
        match (want, playbook::load(&path, &[])) {
            (None, _) => failures.push(format!("{label}: no expected outcome")),
            (Some(None), Ok(_)) => {}
            (Some(Some(says)), Err(e)) if e.to_string().contains(says) => {}
            (Some(want), got) => failures.push(format!(
                "{label}: expected {want:?}, got {}",
                got.map_or_else(
                    |e| e.to_string(),
                    |pb| format!("a valid playbook of {} steps", pb.steps.len())
                )
            )),
        }
        let took = t0.elapsed();
        assert!(
            took < std::time::Duration::from_secs(10),
            "{label}: took {took:?}"
        );
    }
    fail_all(&failures);
}

/// Loads `text` from a temp file and returns the rendered error (or "valid").
fn load_text(text: &str) -> (PathBuf, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pb.yaml");
    std::fs::write(&path, text).unwrap();
    let shown = match playbook::load(&path, &[]) {
        Ok(_) => "valid".to_owned(),
        Err(e) => e.to_string(),
    };
    (path, shown, dir)
}

/// A playbook saved with a UTF-8 byte order mark (as some Windows editors write), its first
/// line a key, loads (it was refused as "containing more than one document"). Columns on the
/// first line count from after the mark, as editors show them.
#[test]
fn playbook_with_a_bom_loads() {
    let text =
        "\u{feff}version: 1\nname: t\nsteps:\n  - id: a\n    kind: pause\n    duration: 1s\n";
    let (_, shown, _dir) = load_text(text);
    assert_eq!(shown, "valid", "a BOM should be skipped (or named)");
    let (path, shown, _dir) = load_text(&text.replace("version: 1", "version: 2"));
    assert!(
        shown.starts_with(&format!(
            "{}:1:1: unsupported playbook version 2",
            path.display()
        )),
        "{shown}"
    );
}

/// A top-level key that is not a string is named and located like any unknown field (it was
/// "unknown field ``" at 1:1).
#[test]
fn non_string_top_level_key_is_named_where_it_is() {
    let (path, shown, _dir) = load_text(
        "version: 1\nname: t\n7: x\nsteps:\n  - id: a\n    kind: pause\n    duration: 1s\n",
    );
    assert!(!shown.contains("``"), "empty field name: {shown}");
    assert!(
        shown.starts_with(&format!("{}:3:1: unknown field `7`", path.display())),
        "should point at line 3: {shown}"
    );
    assert!(
        shown.contains("hint: top-level fields are `version`"),
        "{shown}"
    );
}

/// Field errors say what is wrong and what is expected, at the field, without serde's and
/// serde_yaml's internal type names (which used to reach the operator). Each case: the
/// playbook, and the `line:col: message` it must be refused with.
#[test]
fn field_errors_are_in_plain_words_at_the_field() {
    let head = "version: 1\nname: t\nsteps:\n  - id: a\n";
    let repoint = "    kind: route53.repoint\n    zone: example.com\n    record: a.example.com\n    to: b.example.com\n";
    let cases = [
        // route53.repoint with an empty `type:`
        (
            format!("{head}{repoint}    type:\n"),
            "9:5: `type` is empty; expected one of `A`, `AAAA`, `CNAME`",
        ),
        // workers.restart with an empty tag value
        (
            format!(
                "{head}    kind: workers.restart\n    command: systemctl restart w\n    targets:\n      Role:\n"
            ),
            "8:7: `targets.Role` is empty; expected text or a list",
        ),
        // a number too big for any integer
        (
            format!("{head}{repoint}    ttl: 99999999999999999999999999\n"),
            "9:10: `ttl` 99999999999999999999999999 is too large",
        ),
        // a number too big for this field
        (
            format!("{head}{repoint}    ttl: 9999999999999999999\n"),
            "9:5: `ttl` 9999999999999999999 is too large: at most 9223372036854775807",
        ),
        // a non-string key among a step's fields
        (
            format!("{head}    kind: pause\n    duration: 1s\n    7: x\n"),
            "7:5: unknown field `7`, expected `duration`",
        ),
        // ... and among a nested field's
        (
            format!("{head}{repoint}    alias: {{7: x}}\n"),
            "9:13: unknown field `7`",
        ),
    ];
    let jargon = [
        "Value::Tagged",
        "untagged enum",
        "u128",
        "field identifier",
        "any YAML value",
        "unit value",
        "check indentation",
    ];
    let mut bad = Vec::new();
    for (text, expected) in &cases {
        let (path, shown, _dir) = load_text(text);
        if jargon.iter().any(|j| shown.contains(j))
            || !shown.starts_with(&format!("{}:{expected}", path.display()))
        {
            bad.push(format!("expected {expected}, got\n{shown}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
}

/// An error at the end of a file with no final newline points at the end of its last line
/// (libyaml puts it on the line after, which does not exist).
#[test]
fn error_at_the_end_of_the_file_points_into_its_last_line() {
    let (path, shown, _dir) = load_text("version: 1\nname");
    assert!(
        shown.starts_with(&format!("{}:2:5:", path.display())),
        "the file has two lines: {shown}"
    );
}

/// A NUL byte is located at its line and column (it was at 1:1, "at position 19").
#[test]
fn control_character_is_located() {
    let (path, shown, _dir) = load_text("version: 1\nname: t\n\0steps:\n");
    assert!(
        shown.starts_with(&format!(
            "{}:3:1: invalid YAML: control characters are not allowed\n",
            path.display()
        )),
        "{shown}"
    );
}

/// A variable given a list or mapping is shown cut to one short line (it was shown whole, in
/// the message and again in a hint saying to quote it).
#[test]
fn long_values_are_cut_in_messages() {
    let items: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    let (path, shown, _dir) = load_text(&format!(
        "version: 1\nname: t\nvars:\n  a: {{b: [{}]}}\nsteps:\n  - id: a\n    kind: pause\n    duration: 1s\n",
        items.join(", ")
    ));
    assert!(
        shown.starts_with(&format!(
            "{}:4:3: variable `a` must be a string, found `{{b: [0, 1, 2,",
            path.display()
        )),
        "{shown}"
    );
    assert!(shown.len() < 300 && !shown.contains("quote it"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// Journals.

const T: &str = "2026-11-25T11:14:00.000Z";

/// The records of a realistic run (shaped like promote-staging's): a step applied, the run
/// stopped and resumed, a step that failed, and a rollback with one undo refused. Undo records
/// have the real shapes (checked against each kind's `load_undo`), and some text is not ASCII,
/// as error messages and playbook names may be.
fn sample_records() -> Vec<Record> {
    let step = |id: &str, kind: &str| StepRef {
        id: id.into(),
        kind: kind.into(),
        group: None,
        account: None,
    };
    let param = |held, ptype: &str| {
        Held::Parameter(ParamValue {
            held,
            ptype: ptype.into(),
            attrs: Default::default(),
            given: None,
        })
    };
    let change = |action, resource: Resource, before: Option<Held>, after: Option<Held>| Change {
        action,
        resource,
        before,
        after,
    };
    let copy_undo = |written: Option<i64>| {
        json!({"params": [
            {"name": "/shop/staging/DB_HOST",
             "before": {"version": 3, "type": "String", "value": "staging-db.internal"},
             "written": written},
            {"name": "/shop/staging/DB_PASSWORD",
             "before": {"version": 7, "type": "SecureString"},
             "written": written.map(|v| v + 4)},
        ]})
    };
    let put_undo = |written: Option<i64>| json!({"params": [{"name": "/shop/staging/RUN_MIGRATIONS", "before": null, "written": written}]});
    let env_undo = json!({
        "environment": "shop-staging",
        "before": {"APP_ENV": "staging"},
        "after": {"APP_ENV": "production"},
    });
    let restart_undo = json!({"note": "the app servers of shop-staging were restarted"});
    let confirm_undo = json!({"note": "a confirmation changes nothing"});
    vec![
        Record::Start {
            format: FORMAT,
            run_id: "20261125T111400Z-3f2a".into(),
            playbook: "promote-staging — prod→staging".into(),
            file: "playbooks/promote-staging.yaml".into(),
            aws: AwsSettings {
                region: Some("us-east-1".into()),
                ..AwsSettings::default()
            },
            accounts: [(
                "network".to_owned(),
                AwsSettings {
                    role_arn: Some("arn:aws:iam::111111111111:role/dns".into()),
                    external_id: Some("standin".into()),
                    ..AwsSettings::default()
                },
            )]
            .into_iter()
            .collect(),
            plan_sha256: Some("ef".repeat(32)),
            source: Some(Source {
                sha256: "ab".repeat(32),
                vars: ["edge".to_owned()].into_iter().collect(),
                accounts: Some("cd".repeat(32)),
                values: Some(format!("{}:{}", "ef".repeat(16), "01".repeat(32))),
            }),
            steps: vec![
                step("go-ahead", "confirm"),
                step("prod-env-to-staging", "ssm.copy-parameters"),
                step("no-migrations", "ssm.put-parameters"),
                step("staging-runs-as-production", "eb.set-env"),
                step("restart-staging", "eb.restart"),
                StepRef {
                    account: Some("network".into()),
                    ..step("repoint-app", "route53.repoint")
                },
            ],
            drill: None,
            by: None,
            principals: vec![standin::engine::record::Principal {
                account: Some("network".into()),
                arn: "arn:aws:sts::111111111111:assumed-role/dns/standin".into(),
            }],
            warnings: vec![],
            at: T.into(),
        },
        Record::Intent {
            step: "go-ahead".into(),
            undo: confirm_undo.clone(),
            changes: vec![change(Action::Check, Resource::Confirm, None, Some(Held::note("yes")))],
            at: T.into(),
        },
        Record::Applied {
            step: "go-ahead".into(),
            undo: confirm_undo,
            secs: 3.25,
            took: None,
            at: T.into(),
        },
        Record::Intent {
            step: "prod-env-to-staging".into(),
            undo: copy_undo(None),
            changes: vec![
                change(
                    Action::Modify,
                    Resource::parameter("/shop/staging/DB_HOST"),
                    Some(param(Secretish::plain("staging-db.internal", 3), "String")),
                    Some(param(Secretish::plain("prod-db.internal", 4), "String")),
                ),
                change(
                    Action::Modify,
                    Resource::parameter("/shop/staging/DB_PASSWORD"),
                    Some(param(Secretish::secret(7, &["a"]), "SecureString")),
                    Some(param(Secretish::secret(8, &["b"]), "SecureString")),
                ),
            ],
            at: T.into(),
        },
        Record::Applied {
            step: "prod-env-to-staging".into(),
            undo: copy_undo(Some(4)),
            secs: 0.42,
            took: None,
            at: T.into(),
        },
        Record::Finished {
            outcome: Outcome::Stopped,
            failed: None,
            at: T.into(),
        },
        Record::Resumed { at: T.into() },
        Record::Intent {
            step: "no-migrations".into(),
            undo: put_undo(None),
            changes: vec![change(
                Action::Add,
                Resource::parameter("/shop/staging/RUN_MIGRATIONS"),
                None,
                Some(param(Secretish::plain("false", 1), "String")),
            )],
            at: T.into(),
        },
        Record::Applied {
            step: "no-migrations".into(),
            undo: put_undo(Some(1)),
            secs: 0.1,
            took: None,
            at: T.into(),
        },
        Record::Intent {
            step: "staging-runs-as-production".into(),
            undo: env_undo.clone(),
            changes: vec![change(
                Action::Modify,
                Resource::property("shop-staging", "APP_ENV"),
                Some(Held::text("staging")),
                Some(Held::text("production")),
            )],
            at: T.into(),
        },
        Record::Applied {
            step: "staging-runs-as-production".into(),
            undo: env_undo,
            secs: 61.5,
            took: None,
            at: T.into(),
        },
        Record::Intent {
            step: "restart-staging".into(),
            undo: restart_undo.clone(),
            changes: vec![change(
                Action::Run,
                Resource::Environment { name: "shop-staging".into() },
                Some(Held::note("Ready, Green")),
                Some(Held::note("restart app servers")),
            )],
            at: T.into(),
        },
        Record::Failed {
            step: "restart-staging".into(),
            undo: Some(restart_undo),
            error: "shop-staging: état « Updating » — l’environnement n’est pas prêt".into(),
            took: None,
            at: T.into(),
        },
        Record::RollbackStarted {
            reason: "step `restart-staging` failed: état « Updating »".into(),
            failed: Some(FailedStep {
                step: "restart-staging".into(),
                error: "état « Updating »".into(),
            }),
            at: T.into(),
        },
        Record::Undone {
            step: "restart-staging".into(),
            restored: vec!["nothing to undo: the app servers of shop-staging were restarted".into()],
            at: T.into(),
        },
        Record::Undone {
            step: "staging-runs-as-production".into(),
            restored: vec!["environment shop-staging APP_ENV: restored “staging”".into()],
            at: T.into(),
        },
        Record::UndoFailed {
            step: "no-migrations".into(),
            error: "changed since the run, not overwritten: /shop/staging/RUN_MIGRATIONS holds version 2 (standin wrote version 1)".into(),
            by_hand: Vec::new(),
            drift: vec![Drift {
                resource: "/shop/staging/RUN_MIGRATIONS".into(),
                expected: "version 1".into(),
                found: "version 2".into(),
            }],
            at: T.into(),
        },
        Record::Undone {
            step: "prod-env-to-staging".into(),
            restored: vec!["/shop/staging/DB_HOST: restored version 3 (as new version 5)".into()],
            at: T.into(),
        },
        Record::Undone {
            step: "go-ahead".into(),
            restored: vec!["nothing to undo: a confirmation changes nothing".into()],
            at: T.into(),
        },
        Record::Finished {
            outcome: Outcome::RollbackIncomplete,
            failed: None,
            at: T.into(),
        },
    ]
}

/// The sample journal's bytes, written through the library's own `Journal` (fsynced appends).
fn sample_journal(dir: &Path) -> Vec<u8> {
    let run = dir.join("runs").join("20261125T111400Z-3f2a");
    let mut journal = state::create_journal_file(&run, Fence::default()).expect("create a journal");
    for record in sample_records() {
        journal.append(&record).expect("append");
    }
    std::fs::read(journal.location()).unwrap()
}

/// A reference fold, independent of `RunView`: a step's state is that of its last record.
fn expected_states(records: &[Record]) -> Vec<(String, StepState)> {
    let Some(Record::Start { steps, .. }) = records.first() else {
        return Vec::new();
    };
    steps
        .iter()
        .map(|s| {
            let state = records
                .iter()
                .rev()
                .find_map(|r| match r {
                    Record::Intent { step, .. } if *step == s.id => Some(
                        if steps::find_kind(&s.kind).is_some_and(|k| k.changes_nothing) {
                            StepState::StoppedWaiting
                        } else {
                            StepState::InDoubt
                        },
                    ),
                    Record::Applied { step, .. } if *step == s.id => Some(StepState::Applied),
                    Record::Unchanged { step, .. } if *step == s.id => Some(StepState::Unchanged),
                    Record::Failed { step, .. } if *step == s.id => Some(StepState::Failed),
                    Record::Undone { step, .. } if *step == s.id => Some(StepState::Undone),
                    Record::UndoFailed { step, .. } if *step == s.id => Some(StepState::UndoFailed),
                    _ => None,
                })
                .unwrap_or(StepState::NotStarted);
            (s.id.clone(), state)
        })
        .collect()
}

/// What `read` must say about `bytes`, computed independently: the complete lines (up to the
/// last newline, whether or not what follows is UTF-8), their 1-based numbers, skipping blank
/// ones.
fn complete_lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let end = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |end| end + 1);
    bytes[..end]
        .split_inclusive(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\n").unwrap_or(l)))
        .map(|(i, l)| (i, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !std::str::from_utf8(l).is_ok_and(|l| l.trim().is_empty()))
        .collect()
}

/// Whether a line is a record the reader must take: it parses, and says nothing a playbook
/// could not have (ids, accounts and their settings: `Record::problem`).
fn good_record(line: &[u8]) -> bool {
    serde_json::from_slice::<Record>(line).is_ok_and(|r| r.problem().is_none())
}

/// Writes `bytes` as a journal, reads it back, and checks the properties every outcome must
/// have. On success, folds the records and exercises everything that reads a view.
fn read_and_check(path: &Path, bytes: &[u8]) -> Result<Result<Vec<Record>, ReadError>, String> {
    std::fs::write(path, bytes).expect("write the mutated journal");
    // The reader takes a path: no client, so no AWS call.
    let result = state::read(path);
    let shown_path = path.display().to_string();
    match &result {
        Err(e) => {
            let message = e.to_string();
            if !message.contains(&shown_path) {
                return Err(format!("error does not name the file: {message}"));
            }
            match e {
                // The file was just written: whatever its bytes, it can be read.
                ReadError::Io { .. } => {
                    return Err(format!("I/O error on a readable file: {message}"));
                }
                ReadError::Corrupt {
                    line, message: m, ..
                } => {
                    let lines = complete_lines(bytes);
                    let Some(pos) = lines.iter().position(|(n, _)| n == line) else {
                        return Err(format!("line {line} is not a complete line: {message}"));
                    };
                    if good_record(lines[pos].1) {
                        return Err(format!("line {line} is a good record: {message}"));
                    }
                    if let Some((n, _)) = lines[..pos].iter().find(|(_, l)| !good_record(l)) {
                        return Err(format!("line {n} is bad too, and earlier: {message}"));
                    }
                    if m.trim().is_empty()
                        || !message
                            .starts_with(&format!("{shown_path}:{line}: not a journal record: "))
                    {
                        return Err(format!("unclear: {message}"));
                    }
                }
                ReadError::Future { found, .. } => {
                    let expected = format!(
                        "{shown_path}: journal format {found} is newer than this standin reads ({FORMAT}); use a newer standin"
                    );
                    let newer = found.parse::<f64>().is_ok_and(|f| f > f64::from(FORMAT));
                    if !newer || message != expected {
                        return Err(format!("future error: {message}"));
                    }
                }
                ReadError::Empty { .. } => {
                    if !complete_lines(bytes).is_empty() {
                        return Err(format!("`empty` with complete lines: {message}"));
                    }
                }
            }
        }
        Ok(records) => {
            if records.is_empty() {
                return Err("Ok with no record".into());
            }
            // Exactly the complete, non-blank lines, each read as what it says, in order.
            let lines = complete_lines(bytes);
            if lines.len() != records.len() {
                return Err(format!(
                    "{} records read from {} complete lines",
                    records.len(),
                    lines.len()
                ));
            }
            for ((n, line), record) in lines.iter().zip(records) {
                let parsed: Record = serde_json::from_slice(line)
                    .map_err(|e| format!("line {n} read although it is no record: {e}"))?;
                if serde_json::to_value(&parsed).ok() != serde_json::to_value(record).ok() {
                    return Err(format!("line {n} was read as another record"));
                }
            }
            for r in records {
                if let Record::Start { format, .. } = r {
                    if *format > FORMAT {
                        return Err(format!("a start record of format {format} was read"));
                    }
                }
            }
            check_view(path, records)?;
        }
    }
    Ok(result)
}

/// Folding records never panics; the view agrees with the reference fold; the status text,
/// the JSON status and the rollback stack (undo records decoded, nothing run) all work.
fn check_view(path: &Path, records: &[Record]) -> Result<(), String> {
    let view = RunView::from_records(records);
    let starts = matches!(records.first(), Some(Record::Start { .. }));
    if view.is_some() != starts {
        return Err(format!(
            "a view iff the first record is a start record ({starts})"
        ));
    }
    match load_view(&mut state::open_journal_file(path, Fence::default())) {
        Ok(_) if !starts => return Err("load_view accepted a journal without a start".into()),
        Err(EngineError::Read(ReadError::Corrupt { line: 1, .. })) if !starts => {}
        Err(e) if starts => return Err(format!("load_view refused what read accepted: {e}")),
        Err(e) if !e.to_string().contains(&path.display().to_string()) => {
            return Err(format!("load_view's error does not name the file: {e}"));
        }
        _ => {}
    }
    let Some(view) = view else { return Ok(()) };
    let got: Vec<(String, StepState)> =
        view.steps.iter().map(|s| (s.id.clone(), s.state)).collect();
    if got != expected_states(records) {
        return Err(format!("states {got:?} differ from the reference fold"));
    }
    let status = standin::report::human_status(&view, "");
    if status.is_empty() {
        return Err("empty status".into());
    }
    serde_json::to_string(&view).map_err(|e| e.to_string())?;
    let _ = view.resumable();
    for s in view.rollback_stack() {
        if let Some(kind) = steps::find_kind(&s.kind) {
            // Decoding only: `Undo::undo` needs a Ctx, which this test never builds.
            let _ = (kind.load_undo)(s.undo.clone().unwrap_or_default());
        }
    }
    Ok(())
}

#[test]
fn sample_journal_reads_back_and_folds_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_journal(dir.path());
    let path = dir.path().join("j.jsonl");
    let records = read_and_check(&path, &bytes)
        .unwrap()
        .expect("the sample reads");
    assert_eq!(records.len(), sample_records().len());
    let view = RunView::from_records(&records).unwrap();
    let states: Vec<StepState> = view.steps.iter().map(|s| s.state).collect();
    use StepState::*;
    assert_eq!(
        states,
        [Undone, Undone, UndoFailed, Undone, Undone, NotStarted]
    );
    assert_eq!(view.outcome, Some(Outcome::RollbackIncomplete));
    assert_eq!(view.resumed.len(), 1);
    assert!(!view.resumable());
    // The end of the run as the run printed it, from the fold alone: the step that failed,
    // what was undone in order, and the leftover with its drift.
    let report = Report::of(&view, 1.5, None);
    assert_eq!(
        report.failed_step.map(|f| f.step),
        Some("restart-staging".to_owned())
    );
    assert_eq!(
        report.undone,
        [
            "restart-staging",
            "staging-runs-as-production",
            "prod-env-to-staging",
            "go-ahead"
        ]
    );
    let [left] = &report.leftovers[..] else {
        panic!("one leftover: {:?}", report.leftovers)
    };
    assert_eq!(
        (left.step.as_str(), left.kind.as_str()),
        ("no-migrations", "ssm.put-parameters")
    );
    assert_eq!(left.drift[0].found, "version 2");
    assert!(left.error.starts_with("changed since the run"));
    // Before the rollback: every step with an undo record that is applied, failed or in doubt,
    // last first.
    let rollback = records
        .iter()
        .position(|r| matches!(r, Record::RollbackStarted { .. }))
        .unwrap();
    let before = RunView::from_records(&records[..rollback]).unwrap();
    let stack: Vec<&str> = before.rollback_stack().map(|s| s.id.as_str()).collect();
    assert_eq!(
        stack,
        [
            "restart-staging",
            "staging-runs-as-production",
            "no-migrations",
            "prod-env-to-staging",
            "go-ahead"
        ]
    );
    // A step failed part way (`restart-staging`): only a rollback may continue.
    assert!(!before.resumable());
    // Every undo record in the sample has its kind's real shape.
    for r in &records {
        // The example is of the current format: its intents' changes read as typed changes.
        if let Record::Intent { step, changes, .. } = r {
            assert!(
                !changes.is_empty(),
                "{step}: the example's changes did not read"
            );
        }
        if let Record::Intent { step, undo, .. } | Record::Applied { step, undo, .. } = r {
            let kind = &view.steps.iter().find(|s| s.id == *step).unwrap().kind;
            let def = steps::find_kind(kind).unwrap();
            assert!((def.load_undo)(undo.clone()).is_ok(), "{step}: {undo}");
        }
    }
}

/// docs/journal.md's example journal is one this build reads, folding as the page says.
#[test]
fn documented_example_journal_reads_and_folds_as_described() {
    let doc = std::fs::read_to_string(repo().join("docs/journal.md")).unwrap();
    let example: String = doc
        .lines()
        .filter(|l| l.starts_with("{\"record\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let records = read_and_check(&path, example.as_bytes())
        .unwrap()
        .expect("the documented example reads");
    // Its lines are chained as every journal's are.
    let intact = standin::engine::chain::verify(example.as_bytes()).expect("the example's chain");
    assert_eq!(intact.lines, records.len());
    let view = RunView::from_records(&records).unwrap();
    let states: Vec<(&str, StepState)> = view
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.state))
        .collect();
    use StepState::*;
    assert_eq!(
        states,
        [
            ("go-ahead", Undone),
            ("prod-env-to-staging", Undone),
            ("no-migrations", UndoFailed),
            ("restart-staging", Undone),
            ("repoint-app", NotStarted),
        ]
    );
    assert_eq!(view.outcome, Some(Outcome::RollbackIncomplete));
    for r in &records {
        // The example is of the current format: its intents' changes read as typed changes.
        if let Record::Intent { step, changes, .. } = r {
            assert!(
                !changes.is_empty(),
                "{step}: the example's changes did not read"
            );
        }
        if let Record::Intent { step, undo, .. } | Record::Applied { step, undo, .. } = r {
            let kind = &view.steps.iter().find(|s| s.id == *step).unwrap().kind;
            let def = steps::find_kind(kind).unwrap();
            assert!((def.load_undo)(undo.clone()).is_ok(), "{step}: {undo}");
        }
    }
}

/// Cut the journal at every byte offset that is a char boundary: the complete lines are read,
/// a torn last line is ignored, and a cut inside the first line is an empty journal.
#[test]
fn journal_truncated_anywhere_reads_its_complete_lines() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_journal(dir.path());
    let text = std::str::from_utf8(&bytes).unwrap();
    let full = sample_records();
    let path = dir.path().join("j.jsonl");
    let mut failures = Vec::new();
    for at in (0..=bytes.len()).filter(|at| text.is_char_boundary(*at)) {
        let cut = &bytes[..at];
        let whole_lines = cut.iter().filter(|b| **b == b'\n').count();
        let result = read_and_check(&path, cut);
        let ok = match result {
            Err(e) => Err(e),
            Ok(Ok(records)) if records.len() == whole_lines => {
                let same = serde_json::to_value(&records).unwrap()
                    == serde_json::to_value(&full[..whole_lines]).unwrap();
                if same {
                    Ok(())
                } else {
                    Err("not the records written".into())
                }
            }
            Ok(Err(ReadError::Empty { .. })) if whole_lines == 0 => Ok(()),
            Ok(other) => Err(format!("expected {whole_lines} records, got {other:?}")),
        };
        if let Err(e) = ok {
            failures.push(format!("cut at {at}: {e}\n--- input\n{}", shown(cut)));
        }
    }
    fail_all(&failures);
}

/// Random damage: bit flips, random bytes, lines deleted, duplicated, swapped, shuffled,
/// garbage inserted, values replaced. Whatever comes back, nothing panics and errors point at
/// the right file and line.
#[test]
fn journal_mutations_never_panic_and_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_journal(dir.path());
    let path = dir.path().join("j.jsonl");
    let mut rng = Rng::new(0x5eed_0002);
    let mut failures = Vec::new();
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    const GARBAGE: &[&str] = &[
        "",
        " ",
        "garbage",
        "{",
        "}",
        "[]",
        "null",
        "{}",
        "{\"record\":\"start\"}",
        "{\"record\":\"nope\",\"at\":\"x\"}",
        "{\"record\":\"resumed\"}",
        "{\"record\":\"resumed\",\"at\":\"x\",\"extra\":1}",
        "\u{feff}{\"record\":\"resumed\",\"at\":\"x\"}",
        "{\"record\":\"applied\",\"step\":\"nope\",\"undo\":null,\"secs\":1e400,\"at\":\"x\"}",
        "{\"record\":\"finished\",\"outcome\":\"exploded\",\"at\":\"x\"}",
        "{\"record\":\"intent\",\"step\":\"repoint-app\",\"undo\":{},\"at\":\"x\"}",
        "{\"record\":\"undone\",\"step\":\"go-ahead\",\"restored\":[],\"at\":\"x\"}",
        "\u{0}\u{0}\u{0}\u{0}",
        "é",
        "\t\t",
    ];
    let n = cases(1500);
    for case in 0..n {
        let mut out = bytes.clone();
        let mut lines: Vec<Vec<u8>> = out.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        let last = lines.len() - 1; // the empty piece after the final newline
        let label = match rng.below(10) {
            0 => {
                for _ in 0..=rng.below(3) {
                    let at = rng.below(out.len());
                    out[at] ^= 1 << rng.below(8);
                }
                "flip bits"
            }
            1 => {
                let at = rng.below(out.len());
                out[at] = rng.next() as u8;
                "random byte"
            }
            2 => {
                lines.remove(rng.below(last));
                out = lines.join(&b'\n');
                "delete a line"
            }
            3 => {
                let i = rng.below(last);
                let copy = lines[i].clone();
                lines.insert(rng.below(last + 1), copy);
                out = lines.join(&b'\n');
                "duplicate a line"
            }
            4 => {
                let (i, j) = (rng.below(last), rng.below(last));
                lines.swap(i, j);
                out = lines.join(&b'\n');
                "swap two lines"
            }
            5 => {
                let body = &mut lines[..last];
                for i in (1..body.len()).rev() {
                    body.swap(i, rng.below(i + 1));
                }
                out = lines.join(&b'\n');
                "shuffle"
            }
            6 => {
                lines.insert(rng.below(last + 1), rng.pick(GARBAGE).as_bytes().to_vec());
                out = lines.join(&b'\n');
                "insert a line"
            }
            7 => {
                // Truncate somewhere, then keep appending: a torn line followed by more records.
                let i = rng.below(last);
                let cut = rng.below(lines[i].len() + 1);
                lines[i].truncate(cut);
                out = lines.join(&b'\n');
                "tear a middle line"
            }
            8 => {
                // Replace a JSON value inside a line with another of another type.
                let i = rng.below(last);
                let mut v: Value = serde_json::from_slice(&lines[i]).unwrap();
                let obj = v.as_object_mut().unwrap();
                let keys: Vec<String> = obj.keys().cloned().collect();
                let key = rng.pick(&keys).clone();
                let replacement = match rng.below(9) {
                    0 => Value::Null,
                    1 => json!(-1),
                    2 => json!(u64::MAX),
                    3 => json!(1.5),
                    4 => json!("x"),
                    5 => json!([]),
                    6 => json!({}),
                    7 => json!(true),
                    _ => {
                        obj.remove(&key);
                        Value::Null
                    }
                };
                if obj.contains_key(&key) {
                    obj.insert(key, replacement);
                }
                lines[i] = serde_json::to_vec(&v).unwrap();
                out = lines.join(&b'\n');
                "replace a value"
            }
            _ => {
                // Non-UTF-8 bytes in the middle of a line.
                let i = rng.below(last);
                let at = rng.below(lines[i].len() + 1);
                lines[i].splice(
                    at..at,
                    rng.pick(&[&b"\xff"[..], b"\xc3", b"\xed\xa0\x80", b"\xe2\x82"])
                        .iter()
                        .copied(),
                );
                out = lines.join(&b'\n');
                "non-UTF-8"
            }
        };
        match read_and_check(&path, &out) {
            Ok(r) => {
                let kind = match r {
                    Ok(_) => "read",
                    Err(ReadError::Corrupt { .. }) => "corrupt",
                    Err(ReadError::Io { .. }) => "unreadable",
                    Err(ReadError::Future { .. }) => "future",
                    Err(ReadError::Empty { .. }) => "empty",
                };
                *kinds.entry(kind).or_default() += 1;
            }
            Err(e) => failures.push(format!(
                "case {case} ({label}): {e}\n--- input\n{}",
                shown(&out)
            )),
        }
    }
    fail_all(&failures);
    assert!(
        kinds.contains_key("read") && kinds.contains_key("corrupt"),
        "{kinds:?}"
    );
}

/// The start record at each version: older ones read (fields added since default), newer ones
/// are refused with the version named, whatever else the file holds.
#[test]
fn journal_versions_older_read_newer_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_journal(dir.path());
    let text = String::from_utf8(bytes).unwrap();
    let path = dir.path().join("j.jsonl");
    let first_end = text.find('\n').unwrap();
    let with_format = |format: &str| {
        let start = text[..first_end].replacen(
            &format!("\"format\":{FORMAT}"),
            &format!("\"format\":{format}"),
            1,
        );
        format!("{start}{}", &text[first_end..])
    };
    // However a newer number is written: too large for an integer, as a float, in exponent form.
    for future in [
        (FORMAT + 1).to_string(),
        (FORMAT + 7).to_string(),
        u32::MAX.to_string(),
        "99999999999999999999".to_owned(),
        "1e30".to_owned(),
        format!("{}.0", FORMAT + 1),
    ] {
        let err = read_and_check(&path, with_format(&future).as_bytes())
            .unwrap()
            .unwrap_err();
        let shown = serde_json::from_str::<serde_json::Value>(&future)
            .unwrap()
            .to_string();
        assert!(
            matches!(&err, ReadError::Future { found, .. } if *found == shown),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("journal format {shown} is newer")),
            "{err}"
        );
    }
    // Newer than u32: still refused as newer (the version shown saturates).
    let err = read_and_check(&path, with_format("4294967296").as_bytes())
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ReadError::Future { .. }), "{err}");
    // A future journal is refused even when its later lines would not parse today.
    let future_only = format!(
        "{{\"record\":\"start\",\"format\":{},\"whatever\":true}}\n{{\"record\":\"teleported\"}}\n",
        FORMAT + 1
    );
    let err = read_and_check(&path, future_only.as_bytes())
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ReadError::Future { .. }), "{err}");
    // Not a version: a clear corrupt-record error on line 1.
    for bad in ["-1", "1.5", "\"2\"", "null", "1e400"] {
        let err = read_and_check(&path, with_format(bad).as_bytes())
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(err, ReadError::Corrupt { line: 1, .. }),
            "format {bad}: {err}"
        );
    }
    // Format 1: no `source` in the start record, no `changes` in intents, no `resumed`.
    let format1 = [
        json!({"record": "start", "format": 1, "run_id": "r1", "playbook": "p", "file": "p.yaml",
               "aws": {}, "steps": [{"id": "a", "kind": "ssm.put-parameters"}], "at": T}),
        json!({"record": "intent", "step": "a",
               "undo": {"params": [{"name": "/x/A", "before": null, "written": null}]}, "at": T}),
        json!({"record": "applied", "step": "a",
               "undo": {"params": [{"name": "/x/A", "before": null, "written": 1}]}, "secs": 0.1, "at": T}),
        json!({"record": "finished", "outcome": "succeeded", "at": T}),
    ]
    .iter()
    .map(|r| format!("{r}\n"))
    .collect::<String>();
    for old in [
        format1.clone(),
        format1.replace("\"format\":1", "\"format\":0"),
    ] {
        let records = read_and_check(&path, old.as_bytes()).unwrap().unwrap();
        let view = RunView::from_records(&records).unwrap();
        assert_eq!(view.steps[0].state, StepState::Applied);
        assert!(view.source.is_none());
    }
}

/// Whole files that are not journals at all.
#[test]
fn journal_garbage_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut rng = Rng::new(0x5eed_0003);
    let mut inputs: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), vec![]),
        ("newlines".into(), b"\n\n\n".to_vec()),
        ("spaces".into(), b"   \n \t \n".to_vec()),
        ("garbage line".into(), b"garbage\n".to_vec()),
        ("garbage, no newline".into(), b"garbage".to_vec()),
        ("not UTF-8".into(), b"\xff\xfe\xfd\n".to_vec()),
        ("UTF-16 BOM".into(), b"\xff\xfe{\0\"\0\n\0".to_vec()),
        ("NULs".into(), vec![0; 64]),
        (
            "a playbook".into(),
            std::fs::read(repo().join("playbooks/promote-staging.yaml")).unwrap(),
        ),
        (
            "a JSON array".into(),
            b"[{\"record\":\"resumed\",\"at\":\"x\"}]\n".to_vec(),
        ),
        (
            "JSON with a trailing comma".into(),
            b"{\"record\":\"resumed\",\"at\":\"x\"},\n".to_vec(),
        ),
        (
            "two records on a line".into(),
            b"{\"record\":\"resumed\",\"at\":\"x\"}{\"record\":\"resumed\",\"at\":\"x\"}\n"
                .to_vec(),
        ),
        (
            "deep JSON".into(),
            format!(
                "{{\"record\":\"intent\",\"step\":\"a\",\"at\":\"x\",\"undo\":{}{}}}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            )
            .into_bytes(),
        ),
        (
            "a long line".into(),
            format!(
                "{{\"record\":\"resumed\",\"at\":\"{}\"}}\n",
                "x".repeat(1 << 20)
            )
            .into_bytes(),
        ),
    ];
    for i in 0..cases(60) {
        let len = rng.below(400);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.chance(50) {
            bytes.push(b'\n');
        }
        inputs.push((format!("random bytes {i}"), bytes));
        let printable: Vec<u8> = (0..rng.below(400))
            .map(|_| *rng.pick(b"{}[]\":,0123456789.-eE \tabcdrecordstartformat\n"))
            .collect();
        inputs.push((format!("random JSON-ish {i}"), printable));
    }
    let mut failures = Vec::new();
    for (label, bytes) in &inputs {
        if let Err(e) = read_and_check(&path, bytes) {
            failures.push(format!("{label}: {e}\n--- input\n{}", shown(bytes)));
        }
    }
    fail_all(&failures);
}

/// A crash can tear the last line in the middle of a multi-byte character (journals hold
/// operators' text: playbook names, AWS error messages): the torn line is ignored like any
/// other, and the complete lines read.
#[test]
fn journal_torn_inside_a_utf8_character_reads_its_complete_lines() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_journal(dir.path());
    let path = dir.path().join("j.jsonl");
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut failures = Vec::new();
    for at in (1..bytes.len()).filter(|at| !text.is_char_boundary(*at)) {
        let cut = &bytes[..at];
        let whole_lines = cut.iter().filter(|b| **b == b'\n').count();
        std::fs::write(&path, cut).unwrap();
        match state::read(&path) {
            Ok(records) if records.len() == whole_lines => {}
            Err(ReadError::Empty { .. }) if whole_lines == 0 => {}
            other => failures.push(format!(
                "cut at {at} ({whole_lines} whole lines): {:?}",
                other.map(|r| r.len())
            )),
        }
    }
    fail_all(&failures);
}

/// Bytes that are not UTF-8 inside a complete line are refused as that line's error, naming
/// the file and the line.
#[test]
fn journal_line_that_is_not_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_journal(dir.path());
    let path = dir.path().join("j.jsonl");
    let third = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0
        + 5;
    let mut out = bytes.clone();
    out.insert(third, 0xff);
    std::fs::write(&path, &out).unwrap();
    let err = state::read(&path).unwrap_err();
    assert!(
        matches!(err, ReadError::Corrupt { line: 3, .. }),
        "expected line 3 to be named: {err}"
    );
}

/// The future-format check is on the first record, wherever blank lines put it: a newer
/// journal is never read as if it were this format.
#[test]
fn journal_blank_lines_before_a_future_format_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_journal(dir.path());
    let text = String::from_utf8(bytes).unwrap();
    let path = dir.path().join("j.jsonl");
    let future = text.replacen(
        &format!("\"format\":{FORMAT}"),
        &format!("\"format\":{}", FORMAT + 1),
        1,
    );
    for lead in ["\n", "  \n", "\r\n"] {
        std::fs::write(&path, format!("{lead}{future}")).unwrap();
        let result = state::read(&path);
        assert!(
            matches!(result, Err(ReadError::Future { .. })),
            "leading {lead:?}: {:?}",
            result.map(|r| r.len())
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `.env` values: what standin writes, a shell and python-dotenv read back the same.

/// The harness's Python (with python-dotenv, pinned in harness/requirements.txt).
fn python() -> PathBuf {
    std::env::var_os("STANDIN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("harness/.venv/bin/python"))
}

/// Every binding of `file` as python-dotenv reads it (with its default interpolation).
fn dotenv_reads(file: &Path) -> std::collections::BTreeMap<String, Option<String>> {
    let out = std::process::Command::new(python())
        .args([
            "-c",
            "import json, sys; from dotenv import dotenv_values; print(json.dumps(dotenv_values(sys.argv[1])))",
        ])
        .arg(file)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("dotenv's JSON")
}

/// The value of each of `keys` after a POSIX shell (Debian's dash) sources `file` with
/// `set -a`, as a service's start script does.
fn shell_reads(file: &Path, keys: &[String]) -> Vec<String> {
    let mut script = String::from("set -a; . \"$1\" || exit 9; ");
    for key in keys {
        script.push_str(&format!("printf '%s\\0' \"${key}\"; "));
    }
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &script, "sh"])
        .arg(file)
        .env_clear()
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let mut values: Vec<String> = text.split('\0').map(str::to_owned).collect();
    values.pop();
    values
}

/// Values that no quoting carries to both a shell and dotenv loaders (and must be refused).
fn unwritable(value: &str) -> bool {
    let interpolated = regex::Regex::new(r"\$\{[^}:]*(:-[^}]*)?\}").unwrap();
    value.contains(['\0', '\r'])
        || interpolated.is_match(value)
        || (value.contains(['\'', '\\']) && value.contains(['$', '`']))
}

#[test]
fn env_file_values_read_back_the_same_in_standin_a_shell_and_dotenv() {
    use standin::dotenv;
    const PIECES: &[&str] = &[
        "a",
        "Z",
        "0",
        "_",
        "-",
        ".",
        "/",
        ":",
        "=",
        "@",
        "%",
        "+",
        ",",
        " ",
        "  ",
        "\t",
        "\n",
        "\r",
        "\r\n",
        "'",
        "\"",
        "$",
        "$$",
        "`",
        "`id`",
        "$(id)",
        "\\",
        "\\\\",
        "\\n",
        "#",
        " #",
        "{",
        "}",
        "${X}",
        "${Y:-d}",
        "${Z:q}",
        "~",
        "!",
        "*",
        "?",
        ";",
        "&",
        "|",
        "<",
        "é",
        "日本",
        "😀",
        "\u{202e}",
        "\u{1b}[2J",
        "\u{7f}",
        "export ",
        "K=v",
    ];
    let mut rng = Rng::new(0xd07e);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".env");
    let mut refused = 0;
    for round in 0..cases(12) {
        // Each round: a file with comments and an untouched value, edited twice.
        let mut text = "# service settings\nexport KEEP='as written'\n".to_owned();
        for edit_no in 0..2 {
            let mut set = std::collections::BTreeMap::new();
            for i in 0..40 {
                let value: String = (0..rng.below(7)).map(|_| *rng.pick(PIECES)).collect();
                let expected_refusal = unwritable(&value);
                match dotenv::encode(&value) {
                    Ok(_) => assert!(!expected_refusal, "{value:?} was written"),
                    Err(e) => {
                        assert!(expected_refusal, "{value:?} was refused: {e}");
                        refused += 1;
                        continue;
                    }
                }
                set.insert(format!("K{i}_{}", rng.below(3)), value);
            }
            let unset: Vec<String> = (0..3)
                .map(|i| format!("K{i}_{}", rng.below(3)))
                .filter(|k| !set.contains_key(k))
                .collect();
            let (next, _) = dotenv::edit(&text, &set, &unset).unwrap();
            text = next;
            std::fs::write(&file, &text).unwrap();
            let ours: std::collections::BTreeMap<String, Option<String>> = dotenv::parse(&text)
                .into_iter()
                .map(|b| (b.key, b.value))
                .collect();
            let theirs = dotenv_reads(&file);
            let differ: Vec<String> = ours
                .keys()
                .chain(theirs.keys())
                .filter(|k| ours.get(*k) != theirs.get(*k))
                .map(|k| {
                    format!(
                        "{k}: standin {:?}, python-dotenv {:?}",
                        ours.get(k),
                        theirs.get(k)
                    )
                })
                .collect();
            assert!(
                differ.is_empty(),
                "round {round}.{edit_no}: {differ:#?}\n{text}"
            );
            let keys: Vec<String> = ours.keys().cloned().collect();
            let shell = shell_reads(&file, &keys);
            for (key, seen) in keys.iter().zip(&shell) {
                assert_eq!(
                    Some(seen),
                    ours[key].as_ref(),
                    "round {round}.{edit_no}: the shell reads {key} otherwise\n{text}"
                );
            }
            for (key, value) in &set {
                assert_eq!(
                    ours[key].as_deref(),
                    Some(value.as_str()),
                    "round {round}: {key}"
                );
            }
            for key in &unset {
                assert!(!ours.contains_key(key), "round {round}: {key} still set");
            }
            assert_eq!(ours["KEEP"].as_deref(), Some("as written"));
        }
    }
    assert!(refused > 0, "no unwritable value was generated");
}
