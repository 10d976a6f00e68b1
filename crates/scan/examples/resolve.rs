//! Times `resolve_identifiers` for a few names, as the pre-commit gate will call it.
//!
//! Usage: `cargo run --release -p kodo-scan --example resolve -- <ROOT> NAME...`

use std::path::PathBuf;
use std::time::Instant;

use kodo_scan::{resolve_identifiers, ScanSettings};

fn main() {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let names: Vec<String> = args.collect();
    let start = Instant::now();
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
