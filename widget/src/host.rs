//! Messages between the panel and the loader on the host page (`postMessage`), as plain JS
//! objects: the browser builds and reads them, so the panel needs no JSON code for them.

use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// A message to the loader: `{type, …}`.
pub(crate) struct Msg(Object);

impl Msg {
    pub(crate) fn new(kind: &str) -> Self {
        Self::data().set("type", kind)
    }

    /// An object without a `type`: an event's data.
    pub(crate) fn data() -> Self {
        Self(Object::new())
    }

    /// `{type: "event", name, data}`: an event for the page's `Bellhop.on` listeners.
    pub(crate) fn event(name: &str, data: Msg) -> Self {
        Self::new("event").set("name", name).set("data", data.0)
    }

    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    pub(crate) fn as_js(&self) -> &JsValue {
        &self.0
    }
}

/// `Some(text)` as a string, `None` as `null`.
pub(crate) fn text_or_null(text: Option<&str>) -> JsValue {
    text.map_or(JsValue::NULL, JsValue::from_str)
}

/// What JSON keeps of a message (as the panel always read them): plain objects, arrays,
/// strings, finite numbers, booleans and `null`.
pub(crate) fn plain(data: &JsValue) -> Option<JsValue> {
    let text = JSON::stringify(data).ok()?.as_string()?;
    JSON::parse(&text).ok()
}

/// A field of an object; `undefined` when absent or when `value` is no object.
pub(crate) fn get(value: &JsValue, key: &str) -> JsValue {
    if !value.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The fields of a plain object (not an array); none for anything else.
pub(crate) fn entries(value: &JsValue) -> Vec<(String, JsValue)> {
    if !value.is_object() || Array::is_array(value) {
        return Vec::new();
    }
    Object::keys(value.unchecked_ref::<Object>())
        .iter()
        .filter_map(|key| {
            let name = key.as_string()?;
            let field = Reflect::get(value, &key).ok()?;
            Some((name, field))
        })
        .collect()
}

/// A string as itself, anything else present as its JSON text (a numeric user id is `42`).
pub(crate) fn text_or_json(value: &JsValue) -> Option<String> {
    if value.is_undefined() {
        return None;
    }
    value
        .as_string()
        .or_else(|| JSON::stringify(value).ok()?.as_string())
}

/// A verified identity's attributes as JSON object text: `{}` unless they are an object.
pub(crate) fn attributes_json(value: &JsValue) -> String {
    let object = value.is_object() && !Array::is_array(value);
    object
        .then(|| JSON::stringify(value).ok()?.as_string())
        .flatten()
        .unwrap_or_else(|| "{}".into())
}
