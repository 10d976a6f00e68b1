//! The scanner benchmark's repository: a deterministic monorepo shaped like real
//! applications, so the figures say something about real trees.
//!
//! - `apps/web` (TS/TSX, about 55% of files): feature folders with React components using
//!   hooks (`useState`, `useMemo`, `useEffect`), `posthog-js/react` hooks
//!   (`useFeatureFlagEnabled`, `useFeatureFlagVariantKey`, `<PostHogFeature>`), a wrapper
//!   hook per feature (`const track = useTrack()` → `track(EVENTS.x)`) and an app-wide
//!   wrapper (`trackEvent('…')`), event and flag constants in each feature's `analytics.ts`.
//! - `services/api` (Python, about 25%): Django-style apps with views, serializers, tasks, a
//!   `track_event(user, event, **props)` wrapper and `from . import analytics` constants.
//! - `services/<svc>` (Go, about 20%): packages of handlers with `posthog.Capture{…}`,
//!   an `emitEvent(id, event)` wrapper and same-package event constants.
//!
//! File sizes vary (most files a few KiB, about one in eight several times larger), about 6%
//! of files use PostHog, and about 10% carry look-alike noise (`Sentry.captureException`,
//! `capture_output=True`, "capture" in comments) for the prefilter to reject.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::Result;

/// The wrappers the tree's code defines, as `scan.wrappers` entries (`call`, `event_arg`).
pub const WRAPPERS: &[(&str, usize)] = &[
    ("track", 0),
    ("trackEvent", 0),
    ("track_event", 1),
    ("emitEvent", 1),
];

/// Bump when the generator changes, so a stale tree is not reused.
pub const VERSION: u32 = 3;

/// A small deterministic generator (xorshift64*), so the tree is the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// How many filler blocks a file gets: most files are small, some are long.
    fn blocks(&mut self) -> usize {
        if self.chance(12) {
            12 + self.below(48) as usize
        } else {
            2 + self.below(7) as usize
        }
    }
}

const FILES_PER_DIR: usize = 40;

/// What the generator wrote.
pub struct Tree {
    pub files: usize,
    pub bytes: u64,
    /// Repo-relative paths of files with PostHog calls, in generation order (edits pick
    /// from these).
    pub tracked: Vec<String>,
}

/// Writes the tree unless a previous run left a complete one.
pub fn generate(repo: &Path, files: usize) -> Result<Tree> {
    let marker = repo.join(".bench-complete");
    if let Ok(text) = fs::read_to_string(&marker) {
        let mut lines = text.lines();
        if let Some((n, b)) = lines.next().and_then(|l| l.split_once(' ')) {
            return Ok(Tree {
                files: n.parse()?,
                bytes: b.parse()?,
                tracked: lines.map(String::from).collect(),
            });
        }
    }
    if repo.exists() {
        fs::remove_dir_all(repo)?;
    }
    fs::create_dir_all(repo.join(".kodo"))?;
    // Its own repository, so ignore rules of an enclosing checkout do not apply.
    let _ = Command::new("git").arg("init").arg("-q").arg(repo).status();
    fs::write(
        repo.join(".gitignore"),
        "node_modules/\n*.log\n.kodo/cache/\n",
    )?;
    fs::write(repo.join(".kodo/config.json"), config_json())?;
    let mut g = Gen {
        rng: Rng::new(0x9E37_79B9_7F4A_7C15),
        repo,
        files: 0,
        bytes: 0,
        tracked: Vec::new(),
    };
    g.write("apps/web/src/lib/analytics.ts", WEB_LIB.to_string(), true)?;
    let mut dir_index = 0usize;
    while g.files < files {
        let remaining = files - g.files;
        match dir_index % 20 {
            0..=10 => g.web_feature(dir_index, remaining)?,
            11..=15 => g.py_app(dir_index, remaining)?,
            _ => g.go_package(dir_index, remaining)?,
        }
        dir_index += 1;
    }
    let mut text = format!("{} {}\n", g.files, g.bytes);
    for t in &g.tracked {
        text.push_str(t);
        text.push('\n');
    }
    fs::write(&marker, text)?;
    Ok(Tree {
        files: g.files,
        bytes: g.bytes,
        tracked: g.tracked,
    })
}

fn config_json() -> String {
    let wrappers: Vec<String> = WRAPPERS
        .iter()
        .map(|(call, arg)| format!("      {{ \"call\": \"{call}\", \"event_arg\": {arg} }}"))
        .collect();
    format!(
        "{{\n  \"posthog\": {{ \"project_id\": \"1\" }},\n  \"notion\": {{}},\n  \"scan\": {{\n    \"wrappers\": [\n{}\n    ]\n  }}\n}}\n",
        wrappers.join(",\n")
    )
}

struct Gen<'a> {
    rng: Rng,
    repo: &'a Path,
    files: usize,
    bytes: u64,
    tracked: Vec<String>,
}

const WEB_LIB: &str = "import posthog from 'posthog-js'\n\n/** App-wide analytics: every event carries the app name. */\nexport function trackEvent(event: string, props: Record<string, unknown> = {}) {\n  posthog.capture(event, { ...props, app: 'web' })\n}\n";

const FEATURES: &[&str] = &[
    "checkout",
    "billing",
    "onboarding",
    "search",
    "profile",
    "settings",
    "inbox",
    "reports",
    "dashboard",
    "catalog",
    "orders",
    "team",
    "auth",
    "notifications",
    "integrations",
];

impl Gen<'_> {
    fn write(&mut self, rel: &str, text: String, tracked: bool) -> Result<()> {
        let path = self.repo.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        self.bytes += text.len() as u64;
        self.files += 1;
        if tracked {
            self.tracked.push(rel.to_string());
        }
        fs::write(path, text)?;
        Ok(())
    }

    fn web_feature(&mut self, d: usize, remaining: usize) -> Result<()> {
        let feature = FEATURES[d % FEATURES.len()];
        let base = format!("apps/web/src/features/{feature}{d:04}");
        let mut consts = String::from("// Analytics names for this feature. Keep in sync with Notion.\nexport const EVENTS = {\n");
        for e in 0..6 {
            let _ = writeln!(consts, "  step{e}: '{feature}_{d}_step_{e}',");
        }
        consts.push_str("} as const\n\nexport const FLAGS = {\n");
        let _ = writeln!(
            consts,
            "  redesign: '{feature}-{d}-redesign',\n  fastPath: '{feature}-{d}-fast-path',\n}} as const"
        );
        self.write(&format!("{base}/analytics.ts"), consts, false)?;
        let hook = "import { useCallback } from 'react'\nimport { usePostHog } from 'posthog-js/react'\n\n/** Captures events with the feature's context attached. */\nexport function useTrack() {\n  const posthog = usePostHog()\n  return useCallback(\n    (event: string, props?: Record<string, unknown>) => posthog.capture(event, { ...props, feature: true }),\n    [posthog],\n  )\n}\n";
        self.write(&format!("{base}/hooks/useTrack.ts"), hook.to_string(), true)?;
        for k in 0..(FILES_PER_DIR - 2).min(remaining.saturating_sub(2)) {
            let tracked = self.rng.chance(6);
            let noisy = self.rng.chance(10);
            let (rel, text) = if k % 4 == 3 {
                (
                    format!("{base}/utils/format{k:02}.ts"),
                    self.ts_util(k, noisy),
                )
            } else {
                (
                    format!("{base}/components/{}{k:02}.tsx", component_name(k)),
                    self.tsx_component(feature, d, k, tracked, noisy),
                )
            };
            self.write(&rel, text, tracked && k % 4 != 3)?;
        }
        Ok(())
    }

    fn tsx_component(
        &mut self,
        feature: &str,
        d: usize,
        k: usize,
        tracked: bool,
        noisy: bool,
    ) -> String {
        let name = format!("{}{k:02}", component_name(k));
        let mut s = String::with_capacity(4096);
        s.push_str("import React, { useCallback, useEffect, useMemo, useState } from 'react'\n");
        if tracked {
            s.push_str("import { PostHogFeature, useFeatureFlagEnabled, useFeatureFlagVariantKey } from 'posthog-js/react'\nimport posthog from 'posthog-js'\nimport { EVENTS, FLAGS } from '../analytics'\nimport { useTrack } from '../hooks/useTrack'\nimport { trackEvent } from '@/lib/analytics'\n");
        }
        s.push_str("import { Button, Card, Spinner } from '@acme/ui'\nimport type { Item } from '@/types'\n\n");
        let _ = writeln!(
            s,
            "export interface {name}Props {{\n  items: Item[]\n  loading?: boolean\n  onSelect: (id: string) => void\n}}\n"
        );
        let blocks = self.rng.blocks();
        for b in 0..blocks {
            let limit = 5 + self.rng.below(50);
            let _ = writeln!(
                s,
                "/** Sorts and trims the list for view {b}; stable for equal prices. */\nfunction select{b}(items: Item[], query: string): Item[] {{\n  const q = query.trim().toLowerCase()\n  const out = items.filter((it) => it.title.toLowerCase().includes(q) && it.price > {b})\n  return [...out].sort((a, b) => a.price - b.price || a.id.localeCompare(b.id)).slice(0, {limit})\n}}\n"
            );
        }
        let _ = writeln!(
            s,
            "export function {name}({{ items, loading = false, onSelect }}: {name}Props) {{\n  const [query, setQuery] = useState('')\n  const [open, setOpen] = useState(false)\n  const visible = useMemo(() => select0(items, query), [items, query])"
        );
        if tracked {
            let e = self.rng.below(6);
            let n = self.rng.below(60);
            s.push_str("  const track = useTrack()\n");
            let _ = writeln!(s, "  const redesign = useFeatureFlagEnabled(FLAGS.redesign)\n  const variant = useFeatureFlagVariantKey('{feature}-pricing-{n}')");
            let _ = writeln!(s, "  const onOpen = useCallback(() => {{\n    setOpen(true)\n    track(EVENTS.step{e}, {{ count: visible.length }})\n    trackEvent('{feature}_{d}_opened_{n}', {{ variant }})\n  }}, [track, visible.length, variant])");
            if self.rng.chance(30) {
                s.push_str("  useEffect(() => {\n    posthog.capture(`viewed_${query ? 'filtered' : 'all'}`)\n  }, [query])\n");
            }
        } else {
            s.push_str("  const onOpen = useCallback(() => setOpen(true), [])\n");
        }
        if noisy {
            s.push_str("  useEffect(() => {\n    // capture scroll position for restoration; not analytics\n    try {\n      restoreScroll()\n    } catch (err) {\n      Sentry.captureException(err)\n    }\n  }, [])\n");
        }
        s.push_str("  useEffect(() => {\n    document.title = `${visible.length} results`\n  }, [visible.length])\n\n  if (loading) {\n    return <Spinner size=\"small\" />\n  }\n  return (\n    <Card className=\"list\">\n      <input value={query} onChange={(e) => setQuery(e.target.value)} placeholder=\"Search\" />\n      <Button onClick={onOpen} disabled={open}>\n        Open\n      </Button>\n      {visible.map((it) => (\n        <div key={it.id} className=\"row\" onClick={() => onSelect(it.id)}>\n          {it.title} <span className=\"price\">{it.price.toFixed(2)}</span>\n        </div>\n      ))}\n");
        if tracked && self.rng.chance(40) {
            let _ = writeln!(
                s,
                "      <PostHogFeature flag=\"{feature}-{d}-banner\" match={{true}}>\n        <div className=\"banner\">New!</div>\n      </PostHogFeature>"
            );
        }
        s.push_str("    </Card>\n  )\n}\n");
        s
    }

    fn ts_util(&mut self, k: usize, noisy: bool) -> String {
        let mut s = String::with_capacity(2048);
        s.push_str("import { format } from 'date-fns'\n\n");
        for b in 0..self.rng.blocks() {
            let _ = writeln!(
                s,
                "/** Formats a money amount for display ({k}.{b}). */\nexport function formatAmount{b}(cents: number, currency = 'EUR'): string {{\n  const value = (cents / 100).toFixed(2)\n  return currency === 'EUR' ? `${{value}} €` : `${{currency}} ${{value}}`\n}}\n\nexport const when{b} = (d: Date) => format(d, 'yyyy-MM-dd')\n"
            );
        }
        if noisy {
            s.push_str("export function captureRef<T>(ref: { current: T | null }): T | null {\n  return ref.current\n}\n");
        }
        s
    }

    fn py_app(&mut self, d: usize, remaining: usize) -> Result<()> {
        let app = FEATURES[(d * 7) % FEATURES.len()];
        let base = format!("services/api/{app}{d:04}");
        let mut consts = String::from("\"\"\"Analytics event names for this app.\"\"\"\n\n");
        for e in 0..6 {
            let _ = writeln!(consts, "EVENT_{e} = \"{app}_{d}_event_{e}\"");
        }
        let _ = writeln!(consts, "BETA_FLAG = \"{app}-{d}-beta\"");
        self.write(&format!("{base}/analytics.py"), consts, false)?;
        let tracking = "import posthog\n\n\ndef track_event(user, event, **properties):\n    \"\"\"Capture an event for a user, with the app's common properties.\"\"\"\n    posthog.capture(event, distinct_id=str(user.pk), properties={\"source\": \"api\", **properties})\n";
        self.write(&format!("{base}/tracking.py"), tracking.to_string(), true)?;
        let kinds = ["views", "serializers", "services", "tasks", "models"];
        for k in 0..(FILES_PER_DIR - 2).min(remaining.saturating_sub(2)) {
            let tracked = k % 5 != 4 && self.rng.chance(7);
            let noisy = self.rng.chance(10);
            let kind = kinds[k % kinds.len()];
            let text = self.py_module(app, d, k, kind, tracked, noisy);
            self.write(&format!("{base}/{kind}_{k:02}.py"), text, tracked)?;
        }
        Ok(())
    }

    fn py_module(
        &mut self,
        app: &str,
        d: usize,
        k: usize,
        kind: &str,
        tracked: bool,
        noisy: bool,
    ) -> String {
        let mut s = String::with_capacity(4096);
        s.push_str("import logging\nfrom dataclasses import dataclass\n\nfrom django.db import transaction\nfrom rest_framework import status\nfrom rest_framework.response import Response\n");
        if tracked {
            s.push_str(
                "\nimport posthog\n\nfrom . import analytics\nfrom .tracking import track_event\n",
            );
        }
        s.push_str("\nlogger = logging.getLogger(__name__)\n\n\n");
        let _ = writeln!(
            s,
            "@dataclass\nclass {}{k}Record:\n    id: int\n    amount: int\n    note: str = \"\"\n\n",
            capitalize(kind)
        );
        for b in 0..self.rng.blocks() {
            let limit = 5 + self.rng.below(50);
            let _ = writeln!(
                s,
                "def summarize_{b}(records, limit={limit}):\n    \"\"\"Return totals for the first `limit` records (no side effects).\"\"\"\n    total = sum(r.amount for r in records[:limit])\n    notes = [r.note.strip() for r in records if r.note]\n    logger.debug(\"summarized %d records\", len(records))\n    return {{\"total\": total, \"notes\": notes, \"kind\": \"{kind}\"}}\n\n"
            );
        }
        let _ = writeln!(
            s,
            "class {}{k}View:\n    \"\"\"Handles the {app} endpoint.\"\"\"\n\n    def post(self, request):\n        with transaction.atomic():\n            record = self.create(request.data)",
            capitalize(app)
        );
        if tracked {
            let e = self.rng.below(6);
            let n = self.rng.below(60);
            let _ = writeln!(
                s,
                "        track_event(request.user, analytics.EVENT_{e}, record_id=record.id)\n        track_event(request.user, \"{app}_{d}_created_{n}\")\n        if posthog.feature_enabled(analytics.BETA_FLAG, str(request.user.pk)):\n            posthog.capture(\"{app}_{d}_beta_used\", distinct_id=str(request.user.pk))"
            );
        }
        if noisy {
            s.push_str("        try:\n            self.notify(record)\n        except Exception as exc:  # capture and continue\n            sentry_sdk.capture_exception(exc)\n        out = subprocess.run([\"true\"], capture_output=True)\n");
        }
        s.push_str(
            "        return Response({\"id\": record.id}, status=status.HTTP_201_CREATED)\n",
        );
        s
    }

    fn go_package(&mut self, d: usize, remaining: usize) -> Result<()> {
        let svc = FEATURES[(d * 3) % FEATURES.len()];
        let pkg = format!("pkg{d:04}");
        let base = format!("services/{svc}/internal/{pkg}");
        let mut consts =
            format!("package {pkg}\n\n// Analytics event names for this package.\nconst (\n");
        for e in 0..6 {
            let _ = writeln!(consts, "\tEvent{e} = \"{svc}_{d}_event_{e}\"");
        }
        consts.push_str(")\n");
        self.write(&format!("{base}/events.go"), consts, false)?;
        let track = format!("package {pkg}\n\nimport \"github.com/posthog/posthog-go\"\n\n// emitEvent captures an event for a user.\nfunc (h *Handler) emitEvent(distinctID, event string) {{\n\t_ = h.ph.Enqueue(posthog.Capture{{DistinctId: distinctID, Event: event}})\n}}\n");
        self.write(&format!("{base}/track.go"), track, true)?;
        for k in 0..(FILES_PER_DIR - 2).min(remaining.saturating_sub(2)) {
            let tracked = self.rng.chance(6);
            let noisy = self.rng.chance(10);
            let text = self.go_file(&pkg, svc, d, k, tracked, noisy);
            self.write(&format!("{base}/handler{k:02}.go"), text, tracked)?;
        }
        Ok(())
    }

    fn go_file(
        &mut self,
        pkg: &str,
        svc: &str,
        d: usize,
        k: usize,
        tracked: bool,
        noisy: bool,
    ) -> String {
        let mut s = String::with_capacity(4096);
        let _ = writeln!(s, "package {pkg}\n\nimport (\n\t\"context\"\n\t\"encoding/json\"\n\t\"fmt\"\n\t\"net/http\"\n\t\"strings\"\n\n\t\"github.com/posthog/posthog-go\"\n)\n");
        let _ = writeln!(s, "// Handler{k} serves one endpoint.\ntype Handler{k} struct {{\n\tph     posthog.Client\n\tprefix string\n}}\n");
        for b in 0..self.rng.blocks() {
            let limit = 3 + self.rng.below(30);
            let _ = writeln!(
                s,
                "// Format{b} renders a row without side effects.\nfunc (h *Handler{k}) Format{b}(ctx context.Context, parts []string) (string, error) {{\n\tif len(parts) > {limit} {{\n\t\treturn \"\", fmt.Errorf(\"too many parts: %d\", len(parts))\n\t}}\n\treturn h.prefix + strings.Join(parts, \",\"), nil\n}}\n"
            );
        }
        let _ = writeln!(s, "func (h *Handler{k}) ServeHTTP(w http.ResponseWriter, r *http.Request) {{\n\tid := r.Header.Get(\"X-User\")");
        if tracked {
            let e = self.rng.below(6);
            let n = self.rng.below(60);
            let _ = writeln!(
                s,
                "\th.emitEvent(id, Event{e})\n\t_ = h.ph.Enqueue(posthog.Capture{{DistinctId: id, Event: \"{svc}_{d}_served_{n}\"}})\n\tok, _ := h.ph.IsFeatureEnabled(posthog.FeatureFlagPayload{{Key: \"{svc}-{d}-fast\", DistinctId: id}})\n\t_ = ok"
            );
        }
        if noisy {
            s.push_str("\tdefer func() {\n\t\tif rec := recover(); rec != nil {\n\t\t\tsentry.CaptureException(fmt.Errorf(\"%v\", rec))\n\t\t}\n\t}()\n");
        }
        s.push_str("\t_ = json.NewEncoder(w).Encode(map[string]string{\"id\": id})\n}\n");
        s
    }
}

fn component_name(k: usize) -> &'static str {
    ["List", "Panel", "Dialog", "Table", "Form", "Summary"][k % 6]
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
