//! Store-level fixtures for tests that drive the `Store` trait directly.

use std::sync::Arc;

use bellhop_protocol::api::{Role, SiteSettings};
use bellhop_protocol::{AgentId, ClientMessageId, DepartmentId, MessageBody, SiteId, VisitorId};
use bellhop_server::store::{Append, AppendOutcome, Author, NewAgent, NewSite, Store, Target};
use uuid::Uuid;

use crate::{Backend, TestDb};

/// A fresh database and the store on it, with `pool` connections.
pub async fn open_store(backend: Backend, pool: u32) -> (TestDb, Arc<dyn Store>) {
    let db = TestDb::create(backend).await;
    let store = bellhop_server::store::connect(db.url(), pool)
        .await
        .expect("store opens and migrates");
    (db, store)
}

pub async fn new_site(store: &dyn Store, key: &str) -> SiteSettings {
    store
        .create_site(NewSite {
            id: SiteId::from_uuid(Uuid::now_v7()),
            default_department_id: DepartmentId::from_uuid(Uuid::now_v7()),
            name: format!("site {key}"),
            widget_key: key.into(),
            allowed_origins: vec!["https://shop.example".into()],
            auto_reply: "We got it.".into(),
            now: 1,
        })
        .await
        .expect("create site")
}

pub async fn new_agent(store: &dyn Store, email: &str, cap: u32, sites: &[SiteId]) -> AgentId {
    store
        .create_agent(NewAgent {
            id: AgentId::from_uuid(Uuid::now_v7()),
            email: email.into(),
            display_name: email.split('@').next().unwrap_or(email).into(),
            password_hash: "not-a-real-hash".into(),
            role: Role::Agent,
            max_chats: cap,
            sites: sites.to_vec(),
            now: 1,
        })
        .await
        .expect("create agent")
        .id
}

pub async fn new_visitor(store: &dyn Store, site: SiteId) -> VisitorId {
    let id = VisitorId::from_uuid(Uuid::now_v7());
    store.ensure_visitor(id, site, 1).await.expect("visitor");
    id
}

pub fn append(author: Author, target: Target, client_id: &str, body: &str) -> Append {
    Append {
        author,
        target,
        client_id: ClientMessageId::parse(client_id.into()).expect("client id"),
        body: MessageBody::parse(body.into()).expect("body"),
        now: bellhop_server::clock::now_millis(),
        attachment: None,
    }
}

/// Appends one message on its own and returns its outcome.
pub async fn append_one(store: &dyn Store, item: Append) -> AppendOutcome {
    store
        .append_batch(&[item])
        .await
        .expect("append")
        .into_iter()
        .next()
        .expect("one outcome per append")
}

/// A visitor's first message on `site`: it opens a conversation in `department` (or the
/// default) at normal priority.
pub fn visitor_open(site: SiteId, department: Option<DepartmentId>) -> Target {
    Target::VisitorOpen {
        site_id: site,
        department_id: department,
        priority: bellhop_protocol::frames::Priority::Normal,
    }
}

/// A visitor of `site` opens a conversation in `department` (or the default).
pub async fn open_conversation(
    store: &dyn Store,
    site: SiteId,
    department: Option<DepartmentId>,
) -> bellhop_protocol::frames::Conversation {
    let visitor = new_visitor(store, site).await;
    let item = append(
        Author::Visitor(visitor),
        visitor_open(site, department),
        "hello",
        "hello",
    );
    append_one(store, item)
        .await
        .expect("conversation opened")
        .conversation
}
