//! The console's shared state: reactive signals every view reads, provided once by the app.

use bellhop_protocol::api::AgentProfile;
use bellhop_protocol::console::{
    AgentPreferences, CannedReply, Language, MySites, QueueEntry, Wallboard,
};
use bellhop_protocol::frames::{AgentStatus, Millis};
use leptos::prelude::*;

use crate::i18n;
use crate::model::Inbox;

/// Where the console's connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Live,
    Reconnecting,
    /// The session ended (signed out elsewhere, password changed): sign in again.
    Ended,
    /// The agent chose to be offline: no socket.
    Off,
}

/// The views, by the page's `#` fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Inbox,
    Queue,
    Wallboard,
    Visitors,
    History,
    Admin,
    Leads,
    Reports,
    Settings,
}

impl Route {
    pub const ALL: [Route; 9] = [
        Route::Inbox,
        Route::Queue,
        Route::Wallboard,
        Route::Visitors,
        Route::History,
        Route::Leads,
        Route::Reports,
        Route::Admin,
        Route::Settings,
    ];

    pub fn from_hash(hash: &str) -> Route {
        let name = hash.trim_start_matches('#').trim_start_matches('/');
        let name = name.split(['/', '?']).next().unwrap_or("");
        Route::ALL
            .into_iter()
            .find(|r| r.slug() == name)
            .unwrap_or(Route::Inbox)
    }

    pub fn slug(self) -> &'static str {
        match self {
            Route::Inbox => "inbox",
            Route::Queue => "queue",
            Route::Wallboard => "wallboard",
            Route::Visitors => "visitors",
            Route::History => "transcripts",
            Route::Admin => "admin",
            Route::Leads => "leads",
            Route::Reports => "reports",
            Route::Settings => "settings",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Route::Inbox => "nav_inbox",
            Route::Queue => "nav_queue",
            Route::Wallboard => "nav_wallboard",
            Route::Visitors => "nav_visitors",
            Route::History => "nav_history",
            Route::Admin => "nav_admin",
            Route::Leads => "nav_leads",
            Route::Reports => "nav_reports",
            Route::Settings => "nav_settings",
        }
    }
}

/// Every signal the views share. Signals are `Copy`, so is this.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub me: RwSignal<Option<AgentProfile>>,
    pub inbox: RwSignal<Inbox>,
    pub status: RwSignal<AgentStatus>,
    pub conn: RwSignal<Conn>,
    pub sites: RwSignal<Option<MySites>>,
    pub canned: RwSignal<Vec<CannedReply>>,
    pub queue: RwSignal<Vec<QueueEntry>>,
    pub board: RwSignal<Option<Wallboard>>,
    /// The clock, ticking every second, for waiting times.
    pub now: RwSignal<Millis>,
    pub route: RwSignal<Route>,
    /// A message for the agent (an error the server sent, a refused action).
    pub notice: RwSignal<Option<String>>,
    /// The page is visible (not a background tab).
    pub visible: RwSignal<bool>,
}

impl Ctx {
    pub fn new() -> Self {
        Self {
            me: RwSignal::new(None),
            inbox: RwSignal::new(Inbox::default()),
            status: RwSignal::new(AgentStatus::Offline),
            conn: RwSignal::new(Conn::Connecting),
            sites: RwSignal::new(None),
            canned: RwSignal::new(Vec::new()),
            queue: RwSignal::new(Vec::new()),
            board: RwSignal::new(None),
            now: RwSignal::new(crate::now()),
            route: RwSignal::new(Route::Inbox),
            notice: RwSignal::new(None),
            visible: RwSignal::new(true),
        }
    }

    pub fn prefs(&self) -> AgentPreferences {
        self.me
            .with(|me| me.as_ref().map(|m| m.preferences.clone()))
            .unwrap_or_default()
    }

    pub fn lang(&self) -> Language {
        self.me
            .with(|me| me.as_ref().map(|m| m.preferences.language))
            .unwrap_or_default()
    }

    /// The text of `key` in the agent's language (reactive).
    pub fn t(&self, key: &str) -> &'static str {
        i18n::t(self.lang(), key)
    }

    pub fn role(&self) -> Option<bellhop_protocol::api::Role> {
        self.me.with(|me| me.as_ref().map(|m| m.role))
    }

    pub fn is_staff(&self) -> bool {
        matches!(
            self.role(),
            Some(bellhop_protocol::api::Role::Supervisor | bellhop_protocol::api::Role::Admin)
        )
    }

    pub fn is_admin(&self) -> bool {
        self.role() == Some(bellhop_protocol::api::Role::Admin)
    }

    /// A department's name, from the agent's sites.
    pub fn department_name(&self, id: Option<bellhop_protocol::DepartmentId>) -> String {
        let Some(id) = id else {
            return String::new();
        };
        self.sites
            .with(|s| {
                s.as_ref().and_then(|s| {
                    s.sites
                        .iter()
                        .flat_map(|site| site.departments.iter())
                        .find(|d| d.id == id)
                        .map(|d| d.name.clone())
                })
            })
            .unwrap_or_default()
    }

    pub fn site_name(&self, id: bellhop_protocol::SiteId) -> String {
        self.sites
            .with(|s| {
                s.as_ref()
                    .and_then(|s| s.sites.iter().find(|site| site.id == id))
                    .map(|site| site.name.clone())
            })
            .unwrap_or_default()
    }

    pub fn say(&self, text: impl Into<String>) {
        self.notice.set(Some(text.into()));
    }
}

impl Default for Ctx {
    fn default() -> Self {
        Self::new()
    }
}

pub fn ctx() -> Ctx {
    use_context::<Ctx>().unwrap_or_default()
}
