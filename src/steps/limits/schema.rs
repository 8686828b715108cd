//! The same limits as JSON Schema, for editors (`standin schema`): a pattern also takes a
//! value with `${vars.NAME}` in it, which `validate` checks once substituted.

use super::ADVANCED_VALUE;

/// Text matching `pattern`, or holding a variable.
fn text(pattern: &str) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "pattern": format!("^({pattern}|.*\\$\\{{.+)$"),
    })
}

const PARAMETER_NAME: &str = "/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*";

/// A parameter's name.
pub fn parameter_name_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(PARAMETER_NAME)
}

/// A path prefix of parameters (`/myapp/prod/`).
pub fn parameter_prefix_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text("/([A-Za-z0-9_.-]+/?)*")
}

/// Parameter names to values, a value at most as long as the Advanced tier holds.
pub fn parameter_values_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "propertyNames": text(PARAMETER_NAME),
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": ADVANCED_VALUE},
    })
}

/// Environment property names to values.
pub fn properties_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "propertyNames": text("[A-Za-z0-9_.:/+\\\\@-]+"),
        "additionalProperties": {"type": "string"},
    })
}

/// An environment's name.
pub fn environment_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text("[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]")
}

/// A load balancer's name.
pub fn load_balancer_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text("[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
}

/// A host-header condition's host name.
pub fn host_header_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = text("[A-Za-z0-9.*?-]+");
    schema.insert("maxLength".into(), 128.into());
    schema
}

/// An ACM certificate's ARN.
pub fn certificate_arn_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    text(r"arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(/[\w+=,.@-]+)*")
}
