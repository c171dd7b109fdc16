//! Group commit: concurrent sends share one transaction instead of paying one fsync each.
//!
//! Senders call [`GroupCommit::append`] and wait. One task takes the first waiting append,
//! drains whatever else is already waiting (up to `max_batch`), commits them all with
//! [`super::MessageStore::append_batch`], runs the after-commit hook for each (publishing in
//! commit order), and only then answers every sender. Under light load a batch is one message, so latency is
//! one commit; under heavy load the batch grows and throughput with it. Durability is never
//! weakened: every answer follows a durable commit.
//!
//! At shutdown [`GroupCommit::close`] stops taking appends and lets the task drain its queue.
//!
//! If a whole batch fails, each of its appends is retried alone, so one bad append cannot
//! fail its neighbours.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Append, AppendOutcome, Appended, Store, StoreError};

/// Called for each newly stored (non-duplicate) append, in commit order, before the sender
/// hears back.
pub type AfterCommit = Box<dyn Fn(&Appended) + Send + Sync>;

struct Pending {
    append: Append,
    reply: oneshot::Sender<Result<AppendOutcome, CommitFailed>>,
}

/// The append may or may not be stored; retrying it (same client id) is safe.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the commit failed")]
pub struct CommitFailed;

#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Pending>,
    stats: Arc<CommitStats>,
    closing: CancellationToken,
}

/// Running totals: how many transactions committed how many appends.
#[derive(Debug, Default)]
pub struct CommitStats {
    batches: AtomicU64,
    appends: AtomicU64,
}

impl CommitStats {
    /// (transactions, appends) committed so far.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.appends.load(Ordering::Relaxed),
        )
    }
}

impl GroupCommit {
    /// Starts the committing task. It ends once every handle is dropped and the queue is
    /// drained, so in-flight sends finish during shutdown.
    pub fn start(
        store: Arc<dyn Store>,
        max_batch: usize,
        after_commit: AfterCommit,
    ) -> (Self, JoinHandle<()>) {
        let max_batch = max_batch.max(1);
        let (queue, rx) = mpsc::channel(max_batch * 4);
        let stats = Arc::new(CommitStats::default());
        let closing = CancellationToken::new();
        let task = tokio::spawn(run(
            store,
            rx,
            max_batch,
            after_commit,
            stats.clone(),
            closing.clone(),
        ));
        (
            Self {
                queue,
                stats,
                closing,
            },
            task,
        )
    }

    /// Takes no more appends (they fail with [`CommitFailed`]); the task commits what is queued
    /// and ends.
    pub fn close(&self) {
        self.closing.cancel();
    }

    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }

    /// Commits one append and returns its outcome once it is durable.
    pub async fn append(&self, append: Append) -> Result<AppendOutcome, CommitFailed> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { append, reply })
            .await
            .map_err(|_| CommitFailed)?;
        answer.await.map_err(|_| CommitFailed)?
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Pending>,
    max_batch: usize,
    after_commit: AfterCommit,
    stats: Arc<CommitStats>,
    closing: CancellationToken,
) {
    let mut batch = Vec::with_capacity(max_batch);
    loop {
        tokio::select! {
            received = rx.recv_many(&mut batch, max_batch) => {
                if received == 0 {
                    return;
                }
            }
            () = closing.cancelled(), if !rx.is_closed() => {
                rx.close();
                continue;
            }
        }
        let appends: Vec<Append> = batch.iter().map(|p| p.append.clone()).collect();
        let outcomes = match store.append_batch(&appends).await {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
            Err(e) if appends.len() > 1 => {
                tracing::warn!(error = %e, size = appends.len(), "batch commit failed; retrying its appends one by one");
                let mut outcomes = Vec::with_capacity(appends.len());
                for append in &appends {
                    outcomes.push(commit_alone(store.as_ref(), append).await);
                }
                outcomes
            }
            Err(e) => {
                log_failure(&e);
                vec![Err(CommitFailed)]
            }
        };
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .appends
            .fetch_add(appends.len() as u64, Ordering::Relaxed);
        tracing::trace!(size = appends.len(), "committed batch");
        for (pending, outcome) in batch.drain(..).zip(outcomes) {
            if let Ok(Ok(appended)) = &outcome
                && !appended.duplicate
            {
                after_commit(appended);
            }
            // The sender may have gone (socket closed); the message is stored all the same.
            let _ = pending.reply.send(outcome);
        }
    }
}

async fn commit_alone(store: &dyn Store, append: &Append) -> Result<AppendOutcome, CommitFailed> {
    match store.append_batch(std::slice::from_ref(append)).await {
        Ok(mut outcomes) => outcomes.pop().ok_or(CommitFailed),
        Err(e) => {
            log_failure(&e);
            Err(CommitFailed)
        }
    }
}

fn log_failure(e: &StoreError) {
    tracing::error!(error = ?e, "commit failed");
}
