//! The visitor's chat panel. It runs inside an iframe served from the Bellhop server's own
//! origin; the loader script on the host page creates the iframe and talks to it by
//! `postMessage` (exact origins both ways). The sans-IO client core (`bellhop-client`) keeps
//! the conversation: resume points, the outbox of unacknowledged sends, de-duplication and
//! reconnect backoff. This crate wires it to the browser: a WebSocket, a timer, storage and
//! the DOM ([`panel`]), REST calls ([`net`]) and text-only rendering ([`dom`]).

mod dom;
mod json;
mod net;
mod panel;
mod small_map;
mod view;
mod wire;

use wasm_bindgen::prelude::*;

/// The panel's allocator: small (the module's size is the widget's budget), and enough for a
/// single-threaded page that holds little at a time. Adjacent free blocks merge, so freed
/// memory is reused rather than leaked.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// Entry point, called by the generated glue once the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    panel::start();
}
