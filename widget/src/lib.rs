//! The visitor's chat panel. It runs inside an iframe served from the Bellhop server's own
//! origin; the loader script on the host page creates the iframe and talks to it by
//! `postMessage`. The sans-IO client core (`bellhop-client`) keeps the conversation: resume
//! points, the outbox of unacknowledged sends, de-duplication and reconnect backoff. This
//! crate only wires it to the browser: a WebSocket, timers, storage and the DOM.

use wasm_bindgen::prelude::*;

/// Entry point, called by the generated glue once the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let document = window
        .document()
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let root = document
        .get_element_by_id("bellhop-panel")
        .ok_or_else(|| JsValue::from_str("no #bellhop-panel"))?;
    root.set_text_content(Some("Bellhop"));
    Ok(())
}
