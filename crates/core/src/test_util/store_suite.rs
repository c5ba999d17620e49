//! One behaviour suite for every [`SessionStore`]: the memory store sets the reference
//! semantics, and every other store (Redis, or yours) must pass the same cases.
//!
//! Each case is a generic `async fn(&S)`; [`store_suite!`](crate::store_suite!) turns the
//! list into `#[tokio::test]`s for a store factory. A third-party store proves itself with
//! it from its own tests (feature `test-util`; the crate needs `tokio` with `macros` and
//! `rt-multi-thread`):
//!
//! ```ignore
//! async fn fresh() -> MyPostgresStore { MyPostgresStore::connect_test_database().await }
//! ping_oidc::store_suite!(fresh);
//! // or with attributes on every test:
//! ping_oidc::store_suite!(fresh, #[ignore = "needs a database"]);
//! ```
//!
//! The factory is called once per test, so each test gets its own store (for Redis, a fresh
//! key prefix). It returns the store, or a [`Subject`]: the store with the [`SuiteTime`] its
//! deadlines run on. The cases about expiry make time pass through it:
//!
//! - a bare store gets [`RealTime`], which sleeps (one to three seconds per expiry case);
//! - [`MemoryStore::with_clock`](crate::MemoryStore::with_clock) and a
//!   [`TestClock`](super::TestClock) move at once;
//! - a Redis store built with a test clock (`RedisStoreBuilder::clock`), given as
//!   `Subject::redis(store)`, moves its keys' TTLs too (`RedisStore::advance_time`, features
//!   `redis` and `test-util`). `Subject::new(store, clock)` would move the clock alone, and the
//!   marker, record and lease cases would fail. Nothing sleeps:
//!
//! ```ignore
//! async fn fresh() -> Subject<MemoryStore> {
//!     let clock = TestClock::new();
//!     Subject::new(MemoryStore::default().with_clock(clock.clone()), clock)
//! }
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::{join_all, BoxFuture};

use crate::store::{SaveOutcome, SessionData, SessionStore};
use serde_json::{json, Value};

/// Every case of the suite, in the order [`store_suite!`](crate::store_suite!) generates them.
pub const CASES: &[&str] = &[
    "round_trip",
    "update_is_compare_and_set",
    "concurrent_writers_one_wins",
    "concurrent_loads_get_their_own",
    "touch_slides_idle_expiry_without_rewriting",
    "touch_never_goes_back_nor_creates",
    "already_expired_sessions_are_not_loaded",
    "idle_expiry",
    "absolute_expiry_beats_touch",
    "delete",
    "delete_by_sid_and_subject",
    "index_keys_with_odd_characters",
    "consume_once",
    "records",
    "lease_exclusive_between_owners",
    "lease_concurrent_acquire_one_wins",
    "lease_renew_and_expiry",
];

/// Generates one `#[tokio::test]` per suite case for the store made by `$make` (an async fn
/// or closure returning a future of the store), with the given attributes on every test.
/// The calling crate needs `tokio` with the `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! store_suite {
    (@cases $make:expr, $attrs:tt, $($case:ident),* $(,)?) => {
        $( $crate::store_suite!(@one $make, $attrs, $case); )*
    };
    (@one $make:expr, [$($attr:tt)*], $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attr)*
        async fn $case() {
            let subject = $crate::test_util::store_suite::IntoSubject::into_subject(($make)().await);
            $crate::test_util::store_suite::$case(&subject.store, &*subject.time).await;
        }
    };
    ($make:expr $(, #[$meta:meta])* $(,)?) => {
        $crate::store_suite!(@cases $make, [$(#[$meta])*],
            round_trip,
            update_is_compare_and_set,
            concurrent_writers_one_wins,
            concurrent_loads_get_their_own,
            touch_slides_idle_expiry_without_rewriting,
            touch_never_goes_back_nor_creates,
            already_expired_sessions_are_not_loaded,
            idle_expiry,
            absolute_expiry_beats_touch,
            delete,
            delete_by_sid_and_subject,
            index_keys_with_odd_characters,
            consume_once,
            records,
            lease_exclusive_between_owners,
            lease_concurrent_acquire_one_wins,
            lease_renew_and_expiry,
        );
    };
}

/// The time a store under the suite lives in, and how the suite makes it pass.
pub trait SuiteTime: Send + Sync {
    /// Unix milliseconds, as the store reads them.
    fn now_millis(&self) -> i64;
    /// Makes `by` pass for the store: whatever expires within it is gone afterwards.
    fn advance(&self, by: Duration) -> BoxFuture<'_, ()>;

    /// Unix seconds, as the store reads them.
    fn now_unix(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// The system's time, which passes by sleeping: for a store that reads the wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealTime;

impl SuiteTime for RealTime {
    fn now_millis(&self) -> i64 {
        crate::time::now_millis()
    }

    fn advance(&self, by: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(by))
    }
}

/// A store that reads only a test clock (the memory store built
/// [`with_clock`](crate::MemoryStore::with_clock)): time passes at once.
impl SuiteTime for super::TestClock {
    fn now_millis(&self) -> i64 {
        super::TestClock::now_millis(self, crate::time::now_millis())
    }

    fn advance(&self, by: Duration) -> BoxFuture<'_, ()> {
        super::TestClock::advance(self, by);
        Box::pin(std::future::ready(()))
    }
}

/// A Redis store built with a test clock: its keys' TTLs move with the clock.
#[cfg(feature = "redis")]
impl SuiteTime for crate::store::RedisStore {
    fn now_millis(&self) -> i64 {
        self.suite_clock_millis()
    }

    fn advance(&self, by: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move { must("advance the store's time", self.advance_time(by).await) })
    }
}

/// A store under the suite, with the time it lives in.
pub struct Subject<S> {
    /// The store.
    pub store: S,
    /// Its time.
    pub time: Box<dyn SuiteTime>,
}

impl<S: SessionStore> Subject<S> {
    /// `store`, whose deadlines run on `time`.
    pub fn new(store: S, time: impl SuiteTime + 'static) -> Self {
        Self {
            store,
            time: Box::new(time),
        }
    }
}

#[cfg(feature = "redis")]
impl Subject<crate::store::RedisStore> {
    /// A Redis store built with a [`TestClock`](super::TestClock): expiry cases move its
    /// clock and its keys' TTLs instead of sleeping.
    pub fn redis(store: crate::store::RedisStore) -> Self {
        let time = store.clone();
        Self::new(store, time)
    }
}

/// What a suite factory may return: a store (in [`RealTime`]) or a [`Subject`].
pub trait IntoSubject {
    /// The store.
    type Store: SessionStore;
    /// The store with its time.
    fn into_subject(self) -> Subject<Self::Store>;
}

impl<S: SessionStore> IntoSubject for S {
    type Store = S;
    fn into_subject(self) -> Subject<S> {
        Subject::new(self, RealTime)
    }
}

impl<S: SessionStore> IntoSubject for Subject<S> {
    type Store = S;
    fn into_subject(self) -> Subject<S> {
        self
    }
}

/// Unix seconds now.
pub fn now_unix() -> i64 {
    crate::time::now_unix()
}

/// A random-enough hex string (not for secrets): ids and key prefixes in tests.
pub fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let a = hasher.finish();
    hasher.write_u64(a);
    format!("{a:016x}{:016x}", hasher.finish())
}

/// A session id shaped like the engine's (43 base64url characters).
pub fn session_id() -> String {
    let mut id = format!("{}{}", random_hex(), random_hex());
    id.truncate(43);
    while id.len() < 43 {
        id.push('A');
    }
    id
}

/// What a test session looks like.
#[derive(Clone, Debug)]
pub struct TestSession {
    /// The subject (`sub`).
    pub subject: String,
    /// The provider session id, if any.
    pub sid: Option<String>,
    /// Absolute end, unix seconds.
    pub expires_at: i64,
    /// Idle timeout, seconds.
    pub idle_timeout: i64,
    /// Marks the token set (`access_token` is `at-<marker>`), to tell versions apart.
    pub marker: String,
}

impl TestSession {
    /// A session of `subject` living 100 s, idle timeout 60 s.
    pub fn new(subject: &str) -> Self {
        Self {
            subject: subject.into(),
            sid: None,
            expires_at: now_unix() + 100,
            idle_timeout: 60,
            marker: "1".into(),
        }
    }

    /// With a provider session id.
    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Its absolute end, unix seconds.
    pub fn expires_at(mut self, at: i64) -> Self {
        self.expires_at = at;
        self
    }

    /// Its idle timeout, seconds.
    pub fn idle_timeout(mut self, secs: i64) -> Self {
        self.idle_timeout = secs;
        self
    }

    /// Its token marker.
    pub fn marker(mut self, marker: &str) -> Self {
        self.marker = marker.into();
        self
    }

    /// The session as JSON (its serde form).
    pub fn json(&self) -> Value {
        json!({
            "subject": self.subject,
            "sid": self.sid,
            "claims": {"sub": self.subject, "name": "Zoë Example", "groups": ["a", "b"]},
            "id_token": format!("eyJhbGciOiJSUzI1NiJ9.id-{}.sig", self.marker),
            "access_token": format!("at-{}", self.marker),
            "access_expires_at": now_unix() + 300,
            "refresh_at": now_unix() + 240,
            "refresh_token": format!("rt-{}", self.marker),
            "scopes": ["openid", "profile"],
            "created_at": now_unix(),
            "expires_at": self.expires_at,
            "idle_timeout": self.idle_timeout,
        })
    }

    /// The session as the engine would hand it to a store.
    pub fn build(&self) -> Arc<SessionData> {
        match serde_json::from_value(self.json()) {
            Ok(data) => Arc::new(data),
            Err(error) => panic!("test session does not deserialize: {error}"),
        }
    }
}

fn as_json(data: &SessionData) -> Value {
    data.to_stored_json()
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .unwrap_or(Value::Null)
}

fn same(a: &SessionData, b: &SessionData) -> bool {
    as_json(a) == as_json(b)
}

/// Makes the store's time pass until it is past `unix` seconds (plus a little margin).
pub async fn advance_past(time: &dyn SuiteTime, unix: i64) {
    let target = unix.saturating_mul(1000).saturating_add(150);
    let by = target.saturating_sub(time.now_millis());
    if by > 0 {
        time.advance(Duration::from_millis(by.unsigned_abs())).await;
    }
}

fn must<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: {error}"),
    }
}

macro_rules! ok {
    ($what:expr, $future:expr) => {
        must($what, $future.await)
    };
}

// ---------------------------------------------------------------------------------------
// The cases.

/// create, load, update, load.
pub async fn round_trip<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let id = session_id();
    let now = time.now_unix();
    let first = TestSession::new("alice").sid("sid-rt").build();
    assert!(ok!("load missing", store.load(&id)).is_none());
    ok!("create", store.create(&id, Arc::clone(&first), now));

    let loaded = ok!("load", store.load(&id)).expect("created session loads");
    assert_eq!(loaded.version, 1, "versions start at 1");
    assert_eq!(loaded.last_seen, now);
    assert!(same(&loaded.data, &first), "data round-trips unchanged");
    assert_eq!(loaded.data.subject(), "alice");
    assert_eq!(loaded.data.sid(), Some("sid-rt"));

    let second = TestSession::new("alice").sid("sid-rt").marker("2").build();
    let saved = ok!("update", store.update(&id, Arc::clone(&second), 1));
    assert_eq!(saved, SaveOutcome::Saved { version: 2 });
    let loaded = ok!("load after update", store.load(&id)).expect("updated session loads");
    assert_eq!(loaded.version, 2);
    assert_eq!(loaded.last_seen, now, "update keeps the last use");
    assert!(same(&loaded.data, &second));

    let third = TestSession::new("alice").sid("sid-rt").marker("3").build();
    assert_eq!(
        ok!("update 2", store.update(&id, third, 2)),
        SaveOutcome::Saved { version: 3 }
    );
    assert_eq!(ok!("load v3", store.load(&id)).map(|l| l.version), Some(3));
}

/// A stale or unknown version, or a missing session, is a conflict and changes nothing.
pub async fn update_is_compare_and_set<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let id = session_id();
    let original = TestSession::new("bob").build();
    ok!(
        "create",
        store.create(&id, Arc::clone(&original), time.now_unix())
    );
    for wrong in [0, 2, 7] {
        let other = TestSession::new("bob").marker("x").build();
        assert_eq!(
            ok!("stale update", store.update(&id, other, wrong)),
            SaveOutcome::Conflict,
            "version {wrong}"
        );
    }
    let loaded = ok!("load", store.load(&id)).expect("still there");
    assert_eq!(loaded.version, 1);
    assert!(same(&loaded.data, &original), "a conflict writes nothing");

    let missing = session_id();
    let data = TestSession::new("bob").build();
    assert_eq!(
        ok!("update missing", store.update(&missing, data, 1)),
        SaveOutcome::Conflict
    );
    assert!(
        ok!("load missing", store.load(&missing)).is_none(),
        "update never creates"
    );
}

/// Two writers with the same expected version at once: exactly one wins, its data is kept.
pub async fn concurrent_writers_one_wins<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    for round in 0..10 {
        let id = session_id();
        ok!(
            "create",
            store.create(&id, TestSession::new("carol").build(), time.now_unix())
        );
        let a = TestSession::new("carol").marker("a").build();
        let b = TestSession::new("carol").marker("b").build();
        let (ra, rb) = tokio::join!(
            store.update(&id, Arc::clone(&a), 1),
            store.update(&id, Arc::clone(&b), 1)
        );
        let (ra, rb) = (must("writer a", ra), must("writer b", rb));
        let winner = match (ra, rb) {
            (SaveOutcome::Saved { version: 2 }, SaveOutcome::Conflict) => &a,
            (SaveOutcome::Conflict, SaveOutcome::Saved { version: 2 }) => &b,
            other => panic!("round {round}: exactly one writer must win, got {other:?}"),
        };
        let loaded = ok!("load", store.load(&id)).expect("session");
        assert_eq!(loaded.version, 2);
        assert!(
            same(&loaded.data, winner),
            "round {round}: the winner's data is stored"
        );
    }
}

/// Many loads at once, every third dropped as soon as it started: each load that finishes
/// gets its own session (a store that batches reads must hand each read its own reply), and
/// none waits on the dropped ones. Several rounds, so that a store that connects in the
/// background (Redis: a connection per runtime) is measured on both paths.
pub async fn concurrent_loads_get_their_own<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let now = time.now_unix();
    let sessions: Vec<(String, Arc<SessionData>)> = (0..48)
        .map(|i| {
            let data = TestSession::new(&format!("user-{i}"))
                .marker(&i.to_string())
                .build();
            (session_id(), data)
        })
        .collect();
    // Each session is last used at another second, so that replies differ even when only
    // the version and last use are read.
    for (i, (id, data)) in sessions.iter().enumerate() {
        ok!("create", store.create(id, Arc::clone(data), now - i as i64));
    }
    let missing = session_id();
    for round in 0..5 {
        let loads = sessions.iter().enumerate().map(|(i, (id, _))| async move {
            if i % 3 == 0 {
                let _ = tokio::time::timeout(Duration::ZERO, store.load(id)).await;
                None
            } else {
                Some(store.load(id).await)
            }
        });
        let all = async { tokio::join!(join_all(loads), store.load(&missing)) };
        let (results, not_found) = tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .unwrap_or_else(|_| panic!("round {round}: loads stalled"));
        for (i, result) in results.into_iter().enumerate() {
            let Some(result) = result else { continue };
            let loaded = must("load", result).expect("every session loads");
            assert!(
                same(&loaded.data, &sessions[i].1) && loaded.last_seen == now - i as i64,
                "round {round}: load {i} got another session"
            );
        }
        assert!(must("load missing", not_found).is_none());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `touch` moves the last use (so the idle deadline) and keeps data and version.
pub async fn touch_slides_idle_expiry_without_rewriting<S: SessionStore>(
    store: &S,
    time: &dyn SuiteTime,
) {
    let id = session_id();
    let now = time.now_unix();
    // Last used 3 s ago with a 5 s idle timeout: idle deadline in 2 s unless touched.
    let data = TestSession::new("dave")
        .sid("sid-touch")
        .idle_timeout(5)
        .build();
    ok!("create", store.create(&id, Arc::clone(&data), now - 3));
    let before = ok!("load", store.load(&id)).expect("session");
    assert_eq!(before.last_seen, now - 3);

    ok!("touch", store.touch(&id, now));
    let after = ok!("load after touch", store.load(&id)).expect("session");
    assert_eq!(after.last_seen, now, "touch records the use");
    assert_eq!(after.version, 1, "touch does not bump the version");
    assert!(same(&after.data, &data), "touch does not change the data");

    // Past the old idle deadline (now + 2), inside the new one (now + 5).
    advance_past(time, now + 2).await;
    let alive =
        ok!("load past the old deadline", store.load(&id)).expect("touch slid the idle expiry");
    assert_eq!(alive.version, 1);

    // A compare-and-set after a touch still expects the same version.
    let next = TestSession::new("dave")
        .sid("sid-touch")
        .idle_timeout(5)
        .marker("2")
        .build();
    assert_eq!(
        ok!("update after touch", store.update(&id, next, 1)),
        SaveOutcome::Saved { version: 2 }
    );
    assert_eq!(
        ok!("load", store.load(&id)).map(|l| l.last_seen),
        Some(now),
        "update keeps the touched last use"
    );
}

/// An older `now` never moves the last use back; touching a missing session creates nothing.
pub async fn touch_never_goes_back_nor_creates<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let id = session_id();
    let now = time.now_unix();
    ok!(
        "create",
        store.create(&id, TestSession::new("erin").build(), now)
    );
    ok!("touch older", store.touch(&id, now - 30));
    assert_eq!(ok!("load", store.load(&id)).map(|l| l.last_seen), Some(now));

    let missing = session_id();
    ok!("touch missing", store.touch(&missing, now));
    assert!(ok!("load missing", store.load(&missing)).is_none());
}

/// Sessions whose idle or absolute deadline has passed are never returned.
pub async fn already_expired_sessions_are_not_loaded<S: SessionStore>(
    store: &S,
    time: &dyn SuiteTime,
) {
    let now = time.now_unix();
    let idle = session_id();
    ok!(
        "create idle-expired",
        store.create(
            &idle,
            TestSession::new("frank").idle_timeout(5).build(),
            now - 10
        )
    );
    assert!(ok!("load idle-expired", store.load(&idle)).is_none());

    let absolute = session_id();
    ok!(
        "create expired",
        store.create(
            &absolute,
            TestSession::new("frank").expires_at(now - 1).build(),
            now
        )
    );
    assert!(ok!("load expired", store.load(&absolute)).is_none());

    ok!("touch expired", store.touch(&absolute, now));
    assert!(
        ok!("load expired after touch", store.load(&absolute)).is_none(),
        "touch does not revive"
    );
}

/// Unused past its idle timeout, a session is gone.
pub async fn idle_expiry<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let id = session_id();
    let now = time.now_unix();
    // Last used 1 s ago, 3 s idle timeout: gone at now + 2.
    ok!(
        "create",
        store.create(
            &id,
            TestSession::new("gina")
                .sid("sid-idle")
                .idle_timeout(3)
                .build(),
            now - 1
        )
    );
    assert!(ok!("load fresh", store.load(&id)).is_some());
    advance_past(time, now + 2).await;
    assert!(ok!("load after idle timeout", store.load(&id)).is_none());
    let data = TestSession::new("gina").marker("late").build();
    assert_eq!(
        ok!("update expired", store.update(&id, data, 1)),
        SaveOutcome::Conflict
    );
}

/// The absolute end wins over a recent use.
pub async fn absolute_expiry_beats_touch<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let id = session_id();
    let now = time.now_unix();
    ok!(
        "create",
        store.create(
            &id,
            TestSession::new("hank")
                .expires_at(now + 2)
                .idle_timeout(60)
                .build(),
            now
        )
    );
    ok!("touch", store.touch(&id, now + 1));
    assert!(ok!("load before the end", store.load(&id)).is_some());
    advance_past(time, now + 2).await;
    ok!("touch after the end", store.touch(&id, time.now_unix()));
    assert!(ok!("load after the end", store.load(&id)).is_none());
}

/// `delete` removes one session (and its index entries); deleting twice is fine.
pub async fn delete<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let sid = format!("sid-del-{}", random_hex());
    let subject = format!("ivy-{}", random_hex());
    let (a, b) = (session_id(), session_id());
    let now = time.now_unix();
    ok!(
        "create a",
        store.create(&a, TestSession::new(&subject).sid(&sid).build(), now)
    );
    ok!(
        "create b",
        store.create(&b, TestSession::new(&subject).sid(&sid).build(), now)
    );
    ok!("delete a", store.delete(&a));
    assert!(ok!("load deleted", store.load(&a)).is_none());
    assert!(
        ok!("load other", store.load(&b)).is_some(),
        "delete removes only its session"
    );
    ok!("delete again", store.delete(&a));
    ok!("delete missing", store.delete(&session_id()));
    let data = TestSession::new(&subject).build();
    assert_eq!(
        ok!("update deleted", store.update(&a, data, 1)),
        SaveOutcome::Conflict
    );
    assert_eq!(
        ok!("delete_by_sid", store.delete_by_sid(&sid)),
        1,
        "the deleted session is not counted"
    );
    assert_eq!(
        ok!("delete_by_subject", store.delete_by_subject(&subject)),
        0
    );
}

/// Back-channel logout: every session with the `sid`, or of the subject, goes; counts are
/// what was actually deleted.
pub async fn delete_by_sid_and_subject<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let tag = random_hex();
    let (alice, bob) = (format!("alice-{tag}"), format!("bob-{tag}"));
    let (sid1, sid2, sid3) = (
        format!("sid1-{tag}"),
        format!("sid2-{tag}"),
        format!("sid3-{tag}"),
    );
    let now = time.now_unix();
    let ids: Vec<String> = (0..6).map(|_| session_id()).collect();
    let sessions = [
        TestSession::new(&alice).sid(&sid1),
        TestSession::new(&alice).sid(&sid1),
        TestSession::new(&bob).sid(&sid1),
        TestSession::new(&alice).sid(&sid2),
        TestSession::new(&alice),
        TestSession::new(&bob).sid(&sid3),
    ];
    for (id, session) in ids.iter().zip(&sessions) {
        ok!("create", store.create(id, session.build(), now));
    }

    assert_eq!(
        ok!("unknown sid", store.delete_by_sid(&format!("nope-{tag}"))),
        0
    );
    assert_eq!(
        ok!(
            "unknown subject",
            store.delete_by_subject(&format!("nobody-{tag}"))
        ),
        0
    );

    assert_eq!(ok!("delete_by_sid sid1", store.delete_by_sid(&sid1)), 3);
    assert_eq!(alive(store, &ids).await, vec![3, 4, 5]);
    assert_eq!(
        ok!("delete_by_sid sid1 again", store.delete_by_sid(&sid1)),
        0
    );

    assert_eq!(
        ok!("delete_by_subject alice", store.delete_by_subject(&alice)),
        2
    );
    assert_eq!(alive(store, &ids).await, vec![5]);
    assert_eq!(
        ok!(
            "delete_by_sid sid2 (already gone)",
            store.delete_by_sid(&sid2)
        ),
        0
    );

    // Indexes survive an update.
    let data = TestSession::new(&bob).sid(&sid2).marker("moved").build();
    assert_eq!(
        ok!("update sid", store.update(&ids[5], data, 1)),
        SaveOutcome::Saved { version: 2 }
    );
    assert_eq!(
        ok!("delete_by_subject bob", store.delete_by_subject(&bob)),
        1
    );
    assert!(alive(store, &ids).await.is_empty());

    // New sessions under a used sid are indexed again.
    let again = session_id();
    ok!(
        "create again",
        store.create(&again, TestSession::new(&alice).sid(&sid1).build(), now)
    );
    assert_eq!(ok!("delete_by_sid reused", store.delete_by_sid(&sid1)), 1);
}

/// Indexes of the sessions still loadable.
async fn alive<S: SessionStore>(store: &S, ids: &[String]) -> Vec<usize> {
    let mut alive = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if must("load", store.load(id).await).is_some() {
            alive.push(i);
        }
    }
    alive
}

/// Subjects and sids are provider strings: separators, spaces, non-ASCII.
pub async fn index_keys_with_odd_characters<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let tag = random_hex();
    let subject = format!("user:42 s:{tag} Zoë/\"{{x}}\"");
    let sid = format!("sid:{tag}:*?[]");
    let (a, b) = (session_id(), session_id());
    let now = time.now_unix();
    ok!(
        "create a",
        store.create(&a, TestSession::new(&subject).sid(&sid).build(), now)
    );
    ok!(
        "create b",
        store.create(&b, TestSession::new(&subject).build(), now)
    );
    let loaded = ok!("load", store.load(&a)).expect("session");
    assert_eq!(loaded.data.subject(), subject);
    assert_eq!(ok!("delete_by_sid", store.delete_by_sid(&sid)), 1);
    assert_eq!(
        ok!("delete_by_subject", store.delete_by_subject(&subject)),
        1
    );
}

/// True once per key within the TTL, true again after it; `is_consumed` reads without writing.
pub async fn consume_once<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let key = format!("jti:{}", random_hex());
    let other = format!("jti:{}", random_hex());
    assert!(!ok!("unused", store.is_consumed(&key)));
    assert!(
        !ok!("still unused", store.is_consumed(&key)),
        "a read wrote a marker"
    );
    assert!(ok!(
        "first",
        store.consume_once(&key, Duration::from_millis(600))
    ));
    assert!(!ok!(
        "second",
        store.consume_once(&key, Duration::from_millis(600))
    ));
    assert!(
        !ok!("third", store.consume_once(&key, Duration::from_secs(60))),
        "a later TTL does not reset"
    );
    assert!(ok!("used", store.is_consumed(&key)));
    assert!(ok!(
        "other key",
        store.consume_once(&other, Duration::from_secs(60))
    ));
    time.advance(Duration::from_millis(900)).await;
    assert!(!ok!("expired", store.is_consumed(&key)));
    assert!(ok!(
        "after the TTL",
        store.consume_once(&key, Duration::from_secs(60))
    ));
    assert!(!ok!(
        "other key still used",
        store.consume_once(&other, Duration::from_secs(60))
    ));
}

/// Records: a put replaces, a get reads, a delete removes, and the TTL ends them.
pub async fn records<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let key = format!("flow:{}", random_hex());
    let other = format!("flow:{}", random_hex());
    assert_eq!(ok!("missing", store.get_record(&key)), None);
    ok!(
        "put",
        store.put_record(&key, "first", Duration::from_millis(600))
    );
    ok!(
        "put other",
        store.put_record(&other, "kept", Duration::from_secs(60))
    );
    assert_eq!(ok!("get", store.get_record(&key)).as_deref(), Some("first"));
    ok!(
        "replace",
        store.put_record(&key, "second", Duration::from_millis(600))
    );
    assert_eq!(
        ok!("replaced", store.get_record(&key)).as_deref(),
        Some("second")
    );
    time.advance(Duration::from_millis(900)).await;
    assert_eq!(ok!("expired", store.get_record(&key)), None);
    assert_eq!(
        ok!("other", store.get_record(&other)).as_deref(),
        Some("kept")
    );
    ok!("delete", store.delete_record(&other));
    assert_eq!(ok!("deleted", store.get_record(&other)), None);
    ok!("delete again", store.delete_record(&other));
}

/// One owner at a time; the holder may re-acquire; only the holder releases.
pub async fn lease_exclusive_between_owners<S: SessionStore>(store: &S, _time: &dyn SuiteTime) {
    let key = format!("refresh:{}", session_id());
    let ttl = Duration::from_secs(30);
    assert!(ok!("a takes", store.acquire_lease(&key, "instance-a", ttl)));
    assert!(!ok!(
        "b refused",
        store.acquire_lease(&key, "instance-b", ttl)
    ));
    assert!(
        ok!("a again", store.acquire_lease(&key, "instance-a", ttl)),
        "the holder may re-acquire"
    );
    ok!(
        "b releases (not the holder)",
        store.release_lease(&key, "instance-b")
    );
    assert!(!ok!(
        "b still refused",
        store.acquire_lease(&key, "instance-b", ttl)
    ));
    ok!("a releases", store.release_lease(&key, "instance-a"));
    assert!(ok!("b takes", store.acquire_lease(&key, "instance-b", ttl)));
    assert!(!ok!(
        "a refused",
        store.acquire_lease(&key, "instance-a", ttl)
    ));
    ok!(
        "release by old holder does nothing",
        store.release_lease(&key, "instance-a")
    );
    assert!(!ok!(
        "a still refused",
        store.acquire_lease(&key, "instance-a", ttl)
    ));
    ok!("b releases", store.release_lease(&key, "instance-b"));
    ok!(
        "release free lease",
        store.release_lease(&key, "instance-b")
    );

    let other = format!("refresh:{}", session_id());
    assert!(ok!(
        "leases are per key",
        store.acquire_lease(&other, "instance-a", ttl)
    ));
    ok!("cleanup", store.release_lease(&other, "instance-a"));
}

/// Two owners racing for a free lease: exactly one gets it.
pub async fn lease_concurrent_acquire_one_wins<S: SessionStore>(store: &S, _time: &dyn SuiteTime) {
    for round in 0..10 {
        let key = format!("refresh:{}", session_id());
        let ttl = Duration::from_secs(30);
        let (a, b) = tokio::join!(
            store.acquire_lease(&key, "instance-a", ttl),
            store.acquire_lease(&key, "instance-b", ttl)
        );
        let (a, b) = (must("a", a), must("b", b));
        assert!(
            a ^ b,
            "round {round}: exactly one owner gets the lease (a: {a}, b: {b})"
        );
    }
}

/// A lease lapses after its TTL unless the holder renews it by acquiring again.
pub async fn lease_renew_and_expiry<S: SessionStore>(store: &S, time: &dyn SuiteTime) {
    let key = format!("refresh:{}", session_id());
    let ttl = Duration::from_millis(800);
    let start = time.now_millis();
    assert!(ok!("a takes", store.acquire_lease(&key, "instance-a", ttl)));
    time.advance(Duration::from_millis(500)).await;
    assert!(ok!(
        "a renews",
        store.acquire_lease(&key, "instance-a", ttl)
    ));
    time.advance(Duration::from_millis(500)).await;
    // 1 s after the first take: lapsed without the renewal, held with it (unless a slow
    // machine took longer than that in real time).
    if time.now_millis() - start < 1250 {
        assert!(!ok!(
            "b refused while renewed",
            store.acquire_lease(&key, "instance-b", ttl)
        ));
    }
    time.advance(Duration::from_millis(700)).await;
    assert!(ok!(
        "b takes after expiry",
        store.acquire_lease(&key, "instance-b", ttl)
    ));
    assert!(!ok!(
        "a refused now",
        store.acquire_lease(&key, "instance-a", ttl)
    ));
}
