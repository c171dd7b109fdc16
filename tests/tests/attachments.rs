//! Attachments: a visitor's picture reaches the agent as a message carrying the file, the
//! agent's PDF reaches the visitor, and both download exactly the bytes sent, with headers
//! that keep a browser from running them. Types are read from the bytes (an HTML page named
//! `.png` is refused), sizes are capped, resends are idempotent, and only the conversation's
//! parties ever see a file.

use bellhop_protocol::api::{AttachmentUploaded, SiteConfig};
use bellhop_protocol::frames::{AuthorKind, Message, ResumePoint, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode};
use bellhop_tests::files::{blob_count, files_dir, tiny_png, visitor_upload};
use bellhop_tests::{Backend, Client, TestVisitor, WsClient, api_error, both_backends, spawn_app};

both_backends!(
    a_visitors_png_reaches_the_agent_who_downloads_it,
    the_agents_pdf_reaches_the_visitor,
    html_named_png_is_refused_and_nothing_is_stored,
    an_oversize_or_empty_file_is_refused_and_nothing_is_stored,
    a_resend_answers_the_same_and_stores_one_message,
    strangers_never_see_a_file,
    a_site_that_drops_pdf_refuses_it,
    names_lose_their_folders_and_control_characters,
    a_resumed_socket_replays_the_file_and_closed_chats_take_none,
);

fn tiny_pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec()
}

/// Uploads a PNG of `size` bytes with a chunked body (no `Content-Length`) over a plain
/// connection; returns the raw answer.
async fn chunked_upload(
    app: &Client,
    visitor: &TestVisitor,
    conversation: ConversationId,
    size: usize,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/widget/attachments?conversation_id={conversation}&client_id=chunked\
         &name=big.png HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\n\
         Origin: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.port, visitor.token, visitor.origin
    );
    let mut body = tiny_png();
    body.resize(size, 0);
    let mut request = head.into_bytes();
    for piece in body.chunks(256) {
        request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        request.extend_from_slice(piece);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Uploads `bytes` as the agent with `token`.
async fn agent_upload(
    app: &Client,
    token: &str,
    conversation: ConversationId,
    client_id: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.http
        .post(format!(
            "{}/api/v1/conversations/{conversation}/attachments",
            app.address
        ))
        .query(&[("client_id", client_id), ("name", name)])
        .bearer_auth(token)
        .header("Content-Type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("agent upload")
}

async fn uploaded(response: reqwest::Response, status: u16) -> AttachmentUploaded {
    assert_eq!(response.status(), status, "upload status");
    response.json().await.expect("AttachmentUploaded body")
}

async fn download(app: &Client, uploaded: &AttachmentUploaded, token: &str) -> reqwest::Response {
    app.get(
        &format!("/api/v1/attachments/{}", uploaded.attachment.id),
        token,
    )
    .await
}

/// The `message` frame with this `seq`, skipping others.
async fn message_with_seq(ws: &mut WsClient, seq: u64) -> Message {
    match ws
        .expect(
            "the file's message",
            |f| matches!(f, ServerFrame::Message { message } if message.seq == seq),
        )
        .await
    {
        ServerFrame::Message { message } => message,
        _ => unreachable!(),
    }
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("a text header")
}

/// The attachments folder of the app under test.
async fn a_visitors_png_reaches_the_agent_who_downloads_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, mut visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "a picture").await;
    let png = tiny_png();

    let answer = uploaded(
        visitor_upload(
            &app,
            &visitor,
            chat,
            "png-1",
            "screenshot.png",
            "image/png",
            png.clone(),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(answer.conversation_id, chat);
    assert_eq!(answer.client_id, "png-1");
    // The visitor's message and the automatic acknowledgement came first.
    assert_eq!(answer.seq, 3);
    assert_eq!(answer.attachment.content_type, "image/png");
    assert_eq!(answer.attachment.name, "screenshot.png");
    assert_eq!(answer.attachment.size, png.len() as u64);

    // The agent and the visitor's own socket get it in order, as a message with the file.
    for ws in [&mut agent_ws, &mut visitor_ws] {
        let message = message_with_seq(ws, 3).await;
        assert_eq!(message.author, AuthorKind::Visitor);
        assert_eq!(message.body, "screenshot.png");
        assert_eq!(message.attachment.as_ref(), Some(&answer.attachment));
        assert_eq!(
            message.client_id.as_ref().map(|c| c.as_str()),
            Some("png-1")
        );
    }
    // The transcript carries it too.
    let transcript = app.transcript(chat, &agent.token).await;
    let last = transcript.messages.last().expect("a message");
    assert_eq!(last.seq, 3);
    assert_eq!(last.attachment.as_ref(), Some(&answer.attachment));

    // The agent downloads exactly those bytes, shown inline, never sniffed or run.
    let response = download(&app, &answer, &agent.token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/png");
    assert_eq!(
        header(&response, "content-disposition"),
        "inline; filename=\"screenshot.png\"; filename*=UTF-8''screenshot.png"
    );
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert_eq!(
        header(&response, "content-security-policy"),
        "default-src 'none'; sandbox"
    );
    assert!(header(&response, "cache-control").starts_with("private, max-age="));
    assert_eq!(header(&response, "content-length"), png.len().to_string());
    assert_eq!(response.bytes().await.unwrap().to_vec(), png);
    // So does the visitor who sent it.
    let response = download(&app, &answer, &visitor.token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), png);

    // The widget's panel uploads from this server's own origin; a page of the site reads
    // the answer thanks to its CORS headers.
    let panel = TestVisitor {
        origin: app.address.trim_end_matches('/').to_owned(),
        ..visitor.clone()
    };
    let response = visitor_upload(
        &app,
        &panel,
        chat,
        "png-2",
        "second.png",
        "image/png",
        png.clone(),
    )
    .await;
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        panel.origin
    );
    assert_eq!(uploaded(response, 201).await.seq, 4);
}

async fn the_agents_pdf_reaches_the_visitor(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, mut visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "the invoice?").await;
    let pdf = tiny_pdf();

    let answer = uploaded(
        agent_upload(
            &app,
            &agent.token,
            chat,
            "pdf-1",
            "invoice 48213.pdf",
            pdf.clone(),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(answer.attachment.content_type, "application/pdf");
    let message = message_with_seq(&mut visitor_ws, answer.seq).await;
    assert_eq!(message.author, AuthorKind::Agent);
    assert_eq!(message.author_name.as_deref(), Some("Maya Chen"));
    assert_eq!(message.attachment.as_ref(), Some(&answer.attachment));
    assert!(!message.attachment.as_ref().unwrap().is_image());
    message_with_seq(&mut agent_ws, answer.seq).await;

    let response = download(&app, &answer, &visitor.token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/pdf");
    assert_eq!(
        header(&response, "content-disposition"),
        "attachment; filename=\"invoice 48213.pdf\"; filename*=UTF-8''invoice%2048213.pdf"
    );
    assert_eq!(response.bytes().await.unwrap().to_vec(), pdf);

    // An agent who does not serve the chat may not send into it, even on its site.
    let colleague = app.create_agent("Colleague", 3, &[app.demo_site.id]).await;
    let refused = agent_upload(&app, &colleague.token, chat, "pdf-2", "x.pdf", tiny_pdf()).await;
    assert_eq!(api_error(refused, 403).await.code, ErrorCode::Forbidden);
}

async fn html_named_png_is_refused_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, _visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "hi").await;
    let before = app.transcript(chat, &agent.token).await.messages;

    let html = b"  <!doctype html><script>alert(document.cookie)</script>".to_vec();
    let refused = visitor_upload(&app, &visitor, chat, "h-1", "cat.png", "image/png", html).await;
    let error = api_error(refused, 415).await;
    assert_eq!(error.code, ErrorCode::UnsupportedFileType);
    assert!(error.message.contains("image/png"), "{}", error.message);
    // Neither an agent's upload nor a binary of no known type gets in either.
    let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec();
    let refused = agent_upload(&app, &agent.token, chat, "h-2", "tool.pdf", exe).await;
    assert_eq!(
        api_error(refused, 415).await.code,
        ErrorCode::UnsupportedFileType
    );

    assert_eq!(app.transcript(chat, &agent.token).await.messages, before);
    assert_eq!(blob_count(&files_dir(&app)), 0);
}

async fn an_oversize_or_empty_file_is_refused_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut config = SiteConfig::default();
    config.attachments.max_bytes = 1000;
    assert_eq!(app.configure_demo_site(config).await.status(), 200);
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, _visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "hi").await;
    let before = app.transcript(chat, &agent.token).await.messages;

    let mut big = tiny_png();
    big.resize(1001, 0);
    let refused = visitor_upload(&app, &visitor, chat, "big", "big.png", "image/png", big).await;
    let error = api_error(refused, 413).await;
    assert_eq!(error.code, ErrorCode::FileTooLarge);
    assert!(error.message.contains("1000 bytes"), "{}", error.message);

    let refused = visitor_upload(
        &app,
        &visitor,
        chat,
        "empty",
        "e.png",
        "image/png",
        Vec::new(),
    )
    .await;
    assert_eq!(
        api_error(refused, 400).await.code,
        ErrorCode::InvalidRequest
    );

    assert_eq!(app.transcript(chat, &agent.token).await.messages, before);
    assert_eq!(blob_count(&files_dir(&app)), 0);

    // Without a declared length the body is cut off as it streams past the limit.
    let response = chunked_upload(&app, &visitor, chat, 64 * 1024).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("file_too_large"), "{response}");
    assert_eq!(app.transcript(chat, &agent.token).await.messages, before);
    assert_eq!(blob_count(&files_dir(&app)), 0);

    // At the limit exactly, the file is taken.
    let mut exact = tiny_png();
    exact.resize(1000, 0);
    uploaded(
        visitor_upload(&app, &visitor, chat, "ok", "ok.png", "image/png", exact).await,
        201,
    )
    .await;
    assert_eq!(blob_count(&files_dir(&app)), 1);
}

async fn a_resend_answers_the_same_and_stores_one_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, _visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "hi").await;

    let first = uploaded(
        visitor_upload(
            &app,
            &visitor,
            chat,
            "again",
            "a.png",
            "image/png",
            tiny_png(),
        )
        .await,
        201,
    )
    .await;
    let second = uploaded(
        visitor_upload(
            &app,
            &visitor,
            chat,
            "again",
            "a.png",
            "image/png",
            tiny_png(),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(second, first);
    let messages = app.transcript(chat, &agent.token).await.messages;
    assert_eq!(
        messages.iter().filter(|m| m.attachment.is_some()).count(),
        1
    );
    assert_eq!(messages.last().unwrap().seq, first.seq);
    assert_eq!(blob_count(&files_dir(&app)), 1);
    // The agent was sent it once.
    message_with_seq(&mut agent_ws, first.seq).await;
    agent_ws
        .expect_silence(std::time::Duration::from_millis(200))
        .await;

    // The same client id for another file is a conflict, and stores nothing.
    let conflict = visitor_upload(
        &app,
        &visitor,
        chat,
        "again",
        "b.png",
        "image/png",
        tiny_png(),
    )
    .await;
    assert_eq!(
        api_error(conflict, 409).await.code,
        ErrorCode::ClientIdConflict
    );
    assert_eq!(blob_count(&files_dir(&app)), 1);
}

async fn strangers_never_see_a_file(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, _visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "hi").await;
    let answer = uploaded(
        visitor_upload(&app, &visitor, chat, "p", "p.png", "image/png", tiny_png()).await,
        201,
    )
    .await;

    // Another visitor of the same site: neither download nor upload into this chat.
    let stranger = app.new_visitor(&app.demo_site).await;
    let response = download(&app, &answer, &stranger.token).await;
    assert_eq!(api_error(response, 404).await.code, ErrorCode::NotFound);
    let response =
        visitor_upload(&app, &stranger, chat, "s", "s.png", "image/png", tiny_png()).await;
    assert_eq!(api_error(response, 404).await.code, ErrorCode::NotFound);

    // An agent of another site, downloading or uploading.
    let other = app
        .create_site("Other shop", &["https://other.example"])
        .await;
    let outsider = app.create_agent("Otto Outsider", 3, &[other.id]).await;
    let response = download(&app, &answer, &outsider.token).await;
    assert_eq!(api_error(response, 404).await.code, ErrorCode::NotFound);
    let response = agent_upload(&app, &outsider.token, chat, "o", "o.pdf", tiny_pdf()).await;
    assert_eq!(api_error(response, 404).await.code, ErrorCode::NotFound);

    // A made-up id, and no token at all.
    let missing = format!("/api/v1/attachments/{}", uuid::Uuid::new_v4());
    assert_eq!(
        app.get_error(&missing, &app.admin_token, 404).await,
        ErrorCode::NotFound
    );
    let response = app
        .http
        .get(format!(
            "{}/api/v1/attachments/{}",
            app.address, answer.attachment.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The visitor's upload from a page the site does not allow is refused.
    let foreign = TestVisitor {
        origin: "https://evil.example".into(),
        ..visitor.clone()
    };
    let response =
        visitor_upload(&app, &foreign, chat, "f", "f.png", "image/png", tiny_png()).await;
    assert_eq!(
        api_error(response, 403).await.code,
        ErrorCode::OriginNotAllowed
    );
}

async fn a_site_that_drops_pdf_refuses_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, _visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "hi").await;
    let mut config = SiteConfig::default();
    config.attachments.allowed_types = vec!["image/png".into()];
    assert_eq!(app.configure_demo_site(config).await.status(), 200);

    let refused = agent_upload(&app, &agent.token, chat, "d-1", "doc.pdf", tiny_pdf()).await;
    let error = api_error(refused, 415).await;
    assert_eq!(error.code, ErrorCode::UnsupportedFileType);
    assert!(
        error.message.contains("application/pdf"),
        "{}",
        error.message
    );
    uploaded(
        agent_upload(&app, &agent.token, chat, "d-2", "ok.png", tiny_png()).await,
        201,
    )
    .await;

    // A type the server cannot recognise cannot be allowed.
    let mut config = SiteConfig::default();
    config.attachments.allowed_types = vec!["text/html".into()];
    let refused = app.configure_demo_site(config).await;
    assert_eq!(
        api_error(refused, 400).await.code,
        ErrorCode::InvalidRequest
    );

    // With no types at all, attachments are off.
    let mut config = SiteConfig::default();
    config.attachments.allowed_types = Vec::new();
    assert_eq!(app.configure_demo_site(config).await.status(), 200);
    let refused = visitor_upload(
        &app,
        &visitor,
        chat,
        "d-3",
        "ok.png",
        "image/png",
        tiny_png(),
    )
    .await;
    assert_eq!(
        api_error(refused, 415).await.code,
        ErrorCode::UnsupportedFileType
    );
}

async fn names_lose_their_folders_and_control_characters(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, _visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "hi").await;

    let answer = uploaded(
        visitor_upload(
            &app,
            &visitor,
            chat,
            "n-1",
            "../../etc/\u{7}ev\u{1b}il\n фото.png",
            "image/png",
            tiny_png(),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(answer.attachment.name, "evil фото.png");
    let message = message_with_seq(&mut agent_ws, answer.seq).await;
    assert_eq!(message.body, "evil фото.png");
    let response = download(&app, &answer, &agent.token).await;
    assert_eq!(
        header(&response, "content-disposition"),
        "inline; filename=\"evil ____.png\"; filename*=UTF-8''evil%20%D1%84%D0%BE%D1%82%D0%BE.png"
    );
}

async fn a_resumed_socket_replays_the_file_and_closed_chats_take_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Maya Chen", 3).await;
    let (visitor, visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "hi").await;
    visitor_ws.close().await;

    let answer = uploaded(
        agent_upload(&app, &agent.token, chat, "r-1", "label.pdf", tiny_pdf()).await,
        201,
    )
    .await;
    let mut ws = app
        .connect_visitor(
            &visitor,
            vec![ResumePoint {
                conversation_id: chat,
                last_seq: answer.seq - 1,
            }],
        )
        .await;
    let replayed = message_with_seq(&mut ws, answer.seq).await;
    assert_eq!(replayed.attachment.as_ref(), Some(&answer.attachment));

    // Once the chat is closed, it takes no more files.
    let closed = app
        .post(
            &format!("/api/v1/conversations/{chat}/close"),
            &agent.token,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    let refused = visitor_upload(
        &app,
        &visitor,
        chat,
        "r-2",
        "late.png",
        "image/png",
        tiny_png(),
    )
    .await;
    assert_eq!(
        api_error(refused, 409).await.code,
        ErrorCode::ConversationClosed
    );
    let refused = agent_upload(&app, &agent.token, chat, "r-3", "late.pdf", tiny_pdf()).await;
    assert_eq!(
        api_error(refused, 409).await.code,
        ErrorCode::ConversationClosed
    );
}
