//! Reliability and safety (issue 15): nothing skipped in silence, files kodo writes, concurrent
//! runs, and inputs that must never block a commit.

mod concurrent;
mod dotenv;
mod files;
mod fuzz;
mod settings;
mod skipped;
