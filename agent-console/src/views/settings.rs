//! The agent's own settings (language, sound, notifications, auto-away), stored in their
//! profile, and the auto-away timer that uses them.

use bellhop_protocol::console::{AgentPreferences, Language};
use bellhop_protocol::frames::AgentStatus;
use leptos::ev;
use leptos::prelude::*;

use crate::api;
use crate::live;
use crate::state::{Conn, Ctx, ctx};

#[component]
pub fn SettingsView() -> impl IntoView {
    let ctx = ctx();
    let prefs = RwSignal::new(ctx.prefs());
    let saved = RwSignal::new(false);
    let save = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let body = prefs.get_untracked();
        leptos::task::spawn_local(async move {
            match api::put::<_, AgentPreferences>("/api/v1/me/preferences", &body).await {
                Ok(stored) => {
                    if stored.notifications {
                        crate::alerts::ask_permission();
                    }
                    ctx.me.update(|m| {
                        if let Some(m) = m {
                            m.preferences = stored;
                        }
                    });
                    saved.set(true);
                }
                Err(e) => ctx.say(e.message),
            }
        });
    };
    view! {
        <main class="page settings">
            <h1>{move || ctx.t("nav_settings")}</h1>
            <form on:submit=save>
                <label>{move || ctx.t("language")}
                    <select prop:value=move || prefs.with(|p| p.language.as_str())
                        on:change=move |e| {
                            let lang = Language::parse(&event_target_value(&e)).unwrap_or_default();
                            prefs.update(|p| p.language = lang);
                        }>
                        <option value="en">"English"</option>
                        <option value="ru">"Русский"</option>
                    </select>
                </label>
                <label class="check">
                    <input type="checkbox" prop:checked=move || prefs.with(|p| p.sound)
                        on:change=move |e| prefs.update(|p| p.sound = event_target_checked(&e))/>
                    {move || ctx.t("sound")}
                </label>
                <label class="check">
                    <input type="checkbox" prop:checked=move || prefs.with(|p| p.notifications)
                        on:change=move |e| prefs.update(|p| p.notifications = event_target_checked(&e))/>
                    {move || ctx.t("notifications")}
                </label>
                <label>{move || ctx.t("auto_away")}
                    <input type="number" min="0" max="480" prop:value=move || prefs.with(|p| p.auto_away_minutes.to_string())
                        on:input=move |e| prefs.update(|p| p.auto_away_minutes = event_target_value(&e).parse().unwrap_or(0))/>
                </label>
                <button class="primary" type="submit">{move || ctx.t("save")}</button>
                <Show when=move || saved.get()><span role="status">{move || ctx.t("saved")}</span></Show>
            </form>
        </main>
    }
}

/// Goes `away` after the agent's chosen minutes without input (off by default), and back
/// `online` at the next input if the console made them away.
pub fn auto_away(ctx: Ctx) {
    let last_input = StoredValue::new(crate::now());
    let made_away = StoredValue::new(false);
    let touched = move || {
        last_input.set_value(crate::now());
        if made_away.get_value() {
            made_away.set_value(false);
            if ctx.status.get_untracked() == AgentStatus::Away {
                live::set_status(AgentStatus::Online);
            }
        }
    };
    for handle in [
        window_event_listener(ev::keydown, move |_| touched()),
        window_event_listener(ev::pointerdown, move |_| touched()),
    ] {
        std::mem::forget(handle);
    }
    let mousemove = window_event_listener(ev::mousemove, move |_| touched());
    std::mem::forget(mousemove);
    set_interval(
        move || {
            let minutes = ctx.prefs().auto_away_minutes;
            if minutes == 0
                || ctx.conn.get_untracked() != Conn::Live
                || ctx.status.get_untracked() != AgentStatus::Online
            {
                return;
            }
            if crate::now() - last_input.get_value() >= i64::from(minutes) * 60_000 {
                made_away.set_value(true);
                live::set_status(AgentStatus::Away);
            }
        },
        std::time::Duration::from_secs(10),
    );
}
