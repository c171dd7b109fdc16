//! The inbox: every open chat of the agent at once (visitor, current page, last message,
//! waiting time, unread count), the one open beside it, and the keyboard to move between them
//! (Alt+↑/↓, Alt+1..9).

use bellhop_protocol::ConversationId;
use bellhop_protocol::frames::AuthorKind;
use leptos::ev;
use leptos::prelude::*;

use crate::model::{self, Chat};
use crate::state::{Ctx, Route, ctx};
use crate::views::conversation::{self, ConversationPane};

/// What the list shows of one chat.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Row {
    id: ConversationId,
    name: String,
    page: String,
    last: String,
    unread: usize,
    waiting_ms: Option<i64>,
    overdue: bool,
    urgent: bool,
}

fn row(chat: &Chat, overdue: bool, now: i64) -> Row {
    // The last word of the visitor or an agent (not the server's notices).
    let last = chat
        .messages
        .iter()
        .rev()
        .find(|m| m.author != AuthorKind::System)
        .map(|m| {
            let text = match &m.attachment {
                Some(a) => format!("{}: {}", crate::state::ctx().t("file"), a.name),
                None => m.body.clone(),
            };
            let prefix = if m.author == AuthorKind::Agent {
                "↩ "
            } else {
                ""
            };
            format!("{prefix}{}", model::preview(&text, 60))
        })
        .unwrap_or_default();
    Row {
        id: chat.id(),
        name: conversation::visitor_name(chat),
        page: chat
            .context
            .as_ref()
            .and_then(|c| c.page.current_page.clone())
            .map(|p| short_url(&p))
            .unwrap_or_default(),
        last,
        unread: chat.unread(),
        waiting_ms: chat.waiting_since().map(|since| now - since),
        overdue,
        urgent: chat.conversation.priority == bellhop_protocol::frames::Priority::Urgent,
    }
}

/// A URL without its scheme, for a narrow column.
pub fn short_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    model::preview(rest, 48)
}

#[component]
pub fn InboxView() -> impl IntoView {
    let ctx = ctx();
    let rows = Memo::new(move |_| {
        let now = ctx.now.get();
        ctx.inbox.with(|inbox| {
            inbox
                .order(now)
                .into_iter()
                .filter_map(|id| inbox.chats.get(&id))
                .map(|chat| row(chat, inbox.overdue(chat, now), now))
                .collect::<Vec<_>>()
        })
    });
    let active = Memo::new(move |_| ctx.inbox.with(|i| i.active));
    view! {
        <main class="inbox">
            <section class="list" aria-labelledby="my-chats">
                <h2 id="my-chats">{move || ctx.t("my_chats")}</h2>
                <Show when=move || rows.with(Vec::is_empty)>
                    <p class="empty">{move || ctx.t("no_chats")}</p>
                </Show>
                <ol role="list">
                    <For each=move || rows.get().into_iter().enumerate()
                        key=|(i, r)| (*i, r.clone())
                        children=move |(i, r)| {
                            let id = r.id;
                            let active = move || ctx.inbox.with(|inbox| inbox.active == Some(id));
                            let label = format!("{}{}", r.name, if r.unread > 0 { format!(", {} {}", r.unread, ctx.t("unread")) } else { String::new() });
                            view! {
                                <li class="chat-row" class:active=active class:overdue=r.overdue class:urgent=r.urgent data-conversation=id.to_string()>
                                    <button on:click=move |_| open(ctx, id) aria-label=label
                                        aria-current=move || active().then_some("true")
                                        title=if i < 9 { format!("Alt+{}", i + 1) } else { String::new() }>
                                        <span class="row-top">
                                            <span class="name">{r.name.clone()}</span>
                                            {(r.unread > 0).then(|| view! { <span class="badge unread">{r.unread}</span> })}
                                        </span>
                                        <span class="page">{r.page.clone()}</span>
                                        <span class="last">{r.last.clone()}</span>
                                        {r.waiting_ms.map(|ms| view! {
                                            <span class="wait" class:late=r.overdue>
                                                {if r.overdue { ctx.t("overdue") } else { ctx.t("waiting") }}
                                                " " {model::clock(ms)}
                                            </span>
                                        })}
                                    </button>
                                </li>
                            }
                        }/>
                </ol>
            </section>
            // Every open chat keeps its pane (its draft, its scroll); only the active one shows.
            <For each=move || ctx.inbox.with(|i| i.chats.keys().copied().collect::<Vec<_>>())
                key=|id| *id
                children=move |id| view! {
                    <div class="pane-wrap" class:hidden=move || active.get() != Some(id)>
                        <ConversationPane id=id/>
                    </div>
                }/>
            <Show when=move || active.get().is_none()>
                <section class="pane empty-pane"><p>{move || ctx.t("pick_chat")}</p></section>
            </Show>
        </main>
    }
}

/// Shows a chat in the inbox: it becomes the active one and the server is told this console
/// looks at it.
pub fn open(ctx: Ctx, id: ConversationId) {
    if ctx.route.get_untracked() != Route::Inbox
        && let Some(w) = web_sys::window()
    {
        let _ = w.location().set_hash("#/inbox");
    }
    let known = ctx.inbox.with_untracked(|i| i.chats.contains_key(&id));
    ctx.inbox.update(|i| i.active = Some(id));
    if known {
        let after = ctx
            .inbox
            .with_untracked(|i| i.chats.get(&id).map_or(0, Chat::last_seq));
        crate::live::watch(Some(id), after);
    } else {
        conversation::open_other(ctx, id);
    }
}

/// Alt+↑ / Alt+↓ to the previous or next chat, Alt+1..9 to the chat at that place.
pub fn keyboard(ctx: Ctx) {
    let handle = window_event_listener(ev::keydown, move |e: ev::KeyboardEvent| {
        if !e.alt_key() || e.ctrl_key() || e.meta_key() {
            return;
        }
        let now = ctx.now.get_untracked();
        let target = match e.key().as_str() {
            "ArrowUp" => ctx.inbox.with_untracked(|i| i.neighbour(now, -1)),
            "ArrowDown" => ctx.inbox.with_untracked(|i| i.neighbour(now, 1)),
            key => match key.parse::<usize>() {
                Ok(n @ 1..=9) => ctx.inbox.with_untracked(|i| i.nth(now, n)),
                _ => {
                    // Alt+digit on layouts where the key is another character.
                    let code = e.code();
                    match code
                        .strip_prefix("Digit")
                        .and_then(|d| d.parse::<usize>().ok())
                    {
                        Some(n @ 1..=9) => ctx.inbox.with_untracked(|i| i.nth(now, n)),
                        _ => return,
                    }
                }
            },
        };
        if let Some(id) = target {
            e.prevent_default();
            open(ctx, id);
            conversation::focus_composer(id);
        }
    });
    std::mem::forget(handle);
}
