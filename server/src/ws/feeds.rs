//! An agent socket's live feeds (`subscribe` / `unsubscribe`): at most one subscription per
//! feed, each with its own hub queue (see [`crate::feeds`]). Dropping a subscription (an
//! `unsubscribe`, or the socket closing) leaves the feed.

use std::sync::Arc;

use bellhop_protocol::ErrorCode;
use bellhop_protocol::console::Feed;

use super::live::Live;
use super::transport::Gone;
use crate::feeds::{self, Subscription};
use crate::hub::Delivery;
use crate::store::Agent;

/// The feeds this socket subscribed to.
#[derive(Default)]
pub(super) struct FeedSubscriptions {
    queue: Option<Subscription>,
    wallboard: Option<Subscription>,
}

/// What the next feed push is: a frame of `feed` to send, or `None` when that feed's queue
/// overflowed (the socket is too slow) and was closed.
pub(super) struct Pushed {
    pub(super) feed: Feed,
    pub(super) delivery: Option<Arc<Delivery>>,
}

impl FeedSubscriptions {
    pub(super) fn any(&self) -> bool {
        self.queue.is_some() || self.wallboard.is_some()
    }

    fn slot(&mut self, feed: Feed) -> &mut Option<Subscription> {
        match feed {
            Feed::Queue => &mut self.queue,
            Feed::Wallboard => &mut self.wallboard,
        }
    }

    /// The next push of any feed this socket subscribed to (pending forever with none).
    pub(super) async fn next(&mut self) -> Pushed {
        async fn recv(subscription: &mut Option<Subscription>) -> Option<Arc<Delivery>> {
            match subscription {
                Some(subscription) => subscription.outbox.recv().await,
                None => std::future::pending().await,
            }
        }
        let Self { queue, wallboard } = self;
        tokio::select! {
            delivery = recv(queue) => Pushed { feed: Feed::Queue, delivery },
            delivery = recv(wallboard) => Pushed { feed: Feed::Wallboard, delivery },
        }
    }

    /// Whether a pushed frame is new to this socket (not the one it got on subscribing).
    pub(super) fn is_new(&mut self, feed: Feed, delivery: &Arc<Delivery>) -> bool {
        self.slot(feed)
            .as_mut()
            .is_some_and(|subscription| subscription.is_new(delivery))
    }
}

/// `subscribe`: the feed's current frame at once, then its pushes. A feed the agent may not
/// have is `forbidden`; subscribing again sends the current frame again.
pub(super) async fn subscribe(live: &mut Live, agent: &Agent, feed: Feed) -> Result<(), Gone> {
    if !feeds::allowed(feed, agent) {
        return live
            .transport
            .error(
                ErrorCode::Forbidden,
                "the wallboard is for supervisors and admins",
                None,
            )
            .await;
    }
    // A new subscription before the old one goes, so the scope stays warm.
    let Some((subscription, current)) = live.state.feeds.subscribe(feed, agent).await else {
        return live
            .transport
            .error(ErrorCode::Internal, "the feeds are not available", None)
            .await;
    };
    *live.feeds.slot(feed) = Some(subscription);
    match current {
        Some(current) => live.transport.text(current.json.clone()).await,
        None => {
            live.transport
                .error(ErrorCode::Internal, "the feed could not be read", None)
                .await
        }
    }
}

/// `unsubscribe`: no more pushes of the feed (nothing happens if there were none).
pub(super) fn unsubscribe(live: &mut Live, feed: Feed) {
    *live.feeds.slot(feed) = None;
}
