//! The Claude Code plugin's packaging: manifest, marketplace, hooks file, commands and skills
//! agree with each other, with the crate and with the tool names PostHog's MCP server uses.

use std::path::PathBuf;

use kodo::hooks::claude::{HOOK_TIMEOUT_SECS, TOOL_MATCHER};
use kodo::hooks::settings::merge_claude_settings;
use regex::Regex;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `version` of `[workspace.package]` in the root Cargo.toml.
fn workspace_version() -> String {
    let cargo = read("Cargo.toml");
    let mut in_section = false;
    for line in cargo.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().trim_start_matches('=').trim();
                return value.trim_matches('"').to_string();
            }
        }
    }
    panic!("no version in [workspace.package]");
}

/// The YAML frontmatter of a Markdown file as (key, value) pairs (one-line values only, which
/// is all kodo's files use).
fn frontmatter(rel: &str) -> Vec<(String, String)> {
    let text = read(rel);
    let rest = text
        .strip_prefix("---\n")
        .unwrap_or_else(|| panic!("{rel}: no frontmatter"));
    let end = rest
        .find("\n---\n")
        .unwrap_or_else(|| panic!("{rel}: unterminated frontmatter"));
    rest[..end]
        .lines()
        .map(|line| {
            let (key, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("{rel}: not `key: value`: {line}"));
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (key.trim().to_string(), value.to_string())
        })
        .collect()
}

fn field<'a>(fm: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fm.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn plugin_path(rel: &str) -> PathBuf {
    let stripped = rel
        .strip_prefix("./")
        .unwrap_or_else(|| panic!("plugin paths start with ./ : {rel}"));
    root().join(stripped)
}

#[test]
fn plugin_version_is_the_crate_version_everywhere() {
    let version = workspace_version();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let plugin = json(".claude-plugin/plugin.json");
    assert_eq!(plugin["name"], "kodo");
    assert_eq!(plugin["version"], version.as_str());

    let marketplace = json(".claude-plugin/marketplace.json");
    let entries = marketplace["plugins"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["name"], "kodo");
    assert_eq!(entries[0]["source"], "./");
    assert_eq!(entries[0]["version"], version.as_str());
}

#[test]
fn manifest_has_the_metadata_a_marketplace_shows() {
    let plugin = json(".claude-plugin/plugin.json");
    for key in ["description", "license", "repository", "homepage"] {
        let value = plugin[key].as_str().unwrap_or_default();
        assert!(!value.trim().is_empty(), "plugin.json {key}");
    }
    assert_eq!(plugin["license"], "MIT");
    assert!(plugin["author"]["name"]
        .as_str()
        .is_some_and(|n| !n.is_empty()));
    let keywords = plugin["keywords"].as_array().unwrap();
    for expected in ["posthog", "notion"] {
        assert!(keywords.iter().any(|k| k == expected), "keyword {expected}");
    }
    let marketplace = json(".claude-plugin/marketplace.json");
    assert!(marketplace["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(marketplace["owner"]["name"]
        .as_str()
        .is_some_and(|n| !n.is_empty()));
}

#[test]
fn hooks_file_is_referenced_exactly_once_and_exists() {
    let plugin = json(".claude-plugin/plugin.json");
    assert_eq!(plugin["hooks"], "./plugin/hooks.json");
    assert!(plugin_path("./plugin/hooks.json").is_file());
    // Claude Code also loads hooks/hooks.json by itself: having both would run every hook twice.
    assert!(!root().join("hooks/hooks.json").exists());
    // The marketplace entry must not declare the hooks a second time.
    let marketplace = json(".claude-plugin/marketplace.json");
    assert!(marketplace["plugins"][0].get("hooks").is_none());
}

#[test]
fn every_path_the_manifest_references_exists() {
    let plugin = json(".claude-plugin/plugin.json");
    let mut paths = Vec::new();
    for key in [
        "hooks",
        "commands",
        "skills",
        "agents",
        "mcpServers",
        "outputStyles",
        "icon",
    ] {
        match &plugin[key] {
            Value::String(p) => paths.push(p.clone()),
            Value::Array(items) => {
                paths.extend(items.iter().filter_map(Value::as_str).map(String::from))
            }
            _ => {}
        }
    }
    assert!(!paths.is_empty());
    for path in &paths {
        assert!(
            plugin_path(path).exists(),
            "{path} is referenced but missing"
        );
    }
    // The default component directories the plugin relies on.
    assert!(root().join("commands/ph-sync.md").is_file());
    assert!(root().join("skills/posthog/SKILL.md").is_file());
    // Files the skill and the hooks point at.
    let skill = read("skills/posthog/SKILL.md");
    assert!(skill.contains("references/notion-sync.md"));
    assert!(root()
        .join("skills/posthog/references/notion-sync.md")
        .is_file());
    assert!(root().join("plugin/kodo-launcher").is_file());
    assert!(root().join("plugin/README.md").is_file());
}

#[test]
fn icon_is_a_square_png_the_directory_accepts() {
    let bytes = std::fs::read(root().join(".claude-plugin/icon.png")).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!(width, height);
    assert!((512..=2048).contains(&width), "{width}px");
    assert!(bytes.len() < 2 * 1024 * 1024);
}

/// The one matcher group of an event in plugin/hooks.json.
fn hook_group(event: &str) -> Value {
    let hooks = json("plugin/hooks.json");
    let groups = hooks["hooks"][event]
        .as_array()
        .unwrap_or_else(|| panic!("{event} missing"));
    assert_eq!(groups.len(), 1, "{event}: one matcher group");
    groups[0].clone()
}

#[test]
fn hooks_run_the_launcher_with_a_timeout() {
    let hooks = json("plugin/hooks.json");
    let events: Vec<&str> = hooks["hooks"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(events, ["PreToolUse", "PostToolUse"]);
    for event in events {
        let group = hook_group(event);
        let list = group["hooks"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        let hook = &list[0];
        assert_eq!(hook["type"], "command");
        // Run through `sh` (the plugin cache may drop the exec bit) with the root quoted (it
        // may contain spaces).
        assert_eq!(
            hook["command"],
            r#"sh "${CLAUDE_PLUGIN_ROOT}/plugin/kodo-launcher" hook claude"#
        );
        assert_eq!(hook["timeout"], HOOK_TIMEOUT_SECS);
        // Far below Claude Code's default of 600 s, so a stuck network never stalls a session.
        let timeout = hook["timeout"].as_u64().unwrap();
        assert!((1..=30).contains(&timeout), "{timeout}");
    }
}

#[test]
fn hook_matchers_select_posthog_creates_in_both_mcp_modes() {
    for event in ["PreToolUse", "PostToolUse"] {
        let matcher = hook_group(event)["matcher"].as_str().unwrap().to_string();
        assert_eq!(matcher, TOOL_MATCHER, "{event}");
        // Claude Code reads a matcher with characters outside [A-Za-z0-9_ ,|-] as a regular
        // expression (unanchored, hence the ^…$).
        assert!(matcher
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || "_- ,|".contains(c))));
        let re = Regex::new(&matcher).unwrap();
        for tool in [
            "mcp__posthog__create-feature-flag",
            "mcp__posthog__experiment-create",
            "mcp__posthog__dashboard-create",
            "mcp__plugin_posthog_posthog__create-feature-flag",
            "mcp__plugin_posthog_posthog__experiment-create",
            "mcp__plugin_posthog_posthog__dashboard-create",
            "mcp__posthog__exec",
            "mcp__plugin_posthog_posthog__exec",
            "mcp__posthog_posthog__exec",
        ] {
            assert!(re.is_match(tool), "{event} should match {tool}");
        }
        for tool in [
            "mcp__posthog__feature-flag-get-all",
            "mcp__posthog__update-feature-flag",
            "mcp__posthog__dashboard-create-tile",
            "mcp__posthog__experiment-get-all",
            "mcp__posthog__dashboards-get-all",
            "mcp__posthog__execute-sql",
            "mcp__plugin_Notion_notion__notion-create-pages",
            "Bash",
            "create-feature-flag",
            "exec",
        ] {
            assert!(!re.is_match(tool), "{event} should not match {tool}");
        }
    }
}

#[test]
fn settings_install_writes_the_same_hooks_as_the_plugin() {
    let command = r#"sh "${CLAUDE_PLUGIN_ROOT}/plugin/kodo-launcher" hook claude"#;
    let settings: Value =
        serde_json::from_str(&merge_claude_settings(None, command).unwrap()).unwrap();
    let plugin = json("plugin/hooks.json");
    assert_eq!(settings["hooks"], plugin["hooks"]);
}

#[test]
fn commands_are_limited_to_the_kodo_binary() {
    let dir = root().join("commands");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        names.push(rel.clone());
        let fm = frontmatter(&rel);
        for key in ["name", "description", "argument-hint", "allowed-tools"] {
            assert!(
                field(&fm, key).is_some_and(|v| !v.is_empty()),
                "{rel}: {key}"
            );
        }
        let tools = field(&fm, "allowed-tools").unwrap();
        for tool in tools.split(',').map(str::trim) {
            assert!(
                tool.starts_with("Bash(kodo ") && tool.ends_with(')'),
                "{rel}: allowed tool {tool} is not the kodo binary"
            );
        }
        let body = read(&rel);
        assert!(body.contains("--format json"), "{rel}");
        assert!(body.contains("$ARGUMENTS"), "{rel}");
        // Never a path outside the plugin.
        assert!(!body.contains("../"), "{rel}");
    }
    names.sort();
    assert_eq!(names, ["commands/kodo.md", "commands/ph-sync.md"]);

    let fm = frontmatter("commands/ph-sync.md");
    assert_eq!(field(&fm, "name"), Some("ph-sync"));
    assert_eq!(
        field(&fm, "argument-hint"),
        Some("[status|import|export|audit|setup] [events|flags|experiments|dashboards|all] | document <event|flag|experiment|dashboard> KEY")
    );
    let body = read("commands/ph-sync.md");
    assert!(
        body.contains("run it only\n   when the user agrees"),
        "the command offers `document`, never runs it unasked"
    );
    assert!(body.contains("kodo ph-sync <action> <resource-type> <options> --format json"));
    for section in [
        "Undocumented Resources",
        "Orphaned Documentation",
        "Status Mismatches",
    ] {
        assert!(body.contains(section), "ph-sync.md: {section}");
    }
    // The live bugs come first, before the documentation gaps.
    let first = |needle: &str| {
        body.find(needle)
            .unwrap_or_else(|| panic!("ph-sync.md does not mention {needle}"))
    };
    assert!(first("code.dead_flag_references") < first("### Undocumented Resources"));
    assert!(first("code.in_code_only") < first("### Undocumented Resources"));
    // The JSON contract ships with the plugin (`plugin/json-contract.md`, kept true to the
    // wire types by `json_contract`), and the command points there.
    assert!(body.contains("${CLAUDE_PLUGIN_ROOT}/plugin/json-contract.md"));
    let contract = read("plugin/json-contract.md");
    for document in ["Audit", "Status", "Import", "Setup", "Document", "Export"] {
        assert!(
            body.contains(&format!("`{document}`")),
            "ph-sync.md: {document}"
        );
        assert!(
            contract.contains(&format!("(`{document}`)")),
            "json-contract.md: {document}"
        );
    }
    assert!(read("README.md").contains("### Machine-readable output"));
    // `/kodo ph-sync …` (the spec's spelling) is the `kodo` command with a bare alias.
    let fm = frontmatter("commands/kodo.md");
    assert_eq!(field(&fm, "name"), Some("kodo"));
    assert!(read("commands/kodo.md").contains("/kodo:ph-sync"));
}

#[test]
fn skill_has_a_name_description_and_the_command_map() {
    let fm = frontmatter("skills/posthog/SKILL.md");
    assert_eq!(field(&fm, "name"), Some("posthog"));
    assert!(field(&fm, "description").is_some_and(|d| d.len() > 40));
    let skill = read("skills/posthog/SKILL.md");
    for command in [
        "kodo ph-sync status",
        "kodo ph-sync audit",
        "kodo ph-sync import",
        "kodo ph-sync export",
        "kodo ph-sync setup",
        "kodo scan",
        "kodo hooks install",
        "kodo snapshot refresh",
    ] {
        assert!(skill.contains(command), "SKILL.md: {command}");
    }
    let reference = read("skills/posthog/references/notion-sync.md");
    for needle in [
        "rolling_out",
        "concluded",
        "Flag Key",
        "Experiment Name",
        "Dashboard Name",
        "Event Name",
    ] {
        assert!(reference.contains(needle), "notion-sync.md: {needle}");
    }
}

#[test]
fn ci_validates_the_plugin_strictly_with_a_pinned_cli() {
    let script = read(".ci/validate-plugin.sh");
    assert!(script.contains("plugin validate --strict"));
    let pinned = Regex::new(r#"CLAUDE_CODE_VERSION=\d+\.\d+\.\d+\n"#).unwrap();
    assert!(pinned.is_match(&script));
    assert!(script.contains(r#"@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION"#));
}

/// `/kodo:ph-sync` presents everything the audit's JSON has: every list of findings and every
/// part of the code section, by the name the JSON gives it (from a real run on the demo).
#[test]
fn ph_sync_command_presents_every_part_of_the_audit_json() {
    let env = crate::common::TestEnv::start("demo");
    let out = env
        .kodo()
        .args(["ph-sync", "audit", "--format", "json"])
        .output()
        .expect("run kodo");
    let audit: Value = serde_json::from_slice(&out.stdout).expect("audit JSON");
    let body = read("commands/ph-sync.md");
    let mut names: Vec<String> = audit
        .as_object()
        .expect("object")
        .keys()
        .filter(|k| !["version", "generated_at"].contains(&k.as_str()))
        .map(|k| format!("`{k}`"))
        .collect();
    names.extend(
        audit["code"]
            .as_object()
            .expect("code section")
            .keys()
            .filter(|k| k.as_str() != "files_scanned")
            .map(|k| format!("code.{k}")),
    );
    assert!(names.len() > 10, "{names:?}");
    for name in names {
        assert!(
            body.contains(&name),
            "commands/ph-sync.md never presents {name}"
        );
    }
}
