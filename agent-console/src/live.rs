//! The agent socket, driven by the client core: the core owns delivery (resume points, the
//! outbox of unconfirmed sends, de-duplication, reconnect backoff); this module opens and
//! closes the socket the core asks for, feeds it what arrives, and turns what the core returns
//! into changes of the shared state.
//!
//! What the core does not keep, because it is the console's own, is re-sent after every
//! `welcome`: the conversation this console watches, its feeds, and notes not yet answered.

use std::cell::RefCell;

use bellhop_client::{Action, ClientCore, ClientFrame, Config, Credentials, Draft, Event, State};
use bellhop_protocol::console::{Feed, Note};
use bellhop_protocol::frames::{AgentFrame, AgentStatus, AuthorKind, ServerFrame};
use bellhop_protocol::{ClientMessageId, ConversationId, ErrorCode, MessageBody, close_code};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::alerts;
use crate::model::{Chat, Pending};
use crate::state::{Conn, Ctx};

struct Driver {
    ctx: Ctx,
    core: ClientCore,
    ws: Option<WebSocket>,
    callbacks: Vec<Closure<dyn FnMut(wasm_bindgen::JsValue)>>,
    /// The previous socket's callbacks: one of them may be running when a new socket opens.
    old_callbacks: Vec<Closure<dyn FnMut(wasm_bindgen::JsValue)>>,
    watching: Option<ConversationId>,
    feeds: Vec<Feed>,
    /// Notes sent and not yet answered by `note_added`, re-sent after a reconnect.
    notes: Vec<AgentFrame>,
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

/// Opens the agent socket (the session cookie authenticates it).
pub fn start(ctx: Ctx) {
    let seed = (js_sys::Math::random() * 9.0e15) as u64;
    let core = ClientCore::new(Credentials::Agent { token: None }, Config::default(), seed);
    DRIVER.with(|d| {
        *d.borrow_mut() = Some(Driver {
            ctx,
            core,
            ws: None,
            callbacks: Vec::new(),
            old_callbacks: Vec::new(),
            watching: None,
            feeds: Vec::new(),
            notes: Vec::new(),
        })
    });
    let actions = with_core(|core| core.connect());
    run(actions);
    // The core's timers: reconnect delays and stall detection.
    set_interval(
        || {
            let actions = with_core(|core| core.handle(Event::Tick { now: crate::now() }));
            run(actions);
        },
        std::time::Duration::from_millis(500),
    );
}

/// Closes the socket for good (sign out, or the agent chose offline).
pub fn stop() {
    let actions = with_core(|core| core.disconnect());
    run(actions);
}

/// Reconnects after [`stop`].
pub fn resume() {
    let actions = with_core(|core| core.connect());
    run(actions);
}

fn with_core(f: impl FnOnce(&mut ClientCore) -> Vec<Action>) -> Vec<Action> {
    DRIVER.with(|d| {
        d.borrow_mut()
            .as_mut()
            .map(|d| f(&mut d.core))
            .unwrap_or_default()
    })
}

fn ctx() -> Option<Ctx> {
    DRIVER.with(|d| d.borrow().as_ref().map(|d| d.ctx))
}

/// Sends a message into a chat; it shows as pending until the server confirms it.
pub fn send_message(conversation_id: ConversationId, text: &str) -> Result<(), String> {
    let body = MessageBody::parse(text.to_owned()).map_err(|e| format!("The message {e}."))?;
    let draft = Draft::new(body).to(conversation_id);
    let result = DRIVER.with(|d| {
        d.borrow_mut()
            .as_mut()
            .map(|d| d.core.send(draft, crate::now()).map_err(|e| e.to_string()))
    });
    match result {
        Some(Ok((client_id, actions))) => {
            if let Some(ctx) = ctx() {
                ctx.inbox.update(|inbox| {
                    if let Some(chat) = inbox.chat_mut(conversation_id) {
                        chat.pending.push(Pending {
                            client_id: client_id.as_str().to_owned(),
                            body: text.to_owned(),
                            failed: None,
                        });
                    }
                });
            }
            run(actions);
            Ok(())
        }
        Some(Err(e)) => Err(e),
        None => Err("not connected".into()),
    }
}

/// Writes a private note (a whisper when this agent does not serve the chat).
pub fn send_note(conversation_id: ConversationId, text: &str) -> Result<(), String> {
    let body = MessageBody::parse(text.to_owned()).map_err(|e| format!("The note {e}."))?;
    let client_id =
        ClientMessageId::parse(format!("n-{}", uuid_v4())).map_err(|e| format!("client id {e}"))?;
    let frame = AgentFrame::Note {
        client_id,
        conversation_id,
        body,
    };
    DRIVER.with(|d| {
        if let Some(d) = d.borrow_mut().as_mut() {
            d.notes.push(frame.clone());
        }
    });
    send_frame(frame);
    Ok(())
}

/// Sends a frame now if the socket is live (typing, read marks, status, transfers…); frames
/// that must survive a reconnect are kept by their callers.
pub fn send_frame(frame: AgentFrame) {
    let Ok(json) = ClientFrame::Agent(frame).to_json() else {
        return;
    };
    DRIVER.with(|d| {
        if let Some(d) = d.borrow().as_ref()
            && d.core.state() == &State::Live
            && let Some(ws) = &d.ws
        {
            let _ = ws.send_with_str(&json);
        }
    });
}

/// Shows `conversation` (or nothing): the server sends what it misses after `after_seq` and
/// keeps it up to date, and tells the others who is looking.
pub fn watch(conversation_id: Option<ConversationId>, after_seq: u64) {
    DRIVER.with(|d| {
        if let Some(d) = d.borrow_mut().as_mut() {
            d.watching = conversation_id;
        }
    });
    send_frame(AgentFrame::Watch {
        conversation_id,
        after_seq,
    });
}

pub fn subscribe(feed: Feed, on: bool) {
    DRIVER.with(|d| {
        if let Some(d) = d.borrow_mut().as_mut() {
            d.feeds.retain(|f| *f != feed);
            if on {
                d.feeds.push(feed);
            }
        }
    });
    send_frame(if on {
        AgentFrame::Subscribe { feed }
    } else {
        AgentFrame::Unsubscribe { feed }
    });
}

pub fn set_status(status: AgentStatus) {
    send_frame(AgentFrame::SetStatus { status });
}

/// The client core holds everything of this conversation up to `seq` already (a transcript
/// page), so live messages continue from there.
pub fn loaded_up_to(conversation_id: ConversationId, seq: u64) {
    DRIVER.with(|d| {
        if let Some(d) = d.borrow_mut().as_mut() {
            d.core.start_from(conversation_id, seq);
        }
    });
}

fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    for b in &mut bytes {
        *b = (js_sys::Math::random() * 256.0) as u8;
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn run(actions: Vec<Action>) {
    for action in actions {
        match action {
            Action::Connect => open(),
            Action::Disconnect => {
                let ws = DRIVER.with(|d| d.borrow_mut().as_mut().and_then(|d| d.ws.take()));
                if let Some(ws) = ws {
                    ws.set_onclose(None);
                    let _ = ws.close();
                }
                let actions = with_core(|core| {
                    core.handle(Event::Closed {
                        code: None,
                        now: crate::now(),
                    })
                });
                run(actions);
            }
            Action::Send(frame) => {
                if let Ok(json) = frame.to_json() {
                    DRIVER.with(|d| {
                        if let Some(ws) = d.borrow().as_ref().and_then(|d| d.ws.as_ref()) {
                            let _ = ws.send_with_str(&json);
                        }
                    });
                }
            }
            Action::Show(message) => {
                let Some(ctx) = ctx() else { continue };
                let from_visitor = message.author == AuthorKind::Visitor;
                let id = message.conversation_id;
                let body = message.body.clone();
                ctx.inbox.update(|inbox| {
                    if let Some(chat) = inbox.chat_mut(id) {
                        if from_visitor {
                            chat.visitor_typing = false;
                            chat.peek.clear();
                        }
                        chat.add_message(message);
                    }
                });
                if from_visitor {
                    alerts::new_message(ctx, id, &body);
                }
            }
            Action::Confirmed { .. } | Action::Duplicate { .. } | Action::Gap { .. } => {}
            Action::Refused { send, message, .. } => {
                let Some(ctx) = ctx() else { continue };
                let conversation = send.conversation_id;
                ctx.inbox.update(|inbox| {
                    if let Some(chat) = conversation.and_then(|c| inbox.chat_mut(c))
                        && let Some(p) = chat
                            .pending
                            .iter_mut()
                            .find(|p| p.client_id == send.client_id.as_str())
                    {
                        p.failed = Some(message.clone());
                    }
                });
            }
            Action::Frame(frame) => on_frame(frame),
            Action::State(state) => {
                let Some(ctx) = ctx() else { continue };
                ctx.conn.set(match state {
                    State::Live => Conn::Live,
                    State::NeedsCredentials => Conn::Ended,
                    State::Idle => Conn::Off,
                    State::Connecting | State::Handshaking => Conn::Connecting,
                    State::Waiting { .. } | State::Stopped(_) => Conn::Reconnecting,
                });
                if state != State::Live {
                    ctx.status.set(AgentStatus::Offline);
                }
            }
        }
    }
}

fn on_frame(frame: ServerFrame) {
    let Some(ctx) = ctx() else { return };
    match frame {
        ServerFrame::Welcome {
            identity,
            conversations,
            ..
        } => {
            if let bellhop_protocol::frames::Identity::Agent { agent_id, .. } = identity {
                ctx.inbox.update(|inbox| inbox.me = Some(agent_id));
            }
            ctx.status.set(AgentStatus::Online);
            let ids: Vec<ConversationId> = conversations.iter().map(|c| c.id).collect();
            ctx.inbox.update(|inbox| {
                // Chats the server no longer lists are not mine any more.
                let gone: Vec<ConversationId> = inbox
                    .chats
                    .keys()
                    .filter(|id| !ids.contains(id) && inbox.active != Some(**id))
                    .copied()
                    .collect();
                for id in gone {
                    inbox.chats.remove(&id);
                }
                for conversation in conversations {
                    inbox.update(conversation);
                }
            });
            for id in ids {
                crate::views::conversation::load_extras(ctx, id);
            }
            // What this console asked for before the socket dropped.
            let (watching, feeds, notes) = DRIVER.with(|d| {
                d.borrow()
                    .as_ref()
                    .map(|d| (d.watching, d.feeds.clone(), d.notes.clone()))
                    .unwrap_or_default()
            });
            if let Some(id) = watching {
                let after = ctx
                    .inbox
                    .with_untracked(|i| i.chats.get(&id).map_or(0, Chat::last_seq));
                send_frame(AgentFrame::Watch {
                    conversation_id: Some(id),
                    after_seq: after,
                });
            }
            for feed in feeds {
                send_frame(AgentFrame::Subscribe { feed });
            }
            for note in notes {
                send_frame(note);
            }
        }
        ServerFrame::ConversationAssigned { conversation }
        | ServerFrame::ConversationTransferred { conversation, .. } => {
            let id = conversation.id;
            let new = ctx
                .inbox
                .with_untracked(|i| !i.chats.contains_key(&id) && i.is_mine(&conversation));
            ctx.inbox.update(|inbox| inbox.update(conversation));
            if new {
                alerts::new_chat(ctx, id);
                crate::views::conversation::load_extras(ctx, id);
            }
        }
        ServerFrame::ConversationReleased { conversation }
        | ServerFrame::ConversationClosed { conversation }
        | ServerFrame::ConversationUpdated { conversation }
        | ServerFrame::ConversationOpened { conversation } => {
            ctx.inbox.update(|inbox| inbox.update(conversation));
        }
        ServerFrame::Typing {
            conversation_id,
            author: AuthorKind::Visitor,
            typing,
        } => ctx.inbox.update(|inbox| {
            if let Some(chat) = inbox.chat_mut(conversation_id) {
                chat.visitor_typing = typing;
            }
        }),
        ServerFrame::Typing { .. } => {}
        ServerFrame::Peek {
            conversation_id,
            text,
        } => ctx.inbox.update(|inbox| {
            if let Some(chat) = inbox.chat_mut(conversation_id) {
                chat.peek = text;
            }
        }),
        ServerFrame::Read {
            conversation_id,
            reader,
            seq,
        } => ctx.inbox.update(|inbox| {
            if let Some(chat) = inbox.chat_mut(conversation_id) {
                match reader {
                    AuthorKind::Visitor => {
                        chat.conversation.visitor_read_seq =
                            chat.conversation.visitor_read_seq.max(seq)
                    }
                    _ => {
                        chat.conversation.agent_read_seq = chat.conversation.agent_read_seq.max(seq)
                    }
                }
            }
        }),
        ServerFrame::ConversationRated {
            conversation_id,
            rating,
        } => ctx.inbox.update(|inbox| {
            if let Some(chat) = inbox.chat_mut(conversation_id) {
                chat.conversation.rating = Some(rating);
            }
        }),
        ServerFrame::NoteAdded { note } => note_added(ctx, note),
        ServerFrame::Viewers {
            conversation_id,
            viewers,
        } => ctx.inbox.update(|inbox| {
            if let Some(chat) = inbox.chat_mut(conversation_id) {
                chat.viewers = viewers;
            }
        }),
        ServerFrame::Queue { queue } => ctx.queue.set(queue.entries),
        ServerFrame::Wallboard { board } => ctx.board.set(Some(board)),
        ServerFrame::AgentStatus { status } => ctx.status.set(status),
        ServerFrame::Error {
            code,
            message,
            client_id,
        } => {
            // A refused note leaves the list of notes to re-send.
            if let Some(id) = &client_id {
                DRIVER.with(|d| {
                    if let Some(d) = d.borrow_mut().as_mut() {
                        d.notes.retain(
                            |n| !matches!(n, AgentFrame::Note { client_id, .. } if client_id == id),
                        );
                    }
                });
            }
            if code != ErrorCode::RateLimited {
                ctx.say(message);
            }
        }
        ServerFrame::Ack { .. } | ServerFrame::Message { .. } | ServerFrame::QueueStatus { .. } => {
        }
    }
}

fn note_added(ctx: Ctx, note: Note) {
    DRIVER.with(|d| {
        if let Some(d) = d.borrow_mut().as_mut() {
            d.notes.retain(
                |n| !matches!(n, AgentFrame::Note { client_id, .. } if Some(client_id) == note.client_id.as_ref()),
            );
        }
    });
    let id = note.conversation_id;
    ctx.inbox.update(|inbox| {
        if let Some(chat) = inbox.chat_mut(id) {
            chat.add_note(note);
        }
    });
}

fn open() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let scheme = match location.protocol().ok().as_deref() {
        Some("https:") => "wss:",
        _ => "ws:",
    };
    let host = location.host().unwrap_or_default();
    let url = format!("{scheme}//{host}/ws/v1/agent");
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => {
            let actions = with_core(|core| {
                core.handle(Event::Closed {
                    code: None,
                    now: crate::now(),
                })
            });
            run(actions);
            return;
        }
    };
    let on_open = Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(|_| {
        let actions = with_core(|core| core.handle(Event::Opened { now: crate::now() }));
        run(actions);
    });
    let on_message =
        Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(|event: wasm_bindgen::JsValue| {
            let Some(text) = event
                .dyn_ref::<MessageEvent>()
                .and_then(|e| e.data().as_string())
            else {
                return;
            };
            if let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) {
                let actions = with_core(|core| {
                    core.handle(Event::Frame {
                        frame,
                        now: crate::now(),
                    })
                });
                run(actions);
            }
        });
    let on_close =
        Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(|event: wasm_bindgen::JsValue| {
            let code = event.dyn_ref::<CloseEvent>().map(CloseEvent::code);
            DRIVER.with(|d| {
                if let Some(d) = d.borrow_mut().as_mut() {
                    d.ws = None;
                }
            });
            if code == Some(close_code::SESSION_ENDED)
                && let Some(ctx) = ctx()
            {
                ctx.conn.set(Conn::Ended);
            }
            let actions = with_core(|core| {
                core.handle(Event::Closed {
                    code,
                    now: crate::now(),
                })
            });
            run(actions);
        });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    DRIVER.with(|d| {
        if let Some(d) = d.borrow_mut().as_mut() {
            d.ws = Some(ws);
            d.old_callbacks =
                std::mem::replace(&mut d.callbacks, vec![on_open, on_message, on_close]);
        }
    });
}
