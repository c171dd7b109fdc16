//! The supervisor's wallboard, live: queue depth and the longest wait per department, agents
//! with their status and load against their cap, and today's chats, missed chats and mean
//! first response per site. The server pushes the board as it changes (the `wallboard`
//! feed); this view only subscribes while it is open.

use bellhop_protocol::console::Feed;
use bellhop_protocol::frames::AgentStatus;
use leptos::prelude::*;

use crate::live;
use crate::model;
use crate::state::ctx;

#[component]
pub fn WallboardView() -> impl IntoView {
    let ctx = ctx();
    live::subscribe(Feed::Wallboard, true);
    on_cleanup(|| live::subscribe(Feed::Wallboard, false));
    let board = move || ctx.board.get();
    view! {
        <main class="page wallboard">
            <h1>{move || ctx.t("nav_wallboard")}</h1>
            {move || match board() {
                None => view! { <p class="empty">{move || ctx.t("loading")}</p> }.into_any(),
                Some(b) => {
                    let now = ctx.now.get();
                    let queued: u32 = b.departments.iter().map(|d| d.queued).sum();
                    let longest = b.departments.iter().filter_map(|d| d.longest_waiting_since).min();
                    let online = b.agents.iter().filter(|a| a.status == AgentStatus::Online).count();
                    view! {
                        <div class="cards">
                            <div class="card" data-figure="queued"><div class="figure">{queued}</div><div class="label">{ctx.t("queued_count")}</div></div>
                            <div class="card" data-figure="longest"><div class="figure">{longest.map(|s| model::clock(now - s)).unwrap_or_else(|| "—".into())}</div><div class="label">{ctx.t("longest_wait")}</div></div>
                            <div class="card" data-figure="online"><div class="figure">{online}</div><div class="label">{ctx.t("agents_online")}</div></div>
                            {b.sites.iter().map(|s| view! {
                                <div class="card" data-site=s.site_id.to_string()>
                                    <div class="label">{format!("{} · {} {}", s.name, ctx.t("today"), s.date)}</div>
                                    <div class="figure">{s.chats}</div>
                                    <div class="label">{format!("{}: {} · {}: {}", ctx.t("missed"), s.missed, ctx.t("avg_first_response"), s.avg_first_response_ms.map(|ms| model::clock(ms as i64)).unwrap_or_else(|| "—".into()))}</div>
                                </div>
                            }).collect_view()}
                        </div>
                        <h2>{ctx.t("nav_queue")}</h2>
                        <table class="departments">
                            <thead><tr>
                                <th scope="col">{ctx.t("site")}</th><th scope="col">{ctx.t("department")}</th>
                                <th scope="col" class="num">{ctx.t("queued_count")}</th><th scope="col" class="num">{ctx.t("longest_wait")}</th>
                                <th scope="col" class="num">{ctx.t("agents_online")}</th>
                            </tr></thead>
                            <tbody>{b.departments.iter().map(|d| view! {
                                <tr data-department=d.department_id.to_string()>
                                    <td>{ctx.site_name(d.site_id)}</td><td>{d.name.clone()}</td>
                                    <td class="num queued">{d.queued}</td>
                                    <td class="num">{d.longest_waiting_since.map(|s| model::clock(now - s)).unwrap_or_else(|| "—".into())}</td>
                                    <td class="num">{d.agents_online}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                        <h2>{ctx.t("agents")}</h2>
                        <table class="agents">
                            <thead><tr>
                                <th scope="col">{ctx.t("agent")}</th><th scope="col">{ctx.t("status")}</th>
                                <th scope="col">{ctx.t("load")}</th>
                            </tr></thead>
                            <tbody>{b.agents.iter().map(|a| {
                                let status = match a.status { AgentStatus::Online => "online", AgentStatus::Away => "away", AgentStatus::Offline => "offline" };
                                let pct = (a.open_chats * 100).checked_div(a.max_chats).unwrap_or(0);
                                view! {
                                    <tr data-agent=a.agent.id.to_string()>
                                        <td>{a.agent.display_name.clone()}</td>
                                        <td><span class="status-word" data-status=status>{ctx.t(status)}</span></td>
                                        <td class="load">
                                            <span class="bar" class:full={a.open_chats >= a.max_chats} role="img"
                                                aria-label=format!("{} / {}", a.open_chats, a.max_chats)>
                                                <span style:width=format!("{}%", pct.min(100))></span>
                                            </span>
                                            " " <span class="load-figure">{format!("{} / {}", a.open_chats, a.max_chats)}</span>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }
            }}
        </main>
    }
}
