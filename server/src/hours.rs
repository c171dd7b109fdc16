//! Business hours: is a site or department open at a given instant, and when does that change?
//!
//! This module is pure logic (no I/O, no clock): [`Schedule::parse`] validates the admin-supplied
//! [`BusinessHours`] once, and [`Schedule::is_open`] / [`Schedule::next_change`] answer questions
//! about instants the caller passes in.
//!
//! # Semantics
//!
//! - **Local wall-clock time.** Every interval and closed date is read in the schedule's IANA
//!   time zone. An instant is open when its local wall-clock time (date, weekday and time of
//!   day in that zone) falls inside an interval and its local date is not closed.
//! - **Intervals are half-open**, `[open, close)`: open at `open` exactly, closed at `close`
//!   exactly. `close` may be `24:00` (the end of the day); `24:00` is never allowed as `open`.
//!   `open == close` is rejected as ambiguous (use `00:00`–`24:00` for a whole day).
//! - **An interval belongs to the day it starts on.** When `close < open` it runs past
//!   midnight: `Fri 22:00–02:00` covers Friday from 22:00 to midnight and Saturday from
//!   midnight to 02:00 (a `close` of `00:00` therefore means the same as `24:00`).
//! - **Overlapping intervals are allowed**; the schedule is open wherever any interval is.
//! - **Closed dates** close every instant whose *local* date is that date, 00:00 to 24:00, whatever
//!   the weekly intervals say — including the after-midnight part of an overnight interval that
//!   started on the previous (open) day. They affect nothing outside that local date.
//! - **Daylight saving time** falls out of using wall-clock time:
//!   - spring forward: local times in the gap never occur, so in `Europe/Berlin` on the day
//!     02:00 becomes 03:00, an interval `02:00–03:00` is open for zero real minutes and
//!     `01:00–04:00` for two real hours;
//!   - fall back: local times in the overlap occur twice and both count, so in `America/New_York`
//!     on the day 02:00 becomes 01:00, an interval `01:00–02:00` is open for two real hours.
//!
//!   The state can thus also flip at the instant of a DST transition itself (e.g.
//!   `01:30–02:00` on a fall-back night closes when 01:59 EDT turns into 01:00 EST).
//!
//! [`Schedule::next_change`] looks at most [`LOOKAHEAD_DAYS`] days ahead; a schedule that is
//! always closed or always open over that window yields `None`. Closed dates can stretch one
//! state past the window (e.g. a schedule open only on Mondays, with next Monday closed): then
//! it also yields `None`, and callers should ask again later rather than read it as "never".

use std::collections::BTreeSet;

use bellhop_protocol::api::{BusinessHours, Weekday as ApiWeekday};
use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// How far ahead [`Schedule::next_change`] searches for a change: a weekly schedule that flips
/// at all flips within a week, and the extra day covers a change just past the week's end.
pub(crate) const LOOKAHEAD_DAYS: u64 = 8;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// The step used to detect UTC-offset changes (DST transitions). Real time zones never change
/// offset twice within an hour, so an hourly scan plus bisection finds every transition.
const OFFSET_SCAN_STEP_SECS: i64 = 3600;

/// Why admin-supplied business hours were rejected. The messages are shown to admins as-is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HoursError {
    #[error("unknown time zone \"{0}\" (expected an IANA name such as \"Europe/Berlin\")")]
    UnknownTimeZone(String),
    #[error(
        "\"{value}\" is not a time (HH:MM, 00:00 to 24:00), in the \"{field}\" of a {day} interval"
    )]
    BadTime {
        day: Weekday,
        /// `"open"` or `"close"`, the JSON field name.
        field: &'static str,
        value: String,
    },
    #[error(
        "a {day} interval opens at \"24:00\"; 24:00 is only allowed as a closing time (use \"00:00\" to open at midnight)"
    )]
    OpenAtEndOfDay { day: Weekday },
    #[error(
        "a {day} interval opens and closes at \"{time}\"; an interval must not be empty (use \"00:00\" to \"24:00\" for a whole day)"
    )]
    EmptyInterval { day: Weekday, time: String },
    #[error("\"{0}\" is not a date (YYYY-MM-DD) in the closed dates")]
    BadDate(String),
}

/// One weekly opening interval, in minutes since local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interval {
    /// The local weekday the interval starts on.
    day: Weekday,
    /// `0..1440`.
    open: u16,
    /// `0..=1440`, never equal to `open`; less than `open` for an overnight interval.
    close: u16,
}

impl Interval {
    fn is_overnight(self) -> bool {
        self.close < self.open
    }

    /// Whether the part on the start day covers `secs` seconds after local midnight.
    fn covers_start_day(self, secs: u32) -> bool {
        secs >= u32::from(self.open) * 60
            && (self.is_overnight() || secs < u32::from(self.close) * 60)
    }

    /// Whether the after-midnight part (overnight intervals only) covers `secs` seconds after
    /// midnight of the following day.
    fn covers_next_day(self, secs: u32) -> bool {
        self.is_overnight() && secs < u32::from(self.close) * 60
    }
}

/// Validated business hours, ready to answer "open at this instant?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Schedule {
    tz: Tz,
    intervals: Vec<Interval>,
    closed_dates: BTreeSet<NaiveDate>,
    /// Every local time of day (minutes) at which the open state can flip: midnight (dates
    /// change, closed dates start and end) and each interval's open and close.
    boundaries: BTreeSet<u16>,
}

impl Schedule {
    /// Validates `hours`: a known IANA zone, `HH:MM` times, non-empty intervals and
    /// `YYYY-MM-DD` closed dates.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`HoursError`] whose message names the offending value.
    pub(crate) fn parse(hours: &BusinessHours) -> Result<Schedule, HoursError> {
        let tz: Tz = hours
            .time_zone
            .parse()
            .map_err(|_| HoursError::UnknownTimeZone(hours.time_zone.clone()))?;

        let mut intervals = Vec::with_capacity(hours.weekly.len());
        for interval in &hours.weekly {
            let day = to_chrono_weekday(interval.day);
            let bad_time = |field: &'static str, value: &str| HoursError::BadTime {
                day,
                field,
                value: value.to_owned(),
            };
            let open =
                parse_minutes(&interval.open).ok_or_else(|| bad_time("open", &interval.open))?;
            let close =
                parse_minutes(&interval.close).ok_or_else(|| bad_time("close", &interval.close))?;
            if open == MINUTES_PER_DAY {
                return Err(HoursError::OpenAtEndOfDay { day });
            }
            if open == close {
                return Err(HoursError::EmptyInterval {
                    day,
                    time: interval.open.clone(),
                });
            }
            intervals.push(Interval { day, open, close });
        }

        let closed_dates = hours
            .closed_dates
            .iter()
            .map(|date| parse_date(date).ok_or_else(|| HoursError::BadDate(date.clone())))
            .collect::<Result<BTreeSet<_>, _>>()?;

        let mut boundaries = BTreeSet::from([0]);
        for interval in &intervals {
            boundaries.insert(interval.open);
            boundaries.insert(interval.close % MINUTES_PER_DAY);
        }

        Ok(Schedule {
            tz,
            intervals,
            closed_dates,
            boundaries,
        })
    }

    /// Whether the schedule is open at `at` (see the module docs for the exact rules).
    pub(crate) fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.local_time(at)
            .is_some_and(|local| self.is_open_local(local))
    }

    /// The local wall-clock time of `at` in the schedule's zone. `None` only at the very ends
    /// of chrono's range, where the local time is not representable (`naive_local` would panic);
    /// such instants count as closed.
    fn local_time(&self, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        let utc = at.naive_utc();
        utc.checked_add_offset(self.tz.offset_from_utc_datetime(&utc).fix())
    }

    /// Whether the local wall-clock time `local` is open: not on a closed date, and inside an
    /// interval that starts today or an overnight interval that started yesterday.
    fn is_open_local(&self, local: NaiveDateTime) -> bool {
        let date = local.date();
        if self.closed_dates.contains(&date) {
            return false;
        }
        let secs = local.num_seconds_from_midnight();
        let today = date.weekday();
        let yesterday = today.pred();
        self.intervals.iter().any(|interval| {
            (interval.day == today && interval.covers_start_day(secs))
                || (interval.day == yesterday && interval.covers_next_day(secs))
        })
    }

    /// The first instant after `at` (strictly) at which [`Schedule::is_open`] differs from its
    /// value at `at`, looking at most [`LOOKAHEAD_DAYS`] days ahead; `None` if the state does
    /// not flip in that window (e.g. an always-closed or always-open schedule).
    ///
    /// The state only flips where the local wall-clock time reaches a boundary (midnight or an
    /// interval's open/close) or where the zone's UTC offset changes (the local clock jumps).
    /// Both kinds of instants are collected as candidates; between two consecutive candidates
    /// the state is constant, so the first candidate with a different state is the answer.
    pub(crate) fn next_change(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.intervals.is_empty() {
            return None; // Always closed.
        }
        let end = at
            .checked_add_days(Days::new(LOOKAHEAD_DAYS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);

        let mut candidates = self.boundary_instants(at, end);
        candidates.extend(offset_changes(self.tz, at, end));
        candidates.retain(|candidate| *candidate > at && *candidate <= end);
        candidates.sort_unstable();
        candidates.dedup();

        let open_now = self.is_open(at);
        candidates
            .into_iter()
            .find(|candidate| self.is_open(*candidate) != open_now)
    }

    /// The UTC instants of every boundary local time on every local date that `at..=end` can
    /// touch. Local times inside a DST gap have no instant (the transition itself is a candidate
    /// instead); local times inside an overlap have two, and both are kept.
    fn boundary_instants(&self, at: DateTime<Utc>, end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        // UTC dates with two days of slack on each side: that covers every UTC offset (under a
        // day) plus a fall-back transition at midnight, which can map the end of the previous
        // local date to instants after `at`. Extra dates only add candidates that are filtered.
        let slack = Days::new(2);
        let first = at.date_naive();
        let first = first.checked_sub_days(slack).unwrap_or(first);
        let last = end.date_naive();
        let last = last.checked_add_days(slack).unwrap_or(last);

        let mut instants = Vec::new();
        for date in first.iter_days().take_while(|date| *date <= last) {
            for &minute in &self.boundaries {
                let Some(time) =
                    NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)
                else {
                    continue;
                };
                match self.tz.from_local_datetime(&date.and_time(time)) {
                    LocalResult::Single(instant) => instants.push(instant.to_utc()),
                    LocalResult::Ambiguous(earlier, later) => {
                        instants.push(earlier.to_utc());
                        instants.push(later.to_utc());
                    }
                    LocalResult::None => {}
                }
            }
        }
        instants
    }
}

/// The instants in `(from, to]` at which `tz`'s UTC offset changes (DST transitions), found
/// by scanning hourly and bisecting to the second (transitions fall on whole seconds).
fn offset_changes(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let offset_at = |secs: i64| {
        DateTime::from_timestamp(secs, 0).map(|t| tz.offset_from_utc_datetime(&t.naive_utc()).fix())
    };
    let mut changes = Vec::new();
    let end = to.timestamp();
    let mut lo = from.timestamp();
    let Some(mut lo_offset) = offset_at(lo) else {
        return changes;
    };
    while lo < end {
        let hi = lo.saturating_add(OFFSET_SCAN_STEP_SECS).min(end);
        let Some(hi_offset) = offset_at(hi) else {
            break;
        };
        if hi_offset != lo_offset {
            // Invariant: offset at `before` is `lo_offset`, offset at `after` is not.
            let (mut before, mut after) = (lo, hi);
            while after - before > 1 {
                let mid = before + (after - before) / 2;
                if offset_at(mid) == Some(lo_offset) {
                    before = mid;
                } else {
                    after = mid;
                }
            }
            changes.extend(DateTime::from_timestamp(after, 0));
        }
        lo = hi;
        lo_offset = hi_offset;
    }
    changes
}

fn to_chrono_weekday(day: ApiWeekday) -> Weekday {
    match day {
        ApiWeekday::Mon => Weekday::Mon,
        ApiWeekday::Tue => Weekday::Tue,
        ApiWeekday::Wed => Weekday::Wed,
        ApiWeekday::Thu => Weekday::Thu,
        ApiWeekday::Fri => Weekday::Fri,
        ApiWeekday::Sat => Weekday::Sat,
        ApiWeekday::Sun => Weekday::Sun,
    }
}

/// Parses exactly `HH:MM` (two digits each) into minutes since midnight, `00:00` to `24:00`.
fn parse_minutes(text: &str) -> Option<u16> {
    let &[h1, h2, b':', m1, m2] = text.as_bytes() else {
        return None;
    };
    let hours = two_digits(h1, h2)?;
    let minutes = two_digits(m1, m2)?;
    match (hours, minutes) {
        (0..=23, 0..=59) | (24, 0) => Some(hours * 60 + minutes),
        _ => None,
    }
}

/// Parses exactly `YYYY-MM-DD` into a real calendar date.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let &[y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = text.as_bytes() else {
        return None;
    };
    let year = two_digits(y1, y2)? * 100 + two_digits(y3, y4)?;
    let month = two_digits(m1, m2)?;
    let day = two_digits(d1, d2)?;
    NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
}

fn two_digits(tens: u8, ones: u8) -> Option<u16> {
    let digit = |byte: u8| byte.is_ascii_digit().then(|| u16::from(byte - b'0'));
    Some(digit(tens)? * 10 + digit(ones)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use bellhop_protocol::api::OpeningInterval;
    use chrono::TimeDelta;

    use super::*;

    use ApiWeekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};

    const WEEKDAYS: [ApiWeekday; 5] = [Mon, Tue, Wed, Thu, Fri];
    const ALL_DAYS: [ApiWeekday; 7] = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];

    fn hours(zone: &str, weekly: &[(ApiWeekday, &str, &str)], closed: &[&str]) -> BusinessHours {
        BusinessHours {
            time_zone: zone.to_owned(),
            weekly: weekly
                .iter()
                .map(|&(day, open, close)| OpeningInterval {
                    day,
                    open: open.to_owned(),
                    close: close.to_owned(),
                })
                .collect(),
            closed_dates: closed.iter().map(|date| (*date).to_owned()).collect(),
        }
    }

    fn schedule(zone: &str, weekly: &[(ApiWeekday, &str, &str)], closed: &[&str]) -> Schedule {
        Schedule::parse(&hours(zone, weekly, closed)).unwrap()
    }

    /// Mon–Fri 09:00–18:00.
    fn office(zone: &str, closed: &[&str]) -> Schedule {
        let weekly: Vec<_> = WEEKDAYS
            .iter()
            .map(|&day| (day, "09:00", "18:00"))
            .collect();
        schedule(zone, &weekly, closed)
    }

    /// An instant given in UTC, `YYYY-MM-DD HH:MM[:SS]`.
    fn utc(text: &str) -> DateTime<Utc> {
        naive(text).and_utc()
    }

    /// An instant given as an unambiguous local time in `zone`.
    fn local(zone: &str, text: &str) -> DateTime<Utc> {
        let tz: Tz = zone.parse().unwrap();
        tz.from_local_datetime(&naive(text))
            .single()
            .unwrap()
            .to_utc()
    }

    fn naive(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
            .unwrap()
    }

    const OPEN: bool = true;
    const CLOSED: bool = false;

    /// Table-driven checks of a schedule against UTC instants.
    trait Expect {
        /// For each instant, whether the schedule is open then.
        fn assert_open_at(&self, expected: &[(&str, bool)]);
        /// For each instant, the instant of the next opening or closing.
        fn assert_next_changes(&self, expected: &[(&str, &str)]);
    }

    impl Expect for Schedule {
        #[track_caller]
        fn assert_open_at(&self, expected: &[(&str, bool)]) {
            for &(at, open) in expected {
                assert_eq!(self.is_open(utc(at)), open, "is it open at {at} UTC?");
            }
        }

        #[track_caller]
        fn assert_next_changes(&self, expected: &[(&str, &str)]) {
            for &(from, to) in expected {
                let next = self.next_change(utc(from));
                assert_eq!(next, Some(utc(to)), "next change from {from} UTC");
            }
        }
    }

    fn parse_error(hours: &BusinessHours) -> String {
        Schedule::parse(hours).unwrap_err().to_string()
    }

    #[test]
    fn test_dates_fall_on_the_expected_weekdays() {
        let date = |text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .unwrap()
                .weekday()
        };
        assert_eq!(date("2026-03-02"), Weekday::Mon);
        assert_eq!(date("2026-03-06"), Weekday::Fri);
        assert_eq!(date("2026-03-29"), Weekday::Sun);
        assert_eq!(date("2026-11-01"), Weekday::Sun);
    }

    #[test]
    fn weekday_interval_opens_inclusive_and_closes_exclusive() {
        let s = schedule("UTC", &[(Mon, "09:00", "18:00")], &[]);
        s.assert_open_at(&[
            ("2026-03-02 08:59:59", CLOSED),
            ("2026-03-02 09:00", OPEN),
            ("2026-03-02 12:00", OPEN),
            ("2026-03-02 17:59:59", OPEN),
            ("2026-03-02 18:00", CLOSED),
            // Only Monday has hours.
            ("2026-03-03 12:00", CLOSED),
            ("2026-03-09 12:00", OPEN),
        ]);
    }

    #[test]
    fn weekend_is_closed() {
        let s = office("UTC", &[]);
        s.assert_open_at(&[
            ("2026-03-06 12:00", OPEN),
            ("2026-03-07 12:00", CLOSED),
            ("2026-03-08 12:00", CLOSED),
            ("2026-03-09 12:00", OPEN),
        ]);
    }

    #[test]
    fn vladivostok_hours_use_local_time() {
        // Asia/Vladivostok is UTC+10 all year.
        let s = office("Asia/Vladivostok", &[]);
        // Mon 20:00 UTC = Tue 06:00 local: before opening.
        s.assert_open_at(&[
            ("2026-03-02 20:00", CLOSED),
            // Tue 00:30 UTC = Tue 10:30 local: open.
            ("2026-03-03 00:30", OPEN),
            // Sun 23:00 UTC = Mon 09:00 local: open, although it is Sunday in UTC.
            ("2026-03-08 23:00", OPEN),
            // Fri 23:30 UTC = Sat 09:30 local: closed, although it is Friday in UTC.
            ("2026-03-06 23:30", CLOSED),
            // Mon 07:59 UTC = 17:59 local open, 08:00 UTC = 18:00 local closed.
            ("2026-03-02 07:59", OPEN),
            ("2026-03-02 08:00", CLOSED),
        ]);
    }

    #[test]
    fn overnight_interval_spills_into_the_next_day() {
        let s = schedule("UTC", &[(Fri, "22:00", "02:00")], &[]);
        s.assert_open_at(&[
            ("2026-03-06 21:59", CLOSED),
            ("2026-03-06 22:00", OPEN),
            ("2026-03-06 23:59:59", OPEN),
            ("2026-03-07 00:00", OPEN),
            ("2026-03-07 01:30", OPEN),
            ("2026-03-07 01:59:59", OPEN),
            ("2026-03-07 02:00", CLOSED),
            // Friday's own early hours are not covered: nothing started on Thursday.
            ("2026-03-06 01:30", CLOSED),
            // Nor is Saturday evening.
            ("2026-03-07 23:00", CLOSED),
        ]);
    }

    #[test]
    fn sunday_overnight_interval_wraps_into_monday() {
        let s = schedule("UTC", &[(Sun, "22:00", "02:00")], &[]);
        s.assert_open_at(&[("2026-03-09 01:00", OPEN), ("2026-03-09 02:00", CLOSED)]);
        s.assert_next_changes(&[("2026-03-09 01:00", "2026-03-09 02:00")]);
    }

    #[test]
    fn close_at_24_00_covers_the_last_minute() {
        let s = schedule("UTC", &[(Mon, "20:00", "24:00")], &[]);
        s.assert_open_at(&[
            ("2026-03-02 23:59", OPEN),
            ("2026-03-02 23:59:59", OPEN),
            ("2026-03-03 00:00", CLOSED),
        ]);
        s.assert_next_changes(&[("2026-03-02 21:00", "2026-03-03 00:00")]);
    }

    #[test]
    fn close_at_00_00_means_midnight_too() {
        let s = schedule("UTC", &[(Mon, "20:00", "00:00")], &[]);
        s.assert_open_at(&[("2026-03-02 23:59:59", OPEN), ("2026-03-03 00:00", CLOSED)]);
        s.assert_next_changes(&[("2026-03-02 21:00", "2026-03-03 00:00")]);
    }

    #[test]
    fn whole_days_and_adjacent_intervals_join_up() {
        let s = schedule(
            "UTC",
            &[
                (Mon, "09:00", "12:00"),
                (Mon, "12:00", "18:00"),
                (Mon, "22:00", "24:00"),
                (Tue, "00:00", "02:00"),
            ],
            &[],
        );
        s.assert_open_at(&[("2026-03-02 12:00", OPEN)]);
        s.assert_next_changes(&[
            ("2026-03-02 10:00", "2026-03-02 18:00"),
            ("2026-03-02 23:00", "2026-03-03 02:00"),
        ]);
    }

    #[test]
    fn overlapping_intervals_are_a_union() {
        let s = schedule(
            "UTC",
            &[(Mon, "09:00", "14:00"), (Mon, "12:00", "18:00")],
            &[],
        );
        s.assert_open_at(&[("2026-03-02 13:00", OPEN), ("2026-03-02 17:00", OPEN)]);
        s.assert_next_changes(&[("2026-03-02 10:00", "2026-03-02 18:00")]);
    }

    #[test]
    fn closed_date_overrides_weekly_hours_on_that_local_date_only() {
        let s = office("UTC", &["2026-03-03"]);
        s.assert_open_at(&[
            ("2026-03-02 10:00", OPEN),
            ("2026-03-03 10:00", CLOSED),
            ("2026-03-04 10:00", OPEN),
            // The same weekday a week later is open again.
            ("2026-03-10 10:00", OPEN),
        ]);
        // The next opening skips the closed date.
        s.assert_next_changes(&[("2026-03-02 18:30", "2026-03-04 09:00")]);
    }

    #[test]
    fn closed_date_is_a_local_date() {
        let s = office("Asia/Vladivostok", &["2026-03-03"]);
        // Tue 00:30 UTC = Tue 10:30 local: the closed date.
        s.assert_open_at(&[
            ("2026-03-03 00:30", CLOSED),
            // Mon 23:30 UTC = Tue 09:30 local: also the closed date, though Monday in UTC.
            ("2026-03-02 23:30", CLOSED),
            // Mon 00:30 UTC = Mon 10:30 local: open.
            ("2026-03-02 00:30", OPEN),
            // Tue 23:30 UTC = Wed 09:30 local: open, though Tuesday in UTC.
            ("2026-03-03 23:30", OPEN),
        ]);
    }

    #[test]
    fn closed_date_cuts_the_spill_over_of_an_overnight_interval() {
        let s = schedule("UTC", &[(Mon, "22:00", "02:00")], &["2026-03-03"]);
        s.assert_open_at(&[("2026-03-02 23:00", OPEN), ("2026-03-03 01:00", CLOSED)]);
        s.assert_next_changes(&[("2026-03-02 23:00", "2026-03-03 00:00")]);
        // A closed date on the start day leaves the spill-over into an open day alone.
        let s = schedule("UTC", &[(Mon, "22:00", "02:00")], &["2026-03-02"]);
        s.assert_open_at(&[("2026-03-02 23:00", CLOSED), ("2026-03-03 01:00", OPEN)]);
        s.assert_next_changes(&[("2026-03-02 23:00", "2026-03-03 00:00")]);
    }

    #[test]
    fn dst_spring_forward_in_berlin() {
        // 2026-03-29: 02:00 CET (UTC+1) jumps to 03:00 CEST (UTC+2) at 01:00 UTC.
        let s = schedule("Europe/Berlin", &[(Sun, "01:00", "04:00")], &[]);
        s.assert_open_at(&[
            ("2026-03-28 23:59", CLOSED),  // 00:59 CET
            ("2026-03-29 00:00", OPEN),    // 01:00 CET
            ("2026-03-29 00:30", OPEN),    // 01:30 CET
            ("2026-03-29 00:59:59", OPEN), // 01:59:59 CET
            ("2026-03-29 01:00", OPEN),    // 03:00 CEST, just after the change
            ("2026-03-29 01:30", OPEN),    // 03:30 CEST
            ("2026-03-29 02:00", CLOSED),  // 04:00 CEST
        ]);
        // Open for two real hours.
        s.assert_next_changes(&[
            ("2026-03-28 23:30", "2026-03-29 00:00"),
            ("2026-03-29 00:00", "2026-03-29 02:00"),
        ]);
    }

    #[test]
    fn dst_spring_forward_gap_interval_never_opens() {
        let s = schedule("Europe/Berlin", &[(Sun, "02:00", "03:00")], &[]);
        s.assert_open_at(&[
            ("2026-03-29 00:59:59", CLOSED), // 01:59:59 CET
            ("2026-03-29 01:00", CLOSED),    // 03:00 CEST
        ]);
        // The next opening is the following Sunday, 02:00 CEST = 00:00 UTC.
        s.assert_next_changes(&[("2026-03-28 12:00", "2026-04-05 00:00")]);
        // The Sunday before, still in winter time: 02:00 CET = 01:00 UTC.
        s.assert_open_at(&[("2026-03-22 01:00", OPEN)]);
    }

    #[test]
    fn dst_spring_forward_close_inside_the_gap_closes_at_the_jump() {
        // Closes at 02:30, which does not exist on 2026-03-29: it closes when 01:59:59 CET
        // becomes 03:00 CEST.
        let s = schedule("Europe/Berlin", &[(Sun, "00:00", "02:30")], &[]);
        s.assert_open_at(&[("2026-03-29 00:59:59", OPEN), ("2026-03-29 01:00", CLOSED)]);
        s.assert_next_changes(&[("2026-03-29 00:30", "2026-03-29 01:00")]);
    }

    #[test]
    fn dst_fall_back_in_new_york() {
        // 2026-11-01: 02:00 EDT (UTC-4) falls back to 01:00 EST (UTC-5) at 06:00 UTC.
        let s = schedule("America/New_York", &[(Sun, "01:00", "02:00")], &[]);
        s.assert_open_at(&[
            ("2026-11-01 04:59", CLOSED),  // 00:59 EDT
            ("2026-11-01 05:00", OPEN),    // 01:00 EDT
            ("2026-11-01 05:30", OPEN),    // 01:30 EDT, first time
            ("2026-11-01 06:00", OPEN),    // 01:00 EST
            ("2026-11-01 06:30", OPEN),    // 01:30 EST, second time
            ("2026-11-01 06:59:59", OPEN), // 01:59:59 EST
            ("2026-11-01 07:00", CLOSED),  // 02:00 EST
            ("2026-11-01 07:30", CLOSED),  // 02:30 EST
        ]);
        // Open for two real hours.
        s.assert_next_changes(&[
            ("2026-11-01 04:00", "2026-11-01 05:00"),
            ("2026-11-01 05:30", "2026-11-01 07:00"),
        ]);
    }

    #[test]
    fn dst_fall_back_flips_at_the_transition_itself() {
        // 01:30–02:00: open at 01:45 EDT; at 06:00 UTC the clock reads 01:00 EST (closed) and
        // reaches 01:30 EST (open again) half an hour later.
        let s = schedule("America/New_York", &[(Sun, "01:30", "02:00")], &[]);
        s.assert_open_at(&[("2026-11-01 05:45", OPEN)]);
        s.assert_next_changes(&[("2026-11-01 05:45", "2026-11-01 06:00")]);
        s.assert_open_at(&[("2026-11-01 06:00", CLOSED)]);
        s.assert_next_changes(&[
            ("2026-11-01 06:00", "2026-11-01 06:30"),
            ("2026-11-01 06:30", "2026-11-01 07:00"),
        ]);
    }

    #[test]
    fn next_change_returns_exact_opening_and_closing_instants() {
        let zone = "Europe/Berlin";
        let s = office(zone, &[]);
        let mon = |time| local(zone, &format!("2026-03-02 {time}"));
        assert_eq!(s.next_change(mon("08:00")), Some(mon("09:00")));
        assert_eq!(s.next_change(mon("08:59:30")), Some(mon("09:00")));
        // From the exact opening instant, the next change is the closing.
        assert_eq!(s.next_change(mon("09:00")), Some(mon("18:00")));
        assert_eq!(s.next_change(mon("12:00")), Some(mon("18:00")));
        assert_eq!(
            s.next_change(mon("18:00")),
            Some(local(zone, "2026-03-03 09:00"))
        );
        // Friday evening to Monday morning.
        assert_eq!(
            s.next_change(local(zone, "2026-03-06 18:00")),
            Some(local(zone, "2026-03-09 09:00"))
        );
        // The concrete UTC value (CET = UTC+1).
        assert_eq!(s.next_change(mon("08:00")), Some(utc("2026-03-02 08:00")));
    }

    #[test]
    fn next_change_across_a_dst_change() {
        // Berlin: Friday 18:00 CET (17:00 UTC) to Monday 09:00 CEST (07:00 UTC).
        let s = office("Europe/Berlin", &[]);
        s.assert_next_changes(&[("2026-03-27 17:00", "2026-03-30 07:00")]);
        // New York: Friday 18:00 EDT (22:00 UTC) to Monday 09:00 EST (14:00 UTC).
        let s = office("America/New_York", &[]);
        s.assert_next_changes(&[("2026-10-30 22:00", "2026-11-02 14:00")]);
    }

    #[test]
    fn always_closed_schedule() {
        let s = schedule("Europe/Berlin", &[], &[]);
        for at in ["2026-03-02 10:00", "2026-03-29 01:30", "2026-11-01 06:30"] {
            assert!(!s.is_open(utc(at)));
            assert_eq!(s.next_change(utc(at)), None);
        }
    }

    #[test]
    fn always_open_schedule() {
        let weekly: Vec<_> = ALL_DAYS
            .iter()
            .map(|&day| (day, "00:00", "24:00"))
            .collect();
        let s = schedule("America/New_York", &weekly, &[]);
        for at in ["2026-03-02 10:00", "2026-03-08 07:00", "2026-11-01 06:30"] {
            assert!(s.is_open(utc(at)));
            assert_eq!(s.next_change(utc(at)), None);
        }
        // A closed date within the look-ahead is found; one beyond it is not.
        let s = schedule("UTC", &weekly, &["2026-03-05"]);
        s.assert_next_changes(&[
            ("2026-03-02 10:00", "2026-03-05 00:00"),
            ("2026-03-05 10:00", "2026-03-06 00:00"),
        ]);
        let s = schedule("UTC", &weekly, &["2026-03-20"]);
        assert_eq!(s.next_change(utc("2026-03-02 10:00")), None);
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        let s = office("Asia/Vladivostok", &[]);
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let _ = s.is_open(at);
            let _ = s.next_change(at);
        }
    }

    /// Compares `next_change` against a minute-by-minute scan of `is_open`, from many starting
    /// points around DST transitions, in zones with odd transitions: Lord Howe (30-minute DST)
    /// and Santiago (transitions at midnight, so some local dates start at 01:00 or have two
    /// midnights).
    #[test]
    fn next_change_agrees_with_a_minute_scan() {
        let weeklies: [&[(ApiWeekday, &str, &str)]; 3] = [
            &[
                (Sun, "01:00", "04:00"),
                (Sun, "23:30", "00:30"),
                (Sat, "22:00", "01:30"),
                (Mon, "00:00", "09:00"),
                (Wed, "09:00", "18:00"),
                (Thu, "23:00", "24:00"),
            ],
            // Intervals that flip exactly at DST transitions (closing inside a gap, reopening
            // when an overlap repeats their start).
            &[
                (Sat, "23:00", "00:15"),
                (Sun, "01:30", "02:30"),
                (Sun, "02:45", "03:15"),
                (Wed, "00:00", "24:00"),
            ],
            &[
                (Sun, "01:45", "02:00"),
                (Sat, "23:45", "24:00"),
                (Sun, "00:00", "00:10"),
            ],
        ];
        let cases = [
            ("Europe/Berlin", "2026-03-27 00:00"),
            ("Europe/Berlin", "2026-10-23 00:00"),
            ("America/New_York", "2026-10-29 00:00"),
            ("America/New_York", "2026-03-06 00:00"),
            ("Australia/Lord_Howe", "2026-04-02 00:00"),
            ("America/Santiago", "2026-04-02 00:00"),
            ("America/Santiago", "2026-09-03 00:00"),
            ("Asia/Vladivostok", "2026-03-02 00:00"),
        ];
        let closed_sets: [&[&str]; 2] = [&[], &["2026-04-05", "2026-09-06", "2026-11-01"]];
        for (zone, start) in cases {
            for (weekly, closed) in weeklies
                .iter()
                .flat_map(|weekly| closed_sets.iter().map(move |closed| (weekly, closed)))
            {
                let s = schedule(zone, weekly, closed);
                let start = utc(start);
                // State at each whole minute over 5 days + the 8-day look-ahead.
                let minutes = 13 * 24 * 60;
                let states: Vec<bool> = (0..minutes)
                    .map(|m| s.is_open(start + TimeDelta::minutes(m)))
                    .collect();
                // Start points every 13 minutes (plus some seconds) over 5 days.
                for m in (0..5 * 24 * 60).step_by(13) {
                    let at = start + TimeDelta::minutes(m) + TimeDelta::seconds(m % 60);
                    let first = usize::try_from(m).unwrap();
                    let expected = (first + 1..states.len())
                        .find(|&i| states[i] != states[first])
                        .map(|i| start + TimeDelta::minutes(i64::try_from(i).unwrap()))
                        .filter(|t| *t <= at + TimeDelta::days(8));
                    assert_eq!(
                        s.next_change(at),
                        expected,
                        "{zone} from {at}, closed {closed:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn parse_rejects_an_unknown_time_zone() {
        let message = parse_error(&hours("Mars/Olympus", &[], &[]));
        assert_eq!(
            message,
            "unknown time zone \"Mars/Olympus\" (expected an IANA name such as \"Europe/Berlin\")"
        );
        assert!(matches!(
            Schedule::parse(&hours("", &[], &[])),
            Err(HoursError::UnknownTimeZone(_))
        ));
    }

    #[test]
    fn parse_rejects_bad_times() {
        assert_eq!(
            parse_error(&hours("UTC", &[(Mon, "25:00", "18:00")], &[])),
            "\"25:00\" is not a time (HH:MM, 00:00 to 24:00), in the \"open\" of a Mon interval"
        );
        assert_eq!(
            parse_error(&hours("UTC", &[(Tue, "09:00", "9:5")], &[])),
            "\"9:5\" is not a time (HH:MM, 00:00 to 24:00), in the \"close\" of a Tue interval"
        );
        for bad in [
            "aa:bb",
            "9:05",
            "09:5",
            "24:01",
            "24:30",
            "12:60",
            "-1:00",
            "",
            "09:00 ",
            " 09:00",
            "0900",
            "09.00",
            "09:00:00",
            "١٢:٠٠",
        ] {
            let error = Schedule::parse(&hours("UTC", &[(Wed, bad, "18:00")], &[])).unwrap_err();
            assert_eq!(
                error,
                HoursError::BadTime {
                    day: Weekday::Wed,
                    field: "open",
                    value: bad.to_owned()
                },
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_rejects_24_00_as_opening_time() {
        assert_eq!(
            parse_error(&hours("UTC", &[(Fri, "24:00", "02:00")], &[])),
            "a Fri interval opens at \"24:00\"; 24:00 is only allowed as a closing time (use \"00:00\" to open at midnight)"
        );
    }

    #[test]
    fn parse_rejects_empty_intervals() {
        assert_eq!(
            parse_error(&hours("UTC", &[(Sat, "09:00", "09:00")], &[])),
            "a Sat interval opens and closes at \"09:00\"; an interval must not be empty (use \"00:00\" to \"24:00\" for a whole day)"
        );
        assert!(matches!(
            Schedule::parse(&hours("UTC", &[(Sat, "00:00", "00:00")], &[])),
            Err(HoursError::EmptyInterval { .. })
        ));
    }

    #[test]
    fn parse_rejects_malformed_closed_dates() {
        assert_eq!(
            parse_error(&hours("UTC", &[], &["2026-02-30"])),
            "\"2026-02-30\" is not a date (YYYY-MM-DD) in the closed dates"
        );
        for bad in [
            "2026-3-01",
            "2026-03-1",
            "26-03-01",
            "2026/03/01",
            "tomorrow",
            "",
            "2026-13-01",
        ] {
            assert_eq!(
                Schedule::parse(&hours("UTC", &[], &["2026-03-01", bad])),
                Err(HoursError::BadDate(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_accepts_a_full_schedule() {
        let s = schedule(
            "Asia/Vladivostok",
            &[(Mon, "00:00", "24:00"), (Fri, "22:00", "02:00")],
            &["2026-12-31", "2027-01-01", "2026-12-31"],
        );
        assert_eq!(s.tz, chrono_tz::Asia::Vladivostok);
        assert_eq!(s.closed_dates.len(), 2);
        assert_eq!(s.intervals.len(), 2);
    }
}
