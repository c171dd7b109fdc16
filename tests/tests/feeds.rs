//! The console's live feeds over the agent socket: `subscribe` gets the current queue view or
//! wallboard at once, then the server pushes every change (coalesced), only for the
//! subscriber's sites; the wallboard is for supervisors and admins.

use std::collections::BTreeMap;
use std::time::Duration;

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{LeadKind, LeadSubmission, Role, SiteConfig};
use bellhop_protocol::console::{Feed, MySites, Wallboard};
use bellhop_protocol::frames::{AgentFrame, AgentStatus, Conversation, Priority, ServerFrame};
use bellhop_tests::console::{
    Pushed, board_until, pushes_within, queue_until, subscribe_board, subscribe_queue,
};
use bellhop_tests::{
    Backend, agent_says, both_backends, next_assignment, spawn_app, spawn_app_with, visitor_says,
};

both_backends!(
    subscribing_gets_the_current_queue_and_wallboard_at_once,
    queue_depth_and_agent_load_change_live,
    a_burst_of_events_is_coalesced_into_few_pushes,
    a_plain_agent_sees_the_queue_but_not_the_wallboard,
    a_supervisor_of_one_site_sees_nothing_of_another,
);

/// The demo site's `General` department on a board.
fn general(board: &Wallboard) -> &bellhop_protocol::console::DepartmentBoard {
    board
        .departments
        .iter()
        .find(|d| d.name == "General")
        .expect("the General department")
}

/// An agent's line on a board, by display name.
fn agent_line<'b>(
    board: &'b Wallboard,
    name: &str,
) -> Option<&'b bellhop_protocol::console::AgentBoard> {
    board.agents.iter().find(|a| a.agent.display_name == name)
}

/// Two visitors wait (nobody is online): one gave their name in the pre-chat form and wrote
/// twice, the other is urgent by the supervisor's choice. A supervisor (who takes no chats)
/// subscribes: the queue view lists both at once, urgent first, with the name, the preview
/// of the last message and `waiting_since` equal to the stored opening; the wallboard shows
/// the department's depth and longest wait, and today's two chats.
async fn subscribing_gets_the_current_queue_and_wallboard_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.demo_site.clone();
    let mut config = SiteConfig::default();
    config.prechat_form.enabled = true;
    assert_eq!(app.configure_demo_site(config).await.status(), 200);

    let ada = app.new_visitor(&site).await;
    let form = LeadSubmission {
        kind: LeadKind::Prechat,
        department_id: None,
        fields: BTreeMap::from([("name".to_owned(), "Ada Lovelace".to_owned())]),
        consent: false,
        page: Default::default(),
    };
    assert_eq!(app.post_lead(&ada, &form).await.status(), 201);
    let ws = app.connect_visitor(&ada, Vec::new()).await;
    let (mut ada_ws, first) = app.reopen_chat(&ada, ws, None, "Hello").await;
    visitor_says(
        &mut ada_ws,
        "ada-2",
        "Where is\nmy parcel? <b>It was due</b> on Monday",
        Some(first),
    )
    .await;
    let (_ben, _ben_ws, second) = app.open_chat(&site, None, "Refund please").await;

    let supervisor = app
        .create_staff("Sam Super", Role::Supervisor, 0, &[site.id])
        .await;
    let mut sup_ws = app.connect_agent(&supervisor).await;
    sup_ws
        .send(&AgentFrame::SetPriority {
            conversation_id: second,
            priority: Priority::Urgent,
        })
        .await;
    // The socket handles its frames in order: the view it gets on subscribing is the queue
    // after the priority change.
    let queue = subscribe_queue(&mut sup_ws).await;
    assert_eq!(queue.entries.len(), 2, "{queue:#?}");
    let stored: Conversation = app
        .get_json(&format!("/api/v1/conversations/{first}"), &app.admin_token)
        .await;
    let [urgent, ada_entry] = &queue.entries[..] else {
        unreachable!()
    };
    assert_eq!(urgent.conversation_id, second);
    assert_eq!((urgent.priority, urgent.position), (Priority::Urgent, 1));
    assert_eq!(urgent.preview.as_deref(), Some("Refund please"));
    assert_eq!(urgent.visitor_name, None);
    assert_eq!(ada_entry.conversation_id, first);
    assert_eq!(
        (ada_entry.priority, ada_entry.position),
        (Priority::Normal, 2)
    );
    assert_eq!(ada_entry.site_id, site.id);
    assert_eq!(ada_entry.department_id, Some(site.default_department_id));
    assert_eq!(ada_entry.waiting_since, stored.created_at);
    assert_eq!(ada_entry.visitor_name.as_deref(), Some("Ada Lovelace"));
    // The last message, on one line, as text.
    assert_eq!(
        ada_entry.preview.as_deref(),
        Some("Where is my parcel? <b>It was due</b> on Monday")
    );

    let board = subscribe_board(&mut sup_ws).await;
    let department = general(&board);
    assert_eq!(department.site_id, site.id);
    assert_eq!(department.queued, 2);
    assert_eq!(department.longest_waiting_since, Some(stored.created_at));
    assert_eq!(
        department.agents_online, 0,
        "a supervisor with no room takes no chats"
    );
    let today = &board.sites[0];
    assert_eq!((today.site_id, today.chats, today.missed), (site.id, 2, 0));
    assert_eq!(today.avg_first_response_ms, None);
    let me = agent_line(&board, "Sam Super").expect("the supervisor is on the board");
    assert_eq!(
        (me.status, me.open_chats, me.max_chats),
        (AgentStatus::Online, 0, 0)
    );
}

/// The supervisor watches both feeds while things happen: a visitor opens a chat (queued,
/// depth 1); Maya comes online and gets it (queue empty, Maya 1 of 2, depth 0); she answers
/// (today's mean first response equals the stored timestamps); she closes it (0 open); she
/// goes away, then leaves (away, then offline, and nobody online in General).
async fn queue_depth_and_agent_load_change_live(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.demo_site.clone();
    let maya = app.create_agent("Maya Chen", 2, &[site.id]).await;
    let supervisor = app
        .create_staff("Sam Super", Role::Supervisor, 0, &[site.id])
        .await;
    let mut sup_ws = app.connect_agent(&supervisor).await;
    assert!(subscribe_queue(&mut sup_ws).await.entries.is_empty());
    let board = subscribe_board(&mut sup_ws).await;
    assert_eq!(general(&board).queued, 0);
    assert_eq!(
        agent_line(&board, "Maya Chen").map(|a| a.status),
        Some(AgentStatus::Offline)
    );

    let (_visitor, mut visitor_ws, chat) = app.open_chat(&site, None, "Hi there").await;
    let queue = queue_until(&mut sup_ws, "the new chat", |q| q.entries.len() == 1).await;
    assert_eq!(queue.entries[0].conversation_id, chat);
    assert_eq!(queue.entries[0].preview.as_deref(), Some("Hi there"));
    board_until(&mut sup_ws, "one queued", |b| general(b).queued == 1).await;

    let mut maya_ws = app.connect_agent(&maya).await;
    assert_eq!(next_assignment(&mut maya_ws).await.id, chat);
    queue_until(&mut sup_ws, "an empty queue", |q| q.entries.is_empty()).await;
    let board = board_until(&mut sup_ws, "Maya with the chat", |b| {
        agent_line(b, "Maya Chen").is_some_and(|a| a.open_chats == 1) && general(b).queued == 0
    })
    .await;
    let line = agent_line(&board, "Maya Chen").unwrap();
    assert_eq!((line.status, line.max_chats), (AgentStatus::Online, 2));
    assert_eq!(general(&board).agents_online, 1);
    assert_eq!(general(&board).longest_waiting_since, None);

    agent_says(&mut maya_ws, "maya-1", "Hello! How can I help?", chat).await;
    let board = board_until(&mut sup_ws, "a first response", |b| {
        b.sites[0].avg_first_response_ms.is_some()
    })
    .await;
    let stored: Conversation = app
        .get_json(&format!("/api/v1/conversations/{chat}"), &app.admin_token)
        .await;
    let transcript = app.transcript(chat, &app.admin_token).await;
    let answered = transcript
        .messages
        .iter()
        .find(|m| m.author == bellhop_protocol::frames::AuthorKind::Agent)
        .expect("Maya's answer")
        .sent_at;
    assert_eq!(
        board.sites[0].avg_first_response_ms,
        Some(u64::try_from(answered - stored.created_at).unwrap())
    );
    assert_eq!(board.sites[0].chats, 1);

    maya_ws
        .send(&AgentFrame::Close {
            conversation_id: chat,
        })
        .await;
    board_until(&mut sup_ws, "Maya with no chat", |b| {
        agent_line(b, "Maya Chen").is_some_and(|a| a.open_chats == 0)
    })
    .await;
    visitor_ws
        .expect("the close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;

    maya_ws.set_status(AgentStatus::Away).await;
    let board = board_until(&mut sup_ws, "Maya away", |b| {
        agent_line(b, "Maya Chen").is_some_and(|a| a.status == AgentStatus::Away)
    })
    .await;
    assert_eq!(general(&board).agents_online, 0);
    maya_ws.close().await;
    board_until(&mut sup_ws, "Maya offline", |b| {
        agent_line(b, "Maya Chen").is_some_and(|a| a.status == AgentStatus::Offline)
    })
    .await;
}

/// With one push per 400 ms at most, an agent sets her status 50 times as fast as the socket
/// goes (away, online, away, …, away): the supervisor gets a handful of wallboards, not 50,
/// the last showing where Maya ended (away); once things are quiet, nothing more comes (no
/// change, no push).
async fn a_burst_of_events_is_coalesced_into_few_pushes(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.wallboard.interval_ms = 400).await;
    let site = app.demo_site.clone();
    let maya = app.create_agent("Maya Chen", 2, &[site.id]).await;
    let supervisor = app
        .create_staff("Sam Super", Role::Supervisor, 0, &[site.id])
        .await;
    let mut maya_ws = app.connect_agent(&maya).await;
    let mut sup_ws = app.connect_agent(&supervisor).await;
    let board = subscribe_board(&mut sup_ws).await;
    assert_eq!(
        agent_line(&board, "Maya Chen").map(|a| a.status),
        Some(AgentStatus::Online)
    );
    // Past the interval, the first change goes out at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    for i in 0..50 {
        // Away, online, away, … and away again at the end.
        let status = if i % 2 == 0 || i == 49 {
            AgentStatus::Away
        } else {
            AgentStatus::Online
        };
        maya_ws.send(&AgentFrame::SetStatus { status }).await;
    }
    // The fifty confirmations show the server took them all.
    for _ in 0..50 {
        maya_ws
            .expect("a status", |f| matches!(f, ServerFrame::AgentStatus { .. }))
            .await;
    }
    let burst = started.elapsed();
    let pushes = pushes_within(&mut sup_ws, Duration::from_millis(1500)).await;
    let boards: Vec<&Wallboard> = pushes
        .iter()
        .filter_map(|p| match p {
            Pushed::Board(b) => Some(b),
            Pushed::Queue(_) => None,
        })
        .collect();
    // One at once, then at most one per interval while the burst lasted, and the last one.
    let most = 2 + usize::try_from(burst.as_millis() / 400).unwrap();
    assert!(
        !boards.is_empty() && boards.len() <= most,
        "{} wallboards for 50 changes in {burst:?}",
        boards.len()
    );
    let last = boards.last().unwrap();
    assert_eq!(
        agent_line(last, "Maya Chen").map(|a| a.status),
        Some(AgentStatus::Away)
    );
    // Quiet now: no change, no push.
    assert!(
        pushes_within(&mut sup_ws, Duration::from_millis(1000))
            .await
            .is_empty()
    );
}

/// A plain agent's socket gets the queue view of their site, but `subscribe` to the
/// wallboard is `forbidden`; after `unsubscribe` the queue pushes stop.
async fn a_plain_agent_sees_the_queue_but_not_the_wallboard(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.demo_site.clone();
    let agent = app.create_agent("Pat Plain", 0, &[site.id]).await;
    let mut ws = app.connect_agent(&agent).await;
    ws.send(&AgentFrame::Subscribe {
        feed: Feed::Wallboard,
    })
    .await;
    assert_eq!(ws.next_error().await.0, ErrorCode::Forbidden);

    assert!(subscribe_queue(&mut ws).await.entries.is_empty());
    let (_v, _vws, chat) = app.open_chat(&site, None, "Anyone?").await;
    let queue = queue_until(&mut ws, "the waiting chat", |q| q.entries.len() == 1).await;
    assert_eq!(queue.entries[0].conversation_id, chat);

    ws.send(&AgentFrame::Unsubscribe { feed: Feed::Queue })
        .await;
    // The unsubscribe has been read once an error for the frame after it comes back.
    ws.send(&AgentFrame::Subscribe {
        feed: Feed::Wallboard,
    })
    .await;
    assert_eq!(ws.expect_error().await.0, ErrorCode::Forbidden);
    let _ = app.open_chat(&site, None, "Hello?").await;
    assert!(
        pushes_within(&mut ws, Duration::from_millis(1500))
            .await
            .is_empty(),
        "no push after unsubscribe"
    );
}

/// Sites X and Y: a supervisor of X watches both feeds while Y has its own agent and chats.
/// Nothing of Y ever shows (no entry, department, agent or site of Y, no push for Y's events),
/// and neither Y's report nor Y in `me/sites`; the admin's queue holds both sites' waiting
/// chats.
async fn a_supervisor_of_one_site_sees_nothing_of_another(backend: Backend) {
    let app = spawn_app(backend).await;
    let x = app.create_site("Xenon Shop", &["https://x.example"]).await;
    let y = app
        .create_site("Yttrium Shop", &["https://y.example"])
        .await;
    let supervisor = app
        .create_staff("Sam Super", Role::Supervisor, 0, &[x.id])
        .await;
    let yuri = app.create_agent("Yuri Other", 3, &[y.id]).await;
    let mut yuri_ws = app.connect_agent(&yuri).await;
    let (_yv, _yws, y_chat) = app.open_chat(&y, None, "Y secret question").await;
    assert_eq!(next_assignment(&mut yuri_ws).await.id, y_chat);
    yuri_ws.set_status(AgentStatus::Away).await;
    let (_yv2, _yws2, _y_waiting) = app.open_chat(&y, None, "Y is waiting").await;
    let (_xv, _xws, x_chat) = app.open_chat(&x, None, "X question").await;

    let mut sup_ws = app.connect_agent(&supervisor).await;
    let queue = subscribe_queue(&mut sup_ws).await;
    assert_eq!(queue.entries.len(), 1, "{queue:#?}");
    assert_eq!(
        (queue.entries[0].conversation_id, queue.entries[0].site_id),
        (x_chat, x.id)
    );
    let board = subscribe_board(&mut sup_ws).await;
    let only_x = |board: &Wallboard| {
        board.departments.iter().all(|d| d.site_id == x.id)
            && board.sites.iter().all(|s| s.site_id == x.id)
            && board.agents.iter().all(|a| a.agent.id != yuri.id())
    };
    assert!(only_x(&board), "{board:#?}");
    assert_eq!(board.sites.len(), 1);
    assert_eq!(board.departments.len(), 1);

    // The admin sees every site's waiting chats.
    let admin = bellhop_tests::TestAgent {
        profile: app.get_json("/api/v1/me", &app.admin_token).await,
        token: app.admin_token.clone(),
    };
    let mut admin_ws = app.connect_agent(&admin).await;
    let all = subscribe_queue(&mut admin_ws).await;
    let sites: std::collections::BTreeSet<_> = all.entries.iter().map(|e| e.site_id).collect();
    assert!(sites.contains(&x.id) && sites.contains(&y.id), "{all:#?}");

    // Y's events push nothing to X's supervisor.
    yuri_ws.set_status(AgentStatus::Online).await;
    let _ = app.open_chat(&y, None, "Another Y chat").await;
    let pushed = pushes_within(&mut sup_ws, Duration::from_millis(1500)).await;
    assert!(
        pushed.is_empty(),
        "pushes for another site's changes: {pushed:#?}"
    );

    // Nor in REST.
    let path = format!(
        "/api/v1/reports?site={}&from=2025-01-01&to=2025-01-31",
        y.id
    );
    assert_eq!(
        app.get_error(&path, &supervisor.token, 404).await,
        ErrorCode::NotFound
    );
    let mine: MySites = app.get_json("/api/v1/me/sites", &supervisor.token).await;
    assert_eq!(
        mine.sites.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![x.id]
    );
    assert!(mine.agents.iter().all(|a| a.id != yuri.id()));
    assert!(mine.agents.iter().any(|a| a.id == supervisor.id()));
}
