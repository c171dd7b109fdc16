//! What an agent socket shows: at most one conversation at a time (`watch`), kept up to date
//! and counted among the conversation's viewers.
//!
//! Watching joins the socket to the conversation's hub topic beside its agent topic, so it
//! hears the conversation's messages (through the socket's delivery tracker: in `seq` order,
//! each once), typing, peeks, read marks, notes, viewers and state changes; the hub gives a
//! frame meant for both topics once. The join comes before the store reads of the answer, as
//! `hello`'s registration does, so nothing committed in between is missed. Watching grants
//! nothing else: a supervisor's watch is the read-only monitor.
//!
//! The socket's seat among the viewers ([`crate::viewers`]) is given back when it watches
//! another conversation, none, or closes; a change of the viewers goes out as one event.

use bellhop_protocol::frames::{AgentRef, Conversation, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode};

use super::live::Live;
use super::transport::Gone;
use crate::app::AppState;
use crate::events::Event;
use crate::hub::{Joined, Topic};
use crate::store::Agent;
use crate::viewers::Seat;

/// The socket's watch, if any.
#[derive(Default)]
pub(super) struct Watching {
    current: Option<Watched>,
}

/// A conversation being watched: the socket's place in its topic and among its viewers.
pub(super) struct Watched {
    /// Dropped first: the socket stops hearing the conversation before it leaves the viewers.
    joined: Joined,
    seat: Seat,
}

impl Watching {
    /// Ends the watch without telling anyone (the caller does, with [`left`]).
    pub(super) fn take(&mut self) -> Option<Watched> {
        self.current.take()
    }

    fn conversation(&self) -> Option<ConversationId> {
        self.current.as_ref().map(|w| w.seat.conversation())
    }
}

/// Handles `watch`: the conversation to show now (`None`: none).
pub(super) async fn watch(
    live: &mut Live,
    agent: &Agent,
    target: Option<ConversationId>,
    after_seq: u64,
) -> Result<(), Gone> {
    let Some(id) = target else {
        let watched = live.watching.take();
        left(&live.state, watched).await;
        return Ok(());
    };
    // Another site's conversation is answered like one that does not exist.
    let readable = match live.state.store.conversation(id).await {
        Ok(found) => found.filter(|c| agent.reaches(c.site_id)).is_some(),
        Err(e) => {
            tracing::error!(error = ?e, "watch lookup failed");
            return internal(live).await;
        }
    };
    if !readable {
        return live
            .transport
            .error(ErrorCode::NotFound, "no such conversation of yours", None)
            .await;
    }
    let again = live.watching.conversation() == Some(id);
    let joined = if again {
        None
    } else {
        let watched = live.watching.take();
        left(&live.state, watched).await;
        let Some(joined) = live.join(Topic::Conversation(id)) else {
            return Ok(());
        };
        Some(joined)
    };
    // Read after joining: whatever changes from now on reaches the outbox too.
    let conversation = match live.state.store.conversation(id).await {
        Ok(Some(conversation)) => conversation,
        Ok(None) => {
            return live
                .transport
                .error(ErrorCode::NotFound, "no such conversation of yours", None)
                .await;
        }
        Err(e) => {
            tracing::error!(error = ?e, "watch lookup failed");
            return internal(live).await;
        }
    };
    live.tracker.holds(id, after_seq.min(conversation.last_seq));
    live.transport
        .frame(&ServerFrame::ConversationUpdated {
            conversation: conversation.clone(),
        })
        .await?;
    live.catch_up(id).await?;
    let viewers = &live.state.viewers;
    let changed = match joined {
        Some(joined) => {
            let me = AgentRef {
                id: agent.id,
                display_name: agent.display_name.clone(),
            };
            let (seat, changed) = viewers.take_seat(id, me);
            live.watching.current = Some(Watched { joined, seat });
            changed
        }
        None => None,
    };
    match changed {
        // Everyone looking hears it, this socket too (it has joined the topic).
        Some(viewers) => {
            tell(&live.state, conversation, viewers);
            Ok(())
        }
        None => {
            let viewers = viewers.of(id);
            live.transport
                .frame(&ServerFrame::Viewers {
                    conversation_id: id,
                    viewers,
                })
                .await
        }
    }
}

/// Gives a finished watch's seat back and, when that changed who views the conversation,
/// tells those still looking and its serving agent.
pub(super) async fn left(state: &AppState, watched: Option<Watched>) {
    let Some(Watched { joined, seat }) = watched else {
        return;
    };
    drop(joined);
    let id = seat.conversation();
    let Some(viewers) = seat.give_back() else {
        return;
    };
    match state.store.conversation(id).await {
        Ok(Some(conversation)) => tell(state, conversation, viewers),
        Ok(None) => {}
        // Ephemeral: the next change tells them.
        Err(e) => tracing::warn!(error = ?e, "viewers lookup failed"),
    }
}

fn tell(state: &AppState, conversation: Conversation, viewers: Vec<AgentRef>) {
    state.chat.emit(Event::ViewersChanged {
        conversation,
        viewers,
    });
}

async fn internal(live: &mut Live) -> Result<(), Gone> {
    live.transport
        .error(
            ErrorCode::Internal,
            "the server could not load the conversation; retry",
            None,
        )
        .await
}
