//! HTTP clients for the PostHog and Notion REST APIs, as kodo uses them.
//!
//! Central types:
//! - [`NotionClient`] (`Notion-Version: 2025-09-03`): databases, data sources, rows and users.
//! - [`PostHogClient`]: event definitions, feature flags, experiments and dashboards of one
//!   project, read with a personal API key.
//! - [`ApiError`]: every failure, worded for the user; never contains a credential.
//! - [`Secret`]: a credential whose `Debug`/`Display` print `***`.
//! - [`ClientOptions`], [`RateLimiter`], [`RequestStats`], [`check_base_url`]: the shared HTTP
//!   policy (one limiter per client, spending window budgets and an optional steady pace, that
//!   a 429 pauses for every caller; bounded retries honouring `Retry-After`; https only,
//!   except to loopback hosts).
//!
//! Exactly-once design. Notion's `POST /v1/pages` is not idempotent, and a create can succeed
//! while its answer is lost (a timeout, a dropped connection, a 5xx). [`NotionClient::create_page`]
//! therefore never re-sends blindly: a 503 carrying `committed_resource_id` is settled by
//! reading that page; any other unknown outcome is settled by querying the data source for the
//! row's sync key ([`KeyLookup`]): found → [`CreateOutcome::Recovered`], absent → send again
//! (bounded). A 429/529 means Notion did not process the request, so it is re-sent after the
//! wait. Updates ([`NotionClient::update_page`]) are settled by reading the page back and
//! comparing the values sent; re-sending the same values is harmless.
//!
//! Across machines. No local lock reaches another machine's kodo, so
//! [`NotionClient::create_pending`] re-checks a key before creating it when the key was seen
//! missing more than [`RECHECK_AFTER`] ago or a 409 conflict has been met since (found →
//! [`CreateOutcome::Existing`]); one query covers the key and the run's next pending creates
//! ([`PendingCreates`], an `or` of at most [`MAX_KEYS_PER_QUERY`] keys), so a run waiting on
//! the rate limit re-checks once per batch, not once per create. A 409 on the create itself is
//! settled the same way before sending again.

#[cfg(feature = "client")]
pub mod error;
#[cfg(feature = "client")]
pub mod http;
#[cfg(feature = "client")]
pub mod notion;
#[cfg(feature = "client")]
pub mod posthog;
#[cfg(feature = "client")]
pub mod secret;
pub mod types;

#[cfg(feature = "client")]
pub use error::{ApiError, Result, Service};
#[cfg(feature = "client")]
pub use http::{
    check_base_url, Budget, ClientOptions, Logger, Pacing, RateLimiter, RateLimits, RequestStats,
    NOTION_DEFAULT_BUDGET_PER_MINUTE, NO_RETRY_DELAY_ENV, TEST_RETRY_DELAY_CAP,
};
#[cfg(feature = "client")]
pub use notion::{
    Block, CreateOutcome, DataSource, DataSourceRef, Database, KeyLookup, KeyType, NotionClient,
    Page, PendingCreates, PropertySchema, Renamed, User, UsersAccess, MAX_KEYS_PER_QUERY,
    NOTION_VERSION, RECHECK_AFTER,
};
#[cfg(feature = "client")]
pub use posthog::{PostHogClient, DEFAULT_WINDOWS as POSTHOG_DEFAULT_WINDOWS, REQUIRED_SCOPES};
#[cfg(feature = "client")]
pub use secret::Secret;
pub use types::posthog::{
    Dashboard, EventDefinition, Experiment, FeatureFlag, FlagFilters, FlagGroup, MembersAccess,
    Multivariate, OrganizationMember, PropertyDefinition, PropertyFilter, UserBasic, Variant,
};

#[cfg(all(test, feature = "client"))]
pub(crate) mod testserver;
