//! The store contract, run against both implementations through the `Store` trait.

use bellhop_protocol::api::{Role, RoutingRule, SiteSettingsUpdate};
use bellhop_protocol::frames::{AuthorKind, ConversationStatus, Millis};
use bellhop_protocol::{AgentId, ConversationId, DepartmentId, SiteId, VisitorId};
use bellhop_server::store::{
    AccessChange, AppendRejection, Assignment, Author, LeadFilter, NewAgent, NewSite, NodeId,
    Store, StoreError, Target,
};
use bellhop_tests::fixtures::{
    append, append_one, new_agent, new_site, new_visitor, open_conversation, open_store,
    visitor_open,
};
use bellhop_tests::{Backend, both_backends};
use uuid::Uuid;

both_backends!(
    sites_agents_and_sessions,
    appends_number_messages_and_are_idempotent,
    appends_refuse_what_the_author_may_not_do,
    assignment_respects_online_membership_and_caps,
    concurrent_sends_share_transactions,
    conversations_by_ids_returns_exactly_the_asked_ones,
    leads_page_newest_first_with_ties_broken_by_id,
);

async fn site(store: &dyn Store, key: &str) -> SiteId {
    new_site(store, key).await.id
}

/// Whether the store applies `attempt` at `now`.
async fn assigns(store: &dyn Store, attempt: &Assignment, now: Millis) -> bool {
    store.try_assign(attempt, now).await.unwrap().is_some()
}

/// Whether no agent of `department` takes new chats for `visitor` now.
async fn nobody_serves(store: &dyn Store, department: DepartmentId, visitor: VisitorId) -> bool {
    store
        .candidates(department, visitor)
        .await
        .unwrap()
        .is_empty()
}

async fn sites_agents_and_sessions(backend: Backend) {
    let (_db, store) = open_store(backend, 4).await;
    let s = site(store.as_ref(), "key-1").await;
    assert_eq!(
        store.site_by_widget_key("key-1").await.unwrap().unwrap().id,
        s
    );
    assert!(store.site_by_widget_key("nope").await.unwrap().is_none());
    let duplicate_key = store
        .create_site(NewSite {
            id: SiteId::from_uuid(Uuid::now_v7()),
            default_department_id: DepartmentId::from_uuid(Uuid::now_v7()),
            name: "again".into(),
            widget_key: "key-1".into(),
            allowed_origins: vec![],
            auto_reply: String::new(),
            now: 1,
        })
        .await;
    assert!(matches!(duplicate_key, Err(StoreError::Duplicate)));
    let updated = store
        .update_site(
            s,
            SiteSettingsUpdate {
                auto_reply: Some("Привет! Мы скоро ответим.".into()),
                ..SiteSettingsUpdate::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.auto_reply, "Привет! Мы скоро ответим.");
    assert_eq!(
        updated.allowed_origins,
        vec!["https://shop.example".to_owned()]
    );

    let a = new_agent(store.as_ref(), "ann@example.test", 3, &[s]).await;
    assert_eq!(
        store
            .agent_by_email("ann@example.test")
            .await
            .unwrap()
            .unwrap()
            .sites,
        vec![s]
    );
    let again = store
        .create_agent(NewAgent {
            id: AgentId::from_uuid(Uuid::now_v7()),
            email: "ann@example.test".into(),
            display_name: "Ann 2".into(),
            password_hash: "x".into(),
            role: Role::Agent,
            max_chats: 1,
            sites: vec![],
            now: 1,
        })
        .await;
    assert!(matches!(again, Err(StoreError::Duplicate)));
    assert_eq!(store.agent_count().await.unwrap(), 1);

    store.create_session(b"hash-1", a, 100, 200).await.unwrap();
    assert_eq!(
        store.session_agent(b"hash-1", 150, i64::MIN).await.unwrap(),
        Some((a, 100))
    );
    assert_eq!(
        store.session_agent(b"hash-1", 200, i64::MIN).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.session_agent(b"hash-1", 150, 100).await.unwrap(),
        None,
        "idle since its last use at 100"
    );
    store.touch_session(b"hash-1", 140).await.unwrap();
    assert_eq!(
        store.session_agent(b"hash-1", 150, 100).await.unwrap(),
        Some((a, 140)),
        "used again at 140"
    );
    store.delete_session(b"hash-1").await.unwrap();
    assert_eq!(
        store.session_agent(b"hash-1", 150, i64::MIN).await.unwrap(),
        None
    );

    // Changing an agent's access ends every session of theirs, in the same transaction.
    store.create_session(b"hash-2", a, 100, 900).await.unwrap();
    store.create_session(b"hash-3", a, 100, 900).await.unwrap();
    let ended = store
        .change_access(
            a,
            &AccessChange {
                role: Some(Role::Supervisor),
                active: Some(false),
                password_hash: Some("y".into()),
                ..AccessChange::default()
            },
            true,
        )
        .await
        .unwrap();
    assert_eq!(ended, 2);
    assert_eq!(
        store.session_agent(b"hash-2", 150, i64::MIN).await.unwrap(),
        None
    );
    let changed = store.agent(a).await.unwrap().unwrap();
    assert_eq!(
        (changed.role, changed.active, changed.password_hash.as_str()),
        (Role::Supervisor, false, "y")
    );
    let ended = store
        .change_access(
            a,
            &AccessChange {
                sites: Some(vec![]),
                active: Some(true),
                ..AccessChange::default()
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(ended, 0);
    let changed = store.agent(a).await.unwrap().unwrap();
    assert!(changed.active && changed.sites.is_empty() && changed.departments.is_empty());

    let first = store.secret("k", b"first").await.unwrap();
    let second = store.secret("k", b"second").await.unwrap();
    assert_eq!(
        (first.as_slice(), second.as_slice()),
        (&b"first"[..], &b"first"[..])
    );
}

async fn appends_number_messages_and_are_idempotent(backend: Backend) {
    let (_db, store) = open_store(backend, 4).await;
    let s = site(store.as_ref(), "k").await;
    let v = new_visitor(store.as_ref(), s).await;
    let open = visitor_open(s, None);
    let batch = vec![
        append(Author::Visitor(v), open.clone(), "c1", "first"),
        append(Author::Visitor(v), open.clone(), "c2", "second"),
        append(Author::Visitor(v), open.clone(), "c1", "first"),
    ];
    let outcomes = store.append_batch(&batch).await.unwrap();
    let first = outcomes[0].as_ref().unwrap();
    assert!(first.opened && !first.duplicate);
    assert_eq!(first.message.seq, 1);
    assert_eq!(first.follow_ups.len(), 1);
    assert_eq!(first.follow_ups[0].seq, 2);
    assert_eq!(first.follow_ups[0].author, AuthorKind::System);
    assert_eq!(first.conversation.status, ConversationStatus::Queued);
    let second = outcomes[1].as_ref().unwrap();
    assert_eq!((second.message.seq, second.opened), (3, false));
    let resend = outcomes[2].as_ref().unwrap();
    assert!(resend.duplicate);
    assert_eq!(resend.message.seq, 1);
    let conversation = first.conversation.id;

    let conflict = store
        .append_batch(&[append(Author::Visitor(v), open.clone(), "c1", "changed")])
        .await
        .unwrap();
    assert_eq!(
        conflict[0].as_ref().err(),
        Some(&AppendRejection::ClientIdConflict)
    );

    // Paging by seq.
    let page = store.messages_after(conversation, 0, 2).await.unwrap();
    assert_eq!(page.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
    let rest = store.messages_after(conversation, 2, 100).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![3]);
    assert_eq!(
        store
            .conversation(conversation)
            .await
            .unwrap()
            .unwrap()
            .last_seq,
        3
    );

    // After closing, the next message opens a new conversation.
    assert!(
        store
            .close_conversation(conversation, 20)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .close_conversation(conversation, 21)
            .await
            .unwrap()
            .is_none()
    );
    let reopened = store
        .append_batch(&[append(Author::Visitor(v), open, "c3", "back again")])
        .await
        .unwrap();
    let reopened = reopened[0].as_ref().unwrap();
    assert!(reopened.opened);
    assert_ne!(reopened.conversation.id, conversation);
    assert_eq!(reopened.message.seq, 1);
}

async fn appends_refuse_what_the_author_may_not_do(backend: Backend) {
    let (_db, store) = open_store(backend, 4).await;
    let s = site(store.as_ref(), "k").await;
    let other_site = site(store.as_ref(), "k2").await;
    let v = new_visitor(store.as_ref(), s).await;
    let stranger = new_visitor(store.as_ref(), s).await;
    let a = new_agent(store.as_ref(), "a@example.test", 3, &[s]).await;
    let opened = append_one(
        store.as_ref(),
        append(Author::Visitor(v), visitor_open(s, None), "o", "hi"),
    )
    .await;
    let conversation = opened.unwrap().conversation.id;
    let in_chat = Target::Conversation(conversation);
    let missing = Target::Conversation(ConversationId::from_uuid(Uuid::now_v7()));
    let cases = [
        (
            Author::Visitor(stranger),
            in_chat.clone(),
            AppendRejection::NotFound,
        ),
        (
            Author::Agent(a),
            in_chat.clone(),
            AppendRejection::Forbidden,
        ),
        (Author::Visitor(v), missing, AppendRejection::NotFound),
        (
            Author::Visitor(v),
            visitor_open(other_site, None),
            AppendRejection::Forbidden,
        ),
    ];
    for (i, (author, target, rejection)) in cases.into_iter().enumerate() {
        let item = append(author, target, &format!("x{i}"), "hi");
        let outcome = append_one(store.as_ref(), item).await;
        assert_eq!(outcome.err(), Some(rejection), "case {i}");
    }
    store.close_conversation(conversation, 5).await.unwrap();
    let closed = append_one(
        store.as_ref(),
        append(Author::Visitor(v), in_chat, "x5", "hi"),
    )
    .await;
    assert_eq!(closed.err(), Some(AppendRejection::ConversationClosed));
    // Nothing refused was stored.
    assert_eq!(
        store
            .messages_after(conversation, 0, 100)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn assignment_respects_online_membership_and_caps(backend: Backend) {
    let (_db, store) = open_store(backend, 4).await;
    let s = site(store.as_ref(), "k").await;
    let other = site(store.as_ref(), "k2").await;
    let department = store.site(s).await.unwrap().unwrap().default_department_id;
    let other_department = store
        .site(other)
        .await
        .unwrap()
        .unwrap()
        .default_department_id;
    let member = new_agent(store.as_ref(), "member@example.test", 1, &[s]).await;
    let outsider = new_agent(store.as_ref(), "outsider@example.test", 5, &[other]).await;
    assert!(
        store.queue_heads(s).await.unwrap().is_empty(),
        "nothing waits yet"
    );

    let mut chats = Vec::new();
    let mut visitors = Vec::new();
    for _ in 0..3 {
        let chat = open_conversation(store.as_ref(), s, None).await;
        chats.push(chat.id);
        visitors.push(chat.visitor_id);
    }
    let queue = store.queue(s).await.unwrap();
    assert_eq!(
        queue.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        queue.iter().map(|e| e.conversation_id).collect::<Vec<_>>(),
        chats
    );
    // The agents connect through a node whose lease ends at 100.
    let node = NodeId::new();
    store.register_node(node, 1, 100).await.unwrap();
    let assign = |conversation, agent, via| Assignment {
        conversation,
        agent,
        via_department: via,
        rule: RoutingRule::OnlyCandidate,
        candidates: Vec::new(),
    };

    // Offline agents get nothing; outsiders get nothing.
    let attempt = assign(chats[0], member, department);
    assert!(!assigns(store.as_ref(), &attempt, 50).await);
    store.agent_connected(outsider, node, 50).await.unwrap();
    assert!(!assigns(store.as_ref(), &assign(chats[0], outsider, department), 50).await);
    assert!(
        !assigns(
            store.as_ref(),
            &assign(chats[0], outsider, other_department),
            50
        )
        .await,
        "another site's department is not a fallback"
    );
    let heads = store.queue_heads(s).await.unwrap();
    assert_eq!(
        heads.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![chats[0]],
        "oldest first"
    );
    assert!(nobody_serves(store.as_ref(), department, visitors[0]).await);

    store.agent_connected(member, node, 60).await.unwrap();
    let candidates = store.candidates(department, visitors[0]).await.unwrap();
    assert_eq!(candidates.len(), 1);
    assert_eq!((candidates[0].open_chats, candidates[0].sticky), (0, false));
    // Away agents take no new chats.
    store.set_agent_away(member, true).await.unwrap();
    assert!(nobody_serves(store.as_ref(), department, visitors[0]).await);
    assert!(!assigns(store.as_ref(), &attempt, 61).await);
    store.set_agent_away(member, false).await.unwrap();

    let assigned = store.try_assign(&attempt, 70).await.unwrap().unwrap();
    assert_eq!(assigned.status, ConversationStatus::Assigned);
    assert_eq!(assigned.agent.map(|a| a.id), Some(member));
    // Already assigned; and the cap of 1 is full.
    assert!(!assigns(store.as_ref(), &attempt, 71).await);
    assert!(!assigns(store.as_ref(), &assign(chats[1], member, department), 72).await);
    assert_eq!(store.queue(s).await.unwrap().len(), 2);
    let audit = store.routing_decisions(chats[0]).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].agent_id, audit[0].rule),
        (Some(member), RoutingRule::OnlyCandidate)
    );

    // A close frees the slot; the visitor's next chat is sticky to this agent.
    store.close_conversation(chats[0], 80).await.unwrap();
    assert!(store.candidates(department, visitors[0]).await.unwrap()[0].sticky);
    assert!(!store.candidates(department, visitors[1]).await.unwrap()[0].sticky);
    assert!(assigns(store.as_ref(), &assign(chats[1], member, department), 81).await);
    assert_eq!(
        store.recent_assignments(department, 10).await.unwrap(),
        vec![81, 70]
    );

    // Their node dies: once its lease has run out, its agents are offline as of the lease's
    // end, which starts their grace period; past it, their chats go back to the front.
    assert!(store.release_expired_nodes(100).await.unwrap().is_empty());
    let mut released = store.release_expired_nodes(101).await.unwrap();
    released.sort();
    let mut expected = vec![outsider, member];
    expected.sort();
    assert_eq!(released, expected);
    assert!(nobody_serves(store.as_ref(), department, visitors[2]).await);
    assert!(
        store
            .requeue_abandoned(99, 150, "back in the queue")
            .await
            .unwrap()
            .is_empty()
    );
    let requeued = store
        .requeue_abandoned(100, 160, "back in the queue")
        .await
        .unwrap();
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0].conversation.id, chats[1]);
    assert_eq!(requeued[0].previous_agent, member);
    assert_eq!(requeued[0].notice.body, "back in the queue");
    let heads = store.queue_heads(s).await.unwrap();
    assert_eq!(heads[0].id, chats[1], "a re-queued chat goes to the front");
}

/// Group commit: many sends at once are committed in fewer transactions than sends, and each
/// sender still gets its own outcome.
async fn concurrent_sends_share_transactions(backend: Backend) {
    let (_db, store) = open_store(backend, 4).await;
    let s = site(store.as_ref(), "k").await;
    let (commits, _task) =
        bellhop_server::store::commit::GroupCommit::start(store.clone(), 512, Box::new(|_| {}));
    let mut visitors = Vec::new();
    for _ in 0..200 {
        visitors.push(new_visitor(store.as_ref(), s).await);
    }
    let sends: Vec<_> = visitors
        .iter()
        .map(|v| {
            let commits = commits.clone();
            let item = append(Author::Visitor(*v), visitor_open(s, None), "one", "hi");
            tokio::spawn(async move { commits.append(item).await })
        })
        .collect();
    for send in sends {
        let appended = send.await.unwrap().unwrap().unwrap();
        assert_eq!(appended.message.seq, 1);
    }
    let (transactions, appends) = commits.stats().totals();
    assert_eq!(appends, 200);
    assert!(
        transactions < appends,
        "{appends} concurrent sends took {transactions} transactions"
    );
}

/// `conversations_by_ids` reads the named conversations in one go: each known one once,
/// whatever the order or repetition of the ids, and nothing for unknown ids or none at all.
async fn conversations_by_ids_returns_exactly_the_asked_ones(backend: Backend) {
    let (_db, store) = open_store(backend, 4).await;
    let s = site(store.as_ref(), "k").await;
    let mut opened = Vec::new();
    for _ in 0..5 {
        opened.push(open_conversation(store.as_ref(), s, None).await);
    }
    let unknown = ConversationId::from_uuid(Uuid::now_v7());
    let asked = [
        opened[3].id,
        unknown,
        opened[0].id,
        opened[3].id,
        opened[4].id,
    ];
    let mut got = store.conversations_by_ids(&asked).await.unwrap();
    got.sort_by_key(|c| c.id);
    let mut expected = vec![opened[0].clone(), opened[3].clone(), opened[4].clone()];
    expected.sort_by_key(|c| c.id);
    assert_eq!(got, expected);
    assert!(store.conversations_by_ids(&[]).await.unwrap().is_empty());
    assert!(
        store
            .conversations_by_ids(&[unknown])
            .await
            .unwrap()
            .is_empty()
    );
    // More ids than one statement binds at once still come back whole.
    let mut many: Vec<ConversationId> = (0..1200)
        .map(|_| ConversationId::from_uuid(Uuid::now_v7()))
        .collect();
    many.push(opened[1].id);
    let got = store.conversations_by_ids(&many).await.unwrap();
    assert_eq!(got, vec![opened[1].clone()]);
}

/// Leads page newest first; leads created in the same millisecond are ordered by id, so a
/// walk page by page from the cursor meets every lead exactly once, within its filters.
async fn leads_page_newest_first_with_ties_broken_by_id(backend: Backend) {
    use bellhop_protocol::LeadId;
    use bellhop_protocol::api::{Lead, LeadCursor, LeadKind};

    let (_db, store) = open_store(backend, 4).await;
    let s = site(store.as_ref(), "k").await;
    let other = site(store.as_ref(), "other").await;
    let lead = |site_id, created_at| Lead {
        id: LeadId::from_uuid(Uuid::new_v4()),
        site_id,
        visitor_id: None,
        kind: LeadKind::Offline,
        department_id: None,
        name: Some("Nina".into()),
        email: None,
        phone: None,
        message: None,
        custom: Default::default(),
        consent: false,
        page: Default::default(),
        utm: Default::default(),
        created_at,
        conversation_id: None,
    };
    let mut mine = Vec::new();
    // Three milliseconds, four leads each: ties within every one.
    for created_at in [1_000, 2_000, 3_000] {
        for _ in 0..4 {
            mine.push(store.create_lead(lead(s, created_at)).await.unwrap());
            store.create_lead(lead(other, created_at)).await.unwrap();
        }
    }
    mine.sort_by_key(|l| std::cmp::Reverse((l.created_at, l.id)));
    let filter = LeadFilter {
        sites: Some(vec![s]),
        ..LeadFilter::default()
    };
    assert_eq!(
        store.leads(&filter).await.unwrap(),
        mine,
        "unpaged: every lead"
    );

    let mut walked = Vec::new();
    let mut before: Option<LeadCursor> = None;
    loop {
        let page = store
            .leads(&LeadFilter {
                before,
                limit: Some(5),
                ..filter.clone()
            })
            .await
            .unwrap();
        assert!(page.len() <= 5);
        let Some(last) = page.last() else { break };
        before = Some(LeadCursor::of(last));
        walked.extend(page);
    }
    assert_eq!(walked, mine);
    let everywhere = store.leads(&LeadFilter::default()).await.unwrap();
    assert_eq!(everywhere.len(), 24);
    let nowhere = LeadFilter {
        sites: Some(Vec::new()),
        ..LeadFilter::default()
    };
    assert!(store.leads(&nowhere).await.unwrap().is_empty());
}
