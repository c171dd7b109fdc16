//! Abuse limits on what the public can ask of the server.
//!
//! Rates, with `governor`'s keyed rate limiters (GCRA: a steady rate plus a burst), in
//! [`Keyed`]:
//!
//! - widget sessions per client IP per minute ([`Limits::widget_sessions`]);
//! - form submissions (leads) per client IP per hour ([`Limits::leads`]);
//! - visitor messages per visitor per second, with a burst ([`Limits::visitor_messages`]);
//! - conversations opened per visitor and per client IP per hour
//!   ([`Limits::visitor_conversations`], [`Limits::address_conversations`]);
//! - visitor typing frames passed on to the agent per visitor per second
//!   ([`Limits::visitor_typing`]); the rest are dropped silently (typing is ephemeral).
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
//! [`TIDY_EVERY`] by the next check.

pub(crate) mod client_ip;

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bellhop_protocol::VisitorId;
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

/// Every abuse limit of one server.
pub struct Limits {
    pub(crate) widget_sessions: Keyed<IpAddr>,
    pub(crate) leads: Keyed<IpAddr>,
    pub(crate) visitor_messages: Keyed<VisitorId>,
    pub(crate) visitor_typing: Keyed<VisitorId>,
    pub(crate) visitor_conversations: Keyed<VisitorId>,
    pub(crate) address_conversations: Keyed<IpAddr>,
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
            self.visitor_messages.named.total(),
            self.visitor_typing.named.total(),
            self.visitor_conversations.named.total(),
            self.address_conversations.named.total(),
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
