//! kodo
