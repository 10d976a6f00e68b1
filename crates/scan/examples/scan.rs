//! A minimal stand-in for `kodo scan` until the CLI wires it: scans a directory, annotates
//! it from git history, and prints the report.
//!
//! Usage: `cargo run --release -p kodo-scan --example scan -- <PATH> [--format json|sarif|md] [--no-git]`

use std::path::PathBuf;
use std::process::ExitCode;

use kodo_scan::{git, render, scan, ScanSettings};

fn main() -> ExitCode {
    let mut path: Option<PathBuf> = None;
    let mut format = "json".to_string();
    let mut use_git = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--format" => format = args.next().unwrap_or_default(),
            "--no-git" => use_git = false,
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => {
                eprintln!("unexpected argument `{arg}`");
                return ExitCode::from(2);
            }
        }
    }
    let root = path.unwrap_or_else(|| PathBuf::from("."));
    let mut report = match scan(&root, &ScanSettings::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if use_git {
        if let Err(e) = git::annotate(&root, &mut report) {
            eprintln!("warning: no history: {e}");
        }
    }
    let out = match format.as_str() {
        "json" => render::json(&report),
        "sarif" => render::sarif(&report),
        "md" => render::markdown(&report),
        other => {
            eprintln!("unknown format `{other}` (json, sarif, md)");
            return ExitCode::from(2);
        }
    };
    print!("{out}");
    ExitCode::SUCCESS
}
