//! Wall-clock time in unix seconds.

use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
