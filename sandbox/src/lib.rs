//! An in-memory emulator of the PostHog and Notion REST APIs.
