//! What the agent console exchanges beyond the core chat: private notes and whispers, canned
//! replies, an agent's preferences and sites, the queue and the wallboard (pushed over the agent
//! socket), reports, and the privacy tools (retention, export, erase, audit).
//!
//! The frames that carry these are in [`crate::frames`] (`note`, `watch`, `pick`, `subscribe`
//! from the console; `note_added`, `viewers`, `conversation_updated`, `queue`, `wallboard` from
//! the server); the REST routes are listed in `docs/protocol.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::{Lead, PageContext, Role, Utm};
use crate::frames::{
    AgentRef, AgentStatus, Attachment, Conversation, Message, Millis, Priority, Rating,
};
use crate::ids::{AgentId, CannedReplyId, ConversationId, DepartmentId, NoteId, SiteId, VisitorId};
use crate::text::ClientMessageId;
use crate::wire_name::wire_names;

// ---------------------------------------------------------------------------------------------
// Notes and whispers

/// What kind of agents-only text a [`Note`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// Written by the agent who serves the conversation (or anyone before it was assigned).
    Note,
    /// Written by a supervisor or admin who does not serve it, to the serving agent.
    Whisper,
    /// The note a transfer carried to the colleague or department.
    Transfer,
}

/// A private note in a conversation: shown to agents only. Notes are not messages: they have
/// their own ids and never take a message `seq`, so a visitor's stream stays gapless and no
/// visitor socket, transcript or mail can carry one. `after_seq` places it in the timeline
/// (after the message with that `seq`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: NoteId,
    pub conversation_id: ConversationId,
    pub kind: NoteKind,
    pub author: AgentRef,
    pub body: String,
    /// The author's id for the note, so the console can match it to what it sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientMessageId>,
    pub after_seq: u64,
    pub created_at: Millis,
}

/// `GET /api/v1/conversations/{id}/notes`: every note of the conversation, oldest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NoteList {
    pub notes: Vec<Note>,
}

// ---------------------------------------------------------------------------------------------
// Canned replies

/// A prepared answer agents insert by typing `/shortcut`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReply {
    pub id: CannedReplyId,
    pub site_id: SiteId,
    /// Only for this department's chats; absent: the whole site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    /// What follows the `/`: 1 to 32 of `a-z 0-9 _ -`, unique per site and department.
    pub shortcut: String,
    /// The text inserted (at most 4000 characters).
    pub body: String,
}

/// `POST /api/v1/canned-replies` (supervisors and admins of the site).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCannedReply {
    pub site_id: SiteId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    pub shortcut: String,
    pub body: String,
}

/// `PATCH /api/v1/canned-replies/{id}`: absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedReplyUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortcut: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// `GET /api/v1/canned-replies?site=`: the replies of the caller's sites (or of one), sorted
/// by shortcut.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CannedReplyList {
    pub replies: Vec<CannedReply>,
}

/// The query of `GET /api/v1/canned-replies`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CannedReplyQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
}

// ---------------------------------------------------------------------------------------------
// The agent's own settings and sites

/// The console's language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    En,
    Ru,
}

wire_names!(Language, NoteKind, ReportGroup);

/// What an agent chose for their console (`GET` / `PUT /api/v1/me/preferences`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentPreferences {
    pub language: Language,
    /// A sound on a new chat or message.
    pub sound: bool,
    /// Browser notifications when the console is in the background (if the browser allows).
    pub notifications: bool,
    /// Become `away` after this many minutes without input (0: never).
    pub auto_away_minutes: u32,
}

impl Default for AgentPreferences {
    fn default() -> Self {
        Self {
            language: Language::En,
            sound: true,
            notifications: true,
            auto_away_minutes: 0,
        }
    }
}

/// What an agent needs to know of one of their sites (`GET /api/v1/me/sites`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSummary {
    pub id: SiteId,
    pub name: String,
    /// A chat whose visitor waited longer than this for an answer is highlighted.
    pub answer_target_secs: u32,
    /// Closed conversations older than this many days are deleted (0: kept for ever).
    #[serde(default)]
    pub retention_days: u32,
    /// The site's time zone (its business hours', else `UTC`): reports and "today" use it.
    pub time_zone: String,
    pub departments: Vec<DepartmentRef>,
    /// Attachment types agents may send here (empty: none).
    pub attachment_types: Vec<String>,
    pub attachment_max_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentRef {
    pub id: DepartmentId,
    pub name: String,
}

/// `GET /api/v1/me/sites`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MySites {
    pub sites: Vec<SiteSummary>,
    /// The colleagues of those sites, for transfers and "who is viewing".
    pub agents: Vec<Colleague>,
}

/// A colleague as the console lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Colleague {
    pub id: AgentId,
    pub display_name: String,
    pub role: Role,
    pub status: AgentStatus,
    pub sites: Vec<SiteId>,
    pub departments: Vec<DepartmentId>,
}

// ---------------------------------------------------------------------------------------------
// Live feeds over the agent socket

/// A feed an agent socket subscribes to with `subscribe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// The waiting chats of the agent's sites (agents who may pick, supervisors, admins).
    Queue,
    /// Queue depth, agents and today's figures of the caller's sites (supervisors, admins).
    Wallboard,
}

/// One waiting chat, as the queue view shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub conversation_id: ConversationId,
    pub site_id: SiteId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    pub priority: Priority,
    /// 1 = next in its queue.
    pub position: u32,
    /// Since when it has waited (its opening, or its return to the queue).
    pub waiting_since: Millis,
    /// The visitor's name, if a form or the site gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_name: Option<String>,
    /// The start of the visitor's last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
}

/// The `queue` frame's content: every waiting chat of the subscriber's sites.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub entries: Vec<QueueEntry>,
}

/// The `wallboard` frame's content: a whole board, pushed on subscribing and whenever it
/// changed (at most once per `wallboard.interval_ms`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallboard {
    pub generated_at: Millis,
    pub departments: Vec<DepartmentBoard>,
    pub agents: Vec<AgentBoard>,
    /// Today's figures per site, "today" in the site's time zone.
    pub sites: Vec<SiteToday>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentBoard {
    pub site_id: SiteId,
    pub department_id: DepartmentId,
    pub name: String,
    pub queued: u32,
    /// Since when the longest-waiting chat has waited (absent: none waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_waiting_since: Option<Millis>,
    pub agents_online: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentBoard {
    pub agent: AgentRef,
    pub status: AgentStatus,
    pub open_chats: u32,
    pub max_chats: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteToday {
    pub site_id: SiteId,
    pub name: String,
    /// The local date of "today", `YYYY-MM-DD`.
    pub date: String,
    pub chats: u32,
    pub missed: u32,
    /// Mean time from a chat's opening to the first agent message, over today's answered
    /// chats (absent: none answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_first_response_ms: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// The visitor panel

/// `GET /api/v1/conversations/{id}/context` (whoever may read the conversation): everything
/// the console shows beside a chat about its visitor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitorContext {
    pub visitor_id: VisitorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The site's server vouched for who this is (identity verification).
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub verified_attributes: BTreeMap<String, serde_json::Value>,
    pub page_attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub page: PageContext,
    #[serde(default)]
    pub utm: Utm,
    /// The browser's `User-Agent` when the visitor's session began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The visitor's IANA time zone, as their browser said, for their local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The visitor's other conversations on this site, newest first.
    pub past_conversations: Vec<PastConversation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastConversation {
    pub id: ConversationId,
    pub created_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

/// `POST /api/v1/sites/{id}/visitors/{browser_id}/invite` (supervisors and admins of the
/// site): a proactive message the widget on that browser shows beside the bubble at its next
/// presence beat (within the invite's lifetime).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub text: String,
}

/// The answer to a presence beat: an invitation waiting for this browser, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<Invite>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub text: String,
    /// The inviting agent's display name.
    pub agent_name: String,
}

// ---------------------------------------------------------------------------------------------
// Reports

/// How a report's rows are grouped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportGroup {
    #[default]
    Day,
    Agent,
    Department,
}

/// The query of `GET /api/v1/reports` and `GET /api/v1/reports.csv` (supervisors and admins
/// of the site): chats that opened on local dates `from` to `to` (inclusive, `YYYY-MM-DD` in
/// the site's time zone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    pub site: SiteId,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub group: ReportGroup,
}

/// A report: one row per group (every day of the range for [`ReportGroup::Day`], even empty
/// ones), and the total.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub site_id: SiteId,
    pub time_zone: String,
    pub from: String,
    pub to: String,
    pub group: ReportGroup,
    pub rows: Vec<ReportRow>,
    pub total: ReportRow,
}

/// The figures of one group. Times are means in milliseconds over the chats they apply to
/// (absent: none did).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    /// The date, agent id or department id.
    pub key: String,
    /// What to show for it: the date, the agent's or department's name.
    pub label: String,
    pub chats: u32,
    /// Closed before any agent answered.
    pub missed: u32,
    /// Opening to the first agent message, over answered chats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_first_response_ms: Option<u64>,
    /// Opening to the first assignment, over assigned chats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_queue_wait_ms: Option<u64>,
    /// Opening to closing, over closed chats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_duration_ms: Option<u64>,
    pub ratings: u32,
    /// The mean score of the ratings (1 to 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csat_average: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Privacy

/// `GET /api/v1/visitors/{id}/export` (admins): everything stored about one visitor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitorExport {
    pub visitor_id: VisitorId,
    pub site_id: SiteId,
    pub exported_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub verified_attributes: BTreeMap<String, serde_json::Value>,
    pub page_attributes: BTreeMap<String, serde_json::Value>,
    /// The pages the widget last told of (its session), the browser and its time zone.
    #[serde(default)]
    pub page: PageContext,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    pub conversations: Vec<ExportedConversation>,
    pub leads: Vec<Lead>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedConversation {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    pub notes: Vec<Note>,
    pub attachments: Vec<Attachment>,
}

/// One audited action (export, erase, retention sweep, settings change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Millis,
    /// Absent for the server's own actions (the retention sweeper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<AgentRef>,
    /// `visitor_exported`, `visitor_erased`, `retention_swept`, …
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
    /// What it was done to (a visitor id, a count of conversations, …).
    pub subject: String,
}

/// The query of `GET /api/v1/audit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    /// Only this site's entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    /// At most this many (1 to 1000; absent: 200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `GET /api/v1/audit?site=` (admins): newest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
}
