//! The JSON Schema of the playbook format (`standin schema`), for editors: the YAML language
//! server completes and checks a playbook from it. Generated from the types that parse
//! playbooks: the top-level fields ([`Header`]), a step's common fields ([`Common`]), each
//! kind's field struct ([`KindDef::schema`]), the `aws:` and `state:` blocks, the guard fields.

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use super::header::Header;
use super::step_list::Common;
use crate::config::AwsSettings;
use crate::steps::{self, KindDef};

/// Step ids, group ids and the account names steps give.
pub(super) fn id(what: &str) -> Schema {
    json_schema!({
        "type": "string",
        // `${vars.NAME}` is substituted before ids are checked.
        "pattern": "^([A-Za-z0-9_-]|\\$\\{[^}]+\\})+$",
        "description": format!("{what}: unique in the playbook; letters, digits, `-` and `_`"),
    })
}

/// `accounts:`: names (not `default`, the playbook's own) to settings.
pub(super) fn accounts(generator: &mut SchemaGenerator) -> Schema {
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

/// Adds a step's common fields ([`Common`], its `kind` this one) to an object schema of a
/// kind's own fields.
fn with_common(object: &mut Value, kind: &KindDef) {
    let mut common = Common::json_schema(&mut SchemaGenerator::default()).to_value();
    common["properties"]["kind"] =
        json_schema!({"const": kind.name, "description": kind.summary}).to_value();
    let object = object.as_object_mut().expect("an object schema");
    let properties = object
        .entry("properties")
        .or_insert_with(|| Value::Object(Default::default()));
    for (name, field) in common["properties"].as_object().expect("an object schema") {
        properties[name] = field.clone();
    }
    let required = object
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let (Value::Array(required), Value::Array(common)) = (required, &common["required"]) {
        required.splice(0..0, common.iter().cloned());
    }
}

/// `steps:`: steps of any kind, or `parallel:` groups of them (no `confirm` inside one).
pub(super) fn step_list(generator: &mut SchemaGenerator) -> Schema {
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
    fn a_step_has_the_common_fields_and_its_own() {
        let confirm = steps::find_kind("confirm").unwrap();
        let fields = step(&mut SchemaGenerator::default(), confirm).to_value();
        let mut names = keys(&fields["properties"]);
        names.retain(|name| steps::field_order::<Common>().contains(&name.as_str()));
        assert_eq!(
            names,
            ["account", "covers", "description", "id", "kind", "timeout"]
        );
        assert_eq!(fields["properties"]["kind"]["const"], "confirm");
        assert_eq!(fields["required"][0], "id");
        assert_eq!(fields["required"][1], "kind");
    }
}
