//! The lean codec against serde, the protocol's reference: on every example of
//! `docs/protocol.md` the panel reads or writes, and on every way of breaking one field of
//! those examples (each decoder must refuse exactly what serde refuses).

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use bellhop_client::{ClientFrame, PendingSend, Snapshot};
use bellhop_protocol::api::{
    LeadSubmission, WidgetConfig, WidgetSessionRequest, WidgetSessionResponse,
};
use bellhop_protocol::error::ApiError;
use bellhop_protocol::frames::{ResumePoint, ServerFrame, VisitorFrame};
use bellhop_protocol::{ClientMessageId, ConversationId, DepartmentId, MessageBody};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value as J, json};

use super::*;

const DOC: &str = include_str!("../../../docs/protocol.md");

/// The JSON examples of `docs/protocol.md` whose code block is tagged ```` ```json {tag} ````.
fn examples(tag: &str) -> Vec<String> {
    let fence = format!("```json {tag}");
    let mut found = Vec::new();
    let mut open: Option<String> = None;
    for line in DOC.lines() {
        match &mut open {
            None if line.trim() == fence => open = Some(String::new()),
            None => {}
            Some(_) if line.trim() == "```" => found.extend(open.take()),
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(!found.is_empty(), "no ```json {tag} examples");
    found
}

/// The example and every variant of it with one field (at any depth) removed or replaced by
/// a value of another kind.
fn variants(example: &str) -> Vec<String> {
    fn walk(value: &J, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if let J::Object(fields) = value {
            for (key, field) in fields {
                at.push(key.clone());
                out.push(at.clone());
                walk(field, at, out);
                at.pop();
            }
        } else if let J::Array(items) = value {
            for (i, item) in items.iter().enumerate() {
                at.push(i.to_string());
                walk(item, at, out);
                at.pop();
            }
        }
    }
    fn edit(value: &mut J, path: &[String], with: Option<&J>) {
        let (last, parents) = path.split_last().expect("a path");
        let mut parent = value;
        for step in parents {
            parent = match parent {
                J::Array(items) => &mut items[step.parse::<usize>().expect("an index")],
                other => &mut other[step.as_str()],
            };
        }
        let fields = parent.as_object_mut().expect("an object");
        match with {
            Some(new) => {
                fields.insert(last.clone(), new.clone());
            }
            None => {
                fields.remove(last);
            }
        }
    }
    let original: J = serde_json::from_str(example).expect("the example is JSON");
    let mut paths = Vec::new();
    walk(&original, &mut Vec::new(), &mut paths);
    let replacements = [
        json!(null),
        json!("x"),
        json!(""),
        json!(1.5),
        json!(-1),
        json!(4_294_967_296u64),
        json!(true),
        json!([]),
        json!({}),
        json!("019595db-8954-7b7d-bf76-95f56fced11d"),
    ];
    let mut out = vec![example.to_owned()];
    for path in &paths {
        let mut removed = original.clone();
        edit(&mut removed, path, None);
        out.push(removed.to_string());
        for new in &replacements {
            let mut replaced = original.clone();
            edit(&mut replaced, path, Some(new));
            out.push(replaced.to_string());
        }
    }
    out
}

fn lean<T: FromJson>(text: &str) -> Option<T> {
    json::parse(text).as_ref().and_then(T::from_json)
}

/// Decodes every variant of every example both ways; the results must agree.
fn decodes_as_serde<T, F>(tag: &str, ours: F)
where
    T: DeserializeOwned + Serialize,
    F: Fn(&str) -> Option<T>,
{
    let mut accepted = 0;
    // The frames only agents receive (the protocol's `staff` feature, on in this test build
    // because the workspace's other crates enable it) never reach the panel.
    const STAFF_ONLY: [&str; 5] = [
        "note_added",
        "viewers",
        "conversation_updated",
        "queue",
        "wallboard",
    ];
    for example in examples(tag).into_iter().filter(|e| {
        !STAFF_ONLY
            .iter()
            .any(|t| e.contains(&format!("\"type\": \"{t}\"")))
    }) {
        assert!(
            serde_json::from_str::<T>(&example).is_ok(),
            "serde refuses the example: {example}"
        );
        for text in variants(&example) {
            let theirs = serde_json::from_str::<T>(&text).ok();
            let ours = ours(&text);
            let as_json = |v: &Option<T>| v.as_ref().map(|v| serde_json::to_value(v).unwrap());
            assert_eq!(as_json(&ours), as_json(&theirs), "{text}");
            accepted += usize::from(theirs.is_some());
        }
    }
    assert!(accepted > 0);
}

#[test]
fn server_frames_decode_as_serde_decodes_them() {
    decodes_as_serde::<ServerFrame, _>("server", server_frame);
}

#[test]
fn every_server_frame_type_has_an_example() {
    let mut types: Vec<String> = examples("server")
        .iter()
        .filter_map(|text| server_frame(text))
        .map(|frame| serde_json::to_value(frame).unwrap()["type"].to_string())
        .collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 15, "{types:?}");
}

#[test]
fn rest_bodies_decode_as_serde_decodes_them() {
    decodes_as_serde::<WidgetSessionResponse, _>("rest:WidgetSessionResponse", lean);
    decodes_as_serde::<ApiError, _>("rest:ApiError", lean);
}

#[test]
fn the_site_config_reads_as_serde_reads_it() {
    for example in examples("rest:WidgetConfig") {
        let theirs: WidgetConfig = serde_json::from_str(&example).unwrap();
        let ours = json::parse(&example)
            .as_ref()
            .and_then(Site::from_json)
            .unwrap();
        assert_eq!(ours.site_name, theirs.site_name);
        assert_eq!(ours.availability, theirs.availability);
        let departments: Vec<_> = theirs
            .departments
            .iter()
            .map(|d| (d.id, d.name.clone()))
            .collect();
        assert_eq!(ours.departments, departments);
        assert_eq!(ours.prechat_form, theirs.prechat_form);
        assert_eq!(ours.offline_form, theirs.offline_form);
        for (key, text) in &theirs.texts {
            assert_eq!(
                ours.texts.get(key).and_then(json::Value::as_str),
                Some(text.as_str())
            );
        }
        assert_eq!(ours.color, theirs.color);
        assert_eq!(ours.language, theirs.language);
        assert_eq!(ours.takes_files, !theirs.attachment_types.is_empty());
        assert_eq!(ours.max_bytes, theirs.attachment_max_bytes);
        assert_eq!(ours.transcript_email, theirs.transcript_email);
        assert_eq!(ours.sound, theirs.sound);
        // What serde refuses, the panel does not take either (the fields it reads).
        for broken in variants(&example) {
            if serde_json::from_str::<WidgetConfig>(&broken).is_err() {
                continue;
            }
            assert!(
                json::parse(&broken)
                    .as_ref()
                    .and_then(Site::from_json)
                    .is_some(),
                "{broken}"
            );
        }
    }
}

#[test]
fn frames_and_bodies_encode_as_serde_encodes_them() {
    for example in examples("visitor") {
        let frame: VisitorFrame = serde_json::from_str(&example).unwrap();
        let theirs = serde_json::to_string(&frame).unwrap();
        assert_eq!(visitor_frame_json(&frame), theirs);
        let frame = ClientFrame::Visitor(frame);
        assert_eq!(client_frame_json(&frame), Some(theirs));
    }
    for example in examples("rest:WidgetSessionRequest") {
        let mut body: WidgetSessionRequest = serde_json::from_str(&example).unwrap();
        // The panel does not send the page and time zone yet.
        body.page = Default::default();
        body.time_zone = None;
        assert_eq!(
            session_request(&body).to_json(),
            serde_json::to_string(&body).unwrap()
        );
    }
    for example in examples("rest:LeadSubmission") {
        let body: LeadSubmission = serde_json::from_str(&example).unwrap();
        assert_eq!(
            lead_form(&body).to_json(),
            serde_json::to_string(&body).unwrap()
        );
    }
}

/// The protocol's body as the panel holds it, attributes as the compact JSON of their map.
fn session_request(body: &WidgetSessionRequest) -> SessionRequest {
    SessionRequest {
        widget_key: body.widget_key.clone(),
        token: body.token.clone(),
        identity: body.identity.as_ref().map(|identity| VerifiedIdentity {
            user_id: identity.user_id.clone(),
            attributes: serde_json::to_string(&identity.attributes).unwrap(),
            signature: identity.signature.clone(),
        }),
    }
}

/// The protocol's body as the panel holds it, fields in name order (as serde writes them).
fn lead_form(body: &LeadSubmission) -> LeadForm {
    let mut fields = SmallMap::new();
    for (name, value) in &body.fields {
        fields.insert(name.clone(), value.clone());
    }
    LeadForm {
        kind: body.kind,
        department_id: body.department_id,
        fields,
        consent: body.consent,
        page: body.page.clone(),
    }
}

#[test]
fn a_verified_identity_reaches_the_server_as_the_page_gave_it() {
    // The page's attributes, as the browser's JSON.stringify writes them (in the page's
    // order); the server reads them into its sorted map, which the signature covers.
    let attributes =
        r#"{"plan":"pro \"gold\"","vip":true,"seats":12,"score":0.25,"tags":["a",{"b":[null]}]}"#;
    let body = SessionRequest {
        widget_key: "wk_demo".into(),
        token: Some("vt".into()),
        identity: Some(VerifiedIdentity {
            user_id: "42".into(),
            attributes: attributes.into(),
            signature: "ab".repeat(32),
        }),
    };
    let read: WidgetSessionRequest = serde_json::from_str(&body.to_json()).unwrap();
    let identity = read.identity.unwrap();
    assert_eq!(read.widget_key, "wk_demo");
    assert_eq!(read.token.as_deref(), Some("vt"));
    assert_eq!(identity.user_id, "42");
    assert_eq!(identity.signature, "ab".repeat(32));
    let expected: std::collections::BTreeMap<String, J> = serde_json::from_str(attributes).unwrap();
    assert_eq!(identity.attributes, expected);
}

/// The stored shape, as the panel wrote it with serde.
#[derive(Serialize, Deserialize)]
struct Kept {
    core: Snapshot,
    #[serde(default)]
    prechat_done: bool,
}

fn sample_snapshot() -> Snapshot {
    let conversation = |n: u128| ConversationId::from_uuid(Uuid::from_u128(n));
    let body = |text: &str| MessageBody::parse(text.into()).unwrap();
    Snapshot {
        resume: vec![
            ResumePoint {
                conversation_id: conversation(1),
                last_seq: 7,
            },
            ResumePoint {
                conversation_id: conversation(u128::MAX),
                last_seq: 0,
            },
        ],
        finished: vec![ResumePoint {
            conversation_id: conversation(2),
            last_seq: 40,
        }],
        outbox: vec![
            PendingSend {
                client_id: ClientMessageId::parse("0f8c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6".into())
                    .unwrap(),
                conversation_id: None,
                department_id: Some(DepartmentId::from_uuid(Uuid::from_u128(3))),
                body: body("Hello \"there\"\n<b>é</b> 😀 \u{1}"),
                queued_at: 1_741_977_965_921,
            },
            PendingSend {
                client_id: ClientMessageId::parse("msg_2".into()).unwrap(),
                conversation_id: Some(conversation(1)),
                department_id: None,
                body: body("again"),
                queued_at: -5,
            },
        ],
    }
}

#[test]
fn the_kept_snapshot_reads_and_writes_as_serde_does() {
    for (mut core, prechat_done) in [(sample_snapshot(), true), (Snapshot::default(), false)] {
        for _ in 0..2 {
            let ours = kept_json(&core, prechat_done);
            let kept = Kept {
                core: core.clone(),
                prechat_done,
            };
            let theirs = serde_json::to_string(&kept).unwrap();
            assert_eq!(ours, theirs);
            assert_eq!(kept_from_json(&theirs), Some((core.clone(), prechat_done)));
            for text in variants(&theirs) {
                let theirs = serde_json::from_str::<Kept>(&text)
                    .ok()
                    .map(|k| (k.core, k.prechat_done));
                assert_eq!(kept_from_json(&text), theirs, "{text}");
            }
            // Without finished conversations the field is left out.
            core.finished.clear();
        }
    }
    assert_eq!(kept_from_json("{}"), None);
    assert_eq!(
        kept_from_json(r#"{"core":{"resume":[],"outbox":[]}}"#),
        Some((Snapshot::default(), false))
    );
}
