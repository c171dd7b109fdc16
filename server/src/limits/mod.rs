//! Abuse limits on what the public can ask of the server.
//!
//! Rates, with `governor`'s keyed rate limiters (GCRA: a steady rate plus a burst), in
//! [`Keyed`]:
//!
//! - widget sessions per client IP per minute ([`Limits::widget_sessions`]);
//! - form submissions (leads) per client IP per hour ([`Limits::leads`]);
//! - presence beats per client IP per minute ([`Limits::presence_beats`]);
//! - visitor messages per visitor per second, with a burst ([`Limits::visitor_messages`]);
//! - conversations opened per visitor and per client IP per hour
//!   ([`Limits::visitor_conversations`], [`Limits::address_conversations`]);
//! - typing frames passed on per visitor and per agent per second ([`Limits::visitor_typing`],
//!   [`Limits::agent_typing`]); the rest are dropped silently (typing is ephemeral);
//! - transcripts by email per visitor per hour ([`Limits::transcripts`]).
//!
//! Counts of what is open at once, in [`Sockets`]: sockets per client IP (checked at the
//! upgrade), per visitor and per agent (checked at `hello`), each held by a [`SocketSlot`]
//! that gives its place back when dropped. And one bound, [`Bound`]: the resume points one
//! `hello` may name.
//!
//! Every limit is set in the `[limits]` section of the configuration; `0` turns it off. A REST
//! answer over a limit is `429` `rate_limited` with `Retry-After`; a socket send over a limit
//! gets an `error` frame `rate_limited` with the send's `client_id`, nothing is stored, and the
//! socket stays open. Every refusal is counted per limit ([`Limits::refused_totals`]) and
//! logged with the limit's name, what it counts per and the running total, never the key.
//!
//! The client IP is the TCP peer's, or, behind a reverse proxy, the one named by the configured
//! trusted header ([`client_ip()`]). IPv6 addresses count per /64, the block one subscriber gets.
//!
//! Keyed state is bounded: keys whose state is back to fresh are dropped at most once a
//! [`TIDY_EVERY`] by the next check; a socket count's key goes with its last socket.

pub(crate) mod client_ip;

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bellhop_protocol::{AgentId, VisitorId};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::LimitsConfig;

pub(crate) use client_ip::client_ip;

/// How often keyed state is swept of keys that are back to fresh.
pub const TIDY_EVERY: Duration = Duration::from_secs(60);

/// Which limit refused something, for logs and counters: the limit's configuration name and
/// what it counts per (`address`, `visitor` or `agent`).
struct Named {
    name: &'static str,
    per: &'static str,
    refused: AtomicU64,
}

impl Named {
    fn new(name: &'static str, per: &'static str) -> Self {
        Self {
            name,
            per,
            refused: AtomicU64::new(0),
        }
    }

    /// Counts one refusal; returns the running total.
    fn refuse(&self) -> u64 {
        self.refused
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
    }

    fn total(&self) -> (&'static str, u64) {
        (self.name, self.refused.load(Ordering::Relaxed))
    }
}

/// Whether a limit's refusals are worth a log line each.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Noise {
    /// A request was refused: logged.
    Logged,
    /// Something ephemeral was dropped (typing): counted, logged at debug only, since a flood
    /// of them is exactly what the limit absorbs.
    Quiet,
}

/// A keyed rate limit, or none when configured off.
pub(crate) struct Keyed<K: Clone + Hash + Eq> {
    named: Named,
    noise: Noise,
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    last_tidy: Mutex<Instant>,
}

impl<K: Clone + Hash + Eq> Keyed<K> {
    fn new(name: &'static str, per: &'static str, quota: Option<Quota>) -> Self {
        Self {
            named: Named::new(name, per),
            noise: Noise::Logged,
            limiter: quota.map(DefaultKeyedRateLimiter::keyed),
            last_tidy: Mutex::new(Instant::now()),
        }
    }

    fn quiet(mut self) -> Self {
        self.noise = Noise::Quiet;
        self
    }

    /// Counts one request for `key`: `Err` with how long to wait when it is over the limit
    /// (counted and logged as refused).
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        self.tidy(limiter);
        let wait = match limiter.check_key(key) {
            Ok(()) => return Ok(()),
            Err(not_until) => not_until.wait_time_from(limiter.clock().now()),
        };
        let total = self.named.refuse();
        let (limit, per, retry_after) = (self.named.name, self.named.per, retry_after_secs(wait));
        match self.noise {
            Noise::Logged => {
                tracing::info!(
                    limit,
                    per,
                    retry_after,
                    refused_total = total,
                    "rate limited"
                );
            }
            Noise::Quiet => {
                tracing::debug!(limit, per, refused_total = total, "dropped over the limit");
            }
        }
        Err(wait)
    }

    fn tidy(&self, limiter: &DefaultKeyedRateLimiter<K>) {
        let Ok(mut last) = self.last_tidy.try_lock() else {
            return;
        };
        if last.elapsed() >= TIDY_EVERY {
            *last = Instant::now();
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Keys currently held (for tests of the memory bound).
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }
}

/// How long a socket refused at the upgrade for too many sockets from its address is told to
/// wait (`Retry-After`): places free up as other sockets close, at no time one can name.
pub(crate) const SOCKETS_RETRY_AFTER: Duration = Duration::from_secs(10);

type OpenCounts<K> = Arc<Mutex<HashMap<K, u32>>>;

/// How many sockets each key has open, up to a maximum (none when configured off).
pub(crate) struct Sockets<K: Clone + Hash + Eq + Send + 'static> {
    named: Named,
    max: Option<NonZeroU32>,
    open: OpenCounts<K>,
}

impl<K: Clone + Hash + Eq + Send + 'static> Sockets<K> {
    fn new(name: &'static str, per: &'static str, max: u32) -> Self {
        Self {
            named: Named::new(name, per),
            max: NonZeroU32::new(max),
            open: Arc::default(),
        }
    }

    /// A place for one more socket of `key`, held until the slot is dropped; `None` (counted
    /// and logged as refused) when `key` already has the most it may.
    pub(crate) fn acquire(&self, key: &K) -> Option<SocketSlot> {
        let Some(max) = self.max else {
            return Some(SocketSlot(None));
        };
        {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let count = open.entry(key.clone()).or_insert(0);
            if *count < max.get() {
                *count += 1;
                let (open, key) = (Arc::clone(&self.open), key.clone());
                return Some(SocketSlot(Some(Box::new(move || release(&open, &key)))));
            }
        }
        let total = self.named.refuse();
        let (limit, per) = (self.named.name, self.named.per);
        tracing::info!(
            limit,
            per,
            max = max.get(),
            refused_total = total,
            "too many sockets"
        );
        None
    }

    /// The sockets `key` has open (for tests).
    #[cfg(test)]
    fn open(&self, key: &K) -> u32 {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(key).copied().unwrap_or(0)
    }
}

fn release<K: Hash + Eq>(open: &Mutex<HashMap<K, u32>>, key: &K) {
    let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(count) = open.get_mut(key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            open.remove(key);
        }
    }
}

/// One socket's place in a [`Sockets`] count; dropping it gives the place back.
#[must_use = "the place is given back when the slot is dropped"]
pub(crate) struct SocketSlot(Option<Box<dyn FnOnce() + Send>>);

impl Drop for SocketSlot {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            release();
        }
    }
}

/// A bound on how many of something one request may carry (none when configured off).
pub(crate) struct Bound {
    named: Named,
    max: Option<NonZeroU32>,
}

impl Bound {
    fn new(name: &'static str, per: &'static str, max: u32) -> Self {
        Self {
            named: Named::new(name, per),
            max: NonZeroU32::new(max),
        }
    }

    /// `Err` with the maximum (counted and logged as refused) when `count` is over it.
    pub(crate) fn check(&self, count: usize) -> Result<(), u32> {
        match self.max {
            Some(max) if count > max.get() as usize => {
                let total = self.named.refuse();
                let (limit, per) = (self.named.name, self.named.per);
                tracing::info!(
                    limit,
                    per,
                    count,
                    max = max.get(),
                    refused_total = total,
                    "over a bound"
                );
                Err(max.get())
            }
            _ => Ok(()),
        }
    }
}

/// Every abuse limit of one server.
pub struct Limits {
    pub(crate) widget_sessions: Keyed<IpAddr>,
    pub(crate) leads: Keyed<IpAddr>,
    pub(crate) presence_beats: Keyed<IpAddr>,
    pub(crate) visitor_messages: Keyed<VisitorId>,
    pub(crate) visitor_typing: Keyed<VisitorId>,
    pub(crate) visitor_conversations: Keyed<VisitorId>,
    pub(crate) address_conversations: Keyed<IpAddr>,
    pub(crate) agent_typing: Keyed<AgentId>,
    pub(crate) transcripts: Keyed<VisitorId>,
    pub(crate) address_sockets: Sockets<IpAddr>,
    pub(crate) visitor_sockets: Sockets<VisitorId>,
    pub(crate) agent_sockets: Sockets<AgentId>,
    pub(crate) resume_points: Bound,
    pub(crate) client_ip_header: Option<String>,
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Self {
        let per_second = |n: u32| NonZeroU32::new(n).map(Quota::per_second);
        let per_minute = |n: u32| NonZeroU32::new(n).map(Quota::per_minute);
        let per_hour = |n: u32| NonZeroU32::new(n).map(Quota::per_hour);
        let messages = NonZeroU32::new(config.visitor_messages_per_second).map(|rate| {
            let burst = NonZeroU32::new(config.visitor_message_burst).unwrap_or(rate);
            Quota::per_second(rate).allow_burst(burst)
        });
        Self {
            widget_sessions: Keyed::new(
                "widget_sessions_per_minute",
                "address",
                per_minute(config.widget_sessions_per_minute),
            ),
            leads: Keyed::new("leads_per_hour", "address", per_hour(config.leads_per_hour)),
            presence_beats: Keyed::new(
                "presence_beats_per_minute",
                "address",
                per_minute(config.presence_beats_per_minute),
            )
            .quiet(),
            visitor_messages: Keyed::new("visitor_messages_per_second", "visitor", messages),
            visitor_typing: Keyed::new(
                "visitor_typing_per_second",
                "visitor",
                per_second(config.visitor_typing_per_second),
            )
            .quiet(),
            visitor_conversations: Keyed::new(
                "visitor_conversations_per_hour",
                "visitor",
                per_hour(config.visitor_conversations_per_hour),
            ),
            address_conversations: Keyed::new(
                "address_conversations_per_hour",
                "address",
                per_hour(config.address_conversations_per_hour),
            ),
            agent_typing: Keyed::new(
                "agent_typing_per_second",
                "agent",
                per_second(config.agent_typing_per_second),
            )
            .quiet(),
            transcripts: Keyed::new(
                "transcripts_per_hour",
                "visitor",
                per_hour(config.transcripts_per_hour),
            ),
            address_sockets: Sockets::new(
                "sockets_per_address",
                "address",
                config.sockets_per_address,
            ),
            visitor_sockets: Sockets::new(
                "sockets_per_visitor",
                "visitor",
                config.sockets_per_visitor,
            ),
            agent_sockets: Sockets::new("sockets_per_agent", "agent", config.sockets_per_agent),
            resume_points: Bound::new(
                "resume_points_per_hello",
                "hello",
                config.resume_points_per_hello,
            ),
            client_ip_header: config
                .client_ip_header
                .as_deref()
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_ascii_lowercase),
        }
    }

    /// How often each limit refused something since start, by its configuration name.
    pub fn refused_totals(&self) -> Vec<(&'static str, u64)> {
        vec![
            self.widget_sessions.named.total(),
            self.leads.named.total(),
            self.presence_beats.named.total(),
            self.visitor_messages.named.total(),
            self.visitor_typing.named.total(),
            self.visitor_conversations.named.total(),
            self.address_conversations.named.total(),
            self.agent_typing.named.total(),
            self.transcripts.named.total(),
            self.address_sockets.named.total(),
            self.visitor_sockets.named.total(),
            self.agent_sockets.named.total(),
            self.resume_points.named.total(),
        ]
    }
}

/// Whole seconds to wait, rounded up, at least 1: the `Retry-After` value for `wait`.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_burst_passes_then_the_limit_says_how_long_to_wait() {
        let config = LimitsConfig {
            visitor_messages_per_second: 2,
            visitor_message_burst: 3,
            ..LimitsConfig::default()
        };
        let limits = Limits::new(&config);
        let visitor = VisitorId::from_uuid(uuid::Uuid::now_v7());
        let other = VisitorId::from_uuid(uuid::Uuid::now_v7());
        for _ in 0..3 {
            assert!(limits.visitor_messages.check(&visitor).is_ok());
        }
        let wait = limits.visitor_messages.check(&visitor).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert!(limits.visitor_messages.check(&other).is_ok());
        assert_eq!(limits.visitor_messages.keys(), 2);
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let config = LimitsConfig {
            widget_sessions_per_minute: 0,
            ..LimitsConfig::default()
        };
        let limits = Limits::new(&config);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..10_000 {
            assert!(limits.widget_sessions.check(&ip).is_ok());
        }
    }

    #[test]
    fn socket_slots_count_while_held_and_refusals_are_counted() {
        let config = LimitsConfig {
            sockets_per_visitor: 2,
            ..LimitsConfig::default()
        };
        let limits = Limits::new(&config);
        let visitor = VisitorId::from_uuid(uuid::Uuid::now_v7());
        let first = limits.visitor_sockets.acquire(&visitor).unwrap();
        let second = limits.visitor_sockets.acquire(&visitor).unwrap();
        assert!(limits.visitor_sockets.acquire(&visitor).is_none());
        assert_eq!(limits.visitor_sockets.open(&visitor), 2);
        drop(first);
        let third = limits.visitor_sockets.acquire(&visitor).unwrap();
        drop((second, third));
        assert_eq!(limits.visitor_sockets.open(&visitor), 0);
        assert!(
            limits.visitor_sockets.open.lock().unwrap().is_empty(),
            "the key went"
        );
        let totals = limits.refused_totals();
        assert!(totals.contains(&("sockets_per_visitor", 1)), "{totals:?}");
        assert!(
            totals.contains(&("widget_sessions_per_minute", 0)),
            "{totals:?}"
        );
    }

    #[test]
    fn zero_sockets_means_no_count_at_all() {
        let config = LimitsConfig {
            sockets_per_address: 0,
            ..LimitsConfig::default()
        };
        let limits = Limits::new(&config);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let slots: Vec<_> = (0..1000)
            .map(|_| limits.address_sockets.acquire(&ip).unwrap())
            .collect();
        assert_eq!(limits.address_sockets.open(&ip), 0);
        drop(slots);
    }

    #[test]
    fn a_bound_refuses_only_what_is_over_it() {
        let limits = Limits::new(&LimitsConfig::default());
        assert_eq!(limits.resume_points.check(100), Ok(()));
        assert_eq!(limits.resume_points.check(101), Err(100));
        let off = Limits::new(&LimitsConfig {
            resume_points_per_hello: 0,
            ..LimitsConfig::default()
        });
        assert_eq!(off.resume_points.check(100_000), Ok(()));
    }

    #[test]
    fn a_refused_rate_is_counted() {
        let config = LimitsConfig {
            leads_per_hour: 2,
            ..LimitsConfig::default()
        };
        let limits = Limits::new(&config);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limits.leads.check(&ip).is_ok());
        assert!(limits.leads.check(&ip).is_ok());
        let wait = limits.leads.check(&ip).unwrap_err();
        // 2 an hour: the next place is half an hour away.
        assert!(wait > Duration::from_secs(29 * 60), "{wait:?}");
        assert!(limits.refused_totals().contains(&("leads_per_hour", 1)));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(59_001)), 60);
    }
}
