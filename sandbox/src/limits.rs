//! Rate limiting as each service does it: Notion's token bucket (an average rate with a
//! burst allowance) and PostHog's DRF throttles (a count per sliding window).
//!
//! Invariant: a refused request consumes nothing, and every wait reported is a whole
//! number of seconds of at least 1, as the services' `Retry-After` headers are.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Notion's per-integration limit: `rate` requests per second on average, `burst` at once.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: u32) -> Self {
        TokenBucket {
            rate: rate.max(0.0),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// Changes the limit; the bucket starts full again.
    pub fn reconfigure(&mut self, rate: f64, burst: u32) {
        *self = TokenBucket::new(rate, burst);
    }

    /// The current rate and burst.
    pub fn config(&self) -> (f64, u32) {
        (self.rate, self.burst as u32)
    }

    /// Takes one token, or tells how many whole seconds until one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), u64> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if self.rate <= 0.0 {
            return Err(3600);
        }
        let wait = ((1.0 - self.tokens) / self.rate).ceil();
        Err((wait as u64).clamp(1, 3600))
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
    fn bucket_allows_the_burst_then_refuses_with_a_whole_second_wait() {
        let now = Instant::now();
        let mut bucket = TokenBucket::new(3.0, 10);
        for _ in 0..10 {
            assert_eq!(bucket.try_take(now), Ok(()));
        }
        assert_eq!(bucket.try_take(now), Err(1));
        // A third of a second later one token is back.
        assert_eq!(bucket.try_take(now + Duration::from_millis(340)), Ok(()));
    }

    #[test]
    fn slow_buckets_report_long_waits() {
        let now = Instant::now();
        let mut bucket = TokenBucket::new(0.1, 1);
        assert_eq!(bucket.try_take(now), Ok(()));
        assert_eq!(bucket.try_take(now), Err(10));
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
