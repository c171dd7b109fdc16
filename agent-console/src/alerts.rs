//! Alerts for new chats and messages: a short tone, the page title's unread count, and a
//! browser notification while the console is in the background (when the agent allows it).

use bellhop_protocol::ConversationId;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::state::Ctx;

fn hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// A visitor wrote in `conversation`.
pub fn new_message(ctx: Ctx, conversation: ConversationId, body: &str) {
    let active = ctx.inbox.with_untracked(|i| i.active) == Some(conversation);
    if active && !hidden() {
        return;
    }
    let prefs = ctx.prefs();
    if prefs.sound {
        tone(660.0);
    }
    if prefs.notifications && hidden() {
        notify(ctx.t("new_message"), &crate::model::preview(body, 80));
    }
}

/// A chat was assigned or transferred to this agent.
pub fn new_chat(ctx: Ctx, _conversation: ConversationId) {
    let prefs = ctx.prefs();
    if prefs.sound {
        tone(880.0);
    }
    if prefs.notifications && hidden() {
        notify(ctx.t("new_chat"), ctx.t("app_name"));
    }
}

/// Asks the browser for notifications, if the agent wants them and it has not been asked.
pub fn ask_permission() {
    if web_sys::Notification::permission() == web_sys::NotificationPermission::Default {
        let _ = web_sys::Notification::request_permission();
    }
}

fn notify(title: &str, body: &str) {
    if web_sys::Notification::permission() != web_sys::NotificationPermission::Granted {
        return;
    }
    let options = web_sys::NotificationOptions::new();
    options.set_body(body);
    options.set_tag("bellhop");
    let _ = web_sys::Notification::new_with_options(title, &options);
}

thread_local! {
    static AUDIO: std::cell::RefCell<Option<web_sys::AudioContext>> = const { std::cell::RefCell::new(None) };
}

/// A 150 ms tone (no sound file to download). Browsers allow it after the agent's first
/// interaction with the page.
fn tone(hz: f32) {
    AUDIO.with(|audio| {
        let mut audio = audio.borrow_mut();
        if audio.is_none() {
            *audio = web_sys::AudioContext::new().ok();
        }
        let Some(context) = audio.as_ref() else {
            return;
        };
        let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain())
        else {
            return;
        };
        let now = context.current_time();
        oscillator.frequency().set_value(hz);
        gain.gain().set_value(0.08);
        let _ = gain.gain().linear_ramp_to_value_at_time(0.0, now + 0.15);
        let _ = oscillator.connect_with_audio_node(&gain);
        let _ = gain.connect_with_audio_node(&context.destination());
        let _ = oscillator.start();
        let _ = oscillator.stop_with_when(now + 0.16);
        // Counted for tests and diagnostics: the last tone's frequency.
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
            .and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let count = body
                .get_attribute("data-tones")
                .and_then(|c| c.parse::<u32>().ok())
                .unwrap_or(0);
            let _ = body.set_attribute("data-tones", &(count + 1).to_string());
        }
    });
}

/// Keeps the page title as `(unread) Bellhop`.
pub fn keep_title(ctx: Ctx) {
    Effect::new(move |_| {
        let unread = ctx.inbox.with(|i| i.total_unread());
        let title = if unread > 0 {
            format!("({unread}) Bellhop")
        } else {
            "Bellhop".to_owned()
        };
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&title);
        }
    });
}
