//! The queue view: the waiting chats of the agent's sites, live (the server pushes the `queue`
//! feed while this view is open), with their place, department and wait; agents who may pick
//! take one. A pick is an assignment the server checks (cap, still waiting).

use bellhop_protocol::console::Feed;
use bellhop_protocol::frames::{AgentFrame, Priority};
use leptos::prelude::*;

use crate::live;
use crate::model;
use crate::state::ctx;

#[component]
pub fn QueueView() -> impl IntoView {
    let ctx = ctx();
    live::subscribe(Feed::Queue, true);
    on_cleanup(|| live::subscribe(Feed::Queue, false));
    let may_pick = move || ctx.me.with(|m| m.as_ref().is_some_and(|m| m.may_pick));
    view! {
        <main class="page queue">
            <h1>{move || ctx.t("queue_title")}</h1>
            <Show when=move || ctx.queue.with(Vec::is_empty)>
                <p class="empty">{move || ctx.t("queue_empty")}</p>
            </Show>
            <Show when=move || !ctx.queue.with(Vec::is_empty)>
                <table>
                    <thead><tr>
                        <th scope="col">{move || ctx.t("position")}</th>
                        <th scope="col">{move || ctx.t("visitor")}</th>
                        <th scope="col">{move || ctx.t("site")}</th>
                        <th scope="col">{move || ctx.t("department")}</th>
                        <th scope="col">{move || ctx.t("wait")}</th>
                        <th scope="col"><span class="sr-only">{move || ctx.t("pick")}</span></th>
                    </tr></thead>
                    <tbody>
                        <For each=move || ctx.queue.get() key=|e| (e.conversation_id, e.position, e.priority)
                            children=move |e| {
                                let id = e.conversation_id;
                                let since = e.waiting_since;
                                let name = e.visitor_name.clone().unwrap_or_else(|| ctx.t("visitor").to_owned());
                                view! {
                                    <tr class:urgent=e.priority == Priority::Urgent data-conversation=id.to_string()>
                                        <td>{e.position}</td>
                                        <td><strong>{name.clone()}</strong><br/><span class="last">{e.preview.clone().map(|p| model::preview(&p, 80)).unwrap_or_default()}</span></td>
                                        <td>{ctx.site_name(e.site_id)}</td>
                                        <td>{ctx.department_name(e.department_id)}</td>
                                        <td>{move || model::clock(ctx.now.get() - since)}</td>
                                        <td>
                                            <Show when=may_pick>
                                                <button class="primary" aria-label=format!("{} {name}", ctx.t("pick"))
                                                    on:click=move |_| live::send_frame(AgentFrame::Pick { conversation_id: id })>
                                                    {move || ctx.t("pick")}
                                                </button>
                                            </Show>
                                        </td>
                                    </tr>
                                }
                            }/>
                    </tbody>
                </table>
            </Show>
        </main>
    }
}
