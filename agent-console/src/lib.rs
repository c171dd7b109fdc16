//! The agent console: one Leptos app (client-side rendered, compiled to Wasm) for agents,
//! supervisors, admins and marketers, served by the server at `/console/`.
//!
//! - [`model`] — the agent's chats as plain data (unread counts, waiting times, inbox order,
//!   the timeline of messages and notes), tested natively.
//! - [`state`] — the signals every view shares; [`live`] — the agent socket driven by the
//!   client core; [`api`] — REST calls; [`alerts`] — sound, title and notifications;
//!   [`i18n`] — English and Russian texts.
//! - [`app`] — sign-in and the shell; [`views`] — one module per view.

pub mod alerts;
pub mod api;
pub mod app;
pub mod i18n;
pub mod live;
pub mod model;
pub mod state;
pub mod views;

use wasm_bindgen::prelude::wasm_bindgen;

/// Milliseconds since the epoch, by the browser's clock.
pub fn now() -> i64 {
    js_sys::Date::now() as i64
}

/// Keeps `visible` equal to whether the console's page is visible (not a background tab).
pub fn follow_visibility(visible: leptos::prelude::RwSignal<bool>) {
    use leptos::prelude::*;
    visible.set(!hidden());
    let handle = window_event_listener_untyped("visibilitychange", move |_| {
        visible.set(!hidden());
    });
    std::mem::forget(handle);
}

fn hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// Starts the console when its module loads.
#[wasm_bindgen(start)]
pub fn start() {
    // A panic aborts the module; its message and place go to the browser's console first.
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("bellhop console: {info}").into());
    }));
    leptos::mount::mount_to_body(app::App);
}
