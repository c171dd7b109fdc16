//! Bellhop's black-box tests: one binary (one link) with a module per area. Each scenario runs
//! against SQLite and against PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attachments;
mod browser_smoke;
mod cli;
mod client_core;
mod crash;
mod delivery;
mod invariants;
mod leads;
mod limits;
mod locking;
mod login_limits;
mod migrations;
mod presence;
mod queueing;
mod rest;
mod routing;
mod security;
mod sessions;
mod shutdown;
mod sockets;
mod store;
mod widget_chat;
mod widget_size;
