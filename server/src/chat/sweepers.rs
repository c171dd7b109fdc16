//! Background sweeps of the chat service: chats of agents gone past their grace period go back
//! to the queue; chats whose visitor fell silent close; closed chats past their site's
//! retention are deleted, files and all. Each ends with the chat service.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::Chat;
use crate::clock::now_millis;
use crate::events::Event;
use crate::files::BlobStore;
use crate::store::{NewAudit, Requeued, StoreError};

/// Conversations deleted per transaction by the retention sweep.
const RETENTION_BATCH: u32 = 200;
const DAY_MS: i64 = 86_400_000;

impl Chat {
    /// Every `period`, puts the chats of agents offline longer than `grace` back at the front
    /// of their queues and tells their visitors.
    pub fn start_grace_sweeper(
        self: &Arc<Self>,
        grace: Duration,
        period: Duration,
        notice: String,
    ) -> JoinHandle<()> {
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        periodically(Arc::downgrade(self), period, move |chat| {
            let notice = notice.clone();
            async move {
                if let Err(e) = chat.requeue_abandoned(grace_ms, &notice).await {
                    tracing::error!(error = ?e, "grace sweep failed");
                }
            }
        })
    }

    async fn requeue_abandoned(&self, grace_ms: i64, notice: &str) -> Result<(), StoreError> {
        let now = now_millis();
        let requeued = self
            .store
            .requeue_abandoned(now.saturating_sub(grace_ms), now, notice)
            .await?;
        self.announce_requeued(requeued, "re-queued after the grace period");
        Ok(())
    }

    /// Tells everyone concerned about conversations that went back to their queues, and lets
    /// the assigner place them again.
    pub(super) fn announce_requeued(&self, requeued: Vec<Requeued>, why: &'static str) {
        for r in requeued {
            tracing::info!(conversation = %r.conversation.id, agent = %r.previous_agent, "{why}");
            self.emit(Event::MessageStored {
                conversation: r.conversation.clone(),
                message: r.notice,
            });
            self.emit(Event::ConversationRequeued {
                conversation: r.conversation.clone(),
                previous_agent: r.previous_agent,
            });
            self.assigner.kick(r.conversation.site_id);
        }
    }

    /// Every `period`, closes chats whose visitor has been silent longer than their site's
    /// inactivity timeout, telling both sides.
    pub fn start_inactivity_sweeper(self: &Arc<Self>, period: Duration) -> JoinHandle<()> {
        periodically(Arc::downgrade(self), period, |chat| async move {
            if let Err(e) = chat.close_inactive().await {
                tracing::error!(error = ?e, "inactivity sweep failed");
            }
        })
    }

    async fn close_inactive(&self) -> Result<(), StoreError> {
        let now = now_millis();
        for site in self.store.sites(None).await? {
            let timeout = site.config.inactivity_timeout_secs;
            if timeout == 0 {
                continue;
            }
            let cutoff =
                now.saturating_sub(i64::try_from(timeout.saturating_mul(1000)).unwrap_or(i64::MAX));
            let closed = self
                .store
                .close_inactive(site.id, cutoff, now, &site.config.inactivity_message)
                .await?;
            for c in closed {
                tracing::info!(conversation = %c.conversation.id, missed = c.conversation.missed, "closed for inactivity");
                self.emit(Event::MessageStored {
                    conversation: c.conversation.clone(),
                    message: c.notice,
                });
                self.closed(&c.conversation);
            }
        }
        Ok(())
    }
}

impl Chat {
    /// Every `period`, deletes the closed conversations whose site keeps them for
    /// `retention_days` and that closed longer ago than that, with their messages, files and
    /// everything hanging off them; each site's sweep that deleted something is audited
    /// (`retention_swept`, with how many).
    pub fn start_retention_sweeper(
        self: &Arc<Self>,
        period: Duration,
        files: Arc<dyn BlobStore>,
    ) -> JoinHandle<()> {
        periodically(Arc::downgrade(self), period, move |chat| {
            let files = files.clone();
            async move {
                if let Err(e) = chat.sweep_retention(files.as_ref()).await {
                    tracing::error!(error = ?e, "retention sweep failed");
                }
            }
        })
    }

    async fn sweep_retention(&self, files: &dyn BlobStore) -> Result<(), StoreError> {
        for site in self.store.sites(None).await? {
            let days = site.config.retention_days;
            if days == 0 {
                continue;
            }
            let now = now_millis();
            let cutoff = now.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
            let mut deleted = 0;
            loop {
                let swept = self
                    .store
                    .sweep_closed(site.id, cutoff, RETENTION_BATCH)
                    .await?;
                // The records are gone; now their bytes. One that fails stays an orphan.
                for key in &swept.blob_keys {
                    if let Err(e) = files.delete(key).await {
                        tracing::warn!(error = %e, key, "a swept conversation's file could not be deleted");
                    }
                }
                let count = swept.conversations.len();
                if count > 0 {
                    deleted += count;
                    self.emit(Event::ConversationsDeleted {
                        site: site.id,
                        conversations: swept.conversations,
                    });
                }
                if count < RETENTION_BATCH as usize {
                    break;
                }
            }
            if deleted > 0 {
                tracing::info!(site = %site.id, conversations = deleted, days, "retention sweep");
                self.store
                    .record_audit(&NewAudit {
                        at: now_millis(),
                        actor: None,
                        action: "retention_swept",
                        site: Some(site.id),
                        subject: deleted.to_string(),
                    })
                    .await?;
            }
        }
        Ok(())
    }
}

/// Runs `sweep` every `period` while the chat service lives.
fn periodically<F, Fut>(chat: Weak<Chat>, period: Duration, sweep: F) -> JoinHandle<()>
where
    F: Fn(Arc<Chat>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(chat) = chat.upgrade() else {
                return;
            };
            sweep(chat).await;
        }
    })
}
