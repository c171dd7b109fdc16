//! Live visitors of a site, from the widget's presence beats: page, referrer, time on site,
//! returning or not, with "invite to chat" (a proactive message the widget on that browser
//! shows at its next beat). The list is re-read every few seconds while the view is open.

use bellhop_protocol::api::{LiveVisitor, LiveVisitorList};
use bellhop_protocol::console::InviteRequest;
use leptos::prelude::*;

use crate::api;
use crate::model;
use crate::state::ctx;
use crate::views::inbox::short_url;

#[component]
pub fn VisitorsView() -> impl IntoView {
    let ctx = ctx();
    let site = RwSignal::new(String::new());
    let visitors = RwSignal::new(None::<Result<Vec<LiveVisitor>, String>>);
    let site_id = move || {
        let chosen = site.get_untracked();
        if chosen.is_empty() {
            ctx.sites
                .with_untracked(|s| {
                    s.as_ref()
                        .and_then(|s| s.sites.first().map(|x| x.id.to_string()))
                })
                .unwrap_or_default()
        } else {
            chosen
        }
    };
    let load = move || {
        let id = site_id();
        if id.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            let answer = api::get::<LiveVisitorList>(&format!("/api/v1/sites/{id}/visitors"))
                .await
                .map(|l| l.visitors)
                .map_err(|e| e.message);
            visitors.set(Some(answer));
        });
    };
    load();
    let timer = set_interval_with_handle(load, std::time::Duration::from_secs(5)).ok();
    on_cleanup(move || {
        if let Some(t) = timer {
            t.clear();
        }
    });
    let invite = move |browser_id: String| {
        let text = ctx.t("invite_text").to_owned();
        let id = site_id();
        leptos::task::spawn_local(async move {
            let path = format!(
                "/api/v1/sites/{id}/visitors/{}/invite",
                api::enc(&browser_id)
            );
            match api::post::<_, serde_json::Value>(&path, &InviteRequest { text }).await {
                Ok(_) => ctx.say(ctx.t("invited")),
                Err(e) => ctx.say(e.message),
            }
        });
    };
    view! {
        <main class="page visitors">
            <h1>{move || ctx.t("nav_visitors")}</h1>
            <form class="filters" on:submit=|e| e.prevent_default()>
                <label>{move || ctx.t("site")}
                    <select on:change=move |e| { site.set(event_target_value(&e)); load(); }>
                        {move || ctx.sites.with(|s| s.as_ref().map(|s| s.sites.clone()).unwrap_or_default()).into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect_view()}
                    </select>
                </label>
            </form>
            {move || match visitors.get() {
                None => view! { <p class="empty">{move || ctx.t("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{move || ctx.t("no_visitors")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table>
                        <thead><tr>
                            <th scope="col">{ctx.t("current_page")}</th><th scope="col">{ctx.t("referrer")}</th>
                            <th scope="col">{ctx.t("on_site")}</th><th scope="col">{ctx.t("returning")}</th><th></th>
                        </tr></thead>
                        <tbody>{list.into_iter().map(|v| {
                            let browser = v.browser_id.clone();
                            view! {
                                <tr>
                                    <td>{v.title.clone().unwrap_or_default()}<br/><span class="last">{short_url(&v.url)}</span></td>
                                    <td>{v.referrer.as_deref().map(short_url).unwrap_or_default()}</td>
                                    <td>{move || model::clock(ctx.now.get() - v.first_seen)} " · " {v.page_views} " " {ctx.t("pages")}</td>
                                    <td>{if v.returning { ctx.t("yes") } else { ctx.t("no") }}</td>
                                    <td><button on:click=move |_| invite(browser.clone())>{ctx.t("invite")}</button></td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            }}
        </main>
    }
}
