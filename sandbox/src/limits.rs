//! Rate limiting as each service does it: Notion's per-connection budget (a fixed number of
//! requests per 60-second window) and PostHog's DRF throttles (a count per sliding window).
//!
//! Invariant: a refused request consumes nothing, and every wait reported is a whole
//! number of seconds of at least 1, as the services' `Retry-After` headers are.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Notion's per-connection limit: "Each connection has a fixed budget of requests per
/// 60-second window … The budget can be spent at any pace within the window — spread out
/// evenly or in a single burst. When a request exceeds this limit, the `Retry-After` value is
/// the time until the window resets, so it is at most 60 seconds" (180 requests per minute on
/// most plans, 600 on Business and Enterprise;
/// <https://developers.notion.com/reference/request-limits>).
///
/// A window starts with the first request after the previous one ended.
#[derive(Debug)]
pub struct WindowBudget {
    budget: u32,
    window: Duration,
    started: Option<Instant>,
    used: u32,
}

impl WindowBudget {
    /// `budget` requests per `window` (at least 1 ms), nothing spent yet.
    pub fn new(budget: u32, window: Duration) -> Self {
        WindowBudget {
            budget,
            window: window.max(Duration::from_millis(1)),
            started: None,
            used: 0,
        }
    }

    /// Changes the limit; the next request starts a fresh window.
    pub fn reconfigure(&mut self, budget: u32, window: Duration) {
        *self = WindowBudget::new(budget, window);
    }

    /// Gives back one request taken by [`Self::try_take`] (a request another limit refused).
    pub fn refund(&mut self) {
        self.used = self.used.saturating_sub(1);
    }

    /// The budget and the window's length.
    pub fn config(&self) -> (u32, Duration) {
        (self.budget, self.window)
    }

    /// Spends one request, or tells the whole seconds until the window resets (at least 1).
    pub fn try_take(&mut self, now: Instant) -> Result<(), u64> {
        let started = match self.started {
            Some(at) if now.saturating_duration_since(at) < self.window => at,
            _ => {
                self.started = Some(now);
                self.used = 0;
                now
            }
        };
        if self.used < self.budget {
            self.used += 1;
            return Ok(());
        }
        let reset = (started + self.window).saturating_duration_since(now);
        Err((reset.as_secs_f64().ceil() as u64).max(1))
    }
}

/// A DRF `SimpleRateThrottle`: at most `limit` requests in any `window`.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    hits: VecDeque<Instant>,
}

impl SlidingWindow {
    /// `limit` requests per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        SlidingWindow {
            limit,
            window,
            hits: VecDeque::new(),
        }
    }

    /// The limit and the window.
    pub fn config(&self) -> (usize, Duration) {
        (self.limit, self.window)
    }

    /// Whether a request made at `now` would be allowed, or the whole seconds to wait.
    pub fn check(&mut self, now: Instant) -> Result<(), u64> {
        while self
            .hits
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.hits.pop_front();
        }
        if self.hits.len() < self.limit {
            return Ok(());
        }
        let oldest = self.hits.front().copied().unwrap_or(now);
        let remaining = self
            .window
            .saturating_sub(now.saturating_duration_since(oldest));
        Err(remaining.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Records an allowed request.
    pub fn record(&mut self, now: Instant) {
        self.hits.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_spent_in_a_burst_then_refused_until_the_window_resets() {
        let now = Instant::now();
        let mut budget = WindowBudget::new(180, Duration::from_secs(60));
        for _ in 0..180 {
            assert_eq!(budget.try_take(now), Ok(()));
        }
        assert_eq!(budget.try_take(now + Duration::from_secs(11)), Err(49));
        assert_eq!(budget.try_take(now + Duration::from_millis(59_500)), Err(1));
        // A new window: the whole budget again.
        for _ in 0..180 {
            assert_eq!(budget.try_take(now + Duration::from_secs(60)), Ok(()));
        }
        assert_eq!(budget.try_take(now + Duration::from_secs(61)), Err(59));
    }

    #[test]
    fn window_counts_requests_and_reports_the_wait() {
        let now = Instant::now();
        let mut window = SlidingWindow::new(2, Duration::from_secs(60));
        for offset in [0, 1] {
            let at = now + Duration::from_secs(offset);
            assert_eq!(window.check(at), Ok(()));
            window.record(at);
        }
        assert_eq!(window.check(now + Duration::from_secs(2)), Err(58));
        assert_eq!(window.check(now + Duration::from_secs(60)), Ok(()));
    }
}
