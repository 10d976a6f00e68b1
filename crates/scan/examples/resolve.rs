//! Times `resolve_identifiers` for a few names, as the pre-commit gate will call it.
//!
//! Usage: `cargo run --release -p kodo-scan --example resolve -- <ROOT> NAME...`, or
//! `… -- <ROOT> --file <REL>` to time `scan_file_resolved` on one file of the tree.

use std::path::PathBuf;
use std::time::Instant;

use kodo_scan::{resolve_identifiers, ScanSettings};

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let names: Vec<String> = args.collect();
    let start = Instant::now();
    if names.first().map(String::as_str) == Some("--file") {
        let rel = names.get(1).cloned().unwrap_or_default();
        let text = std::fs::read_to_string(root.join(&rel)).unwrap_or_default();
        match kodo_scan::scan_file_resolved(&root, &rel, &text, &ScanSettings::default()) {
            Ok(refs) => {
                let elapsed = start.elapsed();
                for r in &refs {
                    println!(
                        "{}:{} {:?} {:?} {:?}",
                        r.path, r.line, r.identifier, r.key, r.dynamic_reason
                    );
                }
                eprintln!(
                    "scanned and resolved {} references in {:.1} ms",
                    refs.len(),
                    elapsed.as_secs_f64() * 1000.0
                );
            }
            Err(e) => eprintln!("error: {e}"),
        }
        return;
    }
    match resolve_identifiers(&root, &names, &ScanSettings::default()) {
        Ok(found) => {
            let elapsed = start.elapsed();
            let mut sorted: Vec<_> = found.into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, resolution) in sorted {
                println!("{name}: {resolution:?}");
            }
            eprintln!(
                "resolved {} names in {:.1} ms",
                names.len(),
                elapsed.as_secs_f64() * 1000.0
            );
        }
        Err(e) => eprintln!("error: {e}"),
    }
}
