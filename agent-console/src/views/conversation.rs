//! One conversation: its history (paged back by sequence, only the newest lines rendered until
//! the agent asks for older ones), typing and the visitor's sneak peek, message states,
//! attachments, private notes, canned replies by `/shortcut`, transfer, close, urgent — and
//! beside it the visitor panel.

use bellhop_protocol::api::{AttachmentUploaded, TranscriptPage, VisitorProfile};
use bellhop_protocol::console::{NoteKind, NoteList, VisitorContext};
use bellhop_protocol::frames::{
    AgentFrame, AuthorKind, Conversation, ConversationStatus, Priority, TransferTarget,
};
use bellhop_protocol::{AgentId, ConversationId, DepartmentId, TransferNote};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api;
use crate::live;
use crate::model::{self, Chat, Line};
use crate::state::{Ctx, ctx};

/// Lines rendered at first; older ones on request.
const WINDOW: usize = 60;
/// Messages fetched per page of history.
const PAGE: u32 = 100;

/// The name the console shows for a chat's visitor.
pub fn visitor_name(chat: &Chat) -> String {
    chat.context
        .as_ref()
        .and_then(|c| c.name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| {
            let id = chat.conversation.visitor_id.to_string();
            format!("Visitor {}", &id[id.len().saturating_sub(4)..])
        })
}

/// Fetches what the socket does not bring: the visitor's context and the notes.
pub fn load_extras(ctx: Ctx, id: ConversationId) {
    leptos::task::spawn_local(async move {
        if let Ok(list) = api::get::<NoteList>(&format!("/api/v1/conversations/{id}/notes")).await {
            ctx.inbox.update(|i| {
                if let Some(chat) = i.chat_mut(id) {
                    for note in list.notes {
                        chat.add_note(note);
                    }
                }
            });
        }
        let context = match api::get::<VisitorContext>(&format!(
            "/api/v1/conversations/{id}/context"
        ))
        .await
        {
            Ok(context) => Some(context),
            // A server without the context route: the profile it has.
            Err(_) => api::get::<VisitorProfile>(&format!("/api/v1/conversations/{id}/visitor"))
                .await
                .ok()
                .map(|p| VisitorContext {
                    visitor_id: p.visitor_id,
                    name: p
                        .verified_attributes
                        .get("name")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                    email: None,
                    phone: None,
                    verified: p.user_id.is_some(),
                    user_id: p.user_id,
                    verified_attributes: p.verified_attributes,
                    page_attributes: p.page_attributes,
                    page: Default::default(),
                    utm: Default::default(),
                    user_agent: None,
                    time_zone: None,
                    past_conversations: Vec::new(),
                }),
        };
        if let Some(context) = context {
            ctx.inbox.update(|i| {
                if let Some(chat) = i.chat_mut(id) {
                    chat.context = Some(context);
                }
            });
        }
    });
}

/// Opens a conversation that is not one of the agent's (a queued one, a colleague's to
/// monitor, a past one): its newest page over REST, then the socket keeps it live.
pub fn open_other(ctx: Ctx, id: ConversationId) {
    leptos::task::spawn_local(async move {
        let conversation =
            match api::get::<Conversation>(&format!("/api/v1/conversations/{id}")).await {
                Ok(c) => c,
                Err(e) => {
                    ctx.say(e.message);
                    return;
                }
            };
        let page = api::get::<TranscriptPage>(&format!(
            "/api/v1/conversations/{id}/messages?before={}&limit={PAGE}",
            u64::MAX
        ))
        .await;
        let mut chat = Chat::new(conversation);
        if let Ok(page) = page {
            chat.older_before = page.prev_before;
            for message in page.messages {
                chat.add_message(message);
            }
        }
        let last = chat.last_seq();
        ctx.inbox.update(|i| {
            i.chats.entry(id).or_insert(chat);
        });
        live::loaded_up_to(id, last);
        live::watch(Some(id), last);
        load_extras(ctx, id);
    });
}

/// Fetches the page of history before the oldest message held.
fn load_older(ctx: Ctx, id: ConversationId) {
    let Some(before) = ctx.inbox.with_untracked(|i| {
        i.chats.get(&id).and_then(|c| {
            c.older_before
                .map(|_| c.messages.first().map_or(u64::MAX, |m| m.seq))
        })
    }) else {
        return;
    };
    leptos::task::spawn_local(async move {
        match api::get::<TranscriptPage>(&format!(
            "/api/v1/conversations/{id}/messages?before={before}&limit={PAGE}"
        ))
        .await
        {
            Ok(page) => ctx.inbox.update(|i| {
                if let Some(chat) = i.chat_mut(id) {
                    chat.add_older(page.messages, page.prev_before);
                }
            }),
            Err(e) => ctx.say(e.message),
        }
    });
}

pub fn focus_composer(id: ConversationId) {
    request_animation_frame(move || {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&format!("composer-{id}")))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}

fn time_of(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

#[component]
pub fn ConversationPane(id: ConversationId) -> impl IntoView {
    let ctx = ctx();
    // How many of the newest lines are rendered.
    let shown = RwSignal::new(WINDOW);
    let chat = move || ctx.inbox.with(|i| i.chats.get(&id).cloned());
    let state = Memo::new(move |_| {
        ctx.inbox.with(|i| {
            i.chats.get(&id).map(|c| {
                (
                    c.conversation.clone(),
                    i.is_mine(&c.conversation),
                    visitor_name(c),
                )
            })
        })
    });
    let mine = move || state.with(|s| s.as_ref().is_some_and(|s| s.1));
    let lines = Memo::new(move |_| {
        let n = shown.get();
        ctx.inbox.with(|i| {
            i.chats.get(&id).map(|c| {
                let from = c.messages.len().saturating_sub(n);
                let more = from > 0 || c.older_before.is_some();
                (c.timeline(from), more)
            })
        })
    });
    // Marks read what the agent sees: the chat is theirs, open and the page visible.
    Effect::new(move |_| {
        let visible = ctx.visible.get();
        let Some((last, read, mine)) = ctx.inbox.with(|i| {
            i.chats.get(&id).map(|c| {
                (
                    c.last_seq(),
                    c.conversation.agent_read_seq.max(c.read_sent),
                    i.is_mine(&c.conversation),
                )
            })
        }) else {
            return;
        };
        let shown = ctx.inbox.with(|i| i.active) == Some(id);
        if visible && shown && mine && last > read {
            ctx.inbox.update(|i| {
                if let Some(c) = i.chat_mut(id) {
                    c.read_sent = last;
                }
            });
            live::send_frame(AgentFrame::Read {
                conversation_id: id,
                seq: last,
            });
        }
    });
    let log_ref: NodeRef<html::Ol> = NodeRef::new();
    // New lines scroll the log to the end when it was there.
    Effect::new(move |_| {
        // A run already queued when the agent opened another chat finds this pane gone.
        if lines.try_with(|_| ()).is_none() {
            return;
        }
        if let Some(log) = log_ref.get_untracked() {
            let near_end = log.scroll_height() - log.scroll_top() - log.client_height() < 120;
            if near_end || log.scroll_top() == 0 {
                request_animation_frame(move || log.set_scroll_top(log.scroll_height()));
            }
        }
    });
    let older = move |_| {
        let have = ctx
            .inbox
            .with_untracked(|i| i.chats.get(&id).map_or(0, |c| c.messages.len()));
        if shown.get_untracked() >= have {
            load_older(ctx, id);
        }
        shown.update(|n| *n += WINDOW * 2);
    };
    let viewers = move || {
        let me = ctx.inbox.with(|i| i.me);
        ctx.inbox.with(|i| {
            i.chats
                .get(&id)
                .map(|c| {
                    c.viewers
                        .iter()
                        .filter(|v| Some(v.id) != me)
                        .map(|v| v.display_name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <section class="pane" aria-label=move || state.with(|s| s.as_ref().map(|s| s.2.clone()).unwrap_or_default())
            data-conversation=id.to_string()>
            <header class="pane-head">
                <h2>{move || state.with(|s| s.as_ref().map(|s| s.2.clone()).unwrap_or_default())}</h2>
                <span class="meta">{move || state.with(|s| s.as_ref().map(|s| {
                    let c = &s.0;
                    let status = match c.status {
                        ConversationStatus::Closed => ctx.t("closed").to_owned(),
                        ConversationStatus::Queued => ctx.t("queued").to_owned(),
                        ConversationStatus::Assigned => format!("{} {}", ctx.t("served_by"), c.agent.as_ref().map(|a| a.display_name.clone()).unwrap_or_default()),
                    };
                    let dept = ctx.department_name(c.department_id);
                    [ctx.site_name(c.site_id), dept, status].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")
                }).unwrap_or_default())}</span>
                <Show when=move || state.with(|s| s.as_ref().is_some_and(|s| s.0.priority == Priority::Urgent))>
                    <span class="tag urgent">{move || ctx.t("urgent")}</span>
                </Show>
                <Show when=mine>
                    <ChatActions id=id/>
                </Show>
            </header>
            <Show when=move || !viewers().is_empty()>
                <p class="viewers" role="status">{move || ctx.t("viewing")} " " {move || viewers().join(", ")}</p>
            </Show>
            <Show when=move || !mine() && state.with(|s| s.as_ref().is_some_and(|s| s.0.status == ConversationStatus::Assigned))>
                <p class="monitor" role="status">{move || ctx.t("monitoring")}</p>
            </Show>
            <ol class="log" node_ref=log_ref tabindex="0" aria-label="Messages" aria-live="polite">
                <Show when=move || lines.with(|l| l.as_ref().is_some_and(|l| l.1))>
                    <li class="older"><button class="link" on:click=older>{move || ctx.t("older")}</button></li>
                </Show>
                <For each=move || lines.get().map(|l| l.0).unwrap_or_default()
                    key=|line| line.key()
                    children=move |line| view! { <LineView id=id line=line/> }/>
                <For each=move || chat().map(|c| c.pending).unwrap_or_default()
                    key=|p| (p.client_id.clone(), p.failed.clone())
                    children=move |p| view! {
                        <li class="msg agent pending" class:failed=p.failed.is_some()>
                            <p class="body">{p.body.clone()}</p>
                            <span class="state">{match &p.failed { Some(why) => format!("{} — {why}", ctx.t("failed")), None => ctx.t("sending").to_owned() }}</span>
                        </li>
                    }/>
            </ol>
            <TypingAndPeek id=id/>
            <Composer id=id mine=Signal::derive(mine)/>
        </section>
        <VisitorPanel id=id/>
    }
}

#[component]
fn LineView(id: ConversationId, line: Line) -> impl IntoView {
    let ctx = ctx();
    match line {
        Line::Message(m) => {
            let class = match m.author {
                AuthorKind::Visitor => "msg visitor",
                AuthorKind::Agent => "msg agent",
                AuthorKind::System => "msg system",
            };
            let seq = m.seq;
            let agent = m.author == AuthorKind::Agent;
            let read = move || {
                ctx.inbox
                    .with(|i| i.chats.get(&id).is_some_and(|c| c.read_by_visitor(seq)))
            };
            let attachment = m.attachment.clone().map(|a| {
                let href = format!("/api/v1/attachments/{}", a.id);
                if a.is_image() {
                    view! {
                        <a class="file" href=href.clone() target="_blank" rel="noopener noreferrer">
                            <img src=href.clone() alt=a.name.clone() loading="lazy"/>
                        </a>
                    }
                    .into_any()
                } else {
                    view! {
                        <a class="file" href=href download=a.name.clone()>{format!("{} ({} KB)", a.name, a.size.div_ceil(1024))}</a>
                    }
                    .into_any()
                }
            });
            let has_attachment = attachment.is_some();
            view! {
                <li class=class data-seq=seq>
                    {m.author_name.clone().filter(|_| agent).map(|n| view! { <span class="author">{n}</span> })}
                    {(!has_attachment).then(|| view! { <p class="body">{m.body.clone()}</p> })}
                    {attachment}
                    <span class="state">
                        <time>{time_of(m.sent_at)}</time>
                        {agent.then(|| view! { " · " {move || if read() { ctx.t("read") } else { ctx.t("sent") }} })}
                    </span>
                </li>
            }
            .into_any()
        }
        Line::Note(n) => {
            let kind = match n.kind {
                NoteKind::Note => "note",
                NoteKind::Whisper => "whisper",
                NoteKind::Transfer => "transfer_note",
            };
            view! {
                <li class=format!("note {kind}")>
                    <span class="author">{move || ctx.t(kind)} " · " {n.author.display_name.clone()}</span>
                    <p class="body">{n.body.clone()}</p>
                    <span class="state"><time>{time_of(n.created_at)}</time></span>
                </li>
            }
            .into_any()
        }
    }
}

#[component]
fn TypingAndPeek(id: ConversationId) -> impl IntoView {
    let ctx = ctx();
    let typing = move || {
        ctx.inbox
            .with(|i| i.chats.get(&id).is_some_and(|c| c.visitor_typing))
    };
    let peek = move || {
        ctx.inbox
            .with(|i| i.chats.get(&id).map(|c| c.peek.clone()).unwrap_or_default())
    };
    view! {
        <div class="typing" aria-live="polite">
            <Show when=move || !peek().is_empty()>
                <p class="peek"><span class="label">{move || ctx.t("peek")}": "</span><span class="peek-text">{peek}</span></p>
            </Show>
            <Show when=move || typing() && peek().is_empty()>
                <p>{move || ctx.t("visitor")} " " {move || ctx.t("is_typing")}</p>
            </Show>
        </div>
    }
}

/// Close, urgent, transfer.
#[component]
fn ChatActions(id: ConversationId) -> impl IntoView {
    let ctx = ctx();
    let urgent = move || {
        ctx.inbox.with(|i| {
            i.chats
                .get(&id)
                .is_some_and(|c| c.conversation.priority == Priority::Urgent)
        })
    };
    let transferring = RwSignal::new(false);
    view! {
        <div class="actions">
            <button on:click=move |_| {
                let priority = if urgent() { Priority::Normal } else { Priority::Urgent };
                live::send_frame(AgentFrame::SetPriority { conversation_id: id, priority });
                // Shown at once; the server's `conversation_updated` confirms it.
                ctx.inbox.update(|i| if let Some(c) = i.chat_mut(id) { c.conversation.priority = priority; });
            }>
                {move || if urgent() { ctx.t("mark_normal") } else { ctx.t("mark_urgent") }}
            </button>
            <button on:click=move |_| transferring.update(|t| *t = !*t) aria-expanded=move || transferring.get().to_string()>
                {move || ctx.t("transfer")}
            </button>
            <button class="danger" on:click=move |_| live::send_frame(AgentFrame::Close { conversation_id: id })>
                {move || ctx.t("close_chat")}
            </button>
        </div>
        <Show when=move || transferring.get()>
            <TransferForm id=id done=transferring/>
        </Show>
    }
}

#[component]
fn TransferForm(id: ConversationId, done: RwSignal<bool>) -> impl IntoView {
    let ctx = ctx();
    let target = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let site = ctx
        .inbox
        .with_untracked(|i| i.chats.get(&id).map(|c| c.conversation.site_id));
    let options = move || {
        let me = ctx.inbox.with(|i| i.me);
        ctx.sites.with(|s| {
            let Some(s) = s.as_ref() else {
                return Vec::new();
            };
            let mut out: Vec<(String, String)> = s
                .agents
                .iter()
                .filter(|a| Some(a.id) != me && site.is_some_and(|site| a.sites.contains(&site)))
                .map(|a| {
                    let status = ctx.t(match a.status {
                        bellhop_protocol::frames::AgentStatus::Online => "online",
                        bellhop_protocol::frames::AgentStatus::Away => "away",
                        bellhop_protocol::frames::AgentStatus::Offline => "offline",
                    });
                    (
                        format!("agent:{}", a.id),
                        format!("{} ({status})", a.display_name),
                    )
                })
                .collect();
            for site_summary in s.sites.iter().filter(|x| Some(x.id) == site) {
                for d in &site_summary.departments {
                    out.push((
                        format!("department:{}", d.id),
                        format!("{}: {}", ctx.t("department"), d.name),
                    ));
                }
            }
            out
        })
    };
    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let value = target.get_untracked();
        let to = if let Some(agent) = value.strip_prefix("agent:") {
            agent
                .parse::<AgentId>()
                .ok()
                .map(|agent_id| TransferTarget::Agent { agent_id })
        } else if let Some(dept) = value.strip_prefix("department:") {
            dept.parse::<DepartmentId>()
                .ok()
                .map(|department_id| TransferTarget::Department { department_id })
        } else {
            None
        };
        let Some(to) = to else { return };
        let note = match TransferNote::parse_optional(note.get_untracked()) {
            Ok(note) => note.map(String::from),
            Err(e) => {
                ctx.say(e.to_string());
                return;
            }
        };
        live::send_frame(AgentFrame::Transfer {
            conversation_id: id,
            to,
            note,
        });
        done.set(false);
    };
    view! {
        <form class="transfer" on:submit=submit>
            <label>{move || ctx.t("transfer_to")}
                <select required on:change=move |e| target.set(event_target_value(&e)) prop:value=move || target.get()>
                    <option value="">"—"</option>
                    {move || options().into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
            </label>
            <label>{move || ctx.t("transfer_hint")}
                <textarea rows="2" prop:value=move || note.get() on:input=move |e| note.set(event_target_value(&e))></textarea>
            </label>
            <button type="submit">{move || ctx.t("transfer")}</button>
            <button type="button" class="link" on:click=move |_| done.set(false)>{move || ctx.t("cancel")}</button>
        </form>
    }
}

/// The message box: replies (or notes) with `/` completion of canned replies, Enter to send,
/// files by the attach button.
#[component]
fn Composer(id: ConversationId, mine: Signal<bool>) -> impl IntoView {
    let ctx = ctx();
    let draft = RwSignal::new(String::new());
    let note_mode = RwSignal::new(false);
    let selected = RwSignal::new(0usize);
    let typing_sent = RwSignal::new(false);
    let department = ctx
        .inbox
        .with_untracked(|i| i.chats.get(&id).and_then(|c| c.conversation.department_id));
    let site = ctx
        .inbox
        .with_untracked(|i| i.chats.get(&id).map(|c| c.conversation.site_id));
    let suggestions = Memo::new(move |_| {
        let text = draft.get();
        ctx.canned.with(|all| {
            let usable: Vec<_> = all
                .iter()
                .filter(|r| {
                    Some(r.site_id) == site
                        && (r.department_id.is_none() || r.department_id == department)
                })
                .cloned()
                .collect();
            model::completions(&text, &usable)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    // Staff who do not serve the chat write whispers; nobody else writes in it.
    let can_write = move || mine.get() || ctx.is_staff();
    let notes_only = move || !mine.get();
    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let result = if note_mode.get_untracked() || notes_only() {
            live::send_note(id, text.trim())
        } else {
            live::send_message(id, &text)
        };
        match result {
            Ok(()) => {
                draft.set(String::new());
                if typing_sent.get_untracked() {
                    typing_sent.set(false);
                    live::send_frame(AgentFrame::Typing {
                        conversation_id: id,
                        typing: false,
                    });
                }
            }
            Err(e) => ctx.say(e),
        }
    };
    let insert = move |index: usize| {
        if let Some(reply) = suggestions.with_untracked(|s| s.get(index).cloned()) {
            draft.set(reply.body);
            selected.set(0);
        }
    };
    let keydown = move |e: ev::KeyboardEvent| {
        let open = suggestions.with_untracked(|s| s.len());
        match e.key().as_str() {
            "ArrowDown" if open > 0 => {
                e.prevent_default();
                selected.update(|s| *s = (*s + 1) % open);
            }
            "ArrowUp" if open > 0 => {
                e.prevent_default();
                selected.update(|s| *s = (*s + open - 1) % open);
            }
            "Tab" | "Enter" if open > 0 && !e.shift_key() => {
                e.prevent_default();
                insert(selected.get_untracked().min(open - 1));
            }
            "Escape" if open > 0 => draft.set(String::new()),
            "Enter" if !e.shift_key() && !e.alt_key() => {
                e.prevent_default();
                send();
            }
            _ => {}
        }
    };
    let input = move |e: ev::Event| {
        let value = event_target_value(&e);
        let typing = !value.trim().is_empty() && !value.starts_with('/');
        draft.set(value);
        selected.set(0);
        if mine.get_untracked()
            && !note_mode.get_untracked()
            && typing != typing_sent.get_untracked()
        {
            typing_sent.set(typing);
            live::send_frame(AgentFrame::Typing {
                conversation_id: id,
                typing,
            });
        }
    };
    let file_ref: NodeRef<html::Input> = NodeRef::new();
    let upload = move |_| {
        let Some(input) = file_ref.get_untracked() else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        let name = file.name();
        let client_id = format!("f-{}", js_sys::Date::now() as u64);
        leptos::task::spawn_local(async move {
            let path = format!(
                "/api/v1/conversations/{id}/attachments?client_id={client_id}&name={}",
                api::enc(&name)
            );
            if let Err(e) = api::upload::<AttachmentUploaded>(&path, &file).await {
                ctx.say(e.message);
            }
        });
    };
    view! {
        <Show when=can_write>
            <div class="composer" class:note-mode=move || note_mode.get() || notes_only()>
                <Show when=move || mine.get()>
                    <div class="modes" role="radiogroup" aria-label="Mode">
                        <button role="radio" aria-checked=move || (!note_mode.get()).to_string() on:click=move |_| note_mode.set(false)>{move || ctx.t("reply_mode")}</button>
                        <button role="radio" aria-checked=move || note_mode.get().to_string() on:click=move |_| note_mode.set(true)>{move || ctx.t("note_mode")}</button>
                    </div>
                </Show>
                <Show when=move || !suggestions.with(Vec::is_empty)>
                    <ul class="suggestions" role="listbox" aria-label=move || ctx.t("canned")>
                        {move || suggestions.get().into_iter().enumerate().map(|(i, r)| view! {
                            <li role="option" aria-selected=move || (selected.get() == i).to_string()
                                on:mousedown=move |e| { e.prevent_default(); insert(i); }>
                                <strong>"/" {r.shortcut.clone()}</strong> " " {model::preview(&r.body, 80)}
                            </li>
                        }).collect_view()}
                    </ul>
                </Show>
                <textarea id=format!("composer-{id}") rows="3"
                    aria-label=move || if note_mode.get() || notes_only() { if mine.get() { ctx.t("type_note") } else { ctx.t("whisper_to_agent") } } else { ctx.t("type_reply") }
                    placeholder=move || if note_mode.get() || notes_only() { if mine.get() { ctx.t("type_note") } else { ctx.t("whisper_to_agent") } } else { ctx.t("type_reply") }
                    prop:value=move || draft.get()
                    on:input=input on:keydown=keydown></textarea>
                <div class="composer-buttons">
                    <Show when=move || mine.get()>
                        <label class="attach">
                            <span class="sr-only">{move || ctx.t("attach")}</span>
                            <svg aria-hidden="true" width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"><path d="M21 11.5l-8.5 8.5a5 5 0 0 1-7-7l9-9a3.5 3.5 0 0 1 5 5l-9 9a2 2 0 0 1-3-3l8-8"/></svg>
                            <input type="file" node_ref=file_ref on:change=upload aria-label=move || ctx.t("attach")/>
                        </label>
                    </Show>
                    <button class="primary" on:click=move |_| send()>
                        {move || if note_mode.get() || notes_only() { ctx.t("add_note") } else { ctx.t("send") }}
                    </button>
                </div>
            </div>
        </Show>
    }
}

/// Who the visitor is and where they are.
#[component]
fn VisitorPanel(id: ConversationId) -> impl IntoView {
    let ctx = ctx();
    let context = move || {
        ctx.inbox
            .with(|i| i.chats.get(&id).and_then(|c| c.context.clone()))
    };
    let row = move |label: &'static str, value: Option<String>| {
        value.filter(|v| !v.is_empty()).map(|v| {
            view! { <dt>{move || ctx.t(label)}</dt><dd>{v}</dd> }
        })
    };
    view! {
        <aside class="visitor" aria-label=move || ctx.t("visitor")>
            {move || match context() {
                None => view! { <p class="empty">{move || ctx.t("loading")}</p> }.into_any(),
                Some(c) => {
                    let local = c.time_zone.as_ref().and_then(|tz| local_time(tz, ctx.now.get()));
                    let utm = [c.utm.source.clone(), c.utm.medium.clone(), c.utm.campaign.clone()]
                        .into_iter().flatten().collect::<Vec<_>>().join(" / ");
                    let attrs: Vec<(String, String)> = c.verified_attributes.iter().map(|(k, v)| (k.clone(), format!("{} ✓", plain(v))))
                        .chain(c.page_attributes.iter().map(|(k, v)| (k.clone(), plain(v))))
                        .collect();
                    view! {
                        <h3>{c.name.clone().unwrap_or_else(|| ctx.t("visitor").to_owned())}</h3>
                        <p class=if c.verified { "verified" } else { "unverified" }>
                            {if c.verified { ctx.t("verified") } else { ctx.t("not_verified") }}
                        </p>
                        <dl>
                            {row("email", c.email.clone())}
                            {row("phone", c.phone.clone())}
                            {row("current_page", c.page.current_page.clone())}
                            {row("landing_page", c.page.landing_page.clone())}
                            {row("referrer", c.page.referrer.clone())}
                            {row("utm", Some(utm))}
                            {row("browser", c.user_agent.as_deref().map(browser_name))}
                            {row("local_time", local)}
                        </dl>
                        {(!attrs.is_empty()).then(|| view! {
                            <h4>{move || ctx.t("attributes")}</h4>
                            <dl class="attrs">{attrs.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}</dl>
                        })}
                        <h4>{move || ctx.t("past_chats")}</h4>
                        {if c.past_conversations.is_empty() {
                            view! { <p class="empty">{move || ctx.t("none")}</p> }.into_any()
                        } else {
                            view! {
                                <ul class="past">
                                    {c.past_conversations.iter().map(|p| {
                                        let pid = p.id;
                                        let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(p.created_at as f64)).to_locale_date_string("default", &wasm_bindgen::JsValue::UNDEFINED);
                                        let who = p.agent.as_ref().map(|a| a.display_name.clone()).unwrap_or_default();
                                        let rating = p.rating.as_ref().map(|r| format!(" · {}★", r.score)).unwrap_or_default();
                                        let missed = if p.missed { format!(" · {}", ctx.t("missed")) } else { String::new() };
                                        view! {
                                            <li><a href="#/inbox" on:click=move |e| { e.prevent_default(); crate::views::inbox::open(ctx, pid); }>
                                                {format!("{} {who}{rating}{missed}", String::from(when))}
                                            </a></li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    }.into_any()
                }
            }}
        </aside>
    }
}

fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// "Chrome 131 on Windows" from a User-Agent header, roughly.
pub fn browser_name(ua: &str) -> String {
    let browser = ["Edg/", "OPR/", "Firefox/", "Chrome/", "Version/"]
        .iter()
        .find_map(|marker| {
            ua.find(marker).map(|at| {
                let version: String = ua[at + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let name = match *marker {
                    "Edg/" => "Edge",
                    "OPR/" => "Opera",
                    "Firefox/" => "Firefox",
                    "Chrome/" => "Chrome",
                    _ => "Safari",
                };
                format!("{name} {version}")
            })
        })
        .unwrap_or_else(|| model::preview(ua, 40));
    let os = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(m, _)| ua.contains(m))
    .map(|(_, os)| format!(" on {os}"))
    .unwrap_or_default();
    browser + &os
}

/// The time now in an IANA zone, as the browser formats it.
fn local_time(zone: &str, now: i64) -> Option<String> {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"timeZone".into(), &zone.into()).ok()?;
    js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into()).ok()?;
    js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into()).ok()?;
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::of1(&"en-GB".into()), &options);
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(now as f64));
    let text = format
        .format()
        .call1(&wasm_bindgen::JsValue::NULL, &date)
        .ok()?
        .as_string()?;
    Some(format!("{text} ({zone})"))
}
