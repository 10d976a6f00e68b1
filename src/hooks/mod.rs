//! Hooks: Claude Code tool hooks and the git pre-commit gate.

pub mod claude;
pub mod settings;
