//! Redirect-less sign-in through every adapter, in both product shapes, against the dev
//! provider's Flow API emulation. Each case is written once in `ping_oidc_tests::flow`.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::flow::{self, Shape};

macro_rules! flow_suite {
    ($module:ident, $adapter:expr, $shape:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;
            const SHAPE: Shape = $shape;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn every_user_signs_in() {
                flow::every_user_signs_in(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wrong_password_then_right() {
                flow::wrong_password_then_right(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn locked_out_after_the_last_attempt() {
                flow::locked_out_after_the_last_attempt(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wrong_otp_then_right() {
                flow::wrong_otp_then_right(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn expired_flow() {
                flow::expired_flow(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unknown_status_is_unsupported() {
                flow::unknown_status_is_unsupported(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn misbehaviours_are_refused() {
                flow::misbehaviours_are_refused(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn flows_are_bound_and_guarded() {
                flow::flows_are_bound_and_guarded(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn two_flows_at_once() {
                flow::two_flows_at_once(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sign_out_ends_provider_session() {
                flow::sign_out_ends_provider_session(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn backchannel_logout_ends_flow_session() {
                flow::backchannel_logout_ends_flow_session(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn start_flood_blocks_nobody() {
                flow::start_flood_blocks_nobody(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(redis_tests), ignore = "REDIS_URL is not set: Redis tests skipped")]
            async fn flow_across_instances_redis() {
                flow::flow_across_instances_redis(ADAPTER, SHAPE).await;
            }
        }
    };
}

flow_suite!(axum_pingone, Adapter::Axum, Shape::PingOne);
flow_suite!(axum_pingfederate, Adapter::Axum, Shape::PingFederate);
flow_suite!(actix_pingone, Adapter::Actix, Shape::PingOne);
flow_suite!(actix_pingfederate, Adapter::Actix, Shape::PingFederate);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pingone_code_deliveries_axum() {
    flow::pingone_code_deliveries(Adapter::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pingone_code_deliveries_actix() {
    flow::pingone_code_deliveries(Adapter::Actix).await;
}
