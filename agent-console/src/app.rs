//! The app's shell: sign-in, the header (status always visible, navigation by role, sign out),
//! the view of the current `#route`, the keyboard shortcuts and the once-a-second clock.

use bellhop_protocol::api::{AgentProfile, LoginRequest, LoginResponse};
use bellhop_protocol::console::{CannedReplyList, MySites};
use bellhop_protocol::frames::AgentStatus;
use bellhop_protocol::text::Password;
use leptos::ev;
use leptos::prelude::*;

use crate::api;
use crate::live;
use crate::state::{Conn, Ctx, Route, ctx};
use crate::views;

#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx::new();
    provide_context(ctx);
    let checked = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        if let Ok(me) = api::get::<AgentProfile>("/api/v1/me").await {
            signed_in(ctx, me);
        }
        checked.set(true);
    });
    follow_route(ctx);
    crate::follow_visibility(ctx.visible);
    set_interval(
        move || ctx.now.set(crate::now()),
        std::time::Duration::from_secs(1),
    );
    crate::alerts::keep_title(ctx);
    views::inbox::keyboard(ctx);
    views::settings::auto_away(ctx);
    view! {
        {move || {
            if !checked.get() {
                view! { <p class="loading">{move || ctx.t("loading")}</p> }.into_any()
            } else if ctx.me.with(Option::is_some) && ctx.conn.get() != Conn::Ended {
                view! { <Shell/> }.into_any()
            } else {
                view! { <Login/> }.into_any()
            }
        }}
    }
}

/// After sign-in (or with a session already): who the agent is, their sites and canned
/// replies, and the socket.
fn signed_in(ctx: Ctx, me: AgentProfile) {
    ctx.me.set(Some(me));
    ctx.conn.set(Conn::Connecting);
    load_sites(ctx);
    load_canned(ctx);
    live::start(ctx);
}

pub fn load_sites(ctx: Ctx) {
    leptos::task::spawn_local(async move {
        if let Ok(sites) = api::get::<MySites>("/api/v1/me/sites").await {
            ctx.inbox.update(|i| i.set_sites(&sites.sites));
            ctx.sites.set(Some(sites));
        }
    });
}

pub fn load_canned(ctx: Ctx) {
    leptos::task::spawn_local(async move {
        if let Ok(list) = api::get::<CannedReplyList>("/api/v1/canned-replies").await {
            ctx.canned.set(list.replies);
        }
    });
}

fn follow_route(ctx: Ctx) {
    let read = move || {
        let hash = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        ctx.route.set(Route::from_hash(&hash));
    };
    read();
    let handle = window_event_listener(ev::hashchange, move |_| read());
    // The app lives as long as the page.
    std::mem::forget(handle);
}

#[component]
fn Login() -> impl IntoView {
    let ctx = ctx();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    if ctx.conn.get_untracked() == Conn::Ended {
        error.set(Some(ctx.t("session_ended").to_owned()));
    }
    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let password = Password::new(password.get_untracked());
        let body = LoginRequest {
            email: email.get_untracked(),
            password,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::post::<_, LoginResponse>("/api/v1/auth/login", &body).await {
                Ok(answer) => {
                    error.set(None);
                    if ctx.conn.get_untracked() == Conn::Ended {
                        // A new session: the socket reconnects with the new cookie.
                        ctx.me.set(Some(answer.agent));
                        ctx.conn.set(Conn::Connecting);
                        live::resume();
                    } else {
                        signed_in(ctx, answer.agent);
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <main class="login">
            <form on:submit=submit aria-labelledby="login-title">
                <h1 id="login-title">{move || ctx.t("sign_in_title")}</h1>
                <label>
                    {move || ctx.t("email")}
                    <input type="email" name="email" autocomplete="username" required
                        prop:value=move || email.get()
                        on:input=move |e| email.set(event_target_value(&e))/>
                </label>
                <label>
                    {move || ctx.t("password")}
                    <input type="password" name="password" autocomplete="current-password" required
                        prop:value=move || password.get()
                        on:input=move |e| password.set(event_target_value(&e))/>
                </label>
                <Show when=move || error.with(Option::is_some)>
                    <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <button type="submit" disabled=move || busy.get()>{move || ctx.t("sign_in")}</button>
            </form>
        </main>
    }
}

/// Which views the agent's role opens.
fn allowed(ctx: Ctx, route: Route) -> bool {
    match route {
        Route::Inbox | Route::Queue | Route::Settings | Route::History => true,
        Route::Wallboard | Route::Visitors => ctx.is_staff(),
        Route::Leads | Route::Reports => ctx.is_staff(),
        Route::Admin => ctx.is_admin(),
    }
}

#[component]
fn Shell() -> impl IntoView {
    let ctx = ctx();
    let nav = move || {
        Route::ALL
            .into_iter()
            .filter(|r| allowed(ctx, *r) && views::built(*r))
            .map(|route| {
                let current = move || ctx.route.get() == route;
                view! {
                    <a href=format!("#/{}", route.slug())
                        aria-current=move || if current() { Some("page") } else { None }>
                        {move || ctx.t(route.label_key())}
                        {move || (route == Route::Inbox).then(|| {
                            let n = ctx.inbox.with(|i| i.total_unread());
                            (n > 0).then(|| view! { <span class="badge" aria-label=move || format!("{n} {}", ctx.t("unread"))>{n}</span> })
                        })}
                    </a>
                }
            })
            .collect_view()
    };
    let sign_out = move |_| {
        live::stop();
        leptos::task::spawn_local(async move {
            let _ = api::post::<_, serde_json::Value>("/api/v1/auth/logout", &()).await;
            ctx.me.set(None);
            ctx.inbox.set(Default::default());
        });
    };
    view! {
        <header class="top">
            <span class="brand">"Bellhop"</span>
            <nav aria-label=move || ctx.t("main_nav")>{nav}</nav>
            <StatusControl/>
            <span class="who">{move || ctx.me.with(|m| m.as_ref().map(|m| m.display_name.clone()))}</span>
            <button class="link" on:click=sign_out>{move || ctx.t("sign_out")}</button>
        </header>
        <Show when=move || ctx.notice.with(Option::is_some)>
            <div class="notice" role="alert">
                <span>{move || ctx.notice.get().unwrap_or_default()}</span>
                <button class="link" aria-label="Dismiss" on:click=move |_| ctx.notice.set(None)>"×"</button>
            </div>
        </Show>
        {move || {
            let route = ctx.route.get();
            if allowed(ctx, route) { views::show(route) } else { views::show(Route::Inbox) }
        }}
    }
}

/// Online / away / offline, always visible. Offline closes the socket: no new chats, and the
/// agent's chats wait for the grace period.
#[component]
fn StatusControl() -> impl IntoView {
    let ctx = ctx();
    let value = move || match (ctx.conn.get(), ctx.status.get()) {
        (Conn::Off, _) => "offline",
        (_, AgentStatus::Away) => "away",
        (Conn::Live, AgentStatus::Online) => "online",
        _ => "offline",
    };
    let change = move |e: ev::Event| match event_target_value(&e).as_str() {
        "online" => {
            if ctx.conn.get_untracked() == Conn::Off {
                live::resume();
            } else {
                live::set_status(AgentStatus::Online);
            }
        }
        "away" => live::set_status(AgentStatus::Away),
        _ => live::stop(),
    };
    view! {
        <label class="status" data-status=value>
            <span class="dot" aria-hidden="true"></span>
            <span class="sr-only">{move || ctx.t("status")}</span>
            <select on:change=change prop:value=value>
                <option value="online">{move || ctx.t("online")}</option>
                <option value="away">{move || ctx.t("away")}</option>
                <option value="offline">{move || ctx.t("offline")}</option>
            </select>
            <Show when=move || matches!(ctx.conn.get(), Conn::Reconnecting | Conn::Connecting)>
                <span class="conn">{move || ctx.t("reconnecting")}</span>
            </Show>
        </label>
    }
}
