//! A registered kind, type-erased: [`KindDef`], what the registry ([`super::KINDS`]) holds for
//! each kind, and [`def`] filling it from a [`Kind`]: parsing its fields ([`fields_of`]),
//! reading its undo record back from a journal, the order it declares its fields in
//! ([`field_order`]). Apart from the traits (`mod.rs`) because it is the serde plumbing that
//! lets the playbook and the engine hold every kind alike, not what a step is.

use serde::de::DeserializeOwned;

use super::{FieldError, Journaled, Kind, Step, Undo};

/// A registered kind, type-erased for the registry.
pub struct KindDef {
    pub name: &'static str,
    pub summary: &'static str,
    /// See [`Kind::DOC`].
    pub doc: &'static str,
    /// See [`Kind::EXAMPLE`].
    pub example: &'static str,
    /// See [`Journaled::SHAPES`].
    pub undo_shapes: &'static [(&'static str, &'static str)],
    /// The names of its fields, in the order the kind declares them (empty when its fields are
    /// an enum): the schema's are sorted.
    pub field_order: fn() -> &'static [&'static str],
    /// See [`Kind::GATE`].
    pub gate: bool,
    /// See [`Kind::CHANGES_NOTHING`].
    pub changes_nothing: bool,
    /// See [`Kind::IN_PARALLEL`].
    pub in_parallel: bool,
    /// See [`Kind::WAITS_ON_DNS`].
    pub waits_on_dns: bool,
    /// See [`Kind::RESTARTS_WORKERS`].
    pub restarts_workers: bool,
    /// See [`Kind::MOVES_PRODUCTION`].
    pub moves_production: bool,
    /// Builds the step from its own fields (the common fields already removed).
    pub parse: fn(serde_yaml::Value) -> Result<Box<dyn Step>, FieldError>,
    /// Reads an undo record back from the journal.
    pub load_undo: fn(serde_json::Value) -> Result<Box<dyn Undo>, serde_json::Error>,
    /// The JSON Schema of the kind's own fields (an object schema).
    pub schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
}

pub(super) const fn def<K: Kind>() -> KindDef {
    KindDef {
        name: K::NAME,
        summary: K::SUMMARY,
        doc: K::DOC,
        example: K::EXAMPLE,
        undo_shapes: <K::Undo as Journaled>::SHAPES,
        field_order: field_order::<K>,
        gate: K::GATE,
        changes_nothing: K::CHANGES_NOTHING,
        in_parallel: K::IN_PARALLEL,
        waits_on_dns: K::WAITS_ON_DNS,
        restarts_workers: K::RESTARTS_WORKERS,
        moves_production: K::MOVES_PRODUCTION,
        parse: parse_kind::<K>,
        load_undo: load_undo::<K::Undo>,
        schema: K::json_schema,
    }
}

fn parse_kind<K: Kind>(fields: serde_yaml::Value) -> Result<Box<dyn Step>, FieldError> {
    let step: K = fields_of(fields)?;
    step.check()?;
    Ok(Box::new(step))
}

/// The names of `T`'s fields in the order it declares them, as serde's derive hands them to a
/// deserializer; empty for an enum or a map.
pub(crate) fn field_order<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    struct Names(&'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for &mut Names {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom(
                "only the names of the fields are asked for",
            ))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            self.deserialize_any(visitor)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut names = Names(&[]);
    let _ = T::deserialize(&mut names);
    names.0
}

/// Deserializes a mapping of fields, locating the first problem by its path.
pub(crate) fn fields_of<T: DeserializeOwned>(fields: serde_yaml::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(fields).map_err(|e| {
        let path = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                _ => None,
            })
            .collect();
        FieldError::new(path, e.into_inner().to_string())
    })
}

fn load_undo<U: Undo + DeserializeOwned + 'static>(
    record: serde_json::Value,
) -> Result<Box<dyn Undo>, serde_json::Error> {
    Ok(Box::new(serde_json::from_value::<U>(record)?))
}
