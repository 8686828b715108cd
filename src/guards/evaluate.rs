//! A playbook's own guards, evaluated on the state a plan leads to. A guard that cannot read
//! what it needs fails (guards fail closed).

use super::live::Live;
use super::predicted::Predicted;
use crate::playbook::guard::{Condition, Guard, Operand, Subject};
use crate::steps::{Resource, Value};

/// Why `guard` does not hold on `state`, one line per place; empty when it holds.
pub(super) async fn evaluate(guard: &Guard, state: &Predicted<'_>, live: &dyn Live) -> Vec<String> {
    let subjects: Vec<(Resource, Option<&str>, bool)> = match &guard.subject {
        Subject::One { resource, zone } => vec![(resource.clone(), zone.as_deref(), true)],
        // `touched` asserts where the key exists; a place without it has nothing to check.
        Subject::Touched(key) => state
            .locations()
            .into_iter()
            .map(|(is_param, at)| {
                let r = if is_param {
                    Resource::parameter(&format!("{at}/{key}"))
                } else {
                    Resource::property(&at, key)
                };
                (r, None, false)
            })
            .collect(),
    };
    let mut failures = Vec::new();
    for (resource, zone, required) in subjects {
        let value = match state.value(live, &resource, zone).await {
            Ok(v) => v,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        if value.is_none() && !required {
            continue;
        }
        if let Err(why) = holds(&guard.condition, &resource, value.as_ref(), state, live).await {
            failures.push(why);
        }
    }
    failures
}

/// `Ok` when the condition holds for `resource` planned to hold `value`; else why not.
async fn holds(
    condition: &Condition,
    resource: &Resource,
    value: Option<&Value>,
    state: &Predicted<'_>,
    live: &dyn Live,
) -> Result<(), String> {
    let shown = |v: Option<&Value>| v.map_or_else(|| "nothing".to_owned(), |v| format!("`{v}`"));
    if let Condition::Exists(wanted) = condition {
        return if value.is_some() == *wanted {
            Ok(())
        } else {
            Err(format!(
                "{resource} will {}exist",
                if *wanted { "not " } else { "" }
            ))
        };
    }
    if value.is_some_and(Value::is_secret) {
        return Err(format!(
            "{resource} is a secret; guards compare plain values only (use `exists`)"
        ));
    }
    // Guards compare values, never how they are shown.
    let text = value.and_then(Value::clear);
    match condition {
        Condition::Equals(o) | Condition::NotEquals(o) => {
            let (other, label) = match o {
                Operand::Text(t) => (Some(t.clone()), format!("\"{}\"", crate::escape::value(t))),
                Operand::Value(r) => {
                    let v = state
                        .value(live, r, None)
                        .await
                        .map_err(|e| e.to_string())?;
                    if v.as_ref().is_some_and(Value::is_secret) {
                        return Err(format!("{r} is a secret; guards compare plain values only"));
                    }
                    let label = format!("{r} ({})", shown(v.as_ref()));
                    (v.as_ref().and_then(Value::clear), label)
                }
            };
            match (condition, text == other) {
                (Condition::Equals(_), false) => {
                    Err(format!("{resource} will be {}, not {label}", shown(value)))
                }
                (Condition::NotEquals(_), true) => Err(format!(
                    "{resource} will be {}, the same as {label}",
                    shown(value)
                )),
                _ => Ok(()),
            }
        }
        Condition::Matches(re) | Condition::NotMatches(re) => {
            let hit = text.as_deref().is_some_and(|t| re.is_match(t));
            match (condition, hit) {
                (Condition::Matches(_), false) => Err(format!(
                    "{resource} will be {}, which does not match /{re}/",
                    shown(value)
                )),
                (Condition::NotMatches(_), true) => Err(format!(
                    "{resource} will be {}, which matches /{re}/",
                    shown(value)
                )),
                _ => Ok(()),
            }
        }
        Condition::Exists(_) => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guards::fake::{change, param, Fake};
    use crate::playbook::guard;
    use crate::steps::Action;

    fn guard(yaml: &str) -> Guard {
        guard::parse(serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    async fn verdict(g: &str, changes: &[crate::steps::Change], live: &Fake) -> Vec<String> {
        evaluate(&guard(g), &Predicted::new(changes), live).await
    }

    #[tokio::test]
    async fn equals_and_not_equals_compare_planned_values_else_live_ones() {
        let live = Fake::default().with(Resource::parameter("/p/DB_HOST"), param("prod-db"));
        let planned = [change(
            Action::Modify,
            "/s/DB_HOST",
            "staging-db",
            "prod-db",
        )];
        let same = "parameter: /s/DB_HOST\nequals: {parameter: /p/DB_HOST}";
        assert!(verdict(same, &planned, &live).await.is_empty());
        let other = [change(
            Action::Modify,
            "/s/DB_HOST",
            "prod-db",
            "staging-db",
        )];
        assert_eq!(
            verdict(same, &other, &live).await,
            ["/s/DB_HOST will be `staging-db`, not /p/DB_HOST (`prod-db`)"]
        );
        let differ = "parameter: /s/DB_HOST\nnot_equals: \"staging-db\"";
        assert_eq!(
            verdict(differ, &other, &live).await,
            ["/s/DB_HOST will be `staging-db`, the same as \"staging-db\""]
        );
    }

    #[tokio::test]
    async fn matches_exists_and_touched_keys() {
        let live = Fake::default();
        let planned = [
            change(Action::Modify, "/s/RUN_MIGRATIONS", "false", "true"),
            change(Action::Modify, "/s/OTHER", "a", "b"),
        ];
        let touched = "touched: RUN_MIGRATIONS\nequals: \"false\"";
        assert_eq!(
            verdict(touched, &planned, &live).await,
            ["/s/RUN_MIGRATIONS will be `true`, not \"false\""]
        );
        assert!(
            verdict("parameter: /s/OTHER\nmatches: ^b$", &planned, &live)
                .await
                .is_empty()
        );
        assert_eq!(
            verdict("parameter: /s/OTHER\nnot_matches: b", &planned, &live).await,
            ["/s/OTHER will be `b`, which matches /b/"]
        );
        assert_eq!(
            verdict("parameter: /s/GONE\nexists: true", &planned, &live).await,
            ["/s/GONE will not exist"]
        );
    }

    #[tokio::test]
    async fn a_guard_that_cannot_read_fails_closed() {
        let live = Fake::default().failing(Resource::parameter("/p/DB_HOST"));
        let g = "parameter: /s/DB_HOST\nequals: {parameter: /p/DB_HOST}";
        let planned = [change(Action::Modify, "/s/DB_HOST", "a", "b")];
        assert_eq!(
            verdict(g, &planned, &live).await,
            ["cannot read /p/DB_HOST: Fake.Read failed: AccessDenied: denied"]
        );
    }
}
