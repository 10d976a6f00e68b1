//! Data source queries: filter parsing and evaluation, sorting, and cursor pagination
//! with the per-query row cap.
//!
//! Invariants: a filter is validated against the schema before any row is read (unknown
//! property → `Could not find property with name or id: …`; a filter type that does not
//! match the property → `database property X does not match filter Y`); the default
//! order is creation time ascending, then id; one query never returns more than the row
//! cap in total, and at the cap it answers `has_more: false` with
//! `request_status: {type: "incomplete", incomplete_reason: "query_result_limit_reached"}`.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::error::{quoted, NotionError};
use super::model::{plain_text, DataSource, Page, PropKind, StoredValue};
use crate::clock;

/// A parsed filter.
#[derive(Debug, Clone)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Property {
        prop_id: String,
        condition: Condition,
    },
    Timestamp {
        created: bool,
        condition: DateCond,
    },
}

/// A condition on one property.
#[derive(Debug, Clone)]
pub enum Condition {
    Text(TextCond),
    Number(NumberCond),
    Checkbox { equals: bool },
    Select(SelectCond),
    MultiSelect(ListCond),
    People(ListCond),
    Date(DateCond),
}

#[derive(Debug, Clone)]
pub enum TextCond {
    Equals(String),
    DoesNotEqual(String),
    Contains(String),
    DoesNotContain(String),
    StartsWith(String),
    EndsWith(String),
    IsEmpty,
    IsNotEmpty,
}

#[derive(Debug, Clone)]
pub enum NumberCond {
    Equals(f64),
    DoesNotEqual(f64),
    GreaterThan(f64),
    LessThan(f64),
    GreaterThanOrEqualTo(f64),
    LessThanOrEqualTo(f64),
    IsEmpty,
    IsNotEmpty,
}

#[derive(Debug, Clone)]
pub enum SelectCond {
    Equals(String),
    DoesNotEqual(String),
    IsEmpty,
    IsNotEmpty,
}

/// A condition on a list value (multi_select option names, people user ids).
#[derive(Debug, Clone)]
pub enum ListCond {
    Contains(String),
    DoesNotContain(String),
    IsEmpty,
    IsNotEmpty,
}

impl ListCond {
    /// Parses `{contains|does_not_contain|is_empty|is_not_empty: …}` at `path`.
    fn parse(inner: &Value, path: &str) -> Result<ListCond, NotionError> {
        let (op, v) = single_op(inner, path)?;
        let p = format!("{path}.{op}");
        Ok(match op {
            "contains" => ListCond::Contains(want_string(v, &p)?),
            "does_not_contain" => ListCond::DoesNotContain(want_string(v, &p)?),
            "is_empty" => {
                want_true(v, &p)?;
                ListCond::IsEmpty
            }
            "is_not_empty" => {
                want_true(v, &p)?;
                ListCond::IsNotEmpty
            }
            other => return Err(unknown_op(path, other)),
        })
    }

    /// Whether a list of `len` items, of which `has` says which are present, matches.
    fn matches(&self, len: usize, has: impl Fn(&str) -> bool) -> bool {
        match self {
            ListCond::Contains(item) => has(item),
            ListCond::DoesNotContain(item) => !has(item),
            ListCond::IsEmpty => len == 0,
            ListCond::IsNotEmpty => len > 0,
        }
    }
}

/// A date comparison; `date_only` compares calendar days.
#[derive(Debug, Clone)]
pub enum DateCond {
    Compare {
        op: DateOp,
        at: OffsetDateTime,
        date_only: bool,
    },
    IsEmpty,
    IsNotEmpty,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DateOp {
    Equals,
    Before,
    After,
    OnOrBefore,
    OnOrAfter,
}

/// One sort key.
#[derive(Debug, Clone)]
pub enum Sort {
    Property { prop_id: String, descending: bool },
    Timestamp { created: bool, descending: bool },
}

/// How the 2-level nesting limit of compound filters is reported.
const MAX_DEPTH: usize = 2;

fn single_op<'a>(value: &'a Value, path: &str) -> Result<(&'a str, &'a Value), NotionError> {
    let map = value
        .as_object()
        .ok_or_else(|| NotionError::body(path, "an object", &quoted(Some(value))))?;
    let mut entries = map.iter();
    match (entries.next(), entries.next()) {
        (Some((op, v)), None) => Ok((op.as_str(), v)),
        _ => Err(NotionError::validation(format!(
            "body failed validation: {path} should have exactly one condition, instead was {}.",
            quoted(Some(value))
        ))),
    }
}

fn want_string(v: &Value, path: &str) -> Result<String, NotionError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| NotionError::body(path, "a string", &quoted(Some(v))))
}

fn want_true(v: &Value, path: &str) -> Result<(), NotionError> {
    if v == &Value::Bool(true) {
        Ok(())
    } else {
        Err(NotionError::body(path, "`true`", &quoted(Some(v))))
    }
}

fn unknown_op(path: &str, op: &str) -> NotionError {
    NotionError::validation(format!(
        "body failed validation: {path}.{op} should be not present, instead was an unsupported condition."
    ))
}

fn parse_text(value: &Value, path: &str) -> Result<TextCond, NotionError> {
    let (op, v) = single_op(value, path)?;
    let p = format!("{path}.{op}");
    Ok(match op {
        "equals" => TextCond::Equals(want_string(v, &p)?),
        "does_not_equal" => TextCond::DoesNotEqual(want_string(v, &p)?),
        "contains" => TextCond::Contains(want_string(v, &p)?),
        "does_not_contain" => TextCond::DoesNotContain(want_string(v, &p)?),
        "starts_with" => TextCond::StartsWith(want_string(v, &p)?),
        "ends_with" => TextCond::EndsWith(want_string(v, &p)?),
        "is_empty" => {
            want_true(v, &p)?;
            TextCond::IsEmpty
        }
        "is_not_empty" => {
            want_true(v, &p)?;
            TextCond::IsNotEmpty
        }
        other => return Err(unknown_op(path, other)),
    })
}

fn want_number(v: &Value, path: &str) -> Result<f64, NotionError> {
    v.as_f64()
        .ok_or_else(|| NotionError::body(path, "a number", &quoted(Some(v))))
}

fn parse_number(value: &Value, path: &str) -> Result<NumberCond, NotionError> {
    let (op, v) = single_op(value, path)?;
    let p = format!("{path}.{op}");
    Ok(match op {
        "equals" => NumberCond::Equals(want_number(v, &p)?),
        "does_not_equal" => NumberCond::DoesNotEqual(want_number(v, &p)?),
        "greater_than" => NumberCond::GreaterThan(want_number(v, &p)?),
        "less_than" => NumberCond::LessThan(want_number(v, &p)?),
        "greater_than_or_equal_to" => NumberCond::GreaterThanOrEqualTo(want_number(v, &p)?),
        "less_than_or_equal_to" => NumberCond::LessThanOrEqualTo(want_number(v, &p)?),
        "is_empty" => {
            want_true(v, &p)?;
            NumberCond::IsEmpty
        }
        "is_not_empty" => {
            want_true(v, &p)?;
            NumberCond::IsNotEmpty
        }
        other => return Err(unknown_op(path, other)),
    })
}

fn parse_date_cond(value: &Value, path: &str) -> Result<DateCond, NotionError> {
    let (op, v) = single_op(value, path)?;
    let p = format!("{path}.{op}");
    let op = match op {
        "equals" => DateOp::Equals,
        "before" => DateOp::Before,
        "after" => DateOp::After,
        "on_or_before" => DateOp::OnOrBefore,
        "on_or_after" => DateOp::OnOrAfter,
        "is_empty" => {
            want_true(v, &p)?;
            return Ok(DateCond::IsEmpty);
        }
        "is_not_empty" => {
            want_true(v, &p)?;
            return Ok(DateCond::IsNotEmpty);
        }
        other => return Err(unknown_op(path, other)),
    };
    let text = want_string(v, &p)?;
    let (at, date_only) = clock::parse_date_or_datetime(&text)
        .ok_or_else(|| NotionError::body(&p, "a valid ISO 8601 date string", &quoted(Some(v))))?;
    Ok(DateCond::Compare { op, at, date_only })
}

/// Parses `body.filter` against a schema.
pub fn parse_filter(
    ds: &DataSource,
    value: &Value,
    path: &str,
    depth: usize,
) -> Result<Filter, NotionError> {
    let map = value
        .as_object()
        .ok_or_else(|| NotionError::body(path, "an object", &quoted(Some(value))))?;
    for (key, compound) in [("and", true), ("or", false)] {
        if let Some(list) = map.get(key) {
            if depth >= MAX_DEPTH {
                return Err(NotionError::validation(format!(
                    "body failed validation: {path}.{key} should be not present, instead was nested more than {MAX_DEPTH} levels deep."
                )));
            }
            let items = list.as_array().ok_or_else(|| {
                NotionError::body(&format!("{path}.{key}"), "an array", &quoted(Some(list)))
            })?;
            // A compound filter is a request array: at most 100 elements
            // (developers.notion.com/reference/request-limits, "Size limits").
            if items.len() > super::values::MAX_ARRAY {
                return Err(NotionError::body(
                    &format!("{path}.{key}.length"),
                    &format!("≤ `{}`", super::values::MAX_ARRAY),
                    &format!("`{}`", items.len()),
                ));
            }
            let mut filters = Vec::new();
            for (i, item) in items.iter().enumerate() {
                filters.push(parse_filter(
                    ds,
                    item,
                    &format!("{path}.{key}[{i}]"),
                    depth + 1,
                )?);
            }
            return Ok(if compound {
                Filter::And(filters)
            } else {
                Filter::Or(filters)
            });
        }
    }
    if let Some(timestamp) = map.get("timestamp") {
        let created = match timestamp.as_str() {
            Some("created_time") => true,
            Some("last_edited_time") => false,
            _ => {
                return Err(NotionError::body(
                    &format!("{path}.timestamp"),
                    "`\"created_time\"` or `\"last_edited_time\"`",
                    &quoted(Some(timestamp)),
                ))
            }
        };
        let key = if created {
            "created_time"
        } else {
            "last_edited_time"
        };
        let condition = map
            .get(key)
            .ok_or_else(|| NotionError::body(&format!("{path}.{key}"), "defined", "`undefined`"))?;
        return Ok(Filter::Timestamp {
            created,
            condition: parse_date_cond(condition, &format!("{path}.{key}"))?,
        });
    }
    let Some(property) = map.get("property") else {
        let expected = [
            "or",
            "and",
            "title",
            "rich_text",
            "number",
            "checkbox",
            "select",
            "multi_select",
            "date",
            "people",
            "url",
            "email",
            "phone_number",
            "created_time",
            "last_edited_time",
        ];
        let lines: Vec<String> = expected
            .iter()
            .map(|k| format!("{path}.{k} should be defined, instead was `undefined`."))
            .collect();
        return Err(NotionError::validation(format!(
            "body failed validation. Fix one:\n{}",
            lines.join("\n")
        )));
    };
    let name = want_string(property, &format!("{path}.property"))?;
    let def = ds.property(&name).ok_or_else(|| {
        NotionError::validation(format!("Could not find property with name or id: {name}"))
    })?;
    let filter_types: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "property" && *k != "type")
        .collect();
    let [filter_type] = filter_types.as_slice() else {
        return Err(NotionError::validation(format!(
            "body failed validation: {path} should name exactly one filter type, instead was {}.",
            quoted(Some(value))
        )));
    };
    let prop_type = def.kind.type_name();
    let compatible = *filter_type == prop_type
        || (matches!(*filter_type, "title" | "rich_text")
            && matches!(prop_type, "title" | "rich_text"))
        || (*filter_type == "date" && matches!(prop_type, "created_time" | "last_edited_time"))
        || (*filter_type == "people" && matches!(prop_type, "created_by" | "last_edited_by"));
    if !compatible {
        return Err(NotionError::validation(format!(
            "database property {prop_type} does not match filter {filter_type}"
        )));
    }
    let inner = &map[*filter_type];
    let inner_path = format!("{path}.{filter_type}");
    let condition = match *filter_type {
        "title" | "rich_text" | "url" | "email" | "phone_number" => {
            Condition::Text(parse_text(inner, &inner_path)?)
        }
        "number" => Condition::Number(parse_number(inner, &inner_path)?),
        "checkbox" => {
            let (op, v) = single_op(inner, &inner_path)?;
            let p = format!("{inner_path}.{op}");
            let b = v
                .as_bool()
                .ok_or_else(|| NotionError::body(&p, "a boolean", &quoted(Some(v))))?;
            match op {
                "equals" => Condition::Checkbox { equals: b },
                "does_not_equal" => Condition::Checkbox { equals: !b },
                other => return Err(unknown_op(&inner_path, other)),
            }
        }
        "select" => {
            let (op, v) = single_op(inner, &inner_path)?;
            let p = format!("{inner_path}.{op}");
            Condition::Select(match op {
                "equals" => SelectCond::Equals(want_string(v, &p)?),
                "does_not_equal" => SelectCond::DoesNotEqual(want_string(v, &p)?),
                "is_empty" => {
                    want_true(v, &p)?;
                    SelectCond::IsEmpty
                }
                "is_not_empty" => {
                    want_true(v, &p)?;
                    SelectCond::IsNotEmpty
                }
                other => return Err(unknown_op(&inner_path, other)),
            })
        }
        "multi_select" => Condition::MultiSelect(ListCond::parse(inner, &inner_path)?),
        "people" => Condition::People(ListCond::parse(inner, &inner_path)?),
        "date" => Condition::Date(parse_date_cond(inner, &inner_path)?),
        other => {
            return Err(NotionError::validation(format!(
                "The kodo sandbox does not emulate {other} filters."
            )))
        }
    };
    Ok(Filter::Property {
        prop_id: def.id.clone(),
        condition,
    })
}

/// Parses `body.sorts`.
pub fn parse_sorts(ds: &DataSource, value: &Value) -> Result<Vec<Sort>, NotionError> {
    let items = value
        .as_array()
        .ok_or_else(|| NotionError::body("body.sorts", "an array", &quoted(Some(value))))?;
    let mut sorts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("body.sorts[{i}]");
        let map: &Map<String, Value> = item
            .as_object()
            .ok_or_else(|| NotionError::body(&path, "an object", &quoted(Some(item))))?;
        let descending = match map.get("direction").and_then(Value::as_str) {
            Some("ascending") | None => false,
            Some("descending") => true,
            Some(_) => {
                return Err(NotionError::body(
                    &format!("{path}.direction"),
                    "`\"ascending\"` or `\"descending\"`",
                    &quoted(map.get("direction")),
                ))
            }
        };
        if let Some(property) = map.get("property") {
            let name = want_string(property, &format!("{path}.property"))?;
            let def = ds.property(&name).ok_or_else(|| {
                NotionError::validation(format!(
                    "Could not find sort property with name or id: {name}"
                ))
            })?;
            sorts.push(Sort::Property {
                prop_id: def.id.clone(),
                descending,
            });
        } else if let Some(timestamp) = map.get("timestamp") {
            let created = match timestamp.as_str() {
                Some("created_time") => true,
                Some("last_edited_time") => false,
                _ => {
                    return Err(NotionError::body(
                        &format!("{path}.timestamp"),
                        "`\"created_time\"` or `\"last_edited_time\"`",
                        &quoted(Some(timestamp)),
                    ))
                }
            };
            sorts.push(Sort::Timestamp {
                created,
                descending,
            });
        } else {
            return Err(NotionError::body(
                &format!("{path}.property"),
                "defined",
                "`undefined`",
            ));
        }
    }
    Ok(sorts)
}

fn text_of(value: Option<&StoredValue>) -> String {
    match value {
        Some(StoredValue::Text(runs)) => plain_text(runs),
        Some(StoredValue::Url(Some(s)))
        | Some(StoredValue::Email(Some(s)))
        | Some(StoredValue::Phone(Some(s))) => s.clone(),
        _ => String::new(),
    }
}

fn date_matches(cond: &DateCond, value: Option<OffsetDateTime>) -> bool {
    match cond {
        DateCond::IsEmpty => value.is_none(),
        DateCond::IsNotEmpty => value.is_some(),
        DateCond::Compare { op, at, date_only } => {
            let Some(value) = value else { return false };
            let ordering = if *date_only {
                value.date().cmp(&at.date())
            } else {
                value.cmp(at)
            };
            match op {
                DateOp::Equals => ordering == Ordering::Equal,
                DateOp::Before => ordering == Ordering::Less,
                DateOp::After => ordering == Ordering::Greater,
                DateOp::OnOrBefore => ordering != Ordering::Greater,
                DateOp::OnOrAfter => ordering != Ordering::Less,
            }
        }
    }
}

fn stored_date(value: Option<&StoredValue>) -> Option<OffsetDateTime> {
    match value {
        Some(StoredValue::Date(Some(d))) => clock::parse_date_or_datetime(&d.start).map(|p| p.0),
        _ => None,
    }
}

/// Whether a row passes a filter.
pub fn matches(ds: &DataSource, page: &Page, filter: &Filter) -> bool {
    match filter {
        Filter::And(all) => all.iter().all(|f| matches(ds, page, f)),
        Filter::Or(any) => any.iter().any(|f| matches(ds, page, f)),
        Filter::Timestamp { created, condition } => {
            let at = if *created { page.created } else { page.edited };
            date_matches(condition, Some(clock::to_minute(at)))
        }
        Filter::Property { prop_id, condition } => {
            let Some(def) = ds.property_by_id(prop_id) else {
                return false;
            };
            let value = page.values.get(prop_id);
            match condition {
                Condition::Text(cond) => {
                    let text = text_of(value);
                    match cond {
                        TextCond::Equals(s) => &text == s,
                        TextCond::DoesNotEqual(s) => &text != s,
                        TextCond::Contains(s) => text.to_lowercase().contains(&s.to_lowercase()),
                        TextCond::DoesNotContain(s) => {
                            !text.to_lowercase().contains(&s.to_lowercase())
                        }
                        TextCond::StartsWith(s) => {
                            text.to_lowercase().starts_with(&s.to_lowercase())
                        }
                        TextCond::EndsWith(s) => text.to_lowercase().ends_with(&s.to_lowercase()),
                        TextCond::IsEmpty => text.is_empty(),
                        TextCond::IsNotEmpty => !text.is_empty(),
                    }
                }
                Condition::Number(cond) => {
                    let n = match value {
                        Some(StoredValue::Number(Some(n))) => n.as_f64(),
                        _ => None,
                    };
                    match (cond, n) {
                        (NumberCond::IsEmpty, n) => n.is_none(),
                        (NumberCond::IsNotEmpty, n) => n.is_some(),
                        (_, None) => matches!(cond, NumberCond::DoesNotEqual(_)),
                        (NumberCond::Equals(x), Some(n)) => n == *x,
                        (NumberCond::DoesNotEqual(x), Some(n)) => n != *x,
                        (NumberCond::GreaterThan(x), Some(n)) => n > *x,
                        (NumberCond::LessThan(x), Some(n)) => n < *x,
                        (NumberCond::GreaterThanOrEqualTo(x), Some(n)) => n >= *x,
                        (NumberCond::LessThanOrEqualTo(x), Some(n)) => n <= *x,
                    }
                }
                Condition::Checkbox { equals } => {
                    let b = matches!(value, Some(StoredValue::Checkbox(true)));
                    b == *equals
                }
                Condition::Select(cond) => {
                    let name = match (value, def.kind.options()) {
                        (Some(StoredValue::Select(Some(id))), Some(options)) => {
                            options.iter().find(|o| &o.id == id).map(|o| o.name.clone())
                        }
                        _ => None,
                    };
                    match cond {
                        SelectCond::Equals(s) => name.as_deref() == Some(s.as_str()),
                        SelectCond::DoesNotEqual(s) => name.as_deref() != Some(s.as_str()),
                        SelectCond::IsEmpty => name.is_none(),
                        SelectCond::IsNotEmpty => name.is_some(),
                    }
                }
                Condition::MultiSelect(cond) => {
                    let names: Vec<String> = match (value, def.kind.options()) {
                        (Some(StoredValue::MultiSelect(ids)), Some(options)) => ids
                            .iter()
                            .filter_map(|id| options.iter().find(|o| &o.id == id))
                            .map(|o| o.name.clone())
                            .collect(),
                        _ => Vec::new(),
                    };
                    cond.matches(names.len(), |name| names.iter().any(|n| n == name))
                }
                Condition::People(cond) => {
                    let people: Vec<String> = match (&def.kind, value) {
                        (PropKind::CreatedBy, _) => vec![page.created_by.clone()],
                        (PropKind::LastEditedBy, _) => vec![page.last_edited_by.clone()],
                        (_, Some(StoredValue::People(ids))) => ids.clone(),
                        _ => Vec::new(),
                    };
                    cond.matches(people.len(), |id| {
                        crate::ids::normalize(id).is_some_and(|id| people.contains(&id))
                    })
                }
                Condition::Date(cond) => {
                    let at = match def.kind {
                        PropKind::CreatedTime => Some(clock::to_minute(page.created)),
                        PropKind::LastEditedTime => Some(clock::to_minute(page.edited)),
                        _ => stored_date(value),
                    };
                    date_matches(cond, at)
                }
            }
        }
    }
}

fn sort_key_cmp(ds: &DataSource, a: &Page, b: &Page, prop_id: &str) -> Ordering {
    let Some(def) = ds.property_by_id(prop_id) else {
        return Ordering::Equal;
    };
    let (va, vb) = (a.values.get(prop_id), b.values.get(prop_id));
    // Empty values sort last in ascending order, as in Notion.
    fn empty_last<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    match &def.kind {
        PropKind::Number { .. } => {
            let num = |v: Option<&StoredValue>| match v {
                Some(StoredValue::Number(Some(n))) => n.as_f64(),
                _ => None,
            };
            match (num(va), num(vb)) {
                (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
        PropKind::Checkbox => {
            let b = |v: Option<&StoredValue>| matches!(v, Some(StoredValue::Checkbox(true)));
            b(va).cmp(&b(vb))
        }
        PropKind::Select { options } => {
            let pos = |v: Option<&StoredValue>| match v {
                Some(StoredValue::Select(Some(id))) => options.iter().position(|o| &o.id == id),
                _ => None,
            };
            empty_last(pos(va), pos(vb))
        }
        PropKind::Date => empty_last(stored_date(va), stored_date(vb)),
        PropKind::CreatedTime => a.created.cmp(&b.created),
        PropKind::LastEditedTime => a.edited.cmp(&b.edited),
        _ => {
            let text = |v: Option<&StoredValue>| {
                let t = text_of(v);
                (!t.is_empty()).then(|| t.to_lowercase())
            };
            empty_last(text(va), text(vb))
        }
    }
}

/// Orders rows by the sorts, then creation time ascending, then id.
pub fn sort_pages(ds: &DataSource, pages: &mut [&Page], sorts: &[Sort]) {
    pages.sort_by(|a, b| {
        for sort in sorts {
            let (ordering, descending) = match sort {
                Sort::Property {
                    prop_id,
                    descending,
                } => (sort_key_cmp(ds, a, b, prop_id), *descending),
                Sort::Timestamp {
                    created,
                    descending,
                } => {
                    let ordering = if *created {
                        a.created.cmp(&b.created)
                    } else {
                        a.edited.cmp(&b.edited)
                    };
                    (ordering, *descending)
                }
            };
            let ordering = if descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        a.created
            .cmp(&b.created)
            .then(a.seq.cmp(&b.seq))
            .then(a.id.cmp(&b.id))
    });
}

/// `page_size` and `start_cursor` of a paginated request, validated.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub page_size: usize,
    pub start_cursor: Option<String>,
}

/// Validates `page_size` (1..=100, default 100) and `start_cursor` (a string; `null`
/// rejected) found at `prefix` (`body` or `query`).
pub fn parse_page_request(
    page_size: Option<&Value>,
    start_cursor: Option<&Value>,
    prefix: &str,
) -> Result<PageRequest, NotionError> {
    let fail = |path: &str, expected: &str, actual: &str| {
        let message = format!(
            "{prefix} failed validation: {prefix}.{path} should be {expected}, instead was {actual}."
        );
        NotionError::validation(message)
    };
    let page_size = match page_size {
        None => 100,
        Some(v) => {
            let n = v
                .as_u64()
                .ok_or_else(|| fail("page_size", "a number", &quoted(Some(v))))?;
            if n > 100 {
                return Err(fail("page_size", "≤ `100`", &format!("`{n}`")));
            }
            if n < 1 {
                return Err(fail("page_size", "≥ `1`", &format!("`{n}`")));
            }
            n as usize
        }
    };
    let start_cursor = match start_cursor {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(fail(
                "start_cursor",
                "a string or `undefined`",
                &quoted(Some(other)),
            ))
        }
    };
    Ok(PageRequest {
        page_size,
        start_cursor,
    })
}
