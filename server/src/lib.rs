//! The Bellhop server: HTTP API, WebSocket endpoints for visitors and agents, the hub, the bus,
//! assignment, storage and auth. `bellhop serve` runs it; tests build it with
//! [`app::Application::build`].
//!
//! How the parts fit: a socket ([`ws`]) decodes a frame and asks the [`chat`] service to act;
//! sends go through the group committer ([`store::commit`]) into the [`store`], which is the
//! source of truth; after the commit, the change becomes one [`events::Event`] on the [`bus`],
//! which [`events::fan_out`] turns into frames for the [`hub`]'s connections of the visitor
//! and the assigned agent (and the agents watching the conversation, see [`viewers`]);
//! [`assignment`] gives waiting conversations to agents and emits its decisions the same way.
//! The console's live [`feeds`] read the same events and push recomputed queue views and
//! wallboards to their subscribers.

pub(crate) mod accounts;
pub mod app;
pub(crate) mod assets;
pub mod assignment;
pub mod auth;
pub(crate) mod availability;
pub(crate) mod bootstrap;
pub mod bus;
pub(crate) mod chat;
pub mod cli;
pub mod clock;
pub mod config;
pub(crate) mod demo;
pub(crate) mod error;
pub(crate) mod events;
pub mod feeds;
pub mod files;
pub(crate) mod hours;
pub mod hub;
pub(crate) mod leads;
pub mod limits;
pub(crate) mod live_visitors;
pub mod mail;
pub(crate) mod reports;
pub(crate) mod routes;
pub mod store;
pub mod telemetry;
pub(crate) mod viewers;
pub(crate) mod visitor_context;
pub(crate) mod widget_texts;
pub(crate) mod ws;
