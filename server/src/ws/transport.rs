//! The WebSocket under one connection: incoming frames sorted into what the connection must
//! act on, writes bounded in time, pings, and the closing handshake. It knows text and close
//! codes, not what frames mean.
//!
//! Closing (RFC 6455 §7.1): when the client closes first, the server echoes its close and ends
//! the TCP connection at once. When the server closes first, it sends its close frame and
//! waits a short while for the client's answer, so the client reads the close code instead of a
//! reset connection.

use std::future::Future;
use std::time::Duration;

use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use bellhop_protocol::frames::ServerFrame;
use bellhop_protocol::{ClientMessageId, ErrorCode, close_code};
use bytestring::ByteString;

/// How long a server-initiated close waits for the client's close frame.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);

/// How a connection ends.
pub(super) enum End {
    /// The server closes with this code and reason.
    Close(u16, &'static str),
    /// The client sent its close frame: echo it and end.
    ClientClosed(Option<CloseReason>),
    /// The socket is gone: nothing more can be said.
    Gone,
}

impl End {
    pub(super) fn too_slow() -> Self {
        End::Close(close_code::TOO_SLOW, "too slow: reconnect and resume")
    }

    pub(super) fn session_ended() -> Self {
        End::Close(close_code::SESSION_ENDED, "session ended: log in again")
    }
}

/// Why a frame could not be written.
pub(super) enum Gone {
    /// The socket is closed.
    Closed,
    /// The client stopped reading: the write waited longer than the write limit.
    Stuck,
}

impl From<Gone> for End {
    fn from(gone: Gone) -> Self {
        match gone {
            Gone::Closed => End::Gone,
            Gone::Stuck => End::too_slow(),
        }
    }
}

/// An incoming frame, as the connection needs to see it.
pub(super) enum Incoming {
    Text(ByteString),
    /// A binary frame (the protocol is JSON text).
    Binary,
    /// Anything else that proves the client is alive (a ping is answered here).
    Heard,
    /// The connection ends (the client closed, the stream broke, a frame was invalid).
    End(End),
}

pub(super) struct Transport {
    session: Session,
    stream: AggregatedMessageStream,
    write_limit: Duration,
}

impl Transport {
    /// `write_limit` bounds every write: a peer that does not read must not hold the
    /// connection's loop (and with it its heartbeat) forever.
    pub(super) fn new(
        session: Session,
        stream: AggregatedMessageStream,
        write_limit: Duration,
    ) -> Self {
        Self {
            session,
            stream,
            write_limit,
        }
    }

    /// The next incoming frame. Cancel-safe: usable as a `select!` branch.
    pub(super) async fn recv(&mut self) -> Incoming {
        match self.stream.recv().await {
            Some(Ok(AggregatedMessage::Text(text))) => Incoming::Text(text),
            Some(Ok(AggregatedMessage::Binary(_))) => Incoming::Binary,
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                match within(self.write_limit, self.session.pong(&bytes)).await {
                    Ok(()) => Incoming::Heard,
                    Err(gone) => Incoming::End(gone.into()),
                }
            }
            Some(Ok(AggregatedMessage::Pong(_))) => Incoming::Heard,
            Some(Ok(AggregatedMessage::Close(reason))) => Incoming::End(End::ClientClosed(reason)),
            Some(Err(e)) => Incoming::End(protocol_error_end(&e)),
            None => Incoming::End(End::Gone),
        }
    }

    pub(super) async fn text(&mut self, json: ByteString) -> Result<(), Gone> {
        within(self.write_limit, self.session.text(json)).await
    }

    pub(super) async fn frame(&mut self, frame: &ServerFrame) -> Result<(), Gone> {
        let json = serde_json::to_string(frame).map_err(|e| {
            tracing::error!(error = %e, "server frame did not serialise");
            Gone::Closed
        })?;
        self.text(json.into()).await
    }

    pub(super) async fn error(
        &mut self,
        code: ErrorCode,
        message: impl Into<String>,
        client_id: Option<ClientMessageId>,
    ) -> Result<(), Gone> {
        self.frame(&ServerFrame::Error {
            code,
            message: message.into(),
            client_id,
        })
        .await
    }

    pub(super) async fn ping(&mut self) -> Result<(), Gone> {
        within(self.write_limit, self.session.ping(b"")).await
    }

    /// Ends the connection as `end` says; returns once the TCP connection may go.
    pub(super) async fn close(self, end: End) {
        let Transport {
            session,
            mut stream,
            ..
        } = self;
        match end {
            End::Gone => {}
            End::ClientClosed(reason) => {
                // Echo the client's code; dropping the session and the stream right after
                // ends the TCP connection.
                let echo = reason.map(|r| CloseReason {
                    code: r.code,
                    description: None,
                });
                let _ = within(CLOSE_HANDSHAKE, session.close(echo)).await;
            }
            End::Close(code, why) => {
                let reason = CloseReason {
                    code: CloseCode::Other(code),
                    description: Some(why.into()),
                };
                // The TCP connection lives as long as a session handle does: keep one until
                // the client has answered (or the wait is over).
                let _open = session.clone();
                if within(CLOSE_HANDSHAKE, session.close(Some(reason)))
                    .await
                    .is_err()
                {
                    return;
                }
                let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
                    while let Some(Ok(message)) = stream.recv().await {
                        if matches!(message, AggregatedMessage::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
        }
    }
}

/// Bounds a write in time.
async fn within(
    limit: Duration,
    write: impl Future<Output = Result<(), actix_ws::Closed>>,
) -> Result<(), Gone> {
    match tokio::time::timeout(limit, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(actix_ws::Closed)) => Err(Gone::Closed),
        Err(_) => Err(Gone::Stuck),
    }
}

/// RFC 6455's close code for a broken protocol (e.g. a reserved bit set with no extension).
const PROTOCOL_ERROR: u16 = 1002;

/// Maps a broken incoming frame to its close code: too big, one frame or a fragmented message
/// as a whole (1009); not UTF-8 (1007); else a protocol error (1002), a reserved bit included.
///
/// actix-ws reports a fragmented message over its limit, invalid UTF-8 and reserved bits all as
/// `ProtocolError::Io`; only the inner error tells them apart.
fn protocol_error_end(error: &actix_ws::ProtocolError) -> End {
    use actix_ws::ProtocolError;
    let too_big = End::Close(close_code::TOO_BIG, "frame too large");
    match error {
        ProtocolError::Overflow => too_big,
        ProtocolError::Io(io) => {
            let text = io.to_string().to_ascii_lowercase();
            let not_utf8 = io.kind() == std::io::ErrorKind::InvalidData
                && (io
                    .get_ref()
                    .is_some_and(|inner| inner.is::<std::str::Utf8Error>())
                    || text.contains("utf-8"));
            if text.contains("continuation size") {
                too_big
            } else if not_utf8 {
                End::Close(close_code::INVALID_PAYLOAD, "text frame is not valid UTF-8")
            } else {
                End::Close(PROTOCOL_ERROR, "WebSocket protocol error")
            }
        }
        _ => End::Close(PROTOCOL_ERROR, "WebSocket protocol error"),
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use actix_ws::ProtocolError;

    use super::*;

    fn code(error: ProtocolError) -> u16 {
        match protocol_error_end(&error) {
            End::Close(code, _) => code,
            _ => 0,
        }
    }

    #[test]
    fn broken_frames_close_with_their_rfc_6455_codes() {
        assert_eq!(code(ProtocolError::Overflow), 1009);
        // What actix-ws says for a fragmented message over its limit, a reserved bit, and
        // invalid UTF-8 in one frame or across fragments.
        let fragmented = io::Error::other("Exceeded maximum continuation size");
        assert_eq!(code(ProtocolError::Io(fragmented)), 1009);
        let reserved = io::Error::new(
            io::ErrorKind::InvalidData,
            "Received a frame with non-zero reserved bits",
        );
        assert_eq!(code(ProtocolError::Io(reserved)), 1002);
        let bytes = vec![0xff_u8, 0xfe];
        let utf8 = std::str::from_utf8(&bytes)
            .err()
            .map(|e| io::Error::new(io::ErrorKind::InvalidData, e));
        assert_eq!(utf8.map(|e| code(ProtocolError::Io(e))), Some(1007));
        let joined = io::Error::new(
            io::ErrorKind::InvalidData,
            "invalid utf-8 sequence of 1 bytes from index 0",
        );
        assert_eq!(code(ProtocolError::Io(joined)), 1007);
        assert_eq!(code(ProtocolError::UnmaskedFrame), 1002);
    }
}
