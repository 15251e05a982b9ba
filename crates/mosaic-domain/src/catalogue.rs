//! The event catalogue: every stored event type of a context, its schema version, its meaning
//! and its payload's fields, generated from the Rust types (JSON Schema via `schemars`, doc
//! comments as descriptions). Analysts read payloads directly, so what they read is documented
//! where it is defined and cannot drift from it.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::DomainEvent;

/// The catalogue of one context's events.
pub struct Catalogue {
    /// The producing context, e.g. `registry`.
    pub context: &'static str,
    /// The JSON Schema of the context's events in their tagged form `{"type", "data"}`; the
    /// stored payload is the `data` part.
    pub schema: Value,
    /// The schema version written for new events, per stored type.
    pub versions: Vec<(String, u32)>,
    /// The read models and reactions that read each stored type (filled in by whoever knows
    /// every context's projections).
    pub consumers: std::collections::BTreeMap<String, Vec<String>>,
}

impl Catalogue {
    /// The catalogue of `E`, the event enum of `context`.
    pub fn of<E: DomainEvent + JsonSchema>(context: &'static str) -> Self {
        let schema = schemars::schema_for!(E).to_value();
        let versions = variants(&schema)
            .map(|(name, _)| (name.to_owned(), E::schema_version(name)))
            .collect();
        Self {
            context,
            schema,
            versions,
            consumers: Default::default(),
        }
    }

    /// The schema as a pretty-printed JSON document, ending with a newline.
    pub fn schema_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(&self.schema).unwrap_or_default();
        out.push('\n');
        out
    }

    /// The catalogue as a markdown section: one heading per event type with its meaning, schema
    /// version, subject and payload fields, then the types those fields use.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let ctx = self.context;
        let _ = writeln!(out, "## `{ctx}`\n");
        let _ = writeln!(
            out,
            "Schema: [`{ctx}.schema.json`]({ctx}.schema.json). Subjects: \
             `mosaic.<municipality>.{ctx}.<EventType>`.\n"
        );
        let defs = self.schema.get("$defs").and_then(Value::as_object);
        let empty = Map::new();
        let defs = defs.unwrap_or(&empty);
        for (name, variant) in variants(&self.schema) {
            let version = self
                .versions
                .iter()
                .find(|(n, _)| n == name)
                .map_or(1, |(_, v)| *v);
            let _ = writeln!(out, "### `{name}` (schema version {version})\n");
            if let Some(d) = description(variant) {
                let _ = writeln!(out, "{d}\n");
            }
            match self.consumers.get(name).filter(|c| !c.is_empty()) {
                Some(readers) => {
                    let readers: Vec<String> = readers.iter().map(|r| format!("`{r}`")).collect();
                    let _ = writeln!(out, "`{name}` is read by: {}.\n", readers.join(", "));
                }
                None => {
                    let _ = writeln!(
                        out,
                        "`{name}` is read by no read model yet (analysts read it from the log).\n"
                    );
                }
            }
            let data = variant.pointer("/properties/data").unwrap_or(&Value::Null);
            let body = resolve(data, defs);
            fields(&mut out, body, ctx);
            out.push('\n');
        }
        let _ = writeln!(out, "### Types used by `{ctx}` events\n");
        let mut names: Vec<&String> = defs
            .keys()
            .filter(|k| !variants(&self.schema).any(|(v, _)| v == k.as_str()))
            .collect();
        names.sort();
        for name in names {
            let def = &defs[name];
            let _ = writeln!(out, "#### {ctx}.{name}\n");
            if let Some(d) = description(def) {
                let _ = writeln!(out, "{d}\n");
            }
            if def.get("properties").is_some() {
                fields(&mut out, def, ctx);
            } else if let Some(alternatives) = object_alternatives(def) {
                out.push_str("One of:\n\n");
                for (key, alternative) in alternatives {
                    let _ = writeln!(
                        out,
                        "- `{{\"{key}\": {{…}}}}`: {}\n",
                        description(alternative).unwrap_or_default()
                    );
                    let inner = alternative
                        .pointer(&format!("/properties/{key}"))
                        .unwrap_or(alternative);
                    let mut table = String::new();
                    fields(&mut table, inner, ctx);
                    for line in table.lines() {
                        let _ = writeln!(out, "  {line}");
                    }
                    out.push('\n');
                }
            } else if let Some(values) = enum_values(def) {
                out.push_str("| Value | Meaning |\n|---|---|\n");
                for (value, meaning) in values {
                    let _ = writeln!(out, "| `{value}` | {} |", cell(&meaning));
                }
            } else {
                let _ = writeln!(out, "Type: {}{}.", type_name(def, ctx), constraints(def));
            }
            out.push('\n');
        }
        out
    }
}

/// The variants of a tagged event enum's schema: stored type name and variant schema.
fn variants(schema: &Value) -> impl Iterator<Item = (&str, &Value)> {
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let name = v.pointer("/properties/type/const")?.as_str()?;
            Some((name, v))
        })
}

/// A `$ref` to one of `defs`, followed; anything else as it is.
fn resolve<'a>(schema: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| defs.get(name))
        .unwrap_or(schema)
}

fn description(schema: &Value) -> Option<String> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A markdown table of an object schema's fields.
fn fields(out: &mut String, object: &Value, context: &str) {
    let Some(props) = object.get("properties").and_then(Value::as_object) else {
        out.push_str("No fields.\n");
        return;
    };
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("| Field | Type | Meaning |\n|---|---|---|\n");
    for (name, field) in props {
        let mut ty = type_name(field, context);
        if !required.contains(&name.as_str()) {
            ty.push_str(" (optional)");
        }
        let _ = writeln!(
            out,
            "| `{name}` | {} | {} |",
            cell(&ty),
            cell(&description(field).unwrap_or_default())
        );
    }
}

/// The alternatives of an enum whose variants carry data, serialised as `{"variant": {...}}`:
/// each variant's name and schema.
fn object_alternatives(schema: &Value) -> Option<Vec<(String, &Value)>> {
    let one_of = schema.get("oneOf")?.as_array()?;
    one_of
        .iter()
        .map(|v| {
            let props = v.get("properties")?.as_object()?;
            let (key, _) = props.iter().next().filter(|_| props.len() == 1)?;
            Some((key.clone(), v))
        })
        .collect()
}

/// The values of a string enum schema, with their meanings.
fn enum_values(schema: &Value) -> Option<Vec<(String, String)>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(
            values
                .iter()
                .map(|v| (v.as_str().unwrap_or_default().to_owned(), String::new()))
                .collect(),
        );
    }
    let one_of = schema.get("oneOf")?.as_array()?;
    one_of
        .iter()
        .map(|v| {
            let value = v.get("const")?.as_str()?.to_owned();
            Some((value, description(v).unwrap_or_default()))
        })
        .collect()
}

/// A short human name of a schema's type; `$ref`s link to their entry under `context`.
fn type_name(schema: &Value, context: &str) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("[{name}](#{}{})", context, name.to_lowercase());
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let parts: Vec<String> = any.iter().map(|s| type_name(s, context)).collect();
        return parts.join(" or ");
    }
    if let Some(c) = schema.get("const") {
        return format!("`{c}`");
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec!["any".into()],
    };
    types
        .iter()
        .map(|t| match t.as_str() {
            "array" => match schema.get("prefixItems").and_then(Value::as_array) {
                // A tuple, e.g. a coordinate pair.
                Some(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| type_name(i, context))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => format!(
                    "array of {}",
                    schema
                        .get("items")
                        .map_or("any".into(), |i| type_name(i, context))
                ),
            },
            "object" => match schema.get("additionalProperties") {
                Some(v) if v.is_object() => format!("map to {}", type_name(v, context)),
                _ => "object".into(),
            },
            "string" => match schema.get("format").and_then(Value::as_str) {
                Some(f) => format!("string ({f})"),
                None => "string".into(),
            },
            "integer" => "integer".into(),
            other => other.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The checks a scalar schema states (pattern, length, range), as `; …` text or nothing.
fn constraints(schema: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        parts.push(format!("pattern `{p}`"));
    }
    for (key, what) in [
        ("minLength", "length at least {}"),
        ("maxLength", "length at most {}"),
        ("minimum", "at least {}"),
        ("maximum", "at most {}"),
    ] {
        if let Some(v) = schema.get(key) {
            parts.push(what.replace("{}", &v.to_string()));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; {}", parts.join(", "))
    }
}

/// Text safe inside a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    /// Where a test walk went.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    struct Walked {
        /// Kilometres.
        km: u32,
        /// A note, if any.
        note: Option<String>,
        /// How it felt.
        mood: Mood,
        /// Where.
        route: Route,
    }

    /// A route.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum Route {
        /// Along a river.
        River {
            /// Its name.
            name: String,
        },
        /// Round a park.
        Park {
            /// Laps.
            laps: u8,
        },
    }

    /// A feeling.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    enum Mood {
        /// Good.
        #[serde(rename = "good")]
        Good,
        /// Tired.
        #[serde(rename = "tired")]
        Tired,
    }

    /// Test events.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(tag = "type", content = "data")]
    enum TestEvent {
        /// Somebody walked.
        #[serde(rename = "Walked")]
        Walked(Walked),
    }

    impl DomainEvent for TestEvent {
        fn schema_version(_: &str) -> u32 {
            2
        }
    }

    #[test]
    fn lists_types_versions_fields_and_values() {
        let c = Catalogue::of::<TestEvent>("test");
        assert_eq!(c.versions, vec![("Walked".to_owned(), 2)]);
        let md = c.markdown();
        assert!(md.contains("### `Walked` (schema version 2)"), "{md}");
        assert!(md.contains("Somebody walked."), "{md}");
        assert!(md.contains("| `km` | integer | Kilometres. |"), "{md}");
        assert!(
            md.contains("| `note` | string or null (optional) | A note, if any. |"),
            "{md}"
        );
        assert!(
            md.contains("| `mood` | [Mood](#testmood) | How it felt. |"),
            "{md}"
        );
        assert!(md.contains("#### test.Mood"), "{md}");
        assert!(md.contains("| `tired` | Tired. |"), "{md}");
        assert!(md.contains("- `{\"river\": {…}}`: Along a river."), "{md}");
        assert!(md.contains("  | `laps` | integer | Laps. |"), "{md}");
        assert!(c.schema_json().ends_with("}\n"));
    }
}
