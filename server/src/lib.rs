//! The Bellhop server: HTTP API, WebSocket endpoints for visitors and agents, the hub, the
//! router, storage and auth. `bellhop serve` runs it; tests build it with
//! [`app::Application::build`].
//!
//! How the parts fit: a socket ([`ws`]) decodes a frame and asks the [`chat`] service to act;
//! sends go through the group committer ([`store::commit`]) into the [`store`], which is the
//! source of truth; after the commit, the change becomes one [`events::Event`] on the [`bus`],
//! which [`events::fan_out`] turns into frames for the [`hub`]'s connections of the visitor
//! and the assigned agent; the [`router`] assigns new conversations the same way.

pub mod accounts;
pub mod app;
pub mod auth;
pub mod availability;
pub mod bootstrap;
pub mod bus;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod events;
pub mod hours;
pub mod hub;
pub mod leads;
pub mod router;
pub mod routes;
pub mod store;
pub mod telemetry;
pub mod ws;
