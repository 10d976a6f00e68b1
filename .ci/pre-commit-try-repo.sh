#!/usr/bin/env bash
# Runs the real pre-commit framework (from PyPI) against this repository's hooks with
# `pre-commit try-repo`, in a throwaway repository that has a kodo config and a fresh
# snapshot, so the hook needs no network: it must block a staged undocumented event (and name
# it), then pass once the snapshot documents it.
#
# Both hook ids are tried: `kodo-undocumented-events` (language: rust, which pre-commit builds
# with `cargo install`; the build is cached under target/pre-commit-ci, so only the first run
# on a machine pays for it) and `kodo-undocumented-events-system` (the kodo built here, on
# PATH). Needs python3 and cargo; reaches PyPI (pre-commit) and crates.io (the hook's build)
# only.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/target/pre-commit-ci"
venv="$work/venv"
mkdir -p "$work"

if [ ! -x "$venv/bin/pre-commit" ]; then
  echo "installing pre-commit from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pre-commit>=3.2,<5"
fi
"$venv/bin/pre-commit" --version

cargo build --quiet --bin kodo --manifest-path "$root/Cargo.toml"
kodo_dir="${CARGO_TARGET_DIR:-$root/target}/debug"

repo="$(mktemp -d "${TMPDIR:-/tmp}/kodo-pre-commit-XXXXXX")"
trap 'rm -rf "$repo"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
# pre-commit's environments (the hook's cargo build included) are kept between runs.
export PRE_COMMIT_HOME="$work/cache"
# pre-commit runs `cargo install` without --locked, so dependencies are resolved afresh: keep
# them to versions that support the crate's rust-version.
export CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback
unset KODO_SKIP KODO_BIN GITHUB_ACTIONS

cd "$repo"
git init -q -b main
git config user.name "kodo CI"
git config user.email "ci@example.com"
git config commit.gpgsign false
mkdir -p .kodo src
cat > .kodo/config.json <<'JSON'
{"posthog": {"project_id": "1"},
 "notion": {"baseUrl": "http://127.0.0.1:9", "databases": {"events": "0e0e0e0e0e0e4e0e8e0e0e0e0e0e0e0e", "feature_flags": "0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f0f"}}}
JSON
snapshot() {
  printf '{"version": 1, "generated_at": "%s", "events": [%s], "flags": [], "experiments": [], "dashboards": []}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" > .kodo/snapshot.json
}
snapshot '"user_signed_up"'
echo "demo" > README.md
git add -A
git commit -q -m "initial"

printf "import posthog from 'posthog-js'\nposthog.capture('checkout_started')\n" > src/app.ts
git add src/app.ts

try_hook() { # id, then extra environment for pre-commit
  local id="$1"
  shift
  env "$@" "$venv/bin/pre-commit" try-repo "$root" "$id" --verbose
}

check() { # id, PATH for the hook
  local id="$1" path="$2" out
  echo "==> $id: an undocumented event is blocked"
  snapshot '"user_signed_up"'
  git add .kodo/snapshot.json
  if out="$(try_hook "$id" PATH="$path" CARGO_TARGET_DIR="$work/cargo-target" 2>&1)"; then
    echo "$out"
    echo "FAIL: $id let an undocumented event through" >&2
    exit 1
  fi
  echo "$out"
  if ! grep -q 'src/app.ts:2 *event *`checkout_started`' <<<"$out"; then
    echo "FAIL: $id failed without naming src/app.ts:2 and \`checkout_started\`" >&2
    exit 1
  fi
  echo "==> $id: once documented, it passes"
  snapshot '"user_signed_up", "checkout_started"'
  git add .kodo/snapshot.json
  if ! out="$(try_hook "$id" PATH="$path" CARGO_TARGET_DIR="$work/cargo-target" 2>&1)"; then
    echo "$out"
    echo "FAIL: $id blocked a documented event" >&2
    exit 1
  fi
  echo "$out"
}

# The system hook uses the kodo built above.
check kodo-undocumented-events-system "$kodo_dir:$PATH"
# The rust hook must use the kodo pre-commit built, so the one built here is kept off PATH.
clean_path="$(tr ':' '\n' <<<"$PATH" | grep -v -x -F "$kodo_dir" | paste -sd: -)"
if PATH="$clean_path" command -v kodo >/dev/null 2>&1; then
  echo "note: a kodo is on PATH ($(PATH="$clean_path" command -v kodo)); pre-commit's own build comes first on the hook's PATH"
fi
check kodo-undocumented-events "$clean_path"
echo "pre-commit try-repo: both hooks block an undocumented event and pass a documented one"
