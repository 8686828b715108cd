//! The guard language: a playbook's `guards:` entries, parsed and checked without I/O. What
//! each asserts is evaluated by [`crate::guards`] on the state a plan leads to.

use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_yaml::Value;

use crate::steps::{self, FieldError, Resource};

/// One `guards:` entry, checked.
#[derive(Debug)]
pub struct Guard {
    pub name: String,
    pub subject: Subject,
    pub condition: Condition,
}

#[derive(Debug)]
pub enum Subject {
    One {
        resource: Resource,
        /// Hosted zone of a record (records are read by zone).
        zone: Option<String>,
    },
    /// This key (parameter base name or property) in every place the plan changes.
    Touched(String),
}

#[derive(Debug)]
pub enum Condition {
    Equals(Operand),
    NotEquals(Operand),
    Matches(Regex),
    NotMatches(Regex),
    Exists(bool),
}

#[derive(Debug)]
pub enum Operand {
    Text(String),
    Value(Resource),
}

/// The fields of a guard as written: one subject (`parameter`, `environment` with
/// `property`, `record` with `type` and `zone`, or `touched`) and one condition.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Guard")]
pub(super) struct Fields {
    /// Shown when the guard fails; default: what it checks.
    #[serde(default)]
    name: Option<String>,
    /// Subject: a Parameter Store parameter (SecureStrings take only `exists`).
    #[serde(default)]
    parameter: Option<String>,
    /// Subject, with `property`: an Elastic Beanstalk environment.
    #[serde(default)]
    environment: Option<String>,
    /// The environment property of `environment`.
    #[serde(default)]
    property: Option<String>,
    /// Subject, with `type` and `zone`: a Route 53 record set, compared as its answer text.
    #[serde(default)]
    record: Option<String>,
    /// The record's type, e.g. `CNAME`.
    #[serde(default, rename = "type")]
    rtype: Option<String>,
    /// The record's hosted zone, e.g. `example.com`.
    #[serde(default)]
    zone: Option<String>,
    /// Subject: the parameter `KEY` under every path, and the property `KEY` of every
    /// environment, where the plan changes something.
    #[serde(default)]
    touched: Option<String>,
    /// Condition: a text (quoted), or another resource: `{parameter: NAME}` or
    /// `{environment: ENV, property: NAME}`.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    equals: Option<Value>,
    /// Condition: not this text or resource's value.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    not_equals: Option<Value>,
    /// Condition: a regular expression (Rust `regex` syntax) searched in the value.
    #[serde(default)]
    matches: Option<String>,
    /// Condition: a regular expression that must not be found in the value.
    #[serde(default)]
    not_matches: Option<String>,
    /// Condition: whether the subject exists.
    #[serde(default)]
    exists: Option<bool>,
}

const SUBJECT_HINT: &str = "give one of `parameter: NAME`, `environment: ENV` with `property: NAME`, `record: NAME` with `type:` and `zone:`, or `touched: KEY`";
const CONDITION_HINT: &str =
    "give one of `equals`, `not_equals`, `matches`, `not_matches` (regular expressions) or `exists`";

/// Parses one `guards:` entry; errors carry the path below the entry.
pub fn parse(value: Value) -> Result<Guard, FieldError> {
    let f: Fields = steps::fields_of(value)?;
    let subject = subject(&f)?;
    let condition = condition(&f)?;
    if let (Subject::One { resource, .. }, Condition::Equals(_) | Condition::NotEquals(_)) =
        (&subject, &condition)
    {
        if matches!(resource, Resource::Record { .. }) {
            return Err(FieldError::at(
                "record",
                "a record guard takes `exists`, `matches` or `not_matches`",
            )
            .hint("records are compared as their answer text, e.g. `matches: shop-staging`"));
        }
    }
    let name = f
        .name
        .clone()
        .unwrap_or_else(|| describe(&subject, &condition));
    Ok(Guard {
        name,
        subject,
        condition,
    })
}

fn subject(f: &Fields) -> Result<Subject, FieldError> {
    let given = [
        f.parameter.is_some(),
        f.property.is_some() || f.environment.is_some(),
        f.record.is_some(),
        f.touched.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        let message = if given == 0 {
            "a guard needs a subject"
        } else {
            "a guard has exactly one subject"
        };
        return Err(FieldError::new(Vec::new(), message).hint(SUBJECT_HINT));
    }
    let one = |resource| Subject::One {
        resource,
        zone: None,
    };
    Ok(
        match (
            &f.parameter,
            &f.environment,
            &f.property,
            &f.record,
            &f.touched,
        ) {
            (Some(name), ..) => one(Resource::parameter(name)),
            (_, Some(env), Some(name), ..) => one(Resource::property(env, name)),
            (_, None, Some(_), ..) => {
                return Err(FieldError::at("property", "`property` needs `environment`"))
            }
            (_, Some(_), None, ..) => {
                return Err(FieldError::at(
                    "environment",
                    "`environment` needs `property`",
                ))
            }
            (.., Some(record), _) => {
                let (Some(rtype), Some(zone)) = (&f.rtype, &f.zone) else {
                    return Err(
                        FieldError::at("record", "a record guard needs `type` and `zone`").hint(
                            "e.g. `record: app.example.com`, `type: CNAME`, `zone: example.com`",
                        ),
                    );
                };
                Subject::One {
                    resource: Resource::record(record, &rtype.to_ascii_uppercase(), None),
                    zone: Some(zone.clone()),
                }
            }
            (.., Some(key)) => Subject::Touched(key.clone()),
            _ => unreachable!("exactly one subject was counted"),
        },
    )
}

fn condition(f: &Fields) -> Result<Condition, FieldError> {
    let regex = |field: &str, text: &str| {
        Regex::new(text).map_err(|e| {
            // The regex crate's message draws the pattern over several lines; keep its verdict.
            let text = e.to_string();
            let why = text
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            FieldError::at(field, format!("invalid regular expression: {why}"))
                .hint("see https://docs.rs/regex for the syntax")
        })
    };
    let mut found = Vec::new();
    if let Some(v) = &f.equals {
        found.push(Condition::Equals(operand("equals", v)?));
    }
    if let Some(v) = &f.not_equals {
        found.push(Condition::NotEquals(operand("not_equals", v)?));
    }
    if let Some(r) = &f.matches {
        found.push(Condition::Matches(regex("matches", r)?));
    }
    if let Some(r) = &f.not_matches {
        found.push(Condition::NotMatches(regex("not_matches", r)?));
    }
    if let Some(e) = f.exists {
        found.push(Condition::Exists(e));
    }
    match found.len() {
        1 => Ok(found.pop().expect("one")),
        0 => Err(FieldError::new(Vec::new(), "a guard needs a condition").hint(CONDITION_HINT)),
        _ => Err(
            FieldError::new(Vec::new(), "a guard has exactly one condition")
                .hint("write two guards to assert two things"),
        ),
    }
}

/// `equals: "text"` or `equals: {parameter: NAME}` / `{environment: ENV, property: NAME}`.
fn operand(field: &str, value: &Value) -> Result<Operand, FieldError> {
    let bad = || {
        FieldError::at(field, "expected a text value or another resource")
            .hint("e.g. `equals: \"false\"` or `equals: {parameter: /shop/prod/DB_HOST}`")
    };
    match value {
        Value::String(text) => Ok(Operand::Text(text.clone())),
        Value::Bool(_) | Value::Number(_) => Err(FieldError::at(field, "values compare as text")
            .hint(format!(
                "quote it: `{field}: \"{}\"`",
                serde_yaml::to_string(value).unwrap_or_default().trim()
            ))),
        Value::Mapping(map) => {
            let text = |key: &str| map.get(key).and_then(Value::as_str);
            match (
                text("parameter"),
                text("environment"),
                text("property"),
                map.len(),
            ) {
                (Some(name), None, None, 1) => Ok(Operand::Value(Resource::parameter(name))),
                (None, Some(env), Some(name), 2) => {
                    Ok(Operand::Value(Resource::property(env, name)))
                }
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

fn describe(subject: &Subject, condition: &Condition) -> String {
    let what = match subject {
        Subject::One { resource, .. } => resource.to_string(),
        Subject::Touched(key) => format!("{key} wherever the plan changes things"),
    };
    let how = match condition {
        Condition::Equals(o) => format!("equals {}", operand_text(o)),
        Condition::NotEquals(o) => format!("does not equal {}", operand_text(o)),
        Condition::Matches(r) => format!("matches /{r}/"),
        Condition::NotMatches(r) => format!("does not match /{r}/"),
        Condition::Exists(true) => "exists".into(),
        Condition::Exists(false) => "does not exist".into(),
    };
    format!("{what} {how}")
}

fn operand_text(o: &Operand) -> String {
    match o {
        Operand::Text(t) => format!("\"{t}\""),
        Operand::Value(r) => r.to_string(),
    }
}
