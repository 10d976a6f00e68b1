//! Seeded fault injection.
//!
//! Invariant: every request draws the same amount of randomness whatever the current
//! configuration, so with one seed the same sequence of requests meets the same faults,
//! even after the rates were changed at run time.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::options::FaultConfig;

/// The faults one request meets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultDraw {
    pub latency: Duration,
    pub throttle: bool,
    pub server_error: Option<u16>,
    pub commit_then_503: bool,
    pub drop_after_commit: bool,
}

/// The configuration plus its generator.
#[derive(Debug)]
pub struct FaultEngine {
    config: FaultConfig,
    rng: StdRng,
}

impl FaultEngine {
    /// A generator seeded with `seed`.
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        FaultEngine {
            config,
            rng: StdRng::seed_from_u64(seed ^ 0xfa17_fa17),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Replaces the configuration (the generator carries on).
    pub fn set_config(&mut self, config: FaultConfig) {
        self.config = config;
    }

    /// Draws the faults of one request.
    pub fn draw(&mut self) -> FaultDraw {
        let rolls: [f64; 4] = [
            self.rng.random(),
            self.rng.random(),
            self.rng.random(),
            self.rng.random(),
        ];
        let status_pick: usize = self.rng.random_range(0..4);
        let latency_roll: f64 = self.rng.random();
        let (lo, hi) = self.config.latency_ms;
        let latency = lo + ((hi.saturating_sub(lo) + 1) as f64 * latency_roll) as u64;
        FaultDraw {
            latency: Duration::from_millis(latency.min(hi)),
            throttle: rolls[0] < self.config.rate_429,
            server_error: (rolls[1] < self.config.rate_5xx)
                .then(|| [500, 502, 503, 504][status_pick]),
            commit_then_503: rolls[2] < self.config.rate_commit_then_503,
            drop_after_commit: rolls[3] < self.config.rate_drop_after_commit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_faults_by_default() {
        let mut engine = FaultEngine::new(FaultConfig::default(), 1);
        for _ in 0..100 {
            assert_eq!(engine.draw(), FaultDraw::default());
        }
    }

    #[test]
    fn same_seed_same_faults() {
        let config = FaultConfig {
            rate_429: 0.3,
            rate_5xx: 0.3,
            rate_commit_then_503: 0.3,
            rate_drop_after_commit: 0.3,
            commit503_delay_ms: 0,
            latency_ms: (0, 5),
        };
        let mut a = FaultEngine::new(config.clone(), 42);
        let mut b = FaultEngine::new(config, 42);
        let draws_a: Vec<_> = (0..50).map(|_| a.draw()).collect();
        let draws_b: Vec<_> = (0..50).map(|_| b.draw()).collect();
        assert_eq!(draws_a, draws_b);
        assert!(draws_a.iter().any(|d| d.throttle));
        assert!(draws_a.iter().any(|d| !d.throttle));
        assert!(draws_a
            .iter()
            .all(|d| d.latency <= Duration::from_millis(5)));
    }

    #[test]
    fn certain_faults_always_happen() {
        let config = FaultConfig {
            rate_5xx: 1.0,
            ..FaultConfig::default()
        };
        let mut engine = FaultEngine::new(config, 3);
        for _ in 0..20 {
            assert!(matches!(
                engine.draw().server_error,
                Some(500 | 502 | 503 | 504)
            ));
        }
    }
}
