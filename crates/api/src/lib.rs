//! HTTP clients for the PostHog and Notion REST APIs.
