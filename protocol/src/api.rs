//! REST request and response bodies (`/api/v1/...`). Errors are [`crate::error::ApiError`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::frames::{AgentStatus, Attachment, Conversation, Message, Millis};
use crate::ids::{AgentId, ConversationId, DepartmentId, LeadId, SiteId, VisitorId};
use crate::text::{ChatCap, DisplayName, Email, Password};
use crate::wire_name::wire_names;

/// An agent's role. Agents chat; supervisors also read every transcript of their sites;
/// admins also manage sites and agents, across all sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

wire_names!(Role, LeadKind);

/// `POST /api/v1/auth/login`. The email is not parsed as an [`Email`]: a malformed one is
/// just an unknown account (`invalid_credentials`), as a wrong password is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: Password,
}

/// The answer to a login: a bearer token (also set as the HttpOnly `bellhop_session` cookie).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: Millis,
    pub agent: AgentProfile,
}

/// `GET /api/v1/me` and elements of `GET /api/v1/agents`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    pub id: AgentId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// How many open chats the router gives this agent at most.
    pub max_chats: u32,
    pub sites: Vec<SiteId>,
    /// The departments whose queues this agent serves.
    #[serde(default)]
    pub departments: Vec<DepartmentId>,
    #[serde(default = "offline")]
    pub status: AgentStatus,
    /// A deactivated agent cannot log in and gets no chats.
    #[serde(default = "active")]
    pub active: bool,
    /// May take waiting chats from the queue view (`pick`).
    #[serde(default = "active")]
    pub may_pick: bool,
    /// The agent's console settings.
    #[serde(default)]
    pub preferences: crate::console::AgentPreferences,
}

fn active() -> bool {
    true
}

fn offline() -> AgentStatus {
    AgentStatus::Offline
}

/// `PATCH /api/v1/agents/{id}` (admins): absent fields stay as they are.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chats: Option<ChatCap>,
    /// Replaces the agent's departments (each must belong to one of the agent's sites).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departments: Option<Vec<DepartmentId>>,
    /// A new role. Ends the agent's sessions: their live sockets close with
    /// [`crate::close_code::SESSION_ENDED`] and they log in again under the new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Replaces the agent's sites. Removing a site ends the agent's sessions and puts their
    /// chats of that site back in its queue; departments of removed sites are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Vec<SiteId>>,
    /// `false` deactivates the agent: their sessions end, their open chats go back to the
    /// queue and they cannot log in; `true` lets them log in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<DisplayName>,
    /// Whether the agent may take chats from the queue view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_pick: Option<bool>,
}

/// `POST /api/v1/me/password`: the agent's current password and the new one. Every session of
/// the agent ends (their live sockets close with [`crate::close_code::SESSION_ENDED`]); the
/// answer is a [`LoginResponse`] with a fresh session for the caller.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: Password,
    pub new_password: Password,
}

/// `POST /api/v1/agents/{id}/password` (admins): sets another agent's password, ends every
/// session of theirs and lifts a login lock on the account.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub new_password: Password,
}

/// A department (topic) of a site: its own queue, its own agents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: DepartmentId,
    pub site_id: SiteId,
    pub name: String,
    /// Serves this department's queue when none of its own agents is online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_id: Option<DepartmentId>,
    /// Its own opening hours; absent: the site's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<BusinessHours>,
}

/// `POST /api/v1/sites/{id}/departments` (admins).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDepartmentRequest {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_id: Option<DepartmentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<BusinessHours>,
}

/// `GET /api/v1/sites/{id}/departments`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DepartmentList {
    pub departments: Vec<Department>,
}

/// One assignment decision, as `GET /api/v1/conversations/{id}/routing` shows it to admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingDecision {
    pub decided_at: Millis,
    /// The agent chosen; absent when the conversation went (back) to a queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    pub rule: RoutingRule,
    pub candidates: Vec<RoutingCandidate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a routing decision went the way it did. The names here are the only spelling of each
/// rule: the JSON and the database both use [`RoutingRule::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum RoutingRule {
    /// The agent who served the visitor's previous conversation.
    Sticky,
    /// The one candidate with the fewest open chats.
    LeastLoaded,
    /// Among those with the fewest open chats, the one idle longest (then the lowest id).
    LongestIdle,
    /// Only one candidate had room.
    OnlyCandidate,
    /// Nobody of the department was available; an agent of its fallback department.
    FallbackDepartment,
    /// A transfer to an agent.
    TransferToAgent,
    /// A transfer to a department's queue.
    TransferToDepartment,
    /// The agent stayed offline past the grace period; back to the queue.
    RequeuedAfterGrace,
    /// The agent was deactivated or removed from the site; back to the queue.
    RequeuedAgentRemoved,
    /// The agent took the waiting conversation from the queue view (`pick`).
    Picked,
}

impl RoutingRule {
    pub const ALL: [RoutingRule; 10] = [
        RoutingRule::Sticky,
        RoutingRule::LeastLoaded,
        RoutingRule::LongestIdle,
        RoutingRule::OnlyCandidate,
        RoutingRule::FallbackDepartment,
        RoutingRule::TransferToAgent,
        RoutingRule::TransferToDepartment,
        RoutingRule::RequeuedAfterGrace,
        RoutingRule::RequeuedAgentRemoved,
        RoutingRule::Picked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoutingRule::Sticky => "sticky",
            RoutingRule::LeastLoaded => "least_loaded",
            RoutingRule::LongestIdle => "longest_idle",
            RoutingRule::OnlyCandidate => "only_candidate",
            RoutingRule::FallbackDepartment => "fallback_department",
            RoutingRule::TransferToAgent => "transfer_to_agent",
            RoutingRule::TransferToDepartment => "transfer_to_department",
            RoutingRule::RequeuedAfterGrace => "requeued_after_grace",
            RoutingRule::RequeuedAgentRemoved => "requeued_agent_removed",
            RoutingRule::Picked => "picked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.as_str() == s)
    }

    /// Whether the router chose the agent by itself (not a transfer, a re-queue or an
    /// agent's pick).
    pub fn is_automatic(self) -> bool {
        !matches!(
            self,
            RoutingRule::TransferToAgent
                | RoutingRule::TransferToDepartment
                | RoutingRule::RequeuedAfterGrace
                | RoutingRule::RequeuedAgentRemoved
                | RoutingRule::Picked
        )
    }

    /// Whether the decision served a conversation from its department's queue (the router's
    /// choices and agents' picks), so it says something about the department's throughput.
    pub fn takes_from_queue(self) -> bool {
        self.is_automatic() || self == RoutingRule::Picked
    }
}

impl From<RoutingRule> for &'static str {
    fn from(rule: RoutingRule) -> Self {
        rule.as_str()
    }
}

impl TryFrom<String> for RoutingRule {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        RoutingRule::parse(&s).ok_or_else(|| format!("unknown routing rule {s:?}"))
    }
}

impl std::fmt::Display for RoutingRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent the router considered, with what it knew about them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingCandidate {
    pub agent_id: AgentId,
    pub open_chats: u32,
    pub max_chats: u32,
    pub idle_since: Millis,
    /// Served this visitor before.
    pub sticky: bool,
}

/// `GET /api/v1/conversations/{id}/routing`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoutingAudit {
    pub conversation_id: ConversationId,
    pub decisions: Vec<RoutingDecision>,
}

/// `POST /api/v1/agents` (admins). Deserialising checks every field but the password's
/// length, which the server checks (it applies to `bellhop agent add` too).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewAgentRequest {
    pub email: Email,
    pub display_name: DisplayName,
    pub password: Password,
    pub role: Role,
    /// Absent: the server's default cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chats: Option<ChatCap>,
    pub sites: Vec<SiteId>,
}

/// A site's settings, as admins see and edit them (`GET /api/v1/sites/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSettings {
    pub id: SiteId,
    pub name: String,
    /// The public key the site's script tag carries.
    pub widget_key: String,
    /// Origins (`scheme://host[:port]`) whose pages may open the widget's socket.
    pub allowed_origins: Vec<String>,
    /// The automatic acknowledgement a visitor gets the moment their first message arrives.
    pub auto_reply: String,
    /// The queue a conversation joins when the visitor picks no department.
    pub default_department_id: DepartmentId,
    #[serde(default)]
    pub config: SiteConfig,
}

/// What a site configures beyond the basics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// Opening hours; absent means always open. Departments may have their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    /// Asked before a chat starts (off by default).
    pub prechat_form: FormSpec,
    /// Offered instead of the queue outside business hours or when nobody is online.
    pub offline_form: FormSpec,
    /// A chat whose visitor has been silent this long is closed (0: never).
    pub inactivity_timeout_secs: u64,
    /// Stored in the chat when it is closed for inactivity.
    pub inactivity_message: String,
    /// Key for identity verification: the site signs its logged-in user's id and attributes
    /// with it (see [`VisitorIdentity`]). Only admins see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_secret: Option<String>,
    /// A verified attribute that makes a visitor's chats urgent when it is `true`, e.g. `vip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgent_attribute: Option<String>,
    /// How the widget looks and speaks on this site.
    pub widget: WidgetLook,
    /// Proactive greetings the loader shows beside the bubble, first matching rule wins.
    pub greetings: Vec<GreetingRule>,
    /// Which files visitors and agents may attach, and how large.
    pub attachments: AttachmentPolicy,
    /// A visitor waiting longer than this for an agent's answer is highlighted in the console.
    pub answer_target_secs: u32,
    /// Closed conversations older than this many days are deleted with their messages, notes
    /// and files (0: kept for ever).
    pub retention_days: u32,
}

/// The widget's colour, side, language and texts on one site.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetLook {
    /// The accent colour, `#rrggbb`.
    pub color: String,
    pub position: WidgetPosition,
    /// The language when the page's `lang` names none the widget speaks (`en` or `ru`).
    pub language: String,
    /// Per language (`en`, `ru`), texts that replace the widget's defaults, by text key
    /// (the keys are listed in `docs/widget.md`). Unknown keys are refused.
    pub texts: BTreeMap<String, BTreeMap<String, String>>,
    /// A short chime when an agent's message arrives while the panel is closed (off by
    /// default).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sound: bool,
}

impl Default for WidgetLook {
    fn default() -> Self {
        Self {
            color: "#1f5fbf".into(),
            position: WidgetPosition::Right,
            language: "en".into(),
            texts: BTreeMap::new(),
            sound: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetPosition {
    Left,
    #[default]
    Right,
}

/// A proactive greeting: shown beside the bubble when the page's URL contains `url_contains`
/// (absent: any page), the visitor has been on the page `after_secs`, and the visitor is the
/// `audience`. Shown once per visitor and rule; never to a visitor with an open chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreetingRule {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_contains: Option<String>,
    #[serde(default)]
    pub after_secs: u32,
    #[serde(default)]
    pub audience: GreetingAudience,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GreetingAudience {
    #[default]
    Everyone,
    /// First visit to the site from this browser.
    New,
    /// Has been on the site before (another day or session).
    Returning,
}

/// Files a site accepts. Types are checked by the file's first bytes, never by its name or
/// declared type; the known types are `image/png`, `image/jpeg`, `image/gif`, `image/webp`,
/// `application/pdf` and `text/plain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentPolicy {
    /// Empty: attachments are off on this site.
    pub allowed_types: Vec<String>,
    pub max_bytes: u64,
}

impl Default for AttachmentPolicy {
    fn default() -> Self {
        Self {
            allowed_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
            ]
            .map(String::from)
            .to_vec(),
            max_bytes: 10 * 1024 * 1024,
        }
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        let field = |name: &str, label: &str, kind: FieldKind, required: bool| FormField {
            name: name.into(),
            label: label.into(),
            kind,
            required,
        };
        Self {
            business_hours: None,
            prechat_form: FormSpec {
                enabled: false,
                fields: vec![
                    field("name", "Name", FieldKind::Text, false),
                    field("email", "Email", FieldKind::Email, false),
                ],
                consent_text: None,
            },
            offline_form: FormSpec {
                enabled: true,
                fields: vec![
                    field("name", "Name", FieldKind::Text, true),
                    field("email", "Email", FieldKind::Email, true),
                    field("message", "Message", FieldKind::Textarea, true),
                ],
                consent_text: None,
            },
            identity_secret: None,
            urgent_attribute: None,
            widget: WidgetLook::default(),
            greetings: Vec::new(),
            attachments: AttachmentPolicy::default(),
            answer_target_secs: 30,
            retention_days: 0,
            inactivity_timeout_secs: 30 * 60,
            inactivity_message: "This chat was closed after a period of inactivity. Write again \
                                 any time to start a new one."
                .into(),
        }
    }
}

/// A form the widget shows: standard fields `name`, `email`, `phone`, `message`, and any
/// custom ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    pub enabled: bool,
    pub fields: Vec<FormField>,
    /// When set, the visitor must tick a box with this text before submitting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// `name`, `email`, `phone` and `message` are stored in their own lead columns; any other
    /// name is a custom field.
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    Text,
    Email,
    Phone,
    Textarea,
}

/// `GET /api/v1/widget/config?key=WIDGET_KEY`: what the widget needs before a chat.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WidgetConfig {
    pub site_id: SiteId,
    pub site_name: String,
    /// Whether a chat can start now (site-wide: the default department).
    pub availability: Availability,
    pub departments: Vec<WidgetDepartment>,
    pub default_department_id: DepartmentId,
    pub prechat_form: FormSpec,
    pub offline_form: FormSpec,
    /// Colour and side (the texts are in `texts`).
    pub color: String,
    pub position: WidgetPosition,
    /// The language of `texts`: the `lang` asked for if the widget speaks it, else the site's.
    pub language: String,
    /// Every widget text in `language`, the site's overrides applied.
    pub texts: BTreeMap<String, String>,
    pub greetings: Vec<GreetingRule>,
    /// Types the site accepts as attachments (none: the widget hides the button).
    pub attachment_types: Vec<String>,
    /// The largest attachment, in bytes.
    pub attachment_max_bytes: u64,
    /// "Email me the transcript" is offered (an SMTP server is configured).
    pub transcript_email: bool,
    /// Chime when an agent's message arrives while the panel is closed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sound: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WidgetDepartment {
    pub id: DepartmentId,
    pub name: String,
    pub availability: Availability,
}

/// Whether a visitor can start a chat now; if not, why, and when it opens next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub open: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ClosedReason>,
    /// The next opening by the business hours, if closed by them and known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_open_at: Option<Millis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedReason {
    /// Outside business hours: new chats are refused with `offline`.
    OutsideHours,
    /// Open, but no agent is online: the widget should offer the offline form (a chat started
    /// anyway waits in the queue).
    NoAgentsOnline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadKind {
    Prechat,
    Offline,
}

/// Where the visitor was: the page they landed on (its query carries the UTM parameters), the
/// page they are on, and where they came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_page: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
}

impl PageContext {
    /// Whether no page is named at all.
    pub fn is_empty(&self) -> bool {
        self.landing_page.is_none() && self.current_page.is_none() && self.referrer.is_none()
    }
}

/// `POST /api/v1/widget/leads` (visitor token): a filled-in pre-chat or offline form.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadSubmission {
    pub kind: LeadKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    /// Field name → value, as the form defines them.
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub consent: bool,
    #[serde(default)]
    pub page: PageContext,
}

/// UTM parameters from the landing page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Utm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A stored lead (`GET /api/v1/leads`, and one CSV row of `GET /api/v1/leads.csv`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub site_id: SiteId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<VisitorId>,
    pub kind: LeadKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    pub consent: bool,
    #[serde(default)]
    pub page: PageContext,
    #[serde(default)]
    pub utm: Utm,
    pub created_at: Millis,
    /// The visitor's conversation the lead belongs to (the chat a pre-chat form opened, or the
    /// one open when the form was sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
}

/// `GET /api/v1/leads`: one page of leads, newest first. `next_before` is set when more
/// follow; pass it as `before` to get the next page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeadList {
    pub leads: Vec<Lead>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<LeadCursor>,
}

/// Where a page of leads ended: the next page holds the leads listed after that one, those
/// created earlier or in the same millisecond with a smaller id. On the wire it is
/// `CREATED_AT.ID` (`1741977965921.019595fa-5561-7632-a0c5-154e0ff9bb51`); clients pass it
/// back as they got it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeadCursor {
    pub created_at: Millis,
    pub id: LeadId,
}

impl LeadCursor {
    /// The cursor of the page that ends with `lead`.
    pub fn of(lead: &Lead) -> Self {
        Self {
            created_at: lead.created_at,
            id: lead.id,
        }
    }
}

impl std::fmt::Display for LeadCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.created_at, self.id)
    }
}

impl TryFrom<String> for LeadCursor {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        const BAD: &str = "a lead cursor is the next_before of a page of leads";
        let (created_at, id) = text.split_once('.').ok_or(BAD)?;
        Ok(Self {
            created_at: created_at.parse().map_err(|_| BAD)?,
            id: id.parse().map_err(|_| BAD)?,
        })
    }
}

impl From<LeadCursor> for String {
    fn from(cursor: LeadCursor) -> Self {
        cursor.to_string()
    }
}

/// `POST /api/v1/sites` (admins).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewSiteRequest {
    pub name: String,
    pub allowed_origins: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_reply: Option<String>,
}

/// `PATCH /api/v1/sites/{id}` (admins): absent fields stay as they are.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSettingsUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_reply: Option<String>,
    /// Replaces the whole configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<SiteConfig>,
}

/// `GET /api/v1/sites`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SiteList {
    pub sites: Vec<SiteSettings>,
}

/// `POST /api/v1/widget/session`: the widget asks for (or refreshes) its visitor token.
/// The request's `Origin` must be on the site's allow-list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WidgetSessionRequest {
    pub widget_key: String,
    /// A token this browser already holds; if it is valid for this site it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The site's logged-in user, signed by the site's server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<VisitorIdentity>,
    /// The page the widget runs on, the visit's landing page (its query carries the UTM
    /// parameters) and the referrer: kept with the visitor for the agent's visitor panel.
    #[serde(default, skip_serializing_if = "PageContext::is_empty")]
    pub page: PageContext,
    /// The browser's IANA time zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`), so
    /// agents see the visitor's local time. A name the server does not know is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// Identity verification: the site's server computes `signature` as the lowercase hex
/// HMAC-SHA256, keyed with the site's `identity_secret`, of `user_id`, a newline, and the
/// attributes as compact JSON with keys in sorted order (`{}` when there are none). A visitor
/// cannot claim another user id or attributes (such as `"vip": true`) without the key. The same
/// user id is the same visitor on every device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitorIdentity {
    pub user_id: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    pub signature: String,
}

impl VisitorIdentity {
    /// The exact bytes the signature covers.
    pub fn signed_payload(
        user_id: &str,
        attributes: &BTreeMap<String, serde_json::Value>,
    ) -> String {
        let attributes = serde_json::to_string(attributes).unwrap_or_else(|_| "{}".into());
        format!("{user_id}\n{attributes}")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WidgetSessionResponse {
    pub visitor_id: VisitorId,
    pub site_id: SiteId,
    /// Server-signed; names this visitor of this site only. Keep it in the browser.
    pub token: String,
}

/// `POST /api/v1/widget/conversations/{id}/rating` (visitor token): the visitor's rating of
/// a closed conversation of theirs, 1 to 5, with an optional comment (at most 2000
/// characters). Given once: a second one is `409 conflict`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `POST /api/v1/widget/conversations/{id}/transcript` (visitor token): mail the transcript
/// of a conversation of theirs to this address. Answered `202` once queued in the outbox;
/// `404 not_found` when no SMTP server is configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptRequest {
    pub email: Email,
}

/// The answer to an upload (`POST /api/v1/widget/attachments?conversation_id=&client_id=&name=`
/// with the visitor token, or `POST /api/v1/conversations/{id}/attachments?client_id=&name=`
/// for the serving agent; the body is the file's bytes): the file is stored and the message
/// carrying it committed with `seq`. Resending with the same `client_id` answers the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentUploaded {
    pub conversation_id: ConversationId,
    pub client_id: String,
    pub seq: u64,
    pub sent_at: Millis,
    pub attachment: Attachment,
}

/// The query of an upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadQuery {
    /// Absent for the agent route (the path names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
    pub client_id: String,
    pub name: String,
}

/// `POST /api/v1/widget/attributes` (visitor token): what the site's page tells about its
/// visitor (`Bellhop.setAttributes`), e.g. the plan or the cart's value. Unverified: anyone
/// can set them from the browser, unlike the signed ones of [`VisitorIdentity`], and they never
/// make a chat urgent. Merged into what is there; `null` removes a key. Keys are 1 to 64 of
/// `A-Z a-z 0-9 _ - .`; values strings (at most 500 characters), numbers or booleans; at most
/// 50 keys in all. The answer is every page attribute of the visitor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageAttributes {
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// `GET /api/v1/conversations/{id}/visitor` (whoever may read the conversation): who the
/// visitor is, as far as the site said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitorProfile {
    pub visitor_id: VisitorId,
    /// The site's own user id, when its server vouched for it (`identify` with a valid hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The attributes the site's server signed.
    pub verified_attributes: BTreeMap<String, serde_json::Value>,
    /// The attributes the site's page set (unverified).
    pub page_attributes: BTreeMap<String, serde_json::Value>,
}

/// `POST /api/v1/widget/presence` (no token; the `Origin` must be on the site's allow-list,
/// or be the panel's): a page view or a heartbeat of a visitor who may never chat. Kept in
/// memory with a time-to-live, never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceBeat {
    pub widget_key: String,
    /// A random id the loader keeps for this browser (not the visitor token).
    pub browser_id: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// The visitor has been on the site before.
    #[serde(default)]
    pub returning: bool,
    /// When this visit began (ms since the epoch, the browser's clock).
    pub visit_started_at: Millis,
}

/// `GET /api/v1/sites/{id}/visitors` (supervisors and admins): who is on the site now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveVisitorList {
    pub visitors: Vec<LiveVisitor>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveVisitor {
    pub browser_id: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    pub returning: bool,
    /// When the server first heard of this visit.
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub page_views: u32,
}

/// The query of `GET /api/v1/conversations?status=&scope=&limit=`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConversationQuery {
    /// Absent: [`StatusFilter::Open`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFilter>,
    /// Absent: [`ConversationScope::Mine`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ConversationScope>,
    /// At most this many (1 to 1000; absent: 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Which conversations a list shows by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Queued or assigned.
    #[default]
    Open,
    /// Closed ones too.
    All,
}

/// Whose conversations a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationScope {
    /// The ones assigned to the caller.
    #[default]
    Mine,
    /// Every conversation of the caller's sites (admins: of all sites); supervisors and
    /// admins only.
    Site,
}

wire_names!(StatusFilter, ConversationScope);

/// The query of `GET /api/v1/conversations/{id}/messages?after=&limit=`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptQuery {
    /// Messages with a greater `seq` (absent: 0, from the start).
    pub after: u64,
    /// Instead of `after`: the last `limit` messages with a smaller `seq` (paging back from
    /// the newest; `u64::MAX` for the newest page), still in `seq` order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// At most this many (1 to 500; absent: 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query of `GET /api/v1/leads` and `GET /api/v1/leads.csv`; every filter narrows the
/// list. `limit` and `before` page the list; the CSV export ignores them and holds every
/// matching lead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadQuery {
    /// Only this site (one the caller belongs to, unless an admin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<LeadKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<DepartmentId>,
    /// The landing page's `utm_source`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Created at or after (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Millis>,
    /// Created before (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Millis>,
    /// At most this many leads on the page (1 to 500; absent: 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The page after the one whose `next_before` this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<LeadCursor>,
}

/// `?key=WIDGET_KEY`: the query of `GET /api/v1/widget/config` and of the visitor socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetKeyQuery {
    /// The site's public widget key.
    pub key: String,
    /// The page's language (`ru`, `en-GB`, …) for the config's texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `GET /api/v1/conversations`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
}

/// `GET /api/v1/conversations/{id}/messages?after=SEQ&limit=N`: messages with
/// `seq > after`, in order. `next_after` is set when more follow.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TranscriptPage {
    pub conversation_id: ConversationId,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
    /// For a page asked with `before`: the `before` of the page of older messages, set when
    /// there are some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_before: Option<u64>,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// Opening hours of a site or department, in its own time zone. Outside them the widget offers
/// the offline form instead of the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// An IANA time zone name, e.g. `Europe/Berlin` or `Asia/Vladivostok`.
    pub time_zone: String,
    /// Opening intervals in local wall-clock time. A weekday with no interval is closed.
    pub weekly: Vec<OpeningInterval>,
    /// Local dates (`YYYY-MM-DD`) closed all day, whatever `weekly` says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed_dates: Vec<String>,
}

/// One opening interval: from `open` to `close` (`HH:MM`, local time) on `day`. `close` may be
/// `24:00`; a `close` earlier than `open` runs past midnight into the next day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningInterval {
    pub day: Weekday,
    pub open: String,
    pub close: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_are_their_serde_names() {
        for role in [Role::Agent, Role::Supervisor, Role::Admin] {
            let json = serde_json::to_string(&role).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(LeadKind::Prechat.as_str(), "prechat");
        assert_eq!(LeadKind::parse("offline"), Some(LeadKind::Offline));
        assert_eq!(LeadKind::parse("Offline"), None);
        assert_eq!(ConversationScope::Site.as_str(), "site");
    }

    #[test]
    fn list_queries_parse_from_url_queries() {
        let query: Result<ConversationQuery, _> =
            serde_json::from_value(serde_json::json!({"status": "all", "scope": "site"}));
        let query = query.ok().unwrap_or_default();
        assert_eq!(query.status, Some(StatusFilter::All));
        assert_eq!(query.scope, Some(ConversationScope::Site));
        let bad: Result<ConversationQuery, _> =
            serde_json::from_value(serde_json::json!({"status": "everything"}));
        assert!(bad.is_err());
        let leads: Result<LeadQuery, _> =
            serde_json::from_value(serde_json::json!({"kind": "webinar"}));
        assert!(leads.is_err());
    }

    #[test]
    fn a_lead_cursor_reads_back_what_it_writes() {
        let text = "1741977965921.019595fa-5561-7632-a0c5-154e0ff9bb51";
        let cursor = LeadCursor::try_from(text.to_owned());
        assert_eq!(cursor.map(String::from).as_deref(), Ok(text));
        for bad in [
            "",
            "1741977965921",
            "yesterday.019595fa-5561-7632-a0c5-154e0ff9bb51",
            "1.2",
        ] {
            assert!(LeadCursor::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_agent_bodies_are_checked_when_read() {
        let body = |email: &str, name: &str, cap: u32| {
            serde_json::from_value::<NewAgentRequest>(serde_json::json!({
                "email": email, "display_name": name, "password": "long enough",
                "role": "agent", "max_chats": cap, "sites": [],
            }))
        };
        let good = body(" Ann@Example.test", " Ann ", 3);
        assert!(good.is_ok());
        if let Ok(good) = good {
            assert_eq!(good.email.as_str(), "ann@example.test");
            assert_eq!(good.display_name.as_str(), "Ann");
            assert!(!format!("{good:?}").contains("long enough"));
        }
        assert!(body("ann", "Ann", 3).is_err());
        assert!(body("ann@example.test", "  ", 3).is_err());
        assert!(body("ann@example.test", "Ann", 101).is_err());
    }
}
