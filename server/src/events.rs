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
//! any node (typing, sneak peeks, queue positions, who views a conversation) travel the same
//! way but are never stored.
//!
//! Besides a conversation's visitor and agent, [`Topic::Conversation`] reaches the agent
//! sockets watching it (`watch`): its messages, typing, peeks, read marks, notes, viewers and
//! a `conversation_updated` on every change of its state. One frame meant for several topics
//! is one shared [`Delivery`], so a socket under several of them (an agent watching the chat
//! they serve) gets it once. Notes, viewers and `conversation_updated` never go to a visitor
//! topic.

use std::sync::Arc;

use bellhop_protocol::api::Lead;
use bellhop_protocol::console::Note;
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
    /// An agent wrote a note (or whisper) in the conversation, or a transfer carried one.
    /// For agents only: no visitor topic ever hears it.
    NoteAdded {
        conversation: Conversation,
        note: Note,
    },
    /// Ephemeral: the set of agents who have the conversation open (watch it) changed.
    ViewersChanged {
        conversation: Conversation,
        viewers: Vec<AgentRef>,
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
        } => with_watchers(
            conversation,
            to_parties(conversation, Delivery::message(message)),
        ),
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
                updated(conversation),
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
            out.push(updated(conversation));
            out
        }
        Event::ConversationRequeued {
            conversation,
            previous_agent,
        } => vec![
            released(*previous_agent, conversation),
            updated(conversation),
        ],
        // The queue reorders (the assigner announces new positions); only watchers are told.
        Event::PriorityChanged { conversation } => vec![updated(conversation)],
        Event::ConversationClosed { conversation } => {
            let mut out = to_parties(
                conversation,
                Delivery::plain(&ServerFrame::ConversationClosed {
                    conversation: conversation.clone(),
                }),
            );
            out.push(updated(conversation));
            out
        }
        // The agent who served the chat hears how it went, and its watchers see the rating
        // on the conversation; the visitor, who gave it, hears nothing.
        Event::ConversationRated { conversation } => {
            let mut out = Vec::with_capacity(2);
            if let (Some(agent), Some(rating)) = (&conversation.agent, &conversation.rating) {
                out.push((
                    Topic::Agent(agent.id),
                    Delivery::plain(&ServerFrame::ConversationRated {
                        conversation_id: conversation.id,
                        rating: rating.clone(),
                    }),
                ));
            }
            out.push(updated(conversation));
            out
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
            let frame = ServerFrame::Typing {
                conversation_id: conversation.id,
                author: *author,
                typing: *typing,
            };
            // Senders do not get their own typing back.
            match (author, &conversation.agent) {
                (AuthorKind::Visitor, agent) => {
                    let frame = Delivery::plain(&frame);
                    let mut out: Vec<_> = agent
                        .iter()
                        .map(|agent| (Topic::Agent(agent.id), frame.clone()))
                        .collect();
                    out.push((Topic::Conversation(conversation.id), frame));
                    out
                }
                (AuthorKind::Agent | AuthorKind::System, agent) => {
                    let frame = match agent {
                        // The serving agent typed: their own sockets watching skip it.
                        Some(agent) => {
                            Delivery::new(&frame, DeliveryKind::FromAgent { agent: agent.id })
                        }
                        None => Delivery::plain(&frame),
                    };
                    vec![
                        (Topic::Visitor(conversation.visitor_id), frame.clone()),
                        (Topic::Conversation(conversation.id), frame),
                    ]
                }
            }
        }
        // The serving agent and the agents watching: not other agents, not the visitor's own
        // sockets.
        Event::Peek { conversation, text } => {
            let frame = Delivery::plain(&ServerFrame::Peek {
                conversation_id: conversation.id,
                text: text.0.clone(),
            });
            let mut out: Vec<_> = conversation
                .agent
                .iter()
                .map(|agent| (Topic::Agent(agent.id), frame.clone()))
                .collect();
            out.push((Topic::Conversation(conversation.id), frame));
            out
        }
        // The other party, the reader's other sockets and the watchers; the socket that sent
        // the mark skips it (see `DeliveryKind::Read`).
        Event::ReadMarked {
            conversation,
            reader,
            seq,
        } => with_watchers(
            conversation,
            to_parties(
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
        // Agents only: its author's sockets, the serving agent's and the watchers'.
        Event::NoteAdded { conversation, note } => {
            let frame = Delivery::plain(&ServerFrame::NoteAdded { note: note.clone() });
            let mut out = vec![(Topic::Agent(note.author.id), frame.clone())];
            if let Some(agent) = conversation
                .agent
                .as_ref()
                .filter(|a| a.id != note.author.id)
            {
                out.push((Topic::Agent(agent.id), frame.clone()));
            }
            out.push((Topic::Conversation(conversation.id), frame));
            out
        }
        // Those looking at the conversation and the agent serving it.
        Event::ViewersChanged {
            conversation,
            viewers,
        } => {
            let frame = Delivery::plain(&ServerFrame::Viewers {
                conversation_id: conversation.id,
                viewers: viewers.clone(),
            });
            let mut out: Vec<_> = conversation
                .agent
                .iter()
                .map(|agent| (Topic::Agent(agent.id), frame.clone()))
                .collect();
            out.push((Topic::Conversation(conversation.id), frame));
            out
        }
    }
}

/// The conversation's visitor and, if one serves it, its agent.
fn to_parties(conversation: &Conversation, delivery: Arc<Delivery>) -> Vec<(Topic, Arc<Delivery>)> {
    let mut out = Vec::with_capacity(3);
    if let Some(agent) = &conversation.agent {
        out.push((Topic::Agent(agent.id), delivery.clone()));
    }
    out.push((Topic::Visitor(conversation.visitor_id), delivery));
    out
}

/// `out`, and its (last) frame to the sockets watching the conversation too.
fn with_watchers(
    conversation: &Conversation,
    mut out: Vec<(Topic, Arc<Delivery>)>,
) -> Vec<(Topic, Arc<Delivery>)> {
    if let Some((_, delivery)) = out.last() {
        let delivery = delivery.clone();
        out.push((Topic::Conversation(conversation.id), delivery));
    }
    out
}

/// The conversation's state now, to the sockets watching it.
fn updated(conversation: &Conversation) -> (Topic, Arc<Delivery>) {
    (
        Topic::Conversation(conversation.id),
        Delivery::plain(&ServerFrame::ConversationUpdated {
            conversation: conversation.clone(),
        }),
    )
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

    fn watchers() -> Topic {
        Topic::Conversation(ConversationId::from_uuid(Uuid::from_u128(1)))
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
                (watchers(), DeliveryKind::Plain),
            ]
        );
    }

    #[test]
    fn a_department_transfer_releases_and_tells_the_watchers() {
        let event = Event::ConversationTransferred {
            conversation: conversation(None),
            from: conversation(Some(10)).agent,
            note: None,
        };
        assert_eq!(
            topics(&event),
            vec![
                (agent(10), DeliveryKind::Plain),
                (watchers(), DeliveryKind::Plain)
            ]
        );
        let frame = &fan_out(&event)[1].1.json;
        assert!(
            frame.contains(r#""type":"conversation_updated""#),
            "{frame}"
        );
    }

    #[test]
    fn typing_goes_to_the_other_side_and_the_watchers_only() {
        let from_visitor = Event::Typing {
            conversation: conversation(Some(10)),
            author: AuthorKind::Visitor,
            typing: true,
        };
        assert_eq!(
            topics(&from_visitor),
            vec![
                (agent(10), DeliveryKind::Plain),
                (watchers(), DeliveryKind::Plain)
            ]
        );
        let while_queued = Event::Typing {
            conversation: conversation(None),
            author: AuthorKind::Visitor,
            typing: true,
        };
        assert_eq!(
            topics(&while_queued),
            vec![(watchers(), DeliveryKind::Plain)]
        );
        let from_agent = Event::Typing {
            conversation: conversation(Some(10)),
            author: AuthorKind::Agent,
            typing: false,
        };
        // The typing agent's own sockets watching the chat skip it.
        let typed = DeliveryKind::FromAgent {
            agent: AgentId::from_uuid(Uuid::from_u128(10)),
        };
        assert_eq!(
            topics(&from_agent),
            vec![(visitor(), typed), (watchers(), typed)]
        );
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
        let served = vec![
            (agent(10), DeliveryKind::Plain),
            (watchers(), DeliveryKind::Plain),
        ];
        assert_eq!(topics(&event), served);
        let json = serde_json::to_string(&event).unwrap_or_default();
        let back: Event = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(topics(&back), served);
        let frame = &fan_out(&event)[0].1.json;
        assert!(frame.contains(r#""type":"conversation_rated""#), "{frame}");
        // Missed chats nobody served tell only those watching.
        let mut missed = rated;
        missed.agent = None;
        let event = Event::ConversationRated {
            conversation: missed,
        };
        assert_eq!(topics(&event), vec![(watchers(), DeliveryKind::Plain)]);
    }

    #[test]
    fn a_peek_reaches_the_serving_agent_and_watchers_only_and_hides_its_text_in_logs() {
        let event = Event::Peek {
            conversation: conversation(Some(10)),
            text: Draft("my card •••• and".into()),
        };
        assert_eq!(
            topics(&event),
            vec![
                (agent(10), DeliveryKind::Plain),
                (watchers(), DeliveryKind::Plain)
            ]
        );
        assert!(!format!("{event:?}").contains("card"));
        let queued = Event::Peek {
            conversation: conversation(None),
            text: Draft("hello".into()),
        };
        assert_eq!(topics(&queued), vec![(watchers(), DeliveryKind::Plain)]);
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
        assert_eq!(
            topics(&event),
            vec![(agent(10), kind), (visitor(), kind), (watchers(), kind)]
        );
        let queued = Event::ReadMarked {
            conversation: conversation(None),
            reader: AuthorKind::Visitor,
            seq: 4,
        };
        assert_eq!(topics(&queued), vec![(visitor(), kind), (watchers(), kind)]);
    }

    fn note(author: u128) -> Note {
        Note {
            id: bellhop_protocol::ids::NoteId::from_uuid(Uuid::from_u128(7)),
            conversation_id: ConversationId::from_uuid(Uuid::from_u128(1)),
            kind: bellhop_protocol::console::NoteKind::Whisper,
            author: AgentRef {
                id: AgentId::from_uuid(Uuid::from_u128(author)),
                display_name: "Olga".into(),
            },
            body: "offer the refund".into(),
            client_id: None,
            after_seq: 1,
            created_at: 5,
        }
    }

    #[test]
    fn a_note_reaches_agents_only() {
        let event = Event::NoteAdded {
            conversation: conversation(Some(10)),
            note: note(30),
        };
        let out = fan_out(&event);
        assert_eq!(
            topics(&event),
            vec![
                (agent(30), DeliveryKind::Plain),
                (agent(10), DeliveryKind::Plain),
                (watchers(), DeliveryKind::Plain)
            ]
        );
        // One frame for all of them, so a socket under several topics gets it once.
        assert!(out.iter().all(|(_, d)| Arc::ptr_eq(d, &out[0].1)));
        assert!(out[0].1.json.contains(r#""type":"note_added""#));
        // The serving agent's own note: their topic once, and the watchers.
        let own = Event::NoteAdded {
            conversation: conversation(Some(10)),
            note: note(10),
        };
        assert_eq!(
            topics(&own),
            vec![
                (agent(10), DeliveryKind::Plain),
                (watchers(), DeliveryKind::Plain)
            ]
        );
        for event in [event, own] {
            assert!(
                fan_out(&event)
                    .iter()
                    .all(|(topic, _)| !matches!(topic, Topic::Visitor(_)))
            );
        }
    }

    #[test]
    fn viewers_reach_the_watchers_and_the_serving_agent() {
        let event = Event::ViewersChanged {
            conversation: conversation(Some(10)),
            viewers: vec![note(30).author],
        };
        assert_eq!(
            topics(&event),
            vec![
                (agent(10), DeliveryKind::Plain),
                (watchers(), DeliveryKind::Plain)
            ]
        );
        let json = &fan_out(&event)[0].1.json;
        assert!(json.contains(r#""type":"viewers""#), "{json}");
    }

    #[test]
    fn every_state_change_updates_the_watchers_and_never_the_visitor_with_staff_frames() {
        let assigned = conversation(Some(10));
        let events = [
            Event::ConversationAssigned {
                conversation: assigned.clone(),
            },
            Event::PriorityChanged {
                conversation: assigned.clone(),
            },
            Event::ConversationClosed {
                conversation: assigned.clone(),
            },
            Event::ConversationRequeued {
                conversation: conversation(None),
                previous_agent: AgentId::from_uuid(Uuid::from_u128(10)),
            },
        ];
        for event in events {
            let out = fan_out(&event);
            let updates: Vec<_> = out
                .iter()
                .filter(|(_, d)| d.json.contains(r#""type":"conversation_updated""#))
                .map(|(topic, _)| *topic)
                .collect();
            assert_eq!(updates, vec![watchers()], "{event:?}");
        }
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
