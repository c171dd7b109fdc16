//! What a feed shows, as pure functions over what the store read: one site's part of the queue
//! view or of the wallboard, and the whole frame of a subscriber's sites put together from
//! those parts.

use std::collections::BTreeMap;

use bellhop_protocol::console::{AgentBoard, DepartmentBoard, QueueEntry, SiteToday, Wallboard};
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{AgentId, DepartmentId, SiteId};

use crate::store::{AgentLoad, DepartmentStaff, WaitingChat};

/// The longest preview of a visitor's message, in characters.
pub const PREVIEW_CHARS: usize = 120;

/// The start of a visitor's message as the queue shows it: whitespace runs (line breaks
/// included) become one space, and a text longer than [`PREVIEW_CHARS`] is cut, ending in
/// `…`. Nothing but spaces is no preview.
pub fn preview(text: &str) -> Option<String> {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return None;
    }
    if flat.chars().count() <= PREVIEW_CHARS {
        return Some(flat);
    }
    let cut: String = flat.chars().take(PREVIEW_CHARS - 1).collect();
    Some(format!("{}…", cut.trim_end()))
}

/// A site's queue entries, in queue order per department. The visitor's name is the one the
/// site vouched for (a verified `name` attribute), else the pre-chat form's.
pub fn queue_part(site: SiteId, waiting: &[WaitingChat]) -> Vec<QueueEntry> {
    waiting
        .iter()
        .map(|chat| QueueEntry {
            conversation_id: chat.conversation_id,
            site_id: site,
            department_id: Some(chat.department_id),
            priority: chat.priority,
            position: chat.position,
            waiting_since: chat.waiting_since,
            visitor_name: chat
                .verified_name
                .clone()
                .or_else(|| chat.lead_name.clone()),
            preview: chat.last_text.as_deref().and_then(preview),
        })
        .collect()
}

/// One site's share of the wallboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardPart {
    pub departments: Vec<DepartmentBoard>,
    pub agents: Vec<AgentLoad>,
    pub today: SiteToday,
}

/// A site's wallboard part: each department (in the store's order) with its queue depth and
/// longest wait, its agents and today's figures.
pub fn board_part(
    site: SiteId,
    staff: &[DepartmentStaff],
    waiting: &[WaitingChat],
    agents: Vec<AgentLoad>,
    today: SiteToday,
) -> BoardPart {
    let mut queues: BTreeMap<DepartmentId, (u32, Option<Millis>)> = BTreeMap::new();
    for chat in waiting {
        let (queued, longest) = queues.entry(chat.department_id).or_default();
        *queued += 1;
        *longest = Some(longest.map_or(chat.waiting_since, |l| l.min(chat.waiting_since)));
    }
    let departments = staff
        .iter()
        .map(|department| {
            let (queued, longest) = queues
                .get(&department.department_id)
                .copied()
                .unwrap_or_default();
            DepartmentBoard {
                site_id: site,
                department_id: department.department_id,
                name: department.name.clone(),
                queued,
                longest_waiting_since: longest,
                agents_online: department.agents_online,
            }
        })
        .collect();
    BoardPart {
        departments,
        agents,
        today,
    }
}

/// The wallboard of several sites, from their parts in the order given: departments and
/// sites in that order; each agent once, by name, with their open chats summed over these
/// sites only (chats of sites the subscriber does not reach are not theirs to see).
pub fn board(parts: &[&BoardPart], generated_at: Millis) -> Wallboard {
    let mut agents: BTreeMap<AgentId, AgentBoard> = BTreeMap::new();
    for load in parts.iter().flat_map(|part| &part.agents) {
        agents
            .entry(load.agent.id)
            .and_modify(|board| board.open_chats += load.open_chats)
            .or_insert_with(|| AgentBoard {
                agent: load.agent.clone(),
                status: load.status,
                open_chats: load.open_chats,
                max_chats: load.max_chats,
            });
    }
    let mut agents: Vec<AgentBoard> = agents.into_values().collect();
    agents.sort_by(|a, b| {
        (&a.agent.display_name, a.agent.id).cmp(&(&b.agent.display_name, b.agent.id))
    });
    Wallboard {
        generated_at,
        departments: parts
            .iter()
            .flat_map(|part| part.departments.iter().cloned())
            .collect(),
        agents,
        sites: parts.iter().map(|part| part.today.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use bellhop_protocol::ConversationId;
    use bellhop_protocol::frames::{AgentRef, AgentStatus, Priority};
    use uuid::Uuid;

    fn id<T: From<Uuid>>(n: u128) -> T {
        T::from(Uuid::from_u128(n))
    }

    fn waiting(n: u128, department: u128, position: u32, since: Millis) -> WaitingChat {
        WaitingChat {
            conversation_id: ConversationId::from_uuid(Uuid::from_u128(n)),
            department_id: DepartmentId::from_uuid(Uuid::from_u128(department)),
            priority: Priority::Normal,
            position,
            waiting_since: since,
            lead_name: None,
            verified_name: None,
            last_text: None,
        }
    }

    fn load(n: u128, name: &str, open: u32) -> AgentLoad {
        AgentLoad {
            agent: AgentRef {
                id: AgentId::from_uuid(Uuid::from_u128(n)),
                display_name: name.into(),
            },
            status: AgentStatus::Online,
            open_chats: open,
            max_chats: 3,
        }
    }

    fn today(site: SiteId) -> SiteToday {
        SiteToday {
            site_id: site,
            name: "Site".into(),
            date: "2025-03-14".into(),
            chats: 0,
            missed: 0,
            avg_first_response_ms: None,
        }
    }

    #[test]
    fn previews_are_one_line_and_at_most_120_characters() {
        assert_eq!(
            preview("  Where is\n my  parcel? ").as_deref(),
            Some("Where is my parcel?")
        );
        assert_eq!(preview(" \n\t"), None);
        let long = "слово ".repeat(40);
        let cut = preview(&long).unwrap();
        assert_eq!(cut.chars().count(), 120, "{cut}");
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("слово слово"));
        let one_word = "x".repeat(500);
        assert_eq!(preview(&one_word).unwrap().chars().count(), 120);
        let exact = "y".repeat(120);
        assert_eq!(preview(&exact).as_deref(), Some(exact.as_str()));
        // Markup is text like any other: the console inserts it as text.
        assert_eq!(preview("<b>hi</b>").as_deref(), Some("<b>hi</b>"));
    }

    #[test]
    fn the_verified_name_comes_before_the_forms() {
        let site: SiteId = id(1);
        let mut chat = waiting(5, 10, 1, 100);
        chat.lead_name = Some("Ada (form)".into());
        chat.last_text = Some("Hello\nthere".into());
        let entries = queue_part(site, std::slice::from_ref(&chat));
        assert_eq!(entries[0].visitor_name.as_deref(), Some("Ada (form)"));
        assert_eq!(entries[0].preview.as_deref(), Some("Hello there"));
        chat.verified_name = Some("Ada Lovelace".into());
        let entries = queue_part(site, &[chat]);
        assert_eq!(entries[0].visitor_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(entries[0].site_id, site);
    }

    #[test]
    fn departments_show_their_queue_depth_and_longest_wait() {
        let site: SiteId = id(1);
        let staff = [
            DepartmentStaff {
                department_id: id(10),
                name: "General".into(),
                agents_online: 2,
            },
            DepartmentStaff {
                department_id: id(11),
                name: "Returns".into(),
                agents_online: 0,
            },
        ];
        let waiting = [waiting(1, 10, 1, 500), waiting(2, 10, 2, 300)];
        let part = board_part(site, &staff, &waiting, Vec::new(), today(site));
        let rows: Vec<(u32, Option<Millis>, u32)> = part
            .departments
            .iter()
            .map(|d| (d.queued, d.longest_waiting_since, d.agents_online))
            .collect();
        assert_eq!(rows, vec![(2, Some(300), 2), (0, None, 0)]);
    }

    #[test]
    fn an_agent_of_two_sites_appears_once_with_the_chats_of_those_sites() {
        let (a, b): (SiteId, SiteId) = (id(1), id(2));
        let part_a = board_part(
            a,
            &[],
            &[],
            vec![load(20, "Maya", 1), load(21, "Ben", 0)],
            today(a),
        );
        let part_b = board_part(b, &[], &[], vec![load(20, "Maya", 2)], today(b));
        let both = board(&[&part_a, &part_b], 7);
        let agents: Vec<(&str, u32)> = both
            .agents
            .iter()
            .map(|a| (a.agent.display_name.as_str(), a.open_chats))
            .collect();
        assert_eq!(agents, vec![("Ben", 0), ("Maya", 3)]);
        assert_eq!(both.sites.len(), 2);
        assert_eq!(both.generated_at, 7);
        let only_b = board(&[&part_b], 7);
        assert_eq!(only_b.agents[0].open_chats, 2);
    }
}
