//! REST calls to the server the console came from. The session is the HttpOnly cookie the
//! login set, so no token is ever in reach of a script.

use bellhop_protocol::error::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCredentials, RequestInit, Response};

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError {
    /// The HTTP status (0: the network failed).
    pub status: u16,
    /// The server's error code (`forbidden`, `conflict`, …), if it sent one.
    pub code: Option<String>,
    pub message: String,
}

impl CallError {
    fn network(e: JsValue) -> Self {
        Self {
            status: 0,
            code: None,
            message: e
                .as_string()
                .unwrap_or_else(|| "the server cannot be reached".into()),
        }
    }

    pub fn unauthorized(&self) -> bool {
        self.status == 401
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a call sends.
pub enum Body<'a> {
    None,
    Json(String),
    File(&'a web_sys::File),
}

async fn call(method: &str, path: &str, body: Body<'_>) -> Result<String, CallError> {
    let window = web_sys::window().ok_or_else(|| CallError::network("no window".into()))?;
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = Headers::new().map_err(CallError::network)?;
    match body {
        Body::None => {}
        Body::Json(json) => {
            headers
                .set("content-type", "application/json")
                .map_err(CallError::network)?;
            init.set_body(&JsValue::from_str(&json));
        }
        Body::File(file) => {
            init.set_body(file);
        }
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
        return Ok(text);
    }
    let error: Option<ApiError> = serde_json::from_str(&text).ok();
    Err(CallError {
        status: response.status(),
        code: error.as_ref().map(|e| e.code.as_str().to_owned()),
        message: error.map_or_else(|| format!("HTTP {}", response.status()), |e| e.message),
    })
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, CallError> {
    let text = if text.is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(|e| CallError {
        status: 200,
        code: None,
        message: format!("the server's answer was not understood: {e}"),
    })
}

fn json<B: Serialize>(body: &B) -> Result<Body<'static>, CallError> {
    serde_json::to_string(body)
        .map(Body::Json)
        .map_err(|e| CallError {
            status: 0,
            code: None,
            message: e.to_string(),
        })
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, CallError> {
    decode(&call("GET", path, Body::None).await?)
}

pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, CallError> {
    decode(&call("POST", path, json(body)?).await?)
}

pub async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, CallError> {
    decode(&call("PUT", path, json(body)?).await?)
}

pub async fn patch<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, CallError> {
    decode(&call("PATCH", path, json(body)?).await?)
}

pub async fn delete(path: &str) -> Result<(), CallError> {
    call("DELETE", path, Body::None).await.map(drop)
}

pub async fn upload<T: DeserializeOwned>(path: &str, file: &web_sys::File) -> Result<T, CallError> {
    decode(&call("POST", path, Body::File(file)).await?)
}

/// A query string value, percent-encoded.
pub fn enc(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}
