//! A real SMTP server for tests: it listens on a free loopback port, speaks enough of RFC 5321
//! for a mail client (`220` greeting, `EHLO`/`HELO`, `MAIL FROM`, `RCPT TO`, `DATA` up to the
//! lone `.`, `RSET`, `NOOP`, `QUIT`), and keeps every message it accepted. It can be told to
//! refuse the first N transactions with a transient `451` after their data, as a busy server
//! does, so tests can watch the sender retry.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A message as the sink received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The envelope's sender (`MAIL FROM`), without the angle brackets.
    pub mail_from: String,
    /// The envelope's recipients (`RCPT TO`).
    pub rcpt_to: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, lines ending in CRLF.
    pub data: String,
}

impl ReceivedMail {
    /// A header's value (unfolded, encoded words decoded), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.data.split_once("\r\n\r\n")?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| decode_words(value.trim()))
        })
    }

    /// The body's text, decoded from its `Content-Transfer-Encoding` (base64 or
    /// quoted-printable) as UTF-8, with LF line ends.
    pub fn text(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body);
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "base64" => {
                let compact: String = body.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("a base64 body")
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8(bytes)
            .expect("a UTF-8 body")
            .replace("\r\n", "\n")
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<ReceivedMail>,
    /// Transactions still to refuse with `451`.
    refuse: u32,
    /// Transactions refused so far.
    refused: u32,
}

/// The running sink; it stops when dropped.
pub struct SmtpSink {
    address: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// A sink that accepts every message.
    pub async fn start() -> Self {
        Self::refusing_first(0).await
    }

    /// A sink that answers the first `n` transactions' data with `451` (try again later).
    pub async fn refusing_first(n: u32) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let inner = Arc::new(Mutex::new(Inner {
            refuse: n,
            ..Inner::default()
        }));
        let changed = Arc::new(Notify::new());
        let (state, notify) = (inner.clone(), changed.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, notify) = (state.clone(), notify.clone());
                tokio::spawn(async move {
                    let _ = session(stream, &state, &notify).await;
                });
            }
        });
        Self {
            address,
            inner,
            changed,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.lock().received.clone()
    }

    /// From now on, refuse the next `n` transactions with `451` (`0`: accept every one).
    pub fn refuse_next(&self, n: u32) {
        self.lock().refuse = n;
    }

    /// Transactions refused with `451` so far.
    pub fn refused(&self) -> u32 {
        self.lock().refused
    }

    /// Waits until at least `count` transactions were refused (failing after `timeout`).
    pub async fn wait_for_refusals(&self, count: u32, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            if self.refused() >= count {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "the SMTP sink refused {} of {count} transactions in {timeout:?}",
                    self.refused()
                );
            }
        }
    }

    /// Waits until at least `count` messages were accepted (failing after `timeout`).
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "the SMTP sink got {} of {count} messages in {timeout:?}",
                    self.received().len()
                );
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection, command by command.
async fn session(stream: TcpStream, state: &Mutex<Inner>, changed: &Notify) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 sink.test ESMTP test sink\r\n")
        .await?;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test greets you\r\n250 8BITMIME\r\n",
            "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                mail_from = Some(address_in(&command));
                rcpt_to.clear();
                b"250 OK\r\n"
            }
            "RCPT" if mail_from.is_some() => {
                rcpt_to.push(address_in(&command));
                b"250 OK\r\n"
            }
            "DATA" if mail_from.is_some() && !rcpt_to.is_empty() => {
                write
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let data = read_data(&mut lines).await?;
                let refuse = {
                    let mut inner = state.lock().unwrap_or_else(PoisonError::into_inner);
                    if inner.refuse > 0 {
                        inner.refuse -= 1;
                        inner.refused += 1;
                        true
                    } else {
                        inner.received.push(ReceivedMail {
                            mail_from: mail_from.take().unwrap_or_default(),
                            rcpt_to: std::mem::take(&mut rcpt_to),
                            data,
                        });
                        false
                    }
                };
                mail_from = None;
                rcpt_to.clear();
                changed.notify_waiters();
                if refuse {
                    b"451 4.3.0 try again later\r\n"
                } else {
                    b"250 OK queued\r\n"
                }
            }
            "RCPT" | "DATA" => b"503 bad sequence of commands\r\n",
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The lines after `DATA` up to the lone `.`, dot-unstuffed.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

/// The address between `<` and `>` of `MAIL FROM:<…>` or `RCPT TO:<…>`.
fn address_in(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}

/// Quoted-printable text decoded (soft line breaks joined).
fn quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// A header value with its RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded.
fn decode_words(value: &str) -> String {
    let mut out = Vec::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let Some(word) = encoded_word(&rest[start..]) else {
            break;
        };
        let between = &rest[..start];
        // Whitespace between two encoded words is not part of the text.
        if !(last_was_word && between.trim().is_empty()) {
            out.extend_from_slice(between.as_bytes());
        }
        out.extend(word.1);
        rest = &rest[start + word.0..];
        last_was_word = true;
    }
    out.extend_from_slice(rest.as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}

/// One encoded word at the start of `text`: its length and its bytes.
fn encoded_word(text: &str) -> Option<(usize, Vec<u8>)> {
    let inner = text.strip_prefix("=?")?;
    let mut parts = inner.splitn(3, '?');
    let (_charset, encoding, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let end = rest.find("?=")?;
    let payload = &rest[..end];
    let bytes = match encoding.to_ascii_lowercase().as_str() {
        "b" => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()?,
        "q" => quoted_printable(&payload.replace('_', " ")),
        _ => return None,
    };
    let length = 2 + (inner.len() - rest.len()) + end + 2;
    Some((length, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words_and_quoted_printable() {
        assert_eq!(
            decode_words("=?utf-8?b?0J/RgNC40LLQtdGC?= world"),
            "Привет world"
        );
        assert_eq!(
            decode_words("=?utf-8?q?caf=C3=A9_au_lait?="),
            "café au lait"
        );
        assert_eq!(
            String::from_utf8(quoted_printable("caf=C3=A9 =\r\nau lait")).unwrap(),
            "café au lait"
        );
    }
}
