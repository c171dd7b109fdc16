//! Helpers for the agent console's tests: the live feeds (`subscribe`, then the `queue` and
//! `wallboard` frames the server pushes). Staff accounts of any role come from
//! [`crate::staff`].

use std::time::Duration;

use bellhop_protocol::console::{Feed, QueueView, Wallboard};
use bellhop_protocol::frames::{AgentFrame, ServerFrame};

use crate::{FRAME_TIMEOUT, WsClient};

/// A feed frame's content.
#[derive(Clone, Debug)]
pub enum Pushed {
    Queue(QueueView),
    Board(Wallboard),
}

fn pushed(frame: ServerFrame) -> Option<Pushed> {
    match frame {
        ServerFrame::Queue { queue } => Some(Pushed::Queue(queue)),
        ServerFrame::Wallboard { board } => Some(Pushed::Board(board)),
        _ => None,
    }
}

/// Subscribes the socket to `feed` and returns the current state it gets at once.
pub async fn subscribe(ws: &mut WsClient, feed: Feed) -> Pushed {
    ws.send(&AgentFrame::Subscribe { feed }).await;
    loop {
        let frame = ws.next_frame().await;
        if let ServerFrame::Error { code, message, .. } = &frame {
            panic!("subscribing to {feed:?} failed: {code:?} {message}");
        }
        match pushed(frame) {
            Some(p @ Pushed::Queue(_)) if feed == Feed::Queue => return p,
            Some(p @ Pushed::Board(_)) if feed == Feed::Wallboard => return p,
            _ => {}
        }
    }
}

/// Subscribes to the queue; returns its current view.
pub async fn subscribe_queue(ws: &mut WsClient) -> QueueView {
    match subscribe(ws, Feed::Queue).await {
        Pushed::Queue(queue) => queue,
        Pushed::Board(_) => unreachable!(),
    }
}

/// Subscribes to the wallboard; returns its current board.
pub async fn subscribe_board(ws: &mut WsClient) -> Wallboard {
    match subscribe(ws, Feed::Wallboard).await {
        Pushed::Board(board) => board,
        Pushed::Queue(_) => unreachable!(),
    }
}

/// Reads pushed frames until a queue view matches `wanted`; other frames on this socket are
/// dropped (use a socket that only watches feeds). Fails after [`FRAME_TIMEOUT`].
pub async fn queue_until(
    ws: &mut WsClient,
    what: &str,
    wanted: impl Fn(&QueueView) -> bool,
) -> QueueView {
    let mut last = None;
    match until(ws, |p| match p {
        Pushed::Queue(q) => {
            let ok = wanted(q);
            last = Some(q.clone());
            ok
        }
        Pushed::Board(_) => false,
    })
    .await
    {
        Some(Pushed::Queue(queue)) => queue,
        _ => panic!("no queue view with {what} within {FRAME_TIMEOUT:?}; last: {last:#?}"),
    }
}

/// Like [`queue_until`], for the wallboard.
pub async fn board_until(
    ws: &mut WsClient,
    what: &str,
    wanted: impl Fn(&Wallboard) -> bool,
) -> Wallboard {
    let mut last = None;
    match until(ws, |p| match p {
        Pushed::Board(b) => {
            let ok = wanted(b);
            last = Some(b.clone());
            ok
        }
        Pushed::Queue(_) => false,
    })
    .await
    {
        Some(Pushed::Board(board)) => board,
        _ => panic!("no wallboard with {what} within {FRAME_TIMEOUT:?}; last: {last:#?}"),
    }
}

async fn until(ws: &mut WsClient, mut wanted: impl FnMut(&Pushed) -> bool) -> Option<Pushed> {
    ws.clear_skipped();
    let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.try_next_frame(left).await {
            Some(Ok(frame)) => {
                if let Some(p) = pushed(frame)
                    && wanted(&p)
                {
                    return Some(p);
                }
            }
            Some(Err(ended)) => panic!("the socket ended while waiting for a feed: {ended:?}"),
            None => return None,
        }
    }
}

/// Every feed frame the socket receives within `wait` (other frames are dropped).
pub async fn pushes_within(ws: &mut WsClient, wait: Duration) -> Vec<Pushed> {
    ws.clear_skipped();
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return out;
        }
        match ws.try_next_frame(left).await {
            Some(Ok(frame)) => out.extend(pushed(frame)),
            Some(Err(ended)) => panic!("the socket ended: {ended:?}"),
            None => return out,
        }
    }
}
