//! The routing invariants, enforced by the database rather than by luck:
//! 1. a conversation has at most one assigned agent (and a waiting one none);
//! 2. no agent ever has more open chats than their cap;
//! 3. no conversation waits while an agent who may serve it has room.
//!
//! A property test drives random arrivals, agent status changes, closes and transfers through
//! the real store and router and checks all three after every step; a race test lets many
//! routing passes compete on many pool connections for 200 chats and 10 agents.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bellhop_protocol::api::Department;
use bellhop_protocol::frames::{Conversation, ConversationStatus, Priority, TransferTarget};
use bellhop_protocol::{AgentId, DepartmentId, SiteId};
use bellhop_server::assignment::{Announced, pass};
use bellhop_server::bus::local::LocalBus;
use bellhop_server::clock::now_millis;
use bellhop_server::hub::Hub;
use bellhop_server::store::{ConversationFilter, NewDepartment, NodeId, Store};
use bellhop_tests::fixtures::{new_agent, new_site, open_conversation, open_store};
use bellhop_tests::{Backend, both_backends};
use proptest::prelude::*;
use uuid::Uuid;

async fn all_conversations(store: &dyn Store) -> Vec<Conversation> {
    store
        .conversations(&ConversationFilter::default())
        .await
        .expect("conversations")
}

/// Checks the three invariants from what the database holds, independently of the router.
async fn check_invariants(store: &dyn Store, site: SiteId) {
    let conversations = all_conversations(store).await;
    let agents = store.agents().await.expect("agents");
    let departments: HashMap<DepartmentId, Department> = store
        .departments(site)
        .await
        .expect("departments")
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let mut open: HashMap<AgentId, u32> = HashMap::new();
    for c in &conversations {
        match c.status {
            ConversationStatus::Assigned => {
                let agent = c.agent.as_ref().expect("an assigned chat has an agent");
                *open.entry(agent.id).or_default() += 1;
            }
            ConversationStatus::Queued => assert!(c.agent.is_none(), "a waiting chat has no agent"),
            ConversationStatus::Closed => {}
        }
    }
    for agent in &agents {
        let load = open.get(&agent.id).copied().unwrap_or(0);
        assert!(
            load <= agent.max_chats,
            "{} has {load} chats over a cap of {}",
            agent.email,
            agent.max_chats
        );
    }
    let available = |department: DepartmentId| -> Vec<&bellhop_server::store::Agent> {
        agents
            .iter()
            .filter(|a| a.online && !a.away && a.departments.contains(&department))
            .collect()
    };
    for c in conversations
        .iter()
        .filter(|c| c.status == ConversationStatus::Queued)
    {
        let department = c.department_id.expect("a waiting chat has a department");
        let mut who = available(department);
        if who.is_empty()
            && let Some(fallback) = departments.get(&department).and_then(|d| d.fallback_id)
        {
            who = available(fallback);
        }
        for agent in who {
            let load = open.get(&agent.id).copied().unwrap_or(0);
            assert!(
                load >= agent.max_chats,
                "chat {} waits while {} has room ({load}/{})",
                c.id,
                agent.email,
                agent.max_chats
            );
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Arrive {
        department: usize,
        urgent: bool,
    },
    Connect(usize),
    Disconnect(usize),
    Away(usize, bool),
    /// The grace period of disconnected agents runs out.
    GraceExpires,
    Close(usize),
    TransferToAgent(usize, usize),
    TransferToDepartment(usize, usize),
}

const AGENTS: usize = 4;
const DEPARTMENTS: usize = 3;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..DEPARTMENTS, any::<bool>()).prop_map(|(department, urgent)| Op::Arrive { department, urgent }),
        2 => (0..AGENTS).prop_map(Op::Connect),
        1 => (0..AGENTS).prop_map(Op::Disconnect),
        1 => (0..AGENTS, any::<bool>()).prop_map(|(a, away)| Op::Away(a, away)),
        1 => Just(Op::GraceExpires),
        2 => (0..64usize).prop_map(Op::Close),
        1 => (0..64usize, 0..AGENTS).prop_map(|(c, a)| Op::TransferToAgent(c, a)),
        1 => (0..64usize, 0..DEPARTMENTS).prop_map(|(c, d)| Op::TransferToDepartment(c, d)),
    ]
}

/// Department 0 is the default; 1 falls back to 0; 2 has no fallback. Agents get random
/// caps (0-3) and department sets.
async fn run_ops(setup: &[(u32, Vec<usize>)], ops: &[Op]) {
    let (_db, store) = open_store(Backend::Sqlite, 4).await;
    let node = NodeId::new();
    store.register_node(node, 0, i64::MAX).await.expect("node");
    let site = new_site(store.as_ref(), "prop").await;
    let general = site.default_department_id;
    let mut departments = vec![general];
    for (name, fallback) in [("Sales", Some(general)), ("Tech", None)] {
        let department = store
            .create_department(NewDepartment {
                id: DepartmentId::from_uuid(Uuid::now_v7()),
                site_id: site.id,
                name: name.into(),
                fallback_id: fallback,
                hours: None,
                now: 1,
            })
            .await
            .expect("department");
        departments.push(department.id);
    }
    let mut agents = Vec::new();
    for (i, (cap, member_of)) in setup.iter().enumerate() {
        let id = new_agent(
            store.as_ref(),
            &format!("agent{i}@example.test"),
            *cap,
            &[site.id],
        )
        .await;
        let chosen: Vec<DepartmentId> = member_of.iter().map(|&d| departments[d]).collect();
        store
            .set_agent_departments(id, &chosen)
            .await
            .expect("departments");
        agents.push(id);
    }
    let bus = LocalBus::new(Hub::start(16));
    let mut announced = Announced::new();
    for op in ops {
        let open: Vec<Conversation> = all_conversations(store.as_ref())
            .await
            .into_iter()
            .filter(|c| c.status != ConversationStatus::Closed)
            .collect();
        let pick = |k: usize| open.get(k % open.len().max(1)).map(|c| c.id);
        let now = now_millis();
        match op {
            Op::Arrive { department, urgent } => {
                let c = open_conversation(store.as_ref(), site.id, Some(departments[*department]))
                    .await;
                if *urgent {
                    store
                        .set_priority(c.id, Priority::Urgent)
                        .await
                        .expect("priority");
                }
            }
            Op::Connect(a) => store
                .agent_connected(agents[*a], node, now)
                .await
                .expect("connect"),
            Op::Disconnect(a) => store
                .agent_disconnected(agents[*a], node, now)
                .await
                .expect("disconnect"),
            Op::Away(a, away) => store.set_agent_away(agents[*a], *away).await.expect("away"),
            Op::GraceExpires => {
                store
                    .requeue_abandoned(now, now, "back in the queue")
                    .await
                    .expect("requeue");
            }
            Op::Close(k) => {
                if let Some(c) = pick(*k) {
                    store.close_conversation(c, now).await.expect("close");
                }
            }
            Op::TransferToAgent(k, a) => {
                if let Some(c) = pick(*k) {
                    let to = TransferTarget::Agent {
                        agent_id: agents[*a],
                    };
                    let _ = store.transfer(c, &to, None, now).await.expect("transfer");
                }
            }
            Op::TransferToDepartment(k, d) => {
                if let Some(c) = pick(*k) {
                    let to = TransferTarget::Department {
                        department_id: departments[*d],
                    };
                    let _ = store.transfer(c, &to, None, now).await.expect("transfer");
                }
            }
        }
        pass(store.as_ref(), &bus, site.id, &mut announced)
            .await
            .expect("routing pass");
        check_invariants(store.as_ref(), site.id).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(
        setup in prop::collection::vec((0u32..4, prop::collection::vec(0..DEPARTMENTS, 0..3)), AGENTS),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(run_ops(&setup, &ops));
    }
}

both_backends!(two_hundred_chats_race_for_ten_agents);

/// 200 visitors start chats at once against 10 agents with cap 3, while 16 routing passes race
/// on many pool connections: exactly 30 are assigned (the first 30 in queue order), none twice,
/// no cap exceeded; closing chats then drains the queue in priority and arrival order.
async fn two_hundred_chats_race_for_ten_agents(backend: Backend) {
    let (_db, store) = open_store(backend, 24).await;
    let node = NodeId::new();
    store.register_node(node, 0, i64::MAX).await.expect("node");
    let site = new_site(store.as_ref(), "race").await;
    let mut agents = Vec::new();
    for i in 0..10 {
        let agent = new_agent(
            store.as_ref(),
            &format!("racer{i}@example.test"),
            3,
            &[site.id],
        )
        .await;
        store
            .agent_connected(agent, node, now_millis())
            .await
            .expect("online");
        agents.push(agent);
    }
    // The chats arrive concurrently, each in its own transaction.
    let arrivals: Vec<_> = (0..200)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { open_conversation(store.as_ref(), site.id, None).await })
        })
        .collect();
    let mut chats = Vec::new();
    for arrival in arrivals {
        chats.push(arrival.await.expect("arrival"));
    }
    // Every seventh is urgent.
    for c in chats.iter().step_by(7) {
        store
            .set_priority(c.id, Priority::Urgent)
            .await
            .expect("priority");
    }
    let expected_order = queue_order(&all_conversations(store.as_ref()).await);

    let passes: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let bus = LocalBus::new(Hub::start(16));
                let mut announced = Announced::new();
                pass(store.as_ref(), &bus, site.id, &mut announced).await
            })
        })
        .collect();
    for p in passes {
        p.await.expect("pass task").expect("pass");
    }

    let conversations = all_conversations(store.as_ref()).await;
    let assigned: HashSet<_> = conversations
        .iter()
        .filter(|c| c.status == ConversationStatus::Assigned)
        .map(|c| c.id)
        .collect();
    assert_eq!(assigned.len(), 30);
    let first_30: HashSet<_> = expected_order.iter().take(30).copied().collect();
    assert_eq!(assigned, first_30, "the first 30 in queue order are served");
    for agent in &agents {
        let load = conversations
            .iter()
            .filter(|c| {
                c.status == ConversationStatus::Assigned
                    && c.agent.as_ref().map(|a| a.id) == Some(*agent)
            })
            .count();
        assert_eq!(load, 3, "each agent has exactly its cap");
    }
    for id in &assigned {
        let decisions = store.routing_decisions(*id).await.expect("audit");
        assert_eq!(decisions.len(), 1, "assigned once: {decisions:?}");
    }
    check_invariants(store.as_ref(), site.id).await;

    // Closing chats one by one drains the queue in priority, then arrival, order.
    let bus = LocalBus::new(Hub::start(16));
    let mut announced = Announced::new();
    let mut open: Vec<_> = assigned.into_iter().collect();
    for expected in expected_order.iter().skip(30).take(12) {
        let done = open.pop().expect("an open chat");
        store
            .close_conversation(done, now_millis())
            .await
            .expect("close");
        pass(store.as_ref(), &bus, site.id, &mut announced)
            .await
            .expect("pass");
        let now_assigned = store
            .conversation(*expected)
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(
            now_assigned.status,
            ConversationStatus::Assigned,
            "next in order"
        );
        open.insert(0, *expected);
        check_invariants(store.as_ref(), site.id).await;
    }
}

/// Waiting conversations in the order they must be served: urgent first, then by arrival.
fn queue_order(conversations: &[Conversation]) -> Vec<bellhop_protocol::ConversationId> {
    let mut waiting: Vec<&Conversation> = conversations
        .iter()
        .filter(|c| c.status == ConversationStatus::Queued)
        .collect();
    waiting.sort_by_key(|c| (std::cmp::Reverse(c.priority), c.created_at, c.id));
    waiting.into_iter().map(|c| c.id).collect()
}

#[test]
fn the_invariant_checker_catches_a_waiting_chat_next_to_a_free_agent() {
    // Guard against a checker that passes everything: a queued chat with an available agent
    // and no routing pass must fail the check.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let caught = runtime.block_on(async {
        let (_db, store) = open_store(Backend::Sqlite, 2).await;
        let node = NodeId::new();
        store.register_node(node, 0, i64::MAX).await.expect("node");
        let site = new_site(store.as_ref(), "guard").await;
        let agent = new_agent(store.as_ref(), "free@example.test", 3, &[site.id]).await;
        store
            .agent_connected(agent, node, now_millis())
            .await
            .expect("online");
        open_conversation(store.as_ref(), site.id, None).await;
        let store: Arc<dyn Store> = store;
        tokio::spawn(async move { check_invariants(store.as_ref(), site.id).await })
            .await
            .is_err()
    });
    assert!(
        caught,
        "the checker must flag a chat waiting beside a free agent"
    );
}
