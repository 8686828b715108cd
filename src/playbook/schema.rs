//! The JSON Schema of the playbook format (`standin schema`), for editors: the YAML language
//! server completes and checks a playbook from it. Generated from the types that parse
//! playbooks: each kind's field struct ([`KindDef::schema`]), the `aws:` and `state:` blocks,
//! the guard fields. The header and a step's common fields are checked by hand in
//! `playbook/mod.rs` (for located errors), so [`Header`] and [`common`] describe them, and a
//! test holds their field names to the lists that code accepts.

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use super::guard::Fields as GuardFields;
use crate::config::{AwsSettings, StateBlock};
use crate::steps::{self, duration, KindDef};

/// The top of a playbook, as `playbook::load` reads it (only its schema is used).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, title = "standin playbook")]
#[allow(dead_code)]
struct Header {
    /// The playbook format: 1.
    #[schemars(range(min = 1, max = 1))]
    version: u64,
    /// The playbook's name: confirmations, journals and reports name it.
    #[schemars(length(min = 1))]
    name: String,
    /// What the playbook is for.
    description: Option<String>,
    /// Where and as whom to call AWS. Default: the standard chain (AWS_PROFILE, AWS_REGION,
    /// AWS_ENDPOINT_URL).
    aws: Option<AwsSettings>,
    /// Other accounts steps act in, by name (a step's `account:`), each with settings like
    /// `aws:`: e.g. DNS in a shared networking account reached through `role_arn`.
    #[serde(default)]
    #[schemars(schema_with = "accounts")]
    accounts: Option<BTreeMap<String, AwsSettings>>,
    /// Where runs are kept when no `--state` or `--lock` says otherwise.
    state: Option<StateBlock>,
    /// Variables: names to text, used as `${vars.NAME}` in any string of the playbook;
    /// `--var NAME=VALUE` overrides one.
    vars: Option<BTreeMap<String, String>>,
    /// Assertions on the state each plan leads to, checked again before each change.
    guards: Option<Vec<GuardFields>>,
    /// The id of the gate step whose pass means production is back (drills measure the time
    /// to it).
    recovery: Option<String>,
    /// The recovery time objective a drill is held to.
    #[serde(default)]
    #[schemars(schema_with = "duration::schema")]
    rto_target: Option<String>,
    /// The steps, in order; undone in reverse. A `parallel:` entry runs its steps at once.
    #[schemars(schema_with = "step_list")]
    steps: Vec<Value>,
}

/// Step ids and group ids.
fn id(what: &str) -> Schema {
    json_schema!({
        "type": "string",
        // `${vars.NAME}` is substituted before ids are checked.
        "pattern": "^([A-Za-z0-9_-]|\\$\\{[^}]+\\})+$",
        "description": format!("{what}: unique in the playbook; letters, digits, `-` and `_`"),
    })
}

/// `accounts:`: names (not `default`, the playbook's own) to settings.
fn accounts(generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "propertyNames": {
            "pattern": "^[A-Za-z0-9_-]+$",
            // `default`, in any case, is the playbook's own.
            "not": {"pattern": "^[Dd][Ee][Ff][Aa][Uu][Ll][Tt]$"},
        },
        "additionalProperties": generator.subschema_for::<AwsSettings>(),
    })
}

/// A step's common fields, as `playbook/mod.rs` reads them (`STEP_FIELDS`), for `kind`.
fn common(kind: &KindDef) -> [(&'static str, Schema); 5] {
    [
        ("id", id("the step's id")),
        (
            "kind",
            json_schema!({"const": kind.name, "description": kind.summary}),
        ),
        (
            "description",
            json_schema!({"type": "string", "description": "shown in plans and reports"}),
        ),
        ("timeout", {
            let mut timeout = duration::schema(&mut SchemaGenerator::default());
            timeout.insert(
                "description".into(),
                "bound on the whole step: plan, change and waits (default 15m)".into(),
            );
            timeout
        }),
        ("account", {
            let mut account = id("the account of `accounts:` the step acts in");
            account.insert(
                "description".into(),
                "the account of `accounts:` the step acts in (default: the playbook's `aws:`)"
                    .into(),
            );
            account
        }),
    ]
}

/// One step of `kind`: its common fields and its own. A kind whose fields are an internally
/// tagged enum (`lock-url`'s `strategy:`) is a `oneOf` of objects: each gets the common fields.
fn step(generator: &mut SchemaGenerator, kind: &KindDef) -> Schema {
    let mut schema = (kind.schema)(generator).to_value();
    let object = schema
        .as_object_mut()
        .expect("a kind's fields are an object schema");
    object.remove("title");
    match object.get_mut("oneOf") {
        Some(Value::Array(branches)) => branches.iter_mut().for_each(|b| with_common(b, kind)),
        _ => with_common(&mut schema, kind),
    }
    Schema::try_from(schema).expect("still a schema")
}

/// Adds a step's common fields to an object schema of a kind's own fields.
fn with_common(object: &mut Value, kind: &KindDef) {
    let properties = object
        .as_object_mut()
        .expect("an object schema")
        .entry("properties")
        .or_insert_with(|| Value::Object(Default::default()));
    for (name, field) in common(kind) {
        properties[name] = field.to_value();
    }
    let required = object
        .as_object_mut()
        .expect("an object schema")
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(required) = required {
        required.splice(0..0, ["id".into(), "kind".into()]);
    }
}

/// `steps:`: steps of any kind, or `parallel:` groups of them (no `confirm` inside one).
fn step_list(generator: &mut SchemaGenerator) -> Schema {
    let mut any = Vec::new();
    let mut grouped = Vec::new();
    for kind in steps::KINDS {
        let schema = step(generator, kind).to_value();
        if kind.in_parallel {
            grouped.push(schema.clone());
        }
        any.push(schema);
    }
    any.push(
        json_schema!({
            "type": "object",
            "description": "steps that run at once; a failure lets the others finish, then everything done is undone",
            "properties": {
                "id": id("the group's id"),
                "parallel": {"type": "array", "minItems": 2, "items": {"anyOf": grouped}},
            },
            "required": ["parallel"],
            "additionalProperties": false,
        })
        .to_value(),
    );
    json_schema!({"type": "array", "minItems": 1, "items": {"anyOf": any}})
}

/// The playbook format's JSON Schema (draft 2020-12).
pub fn schema() -> Schema {
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Header>()
        .to_value();
    tidy(&mut schema);
    Schema::try_from(schema).expect("still a schema")
}

/// What editors should offer, from what schemars derives: an absent field is how a playbook
/// leaves one out, so an `Option`'s `null` goes (type, `anyOf` branch, `default: null`), and
/// a default duration reads as a playbook writes it (`2m`), not as serde serializes one.
pub(super) fn tidy(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    object.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = object.get("anyOf") {
                let kept: Vec<Value> = any
                    .iter()
                    .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                    .cloned()
                    .collect();
                if let [only] = kept.as_slice() {
                    let only = only.clone();
                    object.remove("anyOf");
                    if let Value::Object(only) = only {
                        object.extend(only);
                    }
                }
            }
            match object.get("default") {
                Some(Value::Null) => {
                    object.remove("default");
                }
                Some(Value::Object(d)) if d.len() == 2 && d.contains_key("secs") => {
                    let secs = d["secs"].as_u64().unwrap_or_default();
                    let text = humantime::format_duration(std::time::Duration::from_secs(secs));
                    object.insert("default".into(), text.to_string().into());
                }
                _ => {}
            }
            object.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: &Value) -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn the_schema_names_the_fields_the_parser_accepts() {
        let schema = schema().to_value();
        let mut top: Vec<String> = super::super::TOP_FIELDS
            .iter()
            .map(|f| f.to_string())
            .collect();
        top.sort();
        assert_eq!(keys(&schema["properties"]), top);
        let confirm = steps::find_kind("confirm").unwrap();
        let fields = step(&mut SchemaGenerator::default(), confirm).to_value();
        for field in super::super::STEP_FIELDS {
            assert!(fields["properties"].get(field).is_some(), "{field}");
        }
    }
}
