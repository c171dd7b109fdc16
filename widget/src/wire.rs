//! The protocol's JSON as the panel reads and writes it, through [`crate::json`] instead of
//! serde (see there for why). Decoding gives the protocol's own types, so the client core and
//! the rest of the panel are unchanged; it accepts what serde accepts for every frame and
//! body the panel uses (unknown fields are ignored, optional ones may be absent or `null`).
//! Frames and the kept snapshot are written as serde writes them; the two REST bodies the
//! panel sends are the protocol's, held in lean types of their own ([`SessionRequest`],
//! [`LeadForm`]). The tests hold all of it to serde on the examples of `docs/protocol.md`.

use bellhop_client::{ClientFrame, PendingSend, Snapshot};
use bellhop_protocol::api::{
    Availability, ClosedReason, FieldKind, FormField, FormSpec, LeadKind, PageContext,
    WidgetSessionResponse,
};
use bellhop_protocol::error::ApiError;
use bellhop_protocol::frames::{
    AgentRef, AgentStatus, Attachment, AuthorKind, Conversation, ConversationStatus, Identity,
    Message, Priority, Rating, ResumePoint, ServerFrame, VisitorFrame,
};
use bellhop_protocol::{ClientMessageId, ConversationId, DepartmentId, ErrorCode};
use uuid::Uuid;

use crate::json::{self, Obj, Value, array};
use crate::small_map::SmallMap;

/// A body the panel reads from the server.
pub(crate) trait FromJson: Sized {
    fn from_json(value: &Value) -> Option<Self>;
}

/// A body the panel sends.
pub(crate) trait ToJson {
    fn to_json(&self) -> String;
}

/// Any JSON at all (a reply the panel only needs to be a success).
impl FromJson for () {
    fn from_json(_: &Value) -> Option<Self> {
        Some(())
    }
}

// --- Reading -----------------------------------------------------------------------------

fn uuid(value: &Value) -> Option<Uuid> {
    // Not `parse_str`: its detailed errors bring formatting code the panel never shows.
    Uuid::try_parse(value.as_str()?).ok()
}

/// A typed id (`ConversationId`, `SiteId`, …).
fn id<T: From<Uuid>>(value: &Value) -> Option<T> {
    uuid(value).map(T::from)
}

/// A typed id from its text (any form a UUID is written in).
pub(crate) fn parse_id<T: From<Uuid>>(text: &str) -> Option<T> {
    Uuid::try_parse(text).ok().map(T::from)
}

fn u32(value: &Value) -> Option<u32> {
    value.as_u64()?.try_into().ok()
}

/// An optional field: `Some(None)` when absent or `null`, `None` when present but invalid.
fn maybe<T>(value: &Value, key: &str, read: impl Fn(&Value) -> Option<T>) -> Option<Option<T>> {
    match value.opt(key) {
        None => Some(None),
        Some(v) => read(v).map(Some),
    }
}

/// A field with a default (`#[serde(default)]` on a field that is not an `Option`): absent
/// gives the default; `null` is as invalid as serde finds it.
fn defaulted<T: Default>(
    value: &Value,
    key: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Option<T> {
    match value.get(key) {
        None => Some(T::default()),
        Some(v) => read(v),
    }
}

fn items<T>(value: &Value, read: impl Fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    // A plain loop: collecting into `Option<Vec<_>>` is several times the code per type.
    let mut out = Vec::new();
    for item in value.as_array()? {
        out.push(read(item)?);
    }
    Some(out)
}

fn list<T>(value: &Value, key: &str, read: impl Fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    items(value.get(key)?, read)
}

/// A list field with `#[serde(default)]`.
fn list_or_empty<T>(
    value: &Value,
    key: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Option<Vec<T>> {
    defaulted(value, key, |v| items(v, &read))
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key)?.as_string()
}

/// A unit variant by its wire name, among `all`.
fn named<T: Copy>(value: &Value, all: &[T], name: fn(T) -> &'static str) -> Option<T> {
    let text = value.as_str()?;
    all.iter().copied().find(|&v| name(v) == text)
}

fn client_id(value: &Value) -> Option<ClientMessageId> {
    ClientMessageId::parse(value.as_string()?).ok()
}

fn author(value: &Value) -> Option<AuthorKind> {
    use AuthorKind::*;
    named(value, &[Visitor, Agent, System], AuthorKind::as_str)
}

fn resume_point(value: &Value) -> Option<ResumePoint> {
    Some(ResumePoint {
        conversation_id: id(value.get("conversation_id")?)?,
        last_seq: value.get("last_seq")?.as_u64()?,
    })
}

fn agent_ref(value: &Value) -> Option<AgentRef> {
    Some(AgentRef {
        id: id(value.get("id")?)?,
        display_name: string(value, "display_name")?,
    })
}

fn conversation(value: &Value) -> Option<Conversation> {
    use ConversationStatus::*;
    let priority = |p: &Value| match p.as_str()? {
        "normal" => Some(Priority::Normal),
        "urgent" => Some(Priority::Urgent),
        _ => None,
    };
    Some(Conversation {
        id: id(value.get("id")?)?,
        site_id: id(value.get("site_id")?)?,
        visitor_id: id(value.get("visitor_id")?)?,
        department_id: maybe(value, "department_id", id)?,
        priority: defaulted(value, "priority", priority)?,
        status: named(
            value.get("status")?,
            &[Queued, Assigned, Closed],
            ConversationStatus::as_str,
        )?,
        agent: maybe(value, "agent", agent_ref)?,
        last_seq: value.get("last_seq")?.as_u64()?,
        created_at: value.get("created_at")?.as_i64()?,
        assigned_at: maybe(value, "assigned_at", Value::as_i64)?,
        closed_at: maybe(value, "closed_at", Value::as_i64)?,
        missed: defaulted(value, "missed", Value::as_bool)?,
        visitor_read_seq: defaulted(value, "visitor_read_seq", Value::as_u64)?,
        agent_read_seq: defaulted(value, "agent_read_seq", Value::as_u64)?,
        rating: maybe(value, "rating", rating)?,
    })
}

fn rating(value: &Value) -> Option<Rating> {
    Some(Rating {
        score: value.get("score")?.as_u64()?.try_into().ok()?,
        comment: maybe(value, "comment", Value::as_string)?,
        rated_at: value.get("rated_at")?.as_i64()?,
    })
}

fn attachment(value: &Value) -> Option<Attachment> {
    Some(Attachment {
        id: id(value.get("id")?)?,
        name: string(value, "name")?,
        content_type: string(value, "content_type")?,
        size: value.get("size")?.as_u64()?,
    })
}

fn message(value: &Value) -> Option<Message> {
    Some(Message {
        conversation_id: id(value.get("conversation_id")?)?,
        seq: value.get("seq")?.as_u64()?,
        author: author(value.get("author")?)?,
        author_name: maybe(value, "author_name", Value::as_string)?,
        client_id: maybe(value, "client_id", client_id)?,
        body: string(value, "body")?,
        sent_at: value.get("sent_at")?.as_i64()?,
        attachment: maybe(value, "attachment", attachment)?,
    })
}

fn identity(value: &Value) -> Option<Identity> {
    Some(match value.get("kind")?.as_str()? {
        "visitor" => Identity::Visitor {
            visitor_id: id(value.get("visitor_id")?)?,
            site_id: id(value.get("site_id")?)?,
        },
        "agent" => Identity::Agent {
            agent_id: id(value.get("agent_id")?)?,
            display_name: string(value, "display_name")?,
        },
        _ => return None,
    })
}

fn error_code(value: &Value) -> Option<ErrorCode> {
    named(value, ErrorCode::ALL, ErrorCode::as_str)
}

/// One server frame from its text; `None` for anything serde would refuse (or an unknown
/// `type`).
pub(crate) fn server_frame(text: &str) -> Option<ServerFrame> {
    let f = json::parse(text)?;
    let conversation_of = |f: &Value| conversation(f.get("conversation")?);
    let conversation_id = |f: &Value| id::<ConversationId>(f.get("conversation_id")?);
    Some(match f.get("type")?.as_str()? {
        "welcome" => ServerFrame::Welcome {
            v: u32(f.get("v")?)?,
            identity: identity(f.get("identity")?)?,
            conversations: list(&f, "conversations", conversation)?,
            heartbeat_secs: f.get("heartbeat_secs")?.as_u64()?,
            clamped: list_or_empty(&f, "clamped", resume_point)?,
        },
        "ack" => ServerFrame::Ack {
            client_id: client_id(f.get("client_id")?)?,
            conversation_id: conversation_id(&f)?,
            seq: f.get("seq")?.as_u64()?,
            sent_at: f.get("sent_at")?.as_i64()?,
        },
        "message" => ServerFrame::Message {
            message: message(f.get("message")?)?,
        },
        "typing" => ServerFrame::Typing {
            conversation_id: conversation_id(&f)?,
            author: author(f.get("author")?)?,
            typing: f.get("typing")?.as_bool()?,
        },
        "conversation_opened" => ServerFrame::ConversationOpened {
            conversation: conversation_of(&f)?,
        },
        "conversation_assigned" => ServerFrame::ConversationAssigned {
            conversation: conversation_of(&f)?,
        },
        "conversation_closed" => ServerFrame::ConversationClosed {
            conversation: conversation_of(&f)?,
        },
        "conversation_transferred" => ServerFrame::ConversationTransferred {
            conversation: conversation_of(&f)?,
            from: maybe(&f, "from", agent_ref)?,
            note: maybe(&f, "note", Value::as_string)?,
        },
        "conversation_released" => ServerFrame::ConversationReleased {
            conversation: conversation_of(&f)?,
        },
        "agent_status" => {
            use AgentStatus::*;
            ServerFrame::AgentStatus {
                status: named(
                    f.get("status")?,
                    &[Online, Away, Offline],
                    AgentStatus::as_str,
                )?,
            }
        }
        "queue_status" => ServerFrame::QueueStatus {
            conversation_id: conversation_id(&f)?,
            position: u32(f.get("position")?)?,
            estimated_wait_secs: maybe(&f, "estimated_wait_secs", Value::as_u64)?,
        },
        "peek" => ServerFrame::Peek {
            conversation_id: conversation_id(&f)?,
            text: string(&f, "text")?,
        },
        "read" => ServerFrame::Read {
            conversation_id: conversation_id(&f)?,
            reader: author(f.get("reader")?)?,
            seq: f.get("seq")?.as_u64()?,
        },
        "conversation_rated" => ServerFrame::ConversationRated {
            conversation_id: conversation_id(&f)?,
            rating: rating(f.get("rating")?)?,
        },
        "error" => ServerFrame::Error {
            code: error_code(f.get("code")?)?,
            message: string(&f, "message")?,
            client_id: maybe(&f, "client_id", client_id)?,
        },
        _ => return None,
    })
}

fn availability(value: &Value) -> Option<Availability> {
    let reason = |v: &Value| match v.as_str()? {
        "outside_hours" => Some(ClosedReason::OutsideHours),
        "no_agents_online" => Some(ClosedReason::NoAgentsOnline),
        _ => None,
    };
    Some(Availability {
        open: value.get("open")?.as_bool()?,
        reason: maybe(value, "reason", reason)?,
        next_open_at: maybe(value, "next_open_at", Value::as_i64)?,
    })
}

fn form_field(value: &Value) -> Option<FormField> {
    let kind = |v: &Value| match v.as_str()? {
        "text" => Some(FieldKind::Text),
        "email" => Some(FieldKind::Email),
        "phone" => Some(FieldKind::Phone),
        "textarea" => Some(FieldKind::Textarea),
        _ => None,
    };
    Some(FormField {
        name: string(value, "name")?,
        label: string(value, "label")?,
        kind: defaulted(value, "kind", kind)?,
        required: defaulted(value, "required", Value::as_bool)?,
    })
}

fn form_spec(value: &Value) -> Option<FormSpec> {
    Some(FormSpec {
        enabled: value.get("enabled")?.as_bool()?,
        fields: list(value, "fields", form_field)?,
        consent_text: maybe(value, "consent_text", Value::as_string)?,
    })
}

/// The widget config (`GET /api/v1/widget/config`) as the panel uses it: read from the
/// parsed JSON without the parts only the loader needs (greetings, look), so the module
/// carries no decoder for them. The tests check it against serde's `WidgetConfig`.
pub(crate) struct Site {
    pub(crate) site_name: String,
    pub(crate) availability: Availability,
    pub(crate) departments: Vec<(DepartmentId, String)>,
    pub(crate) prechat_form: FormSpec,
    pub(crate) offline_form: FormSpec,
    /// Every text in `language`, by key.
    pub(crate) texts: Value,
    pub(crate) color: String,
    pub(crate) position: String,
    /// The greeting rules, which the panel hands to the loader as they are.
    pub(crate) greetings: Value,
    pub(crate) language: String,
    pub(crate) takes_files: bool,
    pub(crate) max_bytes: u64,
    pub(crate) transcript_email: bool,
    pub(crate) sound: bool,
}

impl FromJson for Site {
    fn from_json(value: &Value) -> Option<Self> {
        let department = |d: &Value| Some((id(d.get("id")?)?, string(d, "name")?));
        Some(Site {
            site_name: string(value, "site_name")?,
            availability: availability(value.get("availability")?)?,
            departments: list(value, "departments", department)?,
            prechat_form: form_spec(value.get("prechat_form")?)?,
            offline_form: form_spec(value.get("offline_form")?)?,
            texts: value.get("texts")?.clone(),
            color: string(value, "color")?,
            position: string(value, "position")?,
            greetings: value.get("greetings")?.clone(),
            language: string(value, "language")?,
            takes_files: !value.get("attachment_types")?.as_array()?.is_empty(),
            max_bytes: value.get("attachment_max_bytes")?.as_u64()?,
            transcript_email: value.get("transcript_email")?.as_bool()?,
            sound: defaulted(value, "sound", Value::as_bool)?,
        })
    }
}

impl FromJson for WidgetSessionResponse {
    fn from_json(value: &Value) -> Option<Self> {
        Some(WidgetSessionResponse {
            visitor_id: id(value.get("visitor_id")?)?,
            site_id: id(value.get("site_id")?)?,
            token: string(value, "token")?,
        })
    }
}

impl FromJson for ApiError {
    fn from_json(value: &Value) -> Option<Self> {
        Some(ApiError {
            code: error_code(value.get("code")?)?,
            message: string(value, "message")?,
        })
    }
}

fn pending_send(value: &Value) -> Option<PendingSend> {
    Some(PendingSend {
        client_id: client_id(value.get("client_id")?)?,
        conversation_id: maybe(value, "conversation_id", id)?,
        department_id: maybe(value, "department_id", id)?,
        body: bellhop_protocol::MessageBody::parse(string(value, "body")?).ok()?,
        queued_at: value.get("queued_at")?.as_i64()?,
    })
}

/// What the panel keeps across reloads (see `panel`): the core's snapshot and whether the
/// pre-chat form was done, as `{"core":{…},"prechat_done":…}`.
pub(crate) fn kept_from_json(text: &str) -> Option<(Snapshot, bool)> {
    let kept = json::parse(text)?;
    let core = kept.get("core")?;
    let snapshot = Snapshot {
        resume: list(core, "resume", resume_point)?,
        finished: list_or_empty(core, "finished", resume_point)?,
        outbox: list(core, "outbox", pending_send)?,
    };
    let prechat_done = defaulted(&kept, "prechat_done", Value::as_bool)?;
    Some((snapshot, prechat_done))
}

// --- Writing -----------------------------------------------------------------------------

/// A hyphenated lower-case UUID, as serde writes ids (and `Display` does, without the
/// formatting code).
pub(crate) fn uuid_text(id: &Uuid) -> String {
    id.hyphenated()
        .encode_lower(&mut Uuid::encode_buffer())
        .to_owned()
}

impl Obj {
    fn id(self, key: &str, id: &Uuid) -> Self {
        self.str(key, &uuid_text(id))
    }

    fn opt_id(self, key: &str, id: Option<&Uuid>) -> Self {
        match id {
            Some(id) => self.id(key, id),
            None => self,
        }
    }
}

fn resume_json(point: &ResumePoint) -> String {
    Obj::new()
        .id("conversation_id", point.conversation_id.as_uuid())
        .u64("last_seq", point.last_seq)
        .done()
}

fn pending_json(send: &PendingSend) -> String {
    Obj::new()
        .str("client_id", send.client_id.as_str())
        .opt_id(
            "conversation_id",
            send.conversation_id.as_ref().map(ConversationId::as_uuid),
        )
        .opt_id(
            "department_id",
            send.department_id.as_ref().map(|d| d.as_uuid()),
        )
        .str("body", send.body.as_str())
        .i64("queued_at", send.queued_at)
        .done()
}

/// See [`kept_from_json`].
pub(crate) fn kept_json(core: &Snapshot, prechat_done: bool) -> String {
    let mut snapshot = Obj::new().raw("resume", &array(&core.resume, resume_json));
    if !core.finished.is_empty() {
        snapshot = snapshot.raw("finished", &array(&core.finished, resume_json));
    }
    let snapshot = snapshot
        .raw("outbox", &array(&core.outbox, pending_json))
        .done();
    Obj::new()
        .raw("core", &snapshot)
        .bool("prechat_done", prechat_done)
        .done()
}

/// A visitor frame as its JSON text.
pub(crate) fn visitor_frame_json(frame: &VisitorFrame) -> String {
    match frame {
        VisitorFrame::Hello { v, token, resume } => Obj::new()
            .str("type", "hello")
            .u64("v", u64::from(*v))
            .str("token", token)
            .raw("resume", &array(resume, resume_json)),
        VisitorFrame::Send {
            client_id,
            conversation_id,
            department_id,
            body,
        } => Obj::new()
            .str("type", "send")
            .str("client_id", client_id.as_str())
            .opt_id(
                "conversation_id",
                conversation_id.as_ref().map(ConversationId::as_uuid),
            )
            .opt_id("department_id", department_id.as_ref().map(|d| d.as_uuid()))
            .str("body", body.as_str()),
        VisitorFrame::Typing {
            conversation_id,
            typing,
        } => Obj::new()
            .str("type", "typing")
            .id("conversation_id", conversation_id.as_uuid())
            .bool("typing", *typing),
        VisitorFrame::Close { conversation_id } => Obj::new()
            .str("type", "close")
            .id("conversation_id", conversation_id.as_uuid()),
        VisitorFrame::Peek {
            conversation_id,
            text,
        } => Obj::new()
            .str("type", "peek")
            .id("conversation_id", conversation_id.as_uuid())
            .str("text", text),
        VisitorFrame::Read {
            conversation_id,
            seq,
        } => Obj::new()
            .str("type", "read")
            .id("conversation_id", conversation_id.as_uuid())
            .u64("seq", *seq),
    }
    .done()
}

/// A frame of the core's as its JSON text. The panel speaks as a visitor only, so agent
/// frames (which it never has the credentials to make) have none.
pub(crate) fn client_frame_json(frame: &ClientFrame) -> Option<String> {
    match frame {
        ClientFrame::Visitor(frame) => Some(visitor_frame_json(frame)),
        ClientFrame::Agent(_) => None,
    }
}

/// A verified identity from the site's page (`Bellhop.identify`): the protocol's
/// `VisitorIdentity`, with its attributes as the JSON object text the page gave. The server
/// reads them into its own sorted map and checks the signature over that, so the panel needs
/// no JSON values of its own for them.
pub(crate) struct VerifiedIdentity {
    pub(crate) user_id: String,
    pub(crate) attributes: String,
    pub(crate) signature: String,
}

/// `POST /api/v1/widget/session`: the protocol's `WidgetSessionRequest`, carrying a
/// [`VerifiedIdentity`].
pub(crate) struct SessionRequest {
    pub(crate) widget_key: String,
    pub(crate) token: Option<String>,
    pub(crate) identity: Option<VerifiedIdentity>,
}

impl ToJson for json::Text {
    fn to_json(&self) -> String {
        self.0.clone()
    }
}

impl ToJson for SessionRequest {
    fn to_json(&self) -> String {
        let body = Obj::new()
            .str("widget_key", &self.widget_key)
            .opt_str("token", self.token.as_deref());
        match &self.identity {
            Some(identity) => body.raw(
                "identity",
                &Obj::new()
                    .str("user_id", &identity.user_id)
                    .raw("attributes", &identity.attributes)
                    .str("signature", &identity.signature)
                    .done(),
            ),
            None => body,
        }
        .done()
    }
}

/// `POST /api/v1/widget/leads`: the protocol's `LeadSubmission`, its fields in the order the
/// form has them (the server keeps them by name).
pub(crate) struct LeadForm {
    pub(crate) kind: LeadKind,
    pub(crate) department_id: Option<DepartmentId>,
    pub(crate) fields: SmallMap<String>,
    pub(crate) consent: bool,
    pub(crate) page: PageContext,
}

fn page_json(page: &PageContext) -> String {
    Obj::new()
        .opt_str("landing_page", page.landing_page.as_deref())
        .opt_str("current_page", page.current_page.as_deref())
        .opt_str("referrer", page.referrer.as_deref())
        .done()
}

impl ToJson for LeadForm {
    fn to_json(&self) -> String {
        let mut fields = Obj::new();
        for (name, value) in self.fields.iter() {
            fields = fields.str(name, value);
        }
        Obj::new()
            .str("kind", self.kind.as_str())
            .opt_id(
                "department_id",
                self.department_id.as_ref().map(|d| d.as_uuid()),
            )
            .raw("fields", &fields.done())
            .bool("consent", self.consent)
            .raw("page", &page_json(&self.page))
            .done()
    }
}

#[cfg(test)]
mod tests;
