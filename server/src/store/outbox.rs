//! The mail outbox: mails waiting to be sent (transcripts), kept in the database so that a
//! queued mail survives restarts and crashes.
//!
//! A sender [claims](MailOutboxStore::claim_due_mail) due rows: each claim is a conditional
//! update that moves the row's `next_attempt_at` past the time one attempt may take (the
//! lease) and counts the attempt, so that no other sender, on this node or another, takes the
//! row while it is being sent. The sender then records the outcome: [sent](MailOutboxStore::mail_sent),
//! or [failed](MailOutboxStore::mail_failed) with the next attempt's time (none: given up). A
//! sender that dies mid-attempt leaves the row to be claimed again when its lease ends, so
//! every mail is sent at least once.

use async_trait::async_trait;
use bellhop_protocol::VisitorId;
use bellhop_protocol::frames::Millis;
use uuid::Uuid;

use super::{SqlStore, StoreResult};

/// A mail to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMail {
    pub recipient: String,
    pub subject: String,
    /// Plain UTF-8 text.
    pub body: String,
    /// The visitor it is for (a transcript they asked for): erasing them removes it.
    pub visitor_id: Option<VisitorId>,
}

/// A mail a sender has claimed for one attempt.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxMail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Attempts begun, this one included.
    pub attempts: i64,
}

#[async_trait]
pub trait MailOutboxStore: Send + Sync + 'static {
    /// Queues a mail, due at once.
    async fn queue_mail(&self, mail: &NewMail, now: Millis) -> StoreResult<Uuid>;
    /// Claims up to `limit` mails due at `now` for one attempt each, leased until
    /// `now + lease_ms`: no other claim takes them before then.
    async fn claim_due_mail(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMail>>;
    /// The claimed mail was sent.
    async fn mail_sent(&self, id: Uuid, now: Millis) -> StoreResult<()>;
    /// The claimed mail's attempt failed with `error`; it is due again at `retry_at`, or
    /// never (`None`: given up).
    async fn mail_failed(&self, id: Uuid, error: &str, retry_at: Option<Millis>)
    -> StoreResult<()>;
}

#[async_trait]
impl MailOutboxStore for SqlStore {
    async fn queue_mail(&self, mail: &NewMail, now: Millis) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        self.write
            .get()
            .execute(
                "INSERT INTO mail_outbox (id, recipient, subject, body, attempts, \
                 next_attempt_at, created_at, visitor_id) VALUES ($1, $2, $3, $4, 0, $5, $5, $6)",
                (
                    id,
                    &mail.recipient,
                    &mail.subject,
                    &mail.body,
                    now,
                    mail.visitor_id,
                ),
            )
            .await?;
        Ok(id)
    }

    async fn claim_due_mail(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMail>> {
        let mut tx = self.write.begin_write().await?;
        let due: Vec<Uuid> = tx
            .conn()
            .scalars(
                "SELECT id FROM mail_outbox WHERE next_attempt_at IS NOT NULL \
                 AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
                (now, i64::from(limit)),
            )
            .await?;
        let leased_until = now.saturating_add(lease_ms);
        let mut claimed = Vec::with_capacity(due.len());
        for id in due {
            // Conditional: a row another sender claimed meanwhile is no longer due, and is
            // left to it.
            let mail: Option<OutboxMail> = tx
                .conn()
                .row_optional(
                    "UPDATE mail_outbox SET next_attempt_at = $2, attempts = attempts + 1 \
                     WHERE id = $1 AND next_attempt_at IS NOT NULL AND next_attempt_at <= $3 \
                     RETURNING id, recipient, subject, body, attempts",
                    (id, leased_until, now),
                )
                .await?;
            claimed.extend(mail);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn mail_sent(&self, id: Uuid, now: Millis) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE mail_outbox SET sent_at = $2, next_attempt_at = NULL, last_error = NULL \
                 WHERE id = $1",
                (id, now),
            )
            .await?;
        Ok(())
    }

    async fn mail_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<Millis>,
    ) -> StoreResult<()> {
        self.write
            .get()
            .execute(
                "UPDATE mail_outbox SET last_error = $2, next_attempt_at = $3 \
                 WHERE id = $1 AND sent_at IS NULL",
                (id, error, retry_at),
            )
            .await?;
        Ok(())
    }
}
