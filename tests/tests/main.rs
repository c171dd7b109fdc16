//! Bellhop's black-box tests: one binary (one link) with a module per area. Each scenario runs
//! against SQLite and against PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attachments;
mod browser_smoke;
mod canned_replies;
mod cli;
mod client_core;
mod console_agent;
mod crash;
mod delivery;
mod invariants;
mod invites;
mod leads;
mod limits;
mod live_visitors;
mod locking;
mod login_limits;
mod marketing_leads;
mod migrations;
mod notes;
mod page_attributes;
mod peek;
mod picking;
mod preferences;
mod presence;
mod privacy;
mod queueing;
mod ratings;
mod read_marks;
mod rest;
mod retention;
mod routing;
mod security;
mod sessions;
mod shutdown;
mod sockets;
mod store;
mod transcript_paging;
mod transcripts;
mod visitor_context;
mod watching;
mod widget_chat;
mod widget_features;
mod widget_size;
mod widget_texts;
