//! The versioned JSON contract of `kodo scan --format json` ([`render::json`](crate::render::json)),
//! documented in the crate README ("JSON report").
//!
//! [`ScanReport`] is the scanner's result and carries what only the scanner needs (the
//! wrappers it inferred, whole, for re-scanning a few files as the tree's scan would); it is
//! not serialized. [`Scan`] is the document: what a reader (the plugin, a CI job, kodo's own
//! tests) may rely on. Its records ([`KeyReport`], [`Reference`], [`WrapperReport`],
//! [`Skipped`]) are plain data the scan produces and the README documents field by field.
//!
//! **Invariants.** `"version": 1` ([`REPORT_VERSION`]); fields are only ever added under the
//! same version, and a new one deserializes with a default, so a reader of version 1 reads
//! every later version-1 document. Output is deterministic: the same tree gives the same bytes.

use serde::{Deserialize, Serialize};

use crate::{KeyReport, Reference, ScanReport, Skipped, WrapperReport, REPORT_VERSION};

/// `kodo scan --format json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// One entry per (kind, key): events first, then by key.
    pub keys: Vec<KeyReport>,
    /// Every reference whose key cannot be known statically, by location.
    pub dynamic: Vec<Reference>,
    /// Source files read (after ignore rules).
    pub files_scanned: usize,
    /// Source files with at least one reference.
    pub files_matched: usize,
    /// The wrappers the scan used: configured, then inferred, by call name.
    #[serde(default)]
    pub wrappers: Vec<WrapperReport>,
    /// Source files not scanned, and why, by path; `[]` when every file was read.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// [`Scan`] borrowed from a [`ScanReport`]: the same document, written without copying the
/// report (same fields in the same order, so the same bytes).
#[derive(Serialize)]
pub(crate) struct ScanRef<'a> {
    version: u32,
    keys: &'a [KeyReport],
    dynamic: &'a [Reference],
    files_scanned: usize,
    files_matched: usize,
    wrappers: &'a [WrapperReport],
    skipped: &'a [Skipped],
}

impl<'a> ScanRef<'a> {
    pub(crate) fn of(report: &'a ScanReport) -> ScanRef<'a> {
        ScanRef {
            version: REPORT_VERSION,
            keys: &report.keys,
            dynamic: &report.dynamic,
            files_scanned: report.files_scanned,
            files_matched: report.files_matched,
            wrappers: &report.wrappers,
            skipped: &report.skipped,
        }
    }
}

impl Scan {
    /// The document of a scan's result.
    pub fn of(report: &ScanReport) -> Scan {
        Scan {
            version: REPORT_VERSION,
            keys: report.keys.clone(),
            dynamic: report.dynamic.clone(),
            files_scanned: report.files_scanned,
            files_matched: report.files_matched,
            wrappers: report.wrappers.clone(),
            skipped: report.skipped.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_reads_back_as_written_and_leaves_the_inference_out() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/constants");
        let report = crate::scan(&dir, &crate::ScanSettings::default()).unwrap();
        assert!(!report.keys.is_empty());
        let text = crate::render::json(&report);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let fields: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(
            fields,
            [
                "version",
                "keys",
                "dynamic",
                "files_scanned",
                "files_matched",
                "wrappers",
                "skipped"
            ]
        );
        assert_eq!(
            serde_json::from_str::<Scan>(&text).unwrap(),
            Scan::of(&report)
        );
        // The borrowed document is the owned one, byte for byte, built whole or written.
        assert_eq!(
            serde_json::to_string_pretty(&Scan::of(&report)).unwrap() + "\n",
            text
        );
        let mut written = Vec::new();
        crate::render::write_json(&report, &mut written).unwrap();
        assert_eq!(String::from_utf8(written).unwrap(), text);
        // A version-1 document from before `wrappers` and `skipped` still reads.
        let mut older = value.clone();
        let object = older.as_object_mut().unwrap();
        object.remove("wrappers");
        object.remove("skipped");
        let read: Scan = serde_json::from_value(older).unwrap();
        assert_eq!(read.keys, report.keys);
        assert!(read.wrappers.is_empty() && read.skipped.is_empty());
    }
}
