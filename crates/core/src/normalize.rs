//! PostHog objects → the one model: each becomes a [`Desired`] record, the Notion row kodo
//! would write for it.
//!
//! **Invariants.**
//! - Pure: no I/O. The inputs are PostHog's objects, the Notion users (email → id), the code
//!   scan's facts and the config; the same inputs always give the same records.
//! - A record only carries properties kodo has a value for. A property absent from
//!   [`Record::props`] is never written, so what kodo cannot know (a missing description, an
//!   owner who is not a Notion user, a flag's Related PR before the code scan) is left as the
//!   team wrote it — empty, never wrong.
//! - Values that are only a default guess (a flag Type of `release` because nothing else
//!   applied, an event Category of `engagement`, a dashboard Category of `product`) are listed
//!   in [`Desired::soft`]: they fill an empty property and never replace a value.
//! - Statuses come from [`model::flag_status`] and [`model::experiment_status`], the spec's
//!   tables. A flag's effective rollout is what its groups give: a group's `null` rollout is
//!   100%, no groups is 0%; with several groups the status uses the largest, "Rollout %" is set
//!   only when every group has the same rollout, and "Targeting" spells the groups out.
//! - Dates are days (`YYYY-MM-DD`, the prefix of PostHog's timestamps).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::model::{self, format_number, props, MatchKeys, PropValue, Record, Resource};

use kodo_api::types::posthog::{
    Dashboard, EventDefinition, Experiment, FeatureFlag, FlagFilters, FlagGroup, PropertyFilter,
    UserBasic,
};

/// Everything fetched from PostHog for the resources asked.
#[derive(Debug, Clone, Default)]
pub struct PostHogData {
    pub events: Vec<EventDefinition>,
    pub flags: Vec<FeatureFlag>,
    pub experiments: Vec<Experiment>,
    pub dashboards: Vec<Dashboard>,
    /// Documented flags that left PostHog's list and were found deleted by ID.
    pub deleted_flags: Vec<FeatureFlag>,
}

impl PostHogData {
    /// One object of `resource` as PostHog returns it (the Claude hook's MCP output), decoded
    /// into its resource's type. Decoding is the one thing that differs per resource here.
    pub fn from_object(
        resource: Resource,
        object: &Value,
    ) -> Result<PostHogData, serde_json::Error> {
        let mut data = PostHogData::default();
        let object = object.clone();
        match resource {
            Resource::Events => data.events.push(serde_json::from_value(object)?),
            Resource::Flags => data.flags.push(serde_json::from_value(object)?),
            Resource::Experiments => data.experiments.push(serde_json::from_value(object)?),
            Resource::Dashboards => data.dashboards.push(serde_json::from_value(object)?),
        }
        Ok(data)
    }

    /// The PostHog ids of `resource`'s objects as listed (event definitions have UUIDs: none).
    pub fn ids(&self, resource: Resource) -> std::collections::BTreeSet<i64> {
        match resource {
            Resource::Events => Default::default(),
            Resource::Flags => self.flags.iter().map(|f| f.id).collect(),
            Resource::Experiments => self.experiments.iter().map(|x| x.id).collect(),
            Resource::Dashboards => self.dashboards.iter().map(|d| d.id).collect(),
        }
    }
}

/// What the code scan found, keyed by event name / flag key. Empty when no scan ran.
#[derive(Debug, Clone, Default)]
pub struct ScanFacts {
    /// Event name → `frontend`, `backend` or `both`.
    pub tracked_on: HashMap<String, String>,
    /// Flag key → URL of the pull request that introduced it.
    pub related_pr: HashMap<String, String>,
}

/// Notion users by e-mail, to fill People properties.
#[derive(Debug, Clone, Default)]
pub struct People {
    by_email: HashMap<String, String>,
}

impl People {
    /// From `(email, user id)` pairs; e-mails compare case-insensitively.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> People {
        People {
            by_email: pairs
                .into_iter()
                .map(|(email, id)| (email.trim().to_ascii_lowercase(), id.to_string()))
                .collect(),
        }
    }

    /// The Notion user with this e-mail.
    pub fn lookup(&self, email: &str) -> Option<&str> {
        self.by_email
            .get(&email.trim().to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_email.is_empty()
    }

    /// Only the people whose e-mail `keep` accepts (lower-cased e-mails).
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.by_email.retain(|email, _| keep(email));
    }
}

/// The config's rules the normaliser follows (`sync.*` in `.kodo/config.json`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    /// Keep PostHog's own `$` events (`sync.include_builtin_events`).
    pub include_builtin_events: bool,
    /// Flag key pattern → Type (`sync.flag_types`).
    pub flag_types: BTreeMap<String, String>,
    /// Event name pattern → Category (`sync.event_categories`).
    pub event_categories: BTreeMap<String, String>,
}

/// Everything besides the PostHog object that decides a record.
#[derive(Debug, Clone, Copy)]
pub struct Normalizer<'a> {
    /// PostHog app URL, e.g. `https://us.posthog.com`.
    pub region_url: &'a str,
    pub project_id: &'a str,
    pub rules: &'a Rules,
    pub people: &'a People,
    pub scan: &'a ScanFacts,
}

/// A record as kodo would write it, with what the planner and reports need to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub record: Record,
    /// Properties whose value is only a default: they fill an empty property, never replace.
    pub soft: BTreeSet<&'static str>,
    /// The PostHog state in a few words, for reports: `active at 25%`, `inactive`, `running`.
    pub detail: Option<String>,
    /// Deleted in PostHog (a flag found by ID after it left the list): documented as
    /// `archived`, not counted among PostHog's resources.
    pub deleted: bool,
    /// PostHog's numeric ID (flags, experiments, dashboards).
    pub posthog_id: Option<i64>,
    /// Who PostHog says created (or owns) the resource, when it names someone with an e-mail:
    /// the owner the hygiene findings suggest.
    pub creator: Option<Creator>,
    /// How PostHog serves the flag (flags only): what the audit's code section judges a
    /// check of it by, read once, here, beside the status it decides.
    pub serving: Option<Serving>,
}

/// How PostHog serves a flag, as the normaliser read it: the facts behind its status that the
/// status alone does not keep (the audit's code section judges checks of the flag by them).
#[derive(Debug, Clone, PartialEq)]
pub struct Serving {
    /// PostHog evaluates it (`active`).
    pub active: bool,
    /// Archived in PostHog (listed, not deleted; PR #63338): done for good, as a deleted one.
    pub archived: bool,
    /// Its effective rollout: the one its status is decided by.
    pub rollout: Rollout,
    /// PostHog's last change (`updated_at`), as PostHog wrote it.
    pub updated_at: Option<String>,
}

/// A PostHog user named as a resource's creator or owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creator {
    pub email: String,
    /// First and last name, or the e-mail when PostHog has no name.
    pub name: String,
}

impl Creator {
    /// The first of `users` with an e-mail.
    pub fn first_of(users: &[Option<&UserBasic>]) -> Option<Creator> {
        users.iter().flatten().find_map(|u| {
            let email = u.email.trim();
            if email.is_empty() {
                return None;
            }
            let name = format!("{} {}", u.first_name.trim(), u.last_name.trim());
            let name = name.trim();
            Some(Creator {
                email: email.to_string(),
                name: if name.is_empty() { email } else { name }.to_string(),
            })
        })
    }
}

impl Desired {
    fn new(resource: Resource, key: String, keys: MatchKeys) -> Desired {
        Desired {
            record: Record {
                resource,
                key,
                keys,
                status: None,
                props: Default::default(),
            },
            soft: BTreeSet::new(),
            detail: None,
            deleted: false,
            posthog_id: None,
            creator: None,
            serving: None,
        }
    }

    fn set(&mut self, name: &'static str, value: PropValue) {
        debug_assert!(
            self.record.resource.schema().property(name).is_some(),
            "{name} is not a property of {}",
            self.record.resource
        );
        self.record.props.insert(name, value);
    }

    fn set_text(&mut self, name: &'static str, value: Option<&str>) {
        if let Some(text) = value.map(str::trim).filter(|s| !s.is_empty()) {
            self.set(name, PropValue::Text(text.to_string()));
        }
    }

    fn set_date(&mut self, name: &'static str, value: Option<&str>) {
        if let Some(date) = value.and_then(day) {
            self.set(name, PropValue::Date(Some(date)));
        }
    }

    fn set_owner(&mut self, people: &People, users: &[Option<&UserBasic>]) {
        self.creator = Creator::first_of(users);
        let id = users
            .iter()
            .flatten()
            .map(|u| u.email.as_str())
            .filter(|email| !email.trim().is_empty())
            .find_map(|email| people.lookup(email));
        if let Some(id) = id {
            self.set(props::OWNER, PropValue::People(vec![id.to_string()]));
        }
    }

    fn set_status(&mut self, property: &'static str, status: &str) {
        self.record.status = Some(status.to_string());
        self.set(property, PropValue::Select(Some(status.to_string())));
    }
}

/// The `YYYY-MM-DD` prefix of a PostHog timestamp, if it has one.
pub fn day(timestamp: &str) -> Option<String> {
    let s = timestamp.trim();
    let prefix = s.get(..10)?;
    let bytes = prefix.as_bytes();
    let shape = bytes.iter().enumerate().all(|(i, b)| match i {
        4 | 7 => *b == b'-',
        _ => b.is_ascii_digit(),
    });
    shape.then(|| prefix.to_string())
}

/// Whether an event is one of PostHog's own (`$pageview`, `$autocapture`, …).
pub fn is_builtin_event(name: &str) -> bool {
    name.starts_with('$')
}

/// An event name's domain: its first segment with the separator (`user_signed_up` →
/// `user_`). Names without a separator have none.
pub fn event_domain(name: &str) -> Option<String> {
    let at = name.find(['_', '-', '.', ':'])?;
    (at > 0).then(|| name[..=at].to_string())
}

/// An event's category and whether it is only the default guess.
pub fn event_category(
    name: &str,
    overrides: &std::collections::BTreeMap<String, String>,
) -> (String, bool) {
    if let Some(category) = overrides.get(name) {
        return (category.clone(), false);
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("error_") || lower.starts_with("error-") || lower.starts_with("error.") {
        return ("error".into(), false);
    }
    if lower.starts_with("system_") || lower.starts_with("system-") || lower.starts_with("system.")
    {
        return ("system".into(), false);
    }
    if completes_conversion(name) {
        return ("conversion".into(), false);
    }
    ("engagement".into(), true)
}

/// Lower-case words of a name, split at separators and camelCase boundaries.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Names that complete a purchase, signup, subscription or checkout: `order_placed`,
/// `purchase_completed`, `user_signed_up`, `subscription_created`, `checkout_completed`.
/// Starting, viewing, failing or cancelling one is not a conversion.
fn completes_conversion(name: &str) -> bool {
    let w = words(name);
    let has = |word: &str| w.iter().any(|x| x == word);
    const NEGATIVE: &[&str] = &[
        "started",
        "start",
        "viewed",
        "view",
        "clicked",
        "opened",
        "failed",
        "failure",
        "error",
        "abandoned",
        "cancelled",
        "canceled",
        "cancel",
        "declined",
        "expired",
        "removed",
        "deleted",
        "refunded",
        "attempted",
        "initiated",
    ];
    if NEGATIVE.iter().any(|n| has(n)) {
        return false;
    }
    // Past participles that are themselves the completion.
    let signed_up = w.windows(2).any(|p| p[0] == "signed" && p[1] == "up");
    const DONE_VERBS: &[&str] = &[
        "purchased",
        "subscribed",
        "signedup",
        "registered",
        "converted",
        "checkedout",
    ];
    if signed_up || DONE_VERBS.iter().any(|v| has(v)) {
        return true;
    }
    const SUBJECTS: &[&str] = &[
        "purchase",
        "order",
        "payment",
        "signup",
        "registration",
        "subscription",
        "checkout",
    ];
    const COMPLETIONS: &[&str] = &[
        "completed",
        "complete",
        "succeeded",
        "success",
        "successful",
        "placed",
        "confirmed",
        "created",
        "activated",
        "paid",
        "finished",
    ];
    SUBJECTS.iter().any(|s| has(s)) && COMPLETIONS.iter().any(|c| has(c))
}

/// A flag's Type and whether it is only the default guess.
pub fn flag_type(
    key: &str,
    used_by_experiment: bool,
    overrides: &std::collections::BTreeMap<String, String>,
) -> (String, bool) {
    if let Some(kind) = overrides.get(key) {
        return (kind.clone(), false);
    }
    if used_by_experiment {
        return ("experiment".into(), false);
    }
    let lower = key.to_ascii_lowercase();
    for (prefix, kind) in [
        ("release", "release"),
        ("ops", "ops"),
        ("beta", "beta"),
        ("config", "config"),
        ("exp", "experiment"),
    ] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            if rest.starts_with('_') || rest.starts_with('-') {
                return (kind.into(), false);
            }
        }
    }
    ("release".into(), true)
}

/// A flag's effective rollout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rollout {
    /// The largest share any group gets (decides the status).
    pub max: f64,
    /// The share, when every group has the same one.
    pub uniform: Option<f64>,
    pub groups: usize,
    /// Whether every user gets the flag: a condition group without property filters at 100%
    /// (groups are alternatives), and no variants (a multivariate flag returns a variant).
    pub everyone: bool,
}

/// Whether PostHog is done with the flag for good: deleted, or archived (PR #63338). The
/// normaliser documents such a flag as retired (`archived`), and the audit's code section
/// calls a check of it dead: one rule for both.
pub fn flag_retired(flag: &FeatureFlag) -> bool {
    flag.deleted || flag.archived
}

pub fn rollout(filters: &FlagFilters) -> Rollout {
    if filters.groups.is_empty() {
        return Rollout {
            max: 0.0,
            uniform: Some(0.0),
            groups: 0,
            everyone: false,
        };
    }
    let shares: Vec<f64> = filters.groups.iter().map(group_share).collect();
    let max = shares.iter().copied().fold(0.0, f64::max);
    let uniform = shares
        .iter()
        .all(|s| (s - shares[0]).abs() < 1e-9)
        .then_some(shares[0]);
    let multivariate = filters
        .multivariate
        .as_ref()
        .is_some_and(|m| !m.variants.is_empty());
    let everyone = !multivariate
        && filters
            .groups
            .iter()
            .zip(&shares)
            .any(|(g, share)| g.properties.is_empty() && *share >= 100.0);
    Rollout {
        max,
        uniform,
        groups: shares.len(),
        everyone,
    }
}

fn group_share(group: &FlagGroup) -> f64 {
    group.rollout_percentage.unwrap_or(100.0).clamp(0.0, 100.0)
}

/// A flag's state in a few words: `active at 25%`, `inactive`, `deleted`, `archived`.
pub fn flag_detail(flag: &FeatureFlag) -> String {
    if flag.deleted {
        return "deleted".into();
    }
    if flag.archived {
        return "archived".into();
    }
    if !flag.active {
        return "inactive".into();
    }
    let r = rollout(&flag.filters);
    match r.uniform {
        Some(share) => format!("active at {}%", format_number(share)),
        None => format!(
            "active at up to {}% ({} condition groups)",
            format_number(r.max),
            r.groups
        ),
    }
}

/// A readable summary of a flag's release conditions and variants.
pub fn targeting(filters: &FlagFilters) -> String {
    let mut text = match filters.groups.as_slice() {
        [] => "No release conditions: nobody gets the flag".to_string(),
        [only] => describe_group(only),
        groups => format!(
            "{} condition groups: {}",
            groups.len(),
            groups
                .iter()
                .map(describe_group)
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    if let Some(mv) = &filters.multivariate {
        if !mv.variants.is_empty() {
            let variants: Vec<String> = mv
                .variants
                .iter()
                .map(|v| match v.rollout_percentage {
                    Some(p) => format!("{} {}%", v.key, format_number(p)),
                    None => v.key.clone(),
                })
                .collect();
            text.push_str(&format!("; variants: {}", variants.join(", ")));
        }
    }
    text
}

fn describe_group(group: &FlagGroup) -> String {
    let share = format!("{}%", format_number(group_share(group)));
    let mut cohorts = Vec::new();
    let mut conditions = Vec::new();
    for p in &group.properties {
        if p.kind.as_deref() == Some("cohort") {
            cohorts.push(format!("cohort {}", value_text(&p.value)));
        } else {
            conditions.push(describe_condition(p));
        }
    }
    let mut text = share;
    if cohorts.is_empty() && conditions.is_empty() {
        text.push_str(" of all users");
    }
    if !cohorts.is_empty() {
        text.push_str(" of ");
        text.push_str(&cohorts.join(" and "));
    }
    if !conditions.is_empty() {
        text.push_str(" where ");
        text.push_str(&conditions.join(" and "));
    }
    if let Some(variant) = group.variant.as_deref().filter(|v| !v.is_empty()) {
        text.push_str(&format!(" (variant {variant})"));
    }
    text
}

fn describe_condition(p: &PropertyFilter) -> String {
    let key = value_text(&p.key);
    let op = p.operator.as_deref().unwrap_or("exact");
    let value = value_text(&p.value);
    let word = match op {
        "exact" => "is",
        "is_not" => "is not",
        "icontains" => "contains",
        "not_icontains" => "does not contain",
        "regex" => "matches",
        "not_regex" => "does not match",
        "gt" => ">",
        "gte" => ">=",
        "lt" => "<",
        "lte" => "<=",
        "is_set" => return format!("{key} is set"),
        "is_not_set" => return format!("{key} is not set"),
        "is_date_before" => "is before",
        "is_date_after" => "is after",
        "is_date_exact" => "is on",
        "in" => "is in",
        "not_in" => "is not in",
        other => other,
    };
    format!("{key} {word} {value}")
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items
            .iter()
            .map(value_text)
            .collect::<Vec<_>>()
            .join(" or "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Every `conclusion` PostHog has (`Experiment.conclusion` choices,
/// products/experiments/backend/models/experiment.py) and the spec's Result for it. `invalid`
/// (the data cannot be trusted) gave no answer, which the spec calls `inconclusive`.
pub const CONCLUSIONS: [(&str, &str); 5] = [
    ("won", "won"),
    ("lost", "lost"),
    ("inconclusive", "inconclusive"),
    ("stopped_early", "stopped_early"),
    ("invalid", "inconclusive"),
];

/// The Result for a PostHog `conclusion`; `None` for a value PostHog does not have.
pub fn experiment_result(conclusion: &str) -> Option<&'static str> {
    let conclusion = conclusion.trim();
    CONCLUSIONS
        .iter()
        .find(|(c, _)| *c == conclusion)
        .map(|(_, result)| *result)
}

/// Whether an experiment's legacy `filters` name no event or action.
fn filters_are_empty(filters: &Value) -> bool {
    ["events", "actions"].iter().all(|k| {
        filters
            .get(*k)
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    })
}

/// The legacy metric kinds (`LEGACY_METRIC_KINDS`, products/experiments/backend/models/
/// experiment.py) keep their query one level down: `count_query` (a TrendsQuery) or
/// `funnels_query` (a FunnelsQuery), each with `series`.
const LEGACY_METRIC_QUERIES: [(&str, &str, &str); 2] = [
    ("ExperimentTrendsQuery", "count_query", "trend"),
    ("ExperimentFunnelsQuery", "funnels_query", "funnel"),
];

/// Readable name of an experiment metric: its `name`, else what it measures
/// (`funnel: checkout_started → checkout_completed`, `mean of page_loaded`).
pub fn metric_name(metric: &Value) -> Option<String> {
    if let Some(name) = metric
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return Some(name.to_string());
    }
    // Saved metrics wrap the metric in `query`.
    if let Some(query) = metric.get("query").filter(|q| q.is_object()) {
        return metric_name(query);
    }
    // Legacy query kinds: the series is in the inner query.
    let kind = metric.get("kind").and_then(Value::as_str);
    if let Some((_, field, label)) = LEGACY_METRIC_QUERIES
        .iter()
        .find(|(k, _, _)| Some(*k) == kind)
    {
        let steps = legacy_steps(metric.get(*field).and_then(|q| q.get("series")));
        return (!steps.is_empty()).then(|| format!("{label}: {}", steps.join(" → ")));
    }
    // The oldest format: `filters` with `events`/`actions` and an `insight` kind.
    if metric.get("events").is_some() || metric.get("actions").is_some() {
        let mut steps = legacy_steps(metric.get("events"));
        steps.extend(legacy_steps(metric.get("actions")));
        let label = match metric.get("insight").and_then(Value::as_str) {
            Some("FUNNELS") => "funnel",
            _ => "trend",
        };
        return (!steps.is_empty()).then(|| format!("{label}: {}", steps.join(" → ")));
    }
    let node = |n: &Value| -> Option<String> {
        n.get("custom_name")
            .or_else(|| n.get("event"))
            .or_else(|| n.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| n.get("id").map(|id| format!("action {}", value_text(id))))
    };
    let kind = metric.get("metric_type").and_then(Value::as_str);
    if let Some(series) = metric.get("series").and_then(Value::as_array) {
        let steps: Vec<String> = series.iter().filter_map(node).collect();
        if !steps.is_empty() {
            let joined = steps.join(" → ");
            return Some(match kind {
                Some(k) => format!("{k}: {joined}"),
                None => joined,
            });
        }
    }
    if let Some(source) = metric.get("source") {
        if let Some(event) = node(source) {
            return Some(match kind {
                Some(k) => format!("{k} of {event}"),
                None => event,
            });
        }
    }
    None
}

/// The events (or actions) of a legacy series, in order: `custom_name`, `event`, `name`, or
/// an action's `id`.
fn legacy_steps(series: Option<&Value>) -> Vec<String> {
    let Some(items) = series.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut items: Vec<&Value> = items.iter().collect();
    items.sort_by_key(|n| n.get("order").and_then(Value::as_i64).unwrap_or(0));
    items
        .into_iter()
        .filter_map(|n| {
            n.get("custom_name")
                .or_else(|| n.get("event"))
                .or_else(|| n.get("name"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| match n.get("id") {
                    Some(Value::String(id)) => Some(id.clone()),
                    Some(id) if !id.is_null() => Some(format!("action {id}")),
                    _ => None,
                })
        })
        .collect()
}

fn join_metrics<'v>(metrics: impl Iterator<Item = &'v Value>) -> Option<String> {
    let names: Vec<String> = metrics.filter_map(metric_name).collect();
    (!names.is_empty()).then(|| names.join("; "))
}

impl Normalizer<'_> {
    /// `resource`'s records from what PostHog lists: each object of the resource's type
    /// normalised (the one place the four types meet their normalisers). A flag is of type
    /// `experiment` when an experiment uses it; flags found deleted by ID are records too (to
    /// be archived).
    pub fn desired(&self, resource: Resource, data: &PostHogData) -> Vec<Desired> {
        match resource {
            Resource::Events => self.events(&data.events),
            Resource::Flags => {
                let used = experiment_flag_keys(&data.experiments);
                let mut d = self.flags(&data.flags, &used);
                d.extend(
                    data.deleted_flags
                        .iter()
                        .map(|f| self.flag(f, used.contains(f.key.trim()))),
                );
                d
            }
            Resource::Experiments => self.experiments(&data.experiments),
            Resource::Dashboards => self.dashboards(&data.dashboards),
        }
    }

    /// Event definitions → records; PostHog's own `$` events are left out unless
    /// `sync.include_builtin_events`.
    pub fn events(&self, list: &[EventDefinition]) -> Vec<Desired> {
        list.iter()
            .filter(|e| self.rules.include_builtin_events || !is_builtin_event(&e.name))
            .filter(|e| !e.name.trim().is_empty())
            .map(|e| self.event(e))
            .collect()
    }

    pub fn event(&self, e: &EventDefinition) -> Desired {
        let name = e.name.trim().to_string();
        let mut d = Desired::new(
            Resource::Events,
            name.clone(),
            MatchKeys {
                primary: Some(name.clone()),
                fallback: None,
            },
        );
        d.set(props::EVENT_NAME, PropValue::Text(name.clone()));
        if let Some(domain) = event_domain(&name) {
            d.set(props::DOMAIN, PropValue::Select(Some(domain)));
        }
        let (category, guess) = event_category(&name, &self.rules.event_categories);
        d.set(props::CATEGORY, PropValue::Select(Some(category)));
        if guess {
            d.soft.insert(props::CATEGORY);
        }
        d.set_text(props::DESCRIPTION, e.description.as_deref());
        d.set_status(props::IMPLEMENTATION_STATUS, "implemented");
        if let Some(place) = self.scan.tracked_on.get(&name) {
            d.set(
                props::TRACKED_ON,
                PropValue::MultiSelect(vec![place.clone()]),
            );
        }
        d.set_owner(self.people, &[e.owner.as_ref(), e.created_by.as_ref()]);
        d.set_date(props::CREATED, e.created_at.as_deref());
        // Last seen moves every day an event arrives: it dates a new row, and is never a
        // reason to rewrite one.
        d.set_date(
            props::LAST_UPDATED,
            e.last_seen_at.as_deref().or(e.updated_at.as_deref()),
        );
        if d.record.props.contains_key(props::LAST_UPDATED) {
            d.soft.insert(props::LAST_UPDATED);
        }
        d
    }

    /// Flags → records. `experiment_flags` are the flag keys experiments use (Type
    /// `experiment`).
    pub fn flags(&self, list: &[FeatureFlag], experiment_flags: &BTreeSet<String>) -> Vec<Desired> {
        list.iter()
            .filter(|f| !f.key.trim().is_empty())
            .map(|f| {
                let used = experiment_flags.contains(f.key.trim()) || !f.experiment_set.is_empty();
                self.flag(f, used)
            })
            .collect()
    }

    pub fn flag(&self, f: &FeatureFlag, used_by_experiment: bool) -> Desired {
        let key = f.key.trim().to_string();
        let mut d = Desired::new(
            Resource::Flags,
            key.clone(),
            MatchKeys {
                primary: Some(key.clone()),
                fallback: None,
            },
        );
        d.posthog_id = Some(f.id).filter(|&id| id > 0);
        d.deleted = f.deleted;
        d.set(props::FLAG_KEY, PropValue::Text(key.clone()));
        d.set_text(props::NAME, Some(&f.name));
        let (kind, guess) = flag_type(&key, used_by_experiment, &self.rules.flag_types);
        d.set(props::TYPE, PropValue::Select(Some(kind)));
        if guess {
            d.soft.insert(props::TYPE);
        }
        let r = rollout(&f.filters);
        // An archived flag is done for good (PR #63338), as a deleted one: `archived`.
        d.set_status(
            props::STATUS,
            model::flag_status(f.active, flag_retired(f), r.max),
        );
        d.set(props::ROLLOUT, PropValue::Number(r.uniform));
        d.set(props::TARGETING, PropValue::Text(targeting(&f.filters)));
        d.set_owner(self.people, &[f.created_by.as_ref()]);
        d.set_date(props::CREATED, f.created_at.as_deref());
        if let Some(pr) = self.scan.related_pr.get(&key) {
            d.set(props::RELATED_PR, PropValue::Url(Some(pr.clone())));
        }
        d.detail = Some(flag_detail(f));
        d.serving = Some(Serving {
            active: f.active,
            archived: f.archived,
            rollout: r,
            updated_at: f.updated_at.clone(),
        });
        d
    }

    /// Experiments (active and archived) → records.
    pub fn experiments(&self, list: &[Experiment]) -> Vec<Desired> {
        list.iter()
            .filter(|x| !x.deleted && !x.name.trim().is_empty())
            .map(|x| self.experiment(x))
            .collect()
    }

    pub fn experiment(&self, x: &Experiment) -> Desired {
        let name = x.name.trim().to_string();
        let flag_key = Some(x.feature_flag_key.trim())
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        let mut d = Desired::new(
            Resource::Experiments,
            name.clone(),
            MatchKeys {
                primary: flag_key.clone(),
                fallback: Some(name.clone()),
            },
        );
        d.posthog_id = Some(x.id).filter(|&id| id > 0);
        d.set(props::EXPERIMENT_NAME, PropValue::Text(name));
        if let Some(key) = &flag_key {
            d.set(props::FLAG_KEY, PropValue::Text(key.clone()));
        }
        d.set_text(props::HYPOTHESIS, Some(&x.description));
        let status =
            model::experiment_status(x.start_date.as_deref(), x.end_date.as_deref(), x.archived);
        d.set_status(props::STATUS, status);
        // PostHog's own states: `stopped` is the spec's `concluded`; a paused experiment is
        // a running one whose flag is off (`Experiment.is_paused`,
        // products/experiments/backend/models/experiment.py): still `running`, said so.
        let paused = status == "running" && x.feature_flag.as_ref().is_some_and(|f| !f.active);
        d.detail = Some(if paused {
            "running (paused: its flag is off)".to_string()
        } else {
            status.to_string()
        });
        let saved = |kind: &str| {
            x.saved_metrics
                .iter()
                .filter(|m| m.pointer("/metadata/type").and_then(Value::as_str) == Some(kind))
                .cloned()
                .collect::<Vec<_>>()
        };
        // The oldest experiments keep their metric in `filters` and their secondary ones in
        // `secondary_metrics`; they count only when nothing newer is there.
        let legacy_primary =
            (x.metrics.is_empty() && !filters_are_empty(&x.filters)).then(|| x.filters.clone());
        let primary: Vec<Value> = x
            .metrics
            .iter()
            .cloned()
            .chain(legacy_primary)
            .chain(saved("primary"))
            .collect();
        let secondary: Vec<Value> = x
            .metrics_secondary
            .iter()
            .cloned()
            .chain(x.secondary_metrics.iter().cloned())
            .chain(saved("secondary"))
            .collect();
        if let Some(text) = join_metrics(primary.iter()) {
            d.set(props::PRIMARY_METRIC, PropValue::Text(text));
        }
        if let Some(text) = join_metrics(secondary.iter()) {
            d.set(props::SECONDARY_METRICS, PropValue::Text(text));
        }
        d.set_date(props::START_DATE, x.start_date.as_deref());
        d.set_date(props::END_DATE, x.end_date.as_deref());
        if let Some(result) = x.conclusion.as_deref().and_then(experiment_result) {
            d.set(props::RESULT, PropValue::Select(Some(result.to_string())));
        }
        d.set_text(props::LEARNINGS, x.conclusion_comment.as_deref());
        d.set_owner(self.people, &[x.created_by.as_ref()]);
        d
    }

    /// Dashboards → records.
    pub fn dashboards(&self, list: &[Dashboard]) -> Vec<Desired> {
        list.iter()
            .filter(|b| !b.deleted)
            .map(|b| self.dashboard(b))
            .collect()
    }

    pub fn dashboard(&self, b: &Dashboard) -> Desired {
        let name = Some(b.name.trim())
            .filter(|s| !s.is_empty())
            .unwrap_or("Untitled")
            .to_string();
        let id = b.id.to_string();
        let mut d = Desired::new(
            Resource::Dashboards,
            name.clone(),
            MatchKeys {
                primary: Some(id.clone()),
                fallback: Some(name.clone()),
            },
        );
        d.posthog_id = Some(b.id);
        d.set(props::DASHBOARD_NAME, PropValue::Text(name));
        d.set(props::ID, PropValue::Number(Some(b.id as f64)));
        d.set_text(props::PURPOSE, Some(&b.description));
        let options = model::DASHBOARDS
            .property(props::CATEGORY)
            .map(|p| p.options)
            .unwrap_or_default();
        let from_tags = b.tags.iter().find_map(|t| {
            let t = t.trim().to_ascii_lowercase();
            options.iter().find(|o| **o == t).copied()
        });
        match from_tags {
            Some(category) => d.set(props::CATEGORY, PropValue::Select(Some(category.into()))),
            None => {
                d.set(props::CATEGORY, PropValue::Select(Some("product".into())));
                d.soft.insert(props::CATEGORY);
            }
        }
        d.set(props::PINNED, PropValue::Checkbox(b.pinned));
        d.set_owner(self.people, &[b.created_by.as_ref()]);
        d.set(
            props::POSTHOG_URL,
            PropValue::Url(Some(dashboard_url(self.region_url, self.project_id, b.id))),
        );
        d.detail = Some(format!("ID: {id}"));
        d
    }
}

/// A dashboard's page in the PostHog app.
pub fn dashboard_url(region_url: &str, project_id: &str, id: i64) -> String {
    format!(
        "{}/project/{}/dashboard/{id}",
        region_url.trim_end_matches('/'),
        project_id
    )
}

/// The flag keys that experiments use.
pub fn experiment_flag_keys(experiments: &[Experiment]) -> BTreeSet<String> {
    experiments
        .iter()
        .filter(|x| !x.deleted)
        .map(|x| x.feature_flag_key.trim())
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PropValue as V;
    use std::collections::BTreeMap;

    /// The `response.results` of one of the reference examples kept in `testdata/`.
    fn example<T: serde::de::DeserializeOwned>(file: &str) -> Vec<T> {
        let text = match file {
            "events" => include_str!("testdata/posthog.event_definitions.list.response.json"),
            "flags" => {
                include_str!("testdata/posthog.feature_flags.list.full-fields.response.json")
            }
            "experiments" => include_str!("testdata/posthog.experiments.list.response.json"),
            "archived" => include_str!("testdata/posthog.experiments.list.archived.response.json"),
            "dashboards" => include_str!("testdata/posthog.dashboards.list.response.json"),
            other => panic!("no example {other}"),
        };
        let value: Value = serde_json::from_str(text).unwrap();
        serde_json::from_value(value["response"]["results"].clone()).unwrap()
    }

    fn with<R>(sync: &Rules, people: &People, f: impl FnOnce(&Normalizer) -> R) -> R {
        let scan = ScanFacts::default();
        let n = Normalizer {
            region_url: "https://us.posthog.com",
            project_id: "4242",
            rules: sync,
            people,
            scan: &scan,
        };
        f(&n)
    }

    #[test]
    fn builtin_events_are_left_out_unless_configured() {
        let events: Vec<EventDefinition> = example("events");
        let sync = Rules::default();
        let names: Vec<String> = with(&sync, &People::default(), |n| {
            n.events(&events)
                .into_iter()
                .map(|d| d.record.key)
                .collect()
        });
        assert_eq!(names, ["order_placed", "user_signed_up"]);
        let sync = Rules {
            include_builtin_events: true,
            ..Rules::default()
        };
        let count = with(&sync, &People::default(), |n| n.events(&events).len());
        assert_eq!(count, 3);
    }

    #[test]
    fn event_record_from_the_example() {
        let events: Vec<EventDefinition> = example("events");
        let sync = Rules::default();
        let d = with(&sync, &People::default(), |n| n.event(&events[1]));
        let p = &d.record.props;
        assert_eq!(d.record.key, "order_placed");
        assert_eq!(p["Event Name"], V::Text("order_placed".into()));
        assert_eq!(p["Domain"], V::Select(Some("order_".into())));
        assert_eq!(p["Category"], V::Select(Some("conversion".into())));
        assert_eq!(
            p["Description"],
            V::Text("When a customer completes a checkout".into())
        );
        assert_eq!(
            p["Implementation Status"],
            V::Select(Some("implemented".into()))
        );
        assert_eq!(p["Created"], V::Date(Some("2025-01-01".into())));
        assert_eq!(p["Last Updated"], V::Date(Some("2026-04-29".into())));
        assert!(d.soft.contains("Last Updated"));
        // No owner in PostHog, no scan: not written at all.
        assert!(!p.contains_key("Owner"));
        assert!(!p.contains_key("Tracked On"));
        // An event with no description leaves Description alone.
        let d = with(&sync, &People::default(), |n| n.event(&events[2]));
        assert!(!d.record.props.contains_key("Description"));
        assert_eq!(d.record.props["Domain"], V::Select(Some("user_".into())));
    }

    #[test]
    fn event_categories() {
        let none = BTreeMap::new();
        let cat = |name: &str| event_category(name, &none);
        assert_eq!(cat("error_api_timeout"), ("error".into(), false));
        assert_eq!(cat("system_job_failed"), ("system".into(), false));
        for conversion in [
            "user_signed_up",
            "purchase_completed",
            "order_placed",
            "subscription_created",
            "checkout_completed",
            "checkoutCompleted",
            "user_subscribed",
        ] {
            assert_eq!(cat(conversion).0, "conversion", "{conversion}");
        }
        for engagement in [
            "checkout_started",
            "subscription_cancelled",
            "purchase_failed",
            "feature_export_completed",
            "user_api_key_created",
            "pricing_page_viewed",
        ] {
            assert_eq!(cat(engagement), ("engagement".into(), true), "{engagement}");
        }
        let overrides =
            BTreeMap::from([("checkout_started".to_string(), "conversion".to_string())]);
        assert_eq!(
            event_category("checkout_started", &overrides),
            ("conversion".into(), false)
        );
        assert_eq!(event_domain("feature-export"), Some("feature-".into()));
        assert_eq!(event_domain("pageview"), None);
        assert_eq!(event_domain("_x"), None);
    }

    #[test]
    fn flag_types() {
        let none = BTreeMap::new();
        assert_eq!(
            flag_type("release_checkout_v2", false, &none),
            ("release".into(), false)
        );
        assert_eq!(
            flag_type("ops-maintenance", false, &none),
            ("ops".into(), false)
        );
        assert_eq!(
            flag_type("beta_dashboard", false, &none),
            ("beta".into(), false)
        );
        assert_eq!(
            flag_type("config_limits", false, &none),
            ("config".into(), false)
        );
        assert_eq!(
            flag_type("exp_pricing", false, &none),
            ("experiment".into(), false)
        );
        assert_eq!(flag_type("opsx", false, &none), ("release".into(), true));
        assert_eq!(
            flag_type("ops_x", true, &none),
            ("experiment".into(), false)
        );
        let overrides = BTreeMap::from([("ops_x".to_string(), "beta".to_string())]);
        assert_eq!(flag_type("ops_x", true, &overrides), ("beta".into(), false));
    }

    #[test]
    fn flags_from_the_example() {
        let flags: Vec<FeatureFlag> = example("flags");
        let sync = Rules::default();
        let people = People::new([("USER@example.com", "notion-user-1")]);
        let used = BTreeSet::from(["pricing-page-test".to_string()]);
        let out = with(&sync, &people, |n| n.flags(&flags, &used));

        let simple = &out[0].record;
        assert_eq!(simple.key, "new-checkout-flow");
        assert_eq!(simple.status.as_deref(), Some("rolling_out"));
        assert_eq!(simple.props["Rollout %"], V::Number(Some(25.0)));
        assert_eq!(
            simple.props["Targeting"],
            V::Text("25% of all users".into())
        );
        assert_eq!(simple.props["Name"], V::Text("New checkout flow".into()));
        assert_eq!(simple.props["Type"], V::Select(Some("release".into())));
        assert!(out[0].soft.contains("Type"));
        assert_eq!(
            model::FLAGS.property("Name").map(|p| p.ownership),
            Some(model::Ownership::Derived)
        );
        assert_eq!(
            simple.props["Owner"],
            V::People(vec!["notion-user-1".into()])
        );
        assert_eq!(simple.props["Created"], V::Date(Some("2025-06-02".into())));
        assert_eq!(out[0].detail.as_deref(), Some("active at 25%"));
        assert_eq!(out[0].posthog_id, Some(101));

        let multivariate = &out[1].record;
        assert_eq!(
            multivariate.props["Type"],
            V::Select(Some("experiment".into()))
        );
        assert_eq!(multivariate.status.as_deref(), Some("active"));
        assert_eq!(
            multivariate.props["Targeting"],
            V::Text(
                "100% where email does not contain @example.com; variants: control 50%, test 50%"
                    .into()
            )
        );

        // A null-rollout group (100%) plus a 10% group: active, no single Rollout %.
        let groups = &out[2];
        assert_eq!(groups.record.status.as_deref(), Some("active"));
        assert_eq!(groups.record.props["Rollout %"], V::Number(None));
        assert_eq!(
            groups.record.props["Targeting"],
            V::Text("2 condition groups: 100% of cohort 7; 10% of all users".into())
        );
        assert_eq!(
            groups.detail.as_deref(),
            Some("active at up to 100% (2 condition groups)")
        );
        // An empty name is not written.
        assert!(!groups.record.props.contains_key("Name"));
    }

    #[test]
    fn flag_status_edge_cases() {
        let sync = Rules::default();
        let people = People::default();
        let flag = |v: Value| -> FeatureFlag { serde_json::from_value(v).unwrap() };
        let inactive = flag(
            serde_json::json!({"key": "ops_maintenance_mode", "active": false,
            "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}),
        );
        let d = with(&sync, &people, |n| n.flag(&inactive, false));
        assert_eq!(d.record.status.as_deref(), Some("draft"));
        assert_eq!(d.detail.as_deref(), Some("inactive"));
        let no_groups =
            flag(serde_json::json!({"key": "k", "active": true, "filters": {"groups": []}}));
        let d = with(&sync, &people, |n| n.flag(&no_groups, false));
        assert_eq!(d.record.status.as_deref(), Some("rolling_out"));
        assert_eq!(d.record.props["Rollout %"], V::Number(Some(0.0)));
        let deleted = flag(
            serde_json::json!({"key": "k", "active": true, "deleted": true,
            "filters": {"groups": [{"rollout_percentage": null}]}}),
        );
        let d = with(&sync, &people, |n| n.flag(&deleted, false));
        assert_eq!(d.record.status.as_deref(), Some("archived"));
        assert!(d.deleted);
        let targeted = flag(
            serde_json::json!({"key": "k", "active": true, "filters": {"groups": [
            {"properties": [{"key": "id", "type": "cohort", "value": 1}], "rollout_percentage": null},
            {"properties": [{"key": "email", "type": "person", "value": "a@example.com", "operator": "exact"},
                            {"key": "plan", "type": "person", "value": ["pro", "team"], "operator": "exact"}],
             "rollout_percentage": 25, "variant": "test"}]}}),
        );
        assert_eq!(
            targeting(&targeted.filters),
            "2 condition groups: 100% of cohort 1; 25% where email is a@example.com and plan is pro or team (variant test)"
        );
    }

    #[test]
    fn archived_flags_are_archived_but_not_deleted() {
        let sync = Rules::default();
        let people = People::default();
        let archived: FeatureFlag = serde_json::from_value(serde_json::json!({
            "key": "ops_old", "active": false, "archived": true,
            "filters": {"groups": [{"rollout_percentage": 100}]}}))
        .unwrap();
        let d = with(&sync, &people, |n| n.flag(&archived, false));
        assert_eq!(d.record.status.as_deref(), Some("archived"));
        assert_eq!(d.detail.as_deref(), Some("archived"));
        assert!(!d.deleted, "an archived flag still exists in PostHog");
    }

    #[test]
    fn every_conclusion_has_a_result() {
        for (conclusion, result) in CONCLUSIONS {
            assert_eq!(experiment_result(conclusion), Some(result));
            assert!(model::EXPERIMENTS
                .property("Result")
                .is_some_and(|p| p.options.contains(&result)));
        }
        assert_eq!(experiment_result("invalid"), Some("inconclusive"));
        assert_eq!(experiment_result("shipped"), None);
    }

    #[test]
    fn old_metric_formats_get_a_name() {
        let trends = serde_json::json!({"kind": "ExperimentTrendsQuery",
            "count_query": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "report_exported"}]}});
        assert_eq!(
            metric_name(&trends).as_deref(),
            Some("trend: report_exported")
        );
        let funnels = serde_json::json!({"kind": "ExperimentFunnelsQuery",
            "funnels_query": {"series": [{"event": "a"}, {"custom_name": "B step", "event": "b"}]}});
        assert_eq!(metric_name(&funnels).as_deref(), Some("funnel: a → B step"));
        let filters = serde_json::json!({"insight": "FUNNELS",
            "events": [{"id": "second", "order": 1}, {"id": "first", "order": 0}], "actions": []});
        assert_eq!(
            metric_name(&filters).as_deref(),
            Some("funnel: first → second")
        );
    }

    #[test]
    fn a_running_experiment_whose_flag_is_off_is_paused() {
        let sync = Rules::default();
        let people = People::default();
        let x: Experiment = serde_json::from_value(serde_json::json!({
            "name": "Paused one", "feature_flag_key": "exp_p", "start_date": "2026-01-01T00:00:00Z",
            "feature_flag": {"id": 7, "key": "exp_p", "active": false}}))
        .unwrap();
        let d = with(&sync, &people, |n| n.experiment(&x));
        assert_eq!(d.record.status.as_deref(), Some("running"));
        assert_eq!(
            d.detail.as_deref(),
            Some("running (paused: its flag is off)")
        );
    }

    #[test]
    fn experiments_from_the_examples() {
        let mut list: Vec<Experiment> = example("experiments");
        list.extend(example::<Experiment>("archived"));
        let sync = Rules::default();
        let people = People::new([("test@posthog.com", "u-test")]);
        let out = with(&sync, &people, |n| n.experiments(&list));
        let statuses: Vec<_> = out
            .iter()
            .map(|d| (d.record.key.as_str(), d.record.status.as_deref().unwrap()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("march-5-draft", "draft"),
                ("jan-16-running", "running"),
                ("checkout-copy-test", "concluded"),
                ("old-onboarding-test", "archived"),
            ]
        );
        let running = &out[1].record;
        assert_eq!(running.keys.primary.as_deref(), Some("jan-16-running"));
        assert_eq!(running.keys.fallback.as_deref(), Some("jan-16-running"));
        assert_eq!(
            running.props["Primary Metric"],
            V::Text("funnel: [jan-16-running] seen → [jan-16-running] payment; jan-16-running event one".into())
        );
        assert_eq!(
            running.props["Secondary Metrics"],
            V::Text("mean of [jan-16-running] event one; jan-16-running event two".into())
        );
        assert_eq!(
            running.props["Start Date"],
            V::Date(Some("2024-12-30".into()))
        );
        assert!(!running.props.contains_key("End Date"));
        assert_eq!(running.props["Owner"], V::People(vec!["u-test".into()]));
        let concluded = &out[2].record;
        assert_eq!(concluded.props["Result"], V::Select(Some("won".into())));
        assert_eq!(
            concluded.props["End Date"],
            V::Date(Some("2025-02-15".into()))
        );
        assert_eq!(
            concluded.props["Learnings"],
            V::Text("Test copy lifted checkout completion; rolling out.".into())
        );
        // The draft has no description: Hypothesis is left alone.
        assert!(!out[0].record.props.contains_key("Hypothesis"));
        let flags = experiment_flag_keys(&list);
        assert!(flags.contains("checkout-copy-test"));
    }

    #[test]
    fn dashboards_from_the_example() {
        let list: Vec<Dashboard> = example("dashboards");
        let sync = Rules::default();
        let people = People::new([("user-e@example.com", "u-e")]);
        let out = with(&sync, &people, |n| n.dashboards(&list));
        let revenue = &out[1];
        assert_eq!(revenue.record.keys.primary.as_deref(), Some("3"));
        assert_eq!(revenue.record.keys.fallback.as_deref(), Some("💸 Revenue"));
        let p = &revenue.record.props;
        assert_eq!(p["ID"], V::Number(Some(3.0)));
        assert_eq!(p["Purpose"], V::Text("Cash money.".into()));
        assert_eq!(p["Pinned"], V::Checkbox(false));
        assert_eq!(
            p["PostHog URL"],
            V::Url(Some(
                "https://us.posthog.com/project/4242/dashboard/3".into()
            ))
        );
        assert_eq!(p["Category"], V::Select(Some("product".into())));
        assert!(revenue.soft.contains("Category"));
        assert_eq!(p["Owner"], V::People(vec!["u-e".into()]));
        // Empty description and no creator: neither written.
        assert!(!out[0].record.props.contains_key("Purpose"));
        assert!(!out[0].record.props.contains_key("Owner"));
        assert_eq!(out[0].record.props["Pinned"], V::Checkbox(true));
        let tagged: Dashboard = serde_json::from_value(
            serde_json::json!({"id": 9, "name": "Exec", "tags": ["Executive"]}),
        )
        .unwrap();
        let d = with(&sync, &people, |n| n.dashboard(&tagged));
        assert_eq!(
            d.record.props["Category"],
            V::Select(Some("executive".into()))
        );
        assert!(d.soft.is_empty());
    }

    #[test]
    fn days() {
        assert_eq!(
            day("2025-06-02T09:14:31.512088Z").as_deref(),
            Some("2025-06-02")
        );
        assert_eq!(day("2025-06-02").as_deref(), Some("2025-06-02"));
        assert_eq!(day("yesterday"), None);
        assert_eq!(day(""), None);
    }
}
