//! The panel's life: the handshake with the loader, the visitor's session, the socket driven
//! by the client core, and what the visitor sees.
//!
//! Storage: the visitor token and the core's snapshot (resume points and the outbox of
//! unconfirmed sends) are kept in the panel's own storage when the browser allows it in a
//! cross-site frame; otherwise the loader keeps them in the host page's storage for the panel
//! (`store` messages), and hands them back in `init`. Either way a reload or a navigation
//! keeps the conversation and its unsent messages.

use std::cell::RefCell;
use std::rc::Rc;

use bellhop_client::{Action, ClientCore, Config, Credentials, Draft, Event, Snapshot, State};
use bellhop_protocol::api::{ClosedReason, LeadKind, PageContext, WidgetSessionResponse};
use bellhop_protocol::frames::{
    AgentRef, AuthorKind, Conversation, ConversationStatus, ServerFrame, VisitorFrame,
};
use bellhop_protocol::text::{MAX_PEEK_CHARS, mask_sensitive};
use bellhop_protocol::{ConversationId, DepartmentId, MessageBody};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    CloseEvent, Element, HtmlElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement,
    KeyboardEvent, MessageEvent, Storage, WebSocket,
};

use crate::dom::{document, focus};
use crate::json::{self, json, number};
use crate::small_map::SmallMap;
use crate::view::{SendState, View};
use crate::{net, wire};

type Shared = Rc<RefCell<Panel>>;

/// What the panel keeps across reloads, besides the token.
#[derive(Default)]
struct Kept {
    core: Snapshot,
    prechat_done: bool,
}

/// The open socket and the callbacks it holds (dropped with it).
struct Socket {
    ws: WebSocket,
    _callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
}

struct Panel {
    key: String,
    /// The origin of the page framing the panel: the only one it talks to.
    host_origin: Option<String>,
    own_storage: Option<Storage>,
    /// What the loader kept for us, when our own storage is denied.
    loader_kept: SmallMap<String>,
    page: PageContext,
    config: Option<Rc<wire::Site>>,
    token: Option<String>,
    core: Option<ClientCore>,
    socket: Option<Socket>,
    /// The visitor's open conversation, once there is one, and who serves it.
    conversation: Option<ConversationId>,
    agent: Option<AgentRef>,
    prechat_done: bool,
    open: bool,
    unread: u32,
    /// Sends not confirmed yet, by client id: their elements in the log.
    pending: SmallMap<Element>,
    typing_sent: bool,
    last_input: f64,
    view: View,
    booted: bool,
    /// The visitor the token names.
    visitor: Option<bellhop_protocol::VisitorId>,
    /// An identity the page gave before the session was there: applied once it is.
    identity: Option<wire::VerifiedIdentity>,
    /// The page's language, for the texts.
    lang: String,
    /// The masked draft the agent last saw (sneak peek).
    peek_sent: String,
    /// The draft changed since it was last looked at for a peek.
    peek_due: bool,
    /// The highest `seq` shown in the open conversation, and the one last marked read.
    seen_seq: u64,
    read_sent: u64,
    /// The agents have read the visitor's messages up to here.
    agent_read: u64,
    /// The chat that closed last: what the rating and transcript forms are about.
    closed: Option<ConversationId>,
    /// This page view for the live-visitor list (`PresenceBeat`), from the loader.
    presence: Option<json::Text>,
    ticks: u32,
    /// `Bellhop.setAttributes` not sent yet (it waits for the session).
    attributes: Option<String>,
    /// The department the page picked (`Bellhop.setDepartment`), by name.
    department: Option<String>,
}

fn now() -> i64 {
    js_sys::Date::now() as i64
}

pub(crate) fn start() {
    let doc = document();
    let Some(root) = doc.get_element_by_id("bellhop-panel") else {
        return;
    };
    let view = View::build(root);
    let params = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok());
    let param = |name: &str| params.as_ref().and_then(|p| p.get(name));
    let own_storage = usable_storage();
    let panel = Panel {
        key: param("key").unwrap_or_default(),
        host_origin: param("origin"),
        own_storage,
        loader_kept: SmallMap::new(),
        page: PageContext::default(),
        config: None,
        token: None,
        core: None,
        socket: None,
        conversation: None,
        agent: None,
        prechat_done: false,
        open: false,
        unread: 0,
        pending: SmallMap::new(),
        typing_sent: false,
        last_input: 0.0,
        view,
        booted: false,
        visitor: None,
        identity: None,
        lang: String::new(),
        peek_sent: String::new(),
        peek_due: false,
        seen_seq: 0,
        read_sent: 0,
        agent_read: 0,
        closed: None,
        presence: None,
        ticks: 0,
        attributes: None,
        department: None,
    };
    let shared: Shared = Rc::new(RefCell::new(panel));
    wire_view(&shared);
    listen_to_loader(&shared);
    start_ticking(&shared);
    let framed = web_sys::window()
        .and_then(|w| w.parent().ok().flatten().map(|p| (w, p)))
        .is_some_and(|(w, p)| !js_sys::Object::is(&w, &p));
    if framed {
        to_loader(&shared, &json!({ "type": "ready" }));
    } else {
        // Opened directly (no loader): run on our own.
        shared.borrow_mut().open = true;
        boot(&shared);
    }
}

/// The panel's own `localStorage`, if the browser lets this frame write to it.
fn usable_storage() -> Option<Storage> {
    let storage = web_sys::window()?.local_storage().ok().flatten()?;
    let probe = "bellhop:probe";
    storage.set_item(probe, "1").ok()?;
    let _ = storage.remove_item(probe);
    Some(storage)
}

impl Panel {
    fn storage_key(&self, name: &str) -> String {
        "bellhop:".to_owned() + &self.key + ":" + name
    }

    fn load(&self, name: &str) -> Option<String> {
        match &self.own_storage {
            Some(storage) => storage.get_item(&self.storage_key(name)).ok().flatten(),
            None => self.loader_kept.get(name).cloned(),
        }
    }

    /// Keeps `value` under `name`; returns a `store` message for the loader when our own
    /// storage is denied.
    fn keep(&mut self, name: &str, value: Option<&str>) -> Option<json::Text> {
        match &self.own_storage {
            Some(storage) => {
                let key = self.storage_key(name);
                let _ = match value {
                    Some(v) => storage.set_item(&key, v),
                    None => storage.remove_item(&key),
                };
                None
            }
            None => {
                match value {
                    Some(v) => self.loader_kept.insert(name.to_owned(), v.to_owned()),
                    None => self.loader_kept.remove(name),
                };
                Some(json!({ "type": "store", "name": name, "value": value }))
            }
        }
    }

    fn snapshot_message(&mut self) -> Option<json::Text> {
        let core = self.core.as_ref()?.snapshot();
        let kept = Kept {
            core,
            prechat_done: self.prechat_done,
        };
        let json = wire::kept_json(&kept.core, kept.prechat_done);
        self.keep("snapshot", Some(&json))
    }

    fn agent_name(&self) -> Option<String> {
        self.agent.as_ref().map(|a| a.display_name.clone())
    }
}

fn to_loader(shared: &Shared, message: &json::Text) {
    let Some(origin) = shared.borrow().host_origin.clone() else {
        return;
    };
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(Some(parent)) = window.parent() else {
        return;
    };
    if let Ok(value) = js_sys::JSON::parse(&message.with_mark()) {
        let _ = parent.post_message(&value, &origin);
    }
}

fn emit(shared: &Shared, name: &str, data: json::Text) {
    to_loader(
        shared,
        &json!({ "type": "event", "name": name, "data": data }),
    );
}

fn persist(shared: &Shared) {
    let message = shared.borrow_mut().snapshot_message();
    if let Some(message) = message {
        to_loader(shared, &message);
    }
}

fn listen_to_loader(shared: &Shared) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_message = {
        let shared = shared.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let expected = shared.borrow().host_origin.clone();
            let from_parent = web_sys::window()
                .and_then(|w| w.parent().ok().flatten())
                .zip(event.source())
                .is_some_and(|(parent, source)| js_sys::Object::is(&parent, &source));
            if expected.as_deref() != Some(event.origin().as_str()) || !from_parent {
                return;
            }
            let Ok(text) = js_sys::JSON::stringify(&event.data()) else {
                return;
            };
            let Some(message) = json::parse(&String::from(text)) else {
                return;
            };
            if message.get("bellhop").and_then(|v| v.as_i64()) != Some(1) {
                return;
            }
            on_loader_message(&shared, &message);
        })
    };
    let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    on_message.forget();
    let on_key = {
        let shared = shared.clone();
        Closure::<dyn FnMut(KeyboardEvent)>::new(move |event: KeyboardEvent| {
            if event.key() == "Escape" {
                to_loader(&shared, &json!({ "type": "close" }));
            }
        })
    };
    let _ = window.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
    on_key.forget();
    // The browser knows before the socket does: stop at once when the network goes, so what
    // the visitor types waits in the outbox, and reconnect (resending it) when it is back.
    for (name, online) in [("offline", false), ("online", true)] {
        let shared = shared.clone();
        let on_change = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let actions = {
                let mut panel = shared.borrow_mut();
                let Some(core) = panel.core.as_mut() else {
                    return;
                };
                let actions = if online {
                    core.connect()
                } else {
                    core.disconnect()
                };
                let notice = panel.view.t("offline_notice");
                panel.view.show_notice((!online).then_some(&notice));
                actions
            };
            run(&shared, actions);
        });
        let _ = window.add_event_listener_with_callback(name, on_change.as_ref().unchecked_ref());
        on_change.forget();
    }
}

fn on_loader_message(shared: &Shared, message: &json::Value) {
    let kind = message.get("type").and_then(|v| v.as_str()).unwrap_or("");
    match kind {
        "init" => {
            {
                let mut panel = shared.borrow_mut();
                if let Some(stored) = message.get("stored").and_then(|v| v.as_object()) {
                    for (name, value) in stored {
                        if let Some(value) = value.as_str() {
                            panel.loader_kept.insert(name.clone(), value.to_owned());
                        }
                    }
                }
                let page = message.get("page");
                let text = |name: &str| {
                    page.and_then(|p| p.get(name))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                panel.page = PageContext {
                    landing_page: text("url"),
                    current_page: text("url"),
                    referrer: text("referrer"),
                };
                panel.lang = text("lang").unwrap_or_default();
                let number_of = |name: &str| {
                    page.and_then(|p| p.get(name))
                        .and_then(json::Value::as_i64)
                        .unwrap_or(0)
                };
                panel.presence = Some(json!({
                    "widget_key": panel.key.as_str(),
                    "browser_id": text("browser"),
                    "url": text("url"),
                    "title": text("title"),
                    "referrer": text("referrer"),
                    "returning": page.and_then(|p| p.get("returning")).and_then(json::Value::as_bool) == Some(true),
                    "visit_started_at": json::Text(number(number_of("visit") as u64)),
                }));
                panel.open = message.get("open").and_then(|v| v.as_bool()) == Some(true);
            }
            boot(shared);
        }
        "open" => {
            let input = {
                let mut panel = shared.borrow_mut();
                panel.open = true;
                panel.unread = 0;
                panel.view.input.clone()
            };
            to_loader(shared, &json!({ "type": "unread", "count": 0 }));
            focus(&input);
        }
        "close" => shared.borrow_mut().open = false,
        "reset" => reset(shared),
        "department" => {
            let name = message.get("name").and_then(|v| v.as_string());
            let mut panel = shared.borrow_mut();
            panel.department = name;
            choose_department(&panel);
        }
        "attributes" => {
            // As the page gave them (an object): the server checks and merges them.
            if let Some(attributes) = message
                .get("attributes")
                .filter(|v| v.as_object().is_some())
            {
                shared.borrow_mut().attributes = Some(attributes.to_json());
                send_attributes(shared);
            }
        }
        "identify" => {
            if let Some(identity) = message.get("identity") {
                identify(shared, identity);
            }
        }
        _ => {}
    }
}

/// Loads the site's settings and the visitor's session, then connects.
fn boot(shared: &Shared) {
    if std::mem::replace(&mut shared.borrow_mut().booted, true) {
        return;
    }
    let shared = shared.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let path = {
            let panel = shared.borrow();
            "/api/v1/widget/config?key=".to_owned()
                + &encode(&panel.key)
                + "&lang="
                + &encode(&panel.lang)
        };
        let config: wire::Site = match net::get(&path).await {
            Ok(config) => config,
            Err(e) => {
                shared.borrow().view.show_notice(Some(&e.message));
                return;
            }
        };
        {
            let mut panel = shared.borrow_mut();
            panel.view.texts = config.texts.clone();
            panel.view.apply_texts();
            panel.view.set_title(&config.site_name, None);
            panel.view.set_departments(&config.departments);
            set_accent(&config.color);
            let look = json!({
                "type": "look",
                "color": config.color.as_str(),
                "position": config.position.as_str(),
                "texts": json::Text(config.texts.to_json()),
                "greetings": json::Text(config.greetings.to_json()),
                "sound": config.sound,
            });
            drop(panel);
            to_loader(&shared, &look);
            beat(&shared);
            let _ = document()
                .document_element()
                .map(|root| root.set_attribute("lang", &config.language));
        }
        shared.borrow_mut().config = Some(Rc::new(config));
        choose_department(&shared.borrow());
        start_session(&shared, None).await;
    });
}

async fn start_session(shared: &Shared, identity: Option<wire::VerifiedIdentity>) {
    let (key, held) = {
        let panel = shared.borrow();
        (panel.key.clone(), panel.load("token"))
    };
    let request = wire::SessionRequest {
        widget_key: key,
        token: held,
        identity,
    };
    let session: WidgetSessionResponse =
        match net::post("/api/v1/widget/session", &request, None).await {
            Ok(session) => session,
            Err(e) => {
                shared.borrow().view.show_notice(Some(&e.message));
                emit(shared, "error", json!({ "message": e.message }));
                return;
            }
        };
    let store = shared.borrow_mut().keep("token", Some(&session.token));
    if let Some(store) = store {
        to_loader(shared, &store);
    }
    let actions = {
        let mut panel = shared.borrow_mut();
        panel.token = Some(session.token.clone());
        let previous = panel.visitor.replace(session.visitor_id);
        let other_visitor = previous.is_some_and(|v| v != session.visitor_id);
        if other_visitor {
            // Identified as another visitor (the same user on another device, say): their
            // conversations replace this one's; what was typed and not sent yet goes as theirs.
            if let Some(socket) = panel.socket.take() {
                close_quietly(&socket);
            }
            let outbox = panel
                .core
                .take()
                .map(|core| core.snapshot().outbox)
                .unwrap_or_default();
            let kept = Kept {
                core: Snapshot {
                    outbox,
                    ..Snapshot::default()
                },
                prechat_done: true,
            };
            let json = wire::kept_json(&kept.core, kept.prechat_done);
            let _ = panel.keep("snapshot", Some(&json));
            panel.pending.clear();
            panel.conversation = None;
            panel.agent = None;
            panel.view.log.set_inner_html("");
        }
        let credentials = Credentials::Visitor {
            token: session.token,
        };
        if let Some(core) = panel.core.as_mut() {
            // A new identity: reconnect under the new token.
            let mut actions = core.set_credentials(credentials);
            actions.extend(core.disconnect());
            let reconnect = core.connect();
            drop(panel);
            run(shared, actions);
            reconnect
        } else {
            let kept: Kept = panel
                .load("snapshot")
                .and_then(|s| wire::kept_from_json(&s))
                .map(|(core, prechat_done)| Kept { core, prechat_done })
                .unwrap_or_default();
            panel.prechat_done = kept.prechat_done;
            // After a reload the log is empty: replay the open conversation from its start
            // (the core still de-duplicates), keep the outbox.
            let mut snapshot = kept.core;
            for point in &mut snapshot.resume {
                point.last_seq = 0;
            }
            snapshot.finished.clear();
            let seed = (js_sys::Math::random() * 9e15) as u64;
            let core = ClientCore::restore(snapshot, credentials.clone(), Config::default(), seed)
                .unwrap_or_else(|_| ClientCore::new(credentials, Config::default(), seed));
            for send in core.outbox() {
                let item = panel.view.pending(send.body.as_str());
                panel
                    .pending
                    .insert(send.client_id.as_str().to_owned(), item);
            }
            let mut core = core;
            let actions = core.connect();
            panel.core = Some(core);
            panel.view.show_composer(true);
            if panel.open {
                focus(&panel.view.input);
            }
            actions
        }
    };
    run(shared, actions);
    send_attributes(shared);
    // The page identified its user while this session was being made.
    let pending = shared.borrow_mut().identity.take();
    if let Some(identity) = pending {
        let shared = shared.clone();
        wasm_bindgen_futures::spawn_local(async move {
            start_session(&shared, Some(identity)).await;
        });
    }
}

fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// Carries out the core's actions, in order.
fn run(shared: &Shared, actions: Vec<Action>) {
    for action in actions {
        match action {
            Action::Connect => open_socket(shared),
            Action::Disconnect => {
                let socket = shared.borrow_mut().socket.take();
                if let Some(socket) = socket {
                    close_quietly(&socket);
                }
                handle(
                    shared,
                    Event::Closed {
                        code: None,
                        now: now(),
                    },
                );
            }
            Action::Send(frame) => {
                if let Some(json) = wire::client_frame_json(&frame) {
                    let panel = shared.borrow();
                    if let Some(socket) = &panel.socket {
                        let _ = socket.ws.send_with_str(&json);
                    }
                }
            }
            Action::Show(message) => show_message(shared, &message),
            Action::Confirmed {
                client_id,
                conversation_id,
                seq,
                ..
            } => {
                let panel = shared.borrow();
                if let Some(item) = panel.pending.get(client_id.as_str()) {
                    let _ = item.set_attribute("data-seq", &number(seq));
                    panel.view.set_send_state(item, SendState::Sent);
                }
                drop(panel);
                conversation_started(shared, conversation_id);
            }
            Action::Refused { send, message, .. } => {
                let panel = shared.borrow();
                if let Some(item) = panel.pending.get(send.client_id.as_str()) {
                    panel.view.set_send_state(item, SendState::Failed);
                }
                panel.view.show_notice(Some(&message));
            }
            Action::Frame(frame) => on_frame(shared, frame),
            Action::State(state) => {
                let key = match state {
                    State::Waiting { .. } | State::Connecting => Some("reconnecting"),
                    State::NeedsCredentials => Some("session_expired"),
                    State::Stopped(_) => Some("cannot_connect"),
                    _ => None,
                };
                let panel = shared.borrow();
                if key.is_some() || matches!(state, State::Live) {
                    panel
                        .view
                        .show_notice(key.map(|k| panel.view.t(k)).as_deref());
                }
            }
            Action::Duplicate { .. } | Action::Gap { .. } => {}
        }
    }
    persist(shared);
}

fn handle(shared: &Shared, event: Event) {
    let actions = match shared.borrow_mut().core.as_mut() {
        Some(core) => core.handle(event),
        None => return,
    };
    run(shared, actions);
}

/// Closes a socket we are done with; its close event is not reported (the caller reports it).
fn close_quietly(socket: &Socket) {
    socket.ws.set_onopen(None);
    socket.ws.set_onmessage(None);
    socket.ws.set_onclose(None);
    let _ = socket.ws.close();
}

fn open_socket(shared: &Shared) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let scheme = match location.protocol().ok().as_deref() {
        Some("https:") => "wss:",
        _ => "ws:",
    };
    let host = location.host().unwrap_or_default();
    let key = shared.borrow().key.clone();
    let url = scheme.to_owned() + "//" + &host + "/ws/v1/visitor?key=" + &encode(&key);
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => {
            handle(
                shared,
                Event::Closed {
                    code: None,
                    now: now(),
                },
            );
            return;
        }
    };
    let on_open = {
        let shared = shared.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |_| handle(&shared, Event::Opened { now: now() }))
    };
    let on_message = {
        let shared = shared.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(text) = event
                .dyn_ref::<MessageEvent>()
                .and_then(|e| e.data().as_string())
            else {
                return;
            };
            if let Some(frame) = wire::server_frame(&text) {
                handle(&shared, Event::Frame { frame, now: now() });
            }
        })
    };
    let on_close = {
        let shared = shared.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let code = event.dyn_ref::<CloseEvent>().map(CloseEvent::code);
            shared.borrow_mut().socket = None;
            handle(&shared, Event::Closed { code, now: now() });
        })
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    shared.borrow_mut().socket = Some(Socket {
        ws,
        _callbacks: vec![on_open, on_message, on_close],
    });
}

fn show_message(shared: &Shared, message: &bellhop_protocol::frames::Message) {
    let mut panel = shared.borrow_mut();
    let confirmed = message
        .client_id
        .as_ref()
        .and_then(|id| panel.pending.remove(id.as_str()));
    if panel.conversation == Some(message.conversation_id) {
        panel.seen_seq = panel.seen_seq.max(message.seq);
    }
    let read = message.seq <= panel.agent_read;
    let state = if read {
        SendState::Read
    } else {
        SendState::Sent
    };
    match confirmed {
        // Our own text, already in the log: it stays where it is.
        Some(item) if message.author == AuthorKind::Visitor && message.attachment.is_none() => {
            panel.view.set_send_state(&item, state);
        }
        other => {
            // An upload's progress line gives way to the file itself.
            if let Some(item) = other {
                item.remove();
            }
            let item = panel.view.message(message);
            if message.author == AuthorKind::Visitor {
                panel.view.set_send_state(&item, state);
            }
            if message.attachment.as_ref().is_some_and(|f| f.is_image()) {
                let token = panel.token.clone();
                if let Ok(Some(body)) = item.query_selector("[data-file]") {
                    wasm_bindgen_futures::spawn_local(show_image(body, token));
                }
            }
        }
    }
    if message.author == AuthorKind::Agent {
        panel.view.show_typing(None);
        if !panel.open {
            panel.unread += 1;
        }
        let unread = panel.unread;
        let open = panel.open;
        drop(panel);
        if !open {
            to_loader(shared, &json!({ "type": "unread", "count": unread }));
        }
        emit(
            shared,
            "message",
            json!({ "author": message.author_name, "body": message.body }),
        );
    }
}

fn conversation_started(shared: &Shared, id: ConversationId) {
    {
        let mut panel = shared.borrow_mut();
        if panel.conversation == Some(id) {
            return;
        }
        panel.conversation = Some(id);
        panel.agent = None;
        dom_hide(&panel.view.department);
        show_attach(&panel);
    }
    to_loader(shared, &json!({ "type": "active", "value": true }));
    emit(
        shared,
        "chatStarted",
        json!({ "id": wire::uuid_text(id.as_uuid()) }),
    );
}

fn dom_hide(element: &Element) {
    crate::dom::set_hidden(element, true);
}

fn on_frame(shared: &Shared, frame: ServerFrame) {
    match frame {
        ServerFrame::Welcome { conversations, .. } => {
            let open = conversations
                .into_iter()
                .find(|c| c.status != ConversationStatus::Closed);
            let has_open = open.is_some();
            if let Some(conversation) = open {
                // Carried on from an earlier page: not a new chat.
                set_conversation(shared, conversation, false);
            }
            choose_start_view(shared, has_open);
        }
        ServerFrame::QueueStatus {
            position,
            estimated_wait_secs,
            ..
        } => {
            let panel = shared.borrow();
            let view = &panel.view;
            let place = view.t_with("queue_position", &number(position.into()));
            let text = match estimated_wait_secs {
                Some(secs) => {
                    let minutes = number(secs.div_ceil(60).max(1));
                    place + " · " + &view.t_with("queue_wait", &minutes)
                }
                None => place,
            };
            view.set_status(&text);
        }
        ServerFrame::ConversationOpened { conversation }
        | ServerFrame::ConversationAssigned { conversation }
        | ServerFrame::ConversationTransferred { conversation, .. } => {
            set_conversation(shared, conversation, true);
        }
        ServerFrame::ConversationClosed { conversation } => {
            let ours = shared.borrow().conversation == Some(conversation.id);
            if ours {
                {
                    let mut panel = shared.borrow_mut();
                    panel.conversation = None;
                    panel.closed = Some(conversation.id);
                    panel.agent = None;
                    show_attach(&panel);
                }
                let panel = shared.borrow();
                panel.view.system(&panel.view.t("chat_ended"));
                panel.view.set_status("");
                panel.view.show_notice(None);
                let site = panel.config.as_ref().map(|c| c.site_name.clone());
                panel.view.set_title(&site.unwrap_or_default(), None);
                panel.view.show_typing(None);
                let mails = panel.config.as_ref().is_some_and(|c| c.transcript_email);
                panel.view.after_chat(conversation.rating.is_none(), mails);
                drop(panel);
                to_loader(shared, &json!({ "type": "active", "value": false }));
                emit(
                    shared,
                    "chatEnded",
                    json!({ "id": wire::uuid_text(conversation.id.as_uuid()) }),
                );
            }
        }
        ServerFrame::Typing {
            author: AuthorKind::Agent,
            typing,
            ..
        } => {
            let panel = shared.borrow();
            let name = panel.agent_name();
            panel.view.show_typing(
                typing
                    .then(|| name.unwrap_or_else(|| panel.view.t("agent_default_name")))
                    .as_deref(),
            );
        }
        ServerFrame::Read {
            reader: AuthorKind::Agent,
            seq,
            conversation_id,
        } => {
            let mut panel = shared.borrow_mut();
            if panel.conversation == Some(conversation_id) && seq > panel.agent_read {
                panel.agent_read = seq;
                panel.view.mark_read(seq);
            }
        }
        ServerFrame::Error { message, .. } => {
            shared.borrow().view.show_notice(Some(&message));
        }
        _ => {}
    }
}

/// Shows who serves the conversation; a conversation new to the panel is announced to the
/// page (`chatStarted`) when `announce`.
fn set_conversation(shared: &Shared, conversation: Conversation, announce: bool) {
    let conversation_id = conversation.id;
    let started = {
        let mut panel = shared.borrow_mut();
        let site = panel
            .config
            .as_ref()
            .map(|c| c.site_name.clone())
            .unwrap_or_default();
        match (&conversation.agent, conversation.status) {
            (Some(agent), ConversationStatus::Assigned) => {
                panel
                    .view
                    .set_title(&agent.display_name, Some(&agent.display_name));
                panel.view.set_status(&site);
            }
            _ => panel.view.set_title(&site, None),
        }
        let started = panel.conversation != Some(conversation.id);
        if started {
            panel.seen_seq = 0;
            panel.read_sent = conversation.visitor_read_seq;
            panel.agent_read = 0;
        }
        if conversation.agent_read_seq > panel.agent_read {
            panel.agent_read = conversation.agent_read_seq;
            panel.view.mark_read(conversation.agent_read_seq);
        }
        panel.conversation = Some(conversation.id);
        panel.agent = conversation.agent.clone();
        dom_hide(&panel.view.department);
        show_attach(&panel);
        panel.view.hide_forms();
        crate::dom::set_hidden(&panel.view.after, true);
        panel.view.show_composer(true);
        started
    };
    if started {
        to_loader(shared, &json!({ "type": "active", "value": true }));
        if announce {
            emit(
                shared,
                "chatStarted",
                json!({ "id": wire::uuid_text(conversation_id.as_uuid()) }),
            );
        }
    }
}

/// With no open conversation: the offline form outside business hours, the pre-chat form
/// when the site asks for one (once), else the composer.
fn choose_start_view(shared: &Shared, has_open: bool) {
    if has_open {
        return;
    }
    let (config, prechat_done) = {
        let panel = shared.borrow();
        (panel.config.clone(), panel.prechat_done)
    };
    let Some(config) = config else {
        return;
    };
    let outside_hours =
        !config.availability.open && config.availability.reason == Some(ClosedReason::OutsideHours);
    if outside_hours && config.offline_form.enabled {
        show_form(shared, LeadKind::Offline, &config);
    } else if config.prechat_form.enabled && !prechat_done {
        show_form(shared, LeadKind::Prechat, &config);
    } else {
        let panel = shared.borrow();
        panel.view.show_composer(true);
        if panel.open {
            focus(&panel.view.input);
        }
        if config.availability.reason == Some(ClosedReason::NoAgentsOnline) {
            panel.view.set_status(&panel.view.t("nobody_online"));
        }
    }
}

fn show_form(shared: &Shared, kind: LeadKind, config: &wire::Site) {
    let (spec, heading, submit) = match kind {
        LeadKind::Offline => (&config.offline_form, "offline_intro", "offline_submit"),
        LeadKind::Prechat => (&config.prechat_form, "prechat_intro", "prechat_submit"),
    };
    let form = {
        let panel = shared.borrow();
        let view = &panel.view;
        view.show_composer(false);
        view.form(&view.t(heading), spec, &view.t(submit))
    };
    let on_submit = {
        let shared = shared.clone();
        let form = form.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            submit_form(&shared, kind, &form);
        })
    };
    let _ = form.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    on_submit.forget();
    if let Ok(Some(first)) = form.query_selector("input, textarea") {
        focus(&first);
    }
}

fn submit_form(shared: &Shared, kind: LeadKind, form: &Element) {
    let mut fields = SmallMap::new();
    let mut consent = false;
    if let Ok(inputs) = form.query_selector_all("input, textarea") {
        for i in 0..inputs.length() {
            let Some(node) = inputs.get(i) else { continue };
            if let Some(input) = node.dyn_ref::<HtmlInputElement>() {
                if input.name() == "__consent" {
                    consent = input.checked();
                } else if !input.value().trim().is_empty() {
                    fields.insert(input.name(), input.value());
                }
            } else if let Some(area) = node.dyn_ref::<HtmlTextAreaElement>()
                && !area.value().trim().is_empty()
            {
                fields.insert(area.name(), area.value());
            }
        }
    }
    let (token, page, department) = {
        let panel = shared.borrow();
        (
            panel.token.clone(),
            panel.page.clone(),
            chosen_department(&panel),
        )
    };
    let first_message = fields.get("message").cloned();
    let submission = wire::LeadForm {
        kind,
        department_id: department,
        fields,
        consent,
        page,
    };
    let shared = shared.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result: Result<(), net::CallError> =
            net::post("/api/v1/widget/leads", &submission, token.as_deref()).await;
        match result {
            Err(e) => shared.borrow().view.show_notice(Some(&e.message)),
            Ok(_) => match kind {
                LeadKind::Offline => {
                    let panel = shared.borrow();
                    panel.view.hide_forms();
                    panel.view.system(&panel.view.t("lead_thanks"));
                }
                LeadKind::Prechat => {
                    {
                        let mut panel = shared.borrow_mut();
                        panel.prechat_done = true;
                        panel.view.hide_forms();
                        panel.view.show_composer(true);
                        focus(&panel.view.input);
                    }
                    persist(&shared);
                    if let Some(text) = first_message {
                        send_text(&shared, &text);
                    }
                }
            },
        }
    });
}

fn chosen_department(panel: &Panel) -> Option<DepartmentId> {
    let select = panel.view.department.dyn_ref::<HtmlSelectElement>()?;
    if panel.conversation.is_some() || select.hidden() {
        return None;
    }
    wire::parse_id(&select.value())
}

fn wire_view(shared: &Shared) {
    let panel = shared.borrow();
    let on_submit = {
        let shared = shared.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            send_from_composer(&shared);
        })
    };
    let _ = panel
        .view
        .composer
        .add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    on_submit.forget();
    let on_key = {
        let shared = shared.clone();
        Closure::<dyn FnMut(KeyboardEvent)>::new(move |event: KeyboardEvent| {
            if event.key() == "Enter" && !event.shift_key() {
                event.prevent_default();
                send_from_composer(&shared);
            }
        })
    };
    let _ = panel
        .view
        .input
        .add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
    on_key.forget();
    let on_input = {
        let shared = shared.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| typing(&shared, true))
    };
    let _ = panel
        .view
        .input
        .add_event_listener_with_callback("input", on_input.as_ref().unchecked_ref());
    on_input.forget();
    let on_close = {
        let shared = shared.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            to_loader(&shared, &json!({ "type": "close" }));
        })
    };
    let _ = panel
        .view
        .close
        .add_event_listener_with_callback("click", on_close.as_ref().unchecked_ref());
    on_close.forget();
    let on_retry = {
        let shared = shared.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            retry(&shared, &event);
            download(&shared, &event);
        })
    };
    let on_attach = {
        let file = panel.view.file.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(input) = file.dyn_ref::<HtmlElement>() {
                input.click();
            }
        })
    };
    let _ = panel
        .view
        .attach
        .add_event_listener_with_callback("click", on_attach.as_ref().unchecked_ref());
    on_attach.forget();
    let on_file = {
        let shared = shared.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| chosen_file(&shared))
    };
    let _ = panel
        .view
        .file
        .add_event_listener_with_callback("change", on_file.as_ref().unchecked_ref());
    on_file.forget();
    on_form(shared, &panel.view.rating, "/rating");
    on_form(shared, &panel.view.mail, "/transcript");
    let _ = panel
        .view
        .log
        .add_event_listener_with_callback("click", on_retry.as_ref().unchecked_ref());
    on_retry.forget();
}

/// A tap on a failed message sends its text again, as a new message.
fn retry(shared: &Shared, event: &web_sys::Event) {
    let Some(item) = event
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|e| e.closest(".msg.failed").ok().flatten())
    else {
        return;
    };
    let text = item
        .query_selector(".body")
        .ok()
        .flatten()
        .and_then(|b| b.text_content())
        .unwrap_or_default();
    item.remove();
    send_text(shared, &text);
}

fn send_from_composer(shared: &Shared) {
    let text = {
        let panel = shared.borrow();
        let Some(area) = panel.view.input.dyn_ref::<HtmlTextAreaElement>() else {
            return;
        };
        // Until the session is there, the text stays in the box.
        if panel.core.is_none() {
            return;
        }
        let text = area.value();
        area.set_value("");
        text
    };
    // The emptied box clears the agent's peek.
    shared.borrow_mut().peek_due = true;
    send_text(shared, &text);
}

fn send_text(shared: &Shared, text: &str) {
    let Ok(body) = MessageBody::parse(text.trim().to_owned()) else {
        return;
    };
    {
        // A notice about an earlier refusal gives way (not the one that says we are offline).
        let panel = shared.borrow();
        if panel
            .core
            .as_ref()
            .is_some_and(|c| *c.state() == State::Live)
        {
            panel.view.show_notice(None);
        }
    }
    typing(shared, false);
    let result = {
        let mut panel = shared.borrow_mut();
        let department = chosen_department(&panel);
        let conversation = panel.conversation;
        let mut draft = Draft::new(body.clone());
        draft.department_id = department.filter(|_| conversation.is_none());
        let sent = panel.core.as_mut().map(|core| core.send(draft, now()));
        match sent {
            Some(Ok((client_id, actions))) => {
                let item = panel.view.pending(body.as_str());
                panel.pending.insert(client_id.as_str().to_owned(), item);
                Some(actions)
            }
            _ => None,
        }
    };
    if let Some(actions) = result {
        run(shared, actions);
    }
}

/// Tells the agent the visitor is typing (at most once until they stop; a stop after 3 s
/// without input or when the message is sent).
fn typing(shared: &Shared, typing: bool) {
    let frame = {
        let mut panel = shared.borrow_mut();
        if typing {
            panel.last_input = js_sys::Date::now();
            panel.peek_due = true;
        }
        let Some(conversation) = panel.conversation else {
            return;
        };
        if panel.typing_sent == typing {
            return;
        }
        panel.typing_sent = typing;
        VisitorFrame::Typing {
            conversation_id: conversation,
            typing,
        }
    };
    send_frame(shared, &frame);
}

fn start_ticking(shared: &Shared) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let tick = {
        let shared = shared.clone();
        Closure::<dyn FnMut()>::new(move || {
            handle(&shared, Event::Tick { now: now() });
            // A presence beat every 30 s (120 ticks) while the page is visible.
            let beat_due = {
                let mut panel = shared.borrow_mut();
                panel.ticks += 1;
                panel.ticks.is_multiple_of(120)
            };
            if beat_due {
                beat(&shared);
            }
            let stop = {
                let panel = shared.borrow();
                panel.typing_sent && js_sys::Date::now() - panel.last_input > 3000.0
            };
            if stop {
                typing(&shared, false);
            }
            peek_and_read(&shared);
        })
    };
    let _ = window
        .set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 250);
    tick.forget();
}

/// `Bellhop.reset()`: forget this visitor (logout on the site) and start a fresh one.
fn reset(shared: &Shared) {
    {
        let mut panel = shared.borrow_mut();
        if let Some(socket) = panel.socket.take() {
            close_quietly(&socket);
        }
        panel.core = None;
        panel.conversation = None;
        panel.agent = None;
        panel.prechat_done = false;
        panel.pending.clear();
        panel.view.log.set_inner_html("");
        panel.view.set_status("");
        let _ = panel.keep("token", None);
        let _ = panel.keep("snapshot", None);
        panel.loader_kept.clear();
        panel.booted = false;
    }
    to_loader(shared, &json!({ "type": "active", "value": false }));
    boot(shared);
}

/// `Bellhop.identify({id, attributes, hash})`: a verified identity from the site's server.
fn identify(shared: &Shared, identity: &json::Value) {
    let user_id = identity
        .get("id")
        .map(|v| v.as_str().map_or_else(|| v.to_json(), str::to_owned));
    let signature = identity
        .get("hash")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let (Some(user_id), Some(signature)) = (user_id, signature) else {
        emit(
            shared,
            "error",
            json!({ "message": "identify needs id and hash" }),
        );
        return;
    };
    // As the page gave them (`{}` unless an object): the server reads them into its map.
    let attributes = identity
        .get("attributes")
        .filter(|v| v.as_object().is_some())
        .map_or_else(|| "{}".into(), json::Value::to_json);
    let identity = wire::VerifiedIdentity {
        user_id,
        attributes,
        signature,
    };
    // Before the first session the identity waits for it (see `start_session`).
    if shared.borrow().core.is_none() {
        shared.borrow_mut().identity = Some(identity);
        return;
    }
    let shared = shared.clone();
    wasm_bindgen_futures::spawn_local(async move {
        start_session(&shared, Some(identity)).await;
    });
}

/// Sends what the agent should see: the visitor's draft as a masked sneak peek once they
/// pause typing, and a read mark once the open panel shows messages not marked yet.
fn peek_and_read(shared: &Shared) {
    let mut frames = Vec::new();
    {
        let mut panel = shared.borrow_mut();
        let Some(conversation_id) = panel.conversation else {
            return;
        };
        // Only a draft that changed is read and masked again, once the visitor pauses.
        if panel.peek_due && js_sys::Date::now() - panel.last_input > 400.0 {
            panel.peek_due = false;
            let draft = panel
                .view
                .input
                .dyn_ref::<HtmlTextAreaElement>()
                .map(HtmlTextAreaElement::value)
                .unwrap_or_default();
            // The end of a long draft: what the visitor is typing now.
            let start = draft
                .char_indices()
                .rev()
                .nth(MAX_PEEK_CHARS - 1)
                .map_or(0, |(at, _)| at);
            let masked = mask_sensitive(draft.get(start..).unwrap_or_default());
            if masked != panel.peek_sent {
                panel.peek_sent = masked.clone();
                frames.push(VisitorFrame::Peek {
                    conversation_id,
                    text: masked,
                });
            }
        }
        let visible = panel.open && !document().hidden();
        if visible && panel.seen_seq > panel.read_sent {
            panel.read_sent = panel.seen_seq;
            frames.push(VisitorFrame::Read {
                conversation_id,
                seq: panel.seen_seq,
            });
        }
    }
    for frame in frames {
        send_frame(shared, &frame);
    }
}

/// Sends an ephemeral frame if the socket is live (typing, peek and read marks are not
/// kept for later: the next one carries the news).
fn send_frame(shared: &Shared, frame: &VisitorFrame) {
    let panel = shared.borrow();
    let live = panel
        .core
        .as_ref()
        .is_some_and(|c| *c.state() == State::Live);
    if let (true, Some(socket)) = (live, &panel.socket) {
        let _ = socket.ws.send_with_str(&wire::visitor_frame_json(frame));
    }
}

/// The site's accent colour, with white or near-black text on it, whichever reads better.
fn set_accent(color: &str) {
    let Some(root) = document()
        .document_element()
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    else {
        return;
    };
    let channel = |i: usize| {
        color
            .get(i..i + 2)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    let style = root.style();
    let _ = style.set_property("--accent", color);
    let brightness = channel(1) * 299 + channel(3) * 587 + channel(5) * 114;
    let text = if brightness > 150_000 { "#111" } else { "#fff" };
    let _ = style.set_property("--accent-text", text);
}

/// The attach button is there while a conversation is open on a site that takes files.
fn show_attach(panel: &Panel) {
    let takes_files = panel.config.as_ref().is_some_and(|c| c.takes_files);
    crate::dom::set_hidden(
        &panel.view.attach,
        !(takes_files && panel.conversation.is_some()),
    );
}

/// The visitor picked a file: refused at once when too large, else uploaded with progress.
fn chosen_file(shared: &Shared) {
    let panel = shared.borrow();
    let Some(input) = panel.view.file.dyn_ref::<HtmlInputElement>() else {
        return;
    };
    let Some(file) = input.files().and_then(|list| list.get(0)) else {
        return;
    };
    input.set_value("");
    let (Some(config), Some(conversation), Some(token)) =
        (&panel.config, panel.conversation, panel.token.clone())
    else {
        return;
    };
    let max = config.max_bytes;
    if file.size() > max as f64 {
        let megabytes = megabytes(max);
        panel
            .view
            .show_notice(Some(&panel.view.t_with("file_too_large", &megabytes)));
        return;
    }
    let random = || (js_sys::Math::random() * 9e15) as u64;
    let client_id = wire::uuid_text(&uuid::Uuid::from_u64_pair(random(), random()));
    let path = "/api/v1/widget/attachments?conversation_id=".to_owned()
        + &wire::uuid_text(conversation.as_uuid())
        + "&client_id="
        + &client_id
        + "&name="
        + &encode(&file.name());
    let item = panel.view.pending(&file.name());
    drop(panel);
    shared
        .borrow_mut()
        .pending
        .insert(client_id.clone(), item.clone());
    let shared = shared.clone();
    let progress_item = item.clone();
    let progress_shared = shared.clone();
    net::upload(
        &path,
        &token,
        &file,
        move |percent| {
            let panel = progress_shared.borrow();
            if let Ok(Some(state)) = progress_item.query_selector(".state") {
                state.set_text_content(Some(&panel.view.t_with("uploading", &number(percent))));
            }
        },
        move |result| {
            let Err(code) = result else { return };
            let mut panel = shared.borrow_mut();
            panel.pending.remove(&client_id);
            item.remove();
            let key = match code.as_deref() {
                Some("file_too_large") => "file_too_large",
                Some("unsupported_file_type") => "file_type_refused",
                _ => "upload_failed",
            };
            let limit = megabytes(panel.config.as_ref().map_or(0, |c| c.max_bytes));
            let text = panel.view.t_with(key, &limit);
            panel.view.show_notice(Some(&text));
        },
    );
}

/// Fills a thumbnail: the file is fetched with the visitor's token (an `img` could not send
/// it) and shown from memory.
async fn show_image(body: Element, token: Option<String>) {
    let Some(id) = body.get_attribute("data-file") else {
        return;
    };
    let Ok(url) = net::blob_url(&("/api/v1/attachments/".to_owned() + &id), token.as_deref()).await
    else {
        return;
    };
    if let Ok(Some(image)) = body.query_selector("img") {
        let _ = image.set_attribute("src", &url);
    }
}

/// A tap on a file of the chat saves it.
fn download(shared: &Shared, event: &web_sys::Event) {
    let Some(body) = event
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .filter(|e| e.class_name() == "file")
        .and_then(|e| e.closest("[data-file]").ok().flatten())
    else {
        return;
    };
    let token = shared.borrow().token.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let id = body.get_attribute("data-file").unwrap_or_default();
        let name = body.get_attribute("data-name").unwrap_or_default();
        if let Ok(url) =
            net::blob_url(&("/api/v1/attachments/".to_owned() + &id), token.as_deref()).await
        {
            let link = crate::dom::el("a", "");
            crate::dom::set_attr(&link, "href", &url);
            crate::dom::set_attr(&link, "download", &name);
            if let Some(link) = link.dyn_ref::<HtmlElement>() {
                link.click();
            }
        }
    });
}

/// Sends the rating or the transcript form of the chat that closed, then thanks the visitor.
fn on_form(shared: &Shared, form: &Element, what: &'static str) {
    let handler = {
        let shared = shared.clone();
        let form = form.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            let Some(conversation) = shared.borrow().closed else {
                return;
            };
            let path = "/api/v1/widget/conversations/".to_owned()
                + &wire::uuid_text(conversation.as_uuid())
                + what;
            let value = |selector: &str| {
                form.query_selector(selector)
                    .ok()
                    .flatten()
                    .and_then(|e| {
                        e.dyn_ref::<HtmlInputElement>()
                            .map(HtmlInputElement::value)
                            .or_else(|| {
                                e.dyn_ref::<HtmlTextAreaElement>()
                                    .map(HtmlTextAreaElement::value)
                            })
                    })
                    .unwrap_or_default()
            };
            let (body, done) = if what == "/rating" {
                let score = json::parse(&value(":checked"))
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0);
                let comment = value("textarea");
                let comment = comment.trim();
                let body = json!({ "score": score as u32, "comment": (!comment.is_empty()).then_some(comment) });
                (body, None)
            } else {
                let email = value("input");
                let done = shared.borrow().view.t_with("transcript_sent", &email);
                (json!({ "email": email }), Some(done))
            };
            let (shared, form) = (shared.clone(), form.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let token = shared.borrow().token.clone();
                let sent = net::post::<_, ()>(&path, &body, token.as_deref()).await;
                let panel = shared.borrow();
                match sent {
                    Ok(()) => panel.view.done(&form, done.as_deref()),
                    Err(e) => panel.view.show_notice(Some(&e.message)),
                }
            });
        })
    };
    let _ = form.add_event_listener_with_callback("submit", handler.as_ref().unchecked_ref());
    handler.forget();
}

/// A size limit in megabytes (MiB) as people write it: `10`, `1.5`, `0.2`.
fn megabytes(bytes: u64) -> String {
    let tenths = bytes * 10 / (1024 * 1024);
    let whole = number(tenths / 10);
    match tenths % 10 {
        0 => whole,
        tenth => whole + "." + &number(tenth),
    }
}

/// Tells the server this page is being viewed (the live-visitor list), while it is visible.
fn beat(shared: &Shared) {
    let Some(body) = shared.borrow().presence.clone() else {
        return;
    };
    if document().hidden() {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        let _ = net::post::<_, ()>("/api/v1/widget/presence", &body, None).await;
    });
}

/// Sends the page's attributes of the visitor once there is a session.
fn send_attributes(shared: &Shared) {
    let (attributes, token) = {
        let mut panel = shared.borrow_mut();
        let Some(token) = panel.token.clone() else {
            return;
        };
        let Some(attributes) = panel.attributes.take() else {
            return;
        };
        (attributes, token)
    };
    let shared = shared.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let body = json!({ "attributes": json::Text(attributes) });
        if let Err(e) = net::post::<_, ()>("/api/v1/widget/attributes", &body, Some(&token)).await {
            emit(&shared, "error", json!({ "message": e.message }));
        }
    });
}

/// Selects the department the page picked, once the site's departments are known.
fn choose_department(panel: &Panel) {
    let chosen = panel.config.as_ref().and_then(|c| {
        c.departments
            .iter()
            .find(|d| Some(&d.1) == panel.department.as_ref())
    });
    if let (Some(d), Some(select)) = (chosen, panel.view.department.dyn_ref::<HtmlSelectElement>())
    {
        select.set_value(&wire::uuid_text(d.0.as_uuid()));
    }
}
