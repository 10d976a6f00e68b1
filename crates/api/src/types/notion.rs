//! Notion values the pure pipeline reads.

use serde_json::Value;

/// The plain text of a rich-text array: `plain_text` of each item, else `text.content`.
pub fn plain_text(items: &[Value]) -> String {
    items
        .iter()
        .filter_map(|t| {
            t.get("plain_text")
                .and_then(Value::as_str)
                .or_else(|| t.pointer("/text/content").and_then(Value::as_str))
        })
        .collect()
}
