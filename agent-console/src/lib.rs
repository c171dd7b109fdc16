//! The agent console: one Leptos app (client-side rendered, compiled to Wasm) for agents,
//! supervisors, admins and marketers, served by the server at `/console/`.
//!
//! - [`model`] — the agent's chats as plain data (unread counts, waiting times, inbox order,
//!   the timeline of messages and notes), tested natively.

pub mod model;
