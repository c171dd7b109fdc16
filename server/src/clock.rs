//! Wall-clock time as the store keeps it: milliseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

use bellhop_protocol::frames::Millis;

pub fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX))
        .unwrap_or(0)
}
