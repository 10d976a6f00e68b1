//! The spec's best practices as findings: which Notion rows break which practice, and what
//! the team should do about it.
//!
//! The spec ends with the practices a team follows ("Every resource should have an owner",
//! "Include purpose, owner, and cleanup plan", "Archive rather than delete", "Review ownership
//! during team changes"). Each is a [`Rule`] with a stable id:
//!
//! | id | a row breaks it when |
//! |---|---|
//! | `missing-owner` | it has no Owner (the PostHog creator is suggested when they are a Notion member) |
//! | `former-owner` | its Owner is no longer a member of the Notion workspace, or it has no Owner and its PostHog creator has left: no longer a member of the PostHog organization, or not in the Notion workspace |
//! | `missing-purpose` | an event without Description, an experiment without Hypothesis, a dashboard without Purpose |
//! | `no-cleanup-plan` | a `release` or `experiment` flag without Planned Removal |
//! | `cleanup-overdue` | Planned Removal has passed while PostHog still serves the flag or the code still checks it (a deleted flag is `deleted-not-archived` instead) |
//! | `experiment-without-result` | an experiment concluded at least `sync.experiment_result_grace_days` (default 14) days ago without Result, Winner Variant (when it won) or Learnings |
//! | `deleted-not-archived` | its flag, experiment or dashboard was deleted in PostHog (or the flag can no longer be found there) and the row is not archived |
//!
//! **Invariants.**
//! - Pure: [`findings`] reads no clock (`today` is an input) and does no I/O.
//! - Advisory: import does not fix these (except where it can fill a value from PostHog, which
//!   the finding then says); every finding's `detail` says what to do. A rule is `warn` by
//!   default; `sync.hygiene` turns it `off` or makes it an `error`, which fails `--check`.
//! - Retired rows (a `deprecated` event, an `archived` flag or experiment) need no owner,
//!   purpose or plan: only `deleted-not-archived` looks at rows, and it looks for rows that
//!   are *not* retired.
//! - Membership is judged only when kodo could read the Notion users; otherwise `former-owner`
//!   finds nothing and the report says why ([`Directory::unreadable`]). A PostHog creator's
//!   departure is judged from the PostHog organization's members when kodo could read them
//!   ([`Directory::with_organization`]; `GET /api/organizations/@current/members/` lists only
//!   current members), else from the Notion workspace's e-mails. A Notion Owner overrides the
//!   PostHog creator: a row whose Owner is a current member is never reported because its
//!   creator left (the team handed it over already); only rows without an Owner are. Notion lists only the
//!   workspace's current members (`GET /v1/users`; guests are not listed, so a guest is
//!   confirmed by `GET /v1/users/{id}` before anyone is called a former member), and shows a
//!   removed member in a People property only as a bare `{"object": "user", "id"}`.
//! - Findings are sorted by resource (spec order), key, then rule (the table's order).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fmt::Write as _;

use crate::code::{CodeScan, Kind};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;

use crate::model::{props, NotionRow, PropValue, Resource};
use crate::normalize::{day, Creator};
use crate::plan::{OrphanReason, ResourcePlan, Step};

/// One best practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    MissingOwner,
    FormerOwner,
    MissingPurpose,
    NoCleanupPlan,
    CleanupOverdue,
    ExperimentWithoutResult,
    DeletedNotArchived,
}

impl Rule {
    /// Every rule, in the report's order.
    pub const ALL: [Rule; 7] = [
        Rule::MissingOwner,
        Rule::FormerOwner,
        Rule::MissingPurpose,
        Rule::NoCleanupPlan,
        Rule::CleanupOverdue,
        Rule::ExperimentWithoutResult,
        Rule::DeletedNotArchived,
    ];

    /// The stable id (config keys, JSON, CSV).
    pub fn id(self) -> &'static str {
        match self {
            Rule::MissingOwner => "missing-owner",
            Rule::FormerOwner => "former-owner",
            Rule::MissingPurpose => "missing-purpose",
            Rule::NoCleanupPlan => "no-cleanup-plan",
            Rule::CleanupOverdue => "cleanup-overdue",
            Rule::ExperimentWithoutResult => "experiment-without-result",
            Rule::DeletedNotArchived => "deleted-not-archived",
        }
    }

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// The Markdown section's heading.
    pub fn title(self) -> &'static str {
        match self {
            Rule::MissingOwner => "Missing Owner",
            Rule::FormerOwner => "Former Owner",
            Rule::MissingPurpose => "Missing Purpose",
            Rule::NoCleanupPlan => "No Clean-up Plan",
            Rule::CleanupOverdue => "Clean-up Overdue",
            Rule::ExperimentWithoutResult => "Experiment Without Result",
            Rule::DeletedNotArchived => "Deleted, Not Archived",
        }
    }

    /// The practice, as the spec words it.
    pub fn practice(self) -> &'static str {
        match self {
            Rule::MissingOwner => "Every resource should have an owner",
            Rule::FormerOwner => "Review ownership during team changes",
            Rule::MissingPurpose => "Include purpose, owner, and cleanup plan",
            Rule::NoCleanupPlan => "Include purpose, owner, and cleanup plan",
            Rule::CleanupOverdue => "Archive deprecated resources",
            Rule::ExperimentWithoutResult => "Update status immediately after changes",
            Rule::DeletedNotArchived => "Archive rather than delete",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Rule::ALL
            .into_iter()
            .find(|r| r.id() == id)
            .ok_or_else(|| serde::de::Error::custom(format!("`{id}` is not a hygiene rule")))
    }
}

/// How a rule is enforced (`sync.hygiene.<rule>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not judged.
    Off,
    /// Reported (the default).
    #[default]
    Warn,
    /// Reported, and fails `--check`.
    Error,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Off, Level::Warn, Level::Error];

    pub fn id(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    pub fn from_id(id: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.id() == id)
    }
}

/// A `sync.hygiene` entry kodo cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingError {
    /// The key is no rule id.
    UnknownRule { rule: String },
    /// The value is no level.
    UnknownLevel { rule: String, level: String },
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        match self {
            SettingError::UnknownRule { rule } => write!(
                f,
                "`{rule}` is not a hygiene rule; the rules are {}",
                ids.join(", ")
            ),
            SettingError::UnknownLevel { rule, level } => write!(
                f,
                "`{level}` is not a level for `{rule}`; use \"off\", \"warn\" or \"error\""
            ),
        }
    }
}

impl std::error::Error for SettingError {}

/// The default grace period after an experiment's end before its missing result is reported.
pub const DEFAULT_RESULT_GRACE_DAYS: u32 = 14;

/// The rules' levels and the experiment grace period (`sync.hygiene`,
/// `sync.experiment_result_grace_days`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    levels: BTreeMap<Rule, Level>,
    /// Days after an experiment's End Date before a missing result is reported.
    pub result_grace_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            levels: BTreeMap::new(),
            result_grace_days: DEFAULT_RESULT_GRACE_DAYS,
        }
    }
}

impl Settings {
    /// From `sync.hygiene`'s `rule id → level` pairs; unknown ids and levels are errors.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        result_grace_days: u32,
    ) -> Result<Settings, SettingError> {
        let mut levels = BTreeMap::new();
        for (rule_id, level_id) in pairs {
            let rule = Rule::from_id(rule_id).ok_or_else(|| SettingError::UnknownRule {
                rule: rule_id.to_string(),
            })?;
            let level = Level::from_id(level_id).ok_or_else(|| SettingError::UnknownLevel {
                rule: rule_id.to_string(),
                level: level_id.to_string(),
            })?;
            levels.insert(rule, level);
        }
        Ok(Settings {
            levels,
            result_grace_days,
        })
    }

    pub fn level(&self, rule: Rule) -> Level {
        self.levels.get(&rule).copied().unwrap_or_default()
    }
}

/// A person of the Notion workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

/// Who belongs to the Notion workspace, as far as kodo could read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Directory {
    readable: bool,
    /// Members (`GET /v1/users`, people) and guests (confirmed by `GET /v1/users/{id}`).
    people: HashMap<String, Member>,
    by_email: HashMap<String, String>,
    /// Whether Notion gave e-mails (the capability "with email addresses").
    emails: bool,
    /// The PostHog organization's current members, by lower-cased e-mail; `None` when kodo
    /// could not read them.
    organization: Option<std::collections::HashSet<String>>,
}

impl Directory {
    /// kodo may not read the Notion users: membership is not judged.
    pub fn unreadable() -> Directory {
        Directory::default()
    }

    /// The workspace's people: its listed members and any guests confirmed by ID.
    pub fn new(people: impl IntoIterator<Item = Member>) -> Directory {
        let mut d = Directory {
            readable: true,
            ..Directory::default()
        };
        for m in people {
            if let Some(email) = m.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
                d.emails = true;
                d.by_email
                    .insert(email.to_ascii_lowercase(), m.id.to_string());
            }
            d.people.insert(m.id.clone(), m);
        }
        d
    }

    /// The directory with more people (guests found by ID).
    pub fn with(&self, more: impl IntoIterator<Item = Member>) -> Directory {
        let mut all: Vec<Member> = self.people.values().cloned().collect();
        all.extend(more);
        let mut d = Directory::new(all);
        d.readable = self.readable;
        d.organization = self.organization.clone();
        d
    }

    /// The directory knowing the PostHog organization's current members (their e-mails).
    pub fn with_organization<'e>(mut self, emails: impl IntoIterator<Item = &'e str>) -> Directory {
        self.organization = Some(
            emails
                .into_iter()
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        );
        self
    }

    /// Whether the PostHog organization's members were read.
    pub fn organization_known(&self) -> bool {
        self.organization.is_some()
    }

    /// Whether `email` is known to have left the PostHog organization (`None`: cannot tell).
    pub fn left_organization(&self, email: &str) -> Option<bool> {
        self.organization
            .as_ref()
            .map(|members| !members.contains(&email.trim().to_ascii_lowercase()))
    }

    pub fn readable(&self) -> bool {
        self.readable
    }

    /// A Notion user as output people read names them: `Alex Kim <alex@acme.example>`, the
    /// name or the e-mail alone when only one is known, the user ID when kodo does not know
    /// the user (the integration may not read users, or the user left the workspace).
    pub fn label(&self, id: &str) -> String {
        let Some(m) = self.people.get(id) else {
            return id.to_string();
        };
        let name = m.name.trim();
        match m.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(email) if !name.is_empty() => format!("{name} <{email}>"),
            Some(email) => email.to_string(),
            None if !name.is_empty() => name.to_string(),
            None => id.to_string(),
        }
    }

    /// A current member (or guest) with this ID.
    pub fn person(&self, id: &str) -> Option<&Member> {
        self.people.get(id)
    }

    /// The member with this e-mail (case-insensitive).
    pub fn by_email(&self, email: &str) -> Option<&Member> {
        self.by_email
            .get(&email.trim().to_ascii_lowercase())
            .and_then(|id| self.people.get(id))
    }

    /// Whether `email` is known to belong to nobody in the workspace (`None`: cannot tell).
    fn lacks_email(&self, email: &str) -> Option<bool> {
        (self.readable && self.emails).then(|| self.by_email(email).is_none())
    }
}

/// One row that breaks one practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub resource: Resource,
    pub key: String,
    pub rule: Rule,
    pub level: Level,
    /// What is wrong and what to do about it.
    pub detail: String,
    /// The Notion page.
    pub url: Option<String>,
    /// The row's current owner (names of its Owner people who are members), for handing the
    /// findings out; `null` when it has none.
    pub owner: Option<String>,
    /// `cleanup-overdue`: where the code still checks the flag.
    pub references: Vec<String>,
}

/// The hygiene section of an audit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Whether Owners were checked against the Notion workspace.
    pub users_checked: bool,
    /// Whether PostHog creators were checked against the PostHog organization's members.
    pub members_checked: bool,
    /// Whether the code was scanned (for `cleanup-overdue`'s second condition).
    pub code_checked: bool,
    pub result_grace_days: u32,
}

impl Report {
    /// Findings of `error` rules: they fail `--check`.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .count()
    }

    /// Findings per rule, in the rules' order, only rules with findings.
    pub fn counts(&self) -> Vec<(Rule, usize)> {
        Rule::ALL
            .into_iter()
            .map(|r| (r, self.findings.iter().filter(|f| f.rule == r).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// What [`findings`] judges.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The plans of the resources asked (their items match rows to PostHog).
    pub plans: &'a [ResourcePlan],
    /// Every Notion row read, per resource.
    pub rows: &'a [(Resource, &'a [NotionRow])],
    pub directory: &'a Directory,
    /// The code scan, when it ran.
    pub scan: Option<&'a CodeScan>,
    pub settings: &'a Settings,
    pub today: Date,
}

/// The flag types that are meant to be removed once done.
const TEMPORARY_FLAG_TYPES: [&str; 2] = ["release", "experiment"];

fn text<'r>(row: &'r NotionRow, property: &str) -> Option<&'r str> {
    row.record
        .props
        .get(property)
        .and_then(PropValue::as_text)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn is_empty(row: &NotionRow, property: &str) -> bool {
    row.record
        .props
        .get(property)
        .is_none_or(PropValue::is_empty)
}

fn people(row: &NotionRow) -> &[String] {
    match row.record.props.get(props::OWNER) {
        Some(PropValue::People(ids)) => ids,
        _ => &[],
    }
}

fn date(text: &str) -> Option<Date> {
    let day = day(text)?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(&day, &format).ok()
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// What PostHog says about one row's resource.
struct Counterpart<'p> {
    item: Option<&'p crate::plan::Item>,
    orphan: Option<OrphanReason>,
}

/// Judges every row against the practices.
pub fn findings(input: &Input) -> Report {
    let settings = input.settings;
    let mut out: Vec<Finding> = Vec::new();
    let code_refs: BTreeMap<&str, Vec<String>> = input
        .scan
        .map(|scan| {
            scan.keys
                .iter()
                .filter(|k| k.kind == Kind::Flag)
                .map(|k| (k.key.trim(), crate::code::locations(&k.references)))
                .collect()
        })
        .unwrap_or_default();
    for plan in input.plans {
        let resource = plan.resource;
        let Some((_, rows)) = input.rows.iter().find(|(r, _)| *r == resource) else {
            continue;
        };
        let mut by_page: HashMap<&str, Counterpart> = HashMap::new();
        for item in &plan.items {
            if let Step::Update { page_id, .. } | Step::Unchanged { page_id } = &item.step {
                by_page.insert(
                    page_id,
                    Counterpart {
                        item: Some(item),
                        orphan: None,
                    },
                );
            }
        }
        for o in &plan.orphans {
            by_page.insert(
                &o.row.page_id,
                Counterpart {
                    item: None,
                    orphan: Some(o.reason),
                },
            );
        }
        for row in rows.iter() {
            let counterpart = by_page.get(row.page_id.as_str());
            if counterpart.is_some_and(|c| c.orphan == Some(OrphanReason::Duplicate)) {
                // The duplicate is reported by the sync findings; its original is judged.
                continue;
            }
            let item = counterpart.and_then(|c| c.item);
            let judge = RowJudge {
                resource,
                row,
                item,
                orphan: counterpart.and_then(|c| c.orphan),
                input,
                code_refs: &code_refs,
            };
            for rule in Rule::ALL {
                let level = settings.level(rule);
                if level == Level::Off {
                    continue;
                }
                if let Some((detail, references)) = judge.check(rule) {
                    out.push(Finding {
                        resource,
                        key: if row.record.key.is_empty() {
                            "(untitled)".to_string()
                        } else {
                            row.record.key.clone()
                        },
                        rule,
                        level,
                        detail,
                        url: row.url.clone(),
                        owner: judge.owner_names(),
                        references,
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (a.resource, &a.key, a.rule).cmp(&(b.resource, &b.key, b.rule)));
    Report {
        findings: out,
        users_checked: input.directory.readable(),
        members_checked: input.directory.organization_known(),
        code_checked: input.scan.is_some(),
        result_grace_days: settings.result_grace_days,
    }
}

/// How kodo knows a PostHog creator left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Departure {
    /// Not among the PostHog organization's members.
    Organization,
    /// Not in the Notion workspace (the organization's members could not be read).
    Workspace,
}

struct RowJudge<'a> {
    resource: Resource,
    row: &'a NotionRow,
    item: Option<&'a crate::plan::Item>,
    orphan: Option<OrphanReason>,
    input: &'a Input<'a>,
    code_refs: &'a BTreeMap<&'a str, Vec<String>>,
}

impl RowJudge<'_> {
    fn retired(&self) -> bool {
        self.resource
            .schema()
            .is_retired(self.row.record.status.as_deref())
    }

    fn import(&self) -> String {
        format!("`kodo ph-sync import {}`", self.resource.plural())
    }

    fn creator(&self) -> Option<&Creator> {
        self.item.and_then(|i| i.desired.creator.as_ref())
    }

    /// Whether the import would write `property` (PostHog has a value for the empty field).
    fn import_fills(&self, property: &str) -> bool {
        matches!(self.item.map(|i| &i.step), Some(Step::Update { changes, .. })
            if changes.iter().any(|c| c.property == property))
    }

    /// The Owner's people who are current members, by name.
    fn owner_names(&self) -> Option<String> {
        let names: Vec<&str> = people(self.row)
            .iter()
            .filter_map(|id| self.input.directory.person(id))
            .map(|m| m.name.as_str())
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    }

    fn check(&self, rule: Rule) -> Option<(String, Vec<String>)> {
        if rule == Rule::DeletedNotArchived {
            return self.deleted_not_archived().map(|d| (d, Vec::new()));
        }
        if self.retired() {
            return None;
        }
        match rule {
            Rule::MissingOwner => self.missing_owner(),
            Rule::FormerOwner => self.former_owner(),
            Rule::MissingPurpose => self.missing_purpose(),
            Rule::NoCleanupPlan => self.no_cleanup_plan(),
            Rule::CleanupOverdue => return self.cleanup_overdue(),
            Rule::ExperimentWithoutResult => self.experiment_without_result(),
            Rule::DeletedNotArchived => None,
        }
        .map(|d| (d, Vec::new()))
    }

    /// The creator, when they are known to have left: the PostHog organization's member list
    /// (when read) decides, else the Notion workspace's e-mails.
    fn creator_left(&self) -> Option<(&Creator, Departure)> {
        let c = self.creator()?;
        let directory = self.input.directory;
        match directory.left_organization(&c.email) {
            Some(true) => Some((c, Departure::Organization)),
            Some(false) => None,
            None => {
                (directory.lacks_email(&c.email) == Some(true)).then_some((c, Departure::Workspace))
            }
        }
    }

    fn missing_owner(&self) -> Option<String> {
        if !people(self.row).is_empty() || self.creator_left().is_some() {
            return None;
        }
        let member = self
            .creator()
            .and_then(|c| self.input.directory.by_email(&c.email).map(|m| (c, m)));
        Some(match member {
            Some((c, m)) if self.import_fills(props::OWNER) => format!(
                "no Owner; its PostHog creator {} ({}) is in the Notion workspace: {} makes them the Owner, or set who is responsible now",
                m.name, c.email, self.import()
            ),
            Some((c, m)) => format!(
                "no Owner; its PostHog creator {} ({}) is in the Notion workspace: make them the Owner, or set who is responsible now",
                m.name, c.email
            ),
            None => match self.creator() {
                Some(c) if !self.input.directory.readable() => format!(
                    "no Owner; PostHog names {} ({}) as its creator: set who is responsible for it in Notion",
                    c.name, c.email
                ),
                _ => "no Owner: set who is responsible for it in Notion".to_string(),
            },
        })
    }

    fn former_owner(&self) -> Option<String> {
        let directory = self.input.directory;
        let owners = people(self.row);
        if owners.is_empty() {
            return Some(match self.creator_left()? {
                (c, Departure::Organization) => format!(
                    "no Owner, and its PostHog creator {} ({}) is no longer a member of the PostHog organization: hand it to a current member",
                    c.name, c.email
                ),
                (c, Departure::Workspace) => format!(
                    "no Owner, and its PostHog creator {} ({}) is not a member of the Notion workspace (left the team?): hand it to a current member",
                    c.name, c.email
                ),
            });
        }
        if !directory.readable() {
            return None;
        }
        let gone: Vec<&String> = owners
            .iter()
            .filter(|id| directory.person(id).is_none())
            .collect();
        if gone.is_empty() {
            return None;
        }
        let who = gone
            .iter()
            .map(|id| format!("Notion user {}…", short_id(id)))
            .collect::<Vec<_>>()
            .join(", ");
        let verb = if gone.len() == 1 { "is" } else { "are" };
        let mut detail = format!(
            "Owner {who} {verb} no longer a member of the Notion workspace: hand it to a current member"
        );
        if let Some(m) = self
            .creator()
            .and_then(|c| directory.by_email(&c.email))
            .filter(|m| !owners.contains(&m.id))
        {
            let _ = write!(detail, " (its PostHog creator {} is one)", m.name);
        }
        Some(detail)
    }

    fn missing_purpose(&self) -> Option<String> {
        let purpose = self.resource.schema().purpose.as_ref()?;
        if !is_empty(self.row, purpose.property) {
            return None;
        }
        let mut detail = format!("no {}: write {}", purpose.property, purpose.what);
        if self.import_fills(purpose.property) {
            let _ = write!(detail, " ({} copies PostHog's description)", self.import());
        }
        Some(detail)
    }

    /// The flag's Type: Notion's, else what kodo would write.
    fn flag_type(&self) -> Option<String> {
        text(self.row, props::TYPE).map(str::to_string).or_else(|| {
            self.item
                .and_then(|i| i.desired.record.props.get(props::TYPE))
                .and_then(PropValue::as_text)
                .map(str::to_string)
        })
    }

    fn no_cleanup_plan(&self) -> Option<String> {
        if self.resource != Resource::Flags || !is_empty(self.row, props::PLANNED_REMOVAL) {
            return None;
        }
        let kind = self.flag_type()?;
        let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        TEMPORARY_FLAG_TYPES.contains(&kind.as_str()).then(|| {
            format!("{article} {kind} flag with no Planned Removal: set the date it will be removed from the code and archived")
        })
    }

    fn cleanup_overdue(&self) -> Option<(String, Vec<String>)> {
        if self.resource != Resource::Flags {
            return None;
        }
        // A deleted flag is `deleted-not-archived` (and a check of it a dead reference in the
        // code section), not a removal that is late.
        if self.item.is_some_and(|i| i.desired.deleted) {
            return None;
        }
        let planned = text(self.row, props::PLANNED_REMOVAL)?;
        let when = date(planned)?;
        if when >= self.input.today {
            return None;
        }
        let served = self.item.filter(|i| {
            !i.desired.deleted
                && matches!(
                    i.desired.record.status.as_deref(),
                    Some("active" | "rolling_out")
                )
        });
        let key = self.row.record.keys.primary.as_deref().unwrap_or("");
        let references = self.code_refs.get(key.trim()).cloned().unwrap_or_default();
        let mut why = Vec::new();
        if let Some(item) = served {
            why.push(match &item.desired.detail {
                Some(d) => format!("PostHog still serves it ({d})"),
                None => "PostHog still serves it".to_string(),
            });
        }
        if !references.is_empty() {
            why.push(format!(
                "the code still checks it ({})",
                references.join(", ")
            ));
        }
        if why.is_empty() {
            return None;
        }
        Some((
            format!(
                "Planned Removal {} has passed and {}: remove the checks and archive the flag, or set a new date",
                day(planned).unwrap_or_default(),
                why.join(", and ")
            ),
            references,
        ))
    }

    fn experiment_without_result(&self) -> Option<String> {
        if self.resource != Resource::Experiments {
            return None;
        }
        let desired = self.item.map(|i| &i.desired.record);
        let status =
            desired
                .and_then(|d| d.status.as_deref())
                .or(self.row.record.status.as_deref());
        if status != Some("concluded") {
            return None;
        }
        let end = text(self.row, props::END_DATE)
            .map(str::to_string)
            .or_else(|| {
                desired
                    .and_then(|d| d.props.get(props::END_DATE))
                    .and_then(PropValue::as_text)
                    .map(str::to_string)
            })?;
        let ended = date(&end)?;
        let days = (self.input.today - ended).whole_days();
        if days < i64::from(self.input.settings.result_grace_days) {
            return None;
        }
        let mut missing: Vec<&str> = Vec::new();
        let result = text(self.row, props::RESULT);
        if result.is_none() {
            missing.push(props::RESULT);
        }
        if result == Some("won") && is_empty(self.row, props::WINNER_VARIANT) {
            missing.push(props::WINNER_VARIANT);
        }
        if is_empty(self.row, props::LEARNINGS) {
            missing.push(props::LEARNINGS);
        }
        if missing.is_empty() {
            return None;
        }
        let fills: BTreeSet<&str> = missing
            .iter()
            .copied()
            .filter(|p| self.import_fills(p))
            .collect();
        let mut detail = format!(
            "concluded {} ({days} days ago) with no {}: record the outcome in Notion",
            day(&end).unwrap_or_default(),
            join_and(&missing)
        );
        if !fills.is_empty() {
            let list: Vec<&str> = fills.into_iter().collect();
            let _ = write!(
                detail,
                " ({} fills {} from PostHog)",
                self.import(),
                join_and(&list)
            );
        }
        Some(detail)
    }

    fn deleted_not_archived(&self) -> Option<String> {
        if self.retired() {
            return None;
        }
        let label = self.resource.label().to_lowercase();
        let status = self.row.record.status.as_deref().unwrap_or("(no status)");
        if self.item.is_some_and(|i| i.desired.deleted) {
            return Some(format!(
                "deleted in PostHog, while Notion still says \"{status}\": {} marks it archived; next time archive the {label} in PostHog rather than delete it",
                self.import()
            ));
        }
        if self.orphan == Some(OrphanReason::Deleted) {
            let plural = self.resource.plural();
            return Some(match &self.resource.schema().lifecycle {
                Some(l) => format!(
                    "deleted in PostHog (reading it by ID finds nothing), while Notion still says \"{status}\": set its {} to {}; next time archive the {label} in PostHog rather than delete it",
                    l.property, l.retired
                ),
                None => format!(
                    "deleted in PostHog (reading it by ID finds nothing), while its row is still in Notion: archive the row (`kodo ph-sync import {plural} --archive-orphans` moves it to the trash)"
                ),
            });
        }
        if self.orphan == Some(OrphanReason::MayHaveBeenDeleted) {
            // Only a resource PostHog still reads by ID when deleted (flags) gets here; its
            // status property and retired value are the table's.
            let fix = self.resource.schema().lifecycle.as_ref().map_or_else(
                || "archive the row".to_string(),
                |l| format!("set its {} to {}", l.property, l.retired),
            );
            return Some(format!(
                "no longer in PostHog (deleted there?), while Notion still says \"{status}\": {fix}; archive rather than delete"
            ));
        }
        None
    }
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `- [ ] Flag \`key\`: detail`
fn line(f: &Finding) -> String {
    format!(
        "- [ ] {} {}: {}",
        f.resource.label(),
        crate::report::linked_key(&f.key, f.url.as_deref()),
        f.detail
    )
}

/// The `## Hygiene` section of the Markdown audit (starting with a blank line).
pub fn markdown(r: &Report) -> String {
    let mut out = String::from("\n## Hygiene\n");
    let _ = writeln!(
        out,
        "The spec's best practices; import does not fix these, each says what to do:"
    );
    if r.findings.is_empty() {
        let _ = writeln!(out, "None: every entry follows them.");
    }
    for (rule, _) in r.counts() {
        let items: Vec<&Finding> = r.findings.iter().filter(|f| f.rule == rule).collect();
        let fails = if items.iter().any(|f| f.level == Level::Error) {
            ", fails --check"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\n### {} (`{}`{fails})\n{}:",
            rule.title(),
            rule.id(),
            rule.practice()
        );
        for f in items {
            let _ = writeln!(out, "{}", line(f));
        }
    }
    if !r.users_checked {
        let _ = writeln!(
            out,
            "\nOwners were not checked against the Notion workspace: the integration may not read users (enable \"Read user information including email addresses\")."
        );
    }
    if !r.members_checked {
        let _ = writeln!(
            out,
            "\nPostHog creators were not checked against the PostHog organization's members: the personal API key may not read them (add the `organization_member:read` scope)."
        );
    }
    out
}

/// `Hygiene: 3 findings (2 missing-owner, 1 no-cleanup-plan): `kodo ph-sync audit` lists them`
pub fn summary_line(r: &Report) -> String {
    if r.findings.is_empty() {
        return "Hygiene: every entry follows the spec's best practices.".to_string();
    }
    let counts: Vec<String> = r
        .counts()
        .iter()
        .map(|(rule, n)| format!("{n} {rule}"))
        .collect();
    let n = r.findings.len();
    let noun = if n == 1 { "finding" } else { "findings" };
    let errors = match r.errors() {
        0 => String::new(),
        e => format!(", {e} failing --check"),
    };
    format!(
        "Hygiene: {n} {noun} ({}){errors}: `kodo ph-sync audit` lists them",
        counts.join(", ")
    )
}

/// One CSV record per finding, of type `hygiene`, in the audit's six columns (kept as they
/// are for existing readers): the detail starts with the rule id, `missing-owner: no Owner…`.
pub fn csv_records(r: &Report) -> Vec<[String; 6]> {
    r.findings
        .iter()
        .map(|f| {
            [
                "hygiene".to_string(),
                f.resource.plural().to_string(),
                f.key.clone(),
                String::new(),
                String::new(),
                format!("{}: {}", f.rule.id(), f.detail),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{self, MatchKeys, Record};
    use crate::normalize::Desired;
    use crate::plan::{plan, PlanInput, PlanOptions, Written};

    const MAYA: &str = "11111111-1111-4111-8111-111111111111";
    const GONE: &str = "99999999-9999-4999-8999-999999999999";

    fn directory() -> Directory {
        Directory::new([Member {
            id: MAYA.into(),
            name: "Maya Chen".into(),
            email: Some("maya@acme.example".into()),
        }])
    }

    fn creator(email: &str) -> Option<Creator> {
        Some(Creator {
            email: email.into(),
            name: email.split('@').next().unwrap_or_default().into(),
        })
    }

    fn desired(
        resource: Resource,
        key: &str,
        status: Option<&str>,
        props: &[(&'static str, PropValue)],
    ) -> Desired {
        let keys = match resource {
            Resource::Experiments | Resource::Dashboards => MatchKeys {
                primary: None,
                fallback: Some(key.into()),
            },
            _ => MatchKeys {
                primary: Some(key.into()),
                fallback: None,
            },
        };
        let title = resource.schema().title_property().name;
        let mut props: BTreeMap<&'static str, PropValue> = props.iter().cloned().collect();
        props.insert(title, PropValue::Text(key.into()));
        Desired {
            record: Record {
                resource,
                key: key.into(),
                keys,
                status: status.map(str::to_string),
                props,
            },
            soft: Default::default(),
            detail: None,
            deleted: false,
            posthog_id: None,
            creator: None,
            serving: None,
        }
    }

    fn row(
        resource: Resource,
        page: &str,
        key: &str,
        props: &[(&'static str, PropValue)],
    ) -> NotionRow {
        let mut raw = serde_json::Map::new();
        let title = resource.schema().title_property();
        raw.insert(
            title.name.into(),
            model::encode(title, &PropValue::Text(key.into())),
        );
        for (name, value) in props {
            let spec = resource.schema().property(name).unwrap();
            raw.insert(name.to_string(), model::encode(spec, value));
        }
        model::decode_page(resource, page, Some("https://notion.so/p"), &raw)
    }

    fn judge(
        resource: Resource,
        desired: Vec<Desired>,
        rows: Vec<NotionRow>,
        settings: &Settings,
    ) -> Report {
        judge_with(resource, desired, rows, settings, &directory())
    }

    fn judge_with(
        resource: Resource,
        desired: Vec<Desired>,
        rows: Vec<NotionRow>,
        settings: &Settings,
        directory: &Directory,
    ) -> Report {
        let p = plan(
            PlanInput {
                resource,
                desired,
                rows: rows.clone(),
                maybe_deleted: Default::default(),
                deleted: Default::default(),
                writable: None,
                written: Written::new(),
            },
            PlanOptions::default(),
        );
        let plans = [p];
        let rows = [(resource, rows.as_slice())];
        findings(&Input {
            plans: &plans,
            rows: &rows,
            directory,
            scan: None,
            settings,
            today: time::macros::date!(2026 - 06 - 01),
        })
    }

    fn rules(r: &Report) -> Vec<(&str, Rule)> {
        r.findings
            .iter()
            .map(|f| (f.key.as_str(), f.rule))
            .collect()
    }

    fn owner(id: &str) -> (&'static str, PropValue) {
        ("Owner", PropValue::People(vec![id.into()]))
    }
    fn text(s: &str) -> PropValue {
        PropValue::Text(s.into())
    }
    fn select(s: &str) -> PropValue {
        PropValue::Select(Some(s.into()))
    }
    fn date(s: &str) -> PropValue {
        PropValue::Date(Some(s.into()))
    }

    #[test]
    fn rule_ids_are_stable_and_parse_back() {
        let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        assert_eq!(
            ids,
            [
                "missing-owner",
                "former-owner",
                "missing-purpose",
                "no-cleanup-plan",
                "cleanup-overdue",
                "experiment-without-result",
                "deleted-not-archived"
            ]
        );
        for r in Rule::ALL {
            assert_eq!(Rule::from_id(r.id()), Some(r));
        }
        assert_eq!(
            Settings::from_pairs([("missing-owners", "off")], 14)
                .unwrap_err()
                .to_string(),
            "`missing-owners` is not a hygiene rule; the rules are missing-owner, former-owner, missing-purpose, no-cleanup-plan, cleanup-overdue, experiment-without-result, deleted-not-archived"
        );
        assert!(matches!(
            Settings::from_pairs([("missing-owner", "warning")], 14),
            Err(SettingError::UnknownLevel { .. })
        ));
        let s = Settings::from_pairs([("missing-owner", "error"), ("former-owner", "off")], 14)
            .unwrap();
        assert_eq!(s.level(Rule::MissingOwner), Level::Error);
        assert_eq!(s.level(Rule::FormerOwner), Level::Off);
        assert_eq!(s.level(Rule::MissingPurpose), Level::Warn);
    }

    #[test]
    fn owners_missing_former_and_suggested() {
        let r = Resource::Dashboards;
        let purpose = ("Purpose", text("Revenue"));
        let mut by_maya = desired(r, "Revenue", None, &[owner(MAYA)]);
        by_maya.creator = creator("maya@acme.example");
        let mut by_sam = desired(r, "Errors", None, &[]);
        by_sam.creator = creator("sam@acme.example");
        let kept = desired(r, "Kept", None, &[]);
        let gone = desired(r, "Gone", None, &[]);
        let report = judge(
            r,
            vec![by_maya, by_sam, kept, gone],
            vec![
                row(r, "p1", "Revenue", std::slice::from_ref(&purpose)),
                row(r, "p2", "Errors", std::slice::from_ref(&purpose)),
                row(r, "p3", "Kept", &[purpose.clone(), owner(MAYA)]),
                row(r, "p4", "Gone", &[purpose, owner(GONE)]),
            ],
            &Settings::default(),
        );
        assert_eq!(
            rules(&report),
            [
                ("Errors", Rule::FormerOwner),
                ("Gone", Rule::FormerOwner),
                ("Revenue", Rule::MissingOwner),
            ]
        );
        let detail = |key: &str| {
            report
                .findings
                .iter()
                .find(|f| f.key == key)
                .map(|f| f.detail.clone())
                .unwrap()
        };
        assert_eq!(
            detail("Revenue"),
            "no Owner; its PostHog creator Maya Chen (maya@acme.example) is in the Notion workspace: `kodo ph-sync import dashboards` makes them the Owner, or set who is responsible now"
        );
        assert!(detail("Errors").contains("sam@acme.example) is not a member"));
        assert!(detail("Gone").starts_with("Owner Notion user 99999999… is no longer a member"));
        assert_eq!(report.findings[2].owner, None);
    }

    #[test]
    fn the_posthog_organization_decides_whether_a_creator_left_and_an_owner_overrides_it() {
        let r = Resource::Dashboards;
        let purpose = ("Purpose", text("Revenue"));
        // Maya left the PostHog organization (still in Notion); Sam is a member (not in Notion).
        let org = directory().with_organization(["SAM@acme.example "]);
        let mut by_maya = desired(r, "Revenue", None, &[]);
        by_maya.creator = creator("maya@acme.example");
        let mut kept = desired(r, "Kept", None, &[owner(MAYA)]);
        kept.creator = creator("maya@acme.example");
        let mut by_sam = desired(r, "Errors", None, &[]);
        by_sam.creator = creator("sam@acme.example");
        let report = judge_with(
            r,
            vec![by_maya, kept, by_sam],
            vec![
                row(r, "p1", "Revenue", std::slice::from_ref(&purpose)),
                row(r, "p2", "Kept", &[purpose.clone(), owner(MAYA)]),
                row(r, "p3", "Errors", std::slice::from_ref(&purpose)),
            ],
            &Settings::default(),
            &org,
        );
        assert_eq!(
            rules(&report),
            [
                ("Errors", Rule::MissingOwner),
                ("Revenue", Rule::FormerOwner)
            ]
        );
        assert!(report.findings[1]
            .detail
            .contains("maya@acme.example) is no longer a member of the PostHog organization"));
        assert_eq!(
            report.findings[0].detail,
            "no Owner: set who is responsible for it in Notion"
        );
        assert!(report.members_checked);
        assert!(!markdown(&report).contains("PostHog creators were not checked"));
        let unknown = judge(r, vec![], vec![], &Settings::default());
        assert!(markdown(&unknown).contains("PostHog creators were not checked"));
    }

    #[test]
    fn without_the_user_list_nobody_is_called_a_former_member() {
        let r = Resource::Dashboards;
        let p = plan(
            PlanInput {
                resource: r,
                desired: vec![],
                rows: vec![row(r, "p", "Gone", &[("Purpose", text("x")), owner(GONE)])],
                maybe_deleted: Default::default(),
                deleted: Default::default(),
                writable: None,
                written: Written::new(),
            },
            PlanOptions::default(),
        );
        let rows = vec![row(r, "p", "Gone", &[("Purpose", text("x")), owner(GONE)])];
        let report = findings(&Input {
            plans: &[p],
            rows: &[(r, rows.as_slice())],
            directory: &Directory::unreadable(),
            scan: None,
            settings: &Settings::default(),
            today: time::macros::date!(2026 - 06 - 01),
        });
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert!(!report.users_checked);
        assert!(markdown(&report).contains("Owners were not checked"));
    }

    #[test]
    fn purpose_cleanup_plan_and_overdue() {
        let ev = Resource::Events;
        let report = judge(
            ev,
            vec![],
            vec![
                row(
                    ev,
                    "e1",
                    "planned_event",
                    &[owner(MAYA), ("Implementation Status", select("planned"))],
                ),
                row(
                    ev,
                    "e2",
                    "old_event",
                    &[owner(MAYA), ("Implementation Status", select("deprecated"))],
                ),
            ],
            &Settings::default(),
        );
        assert_eq!(rules(&report), [("planned_event", Rule::MissingPurpose)]);
        assert_eq!(
            report.findings[0].detail,
            "no Description: write what the event tracks"
        );

        let fl = Resource::Flags;
        let served = |key: &str| {
            let mut d = desired(fl, key, Some("active"), &[("Type", select("release"))]);
            d.detail = Some("active at 100%".into());
            d
        };
        let report = judge(
            fl,
            vec![
                served("release_a"),
                served("release_b"),
                served("ops_c"),
                served("release_d"),
            ],
            vec![
                row(fl, "f1", "release_a", &[owner(MAYA)]),
                row(
                    fl,
                    "f2",
                    "release_b",
                    &[owner(MAYA), ("Planned Removal", date("2026-05-31"))],
                ),
                row(fl, "f3", "ops_c", &[owner(MAYA), ("Type", select("ops"))]),
                row(
                    fl,
                    "f4",
                    "release_d",
                    &[owner(MAYA), ("Planned Removal", date("2026-06-01"))],
                ),
            ],
            &Settings::default(),
        );
        assert_eq!(
            rules(&report),
            [
                ("release_a", Rule::NoCleanupPlan),
                ("release_b", Rule::CleanupOverdue)
            ]
        );
        assert_eq!(
            report.findings[1].detail,
            "Planned Removal 2026-05-31 has passed and PostHog still serves it (active at 100%): remove the checks and archive the flag, or set a new date"
        );
        assert_eq!(report.findings[1].owner.as_deref(), Some("Maya Chen"));

        let off = Settings::from_pairs(
            [("no-cleanup-plan", "off"), ("cleanup-overdue", "error")],
            14,
        )
        .unwrap();
        let report = judge(
            fl,
            vec![served("release_a"), served("release_b")],
            vec![
                row(fl, "f1", "release_a", &[owner(MAYA)]),
                row(
                    fl,
                    "f2",
                    "release_b",
                    &[owner(MAYA), ("Planned Removal", date("2026-05-31"))],
                ),
            ],
            &off,
        );
        assert_eq!(rules(&report), [("release_b", Rule::CleanupOverdue)]);
        assert_eq!(report.errors(), 1);
    }

    #[test]
    fn experiments_get_a_grace_period_before_their_result_is_asked_for() {
        let x = Resource::Experiments;
        let ended =
            |name: &str, end: &str| desired(x, name, Some("concluded"), &[("End Date", date(end))]);
        let base = |name: &str, end: &str, extra: &[(&'static str, PropValue)]| {
            let mut props = vec![
                owner(MAYA),
                ("Hypothesis", text("h")),
                ("End Date", date(end)),
                ("Status", select("concluded")),
            ];
            props.extend_from_slice(extra);
            row(x, name, name, &props)
        };
        let report = judge(
            x,
            vec![
                ended("Old", "2026-05-01"),
                ended("Recent", "2026-05-25"),
                ended("Won", "2026-05-01"),
                ended("Done", "2026-05-01"),
            ],
            vec![
                base("Old", "2026-05-01", &[]),
                base("Recent", "2026-05-25", &[]),
                base(
                    "Won",
                    "2026-05-01",
                    &[("Result", select("won")), ("Learnings", text("l"))],
                ),
                base(
                    "Done",
                    "2026-05-01",
                    &[("Result", select("lost")), ("Learnings", text("l"))],
                ),
            ],
            &Settings::default(),
        );
        assert_eq!(
            rules(&report),
            [
                ("Old", Rule::ExperimentWithoutResult),
                ("Won", Rule::ExperimentWithoutResult)
            ]
        );
        assert_eq!(
            report.findings[0].detail,
            "concluded 2026-05-01 (31 days ago) with no Result or Learnings: record the outcome in Notion"
        );
        assert!(report.findings[1]
            .detail
            .contains("with no Winner Variant:"));
        let longer = Settings::from_pairs([], 40).unwrap();
        let report = judge(
            x,
            vec![ended("Old", "2026-05-01")],
            vec![base("Old", "2026-05-01", &[])],
            &longer,
        );
        assert!(report.findings.is_empty());
    }

    #[test]
    fn a_deleted_flag_whose_row_is_not_archived() {
        let fl = Resource::Flags;
        let mut d = desired(
            fl,
            "release_gone",
            Some("archived"),
            &[("Status", select("archived"))],
        );
        d.deleted = true;
        let report = judge(
            fl,
            vec![d.clone()],
            vec![row(
                fl,
                "f",
                "release_gone",
                &[
                    owner(MAYA),
                    ("Status", select("active")),
                    ("Planned Removal", date("2026-01-01")),
                ],
            )],
            &Settings::default(),
        );
        assert_eq!(rules(&report), [("release_gone", Rule::DeletedNotArchived)]);
        assert!(report.findings[0].detail.starts_with("deleted in PostHog, while Notion still says \"active\": `kodo ph-sync import flags` marks it archived"));
        let report = judge(
            fl,
            vec![d],
            vec![row(
                fl,
                "f",
                "release_gone",
                &[("Status", select("archived"))],
            )],
            &Settings::default(),
        );
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn renderings() {
        let report = Report {
            findings: vec![Finding {
                resource: Resource::Flags,
                key: "release_x".into(),
                rule: Rule::NoCleanupPlan,
                level: Level::Error,
                detail: "a release flag with no Planned Removal: set it".into(),
                url: None,
                owner: None,
                references: vec![],
            }],
            users_checked: true,
            members_checked: true,
            code_checked: true,
            result_grace_days: 14,
        };
        assert_eq!(
            markdown(&report),
            "\n## Hygiene\nThe spec's best practices; import does not fix these, each says what to do:\n\n### No Clean-up Plan (`no-cleanup-plan`, fails --check)\nInclude purpose, owner, and cleanup plan:\n- [ ] Flag `release_x`: a release flag with no Planned Removal: set it\n"
        );
        assert_eq!(
            summary_line(&report),
            "Hygiene: 1 finding (1 no-cleanup-plan), 1 failing --check: `kodo ph-sync audit` lists them"
        );
        assert_eq!(
            csv_records(&report)[0][5],
            "no-cleanup-plan: a release flag with no Planned Removal: set it"
        );
    }
}
