//! Wall-clock time in unix seconds, and the engine's clock: the system's, or (feature
//! `test-util`) one that tests move forward instead of sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(any(feature = "redis", feature = "test-util"))]
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The clock the engine reads its `now` from.
#[derive(Clone, Default)]
pub(crate) struct Clock {
    #[cfg(feature = "test-util")]
    test: Option<crate::test_util::TestClock>,
}

impl Clock {
    #[cfg(feature = "test-util")]
    pub(crate) fn test(clock: crate::test_util::TestClock) -> Self {
        Self { test: Some(clock) }
    }

    /// The test clock this one reads, if any.
    #[cfg(all(feature = "test-util", feature = "redis"))]
    pub(crate) fn test_clock(&self) -> Option<&crate::test_util::TestClock> {
        self.test.as_ref()
    }

    /// Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        #[cfg(feature = "test-util")]
        if let Some(test) = &self.test {
            return test.now_millis(now_millis()) / 1000;
        }
        now_unix()
    }

    /// Unix milliseconds.
    #[cfg(feature = "redis")]
    pub(crate) fn now_millis(&self) -> i64 {
        #[cfg(feature = "test-util")]
        if let Some(test) = &self.test {
            return test.now_millis(now_millis());
        }
        now_millis()
    }

    /// A monotonic instant (moved forward with a test clock), for deadlines that must not
    /// follow the wall clock's jumps.
    pub(crate) fn instant(&self) -> std::time::Instant {
        let now = std::time::Instant::now();
        #[cfg(feature = "test-util")]
        if let Some(test) = &self.test {
            return now.checked_add(test.offset()).unwrap_or(now);
        }
        now
    }
}
