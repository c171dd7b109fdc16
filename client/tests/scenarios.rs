//! The core's behaviour, event by event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bellhop_client::{
    Action, ClientCore, ClientFrame, Config, Credentials, Draft, Event, SendError, Snapshot, State,
    StopReason,
};
use bellhop_protocol::frames::{
    AgentFrame, AuthorKind, Conversation, ConversationStatus, Message, ResumePoint, ServerFrame,
    VisitorFrame,
};
use bellhop_protocol::{ClientMessageId, ConversationId, ErrorCode, MessageBody, close_code};
use uuid::Uuid;

mod fixtures;

fn conversation_id(n: u128) -> ConversationId {
    ConversationId::from_uuid(Uuid::from_u128(n))
}

fn conversation(n: u128, last_seq: u64) -> Conversation {
    fixtures::conversation(conversation_id(n), ConversationStatus::Queued, last_seq)
}

fn welcome(open: &[u128]) -> Event {
    welcome_clamped(open, Vec::new())
}

fn welcome_clamped(open: &[u128], clamped: Vec<ResumePoint>) -> Event {
    Event::Frame {
        frame: fixtures::welcome(open.iter().map(|n| conversation(*n, 0)).collect(), clamped),
        now: 0,
    }
}

fn message(conversation: u128, seq: u64, client_id: Option<&ClientMessageId>) -> Message {
    Message {
        conversation_id: conversation_id(conversation),
        seq,
        author: AuthorKind::Visitor,
        author_name: None,
        client_id: client_id.cloned(),
        body: format!("message {seq}"),
        sent_at: 1000 + seq as i64,
        attachment: None,
    }
}

fn frame(message: Message) -> Event {
    Event::Frame {
        frame: ServerFrame::Message { message },
        now: 0,
    }
}

fn body(text: &str) -> MessageBody {
    MessageBody::parse(text.into()).unwrap()
}

fn visitor() -> ClientCore {
    ClientCore::new(
        Credentials::Visitor {
            token: "visitor-token".into(),
        },
        Config::default(),
        1,
    )
}

/// A visitor core that is connected and welcomed.
fn live_visitor() -> ClientCore {
    let mut core = visitor();
    core.connect();
    core.handle(Event::Opened { now: 0 });
    core.handle(welcome(&[1]));
    assert_eq!(core.state(), &State::Live);
    core
}

fn sent(actions: &[Action]) -> Vec<ClientFrame> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(frame) => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

fn shown(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Show(m) => Some(m.seq),
            _ => None,
        })
        .collect()
}

fn sent_client_ids(actions: &[Action]) -> Vec<String> {
    sent(actions)
        .into_iter()
        .filter_map(|f| match f {
            ClientFrame::Visitor(VisitorFrame::Send { client_id, .. })
            | ClientFrame::Agent(AgentFrame::Send { client_id, .. }) => Some(client_id.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn connecting_says_hello_with_the_resume_points_and_sends_after_welcome() {
    let mut core = visitor();
    assert_eq!(
        core.connect(),
        vec![Action::State(State::Connecting), Action::Connect]
    );
    // A message typed while connecting waits in the outbox.
    let (id, actions) = core.send(Draft::new(body("hi")), 5).unwrap();
    assert!(sent(&actions).is_empty());
    let actions = core.handle(Event::Opened { now: 10 });
    assert_eq!(
        sent(&actions),
        vec![ClientFrame::Visitor(VisitorFrame::Hello {
            v: 1,
            token: "visitor-token".into(),
            resume: Vec::new(),
        })]
    );
    let actions = core.handle(welcome(&[]));
    assert!(actions.contains(&Action::State(State::Live)));
    assert_eq!(sent_client_ids(&actions), vec![id.to_string()]);
    // Live: the next send goes out at once.
    let (second, actions) = core.send(Draft::new(body("there")), 20).unwrap();
    assert_eq!(sent_client_ids(&actions), vec![second.to_string()]);
    assert_eq!(core.outbox().len(), 2);
}

#[test]
fn frames_serialise_as_the_wire_expects() {
    let frame = ClientFrame::Visitor(VisitorFrame::Send {
        client_id: ClientMessageId::parse("c1".into()).unwrap(),
        conversation_id: None,
        department_id: None,
        body: body("Hello"),
    });
    assert_eq!(
        frame.to_json().unwrap(),
        r#"{"type":"send","client_id":"c1","body":"Hello"}"#
    );
    let hello = ClientFrame::Agent(AgentFrame::Hello {
        v: 1,
        token: None,
        resume: Vec::new(),
    });
    assert_eq!(
        hello.to_json().unwrap(),
        r#"{"type":"hello","v":1,"resume":[]}"#
    );
}

#[test]
fn generated_client_ids_are_distinct_uuids() {
    let mut core = live_visitor();
    let ids: std::collections::HashSet<String> = (0..100)
        .map(|i| {
            core.send(Draft::new(body(&format!("m{i}"))), 0)
                .unwrap()
                .0
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 100);
    for id in &ids {
        assert_eq!(Uuid::parse_str(id).unwrap().get_version_num(), 4);
    }
}

#[test]
fn an_ack_or_the_echo_confirms_once() {
    let mut core = live_visitor();
    let (first, _) = core
        .send(Draft::new(body("one")).to(conversation_id(1)), 0)
        .unwrap();
    let (second, _) = core
        .send(Draft::new(body("two")).to(conversation_id(1)), 0)
        .unwrap();
    let ack = |id: &ClientMessageId, seq| Event::Frame {
        frame: ServerFrame::Ack {
            client_id: id.clone(),
            conversation_id: conversation_id(1),
            seq,
            sent_at: 7,
        },
        now: 0,
    };
    // Ack first, then the echo.
    let actions = core.handle(ack(&first, 1));
    assert_eq!(
        actions,
        vec![Action::Confirmed {
            client_id: first.clone(),
            conversation_id: conversation_id(1),
            seq: 1,
            sent_at: 7,
        }]
    );
    let actions = core.handle(frame(message(1, 1, Some(&first))));
    assert_eq!(shown(&actions), vec![1]);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::Confirmed { .. }))
    );
    // Echo first, then the ack.
    let actions = core.handle(frame(message(1, 2, Some(&second))));
    assert!(
        actions.iter().any(
            |a| matches!(a, Action::Confirmed { client_id, seq: 2, .. } if client_id == &second)
        )
    );
    assert!(core.handle(ack(&second, 2)).is_empty());
    assert!(core.outbox().is_empty());
}

#[test]
fn duplicates_are_dropped_and_gaps_held_until_filled() {
    let mut core = live_visitor();
    assert_eq!(shown(&core.handle(frame(message(1, 1, None)))), vec![1]);
    let actions = core.handle(frame(message(1, 1, None)));
    assert_eq!(
        actions,
        vec![Action::Duplicate {
            conversation_id: conversation_id(1),
            seq: 1
        }]
    );
    assert_eq!(core.duplicates(), 1);
    let actions = core.handle(frame(message(1, 4, None)));
    assert_eq!(
        actions,
        vec![Action::Gap {
            conversation_id: conversation_id(1),
            last_shown: 1,
            received: 4
        }]
    );
    assert!(shown(&core.handle(frame(message(1, 3, None)))).is_empty());
    assert_eq!(core.gaps(), vec![(conversation_id(1), 1, 3)]);
    // A held message arriving again is a duplicate too.
    assert!(matches!(
        core.handle(frame(message(1, 4, None)))[..],
        [Action::Duplicate { seq: 4, .. }]
    ));
    assert_eq!(
        shown(&core.handle(frame(message(1, 2, None)))),
        vec![2, 3, 4]
    );
    assert!(core.gaps().is_empty());
    // Another conversation has its own count.
    assert_eq!(shown(&core.handle(frame(message(2, 1, None)))), vec![1]);
    assert_eq!(core.last_shown(conversation_id(1)), 4);
}

#[test]
fn a_reconnect_resumes_from_what_was_shown_and_resends_the_outbox_in_order() {
    let mut core = live_visitor();
    core.handle(frame(message(1, 1, None)));
    core.handle(frame(message(1, 2, None)));
    // Held behind a gap: not shown, so not resumed past.
    core.handle(frame(message(1, 5, None)));
    let ids: Vec<String> = (0..3)
        .map(|i| {
            core.send(Draft::new(body(&format!("m{i}"))).to(conversation_id(1)), 0)
                .unwrap()
                .0
                .to_string()
        })
        .collect();
    let actions = core.handle(Event::Closed {
        code: None,
        now: 1000,
    });
    let State::Waiting { at } = *core.state() else {
        panic!("expected to wait, got {:?}", core.state())
    };
    assert!(actions.contains(&Action::State(State::Waiting { at })));
    assert!((1000..=1500).contains(&at), "{at}");
    assert!(core.handle(Event::Tick { now: at - 1 }).is_empty());
    assert!(
        core.handle(Event::Tick { now: at })
            .contains(&Action::Connect)
    );
    let actions = core.handle(Event::Opened { now: at });
    assert_eq!(
        sent(&actions),
        vec![ClientFrame::Visitor(VisitorFrame::Hello {
            v: 1,
            token: "visitor-token".into(),
            resume: vec![ResumePoint {
                conversation_id: conversation_id(1),
                last_seq: 2
            }],
        })]
    );
    assert_eq!(sent_client_ids(&core.handle(welcome(&[1]))), ids);
    // The replay starts after 2, and 5 was forgotten with the old connection.
    assert_eq!(shown(&core.handle(frame(message(1, 3, None)))), vec![3]);
}

#[test]
fn close_codes_decide_whether_and_how_to_reconnect() {
    let cases = [
        (
            Some(close_code::UNSUPPORTED_VERSION),
            State::Stopped(StopReason::UnsupportedVersion),
        ),
        (
            Some(1002),
            State::Stopped(StopReason::ClientError { code: 1002 }),
        ),
        (
            Some(close_code::INVALID_PAYLOAD),
            State::Stopped(StopReason::ClientError { code: 1007 }),
        ),
        (
            Some(close_code::TOO_BIG),
            State::Stopped(StopReason::ClientError { code: 1009 }),
        ),
        (Some(close_code::UNAUTHORIZED), State::NeedsCredentials),
        (Some(close_code::SESSION_ENDED), State::NeedsCredentials),
    ];
    for (code, expected) in cases {
        let mut core = live_visitor();
        core.handle(Event::Closed { code, now: 0 });
        assert_eq!(core.state(), &expected, "close code {code:?}");
        assert!(core.handle(Event::Tick { now: 1_000_000 }).is_empty());
    }
    for code in [
        None,
        Some(close_code::GOING_AWAY),
        Some(1006),
        Some(close_code::TIMED_OUT),
        Some(close_code::TOO_SLOW),
    ] {
        let mut core = live_visitor();
        core.handle(Event::Closed { code, now: 0 });
        assert!(
            matches!(core.state(), State::Waiting { .. }),
            "close code {code:?}"
        );
    }
    // 4001: nothing until new credentials, which reconnect with them.
    let mut core = live_visitor();
    core.handle(Event::Closed {
        code: Some(close_code::UNAUTHORIZED),
        now: 0,
    });
    let actions = core.set_credentials(Credentials::Visitor {
        token: "fresh".into(),
    });
    assert!(actions.contains(&Action::Connect));
    let hello = sent(&core.handle(Event::Opened { now: 0 }));
    assert!(
        matches!(&hello[..], [ClientFrame::Visitor(VisitorFrame::Hello { token, .. })] if token == "fresh")
    );
    // An explicit connect tries again after a stop.
    let mut core = live_visitor();
    core.handle(Event::Closed {
        code: Some(close_code::UNSUPPORTED_VERSION),
        now: 0,
    });
    assert!(core.connect().contains(&Action::Connect));
}

#[test]
fn backoff_grows_while_attempts_fail_and_resets_after_welcome() {
    let config = Config {
        backoff_base_ms: 100,
        backoff_cap_ms: 800,
        ..Config::default()
    };
    let mut core = ClientCore::new(Credentials::Agent { token: None }, config, 99);
    core.connect();
    let mut now = 0;
    let mut delays = Vec::new();
    for _ in 0..8 {
        core.handle(Event::Closed { code: None, now });
        let State::Waiting { at } = *core.state() else {
            panic!("expected to wait")
        };
        delays.push(at - now);
        now = at;
        assert!(core.handle(Event::Tick { now }).contains(&Action::Connect));
    }
    let ceilings = [100, 200, 400, 800, 800, 800, 800, 800];
    for (delay, ceiling) in delays.iter().zip(ceilings) {
        assert!((0..=ceiling).contains(delay), "{delays:?}");
    }
    assert_eq!(core.failures(), 8);
    core.handle(Event::Opened { now });
    core.handle(welcome(&[]));
    assert_eq!(core.failures(), 0);
}

#[test]
fn a_final_error_refuses_the_send_and_internal_keeps_it() {
    let mut core = live_visitor();
    let (conflict, _) = core.send(Draft::new(body("a")), 0).unwrap();
    let (internal, _) = core.send(Draft::new(body("b")), 0).unwrap();
    let error = |code, id: &ClientMessageId| Event::Frame {
        frame: ServerFrame::Error {
            code,
            message: "no".into(),
            client_id: Some(id.clone()),
        },
        now: 0,
    };
    let actions = core.handle(error(ErrorCode::ClientIdConflict, &conflict));
    assert!(
        matches!(&actions[..], [Action::Refused { send, code: ErrorCode::ClientIdConflict, .. }] if send.client_id == conflict)
    );
    let actions = core.handle(error(ErrorCode::Internal, &internal));
    assert!(matches!(
        &actions[..],
        [Action::Frame(ServerFrame::Error { .. })]
    ));
    assert_eq!(core.outbox().len(), 1);
    assert_eq!(core.outbox()[0].client_id, internal);
    // An error without a client id is for the UI.
    let actions = core.handle(Event::Frame {
        frame: ServerFrame::Error {
            code: ErrorCode::BadFrame,
            message: "x".into(),
            client_id: None,
        },
        now: 0,
    });
    assert!(matches!(&actions[..], [Action::Frame(_)]));
}

#[test]
fn agents_must_name_the_conversation() {
    let mut core = ClientCore::new(
        Credentials::Agent {
            token: Some("t".into()),
        },
        Config::default(),
        5,
    );
    assert_eq!(
        core.send(Draft::new(body("x")), 0).unwrap_err(),
        SendError::ConversationRequired
    );
    let mut draft = Draft::new(body("x")).to(conversation_id(1));
    draft.department_id = Some(bellhop_protocol::DepartmentId::from_uuid(Uuid::nil()));
    assert_eq!(
        core.send(draft, 0).unwrap_err(),
        SendError::DepartmentNotAllowed
    );
    let id = ClientMessageId::parse("mine".into()).unwrap();
    let mut draft = Draft::new(body("x")).to(conversation_id(1));
    draft.client_id = Some(id.clone());
    assert_eq!(core.send(draft.clone(), 0).unwrap().0, id);
    assert_eq!(
        core.send(draft, 0).unwrap_err(),
        SendError::DuplicateClientId(id)
    );
}

#[test]
fn a_snapshot_survives_serialisation_and_restores_the_outbox_and_resume_points() {
    let mut core = live_visitor();
    core.handle(frame(message(1, 1, None)));
    core.handle(frame(message(1, 2, None)));
    let (id, _) = core
        .send(Draft::new(body("pending")).to(conversation_id(1)), 3)
        .unwrap();
    let json = serde_json::to_string(&core.snapshot()).unwrap();
    let snapshot: Snapshot = serde_json::from_str(&json).unwrap();
    let mut restored = ClientCore::restore(
        snapshot,
        Credentials::Visitor {
            token: "visitor-token".into(),
        },
        Config::default(),
        2,
    )
    .unwrap();
    assert_eq!(restored.outbox(), core.outbox());
    assert_eq!(restored.last_shown(conversation_id(1)), 2);
    restored.connect();
    let hello = sent(&restored.handle(Event::Opened { now: 0 }));
    assert!(
        matches!(&hello[..], [ClientFrame::Visitor(VisitorFrame::Hello { resume, .. })] if resume == &vec![ResumePoint { conversation_id: conversation_id(1), last_seq: 2 }])
    );
    assert_eq!(
        sent_client_ids(&restored.handle(welcome(&[1]))),
        vec![id.to_string()]
    );
    assert!(matches!(
        restored.handle(frame(message(1, 2, None)))[..],
        [Action::Duplicate { .. }]
    ));
    // An agent cannot take over a visitor's conversation-less send.
    let mut visitor = live_visitor();
    visitor.send(Draft::new(body("open")), 0).unwrap();
    assert_eq!(
        ClientCore::restore(
            visitor.snapshot(),
            Credentials::Agent { token: None },
            Config::default(),
            3
        )
        .unwrap_err(),
        SendError::ConversationRequired
    );
}

#[test]
fn a_conversation_missing_from_welcome_is_no_longer_resumed_but_still_deduplicated() {
    let mut core = live_visitor();
    core.handle(frame(message(1, 1, None)));
    core.handle(frame(message(2, 1, None)));
    core.handle(Event::Closed { code: None, now: 0 });
    core.connect();
    core.handle(Event::Opened { now: 0 });
    core.handle(welcome(&[2]));
    assert_eq!(
        core.resume_points(),
        vec![ResumePoint {
            conversation_id: conversation_id(2),
            last_seq: 1
        }]
    );
    assert_eq!(core.snapshot().finished.len(), 1);
    assert!(matches!(
        core.handle(frame(message(1, 1, None)))[..],
        [Action::Duplicate { .. }]
    ));
}

#[test]
fn disconnecting_stops_reconnects() {
    let mut core = live_visitor();
    assert_eq!(
        core.disconnect(),
        vec![Action::State(State::Idle), Action::Disconnect]
    );
    assert!(
        core.handle(Event::Closed {
            code: Some(1000),
            now: 0
        })
        .is_empty()
    );
    assert_eq!(core.state(), &State::Idle);
    assert!(core.handle(Event::Tick { now: 1_000_000 }).is_empty());
}

#[test]
fn a_socket_without_welcome_is_given_up_and_replaced() {
    let mut core = visitor();
    core.connect();
    core.handle(Event::Opened { now: 0 });
    assert_eq!(core.next_wakeup(), Some(10_000));
    assert!(core.handle(Event::Tick { now: 9_999 }).is_empty());
    assert_eq!(
        core.handle(Event::Tick { now: 10_000 }),
        vec![Action::Disconnect]
    );
    // Once: the close is still to come.
    assert!(core.handle(Event::Tick { now: 20_000 }).is_empty());
    core.handle(Event::Closed {
        code: Some(1000),
        now: 20_000,
    });
    assert!(matches!(core.state(), State::Waiting { .. }));
}

#[test]
fn a_live_socket_that_stops_delivering_what_is_due_is_replaced() {
    let mut core = live_visitor();
    assert_eq!(core.next_wakeup(), None);
    core.handle(frame(message(1, 1, None)));
    // Seq 3 is held behind the missing 2.
    core.handle(Event::Frame {
        frame: ServerFrame::Message {
            message: message(1, 3, None),
        },
        now: 1_000,
    });
    assert_eq!(core.next_wakeup(), Some(16_000));
    assert!(core.handle(Event::Tick { now: 15_999 }).is_empty());
    assert_eq!(
        core.handle(Event::Tick { now: 16_000 }),
        vec![Action::Disconnect]
    );

    // An ack whose echo never comes is due too; its arrival clears the deadline.
    let mut core = live_visitor();
    let (id, _) = core
        .send(Draft::new(body("hello")).to(conversation_id(1)), 0)
        .unwrap();
    assert_eq!(core.next_wakeup(), Some(15_000));
    core.handle(Event::Frame {
        frame: ServerFrame::Ack {
            client_id: id.clone(),
            conversation_id: conversation_id(1),
            seq: 1,
            sent_at: 1,
        },
        now: 2_000,
    });
    assert_eq!(core.next_wakeup(), Some(17_000), "the ack was progress");
    core.handle(Event::Frame {
        frame: ServerFrame::Message {
            message: message(1, 1, Some(&id)),
        },
        now: 3_000,
    });
    assert_eq!(core.next_wakeup(), None);
}

/// A resume point the server clamped (the client claimed more than the conversation holds):
/// the core continues from the real end, so the next message is shown, not dropped.
#[test]
fn a_clamped_resume_point_moves_the_core_back_to_the_real_end() {
    let snapshot = Snapshot {
        resume: vec![ResumePoint {
            conversation_id: conversation_id(1),
            last_seq: 1 << 40,
        }],
        ..Snapshot::default()
    };
    let mut core = ClientCore::restore(
        snapshot,
        Credentials::Visitor {
            token: "visitor-token".into(),
        },
        Config::default(),
        7,
    )
    .unwrap();
    core.connect();
    core.handle(Event::Opened { now: 0 });
    core.handle(welcome_clamped(
        &[1],
        vec![ResumePoint {
            conversation_id: conversation_id(1),
            last_seq: 4,
        }],
    ));
    assert_eq!(shown(&core.handle(frame(message(1, 5, None)))), vec![5]);
    assert_eq!(
        core.resume_points(),
        vec![ResumePoint {
            conversation_id: conversation_id(1),
            last_seq: 5,
        }]
    );
}

#[test]
fn a_conversation_loaded_over_rest_continues_from_its_page() {
    let mut core = live_visitor();
    // The caller fetched messages 1..=900 as a transcript page.
    core.start_from(conversation_id(1), 900);
    let shown = core.handle(frame(message(1, 901, None)));
    assert!(
        shown
            .iter()
            .any(|a| matches!(a, Action::Show(m) if m.seq == 901)),
        "{shown:?}"
    );
    // Never back: a smaller point changes nothing, and an old message is a duplicate.
    core.start_from(conversation_id(1), 5);
    assert_eq!(core.last_shown(conversation_id(1)), 901);
    let again = core.handle(frame(message(1, 300, None)));
    assert!(again.iter().all(|a| !matches!(a, Action::Show(_))));
}
