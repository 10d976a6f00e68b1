//! Run-time options of a sandbox: the Notion rate limit, the per-query row cap, the
//! seed that makes generated ids and injected faults reproducible, and the fault mix.
//!
//! Invariants: `Options::default()` gives the real services' defaults (180 Notion requests per
//! 60-second window, no faults, 10,000 rows per query); every fault rate is a probability in
//! `0.0..=1.0` and `latency_ms.0 <= latency_ms.1` once a [`FaultConfig`] has been validated.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often the sandbox misbehaves. Each rate is the probability that one request gets
/// that fault. Faults never apply to `/__admin`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// A 429 with `Retry-After: 1`; the request is not performed.
    pub rate_429: f64,
    /// A 500/502/503/504 in the service's error style; the request is not performed.
    pub rate_5xx: f64,
    /// `POST /v1/pages` and `POST /v1/databases`: the object is created, then the answer
    /// is 503 `service_unavailable` with `additional_data.committed_resource_id`.
    pub rate_commit_then_503: f64,
    /// How long a commit-then-503 takes to answer, in milliseconds. Real Notion answers it when
    /// its server deadline has passed (`"elapsed_ms": "55012", "deadline_ms": "55000"`), so a
    /// client whose timeout is shorter than that gives up while the write is already saved;
    /// 0 (the default) answers at once.
    pub commit503_delay_ms: u64,
    /// Notion writes (POST/PATCH that change state): the write is applied, then the
    /// connection is closed without any response.
    pub rate_drop_after_commit: f64,
    /// Extra latency added to every request, drawn uniformly from `lo..=hi` milliseconds.
    pub latency_ms: (u64, u64),
}

/// Why a fault specification could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultSpecError {
    /// An entry of the `--faults` string is not `name=value`.
    #[error("fault entry `{0}` is not of the form name=value")]
    NotAPair(String),
    /// An entry names no known fault.
    #[error(
        "unknown fault `{0}` (expected 429, 5xx, commit503, commit503_delay, drop or latency)"
    )]
    UnknownFault(String),
    /// A rate is not a number between 0 and 1.
    #[error("fault rate `{name}={value}` must be a number between 0 and 1")]
    BadRate { name: String, value: String },
    /// A delay is not a whole number of milliseconds.
    #[error("delay `{0}` must be a whole number of milliseconds")]
    BadDelay(String),
    /// A latency is not `MS` or `LO-HI` with `LO <= HI`.
    #[error("latency `{0}` must be MS or LO-HI in milliseconds with LO <= HI")]
    BadLatency(String),
}

impl FaultConfig {
    /// Parses the command-line form, e.g.
    /// `429=0.2,5xx=0.05,commit503=0.05,commit503_delay=55000,drop=0.05,latency=0-20`.
    /// An empty string means no faults.
    pub fn parse(spec: &str) -> Result<FaultConfig, FaultSpecError> {
        let mut config = FaultConfig::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, value) = entry
                .split_once('=')
                .ok_or_else(|| FaultSpecError::NotAPair(entry.to_string()))?;
            let (name, value) = (name.trim(), value.trim());
            let rate = || -> Result<f64, FaultSpecError> {
                let bad = || FaultSpecError::BadRate {
                    name: name.to_string(),
                    value: value.to_string(),
                };
                let rate: f64 = value.parse().map_err(|_| bad())?;
                if (0.0..=1.0).contains(&rate) {
                    Ok(rate)
                } else {
                    Err(bad())
                }
            };
            match name {
                "429" => config.rate_429 = rate()?,
                "5xx" => config.rate_5xx = rate()?,
                "commit503" => config.rate_commit_then_503 = rate()?,
                "commit503_delay" => {
                    config.commit503_delay_ms = value
                        .parse()
                        .map_err(|_| FaultSpecError::BadDelay(value.to_string()))?
                }
                "drop" => config.rate_drop_after_commit = rate()?,
                "latency" => config.latency_ms = parse_latency(value)?,
                other => return Err(FaultSpecError::UnknownFault(other.to_string())),
            }
        }
        Ok(config)
    }

    /// Checks the invariants of a configuration received as JSON (admin API).
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        for (name, rate) in [
            ("rate_429", self.rate_429),
            ("rate_5xx", self.rate_5xx),
            ("rate_commit_then_503", self.rate_commit_then_503),
            ("rate_drop_after_commit", self.rate_drop_after_commit),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(FaultSpecError::BadRate {
                    name: name.to_string(),
                    value: rate.to_string(),
                });
            }
        }
        if self.latency_ms.0 > self.latency_ms.1 {
            return Err(FaultSpecError::BadLatency(format!(
                "{}-{}",
                self.latency_ms.0, self.latency_ms.1
            )));
        }
        Ok(())
    }
}

fn parse_latency(value: &str) -> Result<(u64, u64), FaultSpecError> {
    let bad = || FaultSpecError::BadLatency(value.to_string());
    let (lo, hi) = match value.split_once('-') {
        Some((lo, hi)) => (
            lo.trim().parse().map_err(|_| bad())?,
            hi.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let ms = value.parse().map_err(|_| bad())?;
            (ms, ms)
        }
    };
    if lo > hi {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// Options of one sandbox run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Notion requests the integration token may make per window (Notion: 180 on most plans,
    /// 600 on Business and Enterprise).
    pub notion_budget: u32,
    /// The length of Notion's rate-limit window (Notion: 60 s). Shorter windows scale time
    /// down for benchmarks.
    pub notion_window: Duration,
    /// Notion's per-workspace limit, shared by every connection of the workspace: requests per
    /// [`Options::notion_workspace_window`]; 0 (the default) = not enforced, because Notion does
    /// not publish the number ("Retry-After for this limit can be longer than a minute",
    /// developers.notion.com/reference/request-limits).
    pub notion_workspace_budget: u32,
    /// The per-workspace window (default 120 s, so its `Retry-After` can exceed a minute).
    pub notion_workspace_window: Duration,
    /// Injected failures.
    pub faults: FaultConfig,
    /// Seeds generated ids, option colours and fault draws.
    pub seed: u64,
    /// Rows one Notion query can reach before it answers `request_status: incomplete`.
    pub query_row_cap: usize,
    /// A test option, not what Notion does: `Some(k)` marks only the `k`-th page (0-based) of a
    /// capped query's pagination `incomplete`, the pages before and after it (up to the cap)
    /// not. `None` (the default) is Notion's behaviour: every page served from a capped result
    /// is marked. A client that checks only the first or only the last page of a result for
    /// the marker then misses the cap, as Notion's guide warns ("Check request_status.type ===
    /// \"incomplete\" on every response page", developers.notion.com/guides/data-apis/
    /// query-large-data-sources).
    pub query_incomplete_only_page: Option<usize>,
    /// PostHog list-shift mode: pages after the first are served this many items earlier,
    /// as when items are created ahead of a client's position mid-listing (0 = off).
    pub posthog_list_shift: usize,
    /// PostHog requests one personal API key may make in any 60 seconds (PostHog: 480,
    /// `BurstRateThrottle`).
    pub posthog_per_minute: u32,
    /// PostHog requests one personal API key may make in any hour (PostHog: 4,800,
    /// `SustainedRateThrottle`).
    pub posthog_per_hour: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            notion_budget: 180,
            notion_window: Duration::from_secs(60),
            notion_workspace_budget: 0,
            notion_workspace_window: Duration::from_secs(120),
            faults: FaultConfig::default(),
            seed: 0,
            query_row_cap: 10_000,
            query_incomplete_only_page: None,
            posthog_list_shift: 0,
            posthog_per_minute: 480,
            posthog_per_hour: 4_800,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_fault_string() {
        let config =
            FaultConfig::parse("429=0.2,5xx=0.05,commit503=0.05,drop=0.05,latency=0-20").unwrap();
        assert_eq!(config.rate_429, 0.2);
        assert_eq!(config.rate_5xx, 0.05);
        assert_eq!(config.rate_commit_then_503, 0.05);
        assert_eq!(config.rate_drop_after_commit, 0.05);
        assert_eq!(config.latency_ms, (0, 20));
    }

    #[test]
    fn rejects_bad_fault_strings() {
        assert!(matches!(
            FaultConfig::parse("429=2"),
            Err(FaultSpecError::BadRate { .. })
        ));
        assert!(matches!(
            FaultConfig::parse("teapot=0.1"),
            Err(FaultSpecError::UnknownFault(_))
        ));
        assert!(matches!(
            FaultConfig::parse("latency=20-5"),
            Err(FaultSpecError::BadLatency(_))
        ));
        assert!(matches!(
            FaultConfig::parse("drop"),
            Err(FaultSpecError::NotAPair(_))
        ));
        assert_eq!(FaultConfig::parse("").unwrap(), FaultConfig::default());
    }

    #[test]
    fn defaults_match_the_real_services() {
        let options = Options::default();
        assert_eq!(options.notion_budget, 180);
        assert_eq!(options.notion_window, Duration::from_secs(60));
        assert_eq!(options.query_row_cap, 10_000);
        assert_eq!(options.faults, FaultConfig::default());
    }
}
