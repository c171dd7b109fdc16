//! REST request and response bodies (`/api/v1/...`). Errors are [`crate::error::ApiError`].

use serde::{Deserialize, Serialize};

use crate::frames::{Conversation, Message, Millis};
use crate::ids::{AgentId, ConversationId, SiteId, VisitorId};

/// An agent's role. Agents chat; supervisors also read every transcript of their sites;
/// admins also manage sites and agents, across all sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// `POST /api/v1/auth/login`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
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
}

/// `POST /api/v1/agents` (admins).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewAgentRequest {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chats: Option<u32>,
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
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WidgetSessionResponse {
    pub visitor_id: VisitorId,
    pub site_id: SiteId,
    /// Server-signed; names this visitor of this site only. Keep it in the browser.
    pub token: String,
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
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
}
