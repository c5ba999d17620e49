//! For tests (feature `test-util`): a clock they move forward instead of sleeping until an
//! access token, a session or a sign-in attempt expires, and the [`store_suite`] every
//! `SessionStore` must pass.
//!
//! ```
//! # async fn demo(config: ping_oidc::Config) -> Result<(), ping_oidc::StartError> {
//! use std::time::Duration;
//! use ping_oidc::test_util::TestClock;
//!
//! let clock = TestClock::new();
//! let oidc = ping_oidc::PingOidc::builder(config).clock(clock.clone()).start().await?;
//! clock.advance(Duration::from_secs(3600)); // the next guarded request refreshes
//! # let _ = oidc; Ok(()) }
//! ```
//!
//! The clock is the engine's: access-token refresh, session idle and absolute lifetimes (in
//! the memory store), sign-in attempt expiry and token claim checks. Timeouts, leases and
//! Redis key TTLs keep real time, as do the memory store's single-use markers and records,
//! unless the store is given the clock too
//! ([`MemoryStore::with_clock`](crate::MemoryStore::with_clock),
//! `RedisStoreBuilder::clock` with `RedisStore::advance_time` (feature `redis`)),
//! as the store suite does.

pub mod store_suite;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The system clock plus an offset that tests move forward. Clones share the offset, so
/// several engines (instances behind one load balancer) can share one clock.
#[derive(Clone, Debug, Default)]
pub struct TestClock {
    offset_millis: Arc<AtomicI64>,
}

impl TestClock {
    /// The system's time, until [`advance`](Self::advance)d.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_millis.fetch_add(millis, Ordering::SeqCst);
    }

    /// How far the clock is ahead of the system's.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.offset_millis.load(Ordering::SeqCst)).unwrap_or(0))
    }

    pub(crate) fn now_millis(&self, system_millis: i64) -> i64 {
        system_millis.saturating_add(self.offset_millis.load(Ordering::SeqCst))
    }
}
