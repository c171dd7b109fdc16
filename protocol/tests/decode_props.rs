//! Property tests for the frame decoder: whatever arrives, decoding answers (never panics), and
//! every valid frame survives encoding and decoding unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bellhop_protocol::frames::{AgentFrame, VisitorFrame, decode};
use bellhop_protocol::{ClientMessageId, ConversationId, MessageBody};
use proptest::prelude::*;

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = decode::<VisitorFrame>(&text);
        let _ = decode::<AgentFrame>(&text);
    }

    #[test]
    fn json_shaped_garbage_never_panics(
        kind in prop::sample::select(vec!["hello", "send", "typing", "close", "x", ""]),
        field in "[a-z_]{1,12}",
        value in prop_oneof![
            Just("null".to_owned()),
            Just("[]".to_owned()),
            "-?[0-9]{1,25}",
            "\"[^\"\\\\]{0,40}\"",
        ],
    ) {
        let text = format!(r#"{{"type":"{kind}","{field}":{value}}}"#);
        let _ = decode::<VisitorFrame>(&text);
        let _ = decode::<AgentFrame>(&text);
    }

    #[test]
    fn valid_send_frames_round_trip(
        client_id in "[A-Za-z0-9_-]{1,64}",
        body in "\\PC{1,200}",
        conversation in any::<u128>(),
    ) {
        prop_assume!(!body.trim().is_empty());
        let frame = VisitorFrame::Send {
            client_id: ClientMessageId::parse(client_id).unwrap(),
            conversation_id: Some(ConversationId::from_uuid(uuid::Uuid::from_u128(conversation))),
            department_id: None,
            body: MessageBody::parse(body).unwrap(),
        };
        let text = serde_json::to_string(&frame).unwrap();
        prop_assert_eq!(decode::<VisitorFrame>(&text).unwrap(), frame);
    }
}
