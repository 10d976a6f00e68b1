//! Hooks: the Claude Code tool hook's input and rules (`claude`), the git pre-commit gate
//! (`precommit`) and the installers (`install`, `settings`), and the JSON they print (`wire`). The commands that run them are
//! `crate::cmd::{hook_claude, hook_pre_commit, hooks}`.

pub mod claude;
pub mod install;
pub mod precommit;
pub mod settings;
pub mod wire;
