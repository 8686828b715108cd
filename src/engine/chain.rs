//! The journal's hash chain: every line after the first ends with `"prev":"HEX"`, the SHA-256
//! of the line before it (its bytes, without the line break). Editing a byte of a line,
//! dropping one or swapping two breaks the link of the line after; the last line's hash (the
//! chain's tip, kept in each report's `evidence`) covers the end. Written by
//! [`super::journal::Journal`], checked by `standin verify-evidence` ([`verify`]).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The key each line after the first carries.
const PREV: &str = "prev";

/// The SHA-256 of a line, as the next line names it.
pub fn link(line: &[u8]) -> String {
    format!("{:x}", Sha256::digest(line))
}

/// The hash of the last complete line of a journal's bytes: what its next line names. `None`
/// for a journal with no complete line. A torn last line (no line break) is not part of it:
/// the next append cuts it.
pub fn tip(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().rposition(|b| *b == b'\n')?;
    let complete = &bytes[..end];
    let start = complete
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    Some(link(&complete[start..]))
}

/// A record's JSON object with the link to the line before, if there is one, as its last key.
pub fn seal(mut object: Vec<u8>, prev: Option<&str>) -> Vec<u8> {
    if let Some(prev) = prev {
        debug_assert_eq!(object.last(), Some(&b'}'), "a record is a JSON object");
        object.pop();
        object.extend_from_slice(format!(r#","{PREV}":"{prev}"}}"#).as_bytes());
    }
    object
}

/// What an intact chain is: how many lines, and the last one's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intact {
    pub lines: usize,
    pub tip: String,
}

/// Where a chain breaks: the first line (from 1) that does not match, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct Break {
    pub line: usize,
    pub what: String,
}

/// Checks every line's link to the line before, from the first line on (which links to
/// nothing). A torn last line (no line break) is a break too: evidence is whole lines.
pub fn verify(bytes: &[u8]) -> Result<Intact, Break> {
    let broken = |line: usize, what: String| Err(Break { line, what });
    if bytes.is_empty() {
        return broken(1, "the journal is empty".into());
    }
    if bytes.last() != Some(&b'\n') {
        let line = bytes.iter().filter(|b| **b == b'\n').count() + 1;
        return broken(line, "the last line is unfinished (no line break)".into());
    }
    let mut before: Option<String> = None;
    let mut lines = 0;
    for (i, line) in bytes[..bytes.len() - 1].split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let object: Value = match serde_json::from_slice(line) {
            Ok(Value::Object(o)) => Value::Object(o),
            Ok(_) => return broken(n, "not a JSON object".into()),
            Err(e) => return broken(n, format!("not JSON ({e})")),
        };
        let prev = object.get(PREV);
        match (&before, prev) {
            (None, None) => {}
            (None, Some(_)) => {
                return broken(
                    n,
                    "the first line links to a line before it: lines were removed from the start"
                        .into(),
                )
            }
            (Some(_), None) => return broken(n, "it carries no link to the line before".into()),
            (Some(want), Some(got)) => {
                if got.as_str() != Some(want.as_str()) {
                    return broken(
                        n,
                        format!(
                            "its link does not match line {}: line {} was changed, or lines were removed, added or reordered there",
                            n - 1,
                            n - 1
                        ),
                    );
                }
            }
        }
        before = Some(link(line));
        lines = n;
    }
    Ok(Intact {
        lines,
        tip: before.expect("at least one line"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(records: &[&str]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for r in records {
            let line = seal(r.as_bytes().to_vec(), tip(&bytes).as_deref());
            bytes.extend_from_slice(&line);
            bytes.push(b'\n');
        }
        bytes
    }

    #[test]
    fn an_untouched_chain_verifies_and_any_edit_names_its_line() {
        let bytes = chain(&[r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c":3}"#, r#"{"d":4}"#]);
        let intact = verify(&bytes).unwrap();
        assert_eq!(intact.lines, 4);
        assert_eq!(Some(intact.tip.clone()), tip(&bytes));
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
        // One byte of line 2 changed: line 3's link no longer matches.
        let edited = join(&[
            lines[0],
            &lines[1].replace(r#""b":2"#, r#""b":3"#),
            lines[2],
            lines[3],
        ]);
        assert_eq!(verify(edited.as_bytes()).unwrap_err().line, 3);
        // Line 2 dropped: line 3 (now line 2) does not link to line 1.
        let dropped = join(&[lines[0], lines[2], lines[3]]);
        assert_eq!(verify(dropped.as_bytes()).unwrap_err().line, 2);
        // Lines 2 and 3 swapped.
        let swapped = join(&[lines[0], lines[2], lines[1], lines[3]]);
        assert_eq!(verify(swapped.as_bytes()).unwrap_err().line, 2);
        // The first line dropped.
        let headless = join(&lines[1..]);
        assert_eq!(verify(headless.as_bytes()).unwrap_err().line, 1);
        // The last line changed: the chain holds, its tip does not.
        let last = join(&[
            lines[0],
            lines[1],
            lines[2],
            &lines[3].replace(r#""d":4"#, r#""d":5"#),
        ]);
        assert_ne!(verify(last.as_bytes()).unwrap().tip, intact.tip);
        // A torn end.
        let torn = &text[..text.len() - 3];
        assert_eq!(verify(torn.as_bytes()).unwrap_err().line, 4);
    }

    #[test]
    fn the_tip_ignores_a_torn_last_line() {
        let bytes = chain(&[r#"{"a":1}"#]);
        let mut torn = bytes.clone();
        torn.extend_from_slice(br#"{"b":"#);
        assert_eq!(tip(&torn), tip(&bytes));
        assert_eq!(tip(b""), None);
    }
}
