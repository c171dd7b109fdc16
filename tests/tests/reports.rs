//! Reports: chats scripted over real sockets, then the report's figures per day, agent and
//! department must be exactly what the stored timestamps say (read back through the REST
//! conversation, transcript and routing APIs), in JSON and in the CSV; and reports are for
//! supervisors and admins of the site only.

use std::collections::BTreeMap;

use bellhop_protocol::api::{
    AgentUpdate, BusinessHours, Department, NewDepartmentRequest, OpeningInterval, RatingRequest,
    Role, RoutingAudit, SiteConfig, SiteSettings, Weekday,
};
use bellhop_protocol::console::{Report, ReportRow};
use bellhop_protocol::frames::{AgentStatus, AuthorKind, Conversation, ServerFrame};
use bellhop_protocol::{ConversationId, ErrorCode};
use bellhop_tests::{
    Backend, Client, agent_says, both_backends, next_assignment, spawn_app, transfer_to_agent,
    visitor_says,
};
use chrono::TimeZone;
use chrono_tz::Tz;

both_backends!(
    report_figures_are_what_the_stored_timestamps_say,
    reports_are_for_supervisors_and_admins_of_the_site,
    my_sites_tells_the_console_its_sites_zones_and_colleagues,
);

/// A zone far from UTC, so that local dates and UTC dates differ for half of every day.
const ZONE: &str = "Pacific/Kiritimati";

/// A site open around the clock in [`ZONE`], with a `Returns` department beside `General`.
async fn site_in_zone(app: &Client) -> (SiteSettings, Department) {
    let site = app
        .create_site("Kiritimati Outfitters", &["https://k.example"])
        .await;
    let config = SiteConfig {
        business_hours: Some(BusinessHours {
            time_zone: ZONE.into(),
            weekly: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ]
            .into_iter()
            .map(|day| OpeningInterval {
                day,
                open: "00:00".into(),
                close: "24:00".into(),
            })
            .collect(),
            closed_dates: Vec::new(),
        }),
        ..SiteConfig::default()
    };
    assert_eq!(app.configure_site(site.id, config).await.status(), 200);
    let response = app
        .post(
            &format!("/api/v1/sites/{}/departments", site.id),
            &app.admin_token,
            &NewDepartmentRequest {
                name: "Returns".into(),
                fallback_id: None,
                hours: None,
            },
        )
        .await;
    assert_eq!(response.status(), 201);
    let returns: Department = response.json().await.unwrap();
    let site: SiteSettings = app
        .get_json(&format!("/api/v1/sites/{}", site.id), &app.admin_token)
        .await;
    (site, returns)
}

async fn close(app: &Client, token: &str, conversation: ConversationId) {
    let response = app
        .post(
            &format!("/api/v1/conversations/{conversation}/close"),
            token,
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(response.status(), 200, "closing {conversation}");
}

/// What the REST APIs say was stored about one conversation.
struct Stored {
    conversation: Conversation,
    first_assigned_at: Option<i64>,
    first_agent_message_at: Option<i64>,
}

async fn stored(app: &Client, id: ConversationId) -> Stored {
    let token = &app.admin_token;
    let conversation: Conversation = app
        .get_json(&format!("/api/v1/conversations/{id}"), token)
        .await;
    let routing: RoutingAudit = app
        .get_json(&format!("/api/v1/conversations/{id}/routing"), token)
        .await;
    let transcript = app.transcript(id, token).await;
    Stored {
        first_assigned_at: routing
            .decisions
            .iter()
            .find(|d| d.agent_id.is_some())
            .map(|d| d.decided_at)
            .or(conversation.assigned_at),
        first_agent_message_at: transcript
            .messages
            .iter()
            .find(|m| m.author == AuthorKind::Agent)
            .map(|m| m.sent_at),
        conversation,
    }
}

/// The figures of `chats`, worked out here the plain way: means in whole milliseconds,
/// halves rounded up; the rating mean to two decimals.
fn expected(key: &str, label: &str, chats: &[&Stored]) -> ReportRow {
    let mean = |values: Vec<i64>| {
        (!values.is_empty()).then(|| {
            let n = values.len() as i64;
            u64::try_from((values.iter().sum::<i64>() + n / 2) / n).unwrap()
        })
    };
    let opened = |s: &Stored| s.conversation.created_at;
    let scores: Vec<f64> = chats
        .iter()
        .filter_map(|s| s.conversation.rating.as_ref().map(|r| f64::from(r.score)))
        .collect();
    ReportRow {
        key: key.into(),
        label: label.into(),
        chats: chats.len() as u32,
        missed: chats.iter().filter(|s| s.conversation.missed).count() as u32,
        avg_first_response_ms: mean(
            chats
                .iter()
                .filter_map(|s| s.first_agent_message_at.map(|t| t - opened(s)))
                .collect(),
        ),
        avg_queue_wait_ms: mean(
            chats
                .iter()
                .filter_map(|s| s.first_assigned_at.map(|t| t - opened(s)))
                .collect(),
        ),
        avg_duration_ms: mean(
            chats
                .iter()
                .filter_map(|s| s.conversation.closed_at.map(|t| t - opened(s)))
                .collect(),
        ),
        ratings: scores.len() as u32,
        csat_average: (!scores.is_empty()).then(|| {
            let mean = scores.iter().sum::<f64>() / scores.len() as f64;
            (mean * 100.0).round() / 100.0
        }),
    }
}

fn local_date(at: i64) -> String {
    let tz: Tz = ZONE.parse().unwrap();
    tz.timestamp_millis_opt(at)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

async fn rate(app: &Client, visitor: &bellhop_tests::TestVisitor, chat: ConversationId, score: u8) {
    let response = app
        .visitor_post(
            visitor,
            &format!("/api/v1/widget/conversations/{chat}/rating"),
            &RatingRequest {
                score,
                comment: None,
            },
        )
        .await;
    assert_eq!(response.status(), 200, "rating {chat}");
}

/// Five chats in two departments: Maya answers and closes one (rated 4) and answers another
/// she keeps open; one waits while she is away and is closed unanswered (missed); Jonas
/// serves one in Returns (rated 2); one Maya takes first and transfers to Jonas, who answers
/// it. The report grouped by day, by agent and by department equals the figures worked out
/// from the stored timestamps, and so does its CSV.
async fn report_figures_are_what_the_stored_timestamps_say(backend: Backend) {
    let app = spawn_app(backend).await;
    let (site, returns) = site_in_zone(&app).await;
    let maya = app.create_agent("Maya Chen", 3, &[site.id]).await;
    let jonas = app.create_agent("Jonas Berg", 3, &[site.id]).await;
    let only_returns = AgentUpdate {
        departments: Some(vec![returns.id]),
        ..AgentUpdate::default()
    };
    let response = app
        .patch(&format!("/api/v1/agents/{}", jonas.id()), &only_returns)
        .await;
    assert_eq!(response.status(), 200);
    let supervisor = app
        .create_staff("Sam Super", Role::Supervisor, 0, &[site.id])
        .await;
    let mut maya_ws = app.connect_agent(&maya).await;
    let mut jonas_ws = app.connect_agent(&jonas).await;
    let mut chats = Vec::new();

    // 1: answered, closed, rated 4.
    let (v1, mut v1_ws, c1) = app.open_chat(&site, None, "Do you ship to Tarawa?").await;
    assert_eq!(next_assignment(&mut maya_ws).await.id, c1);
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    agent_says(&mut maya_ws, "m1", "We do!", c1).await;
    close(&app, &maya.token, c1).await;
    v1_ws
        .expect("the close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    rate(&app, &v1, c1, 4).await;
    chats.push(c1);

    // 2: answered twice, still open.
    let (_v2, mut v2_ws, c2) = app.open_chat(&site, None, "Sizes?").await;
    assert_eq!(next_assignment(&mut maya_ws).await.id, c2);
    agent_says(&mut maya_ws, "m2", "S to XL.", c2).await;
    visitor_says(&mut v2_ws, "v2-2", "Thanks", Some(c2)).await;
    agent_says(&mut maya_ws, "m3", "Anything else?", c2).await;
    chats.push(c2);

    // 3: waits while Maya is away, closed unanswered: missed.
    maya_ws.set_status(AgentStatus::Away).await;
    let (_v3, _v3_ws, c3) = app.open_chat(&site, None, "Hello?").await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    close(&app, &app.admin_token, c3).await;
    chats.push(c3);

    // 4: Returns, Jonas, rated 2.
    let (v4, mut v4_ws, c4) = app
        .open_chat(&site, Some(returns.id), "My boots are too small")
        .await;
    assert_eq!(next_assignment(&mut jonas_ws).await.id, c4);
    agent_says(
        &mut jonas_ws,
        "j1",
        "Send them back, we pay the postage.",
        c4,
    )
    .await;
    close(&app, &jonas.token, c4).await;
    v4_ws
        .expect("the close", |f| {
            matches!(f, ServerFrame::ConversationClosed { .. })
        })
        .await;
    rate(&app, &v4, c4, 2).await;
    chats.push(c4);

    // 5: Maya takes it, hands it to Jonas, who answers: Jonas served it, Maya's assignment
    // was the first.
    maya_ws.set_status(AgentStatus::Online).await;
    let (_v5, _v5_ws, c5) = app.open_chat(&site, None, "Exchange?").await;
    assert_eq!(next_assignment(&mut maya_ws).await.id, c5);
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    maya_ws
        .send(&transfer_to_agent(c5, jonas.id(), Some("Returns question")))
        .await;
    jonas_ws
        .expect("the transfer", |f| {
            matches!(f, ServerFrame::ConversationTransferred { .. })
        })
        .await;
    agent_says(&mut jonas_ws, "j2", "Happy to exchange.", c5).await;
    chats.push(c5);

    let mut facts = Vec::new();
    for id in &chats {
        facts.push(stored(&app, *id).await);
    }
    assert!(facts[2].conversation.missed, "chat 3 is missed");
    assert_eq!(
        facts[4].conversation.agent.as_ref().map(|a| a.id),
        Some(jonas.id())
    );
    assert!(facts[4].first_assigned_at < facts[4].conversation.assigned_at);
    let dates: Vec<String> = facts
        .iter()
        .map(|f| local_date(f.conversation.created_at))
        .collect();
    let from = dates.iter().min().unwrap().clone();
    let to = dates.iter().max().unwrap().clone();
    let all: Vec<&Stored> = facts.iter().collect();

    let get = |group: &str| {
        let path = format!(
            "/api/v1/reports?site={}&from={from}&to={to}&group={group}",
            site.id
        );
        let token = supervisor.token.clone();
        let app = &app;
        async move { app.get_json::<Report>(&path, &token).await }
    };

    // By day.
    let report = get("day").await;
    assert_eq!(report.time_zone, ZONE);
    assert_eq!(
        (report.from.as_str(), report.to.as_str()),
        (from.as_str(), to.as_str())
    );
    let mut by_day: BTreeMap<String, Vec<&Stored>> = BTreeMap::new();
    for (fact, date) in facts.iter().zip(&dates) {
        by_day.entry(date.clone()).or_default().push(fact);
    }
    let days: Vec<ReportRow> = by_day
        .iter()
        .map(|(date, chats)| expected(date, date, chats))
        .collect();
    assert_eq!(report.rows, days);
    assert_eq!(report.total, expected("total", "Total", &all));
    assert_eq!(report.total.chats, 5);
    assert_eq!(report.total.missed, 1);
    assert_eq!(report.total.ratings, 2);
    assert_eq!(report.total.csat_average, Some(3.0));

    // By agent: Jonas (2 chats), Maya (2), and the missed chat nobody served.
    let report = get("agent").await;
    let agent_rows = vec![
        expected(
            &jonas.id().to_string(),
            "Jonas Berg",
            &[&facts[3], &facts[4]],
        ),
        expected(&maya.id().to_string(), "Maya Chen", &[&facts[0], &facts[1]]),
        expected("", "Unassigned", &[&facts[2]]),
    ];
    assert_eq!(report.rows, agent_rows);
    assert_eq!(report.total, expected("total", "Total", &all));

    // By department: General (4 chats), Returns (1).
    let report = get("department").await;
    let department_rows = vec![
        expected(
            &site.default_department_id.to_string(),
            "General",
            &[&facts[0], &facts[1], &facts[2], &facts[4]],
        ),
        expected(&returns.id.to_string(), "Returns", &[&facts[3]]),
    ];
    assert_eq!(report.rows, department_rows);

    // The CSV holds the same figures: header, the rows, the total.
    let response = app
        .get(
            &format!(
                "/api/v1/reports.csv?site={}&from={from}&to={to}&group=agent",
                site.id
            ),
            &supervisor.token,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv; charset=utf-8")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "a byte order mark"
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "key",
            "label",
            "chats",
            "missed",
            "avg_first_response_ms",
            "avg_queue_wait_ms",
            "avg_duration_ms",
            "ratings",
            "csat_average"
        ]
    );
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let as_cells = |row: &ReportRow| {
        let n = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        vec![
            row.key.clone(),
            row.label.clone(),
            row.chats.to_string(),
            row.missed.to_string(),
            n(row.avg_first_response_ms),
            n(row.avg_queue_wait_ms),
            n(row.avg_duration_ms),
            row.ratings.to_string(),
            row.csat_average.map(|v| v.to_string()).unwrap_or_default(),
        ]
    };
    let mut wanted: Vec<Vec<String>> = agent_rows.iter().map(as_cells).collect();
    wanted.push(as_cells(&expected("total", "Total", &all)));
    assert_eq!(records, wanted);

    // A day before any of it: one empty row.
    let before = chrono::NaiveDate::parse_from_str(&from, "%Y-%m-%d")
        .unwrap()
        .pred_opt()
        .unwrap()
        .to_string();
    let report: Report = app
        .get_json(
            &format!("/api/v1/reports?site={}&from={before}&to={before}", site.id),
            &app.admin_token,
        )
        .await;
    assert_eq!(report.rows, vec![expected(&before, &before, &[])]);
    assert_eq!(report.total.chats, 0);
}

/// A plain agent of the site is `forbidden`; a supervisor of another site gets `not_found`,
/// as for a site that does not exist; dates that are not `YYYY-MM-DD`, a reversed range and
/// one over 366 days are `invalid_request`; the CSV follows the same rules.
async fn reports_are_for_supervisors_and_admins_of_the_site(backend: Backend) {
    let app = spawn_app(backend).await;
    let site = app.demo_site.clone();
    let other = app.create_site("Elsewhere", &["https://e.example"]).await;
    let agent = app.create_agent("Pat Plain", 3, &[site.id]).await;
    let stranger = app
        .create_staff("Sue Elsewhere", Role::Supervisor, 0, &[other.id])
        .await;
    let supervisor = app
        .create_staff("Sam Super", Role::Supervisor, 0, &[site.id])
        .await;
    let query = |site: &SiteSettings, from: &str, to: &str| {
        format!("?site={}&from={from}&to={to}", site.id)
    };
    let good = query(&site, "2025-01-01", "2025-01-31");
    for route in ["/api/v1/reports", "/api/v1/reports.csv"] {
        let path = format!("{route}{good}");
        assert_eq!(
            app.get_error(&path, &agent.token, 403).await,
            ErrorCode::Forbidden
        );
        assert_eq!(
            app.get_error(&path, &stranger.token, 404).await,
            ErrorCode::NotFound
        );
        assert_eq!(app.get(&path, &supervisor.token).await.status(), 200);
        assert_eq!(app.get(&path, &app.admin_token).await.status(), 200);
    }
    let report: Report = app
        .get_json(&format!("/api/v1/reports{good}"), &supervisor.token)
        .await;
    assert_eq!(
        report.rows.len(),
        31,
        "every day of January, empty ones too"
    );
    assert_eq!(report.time_zone, "UTC");
    for (from, to) in [
        ("2025-13-01", "2025-12-31"),
        ("2025-01-01", "31.01.2025"),
        ("2025-02-01", "2025-01-01"),
        ("2024-01-01", "2025-01-01"),
    ] {
        let path = format!("/api/v1/reports{}", query(&site, from, to));
        assert_eq!(
            app.get_error(&path, &supervisor.token, 400).await,
            ErrorCode::InvalidRequest,
            "{from} to {to}"
        );
    }
    let path = format!("/api/v1/reports{good}&group=week");
    assert_eq!(
        app.get_error(&path, &supervisor.token, 400).await,
        ErrorCode::InvalidRequest
    );
    // 366 days is the most: all of 2024.
    let path = format!(
        "/api/v1/reports{}",
        query(&site, "2024-01-01", "2024-12-31")
    );
    let report: Report = app.get_json(&path, &supervisor.token).await;
    assert_eq!(report.rows.len(), 366);
}

/// `GET /api/v1/me/sites`: a supervisor of the Kiritimati site sees it with its zone, its two
/// departments, its answer target and attachment policy, and the colleagues of that site
/// with their live status; an admin sees every site. An answer target outside 5 to 3600
/// seconds is refused.
async fn my_sites_tells_the_console_its_sites_zones_and_colleagues(backend: Backend) {
    let app = spawn_app(backend).await;
    let (site, returns) = site_in_zone(&app).await;
    let maya = app.create_agent("Maya Chen", 3, &[site.id]).await;
    let _elsewhere = app.create_agent("Ola Demo", 3, &[app.demo_site.id]).await;
    let supervisor = app
        .create_staff("Sam Super", Role::Supervisor, 0, &[site.id])
        .await;
    let _maya_ws = app.connect_agent(&maya).await;
    let mut config = site.config.clone();
    config.answer_target_secs = 45;
    assert_eq!(
        app.configure_site(site.id, config.clone()).await.status(),
        200
    );
    for refused in [4, 3601] {
        config.answer_target_secs = refused;
        let response = app.configure_site(site.id, config.clone()).await;
        assert_eq!(
            bellhop_tests::api_error(response, 400).await.code,
            ErrorCode::InvalidRequest
        );
    }

    let mine: bellhop_protocol::console::MySites =
        app.get_json("/api/v1/me/sites", &supervisor.token).await;
    let [summary] = &mine.sites[..] else {
        panic!("one site: {:#?}", mine.sites)
    };
    assert_eq!(summary.id, site.id);
    assert_eq!(summary.time_zone, ZONE);
    assert_eq!(summary.answer_target_secs, 45);
    assert_eq!(summary.retention_days, 0);
    let departments: Vec<&str> = summary
        .departments
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(departments, ["General", "Returns"]);
    assert_eq!(summary.departments[1].id, returns.id);
    assert_eq!(
        summary.attachment_types,
        site.config.attachments.allowed_types
    );
    let colleagues: Vec<(&str, AgentStatus)> = mine
        .agents
        .iter()
        .map(|a| (a.display_name.as_str(), a.status))
        .collect();
    assert_eq!(
        colleagues,
        [
            ("Maya Chen", AgentStatus::Online),
            ("Sam Super", AgentStatus::Offline)
        ]
    );
    assert_eq!(mine.agents[0].sites, vec![site.id]);
    assert_eq!(mine.agents[0].departments, vec![site.default_department_id]);

    let all: bellhop_protocol::console::MySites =
        app.get_json("/api/v1/me/sites", &app.admin_token).await;
    assert_eq!(all.sites.len(), 2);
    assert!(all.agents.iter().any(|a| a.display_name == "Ola Demo"));
}
