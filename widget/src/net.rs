//! REST calls to the Bellhop server (the panel's own origin).

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

use crate::json;
use crate::wire::{FromJson, ToJson};

/// Why a call failed: the server's message, or the network's.
#[derive(Debug)]
pub(crate) struct CallError {
    pub message: String,
}

impl CallError {
    fn network(e: JsValue) -> Self {
        Self {
            message: e.as_string().unwrap_or_else(|| "network error".into()),
        }
    }
}

async fn call(
    method: &str,
    path: &str,
    body: Option<String>,
    bearer: Option<&str>,
) -> Result<String, CallError> {
    let window = web_sys::window().ok_or_else(|| CallError::network("no window".into()))?;
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(CallError::network)?;
    if let Some(body) = &body {
        headers
            .set("content-type", "application/json")
            .map_err(CallError::network)?;
        init.set_body(&JsValue::from_str(body));
    }
    if let Some(token) = bearer {
        headers
            .set("authorization", &("Bearer ".to_owned() + token))
            .map_err(CallError::network)?;
    }
    init.set_headers(&headers);
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(CallError::network)?
        .dyn_into()
        .map_err(CallError::network)?;
    let text = JsFuture::from(response.text().map_err(CallError::network)?)
        .await
        .map_err(CallError::network)?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        let error = json::parse(&text)
            .as_ref()
            .and_then(bellhop_protocol::error::ApiError::from_json);
        Err(CallError {
            message: error.map_or(text, |e| e.message),
        })
    }
}

fn decode<T: FromJson>(text: &str) -> Result<T, CallError> {
    json::parse(text)
        .as_ref()
        .and_then(T::from_json)
        .ok_or_else(|| CallError {
            message: "the server's answer was not understood".into(),
        })
}

pub(crate) async fn get<T: FromJson>(path: &str) -> Result<T, CallError> {
    decode(&call("GET", path, None, None).await?)
}

pub(crate) async fn post<B: ToJson, T: FromJson>(
    path: &str,
    body: &B,
    bearer: Option<&str>,
) -> Result<T, CallError> {
    decode(&call("POST", path, Some(body.to_json()), bearer).await?)
}
