#!/usr/bin/env bash
# Validates the Claude Code plugin (.claude-plugin/plugin.json, plugin/hooks.json, commands/,
# skills/) and the marketplace (.claude-plugin/marketplace.json) with Claude Code's own
# `claude plugin validate --strict`, and fails on any error or warning, including the plugin
# directory's findings (README, license, icon).
#
# Claude Code's CLI is installed from the npm registry, pinned, into a cache directory the
# first time (the npm package ships the native binary through its platform package, so no
# other host is needed). Validation needs no login and makes no network calls; it runs with
# a throwaway HOME so it neither reads nor writes the user's ~/.claude.
#
# Environment: KODO_CLAUDE_CLI_DIR overrides the cache directory.
set -euo pipefail

CLAUDE_CODE_VERSION=2.1.331
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${KODO_CLAUDE_CLI_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kodo/claude-code-$CLAUDE_CODE_VERSION}
claude=$cache/node_modules/.bin/claude

installed_version() {
    "$claude" --version 2>/dev/null | awk '{print $1}'
}

if [ "$(installed_version || true)" != "$CLAUDE_CODE_VERSION" ]; then
    echo "installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into $cache"
    mkdir -p "$cache"
    npm install --no-save --no-audit --no-fund --loglevel=error \
        --prefix "$cache" "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION"
    if [ "$(installed_version || true)" != "$CLAUDE_CODE_VERSION" ]; then
        echo "error: $claude does not run after installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >&2
        exit 1
    fi
fi

home=$(mktemp -d)
# Validate the files git tracks (what a git-based install copies), not the working tree with
# its build outputs and node_modules, which would exceed the directory checks' limits.
copy=$(mktemp -d)
trap 'rm -rf "$home" "$copy"' EXIT
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy")
src_root=$root
root=$copy
run_claude() {
    HOME=$home CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 \
        timeout 120 "$claude" "$@"
}

status=0
# The repository root validates the marketplace and the plugin's commands and skills;
# plugin.json validates the plugin manifest and its hooks file.
for target in "$root" "$root/.claude-plugin/plugin.json"; do
    echo "== claude plugin validate --strict ${target#"$root"/} (a copy of $src_root's tracked files)"
    run_claude plugin validate --strict "$target" || true
    report=$(run_claude plugin validate --strict --json "$target" || true)
    if ! REPORT=$report node -e '
        let r;
        try { r = JSON.parse(process.env.REPORT); } catch (e) {
            console.error("validator printed no JSON report: " + e.message); process.exit(1);
        }
        const problems = [];
        const each = (part) => {
            for (const e of part.errors || []) problems.push(`error: ${part.file}: ${e.path}: ${e.message}`);
            for (const w of part.warnings || []) problems.push(`warning: ${part.file}: ${w.path}: ${w.message}`);
        };
        each(r.manifest || {});
        for (const c of r.contents || []) each(c);
        const d = r.directory || {};
        for (const f of d.findings || []) problems.push(`directory ${f.severity}: ${f.file}: ${f.code}: ${f.message}`);
        if (d.failure) problems.push(`directory checks failed: ${JSON.stringify(d.failure)}`);
        if (d.incomplete) problems.push("directory checks incomplete");
        if (!r.success) problems.push("validator reported failure");
        for (const p of problems) console.error(p);
        process.exit(problems.length ? 1 : 0);
    '; then
        status=1
    fi
done

if [ "$status" -ne 0 ]; then
    echo "plugin validation failed: fix every error and warning above" >&2
    exit 1
fi
echo "plugin validation: no errors, no warnings"
