//! The table of SDK call shapes, and the wrappers from settings, as one lookup structure.
//!
//! Each row says: in which language family, which call name, what the receiver must look
//! like, whether it captures an event or checks a flag, where the key sits (a positional
//! argument, a keyword argument or object key, a struct field, a JSX attribute, or one of a
//! few SDK-specific shapes that need a decision), which SDK it is and which side it runs
//! on. Wrappers from `scan.wrappers` become rows of the same table, so the extractor has a
//! single code path. Invariant: built-in rows win over wrappers for the same call.

use aho_corasick::AhoCorasick;

use crate::lang::Family;
use crate::{Kind, ScanError, ScanSettings};

/// What must precede the call name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Recv {
    /// A receiver chain naming a PostHog client (`posthog.`, `this.client.`, `PostHog::`).
    Client,
    /// Anything, including no receiver at all (hooks, components, wrappers).
    Any,
    /// The result of `evaluateFlags(…)`, directly or through a variable.
    Snapshot,
    /// A receiver chain ending in exactly this name (`Event::new`, wrapper `analytics.track`).
    Named(String),
    /// An inferred wrapper: any receiver, or none, except another analytics or logging
    /// library's (`mixpanel.track`, `Sentry.captureException`, `logger.event`).
    Inferred,
}

/// Receiver names that belong to other libraries: a call through them is never a call of
/// an inferred wrapper that happens to share its name.
pub(crate) const OTHER_LIBRARIES: &[&str] = &[
    "mixpanel",
    "amplitude",
    "segment",
    "rudderanalytics",
    "sentry",
    "bugsnag",
    "datadog",
    "datadogrum",
    "newrelic",
    "gtag",
    "dataLayer",
    "heap",
    "intercom",
    "hotjar",
    "fullstory",
    "plausible",
    "umami",
    "logger",
    "log",
    "logging",
    "console",
    "tracer",
    "span",
    "statsd",
    "metrics",
    "query",
    "parser",
    "regex",
    "re",
];

/// Where the key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyAt {
    /// A positional argument.
    Arg(usize),
    /// A keyword argument, or a key of the first object/hash/array argument.
    Key(String),
    /// A keyword argument, else a positional argument.
    NamedOr(String, usize),
    /// posthog-js `capture('e', props)` (frontend) or posthog-node `capture({ event })`.
    JsCapture,
    /// posthog-js `isFeatureEnabled('k')` or posthog-node `isFeatureEnabled('k', distinctId)`.
    JsFlag,
    /// posthog-python v6 `capture('e', distinct_id=…)` or old `capture(distinct_id, 'e')`.
    PyCapture,
    /// Android `capture("e")` or server Java `capture(distinctId, "e")`.
    JvmCapture,
    /// Android `isFeatureEnabled("k", false)` or server Java `isFeatureEnabled(distinctId, "k")`.
    JvmFlag,
    /// A field of a composite literal (Go `posthog.Capture{Event: …}`).
    StructField(&'static str),
    /// An attribute of a JSX element (`<PostHogFeature flag="k">`).
    JsxAttr(String),
    /// Every element of a list in a keyword argument or object member
    /// (`evaluate_flags(…, flag_keys=[…])`, `evaluateFlags(id, { flagKeys: […] })`).
    List(String),
}

/// Which side a call shape runs on before path rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SideHint {
    Frontend,
    Backend,
    /// Decided by `scan.frontend`/`scan.backend`, then server-looking paths, then language.
    Ambiguous,
}

#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    /// Empty: every family.
    pub families: Vec<Family>,
    pub recv: Recv,
    pub kind: Kind,
    pub key: KeyAt,
    pub sdk: String,
    pub side: SideHint,
    /// The file must contain this text (for generic names such as Rust `Event::new`).
    pub file_requires: Option<&'static str>,
    /// An inferred wrapper (not a built-in row or a configured wrapper).
    pub inferred: bool,
    /// The row applies only in this file (a name bound to a hook's result).
    pub only_in: Option<String>,
    /// Where an inferred wrapper is defined (a same-named function of another file is
    /// another function).
    pub defined_in: Option<String>,
    /// What an inferred wrapper's body sends as properties.
    pub props: Option<crate::infer::PropsThrough>,
    /// An inferred wrapper's key parameter default: the key of a call that leaves it out.
    pub default: Option<String>,
}

/// All rows, indexed by call name, plus the prefilter over the names.
pub(crate) struct Table {
    pub by_name: crate::FastMap<String, Vec<Pattern>>,
    pub prefilter: AhoCorasick,
    /// Cheap pre-check before hashing an identifier: its first byte and length occur
    /// among the call names.
    first_bytes: [bool; 256],
    lengths: u64,
    /// Per prefilter needle: it has a byte no identifier has (`Event::new`, `enabled?`), so
    /// a match of it is taken as is rather than checked as a whole call name.
    verbatim: Vec<bool>,
    /// `scan.include_dollar_properties`: keep PostHog's own `$`-prefixed property keys.
    pub keep_dollar_properties: bool,
}

use Family as F;
use KeyAt::*;
use SideHint::*;

type Row = (
    &'static [Family],
    &'static [&'static str],
    Recv,
    Kind,
    KeyAt,
    &'static str,
    SideHint,
);

fn builtin_rows() -> Vec<Row> {
    let js: &'static [Family] = &[F::Js];
    vec![
        // posthog-js / posthog-node / React / React Native.
        (
            js,
            &["capture"],
            Recv::Client,
            Kind::Event,
            JsCapture,
            "posthog-js",
            Ambiguous,
        ),
        (
            js,
            &["captureTyped"],
            Recv::Client,
            Kind::Event,
            Arg(0),
            "posthog-js",
            Ambiguous,
        ),
        (
            js,
            &["captureImmediate"],
            Recv::Client,
            Kind::Event,
            Key("event".into()),
            "posthog-node",
            Backend,
        ),
        (
            js,
            &[
                "isFeatureEnabled",
                "getFeatureFlag",
                "getFeatureFlagPayload",
                "getFeatureFlagResult",
            ],
            Recv::Client,
            Kind::Flag,
            JsFlag,
            "posthog-js",
            Ambiguous,
        ),
        (
            js,
            &["evaluateFlags"],
            Recv::Client,
            Kind::Flag,
            List("flagKeys".into()),
            "posthog-node",
            Backend,
        ),
        (
            &[F::Python],
            &["evaluate_flags"],
            Recv::Client,
            Kind::Flag,
            List("flag_keys".into()),
            "posthog-python",
            Backend,
        ),
        (
            js,
            &["isEnabled", "getFlag", "getFlagPayload"],
            Recv::Snapshot,
            Kind::Flag,
            Arg(0),
            "posthog-node",
            Backend,
        ),
        (
            js,
            &[
                "useFeatureFlagEnabled",
                "useFeatureFlagVariantKey",
                "useFeatureFlagPayload",
                "useFeatureFlagResult",
            ],
            Recv::Any,
            Kind::Flag,
            Arg(0),
            "posthog-react",
            Frontend,
        ),
        (
            js,
            &["useFeatureFlag", "useFeatureFlagWithPayload"],
            Recv::Any,
            Kind::Flag,
            Arg(0),
            "posthog-react-native",
            Frontend,
        ),
        (
            js,
            &["PostHogFeature"],
            Recv::Any,
            Kind::Flag,
            JsxAttr("flag".into()),
            "posthog-react",
            Frontend,
        ),
        // Python.
        (
            &[F::Python],
            &["capture"],
            Recv::Client,
            Kind::Event,
            PyCapture,
            "posthog-python",
            Backend,
        ),
        (
            &[F::Python],
            &[
                "feature_enabled",
                "is_feature_enabled",
                "get_feature_flag",
                "get_feature_flag_payload",
                "get_feature_flag_result",
            ],
            Recv::Client,
            Kind::Flag,
            NamedOr("key".into(), 0),
            "posthog-python",
            Backend,
        ),
        (
            &[F::Python],
            &["is_enabled", "get_flag", "get_flag_payload"],
            Recv::Snapshot,
            Kind::Flag,
            Arg(0),
            "posthog-python",
            Backend,
        ),
        // Go.
        (
            &[F::Go],
            &["Capture"],
            Recv::Client,
            Kind::Event,
            StructField("Event"),
            "posthog-go",
            Backend,
        ),
        (
            &[F::Go],
            &["FeatureFlagPayload"],
            Recv::Client,
            Kind::Flag,
            StructField("Key"),
            "posthog-go",
            Backend,
        ),
        (
            &[F::Go],
            &["IsEnabled", "GetFlag", "GetFlagPayload"],
            Recv::Snapshot,
            Kind::Flag,
            Arg(0),
            "posthog-go",
            Backend,
        ),
        // Ruby.
        (
            &[F::Ruby],
            &["capture"],
            Recv::Client,
            Kind::Event,
            Key("event".into()),
            "posthog-ruby",
            Backend,
        ),
        (
            &[F::Ruby],
            &[
                "is_feature_enabled",
                "get_feature_flag",
                "get_feature_flag_payload",
            ],
            Recv::Client,
            Kind::Flag,
            Arg(0),
            "posthog-ruby",
            Backend,
        ),
        (
            &[F::Ruby],
            &["enabled?", "get_flag", "get_flag_payload"],
            Recv::Snapshot,
            Kind::Flag,
            Arg(0),
            "posthog-ruby",
            Backend,
        ),
        // PHP.
        (
            &[F::Php],
            &["capture"],
            Recv::Client,
            Kind::Event,
            Key("event".into()),
            "posthog-php",
            Backend,
        ),
        (
            &[F::Php],
            &[
                "isFeatureEnabled",
                "getFeatureFlag",
                "getFeatureFlagPayload",
            ],
            Recv::Client,
            Kind::Flag,
            Arg(0),
            "posthog-php",
            Backend,
        ),
        (
            &[F::Php],
            &["isEnabled", "getFlag", "getFlagPayload"],
            Recv::Snapshot,
            Kind::Flag,
            Arg(0),
            "posthog-php",
            Backend,
        ),
        // Java server and Android (Java and Kotlin).
        (
            &[F::Jvm],
            &["capture"],
            Recv::Client,
            Kind::Event,
            JvmCapture,
            "posthog-android",
            Frontend,
        ),
        (
            &[F::Jvm],
            &[
                "isFeatureEnabled",
                "getFeatureFlag",
                "getFeatureFlagPayload",
            ],
            Recv::Client,
            Kind::Flag,
            JvmFlag,
            "posthog-android",
            Frontend,
        ),
        (
            &[F::Jvm],
            &["isEnabled", "getFlag", "getFlagPayload"],
            Recv::Snapshot,
            Kind::Flag,
            Arg(0),
            "posthog-java",
            Backend,
        ),
        // iOS: Swift calls and Objective-C message sends.
        (
            &[F::Apple],
            &["capture", "captureWithEvent"],
            Recv::Client,
            Kind::Event,
            Arg(0),
            "posthog-ios",
            Frontend,
        ),
        (
            &[F::Apple],
            &[
                "isFeatureEnabled",
                "getFeatureFlag",
                "getFeatureFlagPayload",
            ],
            Recv::Client,
            Kind::Flag,
            Arg(0),
            "posthog-ios",
            Frontend,
        ),
        // Flutter.
        (
            &[F::Dart],
            &["capture"],
            Recv::Client,
            Kind::Event,
            NamedOr("eventName".into(), 0),
            "posthog-flutter",
            Frontend,
        ),
        (
            &[F::Dart],
            &[
                "isFeatureEnabled",
                "getFeatureFlag",
                "getFeatureFlagPayload",
            ],
            Recv::Client,
            Kind::Flag,
            Arg(0),
            "posthog-flutter",
            Frontend,
        ),
        // .NET.
        (
            &[F::DotNet],
            &["Capture"],
            Recv::Client,
            Kind::Event,
            NamedOr("eventName".into(), 1),
            "posthog-dotnet",
            Backend,
        ),
        (
            &[F::DotNet],
            &[
                "IsFeatureEnabled",
                "IsFeatureEnabledAsync",
                "GetFeatureFlag",
                "GetFeatureFlagAsync",
                "GetFeatureFlagPayload",
                "GetFeatureFlagPayloadAsync",
            ],
            Recv::Client,
            Kind::Flag,
            NamedOr("featureKey".into(), 0),
            "posthog-dotnet",
            Backend,
        ),
        // Elixir (v0 `Posthog`, v1/v2 `PostHog`, `PostHog.FeatureFlags`).
        (
            &[F::Elixir],
            &["capture"],
            Recv::Client,
            Kind::Event,
            Arg(0),
            "posthog-elixir",
            Backend,
        ),
        (
            &[F::Elixir],
            &[
                "check",
                "feature_flag_enabled",
                "feature_flag",
                "get_feature_flag",
                "get_feature_flag_result",
            ],
            Recv::Client,
            Kind::Flag,
            Arg(0),
            "posthog-elixir",
            Backend,
        ),
        // Rust.
        (
            &[F::Rust],
            &["new"],
            Recv::Named("Event".into()),
            Kind::Event,
            Arg(0),
            "posthog-rs",
            Backend,
        ),
        (
            &[F::Rust],
            &[
                "is_feature_enabled",
                "get_feature_flag",
                "get_feature_flag_payload",
            ],
            Recv::Client,
            Kind::Flag,
            Arg(0),
            "posthog-rs",
            Backend,
        ),
        (
            &[F::Rust],
            &["is_enabled", "get_flag", "get_flag_payload"],
            Recv::Snapshot,
            Kind::Flag,
            Arg(0),
            "posthog-rs",
            Backend,
        ),
    ]
}

/// Every built-in SDK call name, sorted and without repeats.
pub(crate) fn builtin_call_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = builtin_rows()
        .into_iter()
        .flat_map(|row| row.1.iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The prefilter's literals. Every built-in call name contains one of them (a unit test
/// checks this), and they are chosen to start with rare byte triples, so the SIMD search
/// rejects files quickly instead of stopping at every `get…`, `use…` or `is…`.
/// `new` and `check` only count as `Event::new` and `FeatureFlags.check`.
const BUILTIN_NEEDLES: &[&str] = &[
    "apture",
    "Feature",
    "feature_",
    "sEnabled",
    "etFlag",
    "s_enabled",
    "_flag",
    "enabled?",
    "Event::new",
    "uateFlags",
    "uate_flags",
];

/// An Aho-Corasick automaton over literal needles whose build and search are linear in the
/// needles' total length and the haystack, whatever the needles are. A needle comes from
/// configuration or code (a wrapper name, an identifier) and can be enormous; the DFA that
/// `AhoCorasick::new` may pick costs the square of a repetitive needle's length to build (a
/// 16,000-character wrapper name took seconds), so the contiguous NFA is used instead.
pub(crate) fn literal_matcher<S: AsRef<[u8]>>(
    needles: &[S],
    kind: aho_corasick::MatchKind,
) -> Result<AhoCorasick, ScanError> {
    AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
        .match_kind(kind)
        .build(needles)
        .map_err(|e| ScanError::Matcher(e.to_string()))
}

impl Table {
    /// Builds the table from the built-in rows and the (validated) wrappers.
    pub(crate) fn new(settings: &ScanSettings) -> Result<Table, ScanError> {
        Table::with_inferred(settings, &[])
    }

    /// Builds the table from the built-in rows, the configured wrappers and the inferred
    /// ones (which come last, so built-in and configured rows win for the same call).
    pub(crate) fn with_inferred(
        settings: &ScanSettings,
        inferred: &[crate::infer::Inferred],
    ) -> Result<Table, ScanError> {
        let mut by_name: crate::FastMap<String, Vec<Pattern>> = Default::default();
        for (families, names, recv, kind, key, sdk, side) in builtin_rows() {
            for name in names {
                let file_requires = (sdk == "posthog-rs" && *name == "new").then_some("posthog");
                by_name.entry(name.to_string()).or_default().push(Pattern {
                    families: families.to_vec(),
                    recv: recv.clone(),
                    kind,
                    key: key.clone(),
                    sdk: sdk.to_string(),
                    side,
                    file_requires,
                    inferred: false,
                    only_in: None,
                    defined_in: None,
                    props: None,
                    default: None,
                });
            }
        }
        for w in &settings.wrappers {
            let (receiver, name) = match w.call.rsplit_once('.') {
                Some((r, n)) => (
                    Some(r.rsplit('.').next().unwrap_or(r).to_string()),
                    n.to_string(),
                ),
                None => (None, w.call.clone()),
            };
            let (kind, key) = match (w.event_arg, &w.event_key, w.flag_arg, &w.flag_key) {
                (Some(n), Some(k), _, _) => (Kind::Event, NamedOr(k.clone(), n)),
                (_, _, Some(n), Some(k)) => (Kind::Flag, NamedOr(k.clone(), n)),
                (Some(n), _, _, _) => (Kind::Event, Arg(n)),
                (_, Some(k), _, _) => (Kind::Event, Key(k.clone())),
                (_, _, Some(n), _) => (Kind::Flag, Arg(n)),
                (_, _, _, Some(k)) => (Kind::Flag, Key(k.clone())),
                // Unreachable after validation; a wrapper without a key matches nothing.
                _ => continue,
            };
            // A component (`{"call": "Btn", "event_key": "eventName"}`) is also written as a
            // JSX element, `<Btn eventName="…" />`, as an inferred component is.
            let jsx = match &key {
                Key(k)
                    if receiver.is_none() && name.starts_with(|c: char| c.is_ascii_uppercase()) =>
                {
                    Some(JsxAttr(k.clone()))
                }
                _ => None,
            };
            let row = Pattern {
                families: Vec::new(),
                recv: receiver.map_or(Recv::Any, Recv::Named),
                kind,
                key,
                sdk: "wrapper".into(),
                side: Ambiguous,
                file_requires: None,
                inferred: false,
                only_in: None,
                defined_in: None,
                props: None,
                default: w.default.clone(),
            };
            let rows = by_name.entry(name).or_default();
            if let Some(jsx) = jsx {
                rows.push(Pattern {
                    families: vec![F::Js],
                    key: jsx,
                    ..row.clone()
                });
            }
            rows.push(row);
        }
        for w in inferred {
            let side = match w.side {
                crate::Side::Frontend => Frontend,
                crate::Side::Backend => Backend,
                crate::Side::Both => Ambiguous,
            };
            for key in w.key_at(crate::infer::kwargs_lang(w.family)) {
                by_name.entry(w.name.clone()).or_default().push(Pattern {
                    families: vec![w.family],
                    recv: Recv::Inferred,
                    kind: w.kind,
                    key,
                    sdk: w.sdk.clone(),
                    side,
                    file_requires: None,
                    inferred: true,
                    only_in: w.only_in.clone(),
                    defined_in: Some(w.path.clone()),
                    props: w.props.clone(),
                    default: w.default.clone(),
                });
            }
        }
        let mut needles: Vec<String> = BUILTIN_NEEDLES.iter().map(|s| s.to_string()).collect();
        needles.extend(
            settings
                .wrappers
                .iter()
                .map(|w| w.call.rsplit('.').next().unwrap_or(&w.call).to_string()),
        );
        needles.extend(inferred.iter().map(|w| w.name.clone()));
        needles.sort();
        needles.dedup();
        // Leftmost semantics let the SIMD (Teddy) prefilter run; `Standard` cannot use it.
        let prefilter = literal_matcher(&needles, aho_corasick::MatchKind::LeftmostFirst)?;
        let verbatim = needles
            .iter()
            .map(|n| !n.bytes().all(crate::lexer::is_ident_char))
            .collect();
        let mut first_bytes = [false; 256];
        let mut lengths = 0u64;
        for name in by_name.keys() {
            if let Some(b) = name.bytes().next() {
                first_bytes[b as usize] = true;
            }
            lengths |= 1u64 << name.len().min(63);
        }
        Ok(Table {
            by_name,
            prefilter,
            first_bytes,
            lengths,
            verbatim,
            keep_dollar_properties: settings.include_dollar_properties,
        })
    }

    /// Whether an identifier may be a call name (no false negatives).
    pub(crate) fn may_be_call(&self, ident: &[u8]) -> bool {
        ident.first().is_some_and(|b| self.first_bytes[*b as usize])
            && self.lengths & (1u64 << ident.len().min(63)) != 0
    }

    /// Whether a file's bytes contain any call name at all.
    ///
    /// A needle's match counts only where the identifier around it is a call name of the
    /// table (`captureException` and `capture_output` hold the needle `apture` but are not
    /// `capture`), so a file of look-alikes is not tokenized. Exact for what [`find_calls`]
    /// can match: it looks up whole identifier tokens, and a token is a maximal run of
    /// identifier bytes (Ruby's `?`/`!` suffix included), which is the run grown here.
    ///
    /// [`find_calls`]: crate::extract::find_calls
    pub(crate) fn worth_parsing(&self, bytes: &[u8]) -> bool {
        use crate::lexer::is_ident_char;
        self.prefilter.find_iter(bytes).any(|m| {
            if self.verbatim[m.pattern().as_usize()] {
                return true;
            }
            let start = bytes[..m.start()]
                .iter()
                .rposition(|&b| !is_ident_char(b))
                .map_or(0, |i| i + 1);
            let end = bytes[m.end()..]
                .iter()
                .position(|&b| !is_ident_char(b))
                .map_or(bytes.len(), |i| m.end() + i);
            let word = &bytes[start..end];
            let suffixed = bytes
                .get(end)
                .filter(|b| matches!(b, b'?' | b'!'))
                .map(|_| &bytes[start..=end]);
            [Some(word), suffixed].into_iter().flatten().any(|w| {
                let bare = w
                    .iter()
                    .position(|&b| b != b'$')
                    .map_or(&w[..0], |i| &w[i..]);
                [w, bare].into_iter().any(|w| {
                    self.may_be_call(w)
                        && std::str::from_utf8(w).is_ok_and(|n| self.by_name.contains_key(n))
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_call_name_contains_a_prefilter_needle() {
        for (_, names, ..) in builtin_rows() {
            for name in names {
                let name = match *name {
                    "new" => "Event::new",
                    "check" => "FeatureFlags.check",
                    n => n,
                };
                assert!(
                    BUILTIN_NEEDLES.iter().any(|n| name.contains(n)),
                    "`{name}` escapes the prefilter"
                );
            }
        }
        for snapshot_source in ["evaluateFlags", "evaluate_flags", "EvaluateFlags"] {
            assert!(BUILTIN_NEEDLES.iter().any(|n| snapshot_source.contains(n)));
        }
    }

    #[test]
    fn prefilter_rejects_plain_code_and_keeps_wrappers() {
        let settings: ScanSettings =
            serde_json::from_str(r#"{"wrappers":[{"call":"track","event_arg":0}]}"#).unwrap();
        let t = Table::new(&settings).unwrap();
        assert!(!t.worth_parsing(b"import { useMemo } from 'react'\nconst log = getLogger()\n"));
        assert!(t.worth_parsing(b"posthog.capture('x')"));
        assert!(t.worth_parsing(b"track('x')"));
        // Look-alikes hold a needle but no call name.
        for plain in [
            &b"Sentry.captureException(err)"[..],
            b"subprocess.run(cmd, capture_output=True)",
            b"const isFeatureEnabledLocally = 1; trackingId(); untracked()",
        ] {
            assert!(
                !t.worth_parsing(plain),
                "{}",
                String::from_utf8_lossy(plain)
            );
        }
        for call in [
            &b"$posthog->capture('x')"[..],
            b"posthog.capture",
            b"(capture)",
            b"if flags.enabled?(:beta)",
            b"let e = Event::new(\"x\", \"id\"); // posthog",
            b"client.get_feature_flag('f')",
            b"x;isFeatureEnabled",
        ] {
            assert!(t.worth_parsing(call), "{}", String::from_utf8_lossy(call));
        }
    }
}
