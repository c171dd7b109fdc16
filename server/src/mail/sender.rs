//! The background sender: claims due mails from the outbox, sends each over SMTP, and records
//! the outcome — sent, or failed with the next attempt scheduled (exponential backoff with
//! jitter, up to `smtp.retry_max_ms`), or given up after `smtp.max_attempts` or a permanent
//! refusal (5xx). It wakes when this node queues a mail and every `smtp.poll_ms` otherwise,
//! and stops when its token is cancelled, after the mail it is sending.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::{AsyncTransport, Message};
use rand::Rng;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Mailer;
use crate::clock::now_millis;
use crate::store::{MailOutboxStore, OutboxMail, StoreError};

/// Mails claimed at once.
const BATCH: u32 = 10;

impl Mailer {
    /// Starts this node's sender; it ends when `stop` is cancelled.
    pub fn start_sender(
        self: &Arc<Self>,
        store: Arc<dyn MailOutboxStore>,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        let mailer = Arc::clone(self);
        tokio::spawn(async move {
            let poll = Duration::from_millis(mailer.config.poll_ms.max(10));
            loop {
                if let Err(e) = mailer.send_due(store.as_ref(), &stop).await {
                    tracing::error!(error = ?e, "mail outbox sweep failed");
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = mailer.wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
        })
    }

    /// Sends every mail due now, batch by batch, until none is due or `stop` is cancelled.
    async fn send_due(
        &self,
        store: &dyn MailOutboxStore,
        stop: &CancellationToken,
    ) -> Result<(), StoreError> {
        while !stop.is_cancelled() {
            let claimed = store
                .claim_due_mail(now_millis(), self.lease_ms(), BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            for mail in claimed {
                // Mails claimed but not tried are tried again when their claim ends.
                if stop.is_cancelled() {
                    return Ok(());
                }
                self.attempt(store, mail).await?;
            }
        }
        Ok(())
    }

    /// How long a claim holds: more than one SMTP conversation may take.
    fn lease_ms(&self) -> i64 {
        let timeout = i64::try_from(self.config.timeout().as_millis()).unwrap_or(i64::MAX);
        timeout.saturating_mul(2).saturating_add(5_000)
    }

    async fn attempt(
        &self,
        store: &dyn MailOutboxStore,
        mail: OutboxMail,
    ) -> Result<(), StoreError> {
        let attempts = u32::try_from(mail.attempts).unwrap_or(u32::MAX);
        let (error, permanent) = match self.send(&mail).await {
            Ok(()) => {
                store.mail_sent(mail.id, now_millis()).await?;
                tracing::info!(mail = %mail.id, attempts, "mail sent");
                return Ok(());
            }
            Err(failure) => failure,
        };
        if permanent || attempts >= self.config.max_attempts {
            store.mail_failed(mail.id, &error, None).await?;
            tracing::error!(mail = %mail.id, attempts, error, permanent, "giving up on a mail");
            return Ok(());
        }
        let wait = retry_delay(
            attempts,
            self.config.retry_base_ms,
            self.config.retry_max_ms,
            rand::thread_rng().r#gen::<f64>(),
        );
        let retry_at = now_millis().saturating_add(i64::try_from(wait).unwrap_or(i64::MAX));
        store.mail_failed(mail.id, &error, Some(retry_at)).await?;
        tracing::warn!(mail = %mail.id, attempts, error, retry_in_ms = wait, "mail not sent; will retry");
        Ok(())
    }

    /// One SMTP conversation; on failure, the error and whether it is permanent.
    async fn send(&self, mail: &OutboxMail) -> Result<(), (String, bool)> {
        let to = mail
            .recipient
            .parse()
            .map_err(|e| (format!("recipient: {e}"), true))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| (format!("message: {e}"), true))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err((error_chain(&e), e.is_permanent())),
        }
    }
}

/// An error with its causes, for the outbox row and the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The wait in milliseconds before the attempt after `attempts` failed ones: `base` doubled
/// for each failure after the first, at most `max`, of which the upper half is left to
/// `jitter` (0 to 1) so that mails failing together do not retry together.
pub(crate) fn retry_delay(attempts: u32, base: u64, max: u64, jitter: f64) -> u64 {
    let doublings = attempts.saturating_sub(1).min(32);
    let full = base.saturating_mul(1u64 << doublings).min(max);
    let half = full / 2;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a jitter fraction of a bounded wait"
    )]
    let spread = (half as f64 * jitter.clamp(0.0, 1.0)) as u64;
    full - half + spread
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let waits: Vec<u64> = (1..=6)
            .map(|n| retry_delay(n, 1_000, 10_000, 1.0))
            .collect();
        assert_eq!(waits, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        assert_eq!(retry_delay(60, 1_000, 3_600_000, 1.0), 3_600_000);
    }

    #[test]
    fn jitter_spreads_the_upper_half() {
        assert_eq!(retry_delay(3, 1_000, 60_000, 0.0), 2_000);
        assert_eq!(retry_delay(3, 1_000, 60_000, 0.5), 3_000);
        assert_eq!(retry_delay(3, 1_000, 60_000, 1.0), 4_000);
    }
}
