//! Many instances, per adapter: Redis sessions, one refresh across instances, back-channel
//! logout, Redis outages. Redis cases need `REDIS_URL` (scripts/test.sh sets it); without it
//! they are reported as ignored.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::cluster;

macro_rules! cluster_suite {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
            async fn two_instances_refresh_once() {
                cluster::two_instances_refresh_once(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
            async fn backchannel_logout_across_instances_redis() {
                cluster::backchannel_logout_across_instances_redis(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn backchannel_logout_memory() {
                cluster::backchannel_logout_memory(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn end_session_triggers_backchannel() {
                cluster::end_session_triggers_backchannel(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
            async fn sessions_are_sealed_at_rest() {
                cluster::sessions_are_sealed_at_rest(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
            async fn redis_outage() {
                cluster::redis_outage(ADAPTER).await;
            }
        }
    };
}

cluster_suite!(axum, Adapter::Axum);
cluster_suite!(actix, Adapter::Actix);
