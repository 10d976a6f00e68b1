//! `kodo completions <shell>`: the script names every subcommand kodo has, needs no config,
//! and an unknown shell is a usage error (exit 2).

use clap::CommandFactory as _;

fn completions(shell: &str) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().expect("temp dir");
    assert_cmd::Command::cargo_bin("kodo")
        .expect("kodo binary")
        .current_dir(dir.path())
        .env_remove("NOTION_API_KEY")
        .env_remove("POSTHOG_PERSONAL_API_KEY")
        .args(["completions", shell])
        .assert()
}

/// Every subcommand clap knows, nested ones included (`hooks install`, `snapshot refresh`).
fn subcommand_names() -> Vec<String> {
    let cli = kodo::cli::Cli::command();
    let mut names = Vec::new();
    for sub in cli.get_subcommands() {
        names.push(sub.get_name().to_string());
        for nested in sub.get_subcommands() {
            names.push(nested.get_name().to_string());
        }
    }
    names
}

#[test]
fn bash_zsh_and_fish_scripts_name_every_subcommand() {
    let names = subcommand_names();
    for expected in [
        "ph-sync",
        "notion-sync",
        "scan",
        "hook",
        "hooks",
        "doctor",
        "completions",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "clap has no {expected}"
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = completions(shell).success().get_output().stdout.clone();
        let script = String::from_utf8(out).expect("utf-8 script");
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} script lacks subcommand {name}"
            );
        }
        for option in ["dry-run", "config", "format", "archive-orphans"] {
            // fish writes `-l dry-run`, bash and zsh `--dry-run`.
            let spelled = if shell == "fish" {
                format!("-l {option}")
            } else {
                format!("--{option}")
            };
            assert!(script.contains(&spelled), "{shell} script lacks {spelled}");
        }
    }
}

#[test]
fn bash_script_is_valid_bash_and_registers_kodo() {
    let out = completions("bash").success().get_output().stdout.clone();
    let script = String::from_utf8(out).expect("utf-8 script");
    assert!(
        script.contains("complete -F _kodo"),
        "no `complete` registration:\n{script}"
    );
    let status = std::process::Command::new("bash")
        .args(["-n", "-c", &script])
        .status()
        .expect("run bash -n");
    assert!(status.success(), "bash -n rejected the script");
}

#[test]
fn ph_sync_offers_its_actions_and_resources() {
    let out = completions("bash").success().get_output().stdout.clone();
    let script = String::from_utf8(out).expect("utf-8 script");
    // bash: the words offered after `kodo ph-sync` (its options, resources and actions).
    let section = script
        .split("kodo__subcmd__ph__subcmd__sync)")
        .nth(1)
        .and_then(|rest| rest.lines().find(|l| l.trim_start().starts_with("opts=")))
        .expect("bash script has ph-sync's opts");
    let words: Vec<&str> = section
        .trim()
        .trim_start_matches("opts=\"")
        .trim_end_matches('"')
        .split(' ')
        .collect();
    for word in [
        "status",
        "import",
        "export",
        "audit",
        "setup",
        "document",
        "events",
        "flags",
        "experiments",
        "dashboards",
        "all",
        "--check",
    ] {
        assert!(words.contains(&word), "bash offers no `{word}`: {section}");
    }
    // An action's own options are offered after it, not at the overview.
    assert!(!words.contains(&"--overwrite"), "{section}");
    let zsh = completions("zsh").success().get_output().stdout.clone();
    let zsh = String::from_utf8(zsh).expect("utf-8 script");
    for action in ["status", "import", "export", "audit", "setup", "document"] {
        assert!(zsh.contains(&format!("'{action}:")), "zsh lacks {action}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let assert = completions("tcsh").code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("tcsh") && stderr.contains("bash"),
        "{stderr}"
    );
}

/// `kodo completions` reads no config, prints nothing but the script and sends no request:
/// its help offers none of `--config`, `-q`, `-v`, and each one is a usage error (exit 2)
/// after the name and before it; so is `-q`/`-v` for `kodo hook claude` and
/// `--config`/`-v` for `kodo hooks install`, while the commands that honour them take them
/// on either side of the name.
#[test]
fn completions_takes_none_of_config_quiet_verbose() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kodo = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("kodo")
            .expect("kodo binary")
            .current_dir(dir.path())
            .env_remove("NOTION_API_KEY")
            .env_remove("POSTHOG_PERSONAL_API_KEY")
            .args(args)
            .write_stdin("")
            .output()
            .expect("run kodo");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let help = |args: &[&str]| {
        let (code, stdout, _) = kodo(args);
        assert_eq!(code, Some(0), "{args:?}");
        stdout
    };
    let completions = help(&["completions", "--help"]);
    for option in ["--config", "--quiet", "-q,", "--verbose", "-v,"] {
        assert!(!completions.contains(option), "{option}:\n{completions}");
    }
    let claude = help(&["hook", "claude", "--help"]);
    assert!(claude.contains("--config <PATH>"), "{claude}");
    assert!(
        !claude.contains("--quiet") && !claude.contains("--verbose"),
        "{claude}"
    );
    let install = help(&["hooks", "install", "--help"]);
    assert!(install.contains("--quiet"), "{install}");
    assert!(
        !install.contains("--config") && !install.contains("--verbose"),
        "{install}"
    );

    let refused: [(&[&str], &str); 7] = [
        (
            &["completions", "bash", "--config", "x.json"],
            "unexpected argument '--config'",
        ),
        (&["completions", "bash", "-q"], "unexpected argument '-q'"),
        (&["completions", "bash", "-v"], "unexpected argument '-v'"),
        (
            &["--config", "x.json", "completions", "bash"],
            "`--config` does not apply to `kodo completions`",
        ),
        (
            &["-v", "completions", "bash"],
            "`-v` does not apply to `kodo completions`",
        ),
        (
            &["-q", "hook", "claude"],
            "`-q` does not apply to `kodo hook claude`",
        ),
        (
            &["-v", "hooks", "install"],
            "`-v` does not apply to `kodo hooks install`",
        ),
    ];
    for (args, message) in refused {
        let (code, stdout, stderr) = kodo(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // Where they mean something they are taken before the name as after it: `-q` silences
    // what `hooks install` says on stderr.
    let git = std::process::Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .expect("git init");
    assert!(git.success());
    let (code, _, stderr) = kodo(&["hooks", "install"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("kodo: "), "{stderr}");
    for args in [&["-q", "hooks", "install"][..], &["hooks", "install", "-q"]] {
        let (code, stdout, stderr) = kodo(args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""), "{args:?}");
    }
}
