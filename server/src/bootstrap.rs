//! First start: with no agent in the database, create a demo site and an admin, and print the
//! admin's credentials once, so `bellhop serve` is usable with no setup.

use anyhow::Context;
use bellhop_protocol::api::Role;
use bellhop_protocol::{DepartmentId, DisplayName, Email, Password, SiteId};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::accounts::{AgentSpec, create_agent};
use crate::auth::origin::Origin;
use crate::auth::random_alphanumeric;
use crate::clock::now_millis;
use crate::config::Config;
use crate::store::{NewSite, Store};

/// The demo site's public widget key.
pub(crate) const DEMO_WIDGET_KEY: &str = "demo";

pub(crate) fn random_password() -> String {
    random_alphanumeric(20)
}

pub(crate) async fn first_start(
    store: &dyn Store,
    config: &Config,
    hasher: &crate::auth::limits::Hasher,
    port: u16,
) -> anyhow::Result<()> {
    if store.agent_count().await? > 0 {
        return Ok(());
    }
    let mut origins = vec![
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
    ];
    if let Some(public) = &config.public_url {
        let origin = Origin::of_url(public).context("public_url")?;
        origins.push(origin.to_string());
    }
    let site = match store.site_by_widget_key(DEMO_WIDGET_KEY).await? {
        Some(site) => site,
        None => {
            store
                .create_site(NewSite {
                    id: SiteId::from_uuid(Uuid::now_v7()),
                    default_department_id: DepartmentId::from_uuid(Uuid::now_v7()),
                    name: "Demo site".into(),
                    widget_key: DEMO_WIDGET_KEY.into(),
                    allowed_origins: origins,
                    auto_reply: config.routing.default_auto_reply.clone(),
                    now: now_millis(),
                })
                .await?
        }
    };
    let (password, generated) = match &config.admin_password {
        Some(password) => (Password::new(password.expose_secret().to_owned()), false),
        None => (Password::new(random_password()), true),
    };
    let admin = create_agent(
        store,
        config,
        hasher,
        AgentSpec {
            email: Email::parse(config.admin_email.clone()).context("admin_email")?,
            display_name: DisplayName::parse("Admin".into())?,
            password: password.clone(),
            role: Role::Admin,
            max_chats: None,
            sites: vec![site.id],
        },
    )
    .await?;
    tracing::info!(agent = %admin.id, site = %site.id, "first start: created the demo site and an admin");
    println!(
        "Bellhop first start: created the demo site (widget key \"{DEMO_WIDGET_KEY}\") and an admin account."
    );
    println!("  email:    {}", admin.email);
    if generated {
        println!("  password: {}", password.expose());
        println!("The password is shown only this once; keep it.");
    } else {
        println!("  password: (from the configuration)");
    }
    Ok(())
}
