//! One event type for everything that happens in a chat, and one function that turns an event
//! into the frames each connection topic receives.
//!
//! Every change of chat state (a message stored, a conversation opened, assigned, transferred,
//! released, re-queued, re-prioritised, closed or rated, a lead captured, an agent's status, a
//! visitor erased, conversations deleted past their retention) is one [`Event`], made by the
//! chat service or the assigner right after the store committed it, and handed to the
//! [`Bus`](crate::bus::Bus). The bus carries it to every node (one node: the
//! in-process bus), where [`fan_out`] decides who hears what; other subscribers (webhooks,
//! metrics, reports) read the same events. Ephemeral signals that must reach connections on
//! any node (typing, sneak peeks, queue positions) travel the same way but are never stored.

use std::sync::Arc;

use bellhop_protocol::api::Lead;
use bellhop_protocol::frames::{
    AgentRef, AgentStatus, AuthorKind, Conversation, Message, ServerFrame,
};
use bellhop_protocol::{AgentId, ConversationId, SiteId, VisitorId};
use serde::{Deserialize, Serialize};

use crate::hub::{Delivery, DeliveryKind, Topic};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A message was committed (the conversation as it is after it).
    MessageStored {
        conversation: Conversation,
        message: Message,
    },
    /// A visitor's first message opened the conversation (it waits in its queue).
    ConversationOpened {
        conversation: Conversation,
    },
    /// The assigner gave the conversation to an agent.
    ConversationAssigned {
        conversation: Conversation,
    },
    /// An agent handed the conversation to a colleague (now `conversation.agent`) or to a
    /// department's queue (no agent).
    ConversationTransferred {
        conversation: Conversation,
        from: Option<AgentRef>,
        note: Option<String>,
    },
    /// The agent stayed away past the grace period: the conversation is back in the queue.
    ConversationRequeued {
        conversation: Conversation,
        previous_agent: AgentId,
    },
    /// The conversation became urgent or normal.
    PriorityChanged {
        conversation: Conversation,
    },
    ConversationClosed {
        conversation: Conversation,
    },
    /// The visitor rated the closed conversation (the conversation carries the rating).
    ConversationRated {
        conversation: Conversation,
    },
    /// A pre-chat or offline form was submitted.
    LeadCaptured {
        lead: Lead,
    },
    /// An agent chose `online` or `away`.
    AgentStatusSet {
        agent: AgentId,
        status: AgentStatus,
    },
    /// An agent's first connection opened (`online`) or last one closed (`offline`).
    AgentPresence {
        agent: AgentId,
        online: bool,
    },
    /// Ephemeral: the visitor's masked draft ("sneak peek"), for the serving agent only. Never
    /// stored; its `Debug` hides the text, so no log line carries it.
    Peek {
        conversation: Conversation,
        text: Draft,
    },
    /// One side read the conversation up to `seq` (stored as its read position, which only
    /// moves forward; published only when it moved).
    ReadMarked {
        conversation: Conversation,
        reader: AuthorKind,
        seq: u64,
    },
    /// Ephemeral: one side of a conversation is typing.
    Typing {
        conversation: Conversation,
        author: AuthorKind,
        typing: bool,
    },
    /// Sessions of an agent ended (one, by its token's hash, or all of them): sockets that
    /// authenticated with them close with `4004`.
    SessionsEnded {
        agent: AgentId,
        session: Option<[u8; 32]>,
    },
    /// An admin erased the visitor: their sockets close (their token no longer works), and
    /// the agents of the chats that were still open let go of them.
    VisitorErased {
        visitor: VisitorId,
        open: Vec<Conversation>,
    },
    /// Closed conversations of a site were deleted, past its retention.
    ConversationsDeleted {
        site: SiteId,
        conversations: Vec<ConversationId>,
    },
    /// Ephemeral: a waiting visitor's place in the queue changed.
    QueuePosition {
        visitor: VisitorId,
        conversation_id: ConversationId,
        position: u32,
        estimated_wait_secs: Option<u64>,
    },
}

/// A sneak peek's text: what the visitor is typing, already masked. `Debug` shows only its
/// length.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Draft(pub String);

impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Draft({} chars)", self.0.chars().count())
    }
}

/// Who receives what for one event: the only place that decides it.
pub(crate) fn fan_out(event: &Event) -> Vec<(Topic, Arc<Delivery>)> {
    match event {
        Event::MessageStored {
            conversation,
            message,
        } => to_parties(conversation, Delivery::message(message)),
        Event::ConversationOpened { conversation } => vec![(
            Topic::Visitor(conversation.visitor_id),
            Delivery::plain(&ServerFrame::ConversationOpened {
                conversation: conversation.clone(),
            }),
        )],
        Event::ConversationAssigned { conversation } => {
            let Some(agent) = &conversation.agent else {
                return Vec::new();
            };
            let frame = ServerFrame::ConversationAssigned {
                conversation: conversation.clone(),
            };
            vec![
                (
                    Topic::Visitor(conversation.visitor_id),
                    Delivery::plain(&frame),
                ),
                // The agent takes the conversation with its whole history.
                (
                    Topic::Agent(agent.id),
                    Delivery::new(
                        &frame,
                        DeliveryKind::CatchUp {
                            conversation_id: conversation.id,
                        },
                    ),
                ),
            ]
        }
        Event::ConversationTransferred {
            conversation,
            from,
            note,
        } => {
            let mut out = Vec::new();
            if let Some(from) = from {
                out.push(released(from.id, conversation));
            }
            if let Some(to) = &conversation.agent {
                out.push((
                    Topic::Agent(to.id),
                    Delivery::new(
                        &ServerFrame::ConversationTransferred {
                            conversation: conversation.clone(),
                            from: from.clone(),
                            note: note.clone(),
                        },
                        DeliveryKind::CatchUp {
                            conversation_id: conversation.id,
                        },
                    ),
                ));
                // The visitor hears who serves them now.
                out.push((
                    Topic::Visitor(conversation.visitor_id),
                    Delivery::plain(&ServerFrame::ConversationAssigned {
                        conversation: conversation.clone(),
                    }),
                ));
            }
            out
        }
        Event::ConversationRequeued {
            conversation,
            previous_agent,
        } => vec![released(*previous_agent, conversation)],
        // The queue reorders; nobody is told (the assigner announces new positions).
        Event::PriorityChanged { .. } => Vec::new(),
        Event::ConversationClosed { conversation } => to_parties(
            conversation,
            Delivery::plain(&ServerFrame::ConversationClosed {
                conversation: conversation.clone(),
            }),
        ),
        // The agent who served the chat hears how it went. (No topic reaches a site's
        // supervisors yet; they read the rating from the conversation.)
        Event::ConversationRated { conversation } => {
            let (Some(agent), Some(rating)) = (&conversation.agent, &conversation.rating) else {
                return Vec::new();
            };
            vec![(
                Topic::Agent(agent.id),
                Delivery::plain(&ServerFrame::ConversationRated {
                    conversation_id: conversation.id,
                    rating: rating.clone(),
                }),
            )]
        }
        // No connection hears these yet; the console's wallboard and the webhooks will.
        Event::LeadCaptured { .. } | Event::AgentPresence { .. } => Vec::new(),
        Event::AgentStatusSet { agent, status } => vec![(
            Topic::Agent(*agent),
            Delivery::plain(&ServerFrame::AgentStatus { status: *status }),
        )],
        Event::Typing {
            conversation,
            author,
            typing,
        } => {
            let frame = Delivery::plain(&ServerFrame::Typing {
                conversation_id: conversation.id,
                author: *author,
                typing: *typing,
            });
            // Senders do not get their own typing back.
            match author {
                AuthorKind::Visitor => conversation
                    .agent
                    .iter()
                    .map(|agent| (Topic::Agent(agent.id), frame.clone()))
                    .collect(),
                AuthorKind::Agent | AuthorKind::System => {
                    vec![(Topic::Visitor(conversation.visitor_id), frame)]
                }
            }
        }
        // The serving agent only: not other agents, not the visitor's own sockets.
        Event::Peek { conversation, text } => match &conversation.agent {
            Some(agent) => vec![(
                Topic::Agent(agent.id),
                Delivery::plain(&ServerFrame::Peek {
                    conversation_id: conversation.id,
                    text: text.0.clone(),
                }),
            )],
            None => Vec::new(),
        },
        // The other party and the reader's other sockets; the socket that sent the mark skips
        // it (see `DeliveryKind::Read`).
        Event::ReadMarked {
            conversation,
            reader,
            seq,
        } => to_parties(
            conversation,
            Delivery::new(
                &ServerFrame::Read {
                    conversation_id: conversation.id,
                    reader: *reader,
                    seq: *seq,
                },
                DeliveryKind::Read {
                    conversation_id: conversation.id,
                    reader: *reader,
                    seq: *seq,
                },
            ),
        ),
        Event::VisitorErased { visitor, open } => {
            let mut out = vec![(Topic::Visitor(*visitor), Delivery::end_session(None))];
            out.extend(
                open.iter()
                    .filter_map(|c| c.agent.as_ref().map(|agent| released(agent.id, c))),
            );
            out
        }
        // Nobody holds a closed conversation open; the console's lists read them again.
        Event::ConversationsDeleted { .. } => Vec::new(),
        Event::SessionsEnded { agent, session } => {
            vec![(Topic::Agent(*agent), Delivery::end_session(*session))]
        }
        Event::QueuePosition {
            visitor,
            conversation_id,
            position,
            estimated_wait_secs,
        } => vec![(
            Topic::Visitor(*visitor),
            Delivery::plain(&ServerFrame::QueueStatus {
                conversation_id: *conversation_id,
                position: *position,
                estimated_wait_secs: *estimated_wait_secs,
            }),
        )],
    }
}

/// The conversation's visitor and, if one serves it, its agent.
fn to_parties(conversation: &Conversation, delivery: Arc<Delivery>) -> Vec<(Topic, Arc<Delivery>)> {
    let mut out = Vec::with_capacity(2);
    if let Some(agent) = &conversation.agent {
        out.push((Topic::Agent(agent.id), delivery.clone()));
    }
    out.push((Topic::Visitor(conversation.visitor_id), delivery));
    out
}

fn released(agent: AgentId, conversation: &Conversation) -> (Topic, Arc<Delivery>) {
    (
        Topic::Agent(agent),
        Delivery::plain(&ServerFrame::ConversationReleased {
            conversation: conversation.clone(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::frames::{ConversationStatus, Priority};
    use bellhop_protocol::{DepartmentId, SiteId};
    use uuid::Uuid;

    fn conversation(agent: Option<u128>) -> Conversation {
        Conversation {
            id: ConversationId::from_uuid(Uuid::from_u128(1)),
            site_id: SiteId::from_uuid(Uuid::from_u128(2)),
            visitor_id: VisitorId::from_uuid(Uuid::from_u128(3)),
            department_id: Some(DepartmentId::from_uuid(Uuid::from_u128(4))),
            priority: Priority::Normal,
            status: if agent.is_some() {
                ConversationStatus::Assigned
            } else {
                ConversationStatus::Queued
            },
            agent: agent.map(|n| AgentRef {
                id: AgentId::from_uuid(Uuid::from_u128(n)),
                display_name: format!("agent {n}"),
            }),
            last_seq: 1,
            created_at: 0,
            assigned_at: None,
            closed_at: None,
            missed: false,
            visitor_read_seq: 0,
            agent_read_seq: 0,
            rating: None,
        }
    }

    fn agent(n: u128) -> Topic {
        Topic::Agent(AgentId::from_uuid(Uuid::from_u128(n)))
    }

    fn visitor() -> Topic {
        Topic::Visitor(VisitorId::from_uuid(Uuid::from_u128(3)))
    }

    fn topics(event: &Event) -> Vec<(Topic, DeliveryKind)> {
        fan_out(event)
            .into_iter()
            .map(|(topic, delivery)| (topic, delivery.kind))
            .collect()
    }

    #[test]
    fn a_transfer_releases_the_old_agent_and_hands_the_history_to_the_new() {
        let event = Event::ConversationTransferred {
            conversation: conversation(Some(20)),
            from: conversation(Some(10)).agent,
            note: Some("VIP".into()),
        };
        let id = ConversationId::from_uuid(Uuid::from_u128(1));
        assert_eq!(
            topics(&event),
            vec![
                (agent(10), DeliveryKind::Plain),
                (
                    agent(20),
                    DeliveryKind::CatchUp {
                        conversation_id: id
                    }
                ),
                (visitor(), DeliveryKind::Plain),
            ]
        );
    }

    #[test]
    fn a_department_transfer_only_releases() {
        let event = Event::ConversationTransferred {
            conversation: conversation(None),
            from: conversation(Some(10)).agent,
            note: None,
        };
        assert_eq!(topics(&event), vec![(agent(10), DeliveryKind::Plain)]);
    }

    #[test]
    fn typing_goes_to_the_other_side_only() {
        let from_visitor = Event::Typing {
            conversation: conversation(Some(10)),
            author: AuthorKind::Visitor,
            typing: true,
        };
        assert_eq!(
            topics(&from_visitor),
            vec![(agent(10), DeliveryKind::Plain)]
        );
        let while_queued = Event::Typing {
            conversation: conversation(None),
            author: AuthorKind::Visitor,
            typing: true,
        };
        assert!(topics(&while_queued).is_empty());
        let from_agent = Event::Typing {
            conversation: conversation(Some(10)),
            author: AuthorKind::Agent,
            typing: false,
        };
        assert_eq!(topics(&from_agent), vec![(visitor(), DeliveryKind::Plain)]);
    }

    #[test]
    fn a_rating_reaches_the_agent_who_served_and_not_the_visitor() {
        let mut rated = conversation(Some(10));
        rated.status = ConversationStatus::Closed;
        rated.rating = Some(bellhop_protocol::frames::Rating {
            score: 4,
            comment: None,
            rated_at: 5,
        });
        let event = Event::ConversationRated {
            conversation: rated.clone(),
        };
        assert_eq!(topics(&event), vec![(agent(10), DeliveryKind::Plain)]);
        let json = serde_json::to_string(&event).unwrap_or_default();
        let back: Event = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(topics(&back), vec![(agent(10), DeliveryKind::Plain)]);
        let frame = &fan_out(&event)[0].1.json;
        assert!(frame.contains(r#""type":"conversation_rated""#), "{frame}");
        // Missed chats nobody served tell nobody.
        let mut missed = rated;
        missed.agent = None;
        let event = Event::ConversationRated {
            conversation: missed,
        };
        assert!(topics(&event).is_empty());
    }

    #[test]
    fn a_peek_reaches_the_serving_agent_only_and_hides_its_text_in_logs() {
        let event = Event::Peek {
            conversation: conversation(Some(10)),
            text: Draft("my card •••• and".into()),
        };
        assert_eq!(topics(&event), vec![(agent(10), DeliveryKind::Plain)]);
        assert!(!format!("{event:?}").contains("card"));
        let queued = Event::Peek {
            conversation: conversation(None),
            text: Draft("hello".into()),
        };
        assert!(topics(&queued).is_empty());
    }

    #[test]
    fn a_read_mark_reaches_both_parties() {
        let event = Event::ReadMarked {
            conversation: conversation(Some(10)),
            reader: AuthorKind::Visitor,
            seq: 4,
        };
        let kind = DeliveryKind::Read {
            conversation_id: ConversationId::from_uuid(Uuid::from_u128(1)),
            reader: AuthorKind::Visitor,
            seq: 4,
        };
        assert_eq!(topics(&event), vec![(agent(10), kind), (visitor(), kind)]);
        let queued = Event::ReadMarked {
            conversation: conversation(None),
            reader: AuthorKind::Visitor,
            seq: 4,
        };
        assert_eq!(topics(&queued), vec![(visitor(), kind)]);
    }

    #[test]
    fn an_assignment_without_an_agent_tells_nobody() {
        let event = Event::ConversationAssigned {
            conversation: conversation(None),
        };
        assert!(topics(&event).is_empty());
    }

    #[test]
    fn an_ended_session_reaches_only_its_agent() {
        let event = Event::SessionsEnded {
            agent: AgentId::from_uuid(uuid::Uuid::from_u128(1)),
            session: Some([7; 32]),
        };
        assert_eq!(
            topics(&event),
            vec![(
                agent(1),
                DeliveryKind::EndSession {
                    session: Some([7; 32])
                }
            )]
        );
        let json = serde_json::to_string(&event).unwrap_or_default();
        let back: Event = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert!(matches!(back, Event::SessionsEnded { session: Some(s), .. } if s == [7; 32]));
    }

    #[test]
    fn an_erased_visitor_loses_their_sockets_and_their_agent_the_chat() {
        let event = Event::VisitorErased {
            visitor: VisitorId::from_uuid(Uuid::from_u128(3)),
            open: vec![conversation(Some(10)), conversation(None)],
        };
        assert_eq!(
            topics(&event),
            vec![
                (visitor(), DeliveryKind::EndSession { session: None }),
                (agent(10), DeliveryKind::Plain),
            ]
        );
        let frame = &fan_out(&event)[1].1.json;
        assert!(
            frame.contains(r#""type":"conversation_released""#),
            "{frame}"
        );
    }

    #[test]
    fn events_round_trip_as_json_for_other_nodes() {
        let event = Event::AgentStatusSet {
            agent: AgentId::from_uuid(Uuid::from_u128(10)),
            status: AgentStatus::Away,
        };
        let json = serde_json::to_string(&event).unwrap_or_default();
        assert!(json.starts_with(r#"{"event":"agent_status_set""#), "{json}");
        let back: Event = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(topics(&back), vec![(agent(10), DeliveryKind::Plain)]);
    }
}
