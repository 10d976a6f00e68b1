//! What applying a plan did: the import's result, as reports and JSON show it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{NotionRow, Resource};

/// A write that failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub resource: Resource,
    pub key: String,
    pub action: &'static str,
    pub error: String,
}

/// One write of the plan, as the report lists it: which row, and what was (or would be) done.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Write {
    pub resource: Resource,
    pub key: String,
    /// `create`, `update` or `archive`.
    pub action: &'static str,
}

/// What applying a plan did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    pub created: usize,
    /// Creates whose answer was lost and whose row turned out to exist.
    pub recovered: usize,
    /// Rows another writer (another machine) created after this run read the database: found
    /// by the create's re-check of the key, and not created again. `(resource, key)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub existing: Vec<(Resource, String)>,
    pub updated: usize,
    pub unchanged: usize,
    pub archived: usize,
    pub failed: Vec<Failure>,
    /// Every write that landed (created, recovered, updated or archived), ordered by resource
    /// and key.
    pub written: Vec<Write>,
    /// The run was interrupted (Ctrl-C): the writes in flight were finished, the others were
    /// not started and are listed in `left`.
    pub interrupted: bool,
    /// The writes of the plan that were not started because the run was interrupted.
    pub left: Vec<Write>,
    /// The rows as they now are (created, recovered or updated), by resource.
    #[serde(skip)]
    pub rows: BTreeMap<Resource, Vec<NotionRow>>,
    /// Page IDs moved to the trash.
    #[serde(skip)]
    pub trashed: BTreeSet<String>,
}

impl Outcome {
    /// Every write the plan asked for: done, failed, found done by another run, or left.
    pub fn planned_writes(&self) -> usize {
        self.written.len() + self.failed.len() + self.existing.len() + self.left.len()
    }
}
