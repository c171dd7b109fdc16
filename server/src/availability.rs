//! Whether a visitor can start a chat now: a plain decision over the business hours and who
//! is online.
//!
//! Outside business hours a new chat is refused (`offline`) and the widget offers the offline
//! form. Within hours but with nobody online, the widget is told so and offers the form too,
//! but a chat started anyway is queued: an agent may be seconds away from logging in, and a
//! message is never turned away for that.

use bellhop_protocol::api::{Availability, ClosedReason};
use chrono::{DateTime, Utc};

use crate::hours::Schedule;

pub(crate) fn availability(
    hours: Option<&Schedule>,
    anyone_online: bool,
    now: DateTime<Utc>,
) -> Availability {
    if let Some(schedule) = hours
        && !schedule.is_open(now)
    {
        return Availability {
            open: false,
            reason: Some(ClosedReason::OutsideHours),
            next_open_at: schedule.next_change(now).map(|t| t.timestamp_millis()),
        };
    }
    if !anyone_online {
        return Availability {
            open: false,
            reason: Some(ClosedReason::NoAgentsOnline),
            next_open_at: None,
        };
    }
    Availability {
        open: true,
        reason: None,
        next_open_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::api::{BusinessHours, OpeningInterval, Weekday};
    use chrono::TimeZone;

    fn weekdays_nine_to_six(zone: &str) -> Option<Schedule> {
        let weekly = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|day| OpeningInterval {
            day,
            open: "09:00".into(),
            close: "18:00".into(),
        })
        .collect();
        Schedule::parse(&BusinessHours {
            time_zone: zone.into(),
            weekly,
            closed_dates: Vec::new(),
        })
        .ok()
    }

    #[test]
    fn hours_come_first_then_people() {
        let schedule = weekdays_nine_to_six("Asia/Vladivostok");
        // Monday 2026-11-23 01:00 UTC is 11:00 in Vladivostok: open.
        let open_hour = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).single();
        // Monday 2026-11-23 12:00 UTC is 22:00 in Vladivostok: closed.
        let late = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single();
        let (Some(open_hour), Some(late)) = (open_hour, late) else {
            panic!("valid instants");
        };
        assert!(availability(schedule.as_ref(), true, open_hour).open);
        assert_eq!(
            availability(schedule.as_ref(), false, open_hour).reason,
            Some(ClosedReason::NoAgentsOnline)
        );
        let closed = availability(schedule.as_ref(), true, late);
        assert_eq!(closed.reason, Some(ClosedReason::OutsideHours));
        // Opens again at 09:00 local on Tuesday = 23:00 UTC Monday.
        let reopens = Utc.with_ymd_and_hms(2026, 11, 23, 23, 0, 0).single();
        assert_eq!(closed.next_open_at, reopens.map(|t| t.timestamp_millis()));
        assert!(availability(None, true, late).open);
    }
}
