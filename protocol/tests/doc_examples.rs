//! Keeps `docs/protocol.md` true: every JSON example in it must decode as the type its code
//! block names, every frame type and REST body must have an example, every error and close
//! code must be in the tables, and the CSV export example must have the server's columns.
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
//!
//! The worked example of identity verification is checked too: every documented identity must
//! be signed with a documented `identity_secret`, its signed text must be shown, and the Python
//! snippet must compute the same signature.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;

use bellhop_protocol::api::{
    AgentProfile, AgentUpdate, AttachmentUploaded, Availability, BusinessHours, ClosedReason,
    ConversationList, Department, DepartmentList, FieldKind, FormField, FormSpec, GreetingRule,
    Health, Lead, LeadKind, LeadList, LeadSubmission, LiveVisitor, LiveVisitorList, LoginRequest,
    LoginResponse, NewAgentRequest, NewDepartmentRequest, NewSiteRequest, OpeningInterval,
    PageAttributes, PageContext, PasswordChange, PasswordReset, PresenceBeat, RatingRequest, Role,
    RoutingAudit, RoutingDecision, SiteConfig, SiteList, SiteSettings, SiteSettingsUpdate,
    TranscriptPage, TranscriptRequest, Utm, VisitorIdentity, VisitorProfile, Weekday, WidgetConfig,
    WidgetDepartment, WidgetLook, WidgetSessionRequest, WidgetSessionResponse,
};
use bellhop_protocol::console::{
    AgentPreferences, AuditEntry, AuditList, CannedReply, CannedReplyList, CannedReplyUpdate,
    Invite, InviteRequest, NewCannedReply, NoteList, PastConversation, PresenceAnswer,
    VisitorContext, VisitorExport,
};
use bellhop_protocol::error::ApiError;
use bellhop_protocol::frames::{
    AgentFrame, Conversation, Identity, Rating, ServerFrame, VisitorFrame,
};
use bellhop_protocol::{ErrorCode, PROTOCOL_VERSION, close_code};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The document shows the frames only agents receive, which exist with the `staff` feature
/// (`cargo test --workspace` enables it, through the server).
#[cfg(not(feature = "staff"))]
#[test]
fn the_staff_frames_need_the_staff_feature() {
    panic!("run these tests with `--features staff` (or as part of `cargo test --workspace`)");
}

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
    "peek",
    "read",
    "conversation_rated",
    #[cfg(feature = "staff")]
    "note_added",
    #[cfg(feature = "staff")]
    "viewers",
    #[cfg(feature = "staff")]
    "conversation_updated",
    #[cfg(feature = "staff")]
    "queue",
    #[cfg(feature = "staff")]
    "wallboard",
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
        ServerFrame::Peek { .. } => "peek",
        ServerFrame::Read { .. } => "read",
        ServerFrame::ConversationRated { .. } => "conversation_rated",
        #[cfg(feature = "staff")]
        ServerFrame::NoteAdded { .. } => "note_added",
        #[cfg(feature = "staff")]
        ServerFrame::Viewers { .. } => "viewers",
        #[cfg(feature = "staff")]
        ServerFrame::ConversationUpdated { .. } => "conversation_updated",
        #[cfg(feature = "staff")]
        ServerFrame::Queue { .. } => "queue",
        #[cfg(feature = "staff")]
        ServerFrame::Wallboard { .. } => "wallboard",
        ServerFrame::Error { .. } => "error",
    }
}

/// The REST bodies (and the objects inside them) that must each have a ` ```json rest:Name `
/// example. (The enums `Role`, `FieldKind`, `ClosedReason`, `LeadKind` and `Weekday` are bare
/// strings; they are shown inside the examples of the objects that hold them.)
const REST_TYPES: &[&str] = &[
    "LoginRequest",
    "LoginResponse",
    "AgentProfile",
    "NewAgentRequest",
    "AgentUpdate",
    "PasswordChange",
    "PasswordReset",
    "SiteSettings",
    "SiteConfig",
    "BusinessHours",
    "OpeningInterval",
    "FormSpec",
    "FormField",
    "NewSiteRequest",
    "SiteSettingsUpdate",
    "SiteList",
    "Department",
    "NewDepartmentRequest",
    "DepartmentList",
    "WidgetSessionRequest",
    "VisitorIdentity",
    "WidgetSessionResponse",
    "WidgetConfig",
    "WidgetDepartment",
    "AttachmentUploaded",
    "Availability",
    "LeadSubmission",
    "PageContext",
    "Lead",
    "Utm",
    "LeadList",
    "ConversationList",
    "TranscriptPage",
    "RoutingAudit",
    "RoutingDecision",
    "MySites",
    "Report",
    "Health",
    "ApiError",
    "Conversation",
    "RatingRequest",
    "TranscriptRequest",
    "Rating",
    "PresenceBeat",
    "LiveVisitorList",
    "LiveVisitor",
    "PageAttributes",
    "VisitorProfile",
    "WidgetLook",
    "GreetingRule",
    "AgentPreferences",
    "CannedReply",
    "NewCannedReply",
    "CannedReplyUpdate",
    "CannedReplyList",
    "VisitorContext",
    "PastConversation",
    "InviteRequest",
    "Invite",
    "PresenceAnswer",
    "VisitorExport",
    "AuditEntry",
    "AuditList",
    "NoteList",
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
    close_code::SESSION_ENDED,
    close_code::TOO_MANY_SOCKETS,
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
        "PasswordChange" => decode::<PasswordChange>(block).map(drop),
        "PasswordReset" => decode::<PasswordReset>(block).map(drop),
        "SiteSettings" => decode::<SiteSettings>(block).map(drop),
        "SiteConfig" => decode::<SiteConfig>(block).map(drop),
        "BusinessHours" => decode::<BusinessHours>(block).map(drop),
        "OpeningInterval" => decode::<OpeningInterval>(block).map(drop),
        "Weekday" => decode::<Weekday>(block).map(drop),
        "FormSpec" => decode::<FormSpec>(block).map(drop),
        "FormField" => decode::<FormField>(block).map(drop),
        "FieldKind" => decode::<FieldKind>(block).map(drop),
        "NewSiteRequest" => decode::<NewSiteRequest>(block).map(drop),
        "SiteSettingsUpdate" => decode::<SiteSettingsUpdate>(block).map(drop),
        "SiteList" => decode::<SiteList>(block).map(drop),
        "Department" => decode::<Department>(block).map(drop),
        "NewDepartmentRequest" => decode::<NewDepartmentRequest>(block).map(drop),
        "DepartmentList" => decode::<DepartmentList>(block).map(drop),
        "WidgetSessionRequest" => decode::<WidgetSessionRequest>(block).map(drop),
        "VisitorIdentity" => decode::<VisitorIdentity>(block).map(drop),
        "WidgetSessionResponse" => decode::<WidgetSessionResponse>(block).map(drop),
        "WidgetConfig" => decode::<WidgetConfig>(block).map(drop),
        "AttachmentUploaded" => decode::<AttachmentUploaded>(block).map(drop),
        "WidgetDepartment" => decode::<WidgetDepartment>(block).map(drop),
        "Availability" => decode::<Availability>(block).map(drop),
        "ClosedReason" => decode::<ClosedReason>(block).map(drop),
        "LeadSubmission" => decode::<LeadSubmission>(block).map(drop),
        "PageContext" => decode::<PageContext>(block).map(drop),
        "LeadKind" => decode::<LeadKind>(block).map(drop),
        "Lead" => decode::<Lead>(block).map(drop),
        "Utm" => decode::<Utm>(block).map(drop),
        "LeadList" => decode::<LeadList>(block).map(drop),
        "ConversationList" => decode::<ConversationList>(block).map(drop),
        "TranscriptPage" => decode::<TranscriptPage>(block).map(drop),
        "RoutingAudit" => decode::<RoutingAudit>(block).map(drop),
        "RoutingDecision" => decode::<RoutingDecision>(block).map(drop),
        "MySites" => decode::<bellhop_protocol::console::MySites>(block).map(drop),
        "Report" => decode::<bellhop_protocol::console::Report>(block).map(drop),
        "Health" => decode::<Health>(block).map(drop),
        "ApiError" => decode::<ApiError>(block).map(drop),
        "Conversation" => decode::<Conversation>(block).map(drop),
        "RatingRequest" => decode::<RatingRequest>(block).map(drop),
        "TranscriptRequest" => decode::<TranscriptRequest>(block).map(drop),
        "Rating" => decode::<Rating>(block).map(drop),
        "PresenceBeat" => decode::<PresenceBeat>(block).map(drop),
        "LiveVisitorList" => decode::<LiveVisitorList>(block).map(drop),
        "LiveVisitor" => decode::<LiveVisitor>(block).map(drop),
        "PageAttributes" => decode::<PageAttributes>(block).map(drop),
        "VisitorProfile" => decode::<VisitorProfile>(block).map(drop),
        "WidgetLook" => decode::<WidgetLook>(block).map(drop),
        "GreetingRule" => decode::<GreetingRule>(block).map(drop),
        "AgentPreferences" => decode::<AgentPreferences>(block).map(drop),
        "CannedReply" => decode::<CannedReply>(block).map(drop),
        "NewCannedReply" => decode::<NewCannedReply>(block).map(drop),
        "CannedReplyUpdate" => decode::<CannedReplyUpdate>(block).map(drop),
        "CannedReplyList" => decode::<CannedReplyList>(block).map(drop),
        "VisitorContext" => decode::<VisitorContext>(block).map(drop),
        "PastConversation" => decode::<PastConversation>(block).map(drop),
        "InviteRequest" => decode::<InviteRequest>(block).map(drop),
        "Invite" => decode::<Invite>(block).map(drop),
        "PresenceAnswer" => decode::<PresenceAnswer>(block).map(drop),
        "VisitorExport" => decode::<VisitorExport>(block).map(drop),
        "AuditEntry" => decode::<AuditEntry>(block).map(drop),
        "AuditList" => decode::<AuditList>(block).map(drop),
        "NoteList" => decode::<NoteList>(block).map(drop),
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

/// Fails unless each of `codes` has a table row of its own in the document: a row whose
/// first cell is the code, quoted.
fn assert_each_code_has_a_row(kind: &str, codes: impl IntoIterator<Item = String>) {
    let doc = read_doc();
    let rows: Vec<&str> = doc
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|'))
        .collect();
    let missing: Vec<String> = codes
        .into_iter()
        .filter(|code| {
            let cell = format!("| `{code}` |");
            !rows.iter().any(|row| row.starts_with(&cell))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/protocol.md lacks a {kind} table row (`| \\`code\\` | ...`) for: {missing:?}"
    );
}

/// Every code in `ErrorCode::ALL`, which the protocol crate's own tests hold complete.
#[test]
fn every_error_code_has_a_table_row() {
    let codes = ErrorCode::ALL.iter().map(|code| code.as_str().to_owned());
    assert_each_code_has_a_row("error-code", codes);
}

#[test]
fn every_close_code_has_a_table_row() {
    assert_each_code_has_a_row("close-code", CLOSE_CODES.iter().map(u16::to_string));
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

/// The server's lead export, whose `CSV_HEADER` the document's CSV example must follow.
const LEADS_RS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/src/leads.rs");

/// The column names of `CSV_HEADER` in `server/src/leads.rs`.
fn server_csv_header() -> Vec<String> {
    let source = std::fs::read_to_string(LEADS_RS)
        .unwrap_or_else(|e| panic!("cannot read server/src/leads.rs ({LEADS_RS}): {e}"));
    let start = source
        .find("const CSV_HEADER")
        .expect("server/src/leads.rs defines `const CSV_HEADER`");
    let rest = &source[start..];
    let open = rest.find("= [").expect("CSV_HEADER is an array literal") + "= [".len();
    let close = open
        + rest[open..]
            .find("];")
            .expect("CSV_HEADER's array ends with `];`");
    rest[open..close]
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| name.trim_matches('"').to_owned())
        .collect()
}

/// Splits RFC 4180 text into records of fields. Records may end with LF as well as CRLF (a
/// Markdown code block cannot show CRLF); a line break inside quotes belongs to its field.
fn csv_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    #[derive(PartialEq)]
    enum State {
        /// At the start of a field, or inside an unquoted one.
        Plain,
        /// Inside a quoted field.
        Quoted,
        /// Just after a quoted field's closing quote.
        Closed,
    }
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut state = State::Plain;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (&state, c) {
            (State::Quoted, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (State::Quoted, '"') => state = State::Closed,
            (State::Quoted, _) => field.push(c),
            (State::Plain, '"') if field.is_empty() => state = State::Quoted,
            (_, ',') => {
                record.push(std::mem::take(&mut field));
                state = State::Plain;
            }
            (_, '\r') if chars.peek() == Some(&'\n') => {}
            (_, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                state = State::Plain;
            }
            (State::Plain, '"' | '\r') => {
                return Err(format!(
                    "record {}: {c:?} in an unquoted field (`{field}`); such a field must be quoted",
                    records.len() + 1
                ));
            }
            (State::Plain, _) => field.push(c),
            (State::Closed, _) => {
                return Err(format!(
                    "record {}: {c:?} after the closing quote of `{field}`",
                    records.len() + 1
                ));
            }
        }
    }
    if state == State::Quoted {
        return Err("a quoted field is never closed".into());
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// Milliseconds since the epoch as RFC 3339 in UTC, to the second (`2025-03-15T16:47:12Z`).
fn rfc3339_utc(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The value of one CSV export column for a lead, as the document describes the export: a
/// value that begins like a spreadsheet formula gets a leading `'`.
fn csv_value(lead: &Lead, column: &str) -> Option<String> {
    let value = csv_raw_value(lead, column)?;
    Some(if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value
    })
}

fn csv_raw_value(lead: &Lead, column: &str) -> Option<String> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    Some(match column {
        "created_at" => rfc3339_utc(lead.created_at),
        "kind" => lead.kind.as_str().to_owned(),
        "name" => text(&lead.name),
        "email" => text(&lead.email),
        "phone" => text(&lead.phone),
        "message" => text(&lead.message),
        "consent" => if lead.consent { "yes" } else { "no" }.to_owned(),
        "custom_fields" if lead.custom.is_empty() => String::new(),
        "custom_fields" => serde_json::to_string(&lead.custom).unwrap(),
        "landing_page" => text(&lead.page.landing_page),
        "current_page" => text(&lead.page.current_page),
        "referrer" => text(&lead.page.referrer),
        "utm_source" => text(&lead.utm.source),
        "utm_medium" => text(&lead.utm.medium),
        "utm_campaign" => text(&lead.utm.campaign),
        "utm_term" => text(&lead.utm.term),
        "utm_content" => text(&lead.utm.content),
        "department_id" => lead
            .department_id
            .map(|d| d.to_string())
            .unwrap_or_default(),
        "site_id" => lead.site_id.to_string(),
        "visitor_id" => lead.visitor_id.map(|v| v.to_string()).unwrap_or_default(),
        "id" => lead.id.to_string(),
        _ => return None,
    })
}

/// The one ` ```text ` block of the document that shows the CSV export (its first line is
/// the header, starting with `created_at,`).
fn csv_example(doc: &str) -> Block {
    let mut examples: Vec<Block> = code_blocks(doc)
        .into_iter()
        .filter(|b| b.info == "text" && b.text.starts_with("created_at,"))
        .collect();
    assert_eq!(
        examples.len(),
        1,
        "docs/protocol.md should have exactly one ```text block with the CSV export (header \
         first, starting with `created_at,`)"
    );
    examples.remove(0)
}

/// Every lead shown in a `rest:Lead` or `rest:LeadList` example.
fn documented_leads(doc: &str) -> Vec<Lead> {
    let mut leads = Vec::new();
    for block in code_blocks(doc) {
        match block.info.as_str() {
            "json rest:Lead" => leads.push(decode::<Lead>(&block).unwrap()),
            "json rest:LeadList" => leads.extend(decode::<LeadList>(&block).unwrap().leads),
            _ => {}
        }
    }
    leads
}

#[test]
fn the_csv_example_has_the_server_columns_and_the_documented_leads() {
    let doc = read_doc();
    let example = csv_example(&doc);
    let records = csv_records(&example.text)
        .unwrap_or_else(|why| panic!("{}: not RFC 4180: {why}", example.name()));
    let header = server_csv_header();
    assert!(
        header.len() > 1,
        "could not read CSV_HEADER from server/src/leads.rs: {header:?}"
    );
    assert_eq!(
        records[0],
        header,
        "{}: the header differs from CSV_HEADER in server/src/leads.rs",
        example.name()
    );
    assert!(
        records.len() > 1,
        "{}: the CSV example has no lead",
        example.name()
    );
    let leads = documented_leads(&doc);
    let id_column = header
        .iter()
        .position(|c| c == "id")
        .expect("an `id` column");
    for (i, record) in records.iter().enumerate().skip(1) {
        assert_eq!(
            record.len(),
            header.len(),
            "{}: record {i} has {} fields, the header {}",
            example.name(),
            record.len(),
            header.len()
        );
        let lead = leads
            .iter()
            .find(|lead| lead.id.to_string() == record[id_column])
            .unwrap_or_else(|| {
                panic!(
                    "{}: record {i} is lead {}, which no rest:Lead or rest:LeadList example shows",
                    example.name(),
                    record[id_column]
                )
            });
        for (column, value) in header.iter().zip(record) {
            let expected = csv_value(lead, column).unwrap_or_else(|| {
                panic!("the test does not know how the export writes column `{column}`")
            });
            assert_eq!(
                value,
                &expected,
                "{}: record {i}, column `{column}`",
                example.name()
            );
        }
    }
}

#[test]
fn the_csv_reader_follows_rfc_4180() {
    let records = csv_records("a,b,c\r\n\"x, \"\"y\"\"\",,\"1\n2\"\r\n").unwrap();
    assert_eq!(records, [vec!["a", "b", "c"], vec!["x, \"y\"", "", "1\n2"]]);
    assert!(csv_records("a,b\"c\n").is_err());
    assert!(csv_records("\"a\"b\n").is_err());
    assert!(csv_records("\"a\n").is_err());
    assert_eq!(rfc3339_utc(1_742_057_232_408), "2025-03-15T16:47:12Z");
    assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339_utc(951_782_400_000), "2000-02-29T00:00:00Z");
}

/// SHA-256 (FIPS 180-4), so the test can check the documented signature without a crypto
/// dependency.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
        for (k, w) in K.iter().zip(w) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let choice = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(choice)
                .wrapping_add(*k)
                .wrapping_add(w);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let majority = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(majority);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (word, add) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *word = word.wrapping_add(add);
        }
    }
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// HMAC-SHA256 (RFC 2104) as lower-case hex.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let padded = |pad: u8| block.iter().map(|b| b ^ pad).collect::<Vec<u8>>();
    let mut inner = padded(0x36);
    inner.extend_from_slice(message);
    let mut outer = padded(0x5c);
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer).iter().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

#[test]
fn the_hmac_follows_rfc_4231() {
    assert_eq!(
        hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // A key longer than the block is hashed first.
    assert_eq!(
        hmac_sha256_hex(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        ),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    let hex = |digest: [u8; 32]| {
        digest.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
    };
    assert_eq!(
        hex(sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // Two blocks once padded.
    assert_eq!(
        hex(sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

/// Every `identity_secret` the document's site configurations show.
fn documented_secrets(doc: &str) -> Vec<String> {
    let mut configs: Vec<SiteConfig> = Vec::new();
    for block in code_blocks(doc) {
        match block.info.as_str() {
            "json rest:SiteConfig" => configs.push(decode(&block).unwrap()),
            "json rest:SiteSettings" => {
                configs.push(decode::<SiteSettings>(&block).unwrap().config)
            }
            "json rest:SiteList" => configs.extend(
                decode::<SiteList>(&block)
                    .unwrap()
                    .sites
                    .into_iter()
                    .map(|site| site.config),
            ),
            "json rest:SiteSettingsUpdate" => {
                configs.extend(decode::<SiteSettingsUpdate>(&block).unwrap().config);
            }
            _ => {}
        }
    }
    configs
        .into_iter()
        .filter_map(|config| config.identity_secret)
        .collect()
}

#[test]
fn the_identity_examples_are_signed_with_the_documented_secret() {
    let doc = read_doc();
    let secrets = documented_secrets(&doc);
    assert!(
        !secrets.is_empty(),
        "docs/protocol.md shows no site config with an identity_secret"
    );
    let blocks = code_blocks(&doc);
    let mut identities = Vec::new();
    for block in &blocks {
        match block.info.as_str() {
            "json rest:VisitorIdentity" => {
                identities.push((block, decode::<VisitorIdentity>(block).unwrap(), true));
            }
            "json rest:WidgetSessionRequest" => {
                if let Some(identity) = decode::<WidgetSessionRequest>(block).unwrap().identity {
                    identities.push((block, identity, false));
                }
            }
            _ => {}
        }
    }
    assert!(
        identities.iter().any(|(_, _, standalone)| *standalone),
        "docs/protocol.md has no rest:VisitorIdentity example"
    );
    let pythons: Vec<&Block> = blocks.iter().filter(|b| b.info == "python").collect();
    for (block, identity, standalone) in &identities {
        let signed = VisitorIdentity::signed_payload(&identity.user_id, &identity.attributes);
        let Some(secret) = secrets.iter().find(|secret| {
            hmac_sha256_hex(secret.as_bytes(), signed.as_bytes()) == identity.signature
        }) else {
            panic!(
                "{}: the signature of {:?} is not the HMAC-SHA256 of {signed:?} under any \
                 documented identity_secret ({secrets:?})",
                block.name(),
                identity.user_id
            );
        };
        if !standalone {
            continue;
        }
        // The worked example shows the signed text, and the Python that computes the signature.
        assert!(
            blocks
                .iter()
                .any(|b| b.info == "text" && b.text.strip_suffix('\n') == Some(signed.as_str())),
            "{}: docs/protocol.md should show the signed text {signed:?} in a ```text block",
            block.name()
        );
        assert!(
            pythons.iter().any(|p| {
                p.text.contains(&format!("{secret:?}"))
                    && p.text.contains(&format!("{:?}", identity.user_id))
                    && p.text.contains(&format!("# {}", identity.signature))
            }),
            "{}: docs/protocol.md should have a ```python block with the secret, the user id \
             {:?} and the resulting signature as a comment",
            block.name(),
            identity.user_id
        );
    }
}
