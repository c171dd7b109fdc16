//! Bellhop's black-box tests: one binary (one link) with a module per area. Each scenario runs
//! against SQLite and against PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attachments;
mod browser_smoke;
mod cli;
mod client_core;
mod crash;
mod delivery;
mod feeds;
mod invariants;
mod leads;
mod limits;
mod live_visitors;
mod locking;
mod login_limits;
mod migrations;
mod page_attributes;
mod peek;
mod presence;
mod queueing;
mod ratings;
mod read_marks;
mod reports;
mod rest;
mod routing;
mod security;
mod sessions;
mod shutdown;
mod sockets;
mod store;
mod transcripts;
mod widget_chat;
mod widget_features;
mod widget_size;
mod widget_texts;
