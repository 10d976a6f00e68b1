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
    /// The rows as they now are (created, recovered or updated), by resource.
    #[serde(skip)]
    pub rows: BTreeMap<Resource, Vec<NotionRow>>,
    /// Page IDs moved to the trash.
    #[serde(skip)]
    pub trashed: BTreeSet<String>,
}
