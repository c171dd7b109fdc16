//! An agent's console preferences (language, sound, notifications, auto-away) are kept with
//! their account and come back in every profile; admins rename agents.

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::AgentProfile;
use bellhop_protocol::console::{AgentPreferences, Language};
use bellhop_protocol::frames::Conversation;
use bellhop_tests::{AGENT_PASSWORD, Backend, api_error, both_backends, spawn_app};
use serde_json::json;

both_backends!(
    an_agent_keeps_their_preferences_in_every_profile,
    admins_rename_agents_and_every_chat_shows_the_new_name,
);

const PATH: &str = "/api/v1/me/preferences";

/// A new agent starts with the defaults; what they put is what they get back, from `/me`,
/// a new login and the admin's agent list, and only their own. Values out of range, unknown
/// languages and unknown fields are `400` and change nothing.
async fn an_agent_keeps_their_preferences_in_every_profile(backend: Backend) {
    let app = spawn_app(backend).await;
    let agent = app.create_agent("Нина", 3, &[app.demo_site.id]).await;
    let colleague = app.create_agent("Colleague", 3, &[app.demo_site.id]).await;
    assert_eq!(agent.profile.preferences, AgentPreferences::default());
    let defaults: AgentPreferences = app.get_json(PATH, &agent.token).await;
    assert_eq!(defaults, AgentPreferences::default());
    assert!(defaults.sound && defaults.notifications);

    let chosen = AgentPreferences {
        language: Language::Ru,
        sound: false,
        notifications: true,
        auto_away_minutes: 15,
    };
    let response = app.put_as(PATH, &agent.token, &chosen).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<AgentPreferences>().await.unwrap(), chosen);
    assert_eq!(
        app.get_json::<AgentPreferences>(PATH, &agent.token).await,
        chosen
    );
    let me: AgentProfile = app.get_json("/api/v1/me", &agent.token).await;
    assert_eq!(me.preferences, chosen);
    let login = app.login(&agent.profile.email, AGENT_PASSWORD).await;
    assert_eq!(login.agent.preferences, chosen);
    let agents: Vec<AgentProfile> = app.get_json("/api/v1/agents", &app.admin_token).await;
    let listed = |id| {
        agents
            .iter()
            .find(|a| a.id == id)
            .unwrap()
            .preferences
            .clone()
    };
    assert_eq!(listed(agent.id()), chosen);
    assert_eq!(listed(colleague.id()), AgentPreferences::default());

    // Absent fields take their defaults.
    let response = app
        .put_as(
            PATH,
            &agent.token,
            &json!({ "language": "ru", "sound": false }),
        )
        .await;
    let partial: AgentPreferences = response.json().await.unwrap();
    assert_eq!(partial.auto_away_minutes, 0);
    assert!(partial.notifications);

    for bad in [
        json!({ "auto_away_minutes": 481 }),
        json!({ "language": "de" }),
        json!({ "theme": "dark" }),
        json!({ "sound": "loud" }),
    ] {
        let response = app.put_as(PATH, &agent.token, &bad).await;
        assert_eq!(
            api_error(response, 400).await.code,
            ErrorCode::InvalidRequest,
            "{bad}"
        );
    }
    let longest = app
        .put_as(PATH, &agent.token, &json!({ "auto_away_minutes": 480 }))
        .await;
    assert_eq!(longest.status(), 200);
    assert_eq!(
        app.get_json::<AgentPreferences>(PATH, &agent.token)
            .await
            .auto_away_minutes,
        480
    );
    assert_eq!(
        app.get_error(PATH, "bs1_not-a-session", 401).await,
        ErrorCode::Unauthorized
    );
}

/// An admin renames an agent: the profile, the agent's own `/me` and the conversations they
/// serve show the new name (as text, whatever it holds); the session goes on. A plain agent or
/// supervisor may not rename anyone.
async fn admins_rename_agents_and_every_chat_shows_the_new_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let (agent, mut agent_ws) = app.online_agent("Nina", 3).await;
    let (visitor, _visitor_ws, chat) = app.assigned_chat(&mut agent_ws, "hello").await;
    let path = format!("/api/v1/agents/{}", agent.id());
    let name = "Нина <b>Петрова</b>";
    let response = app
        .patch(&path, &json!({ "display_name": format!("  {name} ") }))
        .await;
    assert_eq!(response.status(), 200);
    let profile: AgentProfile = response.json().await.unwrap();
    assert_eq!(profile.display_name, name);
    let me: AgentProfile = app.get_json("/api/v1/me", &agent.token).await;
    assert_eq!(me.display_name, name, "the session goes on");
    let seen: Conversation = app
        .get_json(&format!("/api/v1/conversations/{chat}"), &visitor.token)
        .await;
    assert_eq!(seen.agent.map(|a| a.display_name).as_deref(), Some(name));

    let supervisor = app.create_supervisor("Sue", &[app.demo_site.id]).await;
    for token in [&agent.token, &supervisor.token] {
        let response = app
            .patch_as(&path, token, &json!({ "display_name": "Hacked" }))
            .await;
        assert_eq!(api_error(response, 403).await.code, ErrorCode::Forbidden);
    }
    let response = app.patch(&path, &json!({ "display_name": "   " })).await;
    assert_eq!(
        api_error(response, 400).await.code,
        ErrorCode::InvalidRequest
    );
    let me: AgentProfile = app.get_json("/api/v1/me", &agent.token).await;
    assert_eq!(me.display_name, name);
}
