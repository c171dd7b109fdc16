//! Messages between the panel and the loader on the host page (`postMessage`), as plain JS
//! objects: the browser builds and reads them, so the panel needs no JSON code for them.

use std::collections::BTreeMap;

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

/// A verified identity's attributes, as the protocol carries them.
pub(crate) fn attributes(value: &JsValue) -> BTreeMap<String, serde_json::Value> {
    entries(value)
        .into_iter()
        .map(|(name, field)| (name, to_json_value(&field)))
        .collect()
}

fn to_json_value(value: &JsValue) -> serde_json::Value {
    use serde_json::Value as V;
    if let Some(text) = value.as_string() {
        V::String(text)
    } else if let Some(b) = value.as_bool() {
        V::Bool(b)
    } else if let Some(x) = value.as_f64() {
        // What serde_json made of the number's JSON text: an integer when it has no fraction.
        if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
            V::from(x as i64)
        } else {
            serde_json::Number::from_f64(x).map_or(V::Null, V::Number)
        }
    } else if Array::is_array(value) {
        V::Array(
            Array::from(value)
                .iter()
                .map(|v| to_json_value(&v))
                .collect(),
        )
    } else if value.is_object() {
        V::Object(
            entries(value)
                .into_iter()
                .map(|(name, field)| (name, to_json_value(&field)))
                .collect(),
        )
    } else {
        V::Null
    }
}
