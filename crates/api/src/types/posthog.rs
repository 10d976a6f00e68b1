//! PostHog's objects as kodo reads them: lenient views of the JSON its REST API returns (list
//! items, single objects) and its MCP tools pass around.
//!
//! **Invariants.** Decoding never fails on a missing field, an explicit `null` where a list,
//! object or boolean is expected, or a field PostHog added later: every such field takes its
//! empty value. These types need only serde, so the pure pipeline (`kodo-core`) can use them
//! without the HTTP client (the crate's `client` feature).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The creator/owner of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserBasic {
    /// E-mail (empty when unknown).
    #[serde(deserialize_with = "null_default")]
    pub email: String,
    /// First name.
    #[serde(deserialize_with = "null_default")]
    pub first_name: String,
    /// Last name.
    #[serde(deserialize_with = "null_default")]
    pub last_name: String,
}

/// One member of a PostHog organization (`OrganizationMemberSerializer`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationMember {
    /// The membership's id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// The member.
    #[serde(deserialize_with = "null_default")]
    pub user: UserBasic,
    /// 1 member, 8 admin, 15 owner.
    pub level: Option<u16>,
}

/// Whether the organization's members could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembersAccess {
    /// Every current member.
    Members(Vec<OrganizationMember>),
    /// The key may not read them (it lacks the `organization_member:read` scope).
    NotAllowed,
}

/// One release-condition group of a flag.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FlagGroup {
    /// Share of matching users, 0–100; `None` (JSON null) means 100.
    pub rollout_percentage: Option<f64>,
    /// Property filters (who matches).
    #[serde(deserialize_with = "null_default")]
    pub properties: Vec<PropertyFilter>,
    /// Variant override for this group.
    pub variant: Option<String>,
}

/// One property filter of a condition group (`{"key", "value", "operator", "type"}`; `type`
/// `cohort` means "members of cohort `value`").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PropertyFilter {
    /// The property (a string, or whatever PostHog stored).
    pub key: Value,
    /// The value compared against.
    pub value: Value,
    /// `exact`, `is_not`, `icontains`, …; `None` means `exact`.
    #[serde(deserialize_with = "lenient_string")]
    pub operator: Option<String>,
    /// `person`, `cohort`, `group`, …
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
}

/// One variant of a multivariate flag.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Variant {
    /// Variant key (`control`, `test`, …).
    #[serde(deserialize_with = "null_default")]
    pub key: String,
    /// Optional description.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Share of users, 0–100 (`None` when PostHog gave none).
    pub rollout_percentage: Option<f64>,
}

/// A flag's variants.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Multivariate {
    /// The variants.
    #[serde(deserialize_with = "null_default")]
    pub variants: Vec<Variant>,
}

/// A flag's targeting.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FlagFilters {
    /// Release-condition groups.
    #[serde(deserialize_with = "null_default")]
    pub groups: Vec<FlagGroup>,
    /// Variants, for multivariate flags.
    pub multivariate: Option<Multivariate>,
}

/// A feature flag.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureFlag {
    /// Flag id.
    pub id: i64,
    /// Flag key (what code checks).
    #[serde(deserialize_with = "null_default")]
    pub key: String,
    /// Description (may be empty).
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Whether the flag is on.
    #[serde(deserialize_with = "null_default")]
    pub active: bool,
    /// Soft-deleted (only seen when fetched by id). Its key may then be tombstoned as
    /// `<key>:deleted:<id>` (see [`FeatureFlag::key_without_tombstone`]).
    #[serde(deserialize_with = "null_default")]
    pub deleted: bool,
    /// Archived: done for good, disabled, left out of the default list (PR #63338).
    #[serde(deserialize_with = "null_default")]
    pub archived: bool,
    /// Targeting.
    #[serde(deserialize_with = "null_default")]
    pub filters: FlagFilters,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update time.
    pub updated_at: Option<String>,
    /// Creator.
    #[serde(deserialize_with = "lenient")]
    pub created_by: Option<UserBasic>,
    /// Tags.
    #[serde(deserialize_with = "string_list")]
    pub tags: Vec<String>,
    /// Persist the value across authentication steps.
    #[serde(deserialize_with = "null_default")]
    pub ensure_experience_continuity: bool,
    /// IDs of the experiments that use the flag.
    #[serde(deserialize_with = "value_list")]
    pub experiment_set: Vec<Value>,
}

impl FeatureFlag {
    /// The flag's key as code knows it: a soft-deleted flag some experiment used has its key
    /// renamed to `<key>:deleted:<id>` (`FeatureFlag.tombstoned_key` /
    /// `key_without_tombstone`, products/feature_flags/backend/models/feature_flag.py), and
    /// only then is the suffix stripped.
    pub fn key_without_tombstone(&self) -> &str {
        strip_tombstone(&self.key, self.id, self.deleted)
    }
}

/// `key` without the `:deleted:<id>` suffix PostHog gives a soft-deleted flag's key; any
/// other key (a live flag's, or a suffix with another id) is returned as it is.
pub fn strip_tombstone(key: &str, id: i64, deleted: bool) -> &str {
    let suffix = format!(":deleted:{id}");
    match key.strip_suffix(&suffix) {
        Some(original) if deleted => original,
        _ => key,
    }
}

/// An experiment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    /// Experiment id.
    pub id: i64,
    /// Name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Description (empty when none).
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    /// Key of the flag that splits traffic.
    #[serde(deserialize_with = "null_default")]
    pub feature_flag_key: String,
    /// The flag itself, when PostHog embeds it.
    #[serde(deserialize_with = "lenient")]
    pub feature_flag: Option<FeatureFlag>,
    /// Launch time; `None` for a draft.
    pub start_date: Option<String>,
    /// Stop time.
    pub end_date: Option<String>,
    /// Archived.
    #[serde(deserialize_with = "null_default")]
    pub archived: bool,
    /// Soft-deleted.
    #[serde(deserialize_with = "null_default")]
    pub deleted: bool,
    /// Creator.
    #[serde(deserialize_with = "lenient")]
    pub created_by: Option<UserBasic>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update time.
    pub updated_at: Option<String>,
    /// Primary metrics (raw query objects).
    #[serde(deserialize_with = "value_list")]
    pub metrics: Vec<Value>,
    /// Secondary metrics (raw query objects).
    #[serde(deserialize_with = "value_list")]
    pub metrics_secondary: Vec<Value>,
    /// Shared metrics linked to the experiment (raw `ExperimentToSavedMetric` objects:
    /// `name`, `query`, and `metadata.type` = `primary` or `secondary`).
    #[serde(deserialize_with = "value_list")]
    pub saved_metrics: Vec<Value>,
    /// PostHog's stored status: `draft`, `running` or `stopped` (`Experiment.Status`).
    pub status: Option<String>,
    /// The oldest experiments' metric (raw: `{events, actions, insight}`), from before
    /// `metrics` existed.
    pub filters: Value,
    /// The oldest experiments' secondary metrics (raw: `[{name, filters}]`).
    #[serde(deserialize_with = "value_list")]
    pub secondary_metrics: Vec<Value>,
    /// Parameters (raw: variants, sample size, …).
    pub parameters: Value,
    /// Conclusion (`won`, `lost`, `inconclusive`, …).
    pub conclusion: Option<String>,
    /// Conclusion comment.
    pub conclusion_comment: Option<String>,
}

/// A dashboard.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Dashboard {
    /// Dashboard id.
    pub id: i64,
    /// Name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Description.
    #[serde(deserialize_with = "null_default")]
    pub description: String,
    /// Pinned.
    #[serde(deserialize_with = "null_default")]
    pub pinned: bool,
    /// Tags.
    #[serde(deserialize_with = "string_list")]
    pub tags: Vec<String>,
    /// Creator.
    #[serde(deserialize_with = "lenient")]
    pub created_by: Option<UserBasic>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Soft-deleted.
    #[serde(deserialize_with = "null_default")]
    pub deleted: bool,
}

/// A property definition: a property PostHog has seen, with its type
/// (`PropertyDefinitionSerializer` in PostHog/posthog `posthog/api/property_definition.py`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PropertyDefinition {
    /// Definition id (a UUID).
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// Property name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub is_numerical: bool,
    /// `DateTime`, `String`, `Numeric`, `Boolean` or `Duration` (`PropertyType` in
    /// `posthog/models/property_definition.py`); `None` when PostHog has not typed it.
    pub property_type: Option<String>,
    /// Whether it was seen with the events asked for (`null` when none were).
    pub is_seen_on_filtered_events: Option<bool>,
}

/// An event definition (an event name PostHog has seen or that was defined).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EventDefinition {
    /// Definition id (a UUID).
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// Event name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    #[serde(deserialize_with = "string_list")]
    pub tags: Vec<String>,
    /// Owner.
    #[serde(deserialize_with = "lenient")]
    pub owner: Option<UserBasic>,
    /// Who defined it.
    #[serde(deserialize_with = "lenient")]
    pub created_by: Option<UserBasic>,
    /// When it was first defined/seen.
    pub created_at: Option<String>,
    /// Last change to the definition.
    pub updated_at: Option<String>,
    /// Last time the event was seen.
    pub last_seen_at: Option<String>,
    /// Verified.
    #[serde(deserialize_with = "null_default")]
    pub verified: bool,
}

fn null_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Any shape: an object that decodes becomes `Some`, anything else (null, an id) `None`.
fn lenient<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// A list of strings; `null`, and non-string items (PostHog's schema allows `[null]`), are
/// dropped.
fn string_list<'de, D>(d: D) -> std::result::Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// A JSON array's items; `null` or any other shape gives no items.
fn value_list<'de, D>(d: D) -> std::result::Result<Vec<Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items,
        _ => Vec::new(),
    })
}

/// A string; `null` or any other shape gives `None`.
fn lenient_string<'de, D>(d: D) -> std::result::Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

fn id_string<'de, D>(d: D) -> std::result::Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_and_odd_shapes_decode_as_empty_values() {
        let flag: FeatureFlag = serde_json::from_value(json!({
            "key": "k", "filters": null, "tags": null, "active": null, "extra": {"x": 1},
            "experiment_set": null
        }))
        .unwrap();
        assert_eq!(flag.key, "k");
        assert!(flag.filters.groups.is_empty());
        assert!(flag.tags.is_empty());
        assert!(!flag.active);
        assert!(flag.experiment_set.is_empty());
        let x: Experiment = serde_json::from_value(json!({
            "name": "x", "metrics": null, "metrics_secondary": {"not": "a list"},
            "saved_metrics": [{"name": "m", "metadata": {"type": "primary"}}]
        }))
        .unwrap();
        assert!(x.metrics.is_empty() && x.metrics_secondary.is_empty());
        assert_eq!(x.saved_metrics[0]["metadata"]["type"], "primary");
        let group: FlagGroup = serde_json::from_value(json!({
            "properties": [{"key": "email", "value": "@x.com", "operator": null, "type": 3}]
        }))
        .unwrap();
        assert_eq!(group.properties[0].operator, None);
        assert_eq!(group.properties[0].kind, None);
    }
}
