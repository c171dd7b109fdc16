//! Retention: a site that keeps closed chats for N days has older ones deleted by the
//! sweeper, with their messages, ratings and files (on disk too); open and newer chats stay,
//! and each sweep that deleted something is in the audit log.

use std::time::Duration;

use bellhop_protocol::ConversationId;
use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{AttachmentUploaded, SiteConfig};
use bellhop_protocol::console::AuditList;
use bellhop_tests::files::{blob_count, files_dir, tiny_png, visitor_upload};
use bellhop_tests::{Backend, Client, api_error, both_backends, spawn_app_with};
use serde_json::json;

both_backends!(closed_chats_past_the_sites_retention_go_with_their_files);

async fn close(app: &Client, chat: ConversationId) {
    let response = app
        .post(
            &format!("/api/v1/conversations/{chat}/close"),
            &app.admin_token,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

async fn exists(app: &Client, chat: ConversationId) -> bool {
    let response = app
        .get(&format!("/api/v1/conversations/{chat}"), &app.admin_token)
        .await;
    match response.status().as_u16() {
        200 => true,
        404 => false,
        other => panic!("GET conversation answered {other}"),
    }
}

/// Three chats: one closed 31 days ago with a file and a rating, one closed today, one open
/// for as long. Nothing goes while the site keeps chats for ever; with 30 days' retention the
/// sweep deletes the old closed one (transcript, file download and bytes on disk gone, no
/// message left in the database) and audits it once, and keeps the others. Retention longer
/// than ten years is refused.
async fn closed_chats_past_the_sites_retention_go_with_their_files(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.retention.sweep_ms = 100).await;
    let site = &app.demo_site;
    let (old_visitor, _old_ws, old) = app.open_chat(site, None, "old chat").await;
    let uploaded = visitor_upload(
        &app,
        &old_visitor,
        old,
        "file-1",
        "receipt.png",
        "image/png",
        tiny_png(),
    )
    .await;
    assert_eq!(uploaded.status(), 201);
    let file: AttachmentUploaded = uploaded.json().await.unwrap();
    close(&app, old).await;
    let rated = app
        .visitor_post(
            &old_visitor,
            &format!("/api/v1/widget/conversations/{old}/rating"),
            &json!({ "score": 2 }),
        )
        .await;
    assert_eq!(rated.status(), 200);
    let (_, _recent_ws, recent) = app.open_chat(site, None, "recent chat").await;
    close(&app, recent).await;
    let (_, _open_ws, open) = app.open_chat(site, None, "still open").await;
    let month = 31 * 86_400_000_i64;
    let aged = app
        .db
        .execute(&format!(
            "UPDATE conversations SET created_at = created_at - {month}, \
             closed_at = closed_at - {month} WHERE id IN \
             (SELECT conversation_id FROM messages WHERE body IN ('old chat', 'still open'))"
        ))
        .await;
    assert_eq!(aged, 2);
    assert_eq!(blob_count(&files_dir(&app)), 1);

    // Kept for ever by default: a few sweeps later, all three are there.
    tokio::time::sleep(Duration::from_millis(400)).await;
    for chat in [old, recent, open] {
        assert!(exists(&app, chat).await);
    }

    let too_long = SiteConfig {
        retention_days: 3651,
        ..SiteConfig::default()
    };
    let refused = app.configure_demo_site(too_long).await;
    assert_eq!(
        api_error(refused, 400).await.code,
        ErrorCode::InvalidRequest
    );
    let thirty_days = SiteConfig {
        retention_days: 30,
        ..SiteConfig::default()
    };
    assert_eq!(app.configure_demo_site(thirty_days).await.status(), 200);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while exists(&app, old).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old chat stayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(exists(&app, recent).await, "closed within the retention");
    assert!(exists(&app, open).await, "open chats stay, however old");
    let path = format!("/api/v1/conversations/{old}/messages");
    assert_eq!(
        app.get_error(&path, &app.admin_token, 404).await,
        ErrorCode::NotFound
    );
    let download = format!("/api/v1/attachments/{}", file.attachment.id);
    assert_eq!(
        app.get_error(&download, &app.admin_token, 404).await,
        ErrorCode::NotFound
    );
    assert_eq!(
        app.get_error(&download, &old_visitor.token, 404).await,
        ErrorCode::NotFound
    );
    assert_eq!(blob_count(&files_dir(&app)), 0, "the bytes left the disk");
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM messages WHERE body IN ('old chat', 'receipt.png')")
            .await,
        0
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM attachments").await, 0);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM conversations WHERE rating_score IS NOT NULL")
            .await,
        0
    );

    // Later sweeps find nothing more and audit nothing more.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let audit: AuditList = app.get_json("/api/v1/audit", &app.admin_token).await;
    let sweeps: Vec<_> = audit
        .entries
        .iter()
        .filter(|e| e.action == "retention_swept")
        .collect();
    assert_eq!(sweeps.len(), 1, "{:?}", audit.entries);
    assert_eq!(sweeps[0].subject, "1");
    assert_eq!(sweeps[0].site_id, Some(site.id));
    assert_eq!(sweeps[0].actor, None, "the server's own action");
}
