//! Attachments over REST: a visitor or the serving agent uploads a file into a conversation,
//! and its parties download it.
//!
//! An upload's body is the file's raw bytes. It is read as it streams and refused (`413
//! file_too_large`) as soon as it passes the smaller of the site's limit and the server's
//! hard cap, so no more than that is ever held; its type is found from its first bytes
//! ([`crate::files::sniff`]) and must be on the site's allow-list (`415
//! unsupported_file_type`). The bytes are then stored durably in the blob store, and the
//! message carrying the file (its body the cleaned name) is committed through the same group
//! committer as a text `send`: it gets the conversation's next `seq`, reaches every party's
//! sockets in order, and a resend with the same `client_id` answers the same. A refused or
//! duplicate message deletes the bytes it brought.
//!
//! A download answers only the conversation's visitor and the agents who may read its
//! transcript (anyone else: `404`), with headers that keep a browser from running or sniffing
//! the file.

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{Path, Payload, Query};
use actix_web::{HttpRequest, HttpResponse};
use bellhop_protocol::api::{AttachmentPolicy, AttachmentUploaded, UploadQuery};
use bellhop_protocol::frames::ConversationStatus;
use bellhop_protocol::ids::AttachmentId;
use bellhop_protocol::{ClientMessageId, ConversationId, ErrorCode, MessageBody};
use futures_util::StreamExt;
use uuid::Uuid;

use super::{Reply, State};
use crate::app::AppState;
use crate::chat::{ChatError, PreparedSend};
use crate::error::HttpError;
use crate::files::{names, sniff};
use crate::routes::session::{AgentSession, Caller};
use crate::routes::widget::visitors_site;
use crate::store::{AppendRejection, NewAttachment};

/// How long a browser may keep a downloaded file (attachments never change).
const CACHE_CONTROL: &str = "private, max-age=86400";
/// A downloaded file may load nothing and, opened on its own, runs in a sandbox.
const DOWNLOAD_POLICY: &str = "default-src 'none'; sandbox";

/// `POST /api/v1/widget/attachments?conversation_id=&client_id=&name=` with the visitor
/// token, from an allowed origin or the widget's panel: a file into a queued or assigned
/// conversation of the visitor's.
pub(crate) async fn visitor_upload(
    req: HttpRequest,
    state: State,
    caller: Caller,
    query: Query<UploadQuery>,
    payload: Payload,
) -> Reply {
    let (visitor, site) = visitors_site(
        &state,
        &req,
        caller,
        "this upload takes a visitor token; agents upload to \
         /api/v1/conversations/{id}/attachments",
    )
    .await?;
    state
        .limits
        .visitor_messages
        .check(&visitor.visitor_id)
        .map_err(|wait| HttpError::rate_limited("messages", wait))?;
    let query = query.into_inner();
    let id = query
        .conversation_id
        .ok_or_else(|| HttpError::invalid("conversation_id is required"))?;
    let conversation = state
        .store
        .conversation(id)
        .await?
        .filter(|c| c.visitor_id == visitor.visitor_id && c.site_id == site.id)
        .ok_or_else(|| HttpError::not_found("conversation of yours"))?;
    if conversation.status == ConversationStatus::Closed {
        return Err(ChatError::Rejected(AppendRejection::ConversationClosed).into());
    }
    let (client_id, body) = parse_query(&query)?;
    let file = receive(&state, &req, payload, &site.config.attachments).await?;
    let send = state
        .chat
        .visitor_send(
            visitor.visitor_id,
            site.id,
            client_id.clone(),
            Some(conversation.id),
            None,
            body,
        )
        .await?;
    store_and_commit(&state, send, client_id, file).await
}

/// `POST /api/v1/conversations/{id}/attachments?client_id=&name=` for the agent serving the
/// conversation (session cookie or bearer).
pub(crate) async fn agent_upload(
    req: HttpRequest,
    state: State,
    session: AgentSession,
    path: Path<ConversationId>,
    query: Query<UploadQuery>,
    payload: Payload,
) -> Reply {
    let agent = &session.agent;
    let conversation = state
        .store
        .conversation(path.into_inner())
        .await?
        .filter(|c| agent.reaches(c.site_id))
        .ok_or_else(|| HttpError::not_found("conversation"))?;
    if conversation.status == ConversationStatus::Closed {
        return Err(ChatError::Rejected(AppendRejection::ConversationClosed).into());
    }
    if conversation.agent.as_ref().map(|a| a.id) != Some(agent.id) {
        return Err(ChatError::Rejected(AppendRejection::Forbidden).into());
    }
    let site = state
        .store
        .site(conversation.site_id)
        .await?
        .ok_or_else(|| HttpError::not_found("site"))?;
    let (client_id, body) = parse_query(&query)?;
    let file = receive(&state, &req, payload, &site.config.attachments).await?;
    let send = state
        .chat
        .agent_send(agent, client_id.clone(), conversation.id, body);
    store_and_commit(&state, send, client_id, file).await
}

/// The upload's client id, and the cleaned file name as the message's body.
fn parse_query(query: &UploadQuery) -> Result<(ClientMessageId, MessageBody), HttpError> {
    let client_id = ClientMessageId::parse(query.client_id.clone())
        .map_err(|e| HttpError::invalid(format!("client_id: {e}")))?;
    let body = MessageBody::parse(names::clean_name(&query.name))
        .map_err(|e| HttpError::invalid(format!("name: {e}")))?;
    Ok((client_id, body))
}

/// A received file: its bytes and the type they show.
struct Received {
    bytes: Vec<u8>,
    content_type: &'static str,
}

/// Reads the body up to the limit and checks the file's type against the site's policy.
async fn receive(
    state: &AppState,
    req: &HttpRequest,
    mut payload: Payload,
    policy: &AttachmentPolicy,
) -> Result<Received, HttpError> {
    if policy.allowed_types.is_empty() {
        return Err(HttpError::new(
            ErrorCode::UnsupportedFileType,
            "this site accepts no attachments",
        ));
    }
    let limit = policy.max_bytes.min(state.config.files.max_bytes());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    let Some(_room) = state.uploads.try_reserve(limit) else {
        return Err(HttpError::rate_limited(
            "uploads in progress on the server",
            std::time::Duration::from_secs(2),
        ));
    };
    let mut bytes = Vec::with_capacity(declared.map_or(0, |len| usize::try_from(len).unwrap_or(0)));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| HttpError::invalid(format!("the upload broke off: {e}")))?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(HttpError::invalid("the file is empty"));
    }
    let Some(content_type) = sniff::sniff(&bytes) else {
        return Err(HttpError::new(
            ErrorCode::UnsupportedFileType,
            format!(
                "this file is not of a type this site accepts ({}); its type is read from its \
                 content, not its name",
                policy.allowed_types.join(", ")
            ),
        ));
    };
    if !policy.allowed_types.iter().any(|t| t == content_type) {
        return Err(HttpError::new(
            ErrorCode::UnsupportedFileType,
            format!(
                "this site does not accept {content_type} files (it accepts {})",
                policy.allowed_types.join(", ")
            ),
        ));
    }
    Ok(Received {
        bytes,
        content_type,
    })
}

fn too_large(limit: u64) -> HttpError {
    HttpError::new(
        ErrorCode::FileTooLarge,
        format!("the file is larger than the limit of {}", human_size(limit)),
    )
}

/// `10 MiB (10485760 bytes)`, `512 KiB (524288 bytes)`, `1000 bytes`.
fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB ({bytes} bytes)", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB ({bytes} bytes)", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Stores the bytes, then commits the message that carries them; `201` with the new message's
/// `seq`, or `200` with the stored one for a resend.
async fn store_and_commit(
    state: &AppState,
    send: PreparedSend,
    client_id: ClientMessageId,
    file: Received,
) -> Reply {
    let id = AttachmentId::from_uuid(Uuid::now_v7());
    let key = id.to_string();
    let size = file.bytes.len() as u64;
    state.files.put(&key, file.bytes).await.map_err(|e| {
        tracing::error!(error = %e, "storing an attachment failed");
        HttpError::internal()
    })?;
    let send = send.carrying(NewAttachment {
        id,
        content_type: file.content_type.to_owned(),
        size,
        blob_key: key.clone(),
    });
    let result = state.chat.commit(send).await;
    // A refusal or a resend stored nothing that points at these bytes. (A failed commit may
    // have stored the message, so its bytes stay.)
    let stored_nothing = match &result {
        Ok(appended) => appended.duplicate,
        Err(e) => matches!(e, ChatError::Rejected(_)),
    };
    if stored_nothing && let Err(e) = state.files.delete(&key).await {
        tracing::warn!(error = %e, key, "could not delete an unused attachment");
    }
    let appended = result?;
    let message = appended.message;
    let attachment = message.attachment.ok_or_else(|| {
        // The client id was used for a text message: not this upload.
        HttpError::new(
            ErrorCode::ClientIdConflict,
            "this client id was already used for a different message",
        )
    })?;
    let answer = AttachmentUploaded {
        conversation_id: message.conversation_id,
        client_id: client_id.as_str().to_owned(),
        seq: message.seq,
        sent_at: message.sent_at,
        attachment,
    };
    Ok(if appended.duplicate {
        HttpResponse::Ok().json(answer)
    } else {
        HttpResponse::Created().json(answer)
    })
}

/// `GET /api/v1/attachments/{id}`: the file, for the conversation's visitor (visitor token)
/// and the agents who may read its transcript; `404` for anyone else.
pub(crate) async fn download(state: State, caller: Caller, path: Path<AttachmentId>) -> Reply {
    let not_found = || HttpError::not_found("attachment");
    let stored = state
        .store
        .attachment(path.into_inner())
        .await?
        .ok_or_else(not_found)?;
    state
        .store
        .conversation(stored.conversation_id)
        .await?
        .filter(|c| caller.may_read(c))
        .ok_or_else(not_found)?;
    let bytes = state
        .files
        .get(&stored.blob_key)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, key = stored.blob_key, "reading an attachment failed");
            HttpError::internal()
        })?
        .ok_or_else(|| {
            tracing::error!(key = stored.blob_key, "an attachment's bytes are missing");
            not_found()
        })?;
    let attachment = &stored.attachment;
    let content_type = match attachment.content_type.as_str() {
        "text/plain" => "text/plain; charset=utf-8".to_owned(),
        other => other.to_owned(),
    };
    let disposition = names::content_disposition(&attachment.name, attachment.is_image());
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, DOWNLOAD_POLICY))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.insert_header((header::CONTENT_DISPOSITION, value));
    }
    Ok(response.body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_people_write_them() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MiB (10485760 bytes)");
        assert_eq!(human_size(512 * 1024), "512 KiB (524288 bytes)");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}
