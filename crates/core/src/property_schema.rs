//! The documented property schema of an event: the JSON document the Events database's
//! "Properties" text holds (the spec: "Property schema (JSON)").
//!
//! ```json
//! {
//!   "amount_cents": {"type": "number", "sent_from": ["web/src/checkout.ts"]},
//!   "plan": {"type": "string"}
//! }
//! ```
//!
//! One entry per property, keyed by the property's name: its `type` (one of
//! [`PropertyType::ALL`], see [`PropertyType::parse`] for the spellings accepted) and, where
//! kodo knows it, `sent_from`, the files that send it. An entry may hold anything else a
//! person writes (a `description`, say): kodo keeps it. `"plan": "string"` is accepted (and
//! kept) as shorthand for `"plan": {"type": "string"}`, and an empty text is an empty schema.
//!
//! **Invariants.** [`PropertySchema::parse`] and [`PropertySchema::render`] are inverse up to
//! whitespace (`parse(render(s)) == s`); kodo only ever adds entries (and, when a person asks,
//! sets one's type): nothing a person wrote is removed; a text that is not such a document is
//! an error with the line and column, never replaced.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A property's type, in the schema's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyType {
    String,
    Number,
    Boolean,
    Datetime,
    Duration,
    Object,
    Array,
}

impl PropertyType {
    pub const ALL: [PropertyType; 7] = [
        PropertyType::String,
        PropertyType::Number,
        PropertyType::Boolean,
        PropertyType::Datetime,
        PropertyType::Duration,
        PropertyType::Object,
        PropertyType::Array,
    ];

    /// The schema's name: `string`, `number`, `boolean`, `datetime`, `duration`, `object`,
    /// `array`.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Boolean => "boolean",
            PropertyType::Datetime => "datetime",
            PropertyType::Duration => "duration",
            PropertyType::Object => "object",
            PropertyType::Array => "array",
        }
    }

    /// A type as people write it: the schema's names, case-insensitive, and the usual
    /// synonyms (`str`/`text`, `numeric`/`int`/`integer`/`float`, `bool`, `date`/`timestamp`,
    /// `dict`/`map`, `list`), which are PostHog's and the languages' names for the same.
    pub fn parse(text: &str) -> Option<PropertyType> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "string" | "str" | "text" => PropertyType::String,
            "number" | "numeric" | "int" | "integer" | "float" | "double" => PropertyType::Number,
            "boolean" | "bool" => PropertyType::Boolean,
            "datetime" | "date" | "timestamp" | "time" => PropertyType::Datetime,
            "duration" => PropertyType::Duration,
            "object" | "dict" | "map" | "hash" => PropertyType::Object,
            "array" | "list" => PropertyType::Array,
            _ => return None,
        })
    }

    /// PostHog's `property_type` (`PropertyType` in `posthog/models/property_definition.py`:
    /// `DateTime`, `String`, `Numeric`, `Boolean`, `Duration`); `None` for what it has not
    /// typed.
    pub fn from_posthog(property_type: &str) -> Option<PropertyType> {
        match property_type {
            "DateTime" => Some(PropertyType::Datetime),
            "String" => Some(PropertyType::String),
            "Numeric" => Some(PropertyType::Number),
            "Boolean" => Some(PropertyType::Boolean),
            "Duration" => Some(PropertyType::Duration),
            _ => None,
        }
    }

    /// The accepted names, for an error message.
    pub fn names() -> String {
        PropertyType::ALL.map(PropertyType::as_str).join(", ")
    }
}

impl std::fmt::Display for PropertyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is not a property schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SchemaError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What an entry says of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredType {
    /// No `type` given.
    None,
    Known(PropertyType),
    /// A `type` kodo does not know, as written.
    Other(String),
}

/// A parsed property schema; keeps every entry and field as written, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertySchema {
    entries: Map<String, Value>,
}

impl PropertySchema {
    /// Parses the Properties text. Empty (or only whitespace) is the empty schema.
    pub fn parse(text: &str) -> Result<PropertySchema, SchemaError> {
        if text.trim().is_empty() {
            return Ok(PropertySchema::default());
        }
        let value: Value = serde_json::from_str(text).map_err(|e| SchemaError {
            line: e.line(),
            column: e.column(),
            message: format!("not JSON ({e})")
                .replace(&format!(" at line {} column {}", e.line(), e.column()), ""),
        })?;
        let at_start = |message: String| SchemaError {
            line: 1,
            column: 1,
            message,
        };
        let Value::Object(map) = value else {
            return Err(at_start(
                "expected an object with one entry per property, like {\"plan\": {\"type\": \"string\"}}"
                    .into(),
            ));
        };
        let mut entries = Map::new();
        for (name, entry) in map {
            // Kept as written (the shorthand too): a schema kodo extends reads as its author
            // wrote it.
            let entry = match entry {
                Value::String(kind) => Value::String(kind),
                Value::Null => Value::Null,
                Value::Object(m) => {
                    if let Some(kind) = m.get("type").filter(|t| !t.is_string() && !t.is_null()) {
                        return Err(at_start(format!(
                            "the `type` of property `{name}` is {kind}, not a type name"
                        )));
                    }
                    if let Some(from) = m.get("sent_from").filter(|f| !is_string_list(f)) {
                        return Err(at_start(format!(
                            "the `sent_from` of property `{name}` is {from}, not a list of files"
                        )));
                    }
                    Value::Object(m)
                }
                other => {
                    return Err(at_start(format!(
                        "property `{name}` is {other}: expected a type name or an object like {{\"type\": \"string\"}}"
                    )))
                }
            };
            entries.insert(name, entry);
        }
        Ok(PropertySchema { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The documented properties, in the document's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// What the entry of `name` says of its type (`None` when there is no such entry).
    pub fn declared_type(&self, name: &str) -> Option<DeclaredType> {
        let entry = self.entries.get(name)?;
        let written = match entry {
            Value::String(t) => Some(t.as_str()),
            other => other.get("type").and_then(Value::as_str),
        };
        Some(match written {
            None => DeclaredType::None,
            Some(t) if t.trim().is_empty() => DeclaredType::None,
            Some(t) => PropertyType::parse(t)
                .map(DeclaredType::Known)
                .unwrap_or_else(|| DeclaredType::Other(t.to_string())),
        })
    }

    /// Adds an entry for `name` unless there is one. Returns whether it added.
    pub fn add(&mut self, name: &str, kind: Option<PropertyType>, sent_from: &[String]) -> bool {
        if self.entries.contains_key(name) {
            return false;
        }
        let mut entry = Map::new();
        if let Some(kind) = kind {
            entry.insert("type".into(), Value::String(kind.as_str().into()));
        }
        if !sent_from.is_empty() {
            let mut files = sent_from.to_vec();
            files.sort();
            files.dedup();
            entry.insert(
                "sent_from".into(),
                Value::Array(files.into_iter().map(Value::String).collect()),
            );
        }
        self.entries.insert(name.to_string(), Value::Object(entry));
        true
    }

    /// Sets the type of `name`'s entry (adding the entry when there is none), keeping the
    /// rest of what it says. Returns whether anything changed.
    pub fn set_type(&mut self, name: &str, kind: PropertyType) -> bool {
        if self.add(name, Some(kind), &[]) {
            return true;
        }
        if self.declared_type(name) == Some(DeclaredType::Known(kind)) {
            return false;
        }
        match self.entries.get_mut(name) {
            Some(Value::Object(entry)) => {
                entry.insert("type".into(), Value::String(kind.as_str().into()));
            }
            Some(other) => *other = Value::String(kind.as_str().into()),
            None => {}
        }
        true
    }

    /// The Properties text: pretty JSON, two-space indent, entries in order. Empty for an
    /// empty schema.
    pub fn render(&self) -> String {
        if self.entries.is_empty() {
            return String::new();
        }
        serde_json::to_string_pretty(&Value::Object(self.entries.clone())).unwrap_or_default()
    }
}

fn is_string_list(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|items| items.iter().all(Value::is_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_an_empty_schema() {
        assert!(PropertySchema::parse("").unwrap().is_empty());
        assert!(PropertySchema::parse("  \n").unwrap().is_empty());
        assert_eq!(PropertySchema::default().render(), "");
    }

    #[test]
    fn render_and_parse_are_inverse() {
        let mut s = PropertySchema::default();
        assert!(s.add(
            "plan",
            Some(PropertyType::String),
            &["web/b.ts".into(), "web/a.ts".into()]
        ));
        assert!(s.add("amount_cents", Some(PropertyType::Number), &[]));
        assert!(s.add("note", None, &[]));
        let text = s.render();
        assert_eq!(
            text,
            "{\n  \"plan\": {\n    \"type\": \"string\",\n    \"sent_from\": [\n      \"web/a.ts\",\n      \"web/b.ts\"\n    ]\n  },\n  \"amount_cents\": {\n    \"type\": \"number\"\n  },\n  \"note\": {}\n}"
        );
        assert_eq!(PropertySchema::parse(&text).unwrap(), s);
    }

    #[test]
    fn adding_never_replaces_what_people_wrote() {
        let mut s = PropertySchema::parse(
            r#"{"plan": {"type": "text", "description": "the plan bought"}, "seats": "int"}"#,
        )
        .unwrap();
        assert!(!s.add("plan", Some(PropertyType::Number), &["x.ts".into()]));
        assert!(s.add("coupon", Some(PropertyType::String), &[]));
        let again = PropertySchema::parse(&s.render()).unwrap();
        assert_eq!(
            again.declared_type("plan"),
            Some(DeclaredType::Known(PropertyType::String))
        );
        assert!(again.render().contains("the plan bought"));
        assert_eq!(
            again.declared_type("seats"),
            Some(DeclaredType::Known(PropertyType::Number))
        );
        assert_eq!(
            again.names().collect::<Vec<_>>(),
            ["plan", "seats", "coupon"]
        );
    }

    #[test]
    fn set_type_keeps_the_rest_of_the_entry() {
        let mut s =
            PropertySchema::parse(r#"{"plan": {"type": "number", "description": "d"}}"#).unwrap();
        assert!(s.set_type("plan", PropertyType::String));
        assert!(!s.set_type("plan", PropertyType::String));
        assert!(s.render().contains("\"description\": \"d\""));
        assert!(s.render().contains("\"type\": \"string\""));
    }

    #[test]
    fn unknown_types_are_kept_as_written() {
        let s = PropertySchema::parse(r#"{"plan": {"type": "enum"}, "x": {}}"#).unwrap();
        assert_eq!(
            s.declared_type("plan"),
            Some(DeclaredType::Other("enum".into()))
        );
        assert_eq!(s.declared_type("x"), Some(DeclaredType::None));
        assert_eq!(s.declared_type("y"), None);
    }

    #[test]
    fn what_is_not_a_schema_is_an_error_with_a_place() {
        let e = PropertySchema::parse("plan: string").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert!(e.message.starts_with("not JSON"), "{e}");
        let e = PropertySchema::parse("{\n  \"plan\": {\"type\": \"string\",}\n}").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(PropertySchema::parse("[1]").is_err());
        assert!(PropertySchema::parse(r#"{"plan": 3}"#).is_err());
        assert!(PropertySchema::parse(r#"{"plan": {"type": 3}}"#).is_err());
        assert!(PropertySchema::parse(r#"{"plan": {"sent_from": "a.ts"}}"#).is_err());
    }

    #[test]
    fn types_parse_with_synonyms_and_posthog_names() {
        assert_eq!(PropertyType::parse("Numeric"), Some(PropertyType::Number));
        assert_eq!(PropertyType::parse("bool"), Some(PropertyType::Boolean));
        assert_eq!(PropertyType::parse("uuid"), None);
        assert_eq!(
            PropertyType::from_posthog("DateTime"),
            Some(PropertyType::Datetime)
        );
        assert_eq!(PropertyType::from_posthog("Selector"), None);
        for t in PropertyType::ALL {
            assert_eq!(PropertyType::parse(t.as_str()), Some(t));
        }
    }
}
