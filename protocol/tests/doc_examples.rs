//! Keeps `docs/protocol.md` true: every JSON example in it must decode as the type its code
//! block names, every frame type and REST body must have an example, and every error and close
//! code must be in the tables.
//!
//! Code blocks are tagged with their info string:
//!
//! - ` ```json visitor ` — a [`VisitorFrame`]
//! - ` ```json agent ` — an [`AgentFrame`]
//! - ` ```json server ` — a [`ServerFrame`]
//! - ` ```json rest:TypeName ` — a REST body, `TypeName` from `api`, or `ApiError`, or
//!   `Conversation`
//!
//! Any other block whose info string starts with `json` is an error, so no example escapes the
//! check. Besides decoding, each example must read back unchanged when the decoded value is
//! serialised again, which catches misspelt optional fields that serde would skip silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;

use bellhop_protocol::api::{
    AgentProfile, AgentUpdate, ConversationList, Department, DepartmentList, Health, LoginRequest,
    LoginResponse, NewAgentRequest, NewDepartmentRequest, NewSiteRequest, Role, RoutingAudit,
    RoutingDecision, SiteList, SiteSettings, SiteSettingsUpdate, TranscriptPage,
    WidgetSessionRequest, WidgetSessionResponse,
};
use bellhop_protocol::error::ApiError;
use bellhop_protocol::frames::{AgentFrame, Conversation, Identity, ServerFrame, VisitorFrame};
use bellhop_protocol::{ErrorCode, PROTOCOL_VERSION, close_code};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");

/// The wire `type` of every [`ServerFrame`] variant.
const SERVER_TYPES: &[&str] = &[
    "welcome",
    "ack",
    "message",
    "typing",
    "conversation_opened",
    "conversation_assigned",
    "conversation_closed",
    "conversation_transferred",
    "conversation_released",
    "agent_status",
    "queue_status",
    "error",
];

/// The wire `type` of a server frame. The match has no wildcard, so a new variant fails to
/// compile here until it is added to [`SERVER_TYPES`] and documented.
fn server_type(frame: &ServerFrame) -> &'static str {
    match frame {
        ServerFrame::Welcome { .. } => "welcome",
        ServerFrame::Ack { .. } => "ack",
        ServerFrame::Message { .. } => "message",
        ServerFrame::Typing { .. } => "typing",
        ServerFrame::ConversationOpened { .. } => "conversation_opened",
        ServerFrame::ConversationAssigned { .. } => "conversation_assigned",
        ServerFrame::ConversationClosed { .. } => "conversation_closed",
        ServerFrame::ConversationTransferred { .. } => "conversation_transferred",
        ServerFrame::ConversationReleased { .. } => "conversation_released",
        ServerFrame::AgentStatus { .. } => "agent_status",
        ServerFrame::QueueStatus { .. } => "queue_status",
        ServerFrame::Error { .. } => "error",
    }
}

/// Every error code. The match has no wildcard, so a new variant fails to compile here until
/// it is listed (and then the table test asks for its row in the document).
fn all_error_codes() -> Vec<ErrorCode> {
    let all = [
        ErrorCode::BadFrame,
        ErrorCode::UnknownFrame,
        ErrorCode::BinaryNotSupported,
        ErrorCode::InvalidBody,
        ErrorCode::UnsupportedVersion,
        ErrorCode::HelloRequired,
        ErrorCode::AlreadyAuthenticated,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::ClientIdConflict,
        ErrorCode::ConversationClosed,
        ErrorCode::InvalidRequest,
        ErrorCode::OriginNotAllowed,
        ErrorCode::InvalidCredentials,
        ErrorCode::Conflict,
        ErrorCode::Offline,
        ErrorCode::AgentUnavailable,
        ErrorCode::AgentAtCapacity,
        ErrorCode::Internal,
    ];
    for code in all {
        match code {
            ErrorCode::BadFrame
            | ErrorCode::UnknownFrame
            | ErrorCode::BinaryNotSupported
            | ErrorCode::InvalidBody
            | ErrorCode::UnsupportedVersion
            | ErrorCode::HelloRequired
            | ErrorCode::AlreadyAuthenticated
            | ErrorCode::Unauthorized
            | ErrorCode::Forbidden
            | ErrorCode::NotFound
            | ErrorCode::ClientIdConflict
            | ErrorCode::ConversationClosed
            | ErrorCode::InvalidRequest
            | ErrorCode::OriginNotAllowed
            | ErrorCode::InvalidCredentials
            | ErrorCode::Conflict
            | ErrorCode::Offline
            | ErrorCode::AgentUnavailable
            | ErrorCode::AgentAtCapacity
            | ErrorCode::Internal => {}
        }
    }
    all.to_vec()
}

/// The REST bodies that must each have a ` ```json rest:Name ` example. (`Role` is a bare
/// string; it is shown inside the `AgentProfile` examples.)
const REST_TYPES: &[&str] = &[
    "LoginRequest",
    "LoginResponse",
    "AgentProfile",
    "NewAgentRequest",
    "AgentUpdate",
    "SiteSettings",
    "NewSiteRequest",
    "SiteSettingsUpdate",
    "SiteList",
    "Department",
    "NewDepartmentRequest",
    "DepartmentList",
    "WidgetSessionRequest",
    "WidgetSessionResponse",
    "ConversationList",
    "TranscriptPage",
    "RoutingAudit",
    "RoutingDecision",
    "Health",
    "ApiError",
    "Conversation",
];

/// Every close code the server uses.
const CLOSE_CODES: &[u16] = &[
    close_code::GOING_AWAY,
    1002,
    close_code::INVALID_PAYLOAD,
    close_code::TOO_BIG,
    close_code::UNAUTHORIZED,
    close_code::UNSUPPORTED_VERSION,
    close_code::TIMED_OUT,
    close_code::TOO_SLOW,
];

fn read_doc() -> String {
    std::fs::read_to_string(DOC_PATH)
        .unwrap_or_else(|e| panic!("cannot read docs/protocol.md ({DOC_PATH}): {e}"))
}

/// One fenced code block of the document.
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    info: String,
    text: String,
}

impl Block {
    fn name(&self) -> String {
        format!("docs/protocol.md:{} (```{})", self.line, self.info)
    }
}

/// Every fenced code block (backtick fences, possibly indented).
fn code_blocks(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, usize, String, String)> = None;
    for (index, line) in doc.lines().enumerate() {
        let trimmed = line.trim_start();
        let fence = trimmed.len() - trimmed.trim_start_matches('`').len();
        match &mut open {
            None if fence >= 3 => {
                let info = trimmed[fence..].trim().to_owned();
                open = Some((index + 1, fence, info, String::new()));
            }
            None => {}
            Some((start, width, info, text)) => {
                if fence >= *width && trimmed[fence..].trim().is_empty() {
                    blocks.push(Block {
                        line: *start,
                        info: std::mem::take(info),
                        text: std::mem::take(text),
                    });
                    open = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    if let Some((start, _, info, _)) = open {
        panic!("docs/protocol.md:{start}: code block ```{info} is never closed");
    }
    blocks
}

/// Checks that every field of `example` is in `actual` with the same value.
fn contained(example: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (example, actual) {
        (Value::Object(expected), Value::Object(got)) => {
            for (key, value) in expected {
                let here = format!("{path}.{key}");
                match got.get(key) {
                    Some(found) => contained(value, found, &here)?,
                    None => {
                        return Err(format!(
                            "`{here}` is not a field of the type (misspelt, or in the wrong place?)"
                        ));
                    }
                }
            }
            Ok(())
        }
        (Value::Array(expected), Value::Array(got)) if expected.len() == got.len() => {
            for (i, (e, g)) in expected.iter().zip(got).enumerate() {
                contained(e, g, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if example == actual => Ok(()),
        _ => Err(format!("`{path}` is {example} but reads back as {actual}")),
    }
}

/// Decodes a block as `T` and checks that it reads back unchanged.
fn decode<T: DeserializeOwned + Serialize>(block: &Block) -> Result<T, String> {
    let example: Value =
        serde_json::from_str(&block.text).map_err(|e| format!("not valid JSON: {e}"))?;
    let value: T = serde_json::from_str(&block.text)
        .map_err(|e| format!("does not decode as {}: {e}", std::any::type_name::<T>()))?;
    let back = serde_json::to_value(&value).map_err(|e| format!("does not serialise: {e}"))?;
    contained(&example, &back, "$")?;
    Ok(value)
}

fn decode_rest(name: &str, block: &Block) -> Result<(), String> {
    match name {
        "Role" => decode::<Role>(block).map(drop),
        "LoginRequest" => decode::<LoginRequest>(block).map(drop),
        "LoginResponse" => decode::<LoginResponse>(block).map(drop),
        "AgentProfile" => decode::<AgentProfile>(block).map(drop),
        "NewAgentRequest" => decode::<NewAgentRequest>(block).map(drop),
        "AgentUpdate" => decode::<AgentUpdate>(block).map(drop),
        "SiteSettings" => decode::<SiteSettings>(block).map(drop),
        "NewSiteRequest" => decode::<NewSiteRequest>(block).map(drop),
        "SiteSettingsUpdate" => decode::<SiteSettingsUpdate>(block).map(drop),
        "SiteList" => decode::<SiteList>(block).map(drop),
        "Department" => decode::<Department>(block).map(drop),
        "NewDepartmentRequest" => decode::<NewDepartmentRequest>(block).map(drop),
        "DepartmentList" => decode::<DepartmentList>(block).map(drop),
        "WidgetSessionRequest" => decode::<WidgetSessionRequest>(block).map(drop),
        "WidgetSessionResponse" => decode::<WidgetSessionResponse>(block).map(drop),
        "ConversationList" => decode::<ConversationList>(block).map(drop),
        "TranscriptPage" => decode::<TranscriptPage>(block).map(drop),
        "RoutingAudit" => decode::<RoutingAudit>(block).map(drop),
        "RoutingDecision" => decode::<RoutingDecision>(block).map(drop),
        "Health" => decode::<Health>(block).map(drop),
        "ApiError" => decode::<ApiError>(block).map(drop),
        "Conversation" => decode::<Conversation>(block).map(drop),
        other => Err(format!("`rest:{other}` names no known REST body type")),
    }
}

/// The `type` field of an example, for coverage.
fn wire_type(block: &Block) -> Option<String> {
    serde_json::from_str::<Value>(&block.text)
        .ok()?
        .get("type")?
        .as_str()
        .map(str::to_owned)
}

fn check_version(v: u32) -> Result<(), String> {
    if v == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(format!(
            "`v` is {v}, but the protocol version is {PROTOCOL_VERSION}"
        ))
    }
}

#[derive(Default)]
struct Seen {
    visitor: BTreeSet<String>,
    agent: BTreeSet<String>,
    server: BTreeSet<&'static str>,
    visitor_welcome: bool,
    agent_welcome: bool,
    rest: BTreeSet<String>,
}

fn check_block(block: &Block, seen: &mut Seen) -> Result<(), String> {
    let mut words = block.info.split_whitespace();
    let Some(lang) = words.next() else {
        return Ok(());
    };
    if lang != "json" {
        return Ok(());
    }
    let tag = words.next().unwrap_or_default();
    if let Some(extra) = words.next() {
        return Err(format!("unexpected `{extra}` after the tag"));
    }
    match tag {
        "visitor" => {
            let frame = decode::<VisitorFrame>(block)?;
            if let VisitorFrame::Hello { v, .. } = frame {
                check_version(v)?;
            }
            seen.visitor.extend(wire_type(block));
        }
        "agent" => {
            let frame = decode::<AgentFrame>(block)?;
            if let AgentFrame::Hello { v, .. } = frame {
                check_version(v)?;
            }
            seen.agent.extend(wire_type(block));
        }
        "server" => {
            let frame = decode::<ServerFrame>(block)?;
            if let ServerFrame::Welcome { v, identity, .. } = &frame {
                check_version(*v)?;
                match identity {
                    Identity::Visitor { .. } => seen.visitor_welcome = true,
                    Identity::Agent { .. } => seen.agent_welcome = true,
                }
            }
            seen.server.insert(server_type(&frame));
        }
        rest if rest.starts_with("rest:") => {
            let name = &rest["rest:".len()..];
            decode_rest(name, block)?;
            seen.rest.insert(name.to_owned());
        }
        "" => {
            return Err(
                "a JSON example must name its type: json visitor, json agent, json server or \
                 json rest:TypeName"
                    .into(),
            );
        }
        other => return Err(format!("unknown tag `{other}`")),
    }
    Ok(())
}

#[test]
fn every_json_example_decodes_as_its_type() {
    let doc = read_doc();
    let mut seen = Seen::default();
    let mut failures = String::new();
    for block in code_blocks(&doc) {
        if let Err(why) = check_block(&block, &mut seen) {
            let _ = writeln!(failures, "{}: {why}", block.name());
        }
    }
    assert!(
        failures.is_empty(),
        "examples in docs/protocol.md that do not match the protocol types:\n{failures}"
    );

    let missing = |kind: &str, wanted: &[&str], seen: &dyn Fn(&str) -> bool| -> Vec<String> {
        wanted
            .iter()
            .filter(|t| !seen(t))
            .map(|t| format!("{kind} frame `{t}`"))
            .collect()
    };
    let mut absent = Vec::new();
    absent.extend(missing("visitor", VisitorFrame::TYPES, &|t| {
        seen.visitor.contains(t)
    }));
    absent.extend(missing("agent", AgentFrame::TYPES, &|t| {
        seen.agent.contains(t)
    }));
    absent.extend(missing("server", SERVER_TYPES, &|t| {
        seen.server.contains(t)
    }));
    if !seen.visitor_welcome {
        absent.push("server frame `welcome` for a visitor".into());
    }
    if !seen.agent_welcome {
        absent.push("server frame `welcome` for an agent".into());
    }
    absent.extend(
        REST_TYPES
            .iter()
            .filter(|t| !seen.rest.contains(**t))
            .map(|t| format!("REST body `{t}`")),
    );
    assert!(
        absent.is_empty(),
        "docs/protocol.md has no example of: {}",
        absent.join(", ")
    );
}

/// Lines of the document's tables.
fn table_rows(doc: &str) -> Vec<&str> {
    doc.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|'))
        .collect()
}

#[test]
fn every_error_code_has_a_table_row() {
    let doc = read_doc();
    let rows = table_rows(&doc);
    let missing: Vec<&str> = all_error_codes()
        .into_iter()
        .map(ErrorCode::as_str)
        .filter(|code| {
            let cell = format!("| `{code}` |");
            !rows.iter().any(|row| row.starts_with(&cell))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/protocol.md lacks an error-code table row (`| \\`code\\` | ...`) for: {missing:?}"
    );
}

#[test]
fn every_close_code_has_a_table_row() {
    let doc = read_doc();
    let rows = table_rows(&doc);
    let missing: Vec<u16> = CLOSE_CODES
        .iter()
        .copied()
        .filter(|code| {
            let cell = format!("| `{code}` |");
            !rows.iter().any(|row| row.starts_with(&cell))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/protocol.md lacks a close-code table row (`| \\`code\\` | ...`) for: {missing:?}"
    );
}

#[test]
fn the_block_reader_finds_tagged_blocks() {
    let text =
        "intro\n```json server\n{\"a\": 1}\n```\n\n  ```text\n  x\n  ```\n````md\n```\n````\n";
    let blocks = code_blocks(text);
    let infos: Vec<&str> = blocks.iter().map(|b| b.info.as_str()).collect();
    assert_eq!(infos, ["json server", "text", "md"]);
    assert_eq!(blocks[0].line, 2);
    assert_eq!(blocks[0].text, "{\"a\": 1}\n");
    assert_eq!(blocks[2].text, "```\n");
}

#[test]
fn a_misspelt_optional_field_is_caught() {
    let block = Block {
        line: 1,
        info: "json rest:NewSiteRequest".into(),
        text: r#"{"name": "Shop", "allowed_origins": [], "autoreply": "Hi"}"#.into(),
    };
    let result = decode::<NewSiteRequest>(&block);
    assert!(
        matches!(&result, Err(why) if why.contains("$.autoreply")),
        "{:?}",
        result.err()
    );
}
