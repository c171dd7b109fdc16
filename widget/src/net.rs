//! REST calls to the Bellhop server (the panel's own origin).

use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, Headers, ProgressEvent, RequestInit, Response, Url, XmlHttpRequest};

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
    // An empty answer (`202`, `204`) is fine where any answer is.
    if text.is_empty()
        && let Some(nothing) = T::from_json(&json::Value::Null)
    {
        return Ok(nothing);
    }
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

/// A file of the chat as an object URL, fetched with the visitor's token.
pub(crate) async fn blob_url(path: &str, bearer: Option<&str>) -> Result<String, JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let init = RequestInit::new();
    let headers = Headers::new()?;
    if let Some(token) = bearer {
        headers.set("authorization", &("Bearer ".to_owned() + token))?;
    }
    init.set_headers(&headers);
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await?
        .dyn_into()?;
    if !response.ok() {
        return Err(JsValue::NULL);
    }
    let blob: Blob = JsFuture::from(response.blob()?).await?.dyn_into()?;
    Url::create_object_url_with_blob(&blob)
}

/// Uploads a file's bytes with `POST`, reporting progress in percent; `done` gets `Ok` or the
/// server's error code (`None` when the network failed or the answer was not understood).
pub(crate) fn upload(
    path: &str,
    bearer: &str,
    file: &File,
    progress: impl FnMut(u64) + 'static,
    done: impl FnOnce(Result<(), Option<String>>) + 'static,
) {
    let Ok(xhr) = XmlHttpRequest::new() else {
        done(Err(None));
        return;
    };
    let mut progress = progress;
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            progress((e.loaded() * 100.0 / e.total()) as u64);
        }
    });
    let request = xhr.clone();
    let mut done = Some(done);
    let on_end = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        let Some(done) = done.take() else { return };
        let status = request.status().unwrap_or(0);
        if (200..300).contains(&status) {
            done(Ok(()));
        } else {
            let text = request.response_text().ok().flatten().unwrap_or_default();
            let code =
                json::parse(&text).and_then(|v| v.get("code").and_then(json::Value::as_string));
            done(Err(code));
        }
    });
    let sent = (|| {
        xhr.open("POST", path)?;
        xhr.set_request_header("authorization", &("Bearer ".to_owned() + bearer))?;
        xhr.upload()?
            .set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        xhr.set_onloadend(Some(on_end.as_ref().unchecked_ref()));
        xhr.send_with_opt_blob(Some(file))
    })();
    // The request holds them until it ends; they live as long as the panel.
    on_progress.forget();
    on_end.forget();
    if sent.is_err() {
        xhr.abort().ok();
    }
}
