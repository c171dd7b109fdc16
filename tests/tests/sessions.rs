//! Agent sessions that end when they should: logout, a password change or reset, a role
//! change, removal from a site and deactivation each revoke the sessions concerned and close
//! their live sockets at once with `4004`; the old tokens stop working everywhere.

use std::time::{Duration, Instant};

use bellhop_protocol::api::{
    AgentProfile, AgentUpdate, LoginResponse, PasswordChange, PasswordReset, Role, RoutingAudit,
    RoutingRule,
};
use bellhop_protocol::frames::{AuthorKind, ServerFrame};
use bellhop_protocol::{ErrorCode, close_code};
use bellhop_tests::ws::{Ended, WsClient};
use bellhop_tests::{
    AGENT_PASSWORD, Backend, Client, TestAgent, api_error, both_backends, next_assignment,
    spawn_app, spawn_app_with,
};

both_backends!(
    logout_closes_that_sessions_socket_and_its_token_stops_working,
    a_password_change_ends_every_session_and_hands_the_caller_a_new_one,
    an_admin_reset_or_role_change_ends_the_agents_sessions,
    deactivation_ends_sessions_requeues_chats_and_refuses_login,
    removal_from_a_site_requeues_that_sites_chats,
    the_last_active_admin_cannot_be_deactivated_or_demoted,
    the_session_cookie_is_secure_when_served_over_https,
    an_idle_session_ends_but_an_open_console_keeps_it,
);

/// Waits for the socket to close; fails unless it does so within `limit`. Frames before the
/// close are skipped. Returns the close code and how long it took.
async fn closes_within(ws: &mut WsClient, limit: Duration) -> (Option<u16>, Duration) {
    let started = Instant::now();
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match ws.try_next_frame(left).await {
            Some(Ok(_)) => continue,
            Some(Err(Ended::Closed(frame))) => {
                return (frame.map(|f| u16::from(f.code)), started.elapsed());
            }
            Some(Err(Ended::Error(e))) => panic!("the socket failed instead of closing: {e}"),
            None => panic!("the socket did not close within {limit:?}"),
        }
    }
}

/// The socket stays open: a ping-like round trip (an unknown-conversation typing frame is
/// answered with an error) still gets its answer.
async fn still_open(ws: &mut WsClient) {
    ws.send(&serde_json::json!({
        "type": "typing",
        "conversation_id": uuid::Uuid::now_v7(),
        "typing": true,
    }))
    .await;
    let (code, _) = ws.expect_error().await;
    assert_eq!(code, ErrorCode::NotFound, "the socket still answers");
}

async fn me_status(client: &Client, token: &str) -> u16 {
    client.get("/api/v1/me", token).await.status().as_u16()
}

/// A hello with `token` on a new socket is refused with `4001`.
async fn socket_refuses(client: &Client, token: &str) {
    let mut ws = client.agent_hello(Some(token), Vec::new()).await;
    let (code, _) = ws.expect_error().await;
    assert_eq!(code, ErrorCode::Unauthorized);
    assert_eq!(ws.expect_close().await, Some(close_code::UNAUTHORIZED));
}

async fn second_session(client: &Client, agent: &TestAgent) -> TestAgent {
    let login = client.login(&agent.profile.email, AGENT_PASSWORD).await;
    TestAgent {
        profile: login.agent,
        token: login.token,
    }
}

async fn login_status(client: &Client, email: &str, password: &str) -> (u16, Option<ErrorCode>) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", client.address))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login request");
    let status = response.status().as_u16();
    let code = response
        .json::<bellhop_protocol::error::ApiError>()
        .await
        .ok()
        .map(|e| e.code);
    (status, code)
}

async fn logout_closes_that_sessions_socket_and_its_token_stops_working(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let first = client
        .create_agent("Leaving", 3, &[client.demo_site.id])
        .await;
    let second = second_session(client, &first).await;
    let mut first_ws = client.connect_agent(&first).await;
    let mut second_ws = client.connect_agent(&second).await;

    let response = client
        .post("/api/v1/auth/logout", &first.token, &serde_json::json!({}))
        .await;
    assert_eq!(response.status(), 204);
    let (code, took) = closes_within(&mut first_ws, Duration::from_secs(1)).await;
    assert_eq!(code, Some(close_code::SESSION_ENDED));
    println!("{backend:?}: the logged-out session's socket closed {took:?} after the logout");

    assert_eq!(me_status(client, &first.token).await, 401);
    socket_refuses(client, &first.token).await;
    // The agent's other session is untouched.
    still_open(&mut second_ws).await;
    assert_eq!(me_status(client, &second.token).await, 200);
}

async fn a_password_change_ends_every_session_and_hands_the_caller_a_new_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let agent = client
        .create_agent("Rotating", 3, &[client.demo_site.id])
        .await;
    let other_session = second_session(client, &agent).await;
    let mut ws = client.connect_agent(&agent).await;
    let mut other_ws = client.connect_agent(&other_session).await;
    let new_password = "a much better passphrase";

    let wrong = client
        .post(
            "/api/v1/me/password",
            &agent.token,
            &PasswordChange {
                current_password: "not my password".into(),
                new_password: new_password.into(),
            },
        )
        .await;
    assert_eq!(
        api_error(wrong, 401).await.code,
        ErrorCode::InvalidCredentials
    );
    let short = client
        .post(
            "/api/v1/me/password",
            &agent.token,
            &PasswordChange {
                current_password: AGENT_PASSWORD.into(),
                new_password: "short".into(),
            },
        )
        .await;
    assert_eq!(api_error(short, 400).await.code, ErrorCode::InvalidRequest);
    still_open(&mut ws).await;

    let changed = client
        .post(
            "/api/v1/me/password",
            &agent.token,
            &PasswordChange {
                current_password: AGENT_PASSWORD.into(),
                new_password: new_password.into(),
            },
        )
        .await;
    assert_eq!(changed.status(), 200);
    let fresh: LoginResponse = changed.json().await.expect("a new session");
    for socket in [&mut ws, &mut other_ws] {
        let (code, took) = closes_within(socket, Duration::from_secs(1)).await;
        assert_eq!(code, Some(close_code::SESSION_ENDED));
        println!("{backend:?}: a socket closed {took:?} after the password change");
    }
    for old in [&agent.token, &other_session.token] {
        assert_eq!(me_status(client, old).await, 401);
        socket_refuses(client, old).await;
    }
    assert_eq!(me_status(client, &fresh.token).await, 200);
    assert_eq!(
        login_status(client, &agent.profile.email, AGENT_PASSWORD).await,
        (401, Some(ErrorCode::InvalidCredentials))
    );
    client.login(&agent.profile.email, new_password).await;
}

async fn an_admin_reset_or_role_change_ends_the_agents_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let agent = client
        .create_agent("Reset", 3, &[client.demo_site.id])
        .await;
    let mut ws = client.connect_agent(&agent).await;
    let path = format!("/api/v1/agents/{}/password", agent.id());
    // Only admins may reset.
    let by_agent = client
        .post(
            &path,
            &agent.token,
            &PasswordReset {
                new_password: "chosen by someone".into(),
            },
        )
        .await;
    assert_eq!(api_error(by_agent, 403).await.code, ErrorCode::Forbidden);
    let reset = client
        .post(
            &path,
            &client.admin_token,
            &PasswordReset {
                new_password: "set by the admin".into(),
            },
        )
        .await;
    assert_eq!(reset.status(), 204);
    let (code, _) = closes_within(&mut ws, Duration::from_secs(1)).await;
    assert_eq!(code, Some(close_code::SESSION_ENDED));
    assert_eq!(me_status(client, &agent.token).await, 401);
    let login = client.login(&agent.profile.email, "set by the admin").await;

    // A role change: the session was granted as an agent.
    let relogged = TestAgent {
        profile: login.agent,
        token: login.token,
    };
    let mut ws = client.connect_agent(&relogged).await;
    let promoted = client
        .patch(
            &format!("/api/v1/agents/{}", agent.id()),
            &AgentUpdate {
                role: Some(Role::Supervisor),
                ..AgentUpdate::default()
            },
        )
        .await;
    assert_eq!(promoted.status(), 200);
    let profile: AgentProfile = promoted.json().await.expect("profile");
    assert_eq!(profile.role, Role::Supervisor);
    let (code, _) = closes_within(&mut ws, Duration::from_secs(1)).await;
    assert_eq!(code, Some(close_code::SESSION_ENDED));
    assert_eq!(me_status(client, &relogged.token).await, 401);
    let login = client.login(&agent.profile.email, "set by the admin").await;
    assert_eq!(login.agent.role, Role::Supervisor);

    // A change of cap alone keeps the session.
    let capped = client
        .patch(
            &format!("/api/v1/agents/{}", agent.id()),
            &AgentUpdate {
                max_chats: Some(bellhop_protocol::ChatCap::new(5).expect("cap")),
                ..AgentUpdate::default()
            },
        )
        .await;
    assert_eq!(capped.status(), 200);
    assert_eq!(me_status(client, &login.token).await, 200);
}

/// The routing decisions recorded for a conversation, oldest first.
async fn decisions(
    client: &Client,
    conversation: bellhop_protocol::ConversationId,
) -> Vec<RoutingRule> {
    let audit: RoutingAudit = client
        .get_json(
            &format!("/api/v1/conversations/{conversation}/routing"),
            &client.admin_token,
        )
        .await;
    audit.decisions.into_iter().map(|d| d.rule).collect()
}

async fn deactivation_ends_sessions_requeues_chats_and_refuses_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let (leaving, mut leaving_ws) = client.online_agent("Leaving", 1).await;
    let (_visitor, mut visitor_ws, chat) = client.assigned_chat(&mut leaving_ws, "hello").await;
    // A colleague with room comes online.
    let (_staying, mut staying_ws) = client.online_agent("Staying", 2).await;

    let started = Instant::now();
    let response = client
        .patch(
            &format!("/api/v1/agents/{}", leaving.id()),
            &AgentUpdate {
                active: Some(false),
                ..AgentUpdate::default()
            },
        )
        .await;
    assert_eq!(response.status(), 200);
    let profile: AgentProfile = response.json().await.expect("profile");
    assert!(!profile.active);
    let (code, _) = closes_within(&mut leaving_ws, Duration::from_secs(1)).await;
    assert_eq!(code, Some(close_code::SESSION_ENDED));
    println!(
        "{backend:?}: the deactivated agent's socket closed {:?} after the request began",
        started.elapsed()
    );
    assert_eq!(me_status(client, &leaving.token).await, 401);
    socket_refuses(client, &leaving.token).await;
    // The right password no longer opens a session; a wrong one says no more than before.
    assert_eq!(
        login_status(client, &leaving.profile.email, AGENT_PASSWORD).await,
        (403, Some(ErrorCode::Forbidden))
    );
    assert_eq!(
        login_status(client, &leaving.profile.email, "a wrong guess").await,
        (401, Some(ErrorCode::InvalidCredentials))
    );

    // The chat went back to the queue at once and the colleague has it.
    assert_eq!(next_assignment(&mut staying_ws).await.id, chat);
    let notice = visitor_ws
        .expect("the re-queue notice", |f| {
            matches!(f, ServerFrame::Message { message } if message.author == AuthorKind::System && message.conversation_id == chat)
        })
        .await;
    assert!(matches!(notice, ServerFrame::Message { .. }));
    let rules = decisions(client, chat).await;
    assert!(
        rules.contains(&RoutingRule::RequeuedAgentRemoved),
        "the audit says why: {rules:?}"
    );

    // Reactivated, the agent logs in again.
    let response = client
        .patch(
            &format!("/api/v1/agents/{}", leaving.id()),
            &AgentUpdate {
                active: Some(true),
                ..AgentUpdate::default()
            },
        )
        .await;
    assert_eq!(response.status(), 200);
    client.login(&leaving.profile.email, AGENT_PASSWORD).await;
}

async fn removal_from_a_site_requeues_that_sites_chats(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let other_site = client
        .create_site("Other", &["https://other.example"])
        .await;
    let agent = client
        .create_agent("Both", 2, &[client.demo_site.id, other_site.id])
        .await;
    let mut ws = client.connect_agent(&agent).await;
    let (_visitor, _visitor_ws, chat) = client.assigned_chat(&mut ws, "on the demo site").await;

    let response = client
        .patch(
            &format!("/api/v1/agents/{}", agent.id()),
            &AgentUpdate {
                sites: Some(vec![other_site.id]),
                ..AgentUpdate::default()
            },
        )
        .await;
    assert_eq!(response.status(), 200);
    let profile: AgentProfile = response.json().await.expect("profile");
    assert_eq!(profile.sites, vec![other_site.id]);
    let (code, _) = closes_within(&mut ws, Duration::from_secs(1)).await;
    assert_eq!(code, Some(close_code::SESSION_ENDED));
    assert_eq!(me_status(client, &agent.token).await, 401);
    let rules = decisions(client, chat).await;
    assert_eq!(rules.last(), Some(&RoutingRule::RequeuedAgentRemoved));
    // Adding a site back takes nothing away: the new session survives it.
    let login = client.login(&agent.profile.email, AGENT_PASSWORD).await;
    let response = client
        .patch(
            &format!("/api/v1/agents/{}", agent.id()),
            &AgentUpdate {
                sites: Some(vec![other_site.id, client.demo_site.id]),
                ..AgentUpdate::default()
            },
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(me_status(client, &login.token).await, 200);
}

async fn the_last_active_admin_cannot_be_deactivated_or_demoted(backend: Backend) {
    let app = spawn_app(backend).await;
    let client: &Client = &app;
    let me: AgentProfile = client.get_json("/api/v1/me", &client.admin_token).await;
    for update in [
        AgentUpdate {
            active: Some(false),
            ..AgentUpdate::default()
        },
        AgentUpdate {
            role: Some(Role::Agent),
            ..AgentUpdate::default()
        },
    ] {
        let response = client
            .patch(&format!("/api/v1/agents/{}", me.id), &update)
            .await;
        assert_eq!(api_error(response, 409).await.code, ErrorCode::Conflict);
    }
    assert_eq!(me_status(client, &client.admin_token).await, 200);
}

async fn the_session_cookie_is_secure_when_served_over_https(backend: Backend) {
    for (public_url, secure) in [(None, false), (Some("https://chat.example.test"), true)] {
        let app = spawn_app_with(backend, |config| {
            config.public_url = public_url.map(str::to_owned);
        })
        .await;
        let client: &Client = &app;
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", client.address))
            .json(&serde_json::json!({
                "email": bellhop_tests::ADMIN_EMAIL,
                "password": bellhop_tests::ADMIN_PASSWORD,
            }))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 200);
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .expect("a session cookie")
            .to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert_eq!(
            cookie.contains("Secure"),
            secure,
            "public URL {public_url:?}: {cookie}"
        );
    }
}

async fn an_idle_session_ends_but_an_open_console_keeps_it(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.auth.session_idle_secs = 2;
        config.ws.heartbeat_interval_ms = 200;
    })
    .await;
    let client: &Client = &app;
    let idle = client.create_agent("Idle", 3, &[client.demo_site.id]).await;
    let console = client
        .create_agent("Console", 3, &[client.demo_site.id])
        .await;
    let mut ws = client.connect_agent(&console).await;
    // Used within the timeout, a session lives on.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(me_status(client, &idle.token).await, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(me_status(client, &idle.token).await, 200);
    // Unused for longer than the timeout, it has ended.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(me_status(client, &idle.token).await, 401);
    // The console's socket was open all along: its session is alive.
    still_open(&mut ws).await;
    assert_eq!(me_status(client, &console.token).await, 200);
}
