//! Privacy: an admin exports everything stored about one visitor, or erases it; after an
//! erasure nothing of theirs is readable through any route, their token stops working and
//! their sockets close. Both are audited; supervisors and agents may do neither.

use bellhop_protocol::api::{
    AttachmentUploaded, ConversationList, LeadKind, LeadList, LeadSubmission, PageContext,
};
use bellhop_protocol::console::{AuditList, VisitorExport};
use bellhop_protocol::frames::{AuthorKind, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode, VisitorId, close_code};
use bellhop_server::config::SmtpConfig;
use bellhop_tests::files::{blob_count, files_dir, tiny_png, visitor_upload};
use bellhop_tests::{
    Backend, Client, TestAgent, TestVisitor, WsClient, agent_says, api_error, both_backends,
    next_assignment, spawn_app, spawn_app_with,
};
use serde_json::json;

both_backends!(
    an_admin_exports_everything_stored_about_a_visitor,
    an_erased_visitor_leaves_nothing_readable_and_their_token_stops_working,
    only_admins_export_erase_and_read_the_audit,
);

const SHOP: &str = "https://shop.example";
const MARKUP: &str = "<script>alert('x')</script> Привет";

async fn close(app: &Client, token: &str, chat: ConversationId) {
    let response = app
        .post(
            &format!("/api/v1/conversations/{chat}/close"),
            token,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn offline_lead(app: &Client, visitor: &TestVisitor, name: &str) {
    let lead = LeadSubmission {
        kind: LeadKind::Offline,
        department_id: None,
        fields: [
            ("name", name),
            ("email", "vera@example.test"),
            ("message", "Call me back"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        consent: false,
        page: PageContext::default(),
    };
    assert_eq!(app.post_lead(visitor, &lead).await.status(), 201);
}

/// Vera's history on a site served by Maya: a closed chat with a file, Maya's answer and
/// Vera's rating; her form; her page's attributes; and a chat still open. Answers the two
/// chats and the file.
struct History {
    closed: ConversationId,
    open: ConversationId,
    file: AttachmentUploaded,
}

async fn veras_history(
    app: &Client,
    vera: &TestVisitor,
    vera_ws: WsClient,
    agent_ws: &mut WsClient,
) -> (WsClient, History) {
    let (mut vera_ws, closed) = app.reopen_chat(vera, vera_ws, None, MARKUP).await;
    next_assignment(agent_ws).await;
    let uploaded = visitor_upload(
        app,
        vera,
        closed,
        "file-1",
        "receipt.png",
        "image/png",
        tiny_png(),
    )
    .await;
    assert_eq!(uploaded.status(), 201);
    let file: AttachmentUploaded = uploaded.json().await.unwrap();
    agent_says(agent_ws, "answer-1", "Thanks, Vera!", closed).await;
    close(app, &app.admin_token, closed).await;
    let rated = app
        .visitor_post(
            vera,
            &format!("/api/v1/widget/conversations/{closed}/rating"),
            &json!({ "score": 5, "comment": "Great" }),
        )
        .await;
    assert_eq!(rated.status(), 200);
    offline_lead(app, vera, "Vera Veritas").await;
    let attributes = app
        .visitor_post(
            vera,
            "/api/v1/widget/attributes",
            &json!({ "attributes": { "plan": "pro" } }),
        )
        .await;
    assert_eq!(attributes.status(), 200);
    vera_ws
        .expect("the close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    let (vera_ws, open) = app.reopen_chat(vera, vera_ws, None, "Vera again").await;
    next_assignment(agent_ws).await;
    (vera_ws, History { closed, open, file })
}

async fn maya(app: &Client, site: bellhop_protocol::SiteId) -> (TestAgent, WsClient) {
    let agent = app.create_agent("Maya Chen", 3, &[site]).await;
    let ws = app.connect_agent(&agent).await;
    (agent, ws)
}

/// The export holds the visitor's identity, attributes, session, every conversation (oldest
/// first) with every message (markup kept as text) and its files' records, and their leads,
/// nothing of another visitor's; it is a download, and the audit log names the admin.
async fn an_admin_exports_everything_stored_about_a_visitor(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.create_site("Northwind", &[SHOP]).await;
    let (_agent, mut agent_ws) = maya(&app, site.id).await;
    let vera = app
        .widget_session(
            &site,
            json!({
                "page": { "landing_page": "https://shop.example/?utm_source=mail" },
                "time_zone": "Europe/Paris"
            }),
            Some("Firefox/128.0"),
        )
        .await;
    let vera_ws = app.connect_visitor(&vera, Vec::new()).await;
    let (_vera_ws, history) = veras_history(&app, &vera, vera_ws, &mut agent_ws).await;
    let (_walt, _walt_ws, _walts) = app.open_chat(&site, None, "Walt's own chat").await;

    let response = app
        .get(
            &format!("/api/v1/visitors/{}/export", vera.visitor_id),
            &app.admin_token,
        )
        .await;
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains(&vera.visitor_id.to_string()),
        "{disposition}"
    );
    let export: VisitorExport = response.json().await.unwrap();
    assert_eq!(export.visitor_id, vera.visitor_id);
    assert_eq!(export.site_id, site.id);
    assert_eq!(export.page_attributes["plan"], "pro");
    assert_eq!(export.user_agent.as_deref(), Some("Firefox/128.0"));
    assert_eq!(export.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(
        export.page.landing_page.as_deref(),
        Some("https://shop.example/?utm_source=mail")
    );
    let chats: Vec<_> = export
        .conversations
        .iter()
        .map(|c| c.conversation.id)
        .collect();
    assert_eq!(chats, vec![history.closed, history.open], "oldest first");
    let first = &export.conversations[0];
    let said: Vec<(AuthorKind, &str)> = first
        .messages
        .iter()
        .map(|m| (m.author, m.body.as_str()))
        .collect();
    assert!(said.contains(&(AuthorKind::Visitor, MARKUP)), "{said:?}");
    assert!(said.contains(&(AuthorKind::Visitor, "receipt.png")));
    assert!(said.contains(&(AuthorKind::Agent, "Thanks, Vera!")));
    assert_eq!(first.messages.len() as u64, first.conversation.last_seq);
    assert_eq!(first.conversation.rating.as_ref().map(|r| r.score), Some(5));
    assert_eq!(first.attachments, vec![history.file.attachment.clone()]);
    assert!(first.notes.is_empty());
    assert_eq!(export.conversations[1].messages[0].body, "Vera again");
    let leads: Vec<_> = export
        .leads
        .iter()
        .filter_map(|l| l.name.as_deref())
        .collect();
    assert_eq!(leads, ["Vera Veritas"]);
    let text = serde_json::to_string(&export).unwrap();
    assert!(!text.contains("Walt's own chat"), "nobody else's data");

    let audit: AuditList = app.get_json("/api/v1/audit", &app.admin_token).await;
    let entry = &audit.entries[0];
    assert_eq!(entry.action, "visitor_exported");
    assert_eq!(entry.subject, vera.visitor_id.to_string());
    assert_eq!(entry.site_id, Some(site.id));
    let admin: bellhop_protocol::api::AgentProfile =
        app.get_json("/api/v1/me", &app.admin_token).await;
    assert_eq!(entry.actor.as_ref().map(|a| a.id), Some(admin.id));

    let nobody = VisitorId::from_uuid(uuid::Uuid::now_v7());
    assert_eq!(
        app.get_error(
            &format!("/api/v1/visitors/{nobody}/export"),
            &app.admin_token,
            404
        )
        .await,
        ErrorCode::NotFound
    );
}

/// After Vera is erased: her socket closes with `4004` and Maya lets go of her open chat;
/// none of her chats, transcripts, profiles, panels, files, leads (list and CSV) or exports
/// answers anyone, lists no longer show them, her queued mail and her file's bytes are gone,
/// and her old token gets `401` (REST), `4001` (socket) and a fresh visitor (widget session).
/// Walt, on the same site, keeps everything. The audit log names the erasure.
async fn an_erased_visitor_leaves_nothing_readable_and_their_token_stops_working(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        // Mails wait in the outbox: nothing listens there.
        config.smtp = Some(SmtpConfig::plain("127.0.0.1", 9, "help@example.test"));
    })
    .await;
    let site = app.create_site("Northwind", &[SHOP]).await;
    let (agent, mut agent_ws) = maya(&app, site.id).await;
    let vera = app.new_visitor(&site).await;
    let vera_ws = app.connect_visitor(&vera, Vec::new()).await;
    let (mut vera_ws, history) = veras_history(&app, &vera, vera_ws, &mut agent_ws).await;
    let mail = app
        .visitor_post(
            &vera,
            &format!("/api/v1/widget/conversations/{}/transcript", history.closed),
            &json!({ "email": "vera@example.test" }),
        )
        .await;
    assert_eq!(mail.status(), 202);
    let (walt, _walt_ws, walts) = app.open_chat(&site, None, "Walt's own chat").await;
    next_assignment(&mut agent_ws).await;
    offline_lead(&app, &walt, "Walt Whitman").await;
    assert_eq!(app.db.count("SELECT COUNT(*) FROM mail_outbox").await, 1);
    assert_eq!(blob_count(&files_dir(&app)), 1);

    let erase = app
        .delete_as(
            &format!("/api/v1/visitors/{}", vera.visitor_id),
            &app.admin_token,
        )
        .await;
    assert_eq!(erase.status(), 204);
    assert_eq!(
        vera_ws.expect_close().await,
        Some(close_code::SESSION_ENDED)
    );
    match agent_ws
        .expect("the release", |f| {
            matches!(f, ServerFrame::ConversationReleased { .. })
        })
        .await
    {
        ServerFrame::ConversationReleased { conversation } => {
            assert_eq!(conversation.id, history.open);
        }
        _ => unreachable!(),
    }

    for chat in [history.closed, history.open] {
        for path in [
            format!("/api/v1/conversations/{chat}"),
            format!("/api/v1/conversations/{chat}/messages"),
            format!("/api/v1/conversations/{chat}/visitor"),
            format!("/api/v1/conversations/{chat}/context"),
        ] {
            for token in [&app.admin_token, &agent.token] {
                assert_eq!(
                    app.get_error(&path, token, 404).await,
                    ErrorCode::NotFound,
                    "{path}"
                );
            }
        }
    }
    let download = format!("/api/v1/attachments/{}", history.file.attachment.id);
    assert_eq!(
        app.get_error(&download, &app.admin_token, 404).await,
        ErrorCode::NotFound
    );
    let export = format!("/api/v1/visitors/{}/export", vera.visitor_id);
    assert_eq!(
        app.get_error(&export, &app.admin_token, 404).await,
        ErrorCode::NotFound
    );
    let again = app
        .delete_as(
            &format!("/api/v1/visitors/{}", vera.visitor_id),
            &app.admin_token,
        )
        .await;
    assert_eq!(api_error(again, 404).await.code, ErrorCode::NotFound);

    let everything: ConversationList = app
        .get_json(
            "/api/v1/conversations?scope=site&status=all",
            &app.admin_token,
        )
        .await;
    let ids: Vec<_> = everything.conversations.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![walts]);
    let mine: ConversationList = app
        .get_json("/api/v1/conversations?status=all", &agent.token)
        .await;
    let ids: Vec<_> = mine.conversations.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![walts]);
    let leads: LeadList = app.get_json("/api/v1/leads", &app.admin_token).await;
    let names: Vec<_> = leads
        .leads
        .iter()
        .filter_map(|l| l.name.as_deref())
        .collect();
    assert_eq!(names, ["Walt Whitman"]);
    let csv = app
        .get("/api/v1/leads.csv", &app.admin_token)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("Walt Whitman") && !csv.contains("Vera"),
        "{csv}"
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM mail_outbox").await, 0);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM messages WHERE body LIKE '%Vera%' OR body LIKE '%Привет%'")
            .await,
        0
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM attachments").await, 0);
    assert_eq!(blob_count(&files_dir(&app)), 0, "the file's bytes are gone");

    // Her token no longer works anywhere.
    let path = format!("/api/v1/conversations/{}", history.closed);
    assert_eq!(
        app.get_error(&path, &vera.token, 401).await,
        ErrorCode::Unauthorized
    );
    let mut hello = app.visitor_hello(&vera, &vera.token, Vec::new()).await;
    assert_eq!(hello.next_error().await.0, ErrorCode::Unauthorized);
    assert_eq!(hello.expect_close().await, Some(close_code::UNAUTHORIZED));
    let fresh = app
        .widget_session(&site, json!({ "token": vera.token }), None)
        .await;
    assert_ne!(fresh.visitor_id, vera.visitor_id, "a fresh visitor");
    assert_ne!(fresh.token, vera.token);
    let (_fresh_ws, _welcome) = app.connect_visitor_welcome(&fresh, Vec::new()).await;

    // Walt's chat is untouched.
    let walts_page = app.transcript(walts, &walt.token).await;
    assert_eq!(walts_page.messages[0].body, "Walt's own chat");

    let audit: AuditList = app.get_json("/api/v1/audit", &app.admin_token).await;
    let entry = &audit.entries[0];
    assert_eq!(entry.action, "visitor_erased");
    assert_eq!(entry.subject, vera.visitor_id.to_string());
    assert_eq!(entry.site_id, Some(site.id));
    let only_demo: AuditList = app
        .get_json(
            &format!("/api/v1/audit?site={}", app.demo_site.id),
            &app.admin_token,
        )
        .await;
    assert!(only_demo.entries.is_empty(), "{:?}", only_demo.entries);
}

/// A plain agent and a supervisor of the visitor's site get `403` for the export, the
/// erasure and the audit log, and nothing is erased or audited.
async fn only_admins_export_erase_and_read_the_audit(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.demo_site.id;
    let (visitor, _ws, chat) = app.open_chat(&app.demo_site, None, "hello").await;
    let agent = app.create_agent("Plain Paul", 3, &[site]).await;
    let supervisor = app.create_supervisor("Super Sue", &[site]).await;
    for token in [&agent.token, &supervisor.token] {
        let export = format!("/api/v1/visitors/{}/export", visitor.visitor_id);
        assert_eq!(
            app.get_error(&export, token, 403).await,
            ErrorCode::Forbidden
        );
        let erase = app
            .delete_as(&format!("/api/v1/visitors/{}", visitor.visitor_id), token)
            .await;
        assert_eq!(api_error(erase, 403).await.code, ErrorCode::Forbidden);
        assert_eq!(
            app.get_error("/api/v1/audit", token, 403).await,
            ErrorCode::Forbidden
        );
    }
    assert_eq!(
        app.transcript(chat, &visitor.token).await.messages[0].body,
        "hello"
    );
    let audit: AuditList = app.get_json("/api/v1/audit", &app.admin_token).await;
    assert!(audit.entries.is_empty());
}
