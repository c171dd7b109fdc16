//! Administration (admins): sites — widget key and the embed snippet, allowed origins, the
//! widget's look and texts per language, forms, business hours with the next opening,
//! auto-acknowledgement, proactive greetings, attachments, answer target, retention —,
//! departments, agents (roles, caps, departments, password reset) and canned replies.

use std::collections::BTreeMap;

use bellhop_protocol::SiteId;
use bellhop_protocol::api::{
    Department, DepartmentList, GreetingAudience, GreetingRule, NewDepartmentRequest,
    NewSiteRequest, SiteList, SiteSettings, SiteSettingsUpdate, WidgetConfig, WidgetPosition,
};
use bellhop_protocol::console::{CannedReply, CannedReplyList, NewCannedReply};
use leptos::ev;
use leptos::prelude::*;

use crate::api;
use crate::state::{Ctx, ctx};
use crate::views::agents::AgentsAdmin;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Sites,
    Agents,
    Canned,
}

#[component]
pub fn AdminView() -> impl IntoView {
    let ctx = ctx();
    let tab = RwSignal::new(Tab::Sites);
    let sites = RwSignal::new(Vec::<SiteSettings>::new());
    let selected = RwSignal::new(None::<SiteId>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            match api::get::<SiteList>("/api/v1/sites").await {
                Ok(list) => {
                    if selected.get_untracked().is_none() {
                        selected.set(list.sites.first().map(|s| s.id));
                    }
                    sites.set(list.sites);
                }
                Err(e) => ctx.say(e.message),
            }
        });
    };
    reload();
    let tab_button = move |t: Tab, key: &'static str| {
        view! {
            <button role="tab" aria-selected=move || (tab.get() == t).to_string() on:click=move |_| tab.set(t)>
                {move || ctx.t(key)}
            </button>
        }
    };
    view! {
        <main class="page admin">
            <h1>{move || ctx.t("nav_admin")}</h1>
            <div class="tabs" role="tablist">
                {tab_button(Tab::Sites, "sites")}
                {tab_button(Tab::Agents, "agents")}
                {tab_button(Tab::Canned, "canned")}
            </div>
            {move || match tab.get() {
                Tab::Sites => view! {
                    <div class="site-picker">
                        <label>{move || ctx.t("site")}
                            <select on:change=move |e| selected.set(event_target_value(&e).parse().ok())
                                prop:value=move || selected.get().map(|s| s.to_string()).unwrap_or_default()>
                                {move || sites.get().into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect_view()}
                            </select>
                        </label>
                        <NewSite on_created=Callback::new(move |id| { selected.set(Some(id)); reload(); })/>
                    </div>
                    {move || selected.get().and_then(|id| sites.with(|all| all.iter().find(|s| s.id == id).cloned())).map(|site| {
                        let id = site.id;
                        view! {
                            <SiteEditor site=site on_saved=Callback::new(move |_| { reload(); crate::app::load_sites(ctx); })/>
                            <Departments site=id/>
                        }
                    })}
                }.into_any(),
                Tab::Agents => view! { <AgentsAdmin/> }.into_any(),
                Tab::Canned => view! { <CannedAdmin sites=sites/> }.into_any(),
            }}
        </main>
    }
}

#[component]
fn NewSite(on_created: Callback<SiteId>) -> impl IntoView {
    let ctx = ctx();
    let name = RwSignal::new(String::new());
    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let body = NewSiteRequest {
            name: name.get_untracked(),
            allowed_origins: Vec::new(),
            auto_reply: None,
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, SiteSettings>("/api/v1/sites", &body).await {
                Ok(site) => {
                    name.set(String::new());
                    on_created.run(site.id);
                }
                Err(e) => ctx.say(e.message),
            }
        });
    };
    view! {
        <form class="inline" on:submit=submit>
            <label>{move || ctx.t("new_site")}
                <input required prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/>
            </label>
            <button type="submit">{move || ctx.t("add")}</button>
        </form>
    }
}

/// Lines of a textarea, trimmed, without blanks.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

const KNOWN_TYPES: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];

#[component]
fn SiteEditor(site: SiteSettings, on_saved: Callback<()>) -> impl IntoView {
    let ctx = ctx();
    let draft = RwSignal::new(site.clone());
    let origins = RwSignal::new(site.allowed_origins.join("\n"));
    // Texts per language as `key = text` lines, the widget's own keys.
    let texts_text = |lang: &str, site: &SiteSettings| {
        site.config
            .widget
            .texts
            .get(lang)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    };
    let texts_en = RwSignal::new(texts_text("en", &site));
    let texts_ru = RwSignal::new(texts_text("ru", &site));
    let hours = RwSignal::new(
        site.config
            .business_hours
            .as_ref()
            .and_then(|h| serde_json::to_string_pretty(h).ok())
            .unwrap_or_default(),
    );
    let saved = RwSignal::new(false);
    let availability = RwSignal::new(None::<String>);
    let key = site.widget_key.clone();
    let check_hours = move || {
        let key = key.clone();
        leptos::task::spawn_local(async move {
            if let Ok(config) =
                api::get::<WidgetConfig>(&format!("/api/v1/widget/config?key={}", api::enc(&key)))
                    .await
            {
                let a = config.availability;
                let text = if a.open {
                    ctx.t("open_now").to_owned()
                } else {
                    let next = a.next_open_at.map(|ms| {
                        String::from(
                            js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
                                .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED),
                        )
                    });
                    match next {
                        Some(next) => format!("{} {next}", ctx.t("next_opening")),
                        None => ctx.t("closed_now").to_owned(),
                    }
                };
                availability.set(Some(text));
            }
        });
    };
    check_hours();
    let site_id = site.id;
    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let mut s = draft.get_untracked();
        let mut texts = BTreeMap::new();
        for (lang, text) in [
            ("en", texts_en.get_untracked()),
            ("ru", texts_ru.get_untracked()),
        ] {
            let map: BTreeMap<String, String> = lines(&text)
                .into_iter()
                .filter_map(|l| {
                    l.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                })
                .collect();
            if !map.is_empty() {
                texts.insert(lang.to_owned(), map);
            }
        }
        s.config.widget.texts = texts;
        let hours_text = hours.get_untracked();
        s.config.business_hours = if hours_text.trim().is_empty() {
            None
        } else {
            match serde_json::from_str(&hours_text) {
                Ok(h) => Some(h),
                Err(e) => {
                    ctx.say(format!("{}: {e}", ctx.t("business_hours")));
                    return;
                }
            }
        };
        let body = SiteSettingsUpdate {
            name: Some(s.name.clone()),
            allowed_origins: Some(lines(&origins.get_untracked())),
            auto_reply: Some(s.auto_reply.clone()),
            config: Some(s.config.clone()),
        };
        let check = check_hours.clone();
        leptos::task::spawn_local(async move {
            match api::patch::<_, SiteSettings>(&format!("/api/v1/sites/{site_id}"), &body).await {
                Ok(_) => {
                    saved.set(true);
                    on_saved.run(());
                    check();
                }
                Err(e) => ctx.say(e.message),
            }
        });
    };
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let snippet = format!(
        r#"<script src="{origin}/widget.js" data-site="{}" async></script>"#,
        site.widget_key
    );
    let snippet_copy = snippet.clone();
    let copy = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&snippet_copy);
        }
    };
    let text_input = move |get: fn(&SiteSettings) -> String, set: fn(&mut SiteSettings, String)| {
        view! {
            <input prop:value=move || draft.with(get) on:input=move |e| { let v = event_target_value(&e); draft.update(|d| set(d, v)); }/>
        }
    };
    let number_input = move |get: fn(&SiteSettings) -> u64, set: fn(&mut SiteSettings, u64)| {
        view! {
            <input type="number" min="0" prop:value=move || draft.with(get).to_string()
                on:input=move |e| { let v = event_target_value(&e).parse().unwrap_or(0); draft.update(|d| set(d, v)); }/>
        }
    };
    view! {
        <form class="site-editor" on:submit=submit aria-label=move || ctx.t("site_settings")>
            <fieldset>
                <legend>{move || ctx.t("site")}</legend>
                <label>{move || ctx.t("name")}{text_input(|s| s.name.clone(), |s, v| s.name = v)}</label>
                <p>{move || ctx.t("widget_key")}": " <code>{site.widget_key.clone()}</code></p>
                <div class="snippet-row">
                    <pre class="snippet" aria-label=move || ctx.t("embed_snippet")>{snippet}</pre>
                    <button type="button" on:click=copy>{move || ctx.t("copy")}</button>
                </div>
                <label>{move || ctx.t("allowed_origins")}
                    <textarea rows="3" prop:value=move || origins.get() on:input=move |e| origins.set(event_target_value(&e))></textarea>
                </label>
                <label>{move || ctx.t("auto_reply")}
                    <textarea rows="2" prop:value=move || draft.with(|d| d.auto_reply.clone())
                        on:input=move |e| { let v = event_target_value(&e); draft.update(|d| d.auto_reply = v); }></textarea>
                </label>
            </fieldset>
            <fieldset>
                <legend>{move || ctx.t("widget_look")}</legend>
                <label>{move || ctx.t("colour")}
                    <input type="color" prop:value=move || draft.with(|d| d.config.widget.color.clone())
                        on:input=move |e| { let v = event_target_value(&e); draft.update(|d| d.config.widget.color = v); }/>
                </label>
                <label>{move || ctx.t("position")}
                    <select prop:value=move || if draft.with(|d| d.config.widget.position == WidgetPosition::Left) { "left" } else { "right" }
                        on:change=move |e| { let left = event_target_value(&e) == "left"; draft.update(|d| d.config.widget.position = if left { WidgetPosition::Left } else { WidgetPosition::Right }); }>
                        <option value="right">{move || ctx.t("right")}</option>
                        <option value="left">{move || ctx.t("left")}</option>
                    </select>
                </label>
                <label>{move || ctx.t("language")}
                    <select prop:value=move || draft.with(|d| d.config.widget.language.clone())
                        on:change=move |e| { let v = event_target_value(&e); draft.update(|d| d.config.widget.language = v); }>
                        <option value="en">"English"</option>
                        <option value="ru">"Русский"</option>
                    </select>
                </label>
                <label class="check"><input type="checkbox" prop:checked=move || draft.with(|d| d.config.widget.sound)
                    on:change=move |e| { let v = event_target_checked(&e); draft.update(|d| d.config.widget.sound = v); }/>{move || ctx.t("widget_sound")}</label>
                <label>{move || ctx.t("texts_en")}<textarea rows="3" placeholder="title = Chat with us" prop:value=move || texts_en.get() on:input=move |e| texts_en.set(event_target_value(&e))></textarea></label>
                <label>{move || ctx.t("texts_ru")}<textarea rows="3" placeholder="title = Напишите нам" prop:value=move || texts_ru.get() on:input=move |e| texts_ru.set(event_target_value(&e))></textarea></label>
            </fieldset>
            <fieldset>
                <legend>{move || ctx.t("greetings")}</legend>
                <Greetings draft=draft/>
            </fieldset>
            <fieldset>
                <legend>{move || ctx.t("forms")}</legend>
                <label class="check"><input type="checkbox" prop:checked=move || draft.with(|d| d.config.prechat_form.enabled)
                    on:change=move |e| { let v = event_target_checked(&e); draft.update(|d| d.config.prechat_form.enabled = v); }/>{move || ctx.t("prechat_on")}</label>
                <label class="check"><input type="checkbox" prop:checked=move || draft.with(|d| d.config.offline_form.enabled)
                    on:change=move |e| { let v = event_target_checked(&e); draft.update(|d| d.config.offline_form.enabled = v); }/>{move || ctx.t("offline_on")}</label>
                <p class="last">{move || draft.with(|d| d.config.prechat_form.fields.iter().map(|f| f.label.clone()).collect::<Vec<_>>().join(", "))}</p>
            </fieldset>
            <fieldset>
                <legend>{move || ctx.t("business_hours")}</legend>
                <p role="status" class="availability">{move || availability.get().unwrap_or_default()}</p>
                <label>{move || ctx.t("hours_json")}
                    <textarea rows="5" class="code" placeholder=r#"{"time_zone":"Europe/Berlin","weekly":[{"day":"mon","open":"09:00","close":"17:00"}]}"#
                        prop:value=move || hours.get() on:input=move |e| hours.set(event_target_value(&e))></textarea>
                </label>
            </fieldset>
            <fieldset>
                <legend>{move || ctx.t("chats")}</legend>
                <label>{move || ctx.t("answer_target")}{number_input(|s| u64::from(s.config.answer_target_secs), |s, v| s.config.answer_target_secs = u32::try_from(v).unwrap_or(u32::MAX))}</label>
                <label>{move || ctx.t("inactivity")}{number_input(|s| s.config.inactivity_timeout_secs, |s, v| s.config.inactivity_timeout_secs = v)}</label>
                <label>{move || ctx.t("retention")}{number_input(|s| u64::from(s.config.retention_days), |s, v| s.config.retention_days = u32::try_from(v).unwrap_or(u32::MAX))}</label>
                <label>{move || ctx.t("attachment_max")}{number_input(|s| s.config.attachments.max_bytes / 1024, |s, v| s.config.attachments.max_bytes = v * 1024)}</label>
                <div class="types">{KNOWN_TYPES.into_iter().map(|t| view! {
                    <label class="check"><input type="checkbox"
                        prop:checked=move || draft.with(|d| d.config.attachments.allowed_types.iter().any(|x| x == t))
                        on:change=move |e| { let on = event_target_checked(&e); draft.update(|d| {
                            d.config.attachments.allowed_types.retain(|x| x != t);
                            if on { d.config.attachments.allowed_types.push(t.to_owned()); }
                        }); }/>{t}</label>
                }).collect_view()}</div>
            </fieldset>
            <button class="primary" type="submit">{move || ctx.t("save")}</button>
            <Show when=move || saved.get()><span role="status">{move || ctx.t("saved")}</span></Show>
        </form>
    }
}

#[component]
fn Greetings(draft: RwSignal<SiteSettings>) -> impl IntoView {
    let ctx = ctx();
    let rules = move || draft.with(|d| d.config.greetings.clone());
    let add = move |_| {
        draft.update(|d| {
            d.config.greetings.push(GreetingRule {
                text: String::new(),
                url_contains: None,
                after_secs: 5,
                audience: GreetingAudience::Everyone,
            })
        })
    };
    view! {
        <table class="greetings">
            <thead><tr>
                <th scope="col">{move || ctx.t("greeting_text")}</th><th scope="col">{move || ctx.t("greeting_url")}</th>
                <th scope="col">{move || ctx.t("greeting_after")}</th><th scope="col">{move || ctx.t("greeting_audience")}</th><th></th>
            </tr></thead>
            <tbody>
                {move || rules().into_iter().enumerate().map(|(i, r)| {
                    let set = move |f: Box<dyn Fn(&mut GreetingRule)>| draft.update(|d| if let Some(r) = d.config.greetings.get_mut(i) { f(r) });
                    view! {
                        <tr>
                            <td><input aria-label=move || ctx.t("greeting_text") prop:value=r.text.clone()
                                on:change=move |e| { let v = event_target_value(&e); set(Box::new(move |r| r.text = v.clone())); }/></td>
                            <td><input aria-label=move || ctx.t("greeting_url") prop:value=r.url_contains.clone().unwrap_or_default()
                                on:change=move |e| { let v = event_target_value(&e); set(Box::new(move |r| r.url_contains = Some(v.clone()).filter(|v| !v.is_empty()))); }/></td>
                            <td><input type="number" min="0" aria-label=move || ctx.t("greeting_after") prop:value=r.after_secs.to_string()
                                on:change=move |e| { let v = event_target_value(&e).parse().unwrap_or(0); set(Box::new(move |r| r.after_secs = v)); }/></td>
                            <td><select aria-label=move || ctx.t("greeting_audience") prop:value=match r.audience { GreetingAudience::Everyone => "everyone", GreetingAudience::New => "new", GreetingAudience::Returning => "returning" }
                                on:change=move |e| { let v = event_target_value(&e); set(Box::new(move |r| r.audience = match v.as_str() { "new" => GreetingAudience::New, "returning" => GreetingAudience::Returning, _ => GreetingAudience::Everyone })); }>
                                <option value="everyone">{move || ctx.t("everyone")}</option>
                                <option value="new">{move || ctx.t("new_visitors")}</option>
                                <option value="returning">{move || ctx.t("returning_visitors")}</option>
                            </select></td>
                            <td><button type="button" class="link" on:click=move |_| draft.update(|d| { d.config.greetings.remove(i); })>{move || ctx.t("remove")}</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <button type="button" on:click=add>{move || ctx.t("add_greeting")}</button>
    }
}

#[component]
fn Departments(site: SiteId) -> impl IntoView {
    let ctx = ctx();
    let list = RwSignal::new(Vec::<Department>::new());
    let reload = move || {
        leptos::task::spawn_local(async move {
            if let Ok(l) =
                api::get::<DepartmentList>(&format!("/api/v1/sites/{site}/departments")).await
            {
                list.set(l.departments);
            }
        });
    };
    reload();
    let name = RwSignal::new(String::new());
    let fallback = RwSignal::new(String::new());
    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let body = NewDepartmentRequest {
            name: name.get_untracked(),
            fallback_id: fallback.get_untracked().parse().ok(),
            hours: None,
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, Department>(&format!("/api/v1/sites/{site}/departments"), &body)
                .await
            {
                Ok(_) => {
                    name.set(String::new());
                    reload();
                    crate::app::load_sites(ctx);
                }
                Err(e) => ctx.say(e.message),
            }
        });
    };
    view! {
        <section class="departments-admin">
            <h2>{move || ctx.t("departments")}</h2>
            <ul>{move || list.get().into_iter().map(|d| {
                let fallback = d.fallback_id.and_then(|f| list.with_untracked(|l| l.iter().find(|x| x.id == f).map(|x| x.name.clone())));
                view! { <li>{d.name.clone()}{fallback.map(|f| format!(" → {f}"))}{d.hours.map(|h| format!(" ({})", h.time_zone))}</li> }
            }).collect_view()}</ul>
            <form class="inline" on:submit=submit>
                <label>{move || ctx.t("new_department")}<input required prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/></label>
                <label>{move || ctx.t("fallback")}
                    <select on:change=move |e| fallback.set(event_target_value(&e))>
                        <option value="">"—"</option>
                        {move || list.get().into_iter().map(|d| view! { <option value=d.id.to_string()>{d.name}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit">{move || ctx.t("add")}</button>
            </form>
        </section>
    }
}

#[component]
fn CannedAdmin(sites: RwSignal<Vec<SiteSettings>>) -> impl IntoView {
    let ctx = ctx();
    let site = RwSignal::new(String::new());
    let shortcut = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let Some(site_id) = site
            .get_untracked()
            .parse()
            .ok()
            .or_else(|| sites.with_untracked(|s| s.first().map(|s| s.id)))
        else {
            return;
        };
        let request = NewCannedReply {
            site_id,
            department_id: None,
            shortcut: shortcut.get_untracked(),
            body: body.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, CannedReply>("/api/v1/canned-replies", &request).await {
                Ok(_) => {
                    shortcut.set(String::new());
                    body.set(String::new());
                    reload_canned(ctx);
                }
                Err(e) => ctx.say(e.message),
            }
        });
    };
    view! {
        <section>
            <table>
                <thead><tr><th scope="col">{move || ctx.t("site")}</th><th scope="col">{move || ctx.t("shortcut")}</th><th scope="col">{move || ctx.t("text")}</th><th></th></tr></thead>
                <tbody>{move || ctx.canned.get().into_iter().map(|r| {
                    let id = r.id;
                    view! {
                        <tr>
                            <td>{ctx.site_name(r.site_id)}</td><td><code>"/" {r.shortcut}</code></td><td>{r.body}</td>
                            <td><button class="link" on:click=move |_| leptos::task::spawn_local(async move {
                                match api::delete(&format!("/api/v1/canned-replies/{id}")).await {
                                    Ok(()) => reload_canned(ctx),
                                    Err(e) => ctx.say(e.message),
                                }
                            })>{move || ctx.t("remove")}</button></td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
            <form class="inline" on:submit=submit>
                <label>{move || ctx.t("site")}
                    <select on:change=move |e| site.set(event_target_value(&e))>
                        {move || sites.get().into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("shortcut")}<input required pattern="[a-z0-9_-]{1,32}" prop:value=move || shortcut.get() on:input=move |e| shortcut.set(event_target_value(&e))/></label>
                <label>{move || ctx.t("text")}<textarea required rows="2" prop:value=move || body.get() on:input=move |e| body.set(event_target_value(&e))></textarea></label>
                <button type="submit">{move || ctx.t("add")}</button>
            </form>
        </section>
    }
}

fn reload_canned(ctx: Ctx) {
    leptos::task::spawn_local(async move {
        if let Ok(list) = api::get::<CannedReplyList>("/api/v1/canned-replies").await {
            ctx.canned.set(list.replies);
        }
    });
}
