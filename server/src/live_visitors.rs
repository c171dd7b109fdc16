//! Who is on a site's pages right now, chatting or not: the loader beats
//! (`POST /api/v1/widget/presence`) when a page opens and every 30 s while its tab is visible,
//! and supervisors read the list (`GET /api/v1/sites/{id}/visitors`).
//!
//! Kept in this node's memory only, never in the database: per site, keyed by the loader's
//! random browser id, each entry forgotten `live_visitors.ttl_ms` after its last beat. Each
//! site keeps at most `live_visitors.max_per_site` browsers; a new one beyond that evicts the
//! one heard from longest ago, so an anonymous flood costs a bounded amount of memory (and
//! only for sites that exist: a beat names a real widget key from an allowed origin). With
//! several nodes each knows the beats it received; sharing them is the scale-out bus's job.
//!
//! A supervisor may invite a live browser to chat (`POST
//! /api/v1/sites/{id}/visitors/{browser_id}/invite`): the invitation waits beside the browser's
//! entry, `live_visitors.invite_ttl_ms` at most, and the answer to its next beat carries it,
//! once.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use bellhop_protocol::SiteId;
use bellhop_protocol::api::{LiveVisitor, PresenceBeat};
use bellhop_protocol::console::Invite;
use bellhop_protocol::frames::Millis;

use crate::config::LiveVisitorsConfig;

/// The longest browser id, URL, title and referrer a beat may carry, in characters.
const MAX_BROWSER_ID: usize = 64;
const MAX_URL: usize = 2048;
const MAX_TITLE: usize = 300;

/// Why a beat was refused, naming the field.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadBeat(&'static str);

/// Checks a beat's fields before anything is kept.
pub(crate) fn check(beat: &PresenceBeat) -> Result<(), BadBeat> {
    let id = &beat.browser_id;
    if id.is_empty()
        || id.len() > MAX_BROWSER_ID
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(BadBeat(
            "browser_id must be 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    let too_long = |text: &str, max: usize| text.chars().count() > max;
    if beat.url.is_empty() || too_long(&beat.url, MAX_URL) {
        return Err(BadBeat("url must be 1 to 2048 characters"));
    }
    if beat
        .title
        .as_deref()
        .is_some_and(|t| too_long(t, MAX_TITLE))
    {
        return Err(BadBeat("title must be at most 300 characters"));
    }
    if beat
        .referrer
        .as_deref()
        .is_some_and(|r| too_long(r, MAX_URL))
    {
        return Err(BadBeat("referrer must be at most 2048 characters"));
    }
    Ok(())
}

/// One site's browsers.
#[derive(Debug, Default)]
struct SiteVisitors {
    browsers: HashMap<String, Seen>,
    last_purge: Millis,
}

#[derive(Debug)]
struct Seen {
    visitor: LiveVisitor,
    /// The visit the browser said it is in; another one starts the count again.
    visit_started_at: Millis,
    /// An invitation to chat for the next beat, and until when it holds.
    invite: Option<(Invite, Millis)>,
}

impl Seen {
    /// The invitation waiting for this browser, if it still holds; taken, so it goes once.
    fn take_invite(&mut self, now: Millis) -> Option<Invite> {
        self.invite
            .take()
            .filter(|(_, until)| now < *until)
            .map(|(invite, _)| invite)
    }
}

impl SiteVisitors {
    /// Records a beat; answers the invitation waiting for the browser, if any.
    fn beat(&mut self, beat: PresenceBeat, now: Millis, ttl: Millis, max: usize) -> Option<Invite> {
        if now.saturating_sub(self.last_purge) >= ttl {
            self.purge(now, ttl);
            self.last_purge = now;
        }
        let live = |seen: &Seen| now.saturating_sub(seen.visitor.last_seen) < ttl;
        if let Some(seen) = self
            .browsers
            .get_mut(&beat.browser_id)
            .filter(|seen| live(seen) && seen.visit_started_at == beat.visit_started_at)
        {
            let visitor = &mut seen.visitor;
            if visitor.url != beat.url {
                visitor.page_views = visitor.page_views.saturating_add(1);
                visitor.url = beat.url;
            }
            visitor.title = beat.title;
            if beat.referrer.is_some() {
                visitor.referrer = beat.referrer;
            }
            visitor.returning = beat.returning;
            visitor.last_seen = now;
            return seen.take_invite(now);
        }
        // A new visit of a browser still listed keeps what it was invited to.
        let invite = self
            .browsers
            .get_mut(&beat.browser_id)
            .and_then(|seen| seen.take_invite(now));
        if !self.browsers.contains_key(&beat.browser_id) && self.browsers.len() >= max.max(1) {
            self.purge(now, ttl);
            while self.browsers.len() >= max.max(1) {
                let Some(oldest) = self
                    .browsers
                    .iter()
                    .min_by_key(|(_, seen)| seen.visitor.last_seen)
                    .map(|(id, _)| id.clone())
                else {
                    break;
                };
                self.browsers.remove(&oldest);
            }
        }
        self.browsers.insert(
            beat.browser_id.clone(),
            Seen {
                visit_started_at: beat.visit_started_at,
                visitor: LiveVisitor {
                    browser_id: beat.browser_id,
                    url: beat.url,
                    title: beat.title,
                    referrer: beat.referrer,
                    returning: beat.returning,
                    first_seen: now,
                    last_seen: now,
                    page_views: 1,
                },
                invite: None,
            },
        );
        invite
    }

    /// Keeps `invite` for the live browser until `until`; `false` if it is not live.
    fn invite(
        &mut self,
        browser: &str,
        invite: Invite,
        now: Millis,
        ttl: Millis,
        until: Millis,
    ) -> bool {
        match self.browsers.get_mut(browser) {
            Some(seen) if now.saturating_sub(seen.visitor.last_seen) < ttl => {
                seen.invite = Some((invite, until));
                true
            }
            _ => false,
        }
    }

    fn purge(&mut self, now: Millis, ttl: Millis) {
        self.browsers
            .retain(|_, seen| now.saturating_sub(seen.visitor.last_seen) < ttl);
    }

    /// Who is here, most recently heard from first.
    fn list(&mut self, now: Millis, ttl: Millis) -> Vec<LiveVisitor> {
        self.purge(now, ttl);
        let mut list: Vec<LiveVisitor> = self
            .browsers
            .values()
            .map(|seen| seen.visitor.clone())
            .collect();
        list.sort_by(|a, b| {
            b.last_seen
                .cmp(&a.last_seen)
                .then_with(|| a.browser_id.cmp(&b.browser_id))
        });
        list
    }
}

/// Every site's live visitors on this node.
pub struct LiveVisitors {
    ttl: Millis,
    invite_ttl: Millis,
    max_per_site: usize,
    sites: Mutex<HashMap<SiteId, SiteVisitors>>,
}

impl LiveVisitors {
    pub fn new(config: &LiveVisitorsConfig) -> Self {
        Self {
            ttl: Millis::try_from(config.ttl_ms)
                .unwrap_or(Millis::MAX)
                .max(1),
            invite_ttl: Millis::try_from(config.invite_ttl_ms).unwrap_or(Millis::MAX),
            max_per_site: config.max_per_site,
            sites: Mutex::default(),
        }
    }

    /// Records a checked beat (see [`check`]) for `site`; answers the invitation waiting for
    /// the browser, if any (once).
    pub fn beat(&self, site: SiteId, beat: PresenceBeat, now: Millis) -> Option<Invite> {
        let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        sites
            .entry(site)
            .or_default()
            .beat(beat, now, self.ttl, self.max_per_site)
    }

    /// Keeps an invitation to chat for the browser's next beat (replacing one that waits);
    /// `false` if the browser is not on the site now.
    pub fn invite(&self, site: SiteId, browser: &str, invite: Invite, now: Millis) -> bool {
        let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        let until = now.saturating_add(self.invite_ttl);
        sites
            .get_mut(&site)
            .is_some_and(|visitors| visitors.invite(browser, invite, now, self.ttl, until))
    }

    /// Who is on `site` now, most recently heard from first.
    pub fn list(&self, site: SiteId, now: Millis) -> Vec<LiveVisitor> {
        let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(visitors) = sites.get_mut(&site) else {
            return Vec::new();
        };
        let list = visitors.list(now, self.ttl);
        if list.is_empty() {
            sites.remove(&site);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(browser: &str, url: &str) -> PresenceBeat {
        PresenceBeat {
            widget_key: "demo".into(),
            browser_id: browser.into(),
            url: url.into(),
            title: None,
            referrer: None,
            returning: false,
            visit_started_at: 1,
        }
    }

    fn site() -> SiteId {
        SiteId::from_uuid(uuid::Uuid::now_v7())
    }

    fn live(ttl_ms: u64, max_per_site: usize) -> LiveVisitors {
        LiveVisitors::new(&LiveVisitorsConfig {
            ttl_ms,
            max_per_site,
            invite_ttl_ms: 1_000,
        })
    }

    fn invite(text: &str) -> Invite {
        Invite {
            text: text.into(),
            agent_name: "Nina".into(),
        }
    }

    #[test]
    fn an_invitation_rides_the_next_beat_once_within_its_lifetime() {
        let visitors = live(90_000, 10);
        let s = site();
        assert!(!visitors.invite(s, "a", invite("hi"), 0), "not live yet");
        assert_eq!(visitors.beat(s, beat("a", "/"), 0), None);
        assert!(visitors.invite(s, "a", invite("Need help?"), 100));
        assert!(
            !visitors.invite(site(), "a", invite("x"), 100),
            "another site"
        );
        assert_eq!(
            visitors.beat(s, beat("a", "/boots"), 200).map(|i| i.text),
            Some("Need help?".into())
        );
        assert_eq!(visitors.beat(s, beat("a", "/boots"), 300), None, "once");
        assert!(visitors.invite(s, "a", invite("late"), 400));
        assert_eq!(visitors.beat(s, beat("a", "/"), 1_400), None, "expired");
        // A new visit of a listed browser keeps its invitation.
        assert!(visitors.invite(s, "a", invite("again"), 1_500));
        let mut next_visit = beat("a", "/");
        next_visit.visit_started_at = 2;
        assert_eq!(
            visitors.beat(s, next_visit, 1_600).map(|i| i.text),
            Some("again".into())
        );
    }

    #[test]
    fn a_new_url_counts_a_page_view_and_a_repeat_does_not() {
        let visitors = live(90_000, 10);
        let s = site();
        visitors.beat(s, beat("a", "https://shop.example/"), 1_000);
        visitors.beat(s, beat("a", "https://shop.example/"), 2_000);
        visitors.beat(s, beat("a", "https://shop.example/boots"), 3_000);
        visitors.beat(s, beat("b", "https://shop.example/"), 2_500);
        let list = visitors.list(s, 4_000);
        let seen: Vec<_> = list
            .iter()
            .map(|v| {
                (
                    v.browser_id.as_str(),
                    v.page_views,
                    v.first_seen,
                    v.last_seen,
                )
            })
            .collect();
        assert_eq!(seen, vec![("a", 2, 1_000, 3_000), ("b", 1, 2_500, 2_500)]);
        assert!(visitors.list(site(), 4_000).is_empty(), "sites are apart");
    }

    #[test]
    fn browsers_expire_after_the_ttl_and_come_back_as_new_visits() {
        let visitors = live(1_000, 10);
        let s = site();
        visitors.beat(s, beat("a", "/x"), 0);
        visitors.beat(s, beat("a", "/y"), 500);
        assert_eq!(visitors.list(s, 1_499).len(), 1);
        assert!(visitors.list(s, 1_500).is_empty());
        visitors.beat(s, beat("a", "/y"), 2_000);
        let list = visitors.list(s, 2_000);
        assert_eq!((list[0].page_views, list[0].first_seen), (1, 2_000));
    }

    #[test]
    fn a_full_site_forgets_the_browser_heard_from_longest_ago() {
        let visitors = live(90_000, 2);
        let s = site();
        visitors.beat(s, beat("a", "/"), 1);
        visitors.beat(s, beat("b", "/"), 2);
        visitors.beat(s, beat("a", "/"), 3);
        visitors.beat(s, beat("c", "/"), 4);
        let ids: Vec<_> = visitors
            .list(s, 5)
            .into_iter()
            .map(|v| v.browser_id)
            .collect();
        assert_eq!(ids, vec!["c", "a"]);
    }

    #[test]
    fn bad_beats_name_their_field() {
        let refused = |b: PresenceBeat| check(&b).err().map(|e| e.0).unwrap_or_default();
        assert!(check(&beat("a-Z_9", "/")).is_ok());
        assert!(refused(beat("", "/")).starts_with("browser_id"));
        assert!(refused(beat("a b", "/")).starts_with("browser_id"));
        assert!(refused(beat("a", "")).starts_with("url"));
        assert!(refused(beat("a", &"x".repeat(3000))).starts_with("url"));
    }
}
