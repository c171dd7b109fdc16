//! What keeps login from being abused: a bound on argon2 work running at once
//! ([`Hasher`]) and a lock on accounts and client addresses after repeated failures
//! ([`Throttle`]).
//!
//! Each argon2 hash takes about 19 MiB and a core for tens of milliseconds. Without a bound, a
//! burst of logins (even with wrong passwords, even for unknown accounts) takes as many
//! gigabytes and starves every other chat of CPU. The [`Hasher`] runs at most
//! `auth.hash_concurrency` hashes at once, on as many threads of its own; a login that cannot get a turn
//! within `auth.hash_wait_ms` is refused with `429 rate_limited` and `Retry-After`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::auth::password;
use crate::config::AuthConfig;

/// The login could not be served now; try again after this many seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// A piece of argon2 work for one of the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Runs argon2 work with bounded concurrency, on a fixed set of threads.
///
/// Fixed threads, not the blocking pool: each hashing thread keeps one argon2 work area
/// (see [`password`]), so memory is bounded by `auth.hash_concurrency` work areas however
/// many logins arrive. On the blocking pool's many threads it would be one per thread it ever
/// ran on (measured before either change: 200 logins took the process from 39 MiB to
/// 823 MiB; with fixed threads but fresh work areas per hash, still +380 MiB; now +5 MiB).
pub struct Hasher {
    permits: Arc<Semaphore>,
    wait: Duration,
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Hasher {
    pub fn new(config: &AuthConfig) -> Self {
        let threads = config.hash_concurrency().max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking the next job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // The hasher is gone.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        Self {
            permits: Arc::new(Semaphore::new(threads)),
            wait: Duration::from_millis(config.hash_wait_ms),
            jobs: Mutex::new(jobs),
        }
    }

    /// Runs `work` on a hashing thread once a permit is free, or gives up after the bounded
    /// wait. The permit is held until `work` has finished, even if the caller goes away.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RetryAfter> {
        let permit =
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => return Err(RetryAfter(1)),
            };
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = work();
            drop(permit);
            let _ = done.send(out);
        });
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.send(job).is_ok(),
            Err(_) => false,
        };
        if !sent {
            return Err(RetryAfter(1));
        }
        result.await.map_err(|_| RetryAfter(1))
    }

    /// Whether `given` matches `hash`; with no hash (unknown account), spends the same work on
    /// a dummy so the two cannot be told apart by timing.
    pub async fn verify(
        &self,
        given: bellhop_protocol::Password,
        hash: Option<String>,
    ) -> Result<bool, RetryAfter> {
        self.run(move || match hash {
            Some(hash) => password::verify(given.expose(), &hash),
            None => {
                password::verify_dummy(given.expose());
                false
            }
        })
        .await
    }

    /// A new hash for `given`.
    pub async fn hash(
        &self,
        given: bellhop_protocol::Password,
    ) -> Result<Result<String, password::HashError>, RetryAfter> {
        self.run(move || password::hash(given.expose())).await
    }
}

/// Failures of one key (an account's email or a client address).
#[derive(Clone, Copy, Debug)]
struct Record {
    /// Failures since the window began.
    failures: u32,
    window_start: Instant,
    /// Locks so far without a success; each doubles the next lock.
    locks: u32,
    locked_until: Option<Instant>,
}

/// Counts failures per key in a window; after `max_failures` the key is locked for
/// `lock`, doubled for every further lock (capped at `max_lock`) until a success or an unlock.
pub struct Keyed<K> {
    records: Mutex<HashMap<K, Record>>,
    max_failures: u32,
    window: Duration,
    lock: Duration,
    max_lock: Duration,
}

/// Entries kept before stale ones are swept, so a flood of distinct keys cannot grow the
/// table without bound.
const SWEEP_AT: usize = 10_000;

impl<K: Eq + Hash + Clone> Keyed<K> {
    fn new(max_failures: u32, window: Duration, lock: Duration, max_lock: Duration) -> Self {
        Self {
            records: Mutex::new(HashMap::new()),
            max_failures: max_failures.max(1),
            window,
            lock,
            max_lock: max_lock.max(lock),
        }
    }

    fn with_records<T>(&self, f: impl FnOnce(&mut HashMap<K, Record>) -> T) -> T {
        let mut records = match self.records.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut records)
    }

    /// `Err` while `key` is locked.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), RetryAfter> {
        self.with_records(
            |records| match records.get(key).and_then(|r| r.locked_until) {
                Some(until) if until > now => Err(retry_after(until - now)),
                _ => Ok(()),
            },
        )
    }

    /// Records a failure; returns the lock it started, if any.
    pub fn fail(&self, key: &K, now: Instant) -> Option<RetryAfter> {
        self.with_records(|records| {
            if records.len() >= SWEEP_AT {
                let window = self.window;
                let max_lock = self.max_lock;
                records.retain(|_, r| {
                    r.locked_until.is_some_and(|u| u > now)
                        || now.duration_since(r.window_start) < window.max(max_lock)
                });
            }
            let record = records.entry(key.clone()).or_insert(Record {
                failures: 0,
                window_start: now,
                locks: 0,
                locked_until: None,
            });
            if now.duration_since(record.window_start) >= self.window {
                record.failures = 0;
                record.window_start = now;
            }
            record.failures = record.failures.saturating_add(1);
            if record.failures < self.max_failures {
                return None;
            }
            let factor = 1u32.checked_shl(record.locks.min(16)).unwrap_or(u32::MAX);
            let lock = self.lock.saturating_mul(factor).min(self.max_lock);
            record.locks = record.locks.saturating_add(1);
            record.failures = 0;
            record.window_start = now;
            record.locked_until = Some(now + lock);
            Some(retry_after(lock))
        })
    }

    /// Forgets `key`'s failures and lock (a success, or an admin's unlock).
    pub fn clear(&self, key: &K) {
        self.with_records(|records| {
            records.remove(key);
        });
    }
}

fn retry_after(left: Duration) -> RetryAfter {
    RetryAfter(
        left.as_secs()
            .saturating_add(u64::from(left.subsec_nanos() > 0))
            .max(1),
    )
}

/// Login failures per account (by normalised email, whether or not the account exists, so a
/// lock tells nothing) and per client address.
pub struct Throttle {
    pub accounts: Keyed<String>,
    pub addresses: Keyed<std::net::IpAddr>,
}

impl Throttle {
    pub fn new(config: &AuthConfig) -> Self {
        let window = Duration::from_secs(config.failure_window_secs);
        let lock = Duration::from_secs(config.lock_secs.max(1));
        let max_lock = Duration::from_secs(config.max_lock_secs);
        Self {
            accounts: Keyed::new(config.account_max_failures, window, lock, max_lock),
            addresses: Keyed::new(config.address_max_failures, window, lock, max_lock),
        }
    }

    /// The key an email is throttled under.
    pub fn account_key(email: &str) -> String {
        email.trim().to_lowercase()
    }
}

/// Everything login needs to bound its cost, shared by the server's workers.
pub struct LoginGuard {
    pub hasher: Hasher,
    pub throttle: Throttle,
    /// Logins refused for a wrong password or unknown email, since start.
    pub failed: AtomicU64,
    /// Logins refused by a lock or because hashing was busy, since start.
    pub throttled: AtomicU64,
}

impl LoginGuard {
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            hasher: Hasher::new(config),
            throttle: Throttle::new(config),
            failed: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    /// Counts one more of `counter` and returns the new total.
    pub fn count(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed).saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_and_doubles() {
        let keyed: Keyed<&str> = Keyed::new(
            3,
            Duration::from_secs(60),
            Duration::from_secs(10),
            Duration::from_secs(25),
        );
        let t0 = Instant::now();
        assert_eq!(keyed.fail(&"a", t0), None);
        assert_eq!(keyed.fail(&"a", t0), None);
        assert_eq!(keyed.fail(&"a", t0), Some(RetryAfter(10)));
        assert_eq!(keyed.check(&"a", t0), Err(RetryAfter(10)));
        assert_eq!(keyed.check(&"b", t0), Ok(()));
        let later = t0 + Duration::from_secs(11);
        assert_eq!(keyed.check(&"a", later), Ok(()));
        for _ in 0..2 {
            assert_eq!(keyed.fail(&"a", later), None);
        }
        assert_eq!(keyed.fail(&"a", later), Some(RetryAfter(20)));
        let much_later = later + Duration::from_secs(21);
        for _ in 0..2 {
            keyed.fail(&"a", much_later);
        }
        // Capped.
        assert_eq!(keyed.fail(&"a", much_later), Some(RetryAfter(25)));
        keyed.clear(&"a");
        assert_eq!(keyed.check(&"a", much_later), Ok(()));
    }
}
