//! The store suite against every store: `MemoryStore` always, `RedisStore` when `REDIS_URL`
//! is set at build time (`REDIS_URL=redis://127.0.0.1:6379 cargo test -p ping-oidc-tests
//! --test store_suite`); without it the Redis tests are reported as ignored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ping_oidc::store::SessionStore;
use ping_oidc::test_util::store_suite::Subject;
use ping_oidc::test_util::TestClock;
use ping_oidc::MemoryStore;
use ping_oidc_tests::store_suite::{now_unix, random_hex, session_id, TestSession};

mod memory {
    use super::*;

    /// A store on a test clock: the suite's expiry cases move it instead of sleeping.
    async fn on_test_clock() -> Subject<MemoryStore> {
        let clock = TestClock::new();
        Subject::new(MemoryStore::default().with_clock(clock.clone()), clock)
    }

    ping_oidc::store_suite!(on_test_clock);

    /// More sessions than the bound: never more than the bound held, the newest survive.
    #[tokio::test]
    async fn bounded_size_keeps_the_newest() {
        const MAX: usize = 160; // 16 shards of 10
        const CREATED: usize = 1000;
        let store = MemoryStore::new(MAX);
        let base = now_unix() - CREATED as i64;
        let ids: Vec<String> = (0..CREATED).map(|_| session_id()).collect();
        for (i, id) in ids.iter().enumerate() {
            // Later sessions were used more recently.
            store
                .create(
                    id,
                    TestSession::new("many").idle_timeout(5000).build(),
                    base + i as i64,
                )
                .await
                .expect("create");
            assert!(
                store.len() <= MAX,
                "{} sessions held after {} creates, bound {MAX}",
                store.len(),
                i + 1
            );
        }
        assert!(
            store.len() > MAX / 2,
            "the store keeps sessions up to its bound ({} held)",
            store.len()
        );
        let mut alive = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            if store.load(id).await.expect("load").is_some() {
                alive.push(i);
            }
        }
        assert_eq!(alive.len(), store.len(), "every held session loads");
        // Each shard keeps its 10 most recent sessions, so the 10 newest overall always survive.
        for newest in CREATED - MAX / 16..CREATED {
            assert!(
                alive.contains(&newest),
                "session {newest} (among the newest) was evicted"
            );
        }
        // And nothing old survives while newer sessions were evicted.
        assert!(
            alive.iter().all(|&i| i >= CREATED / 2),
            "old sessions survived: {alive:?}"
        );
    }

    /// Eviction drops the evicted sessions from the indexes too.
    #[tokio::test]
    async fn eviction_cleans_indexes() {
        let store = MemoryStore::new(16); // one per shard
        let sid = format!("sid-{}", random_hex());
        let now = now_unix();
        for i in 0..200 {
            store
                .create(
                    &session_id(),
                    TestSession::new("evicted")
                        .sid(&sid)
                        .idle_timeout(5000)
                        .build(),
                    now - 300 + i,
                )
                .await
                .expect("create");
        }
        let held = store.len();
        assert!(held <= 16);
        assert_eq!(
            store.delete_by_sid(&sid).await.expect("delete_by_sid"),
            held
        );
        assert!(store.is_empty());
    }

    /// Single-use markers are bounded: past 100,000 live ones, a new marker makes room by
    /// evicting the one that expires first. Refusing instead would let a flood lock everyone
    /// out of sign-in; the markers guard codes the provider has already spent.
    #[tokio::test]
    async fn single_use_markers_are_bounded() {
        let store = MemoryStore::default();
        let short = Duration::from_secs(30);
        let ttl = Duration::from_secs(60);
        assert!(store.consume_once("tx:first", short).await.expect("room"));
        for i in 1..100_000 {
            assert!(store
                .consume_once(&format!("tx:{i}"), ttl)
                .await
                .expect("room"));
        }
        assert!(store
            .consume_once("tx:one-more", ttl)
            .await
            .expect("room is made"));
        assert!(
            !store.is_consumed("tx:first").await.expect("read"),
            "evicted first"
        );
        // Other markers still answer "seen".
        assert!(!store.consume_once("tx:7", ttl).await.expect("seen"));
        assert!(!store.consume_once("tx:99999", ttl).await.expect("seen"));
        assert!(!store.consume_once("tx:one-more", ttl).await.expect("seen"));
    }

    /// Records past the bound (10,000): the one expiring first makes room, nobody is refused.
    /// A flood of short-lived records (unanswered flows) never evicts a longer-lived one
    /// (a flow a user is answering).
    #[tokio::test]
    async fn records_are_bounded() {
        let store = MemoryStore::default();
        let put = |key: String, secs: u64| {
            let store = &store;
            async move {
                store
                    .put_record(&key, "x", Duration::from_secs(secs))
                    .await
                    .expect("room")
            }
        };
        put("flow:answered".into(), 900).await;
        put("flow:oldest-unanswered".into(), 300).await;
        // 10,000 records in all, the bound; the next one makes room.
        for i in 1..9_999 {
            put(format!("flow:{i}"), 301).await;
        }
        put("flow:one-more".into(), 301).await;
        let kept = |key: &'static str| {
            let store = &store;
            async move { store.get_record(key).await.expect("read").is_some() }
        };
        assert!(
            !kept("flow:oldest-unanswered").await,
            "the first to expire went"
        );
        for key in ["flow:answered", "flow:1", "flow:9998", "flow:one-more"] {
            assert!(kept(key).await, "{key} kept");
        }
    }
}

mod redis {
    use super::*;
    use ping_oidc::store::RedisStore;
    use ping_oidc_tests::store_suite::RedisServer;

    fn url() -> String {
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    fn prefix() -> String {
        format!("ping_oidc_test:{}:", random_hex())
    }

    /// A store of its own (a fresh prefix), on a test clock that starts at the system's time.
    async fn fresh() -> RedisStore {
        match RedisStore::builder(&url())
            .key_prefix(prefix())
            .clock(TestClock::new())
            .connect()
            .await
        {
            Ok(store) => store,
            Err(error) => panic!("REDIS_URL is set but Redis is unreachable: {error}"),
        }
    }

    async fn raw() -> ::redis::aio::MultiplexedConnection {
        let client = ::redis::Client::open(url()).expect("client");
        client
            .get_multiplexed_async_connection()
            .await
            .expect("raw connection")
    }

    async fn query<T: ::redis::FromRedisValue>(
        con: &mut ::redis::aio::MultiplexedConnection,
        args: &[&str],
    ) -> T {
        let mut command = ::redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        command.query_async(con).await.expect("raw query")
    }

    /// The suite's expiry cases move the store's clock and its keys' TTLs
    /// (`RedisStore::advance_time`) instead of sleeping.
    async fn on_test_clock() -> Subject<RedisStore> {
        Subject::redis(fresh().await)
    }

    ping_oidc::store_suite!(on_test_clock, #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]);

    /// Records past `max_records`: the one expiring first goes (key and index entry), the
    /// rest stay, and a put is never refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn records_are_bounded() {
        let prefix = prefix();
        let store = RedisStore::builder(&url())
            .key_prefix(prefix.clone())
            .max_records(3)
            .connect()
            .await
            .expect("Redis");
        let put = |key: &'static str, secs: u64| {
            let store = &store;
            async move {
                store
                    .put_record(key, "x", Duration::from_secs(secs))
                    .await
                    .expect("put")
            }
        };
        put("answered", 900).await;
        put("first", 300).await;
        put("second", 301).await;
        put("third", 302).await;
        assert_eq!(store.get_record("first").await.expect("get"), None);
        for key in ["answered", "second", "third"] {
            assert!(store.get_record(key).await.expect("get").is_some(), "{key}");
        }
        let mut con = raw().await;
        let indexed: u64 = query(&mut con, &["ZCARD", &format!("{prefix}recs")]).await;
        assert_eq!(indexed, 3);
        store.delete_record("second").await.expect("delete");
        let indexed: u64 = query(&mut con, &["ZCARD", &format!("{prefix}recs")]).await;
        assert_eq!(indexed, 2, "a delete leaves no index entry");
    }

    /// `rediss://`: TLS through rustls, trusting a private CA. A few suite cases run over it;
    /// a client that does not trust the CA cannot connect.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn tls_connections() {
        let (server, ca) = RedisServer::start_tls().expect("TLS redis-server");
        assert!(server.url().starts_with("rediss://"));
        let store = RedisStore::builder(&server.url())
            .key_prefix(prefix())
            .tls_root_certificates(ca)
            .clock(TestClock::new())
            .connect()
            .await
            .expect("TLS connection");
        // The store is its own suite time (its clock and its keys' TTLs).
        ping_oidc_tests::store_suite::round_trip(&store, &store).await;
        ping_oidc_tests::store_suite::update_is_compare_and_set(&store, &store).await;
        ping_oidc_tests::store_suite::consume_once(&store, &store).await;
        let untrusting = RedisStore::builder(&server.url())
            .command_timeout(Duration::from_secs(1))
            .connect()
            .await;
        assert!(untrusting.is_err(), "connected without trusting the CA");
    }

    /// The documented keys and TTLs: the session hash expires with the session; indexes live
    /// at least as long; `touch` rewrites `ls` and the TTL only.
    #[tokio::test]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn key_layout_and_ttls() {
        let store = fresh().await;
        let p = store.key_prefix().to_string();
        let mut con = raw().await;
        let id = session_id();
        let now = now_unix();
        let session = TestSession::new("layout")
            .sid("sid-layout")
            .idle_timeout(30)
            .expires_at(now + 100);
        // Last used 10 s ago: 20 s of idle time left.
        store
            .create(&id, session.build(), now - 10)
            .await
            .expect("create");

        let key = format!("{p}s:{id}");
        let ttl: i64 = query(&mut con, &["PTTL", &key]).await;
        assert!(
            (18_000..=20_000).contains(&ttl),
            "session TTL is the remaining idle time, got {ttl} ms"
        );
        for index in [format!("{p}sub:layout"), format!("{p}sid:sid-layout")] {
            let members: Vec<String> = query(&mut con, &["SMEMBERS", &index]).await;
            assert_eq!(members, vec![id.clone()], "{index}");
            let index_ttl: i64 = query(&mut con, &["PTTL", &index]).await;
            assert!(
                index_ttl >= ttl - 50,
                "{index} TTL {index_ttl} ms shorter than the session's {ttl} ms"
            );
        }
        let (data, version, last_seen): (String, String, String) = {
            let values: Vec<String> = query(&mut con, &["HMGET", &key, "d", "v", "ls"]).await;
            (values[0].clone(), values[1].clone(), values[2].clone())
        };
        assert_eq!(version, "1");
        assert_eq!(last_seen, (now - 10).to_string());

        store.touch(&id, now).await.expect("touch");
        let values: Vec<String> = query(&mut con, &["HMGET", &key, "d", "v", "ls"]).await;
        assert_eq!(values[0], data, "touch leaves the data byte for byte");
        assert_eq!(values[1], "1", "touch leaves the version");
        assert_eq!(values[2], now.to_string());
        let touched: i64 = query(&mut con, &["PTTL", &key]).await;
        assert!(
            (28_000..=30_000).contains(&touched),
            "touch slides the TTL to the idle timeout, got {touched} ms"
        );
        for index in [format!("{p}sub:layout"), format!("{p}sid:sid-layout")] {
            let index_ttl: i64 = query(&mut con, &["PTTL", &index]).await;
            assert!(
                index_ttl >= touched - 50,
                "touch extends {index} too ({index_ttl} ms)"
            );
        }

        // The absolute end caps the TTL.
        let capped = session_id();
        store
            .create(
                &capped,
                TestSession::new("layout")
                    .expires_at(now + 5)
                    .idle_timeout(600)
                    .build(),
                now,
            )
            .await
            .expect("create");
        let ttl: i64 = query(&mut con, &["PTTL", &format!("{p}s:{capped}")]).await;
        assert!(
            (3_000..=5_000).contains(&ttl),
            "TTL capped by the absolute expiry, got {ttl} ms"
        );

        // consume_once and leases.
        assert!(store
            .consume_once("jti-1", Duration::from_secs(7))
            .await
            .expect("consume"));
        let ttl: i64 = query(&mut con, &["PTTL", &format!("{p}once:jti-1")]).await;
        assert!((6_000..=7_000).contains(&ttl), "once TTL {ttl}");
        assert!(store
            .acquire_lease("refresh:x", "owner-1", Duration::from_secs(9))
            .await
            .expect("lease"));
        let owner: String = query(&mut con, &["GET", &format!("{p}lease:refresh:x")]).await;
        assert_eq!(owner, "owner-1");
        let ttl: i64 = query(&mut con, &["PTTL", &format!("{p}lease:refresh:x")]).await;
        assert!((8_000..=9_000).contains(&ttl), "lease TTL {ttl}");

        // Deleting cleans the indexes.
        store.delete(&id).await.expect("delete");
        let exists: i64 = query(&mut con, &["EXISTS", &key, &format!("{p}sid:sid-layout")]).await;
        assert_eq!(exists, 0, "session and its emptied sid index are gone");
        let members: Vec<String> = query(&mut con, &["SMEMBERS", &format!("{p}sub:layout")]).await;
        assert_eq!(members, vec![capped.clone()]);
    }

    /// Index sets drop the ids of sessions that expired.
    #[tokio::test]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn stale_index_entries_are_pruned() {
        let store = fresh().await;
        let p = store.key_prefix().to_string();
        let mut con = raw().await;
        let now = now_unix();
        let stale: Vec<String> = (0..20).map(|_| session_id()).collect();
        for id in &stale {
            store
                .create(id, TestSession::new("pruned").build(), now)
                .await
                .expect("create");
        }
        // Expire them behind the store's back.
        for id in &stale {
            let _: i64 = query(&mut con, &["DEL", &format!("{p}s:{id}")]).await;
        }
        let live: Vec<String> = (0..12).map(|_| session_id()).collect();
        for id in &live {
            store
                .create(id, TestSession::new("pruned").build(), now)
                .await
                .expect("create");
        }
        let count: i64 = query(&mut con, &["SCARD", &format!("{p}sub:pruned")]).await;
        assert!(
            count < 32,
            "stale ids pruned as the set grows ({count} members)"
        );
        assert_eq!(
            store.delete_by_subject("pruned").await.expect("delete"),
            live.len()
        );
    }

    /// Two stores with different prefixes never see each other's keys.
    #[tokio::test]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn prefixes_isolate_apps() {
        let (a, b) = (fresh().await, fresh().await);
        let id = session_id();
        a.create(
            &id,
            TestSession::new("iso").sid("sid-iso").build(),
            now_unix(),
        )
        .await
        .expect("create");
        assert!(b.load(&id).await.expect("load").is_none());
        assert_eq!(b.delete_by_sid("sid-iso").await.expect("delete"), 0);
        assert!(b
            .consume_once("k", Duration::from_secs(5))
            .await
            .expect("once"));
        assert!(a
            .consume_once("k", Duration::from_secs(5))
            .await
            .expect("once"));
        assert!(a.load(&id).await.expect("load").is_some());
    }

    use ping_oidc::store::SaveOutcome;

    async fn with_prefix(prefix: &str, local_cache: usize) -> RedisStore {
        RedisStore::builder(&url())
            .key_prefix(prefix)
            .local_cache_capacity(local_cache)
            .connect()
            .await
            .expect("REDIS_URL is set but Redis is unreachable")
    }

    /// The session's version and access token, as `store` loads it now.
    async fn version_and_token(store: &RedisStore, id: &str) -> (u64, String) {
        let loaded = store.load(id).await.expect("load").expect("session");
        let json = loaded.data.to_stored_json().expect("json");
        let token = serde_json::from_slice::<serde_json::Value>(&json).expect("json")
            ["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (loaded.version, token)
    }

    /// Two instances (two stores, each with its local cache of decoded sessions) on one
    /// Redis: whatever one changes, the other sees at its next load, never a cached copy.
    #[tokio::test]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn instances_never_serve_a_stale_cached_session() {
        let prefix = prefix();
        let (a, b) = (
            with_prefix(&prefix, 1024).await,
            with_prefix(&prefix, 1024).await,
        );
        let uncached = with_prefix(&prefix, 0).await;
        let sid = format!("sid-{}", random_hex());
        let id = session_id();
        a.create(&id, TestSession::new("two").sid(&sid).build(), now_unix())
            .await
            .expect("create");
        // Both decode it once and keep it.
        for store in [&a, &b, &uncached] {
            assert_eq!(version_and_token(store, &id).await, (1, "at-1".to_string()));
        }
        // A refresh on `a`: `b` reads the new tokens at once.
        let next = TestSession::new("two").sid(&sid).marker("2").build();
        assert_eq!(
            a.update(&id, next, 1).await.expect("update"),
            SaveOutcome::Saved { version: 2 }
        );
        for store in [&b, &a, &b, &uncached] {
            assert_eq!(version_and_token(store, &id).await, (2, "at-2".to_string()));
        }
        // `b` writes next; `a`'s cached version 2 is stale and must not be served.
        let third = TestSession::new("two").sid(&sid).marker("3").build();
        assert_eq!(
            b.update(&id, third, 2).await.expect("update"),
            SaveOutcome::Saved { version: 3 }
        );
        assert_eq!(version_and_token(&a, &id).await, (3, "at-3".to_string()));
        // A stale compare-and-set from `a` still conflicts.
        let stale = TestSession::new("two").sid(&sid).marker("stale").build();
        assert_eq!(
            a.update(&id, stale, 2).await.expect("update"),
            SaveOutcome::Conflict
        );
        // Back-channel logout on `b` (by sid): gone for `a` too, though `a` had it cached.
        assert!(a.load(&id).await.expect("load").is_some());
        assert_eq!(b.delete_by_sid(&sid).await.expect("delete"), 1);
        assert!(a.load(&id).await.expect("load").is_none());
        // Deleted with a raw command behind both stores' backs: gone as well.
        let other = session_id();
        a.create(&other, TestSession::new("two").build(), now_unix())
            .await
            .expect("create");
        assert!(b.load(&other).await.expect("load").is_some());
        let mut raw = raw().await;
        let _: i64 = query(&mut raw, &["DEL", &format!("{prefix}s:{other}")]).await;
        assert!(a.load(&other).await.expect("load").is_none());
        assert!(b.load(&other).await.expect("load").is_none());
    }

    /// Store connections a private Redis sees (every client but the one asking).
    async fn store_connections(raw: &mut ::redis::aio::MultiplexedConnection) -> usize {
        let list: String = query(raw, &["CLIENT", "LIST"]).await;
        list.lines().count().saturating_sub(1)
    }

    /// Loads go through a connection the calling runtime drives (besides the I/O thread's),
    /// and a load whose connection was cut is served anyway, by the I/O thread.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn loads_use_the_callers_runtime_and_survive_a_cut() {
        let server = RedisServer::start().expect("start redis-server");
        let store = RedisStore::connect(&server.url()).await.expect("connect");
        let mut raw = {
            let client = ::redis::Client::open(server.url()).expect("client");
            client
                .get_multiplexed_async_connection()
                .await
                .expect("raw connection")
        };
        let id = session_id();
        store
            .create(&id, TestSession::new("near").build(), now_unix())
            .await
            .expect("create");
        assert_eq!(store_connections(&mut raw).await, 1, "the I/O thread's");
        // The first load starts this runtime's own connection.
        let started = Instant::now();
        loop {
            assert!(store.load(&id).await.expect("load").is_some());
            if store_connections(&mut raw).await == 2 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no second connection"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Every store connection is cut (as by a Redis failover or a proxy restart).
        let _: i64 = query(
            &mut raw,
            &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"],
        )
        .await;
        for _ in 0..3 {
            let loaded = store.load(&id).await.expect("load after the cut");
            assert!(loaded.is_some());
        }
        // And the runtime connects again by itself.
        let started = Instant::now();
        while store_connections(&mut raw).await < 2 {
            assert!(store.load(&id).await.expect("load").is_some());
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "not reconnected"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clones used from several current-thread runtimes at once (actix-web's workers), and
    /// after the runtime that connected has been shut down.
    #[test]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    fn works_from_several_runtimes() {
        let store = {
            let connecting = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            connecting.block_on(fresh())
            // `connecting` is dropped here.
        };
        let sid = format!("sid-{}", random_hex());
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let store = store.clone();
                let sid = sid.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    runtime.block_on(async move {
                        for round in 0..25 {
                            let id = session_id();
                            let data = TestSession::new(&format!("w{worker}")).sid(&sid).build();
                            store.create(&id, data, now_unix()).await.expect("create");
                            let loaded = store.load(&id).await.expect("load").expect("session");
                            assert_eq!(loaded.version, 1, "worker {worker} round {round}");
                            let next = TestSession::new(&format!("w{worker}"))
                                .sid(&sid)
                                .marker("2")
                                .build();
                            let saved = store.update(&id, next, 1).await.expect("update");
                            assert_eq!(saved, ping_oidc::store::SaveOutcome::Saved { version: 2 });
                            store.touch(&id, now_unix()).await.expect("touch");
                        }
                    });
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker thread");
        }
        // A runtime made only now, after all the others stopped.
        let last = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        // Loads from it still work, though the other runtimes' own connections died with them.
        let probe = session_id();
        last.block_on(async {
            let data = TestSession::new("last").sid(&sid).build();
            store
                .create(&probe, data, now_unix())
                .await
                .expect("create");
            for _ in 0..20 {
                assert!(store.load(&probe).await.expect("load").is_some());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let deleted = last
            .block_on(store.delete_by_sid(&sid))
            .expect("delete_by_sid");
        assert_eq!(deleted, 101);
    }

    /// Connecting to a port nothing listens on fails fast with a `StoreError`.
    #[tokio::test]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn unreachable_redis_fails_fast() {
        let port = ping_oidc_tests::store_suite::free_port().expect("port");
        let started = Instant::now();
        let result = RedisStore::builder(&format!("redis://127.0.0.1:{port}"))
            .connect()
            .await;
        assert!(result.is_err(), "connecting to a closed port must fail");
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "took {:?}",
            started.elapsed()
        );

        let lazy = RedisStore::builder(&format!("redis://127.0.0.1:{port}"))
            .connect_lazy()
            .expect("lazy store");
        let started = Instant::now();
        let error = lazy.load(&session_id()).await.expect_err("no Redis");
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "took {:?}",
            started.elapsed()
        );
        assert!(error.message().starts_with("redis: "), "{error}");
    }

    /// A TCP proxy to Redis that can go silent: connections made before `freeze` never pass
    /// another byte (a half-open connection, a partition), newer ones work after `thaw`.
    struct FreezingProxy {
        port: u16,
        epoch: Arc<std::sync::atomic::AtomicU64>,
        frozen: Arc<std::sync::atomic::AtomicBool>,
    }

    impl FreezingProxy {
        async fn start(upstream: String) -> Self {
            use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let epoch = Arc::new(AtomicU64::new(0));
            let frozen = Arc::new(AtomicBool::new(false));
            let (e, f) = (Arc::clone(&epoch), Arc::clone(&frozen));
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let (epoch, frozen) = (Arc::clone(&e), Arc::clone(&f));
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        while frozen.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        let born = epoch.load(Ordering::SeqCst);
                        let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                            return;
                        };
                        let (cr, cw) = client.into_split();
                        let (sr, sw) = server.into_split();
                        let up = tokio::spawn(pump(cr, sw, Arc::clone(&epoch), born));
                        let down = tokio::spawn(pump(sr, cw, epoch, born));
                        let _ = tokio::join!(up, down);
                    });
                }
            });
            Self {
                port,
                epoch,
                frozen,
            }
        }

        fn freeze(&self) {
            use std::sync::atomic::Ordering;
            self.frozen.store(true, Ordering::SeqCst);
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }

        fn thaw(&self) {
            self.frozen
                .store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Copies bytes until the connection's epoch is over, then goes silent with the sockets open.
    async fn pump(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        epoch: Arc<std::sync::atomic::AtomicU64>,
        born: u64,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if epoch.load(std::sync::atomic::Ordering::SeqCst) != born {
                std::future::pending::<()>().await;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    /// A connection that stops answering (no reset, no close) is dropped after a timeout,
    /// and the store reconnects by itself once Redis can be reached again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn stuck_connection_is_replaced() {
        let upstream = {
            let parsed = url::Url::parse(&url()).expect("REDIS_URL");
            format!(
                "{}:{}",
                parsed.host_str().unwrap_or("127.0.0.1"),
                parsed.port().unwrap_or(6379)
            )
        };
        let proxy = FreezingProxy::start(upstream).await;
        let store = RedisStore::builder(&format!("redis://127.0.0.1:{}", proxy.port))
            .key_prefix(prefix())
            .command_timeout(Duration::from_millis(500))
            .connect()
            .await
            .expect("connect through the proxy");
        let id = session_id();
        store
            .create(&id, TestSession::new("stuck").build(), now_unix())
            .await
            .expect("create");

        proxy.freeze();
        for _ in 0..2 {
            let started = Instant::now();
            let error = store
                .load(&id)
                .await
                .expect_err("load through a silent connection");
            assert!(
                started.elapsed() < Duration::from_millis(1000),
                "took {:?}",
                started.elapsed()
            );
            assert!(error.message().contains("timed out"), "{error}");
        }

        proxy.thaw();
        let started = Instant::now();
        let loaded = loop {
            match store.load(&id).await {
                Ok(loaded) => break loaded,
                Err(error) if started.elapsed() < Duration::from_secs(5) => {
                    eprintln!("after thaw: {error}");
                }
                Err(error) => panic!("the store kept the stuck connection: {error}"),
            }
        };
        assert!(loaded.is_some(), "the session is back");
    }

    /// Redis goes down: calls fail quickly with `StoreError`, never hang. It comes back on the
    /// same port: the same store object works again by itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
    async fn outage_and_recovery() {
        let mut server = RedisServer::start().expect("start redis-server");
        let store = RedisStore::builder(&server.url())
            .key_prefix(prefix())
            .connect()
            .await
            .expect("connect");
        let id = session_id();
        let data = TestSession::new("outage").sid("sid-outage").build();
        store
            .create(&id, Arc::clone(&data), now_unix())
            .await
            .expect("create while up");
        assert!(store.load(&id).await.expect("load while up").is_some());

        server.stop();
        let limit = Duration::from_millis(2500);
        for round in 0..3 {
            let started = Instant::now();
            let error = store.load(&id).await.expect_err("load while down");
            assert!(
                started.elapsed() < limit,
                "load took {:?}",
                started.elapsed()
            );
            assert!(
                !error.message().contains(&id),
                "error messages never contain the session id"
            );

            let started = Instant::now();
            store
                .create(&session_id(), Arc::clone(&data), now_unix())
                .await
                .expect_err("create while down");
            assert!(
                started.elapsed() < limit,
                "create took {:?}",
                started.elapsed()
            );

            let started = Instant::now();
            store
                .touch(&id, now_unix())
                .await
                .expect_err("touch while down");
            assert!(
                started.elapsed() < limit,
                "touch took {:?}",
                started.elapsed()
            );

            let started = Instant::now();
            store
                .update(&id, Arc::clone(&data), 1)
                .await
                .expect_err("update while down");
            store
                .acquire_lease("refresh:x", "me", Duration::from_secs(5))
                .await
                .expect_err("lease while down");
            assert!(
                started.elapsed() < limit * 2,
                "round {round}: took {:?}",
                started.elapsed()
            );
        }

        server.restart().expect("restart redis-server");
        // Same object, no manual reconnect. The server kept nothing (no persistence).
        let started = Instant::now();
        let mut attempts = 0;
        let loaded = loop {
            attempts += 1;
            match store.load(&id).await {
                Ok(loaded) => break loaded,
                Err(error) if started.elapsed() < Duration::from_secs(10) => {
                    eprintln!("attempt {attempts} after restart: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("the store did not recover within 10 s: {error}"),
            }
        };
        assert!(loaded.is_none(), "the restarted server is empty");
        assert_eq!(attempts, 1, "the first call after Redis is back succeeds");
        let again = session_id();
        store
            .create(&again, Arc::clone(&data), now_unix())
            .await
            .expect("create after recovery");
        assert_eq!(
            store
                .load(&again)
                .await
                .expect("load after recovery")
                .map(|l| l.version),
            Some(1)
        );
        assert_eq!(
            store
                .delete_by_sid("sid-outage")
                .await
                .expect("delete_by_sid after recovery"),
            1
        );
    }
}
