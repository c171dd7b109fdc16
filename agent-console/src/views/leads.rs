//! Leads for marketers: every pre-chat and offline form, filtered by date range, site,
//! department, source (UTM) and kind, with the conversation behind each, and the CSV export of
//! the same filter (the server writes it: UTF-8 with a BOM, so spreadsheets keep Cyrillic
//! names, and formulas neutralised).

use bellhop_protocol::api::{Lead, LeadKind, LeadList};
use leptos::prelude::*;

use crate::api;
use crate::state::ctx;
use crate::views::inbox;

/// Local midnight of a `YYYY-MM-DD` date, in ms (the browser's zone).
fn day_start(date: &str) -> Option<i64> {
    if date.is_empty() {
        return None;
    }
    let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!(
        "{date}T00:00:00"
    )))
    .get_time();
    (!ms.is_nan()).then_some(ms as i64)
}

#[derive(Clone, Default, PartialEq)]
struct Filter {
    site: String,
    department: String,
    kind: String,
    source: String,
    from: String,
    to: String,
}

impl Filter {
    fn query(&self) -> String {
        let mut parts = Vec::new();
        for (key, value) in [
            ("site", &self.site),
            ("department", &self.department),
            ("kind", &self.kind),
            ("source", &self.source),
        ] {
            if !value.is_empty() {
                parts.push(format!("{key}={}", api::enc(value)));
            }
        }
        if let Some(from) = day_start(&self.from) {
            parts.push(format!("from={from}"));
        }
        if let Some(to) = day_start(&self.to) {
            parts.push(format!("to={}", to + 86_400_000));
        }
        parts.join("&")
    }
}

#[component]
pub fn LeadsView() -> impl IntoView {
    let ctx = ctx();
    let filter = RwSignal::new(Filter::default());
    let leads = RwSignal::new(None::<Result<Vec<Lead>, String>>);
    let load = move || {
        let query = filter.get_untracked().query();
        leptos::task::spawn_local(async move {
            let answer = api::get::<LeadList>(&format!("/api/v1/leads?limit=500&{query}"))
                .await
                .map(|l| l.leads)
                .map_err(|e| e.message);
            leads.set(Some(answer));
        });
    };
    load();
    let field = move |key: &'static str| {
        move |e: leptos::ev::Event| {
            let value = event_target_value(&e);
            filter.update(|f| match key {
                "site" => f.site = value,
                "department" => f.department = value,
                "kind" => f.kind = value,
                "source" => f.source = value,
                "from" => f.from = value,
                _ => f.to = value,
            });
            load();
        }
    };
    let csv = move || format!("/api/v1/leads.csv?{}", filter.get().query());
    let sites = move || {
        ctx.sites
            .with(|s| s.as_ref().map(|s| s.sites.clone()).unwrap_or_default())
    };
    view! {
        <main class="page leads">
            <h1>{move || ctx.t("nav_leads")}</h1>
            <form class="filters" on:submit=|e| e.prevent_default() aria-label=move || ctx.t("filters")>
                <label>{move || ctx.t("from_date")}<input type="date" on:change=field("from")/></label>
                <label>{move || ctx.t("to_date")}<input type="date" on:change=field("to")/></label>
                <label>{move || ctx.t("site")}
                    <select on:change=field("site")>
                        <option value="">{move || ctx.t("all")}</option>
                        {move || sites().into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("department")}
                    <select on:change=field("department")>
                        <option value="">{move || ctx.t("all")}</option>
                        {move || sites().into_iter().flat_map(|s| s.departments).map(|d| view! { <option value=d.id.to_string()>{d.name}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("kind")}
                    <select on:change=field("kind")>
                        <option value="">{move || ctx.t("all")}</option>
                        <option value="prechat">{move || ctx.t("kind_prechat")}</option>
                        <option value="offline">{move || ctx.t("kind_offline")}</option>
                    </select>
                </label>
                <label>{move || ctx.t("source")}<input type="text" placeholder="utm_source" on:change=field("source")/></label>
                <a class="button" href=csv download="leads.csv">{move || ctx.t("download_csv")}</a>
            </form>
            {move || match leads.get() {
                None => view! { <p class="empty">{move || ctx.t("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{move || ctx.t("no_leads")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table>
                        <thead><tr>
                            <th scope="col">{ctx.t("date")}</th><th scope="col">{ctx.t("name")}</th>
                            <th scope="col">{ctx.t("email")}</th><th scope="col">{ctx.t("phone")}</th>
                            <th scope="col">{ctx.t("kind")}</th><th scope="col">{ctx.t("source")}</th>
                            <th scope="col">{ctx.t("message")}</th><th scope="col">{ctx.t("conversation")}</th>
                        </tr></thead>
                        <tbody>{list.into_iter().map(|l| {
                            let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(l.created_at as f64)).to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED);
                            let kind = match l.kind { LeadKind::Prechat => ctx.t("kind_prechat"), LeadKind::Offline => ctx.t("kind_offline") };
                            view! {
                                <tr data-lead=l.id.to_string()>
                                    <td>{String::from(when)}</td>
                                    <td>{l.name.unwrap_or_default()}</td>
                                    <td>{l.email.unwrap_or_default()}</td>
                                    <td>{l.phone.unwrap_or_default()}</td>
                                    <td>{kind}</td>
                                    <td>{[l.utm.source, l.utm.campaign].into_iter().flatten().collect::<Vec<_>>().join(" / ")}</td>
                                    <td>{l.message.map(|m| crate::model::preview(&m, 80)).unwrap_or_default()}</td>
                                    <td>{l.conversation_id.map(|id| view! {
                                        <button class="link" on:click=move |_| inbox::open(ctx, id)>{ctx.t("open")}</button>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            }}
        </main>
    }
}
