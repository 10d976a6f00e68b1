//! The Notion half of the sandbox (Notion-Version 2025-09-03): the in-memory workspace,
//! request validation, queries and the endpoint handlers.

pub mod api;
pub mod blocks;
pub mod error;
pub mod model;
pub mod query;
pub mod values;

pub use api::{Actor, NotionOk};
pub use error::NotionError;
pub use model::NotionStore;
