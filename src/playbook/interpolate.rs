//! `${vars.NAME}` substitution in every string of a playbook; `$${` writes a literal `${`.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::locate::YamlPath;

/// A reference that cannot be resolved, with where it is.
#[derive(Debug)]
pub struct Unresolved {
    pub path: YamlPath,
    pub message: String,
    pub hint: Option<String>,
}

/// Substitutes in place, collecting every unresolved reference.
pub fn interpolate(
    value: &mut Value,
    vars: &BTreeMap<String, String>,
    path: &YamlPath,
    errors: &mut Vec<Unresolved>,
) {
    match value {
        Value::String(text) => match expand(text, vars) {
            Ok(expanded) => *text = expanded,
            Err((message, hint)) => errors.push(Unresolved {
                path: path.clone(),
                message,
                hint,
            }),
        },
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, vars, &path.index(i), errors);
            }
        }
        Value::Mapping(map) => {
            // Keys are strings too (e.g. parameter names under `values:`): rebuild the mapping.
            let entries = std::mem::take(map);
            for (mut key, mut item) in entries {
                let at = path.key(&super::plain::key_name(&key));
                interpolate(&mut key, vars, &at, errors);
                interpolate(&mut item, vars, &at, errors);
                map.insert(key, item);
            }
        }
        Value::Tagged(tagged) => interpolate(&mut tagged.value, vars, path, errors),
        _ => {}
    }
}

/// Expands one string. Errors carry a message and a hint.
pub fn expand(
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, (String, Option<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after.find('}').ok_or_else(|| {
                (
                    format!("unclosed `${{` in `{text}`"),
                    Some("close it with `}`, or write `$${` for a literal `${`".to_owned()),
                )
            })?;
            let reference = after[..end].trim();
            let Some(name) = reference.strip_prefix("vars.") else {
                return Err((
                    format!("unknown reference `${{{reference}}}`"),
                    Some(
                        "only `${vars.NAME}` is supported; write `$${` for a literal `${`"
                            .to_owned(),
                    ),
                ));
            };
            let value = vars.get(name).ok_or_else(|| {
                let nearest = super::nearest(name, vars.keys().map(String::as_str));
                (
                    format!("undefined variable `{name}`"),
                    Some(match nearest {
                        Some(n) => format!("did you mean `{n}`? Variables are declared under `vars:` or given with `--var {name}=VALUE`"),
                        None => format!("declare it under `vars:` or give it with `--var {name}=VALUE`"),
                    }),
                )
            })?;
            out.push_str(value);
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("env".to_owned(), "prod".to_owned())]
            .into_iter()
            .collect()
    }

    #[test]
    fn expands_references_and_escapes() {
        assert_eq!(expand("/app/${vars.env}/", &vars()).unwrap(), "/app/prod/");
        assert_eq!(
            expand("${ vars.env }-$${x}-$5", &vars()).unwrap(),
            "prod-${x}-$5"
        );
    }

    #[test]
    fn expands_mapping_keys_too() {
        let mut doc: Value =
            serde_yaml::from_str("values:\n  /app/${vars.env}/X: \"${vars.env}\"\n").unwrap();
        let mut errors = Vec::new();
        interpolate(&mut doc, &vars(), &YamlPath::default(), &mut errors);
        assert!(errors.is_empty());
        assert_eq!(doc["values"]["/app/prod/X"], Value::String("prod".into()));
    }

    #[test]
    fn reports_undefined_and_malformed_references() {
        let (msg, hint) = expand("${vars.enw}", &vars()).unwrap_err();
        assert_eq!(msg, "undefined variable `enw`");
        assert!(hint.unwrap().contains("`env`"));
        assert!(expand("${env}", &vars())
            .unwrap_err()
            .0
            .contains("unknown reference"));
        assert!(expand("${vars.env", &vars())
            .unwrap_err()
            .0
            .contains("unclosed"));
    }
}
