//! Source scanner for PostHog captures and flag checks.
