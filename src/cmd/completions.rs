//! `kodo completions <shell>`: a shell completion script generated from the clap definition
//! in `crate::cli`, so it lists exactly the subcommands, options and values kodo accepts.

use std::io::Write;

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::Cli;

use super::Outcome;

/// Writes the completion script for `shell` to `out`.
pub fn run(shell: Shell, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kodo", &mut buf);
    out.write_all(&buf)
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write the {shell} completion script to stdout"))?;
    Ok(Outcome::Success)
}
