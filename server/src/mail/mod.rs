//! Mail: "email me the transcript". Mails are rendered where they are asked for
//! ([`transcript`]), queued in the database's outbox ([`crate::store::MailOutboxStore`]) and
//! sent by a background sender ([`sender`]) over SMTP with `lettre`, retried with exponential
//! backoff and jitter. Without an `[smtp]` section there is no [`Mailer`] and nothing is
//! queued.
//!
//! Delivery is at least once: a mail is marked sent only after the SMTP server accepted it,
//! and a node that dies between the two leaves the mail to be sent again when its claim ends.
//! Several nodes may run senders on one database: each claims rows before sending them.

pub(crate) mod sender;
pub(crate) mod transcript;

use std::sync::Arc;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use tokio::sync::Notify;

use crate::config::{SmtpConfig, SmtpTls};
use crate::store::{MailOutboxStore, NewMail, StoreResult};

/// Why the `[smtp]` section cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("smtp.from {0:?} is not a mailbox (e.g. `Support <support@example.com>`)")]
    From(String),
    #[error("smtp.host {host:?}: {source}")]
    Host {
        host: String,
        source: lettre::transport::smtp::Error,
    },
    #[error("smtp.username and smtp.password go together")]
    Credentials,
}

/// The configured SMTP server, and the signal that wakes this node's sender.
pub struct Mailer {
    config: SmtpConfig,
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    wake: Notify,
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Arc<Self>, MailConfigError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| MailConfigError::From(config.from.clone()))?;
        let host_error = |source| MailConfigError::Host {
            host: config.host.clone(),
            source,
        };
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(host_error)?,
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(host_error)?
            }
        };
        let mut builder = builder.port(config.port()).timeout(Some(config.timeout()));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                let password = secrecy::ExposeSecret::expose_secret(password).to_owned();
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (None, None) => {}
            _ => return Err(MailConfigError::Credentials),
        }
        Ok(Arc::new(Self {
            config: config.clone(),
            from,
            transport: builder.build(),
            wake: Notify::new(),
        }))
    }

    /// Queues `mail` in the outbox and wakes this node's sender.
    pub async fn queue(&self, store: &dyn MailOutboxStore, mail: &NewMail) -> StoreResult<()> {
        let id = store.queue_mail(mail, crate::clock::now_millis()).await?;
        tracing::info!(mail = %id, "mail queued");
        self.wake.notify_one();
        Ok(())
    }
}
