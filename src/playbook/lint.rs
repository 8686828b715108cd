//! What is valid but risky in a playbook, said as located warnings by `validate` and `plan`:
//! credentials written into a URL (`https://user:secret@host/`), which would otherwise sit in
//! the file, in review tools and in every copy of it. standin itself never shows or keeps
//! them (see [`crate::escape::url`]); the warning is for the file.

use serde_yaml::Value;

use super::locate::{Locator, YamlPath};
use super::Problem;

/// Every string of `doc` that holds a URL with credentials, located.
pub(super) fn credentials(doc: &Value, locator: &Locator) -> Vec<Problem> {
    let mut found = Vec::new();
    walk(doc, &YamlPath::default(), &mut |path, text| {
        if has_credentials(text) {
            found.push(Problem {
                pos: locator.find(path),
                message: format!("`{path}` holds a URL with credentials (`user:password@`)"),
                hint: Some(
                    "keep credentials out of the playbook: pass the URL with `--var`, or use a check that needs none; standin never shows or keeps them"
                        .into(),
                ),
            });
        }
    });
    found
}

fn walk(value: &Value, path: &YamlPath, found: &mut impl FnMut(&YamlPath, &str)) {
    match value {
        Value::String(text) => found(path, text),
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &path.index(i), found);
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map {
                if let Some(key) = key.as_str() {
                    walk(item, &path.key(key), found);
                }
            }
        }
        Value::Tagged(tagged) => walk(&tagged.value, path, found),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Whether `text` holds `SCHEME://USERINFO@HOST`.
fn has_credentials(text: &str) -> bool {
    text.match_indices("://").any(|(at, _)| {
        let authority = text[at + 3..]
            .split(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .next()
            .unwrap_or_default();
        authority.contains('@')
    })
}

#[cfg(test)]
mod tests {
    use super::has_credentials;

    #[test]
    fn credentials_are_found_in_the_authority_only() {
        assert!(has_credentials(
            "http://admin:hunter2@app.example.com/health"
        ));
        assert!(has_credentials("see postgres://app@db:5432/x"));
        assert!(!has_credentials("https://app.example.com/a@b"));
        assert!(!has_credentials("https://app.example.com/?to=a@b"));
        assert!(!has_credentials("mailto:ops@example.com"));
    }
}
