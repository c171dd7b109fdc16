//! The widget's texts and look: the config speaks the page's language when the widget does,
//! else the site's, with the site's overrides; a bad look is refused naming its field.

use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::{SiteConfig, WidgetConfig};
use bellhop_tests::{Backend, Client, api_error, both_backends, spawn_app};

both_backends!(
    the_config_speaks_the_pages_language_with_the_sites_overrides,
    a_bad_look_is_refused_naming_its_field,
);

async fn widget_config(client: &Client, lang: Option<&str>) -> WidgetConfig {
    let origin = client.demo_site.allowed_origins[0].clone();
    let mut url = format!("{}/api/v1/widget/config?key=demo", client.address);
    if let Some(lang) = lang {
        url.push_str(&format!("&lang={lang}"));
    }
    let response = client
        .http
        .get(url)
        .header("Origin", origin)
        .send()
        .await
        .expect("config request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("config body")
}

async fn the_config_speaks_the_pages_language_with_the_sites_overrides(backend: Backend) {
    let app = spawn_app(backend).await;
    let english = widget_config(&app, None).await;
    assert_eq!(english.language, "en");
    assert_eq!(english.texts["send"], "Send");
    assert_eq!(
        english.texts["queue_position"],
        "You are number {n} in the queue"
    );
    assert!(english.texts.len() >= 49, "{:?}", english.texts.keys());

    for lang in ["ru", "ru-RU"] {
        let russian = widget_config(&app, Some(lang)).await;
        assert_eq!(russian.language, "ru", "{lang}");
        assert_eq!(russian.texts["send"], "Отправить");
        assert_eq!(russian.texts.len(), english.texts.len());
        assert!(russian.texts["agent_typing"].contains("{name}"));
    }
    // A language the widget does not speak: the site's.
    assert_eq!(widget_config(&app, Some("de-DE")).await.language, "en");

    let mut config: SiteConfig = app.demo_site.config.clone();
    config.widget.language = "ru".into();
    config.widget.color = "#2f6d4f".into();
    config.widget.texts.insert(
        "en".into(),
        [("title".to_owned(), "Chat with Northwind".to_owned())].into(),
    );
    assert_eq!(app.configure_demo_site(config).await.status(), 200);
    let german_page = widget_config(&app, Some("de")).await;
    assert_eq!(german_page.language, "ru");
    assert_eq!(german_page.color, "#2f6d4f");
    assert_eq!(german_page.texts["title"], "Чат");
    let english = widget_config(&app, Some("en-GB")).await;
    assert_eq!(english.texts["title"], "Chat with Northwind");
    assert_eq!(
        english.texts["send"], "Send",
        "only the overridden text changes"
    );
}

async fn a_bad_look_is_refused_naming_its_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut bad_colour: SiteConfig = app.demo_site.config.clone();
    bad_colour.widget.color = "green".into();
    let mut unknown_key: SiteConfig = app.demo_site.config.clone();
    unknown_key.widget.texts.insert(
        "ru".into(),
        [("headline".to_owned(), "Привет".to_owned())].into(),
    );
    let mut unknown_language: SiteConfig = app.demo_site.config.clone();
    unknown_language.widget.language = "de".into();
    for (config, field) in [
        (bad_colour, "widget.color"),
        (unknown_key, "headline"),
        (unknown_language, "widget.language"),
    ] {
        let error = api_error(app.configure_demo_site(config).await, 400).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert!(error.message.contains(field), "{field}: {}", error.message);
    }
    assert_eq!(
        widget_config(&app, None).await.color,
        "#1f5fbf",
        "nothing changed"
    );
}
