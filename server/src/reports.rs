//! Reports: the stored facts of a site's conversations ([`ChatFacts`]) grouped by the local
//! date they opened on (in the site's time zone), by agent or by department, with their
//! figures: chats, missed chats, mean first response, queue wait and duration, ratings and
//! their mean. The wallboard's "today" is the same figures over one local day.
//!
//! Everything here is pure: the store reads the facts with one query on either database, and
//! these functions decide which local day an instant belongs to, what a day's bounds are
//! (23 or 25 hours long on a daylight-saving change) and what each mean is.

use std::collections::BTreeMap;

use bellhop_protocol::api::{Department, SiteSettings};
use bellhop_protocol::console::{Report, ReportGroup, ReportRow, SiteToday};
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{DepartmentId, SiteId};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::store::ChatFacts;

/// The longest range a report covers, in days.
pub(crate) const MAX_DAYS: u64 = 366;

/// The time zone "today" and report dates use: the site's business hours', else UTC.
pub(crate) fn site_zone(site: &SiteSettings) -> Tz {
    site.config
        .business_hours
        .as_ref()
        .and_then(|hours| hours.time_zone.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// A `YYYY-MM-DD` date, exactly that form.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let ok = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// The first instant of the local date `date` in `tz`: its midnight, or, where a
/// daylight-saving change skips midnight, the first local time that exists after it.
pub(crate) fn day_start(tz: Tz, date: NaiveDate) -> Millis {
    let mut time = NaiveTime::MIN;
    // Gaps are at most a few hours; look minute by minute for the first local time there is.
    for _ in 0..(24 * 60) {
        if let Some(instant) = tz.from_local_datetime(&date.and_time(time)).earliest() {
            return instant.timestamp_millis();
        }
        time += chrono::Duration::minutes(1);
    }
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

/// The instants `[start, end)` of the local dates `from` to `to` (inclusive).
pub(crate) fn range_bounds(tz: Tz, from: NaiveDate, to: NaiveDate) -> (Millis, Millis) {
    let next = to.checked_add_days(Days::new(1)).unwrap_or(to);
    (day_start(tz, from), day_start(tz, next))
}

/// The local date of an instant in `tz`.
pub(crate) fn local_date(tz: Tz, at: Millis) -> NaiveDate {
    let utc = DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default();
    utc.with_timezone(&tz).date_naive()
}

/// Why a report's query was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RangeError {
    #[error("{0}: not a date (YYYY-MM-DD)")]
    BadDate(&'static str),
    #[error("`from` is after `to`")]
    Reversed,
    #[error("a report covers at most {MAX_DAYS} days")]
    TooLong,
}

/// The local dates a report's `from` and `to` name, checked: real dates, in order, at most
/// [`MAX_DAYS`] days.
pub(crate) fn parse_range(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), RangeError> {
    let from = parse_date(from).ok_or(RangeError::BadDate("from"))?;
    let to = parse_date(to).ok_or(RangeError::BadDate("to"))?;
    if from > to {
        return Err(RangeError::Reversed);
    }
    let days = to.signed_duration_since(from).num_days() + 1;
    if u64::try_from(days).map_or(true, |days| days > MAX_DAYS) {
        return Err(RangeError::TooLong);
    }
    Ok((from, to))
}

/// Sums for one group; [`Figures::row`] turns them into means.
#[derive(Clone, Debug, Default, PartialEq)]
struct Figures {
    chats: u32,
    missed: u32,
    first_response: Mean,
    queue_wait: Mean,
    duration: Mean,
    ratings: Mean,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Mean {
    sum: u64,
    count: u32,
}

impl Mean {
    fn add(&mut self, value: u64) {
        self.sum = self.sum.saturating_add(value);
        self.count += 1;
    }

    /// Rounded to the nearest whole unit (halves up).
    fn rounded(self) -> Option<u64> {
        (self.count > 0).then(|| {
            let count = u64::from(self.count);
            (self.sum + count / 2) / count
        })
    }
}

/// `to - from`, never negative (clocks of two nodes may differ by a little).
fn span(from: Millis, to: Millis) -> u64 {
    u64::try_from(to.saturating_sub(from)).unwrap_or(0)
}

impl Figures {
    fn add(&mut self, chat: &ChatFacts) {
        self.chats += 1;
        if chat.missed {
            self.missed += 1;
        }
        if let Some(at) = chat.first_agent_message_at {
            self.first_response.add(span(chat.created_at, at));
        }
        if let Some(at) = chat.first_assigned_at {
            self.queue_wait.add(span(chat.created_at, at));
        }
        if let Some(at) = chat.closed_at {
            self.duration.add(span(chat.created_at, at));
        }
        if let Some(score) = chat.rating {
            self.ratings.add(u64::from(score));
        }
    }

    fn row(&self, key: String, label: String) -> ReportRow {
        let csat = (self.ratings.count > 0).then(|| {
            // A mean of 1-to-5 scores, to two decimals.
            let mean = self.ratings.sum as f64 / f64::from(self.ratings.count);
            (mean * 100.0).round() / 100.0
        });
        ReportRow {
            key,
            label,
            chats: self.chats,
            missed: self.missed,
            avg_first_response_ms: self.first_response.rounded(),
            avg_queue_wait_ms: self.queue_wait.rounded(),
            avg_duration_ms: self.duration.rounded(),
            ratings: self.ratings.count,
            csat_average: csat,
        }
    }
}

/// What a report is about, besides its facts.
pub(crate) struct ReportScope<'a> {
    pub(crate) site: SiteId,
    pub(crate) tz: Tz,
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) group: ReportGroup,
    /// The site's departments, for their names (every one gets a row when grouping by
    /// department).
    pub(crate) departments: &'a [Department],
}

/// The key and label of the row for chats with no agent or department.
pub(crate) const NONE_KEY: &str = "";
pub(crate) const UNASSIGNED_LABEL: &str = "Unassigned";
pub(crate) const TOTAL_KEY: &str = "total";
pub(crate) const TOTAL_LABEL: &str = "Total";

/// Groups the facts of the chats opened in the scope's range (others are ignored) into a
/// report: by day, every local date of the range, empty ones too; by agent, each agent who
/// served one of the chats, by name, then the chats nobody served; by department, every
/// department of the site, by name (then chats of none). The total covers every chat.
pub(crate) fn build(scope: &ReportScope<'_>, facts: &[ChatFacts]) -> Report {
    let (start, end) = range_bounds(scope.tz, scope.from, scope.to);
    let chats = facts
        .iter()
        .filter(|chat| chat.created_at >= start && chat.created_at < end);
    let mut total = Figures::default();
    let rows = match scope.group {
        ReportGroup::Day => {
            let mut days: BTreeMap<NaiveDate, Figures> = BTreeMap::new();
            let mut day = scope.from;
            while day <= scope.to {
                days.insert(day, Figures::default());
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
            for chat in chats {
                total.add(chat);
                days.entry(local_date(scope.tz, chat.created_at))
                    .or_default()
                    .add(chat);
            }
            days.into_iter()
                .map(|(day, figures)| {
                    let date = day.format("%Y-%m-%d").to_string();
                    figures.row(date.clone(), date)
                })
                .collect()
        }
        ReportGroup::Agent => {
            let mut agents: BTreeMap<(String, String), Figures> = BTreeMap::new();
            let mut unassigned: Option<Figures> = None;
            for chat in chats {
                total.add(chat);
                match &chat.agent {
                    Some(agent) => agents
                        .entry((agent.display_name.clone(), agent.id.to_string()))
                        .or_default()
                        .add(chat),
                    None => unassigned.get_or_insert_with(Figures::default).add(chat),
                }
            }
            let mut rows: Vec<ReportRow> = agents
                .into_iter()
                .map(|((name, id), figures)| figures.row(id, name))
                .collect();
            rows.extend(
                unassigned.map(|f| f.row(NONE_KEY.to_owned(), UNASSIGNED_LABEL.to_owned())),
            );
            rows
        }
        ReportGroup::Department => {
            let mut by_id: BTreeMap<DepartmentId, Figures> = scope
                .departments
                .iter()
                .map(|d| (d.id, Figures::default()))
                .collect();
            let mut none: Option<Figures> = None;
            for chat in chats {
                total.add(chat);
                match chat.department_id {
                    Some(id) => by_id.entry(id).or_default().add(chat),
                    None => none.get_or_insert_with(Figures::default).add(chat),
                }
            }
            let name_of = |id: DepartmentId| {
                scope
                    .departments
                    .iter()
                    .find(|d| d.id == id)
                    .map_or_else(|| id.to_string(), |d| d.name.clone())
            };
            let mut named: Vec<(String, DepartmentId, Figures)> = by_id
                .into_iter()
                .map(|(id, figures)| (name_of(id), id, figures))
                .collect();
            named.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            let mut rows: Vec<ReportRow> = named
                .into_iter()
                .map(|(name, id, figures)| figures.row(id.to_string(), name))
                .collect();
            rows.extend(none.map(|f| f.row(NONE_KEY.to_owned(), UNASSIGNED_LABEL.to_owned())));
            rows
        }
    };
    Report {
        site_id: scope.site,
        time_zone: scope.tz.name().to_owned(),
        from: scope.from.format("%Y-%m-%d").to_string(),
        to: scope.to.format("%Y-%m-%d").to_string(),
        group: scope.group,
        rows,
        total: total.row(TOTAL_KEY.to_owned(), TOTAL_LABEL.to_owned()),
    }
}

/// Today's figures of a site (the wallboard's): the chats that opened on the local date of
/// `now`, from the facts of that day.
pub(crate) fn today(
    site: SiteId,
    name: &str,
    tz: Tz,
    now: Millis,
    facts: &[ChatFacts],
) -> SiteToday {
    let date = local_date(tz, now);
    let (start, end) = range_bounds(tz, date, date);
    let mut figures = Figures::default();
    for chat in facts
        .iter()
        .filter(|chat| chat.created_at >= start && chat.created_at < end)
    {
        figures.add(chat);
    }
    SiteToday {
        site_id: site,
        name: name.to_owned(),
        date: date.format("%Y-%m-%d").to_string(),
        chats: figures.chats,
        missed: figures.missed,
        avg_first_response_ms: figures.first_response.rounded(),
    }
}

/// The CSV columns of a report, the JSON row's field names.
pub(crate) const CSV_HEADER: [&str; 9] = [
    "key",
    "label",
    "chats",
    "missed",
    "avg_first_response_ms",
    "avg_queue_wait_ms",
    "avg_duration_ms",
    "ratings",
    "csat_average",
];

/// A report as a CSV document for spreadsheets: UTF-8 with a byte order mark (so that
/// spreadsheet programs read the names in any script as UTF-8), a header row, one record per
/// row, then the total; cells that look like formulas are neutralised (see
/// [`crate::leads::csv_document`]).
pub(crate) fn to_csv(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let cells = |row: &ReportRow| {
        let optional = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        vec![
            row.key.clone(),
            row.label.clone(),
            row.chats.to_string(),
            row.missed.to_string(),
            optional(row.avg_first_response_ms),
            optional(row.avg_queue_wait_ms),
            optional(row.avg_duration_ms),
            row.ratings.to_string(),
            row.csat_average.map(|v| v.to_string()).unwrap_or_default(),
        ]
    };
    let records = report
        .rows
        .iter()
        .chain(std::iter::once(&report.total))
        .map(cells);
    // The shared writer starts the document with the byte order mark.
    crate::leads::csv_document(&CSV_HEADER, records)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use bellhop_protocol::frames::AgentRef;
    use bellhop_protocol::{AgentId, ConversationId};
    use uuid::Uuid;

    const SECOND: Millis = 1000;
    const MINUTE: Millis = 60 * SECOND;

    fn date(text: &str) -> NaiveDate {
        parse_date(text).unwrap()
    }

    /// The instant of a local wall-clock time `YYYY-MM-DD HH:MM:SS` in `tz` (the earlier
    /// one when ambiguous).
    fn local(tz: Tz, text: &str) -> Millis {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
        tz.from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .timestamp_millis()
    }

    fn agent(n: u128, name: &str) -> AgentRef {
        AgentRef {
            id: AgentId::from_uuid(Uuid::from_u128(n)),
            display_name: name.into(),
        }
    }

    fn department(n: u128, name: &str) -> Department {
        Department {
            id: DepartmentId::from_uuid(Uuid::from_u128(n)),
            site_id: site(),
            name: name.into(),
            fallback_id: None,
            hours: None,
        }
    }

    fn site() -> SiteId {
        SiteId::from_uuid(Uuid::from_u128(1))
    }

    /// A chat opened at `opened`, assigned `wait` later, first answered `first` after the
    /// opening, closed `duration` after it.
    struct Script {
        n: u128,
        opened: Millis,
        wait: Option<Millis>,
        first: Option<Millis>,
        duration: Option<Millis>,
        agent: Option<AgentRef>,
        department: u128,
        rating: Option<u8>,
    }

    fn facts(script: Script) -> ChatFacts {
        ChatFacts {
            conversation_id: ConversationId::from_uuid(Uuid::from_u128(script.n)),
            created_at: script.opened,
            department_id: Some(DepartmentId::from_uuid(Uuid::from_u128(script.department))),
            agent: script.agent,
            first_assigned_at: script.wait.map(|w| script.opened + w),
            first_agent_message_at: script.first.map(|f| script.opened + f),
            closed_at: script.duration.map(|d| script.opened + d),
            missed: script.first.is_none() && script.duration.is_some(),
            rating: script.rating,
        }
    }

    fn chat(n: u128, opened: Millis) -> Script {
        Script {
            n,
            opened,
            wait: None,
            first: None,
            duration: None,
            agent: None,
            department: 10,
            rating: None,
        }
    }

    /// One day in Berlin: Maya answers two chats (one across local midnight), Jonas one, one
    /// chat is missed, one still waits.
    fn berlin_day() -> (Tz, Vec<ChatFacts>) {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let maya = agent(20, "Maya Chen");
        let jonas = agent(21, "Jonas Berg");
        let scripted = vec![
            // 09:00:00, waited 4 s, answered after 12 s, closed after 5 min, rated 5.
            Script {
                wait: Some(4 * SECOND),
                first: Some(12 * SECOND),
                duration: Some(5 * MINUTE),
                agent: Some(maya.clone()),
                rating: Some(5),
                ..chat(1, local(tz, "2025-03-14 09:00:00"))
            },
            // 11:30:00 in Returns, waited 10 s, answered after 30 s, closed after 10 min,
            // rated 2.
            Script {
                wait: Some(10 * SECOND),
                first: Some(30 * SECOND),
                duration: Some(10 * MINUTE),
                agent: Some(jonas.clone()),
                department: 11,
                rating: Some(2),
                ..chat(2, local(tz, "2025-03-14 11:30:00"))
            },
            // 14:00:00, nobody answered; closed after 3 min: missed.
            Script {
                duration: Some(3 * MINUTE),
                ..chat(3, local(tz, "2025-03-14 14:00:00"))
            },
            // 23:58:00, waited 1 min, answered 3 min later (on the 15th), closed after 20 min.
            Script {
                wait: Some(MINUTE),
                first: Some(3 * MINUTE),
                duration: Some(20 * MINUTE),
                agent: Some(maya),
                ..chat(4, local(tz, "2025-03-14 23:58:00"))
            },
            // 00:05:00 on the 15th: still waiting.
            chat(5, local(tz, "2025-03-15 00:05:00")),
        ];
        (tz, scripted.into_iter().map(facts).collect())
    }

    fn scope<'a>(
        tz: Tz,
        from: &str,
        to: &str,
        group: ReportGroup,
        departments: &'a [Department],
    ) -> ReportScope<'a> {
        ReportScope {
            site: site(),
            tz,
            from: date(from),
            to: date(to),
            group,
            departments,
        }
    }

    #[test]
    fn a_scripted_day_has_exact_figures_and_a_chat_across_midnight_counts_on_its_opening_day() {
        let (tz, facts) = berlin_day();
        let report = build(
            &scope(tz, "2025-03-14", "2025-03-15", ReportGroup::Day, &[]),
            &facts,
        );
        assert_eq!(report.time_zone, "Europe/Berlin");
        assert_eq!(report.rows.len(), 2);
        let day = &report.rows[0];
        assert_eq!(
            (day.key.as_str(), day.label.as_str()),
            ("2025-03-14", "2025-03-14")
        );
        assert_eq!((day.chats, day.missed), (4, 1));
        // (12 s + 30 s + 180 s) / 3
        assert_eq!(day.avg_first_response_ms, Some(74_000));
        // (4 s + 10 s + 60 s) / 3 = 24 666.67 ms
        assert_eq!(day.avg_queue_wait_ms, Some(24_667));
        // (5 + 10 + 3 + 20 min) / 4 = 9.5 min
        assert_eq!(day.avg_duration_ms, Some(570_000));
        assert_eq!(day.ratings, 2);
        assert_eq!(day.csat_average, Some(3.5));
        let next = &report.rows[1];
        assert_eq!(
            (next.key.as_str(), next.chats, next.missed),
            ("2025-03-15", 1, 0)
        );
        assert_eq!(next.avg_first_response_ms, None);
        assert_eq!(report.total.chats, 5);
        assert_eq!(report.total.key, TOTAL_KEY);
        assert_eq!(report.total.avg_first_response_ms, Some(74_000));

        // The 14th alone: the chat opened at 00:05 on the 15th is not in it.
        let report = build(
            &scope(tz, "2025-03-14", "2025-03-14", ReportGroup::Day, &[]),
            &facts,
        );
        assert_eq!(report.total.chats, 4);
    }

    #[test]
    fn grouping_by_agent_and_by_department_splits_the_same_total() {
        let (tz, facts) = berlin_day();
        let report = build(
            &scope(tz, "2025-03-14", "2025-03-15", ReportGroup::Agent, &[]),
            &facts,
        );
        let rows: Vec<(&str, u32, Option<u64>)> = report
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.chats, r.avg_first_response_ms))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("Jonas Berg", 1, Some(30_000)),
                ("Maya Chen", 2, Some(96_000)),
                (UNASSIGNED_LABEL, 2, None),
            ]
        );
        assert_eq!(report.rows[1].key, agent(20, "").id.to_string());
        assert_eq!(report.rows[2].missed, 1);

        let departments = [
            department(10, "General"),
            department(11, "Returns"),
            department(12, "Billing"),
        ];
        let report = build(
            &scope(
                tz,
                "2025-03-14",
                "2025-03-15",
                ReportGroup::Department,
                &departments,
            ),
            &facts,
        );
        let rows: Vec<(&str, u32, u32)> = report
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.chats, r.ratings))
            .collect();
        // Every department, by name, the empty one too.
        assert_eq!(
            rows,
            vec![("Billing", 0, 0), ("General", 4, 1), ("Returns", 1, 1)]
        );
        assert_eq!(report.rows[2].csat_average, Some(2.0));
        assert_eq!(report.total.chats, 5);
    }

    #[test]
    fn a_daylight_saving_day_is_23_hours_long_and_its_chats_land_on_local_dates() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // Clocks go from 02:00 to 03:00 on 30 March 2025.
        let (start, end) = range_bounds(tz, date("2025-03-30"), date("2025-03-30"));
        assert_eq!(end - start, 23 * 60 * MINUTE);
        // ... and back from 03:00 to 02:00 on 26 October: 25 hours.
        let (start, end) = range_bounds(tz, date("2025-10-26"), date("2025-10-26"));
        assert_eq!(end - start, 25 * 60 * MINUTE);

        let chats: Vec<ChatFacts> = [
            // 01:59:59 local (00:59:59 UTC), just before the change.
            Script {
                first: Some(20 * SECOND),
                agent: Some(agent(20, "Maya Chen")),
                ..chat(1, local(tz, "2025-03-30 01:59:59"))
            },
            // 03:00:00 local, the instant after (01:00:00 UTC).
            Script {
                first: Some(40 * SECOND),
                agent: Some(agent(20, "Maya Chen")),
                ..chat(2, local(tz, "2025-03-30 03:00:00"))
            },
            // 23:30 local (21:30 UTC): still the 30th.
            chat(3, local(tz, "2025-03-30 23:30:00")),
            // 00:30 local on the 31st is 22:30 UTC on the 30th: the 31st here.
            chat(4, local(tz, "2025-03-31 00:30:00")),
        ]
        .into_iter()
        .map(facts)
        .collect();
        assert_eq!(chats[1].created_at - chats[0].created_at, SECOND);
        let report = build(
            &scope(tz, "2025-03-29", "2025-03-31", ReportGroup::Day, &[]),
            &chats,
        );
        let days: Vec<(&str, u32, Option<u64>)> = report
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.chats, r.avg_first_response_ms))
            .collect();
        assert_eq!(
            days,
            vec![
                ("2025-03-29", 0, None),
                ("2025-03-30", 3, Some(30_000)),
                ("2025-03-31", 1, None)
            ]
        );
    }

    #[test]
    fn a_zone_whose_midnight_does_not_exist_starts_the_day_at_its_first_minute() {
        // Santiago skipped from 00:00 to 01:00 on 7 September 2025.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let start = day_start(tz, date("2025-09-07"));
        assert_eq!(start, local(tz, "2025-09-07 01:00:00"));
        assert_eq!(local_date(tz, start), date("2025-09-07"));
        assert_eq!(local_date(tz, start - 1), date("2025-09-06"));
    }

    #[test]
    fn today_is_the_local_date_of_now() {
        let (tz, facts) = berlin_day();
        // 00:10 on the 15th in Berlin is 23:10 UTC on the 14th.
        let board = today(
            site(),
            "Northwind",
            tz,
            local(tz, "2025-03-15 00:10:00"),
            &facts,
        );
        assert_eq!(board.date, "2025-03-15");
        assert_eq!(
            (board.chats, board.missed, board.avg_first_response_ms),
            (1, 0, None)
        );
        let board = today(
            site(),
            "Northwind",
            tz,
            local(tz, "2025-03-14 23:59:00"),
            &facts,
        );
        assert_eq!(board.date, "2025-03-14");
        assert_eq!((board.chats, board.missed), (4, 1));
        assert_eq!(board.avg_first_response_ms, Some(74_000));
    }

    #[test]
    fn ranges_are_real_dates_in_order_and_at_most_366_days() {
        assert_eq!(
            parse_range("2025-01-01", "2025-12-31").map(|r| r.1),
            Ok(date("2025-12-31"))
        );
        assert!(
            parse_range("2024-01-01", "2024-12-31").is_ok(),
            "366 days in a leap year"
        );
        assert_eq!(
            parse_range("2024-01-01", "2025-01-01"),
            Err(RangeError::TooLong)
        );
        assert_eq!(
            parse_range("2025-02-02", "2025-02-01"),
            Err(RangeError::Reversed)
        );
        assert_eq!(
            parse_range("2025-02-30", "2025-03-01"),
            Err(RangeError::BadDate("from"))
        );
        assert_eq!(
            parse_range("2025-02-01", "2025-3-01"),
            Err(RangeError::BadDate("to"))
        );
        assert_eq!(
            parse_range("+2025-02-01", "2025-03-01"),
            Err(RangeError::BadDate("from"))
        );
    }

    #[test]
    fn the_csv_has_a_bom_a_header_the_rows_and_the_total_with_formulas_neutralised() {
        let (tz, mut facts) = berlin_day();
        for chat in &mut facts {
            if let Some(agent) = &mut chat.agent
                && agent.display_name == "Jonas Berg"
            {
                agent.display_name = "=HYPERLINK(\"x\")".into();
            }
        }
        let report = build(
            &scope(tz, "2025-03-14", "2025-03-15", ReportGroup::Agent, &[]),
            &facts,
        );
        let bytes = to_csv(&report).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let text = text.strip_prefix('\u{feff}').expect("a byte order mark");
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "key,label,chats,missed,avg_first_response_ms,avg_queue_wait_ms,avg_duration_ms,ratings,csat_average"
        );
        assert!(lines[1].contains(",\"'=HYPERLINK"), "{}", lines[1]);
        assert!(
            lines[1].ends_with(",1,0,30000,10000,600000,1,2"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[3], ",Unassigned,2,1,,,180000,0,");
        assert_eq!(lines[4], "total,Total,5,1,74000,24667,570000,2,3.5");
        assert_eq!(lines[5], "");
    }
}
