//! The visitor panel beside a chat (`GET /api/v1/conversations/{id}/context`): who the visitor
//! is, where they are, and their other chats on the site. Pure decisions over what the store
//! read; the route does the reading.
//!
//! - Name, email and phone: what the site's server vouched for (verified attributes of those
//!   names) first, else the visitor's latest form.
//! - Page and UTM: the latest form's page (its landing page's UTM parameters), else what the
//!   widget's session told ([`session_of`] bounds and checks that when it arrives).
//! - Browser and time zone: from the widget's session.

use std::collections::BTreeMap;

use bellhop_protocol::api::{Lead, PageContext};
use bellhop_protocol::console::{PastConversation, VisitorContext};
use bellhop_protocol::frames::Conversation;
use bellhop_protocol::{ConversationId, VisitorId};

use crate::store::{VisitorRow, VisitorSession};

/// The longest page address kept; a longer one is dropped (a cut address leads nowhere).
const MAX_URL_CHARS: usize = 2000;
/// The longest `User-Agent` kept; a longer one is cut.
const MAX_USER_AGENT_CHARS: usize = 512;
/// The most past conversations the panel lists.
pub(crate) const MAX_PAST_CONVERSATIONS: usize = 50;

/// What a widget session tells, bounded: page addresses of at most 2000 characters (longer
/// or empty ones are left out), the `User-Agent` cut to 512 characters, and the time zone only
/// if it is an IANA name the server knows (in its canonical spelling). A bad value never fails
/// the session: the chat matters more than the panel.
pub(crate) fn session_of(
    page: PageContext,
    time_zone: Option<String>,
    user_agent: Option<&str>,
) -> VisitorSession {
    let url = |url: Option<String>| {
        url.map(|u| u.trim().to_owned()).filter(|u| {
            !u.is_empty() && u.chars().count() <= MAX_URL_CHARS && !u.chars().any(char::is_control)
        })
    };
    let user_agent = user_agent
        .map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT_CHARS)
                .collect::<String>()
        })
        .map(|ua| ua.trim().to_owned())
        .filter(|ua| !ua.is_empty());
    let time_zone = time_zone
        .filter(|tz| tz.len() <= 64)
        .and_then(|tz| tz.trim().parse::<chrono_tz::Tz>().ok())
        .map(|tz| tz.name().to_owned());
    VisitorSession {
        page: PageContext {
            landing_page: url(page.landing_page),
            current_page: url(page.current_page),
            referrer: url(page.referrer),
        },
        user_agent,
        time_zone,
    }
}

/// The panel for the conversation `current` of `visitor`: `row` as stored, the visitor's
/// latest lead, and the visitor's conversations on the site (newest first).
pub(crate) fn context(
    visitor: VisitorId,
    current: ConversationId,
    row: VisitorRow,
    latest_lead: Option<Lead>,
    conversations: Vec<Conversation>,
) -> VisitorContext {
    let map = |text: &str| -> BTreeMap<String, serde_json::Value> {
        serde_json::from_str(text).unwrap_or_default()
    };
    let verified_attributes = map(&row.attributes);
    let vouched = |key: &str| {
        verified_attributes
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let lead = latest_lead.as_ref();
    let name = vouched("name").or_else(|| lead.and_then(|l| l.name.clone()));
    let email = vouched("email").or_else(|| lead.and_then(|l| l.email.clone()));
    let phone = vouched("phone").or_else(|| lead.and_then(|l| l.phone.clone()));
    let (page, utm) = match latest_lead {
        Some(lead) if !lead.page.is_empty() => (lead.page, lead.utm),
        _ => {
            let page = PageContext {
                landing_page: row.landing_page,
                current_page: row.current_page,
                referrer: row.referrer,
            };
            let utm = page
                .landing_page
                .as_deref()
                .map(crate::leads::utm_of)
                .unwrap_or_default();
            (page, utm)
        }
    };
    let past_conversations = conversations
        .into_iter()
        .filter(|c| c.id != current)
        .take(MAX_PAST_CONVERSATIONS)
        .map(|c| PastConversation {
            id: c.id,
            created_at: c.created_at,
            closed_at: c.closed_at,
            agent: c.agent,
            missed: c.missed,
            rating: c.rating,
        })
        .collect();
    VisitorContext {
        visitor_id: visitor,
        name,
        email,
        phone,
        verified: row.user_id.is_some(),
        user_id: row.user_id,
        verified_attributes,
        page_attributes: map(&row.page_attributes),
        page,
        utm,
        user_agent: row.user_agent,
        time_zone: row.time_zone,
        past_conversations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::api::LeadKind;
    use bellhop_protocol::{LeadId, SiteId};
    use uuid::Uuid;

    fn row(attributes: &str, landing: Option<&str>) -> VisitorRow {
        VisitorRow {
            site_id: SiteId::from_uuid(Uuid::nil()),
            user_id: None,
            attributes: attributes.into(),
            page_attributes: r#"{"plan":"pro"}"#.into(),
            landing_page: landing.map(str::to_owned),
            current_page: Some("https://shop.example/cart".into()),
            referrer: None,
            user_agent: Some("Firefox".into()),
            time_zone: Some("Europe/Moscow".into()),
        }
    }

    fn lead(name: &str, landing: Option<&str>) -> Lead {
        Lead {
            id: LeadId::from_uuid(Uuid::nil()),
            site_id: SiteId::from_uuid(Uuid::nil()),
            visitor_id: None,
            kind: LeadKind::Prechat,
            department_id: None,
            name: Some(name.into()),
            email: Some("anna@example.ru".into()),
            phone: None,
            message: None,
            custom: BTreeMap::new(),
            consent: false,
            page: PageContext {
                landing_page: landing.map(str::to_owned),
                ..PageContext::default()
            },
            utm: landing.map(crate::leads::utm_of).unwrap_or_default(),
            created_at: 1,
            conversation_id: None,
        }
    }

    fn ids() -> (VisitorId, ConversationId) {
        (
            VisitorId::from_uuid(Uuid::nil()),
            ConversationId::from_uuid(Uuid::nil()),
        )
    }

    #[test]
    fn what_the_site_vouched_for_comes_before_the_form() {
        let (visitor, current) = ids();
        let panel = context(
            visitor,
            current,
            row(r#"{"name":"Anna K.","vip":true}"#, None),
            Some(lead("Аня", Some("https://shop.example/?utm_source=Yandex"))),
            Vec::new(),
        );
        assert_eq!(panel.name.as_deref(), Some("Anna K."));
        assert_eq!(panel.email.as_deref(), Some("anna@example.ru"));
        assert_eq!(panel.phone, None);
        assert_eq!(panel.utm.source.as_deref(), Some("Yandex"));
        assert_eq!(panel.page.current_page, None, "the form's page, whole");
        assert_eq!(panel.page_attributes["plan"], "pro");
    }

    #[test]
    fn without_a_form_the_session_tells_the_page_and_its_utm() {
        let (visitor, current) = ids();
        let panel = context(
            visitor,
            current,
            row(
                "{}",
                Some("https://shop.example/?utm_source=mail&utm_campaign=spring"),
            ),
            None,
            Vec::new(),
        );
        assert_eq!(panel.name, None);
        assert_eq!(panel.utm.campaign.as_deref(), Some("spring"));
        assert_eq!(
            panel.page.current_page.as_deref(),
            Some("https://shop.example/cart")
        );
        assert_eq!(panel.time_zone.as_deref(), Some("Europe/Moscow"));
        assert!(!panel.verified);
    }

    #[test]
    fn a_session_keeps_only_what_it_can_vouch_for() {
        let told = session_of(
            PageContext {
                landing_page: Some(format!("https://shop.example/?q={}", "x".repeat(2000))),
                current_page: Some("  https://shop.example/boots ".into()),
                referrer: Some("   ".into()),
            },
            Some("Asia/Vladivostok".into()),
            Some(&"Mozilla/5.0 ".repeat(100)),
        );
        assert_eq!(told.page.landing_page, None, "too long");
        assert_eq!(
            told.page.current_page.as_deref(),
            Some("https://shop.example/boots")
        );
        assert_eq!(told.page.referrer, None);
        assert_eq!(told.time_zone.as_deref(), Some("Asia/Vladivostok"));
        assert_eq!(
            told.user_agent.map(|ua| ua.chars().count()),
            Some(512),
            "cut to 512 characters"
        );
        for bad in ["Mars/Olympus", "", "../../etc/passwd"] {
            assert_eq!(
                session_of(PageContext::default(), Some(bad.into()), None).time_zone,
                None
            );
        }
    }
}
