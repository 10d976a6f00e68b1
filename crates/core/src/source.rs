//! PostHog objects as the sync engine reads them: lenient views of PostHog's JSON.
//!
//! These are the normaliser's input. They deserialize from the JSON PostHog's REST API returns
//! (list items, single objects, and the bodies its MCP tools pass around), so the same code
//! serves a full import and the Claude Code hook's one-object upsert.
//!
//! **Invariants.** Decoding never fails on a missing field, an explicit `null` where a list,
//! object or boolean is expected, or a field PostHog added later: every such field takes its
//! empty value. Only a missing identity (an event's `name`, a flag's `key`, a dashboard's `id`)
//! is an error.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `null` or absent → the type's default.
fn nullable<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// A PostHog user as embedded in other objects (`created_by`, `owner`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhUser {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
}

/// An event definition.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhEvent {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub owner: Option<PhUser>,
    #[serde(default)]
    pub created_by: Option<PhUser>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub last_seen_at: Option<String>,
}

/// A feature flag.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhFlag {
    #[serde(default)]
    pub id: Option<i64>,
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub active: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub deleted: bool,
    /// Archived: done for good and disabled (PostHog/posthog PR #63338).
    #[serde(default, deserialize_with = "nullable")]
    pub archived: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub filters: PhFilters,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub created_by: Option<PhUser>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    /// IDs of the experiments that use the flag.
    #[serde(default, deserialize_with = "nullable")]
    pub experiment_set: Vec<Value>,
}

/// A flag's release conditions.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhFilters {
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<PhGroup>,
    #[serde(default)]
    pub multivariate: Option<PhMultivariate>,
}

/// One condition group: who matches, and what share of them gets the flag.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhGroup {
    #[serde(default, deserialize_with = "nullable")]
    pub properties: Vec<PhProperty>,
    /// `None` (JSON `null`) means 100%.
    #[serde(default)]
    pub rollout_percentage: Option<f64>,
    #[serde(default)]
    pub variant: Option<String>,
}

/// One property filter of a condition group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhProperty {
    #[serde(default)]
    pub key: Value,
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// A multivariate flag's variants.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhMultivariate {
    #[serde(default, deserialize_with = "nullable")]
    pub variants: Vec<PhVariant>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhVariant {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub rollout_percentage: Option<f64>,
}

/// An experiment (active or archived).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhExperiment {
    #[serde(default)]
    pub id: Option<i64>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub feature_flag_key: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub archived: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub deleted: bool,
    #[serde(default)]
    pub created_by: Option<PhUser>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub metrics: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub metrics_secondary: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub saved_metrics: Vec<Value>,
    /// The oldest experiments' primary metric (`{events, actions, insight}`).
    #[serde(default)]
    pub filters: Value,
    /// The oldest experiments' secondary metrics (`[{name, filters}]`).
    #[serde(default, deserialize_with = "nullable")]
    pub secondary_metrics: Vec<Value>,
    /// The flag PostHog embeds (its `active` tells a paused experiment from a running one).
    #[serde(default)]
    pub feature_flag: Value,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub conclusion_comment: Option<String>,
}

/// A dashboard.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PhDashboard {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub pinned: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub created_by: Option<PhUser>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub deleted: bool,
}

/// Everything fetched from PostHog for the resources asked.
#[derive(Debug, Clone, Default)]
pub struct PostHogData {
    pub events: Vec<PhEvent>,
    pub flags: Vec<PhFlag>,
    pub experiments: Vec<PhExperiment>,
    pub dashboards: Vec<PhDashboard>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_decode_as_empty_values() {
        let flag: PhFlag = serde_json::from_value(serde_json::json!({
            "key": "k", "filters": null, "tags": null, "active": null, "extra": {"x": 1}
        }))
        .unwrap();
        assert_eq!(flag.key, "k");
        assert!(flag.filters.groups.is_empty());
        assert!(flag.tags.is_empty());
        assert!(!flag.active);
        let missing = serde_json::from_value::<PhFlag>(serde_json::json!({"id": 1}));
        assert!(missing.is_err());
    }
}
