//! Hooks: the Claude Code tool hook (`kodo hook claude`), the git pre-commit gate
//! (`kodo hook pre-commit`) and their installers (`kodo hooks install`).

pub mod claude;
pub mod claude_run;
pub mod install;
pub mod precommit;
pub mod settings;
