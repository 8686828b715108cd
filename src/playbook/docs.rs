//! The reference docs of the step kinds, made from their definitions so that adding a kind is
//! its file and its line in `KINDS`: each kind's section of docs/playbook.md (its `DOC` and a
//! table of its fields from the schema their doc comments make), docs/journal.md's undo
//! records and README's list of kinds. `tests/docs.rs` holds those files to what this makes.

use schemars::SchemaGenerator;
use serde_json::Value;

use super::checker::backticked;
use super::schema::tidy;
use crate::iam::Grant;
use crate::steps::{KindDef, KINDS};

/// A generated block of the repository's docs.
pub struct Block {
    /// The file, from the repository's root.
    pub file: &'static str,
    /// Its name in the block's markers.
    pub name: &'static str,
    /// What it holds.
    pub make: fn() -> String,
}

pub const BLOCKS: &[Block] = &[
    Block {
        file: "docs/playbook.md",
        name: "kinds",
        make: kind_sections,
    },
    Block {
        file: "docs/journal.md",
        name: "undo-records",
        make: undo_records,
    },
    Block {
        file: "README.md",
        name: "kinds",
        make: kind_list,
    },
];

/// `text` with the lines between the markers of block `name` replaced by `block`; `None`
/// when `text` lacks either marker.
pub fn splice(text: &str, name: &str, block: &str) -> Option<String> {
    let open = format!("<!-- generated: {name} -->\n");
    let close = format!("<!-- end: {name} -->");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    Some(format!("{}{block}{}", &text[..start], &text[end..]))
}

/// Every kind's section, in the order of `KINDS`.
fn kind_sections() -> String {
    KINDS.iter().map(section).collect::<Vec<_>>().join("\n")
}

/// `### NAME`, the first paragraph of its `DOC`, its fields, its example with the IAM actions
/// that needs, the rest of its `DOC`.
fn section(kind: &KindDef) -> String {
    let gate = if kind.gate { " (gate)" } else { "" };
    let doc = kind.doc.trim();
    let (first, rest) = doc.split_once("\n\n").unwrap_or((doc, ""));
    let mut out = format!(
        "### `{}`{gate}\n{first}\n\n{}\n{}",
        kind.name,
        fields(kind),
        example(kind)
    );
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(rest);
        out.push('\n');
    }
    out
}

/// The kind's [`EXAMPLE`](crate::steps::Kind::EXAMPLE) as a step of a playbook, and the IAM
/// actions it needs to be planned and, besides, to be run and rolled back (what
/// `standin iam-policy` grants for it).
fn example(kind: &KindDef) -> String {
    let fields: serde_yaml::Value = serde_yaml::from_str(kind.example)
        .unwrap_or_else(|e| panic!("{}'s EXAMPLE is not YAML: {e}", kind.name));
    let step = (kind.parse)(fields)
        .unwrap_or_else(|e| panic!("{}'s EXAMPLE is refused: {}", kind.name, e.message));
    let mut out = format!("```yaml\n- id: example\n  kind: {}\n", kind.name);
    for line in kind.example.trim().lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("```\n\n");
    let needs = step.needs();
    let names = |grants: &[Grant]| {
        let mut names: Vec<&str> = grants
            .iter()
            .flat_map(|g| g.actions.iter().copied())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    let plan = names(&needs.plan);
    let mut run = names(&needs.run);
    run.retain(|action| !plan.contains(action));
    out.push_str(&match (plan.is_empty(), run.is_empty()) {
        (true, true) => "IAM: none; it calls no AWS API.\n".to_owned(),
        (false, true) => format!("IAM, to plan and run it: {}.\n", backticked(&plan)),
        (true, false) => format!("IAM, to run and roll it back: {}.\n", backticked(&run)),
        (false, false) => format!(
            "IAM, to plan it: {}; to run and roll it back, besides: {}.\n",
            backticked(&plan),
            backticked(&run)
        ),
    });
    out
}

/// The table of a kind's fields; a kind whose fields are an enum (`lock-url`'s strategies)
/// has one per variant, under the variant's doc.
fn fields(kind: &KindDef) -> String {
    let mut schema = (kind.schema)(&mut SchemaGenerator::default()).to_value();
    tidy(&mut schema);
    match schema.get("oneOf") {
        Some(Value::Array(variants)) => variants
            .iter()
            .map(|v| format!("{}\n\n{}", text(&v["description"]), table(v, &[])))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => table(&schema, (kind.field_order)()),
    }
}

/// `| field | | meaning |`, one row per property of an object schema, in `order` (else the
/// required first): whether it is required or its default, and its doc comment.
fn table(object: &Value, order: &[&str]) -> String {
    let Some(Value::Object(properties)) = object.get("properties") else {
        return String::new();
    };
    let required: Vec<&str> = object["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort_by_key(|n| {
        let at = order.iter().position(|o| o == n);
        (at.unwrap_or(usize::MAX), !required.contains(n))
    });
    let mut out = String::from("| field | | meaning |\n|---|---|---|\n");
    for name in names {
        let field = &properties[name];
        if field.get("const").is_some() {
            continue; // the variant's tag, named above its table
        }
        let need = match field.get("default") {
            _ if required.contains(&name) => "required".to_owned(),
            Some(d) if !is_empty(d) => format!("default {}", shown(d)),
            _ => "optional".to_owned(),
        };
        out.push_str(&format!(
            "| `{name}` | {need} | {} |\n",
            text(&field["description"])
        ));
    }
    out
}

/// A doc comment as one table cell.
fn text(description: &Value) -> String {
    description
        .as_str()
        .unwrap_or_default()
        .replace('\n', " ")
        .replace('|', "\\|")
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::String(text) => text.is_empty(),
        _ => false,
    }
}

/// A default as a playbook writes it.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => format!("`{text}`"),
        Value::Number(n) => n.to_string(),
        other => format!("`{other}`"),
    }
}

/// docs/journal.md's table of undo records: one row per shape, naming every kind (and case)
/// that journals it.
fn undo_records() -> String {
    let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
    for kind in KINDS {
        for (case, shape) in kind.undo_shapes {
            let who = format!("`{}` {case}", kind.name).trim_end().to_owned();
            match rows.iter_mut().find(|(s, _)| s == shape) {
                Some((_, kinds)) => kinds.push(who),
                None => rows.push((shape, vec![who])),
            }
        }
    }
    let mut out = String::from("| kind | `undo` |\n| --- | --- |\n");
    for (shape, kinds) in rows {
        out.push_str(&format!(
            "| {} | {} |\n",
            kinds.join(", "),
            shape.replace('\n', " ")
        ));
    }
    out
}

/// README's list of kinds: each with its summary.
fn kind_list() -> String {
    KINDS
        .iter()
        .map(|k| format!("- `{}`: {}\n", k.name, k.summary))
        .collect()
}
