//! Transcripts: the conversations of the agent's sites (their own for a plain agent), open and
//! closed, newest first. Opening one shows it beside the inbox; a colleague's open chat is
//! then watched live (the supervisor's monitor), with whispers to its agent; the routing audit
//! says why it went to whom.

use bellhop_protocol::ConversationId;
use bellhop_protocol::api::{ConversationList, RoutingAudit};
use bellhop_protocol::frames::ConversationStatus;
use leptos::prelude::*;

use crate::api;
use crate::state::ctx;
use crate::views::inbox;

#[component]
pub fn HistoryView() -> impl IntoView {
    let ctx = ctx();
    let list = RwSignal::new(None::<Result<ConversationList, String>>);
    let scope = if ctx.is_staff() { "site" } else { "mine" };
    leptos::task::spawn_local(async move {
        let answer = api::get::<ConversationList>(&format!(
            "/api/v1/conversations?status=all&scope={scope}&limit=200"
        ))
        .await
        .map_err(|e| e.message);
        list.set(Some(answer));
    });
    let audit = RwSignal::new(None::<(ConversationId, RoutingAudit)>);
    let show_audit = move |id: ConversationId| {
        leptos::task::spawn_local(async move {
            match api::get::<RoutingAudit>(&format!("/api/v1/conversations/{id}/routing")).await {
                Ok(a) => audit.set(Some((id, a))),
                Err(e) => ctx.say(e.message),
            }
        });
    };
    view! {
        <main class="page history">
            <h1>{move || ctx.t("nav_history")}</h1>
            {move || match list.get() {
                None => view! { <p class="empty">{move || ctx.t("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) => {
                    let mut conversations = list.conversations;
                    conversations.sort_by_key(|c| std::cmp::Reverse(c.created_at));
                    view! {
                        <table>
                            <thead><tr>
                                <th scope="col">{ctx.t("site")}</th>
                                <th scope="col">{ctx.t("department")}</th>
                                <th scope="col">{ctx.t("status")}</th>
                                <th scope="col">{ctx.t("agent")}</th>
                                <th scope="col">{ctx.t("rating")}</th>
                                <th scope="col"><span class="sr-only">"Open"</span></th>
                            </tr></thead>
                            <tbody>{conversations.into_iter().map(|c| {
                                let id = c.id;
                                let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(c.created_at as f64)).to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED);
                                let status = match c.status {
                                    ConversationStatus::Queued => ctx.t("queued"),
                                    ConversationStatus::Assigned => ctx.t("online"),
                                    ConversationStatus::Closed if c.missed => ctx.t("missed"),
                                    ConversationStatus::Closed => ctx.t("closed"),
                                };
                                view! {
                                    <tr data-conversation=id.to_string()>
                                        <td>{ctx.site_name(c.site_id)}<br/><span class="last">{String::from(when)}</span></td>
                                        <td>{ctx.department_name(c.department_id)}</td>
                                        <td>{status}</td>
                                        <td>{c.agent.map(|a| a.display_name).unwrap_or_default()}</td>
                                        <td>{c.rating.map(|r| format!("{}★", r.score)).unwrap_or_default()}</td>
                                        <td>
                                            <button on:click=move |_| inbox::open(ctx, id)>{move || ctx.t("open")}</button>
                                            " "
                                            <Show when=move || ctx.is_staff()>
                                                <button class="link" on:click=move |_| show_audit(id)>{move || ctx.t("routing_audit")}</button>
                                            </Show>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }
            }}
            {move || audit.get().map(|(id, a)| view! {
                <section class="audit" aria-label=move || ctx.t("routing_audit")>
                    <h2>{ctx.t("routing_audit")} " · " {id.to_string()}</h2>
                    <ol>{a.decisions.into_iter().map(|d| {
                        let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(d.decided_at as f64)).to_locale_time_string("default");
                        let who = d.agent_id.map(|id| ctx.sites.with(|s| s.as_ref().and_then(|s| s.agents.iter().find(|a| a.id == id).map(|a| a.display_name.clone()))).unwrap_or_else(|| id.to_string())).unwrap_or_else(|| ctx.t("queued").to_owned());
                        let candidates = d.candidates.iter().map(|c| format!("{}/{}{}", c.open_chats, c.max_chats, if c.sticky { " sticky" } else { "" })).collect::<Vec<_>>().join(", ");
                        view! { <li><strong>{String::from(when)}</strong> " " {who} " — " <code>{d.rule.as_str()}</code> " " <span class="last">{candidates}</span></li> }
                    }).collect_view()}</ol>
                </section>
            })}
        </main>
    }
}
