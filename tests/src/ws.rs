//! A WebSocket test client that speaks Bellhop frames and fails loudly on timeouts.

use std::time::Duration;

use bellhop_protocol::frames::ServerFrame;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::FRAME_TIMEOUT;

/// Frames skipped by [`WsClient::expect`] are kept, in order, for later calls: a test can wait
/// for an ack and then for an assignment without caring which came first.
pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    skipped: std::collections::VecDeque<ServerFrame>,
}

/// What the server did instead of sending a frame.
#[derive(Debug)]
pub enum Ended {
    Closed(Option<CloseFrame>),
    Error(tungstenite::Error),
}

impl WsClient {
    /// Upgrades to a WebSocket, with an `Origin` header when given.
    pub async fn connect(url: &str, origin: Option<&str>) -> Result<Self, tungstenite::Error> {
        let mut request = url.into_client_request()?;
        if let Some(origin) = origin {
            request.headers_mut().insert(
                "Origin",
                HeaderValue::from_str(origin).expect("origin header"),
            );
        }
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self {
            stream,
            skipped: std::collections::VecDeque::new(),
        })
    }

    pub async fn send<T: Serialize>(&mut self, frame: &T) {
        let text = serde_json::to_string(frame).expect("frame serialises");
        self.send_raw(Message::text(text)).await;
    }

    /// Sends a frame; an error means the connection is gone.
    pub async fn try_send<T: Serialize>(&mut self, frame: &T) -> Result<(), tungstenite::Error> {
        let text = serde_json::to_string(frame).expect("frame serialises");
        self.stream.send(Message::text(text)).await
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.expect("send to server");
    }

    /// The next frame, or how the connection ended.
    pub async fn try_next_frame(&mut self, wait: Duration) -> Option<Result<ServerFrame, Ended>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?;
            return Some(match next {
                Some(Ok(Message::Text(text))) => Ok(serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("server sent an undecodable frame {text}: {e}"))),
                Some(Ok(Message::Close(frame))) => Err(Ended::Closed(frame)),
                Some(Ok(_)) => continue,
                Some(Err(e)) => Err(Ended::Error(e)),
                None => Err(Ended::Closed(None)),
            });
        }
    }

    /// The next frame (skipped ones first); fails the test on timeout or disconnect.
    pub async fn next_frame(&mut self) -> ServerFrame {
        if let Some(frame) = self.skipped.pop_front() {
            return frame;
        }
        match self.try_next_frame(FRAME_TIMEOUT).await {
            Some(Ok(frame)) => frame,
            Some(Err(ended)) => panic!("connection ended while a frame was expected: {ended:?}"),
            None => panic!("no frame within {FRAME_TIMEOUT:?}"),
        }
    }

    /// The first frame (earlier skipped ones included) that matches; others are kept.
    pub async fn expect<F: Fn(&ServerFrame) -> bool>(
        &mut self,
        what: &str,
        matches: F,
    ) -> ServerFrame {
        if let Some(i) = self.skipped.iter().position(&matches) {
            return self.skipped.remove(i).unwrap_or_else(|| unreachable!());
        }
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next_frame(left).await {
                Some(Ok(frame)) if matches(&frame) => return frame,
                Some(Ok(frame)) => self.skipped.push_back(frame),
                Some(Err(ended)) => panic!(
                    "connection ended while waiting for {what}: {ended:?}; skipped {:#?}",
                    self.skipped
                ),
                None => panic!(
                    "no {what} within {FRAME_TIMEOUT:?}; skipped {:#?}",
                    self.skipped
                ),
            }
        }
    }

    /// Forgets frames skipped so far.
    pub fn clear_skipped(&mut self) {
        self.skipped.clear();
    }

    /// Frames skipped so far and not yet taken.
    pub fn skipped(&self) -> impl Iterator<Item = &ServerFrame> {
        self.skipped.iter()
    }

    /// Asserts that no new frame but ephemeral ones arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            match self.try_next_frame(left).await {
                None => return,
                Some(Ok(ServerFrame::Typing { .. } | ServerFrame::QueueStatus { .. })) => {}
                Some(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Waits for the server to close the connection; returns the close code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next_frame(left).await {
                Some(Ok(_)) => continue,
                Some(Err(Ended::Closed(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Err(Ended::Error(_))) => return None,
                None => panic!("the server did not close within {FRAME_TIMEOUT:?}"),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
