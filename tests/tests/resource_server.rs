//! Bearer-protected APIs through every adapter, against `oidc-provider` in both path shapes.
//! Each case is written once in `ping_oidc_tests::resource_server`.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::oidc_provider::Shape;
use ping_oidc_tests::resource_server;

macro_rules! resource_suite {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn accepts_tokens_for_this_resource_pingone_paths() {
                resource_server::accepts_tokens_for_this_resource(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn accepts_tokens_for_this_resource_pingfederate_paths() {
                resource_server::accepts_tokens_for_this_resource(ADAPTER, Shape::PingFederate)
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn accepts_opaque_tokens_through_introspection_pingone_paths() {
                resource_server::accepts_opaque_tokens_through_introspection(
                    ADAPTER,
                    Shape::PingOne,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn accepts_opaque_tokens_through_introspection_pingfederate_paths() {
                resource_server::accepts_opaque_tokens_through_introspection(
                    ADAPTER,
                    Shape::PingFederate,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refuses_bad_tokens() {
                resource_server::refuses_bad_tokens(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn forged_kids_do_not_flood_the_provider() {
                resource_server::forged_kids_do_not_flood_the_provider(
                    ADAPTER,
                    Shape::PingFederate,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn accepts_dpop_bound_tokens_pingone_paths() {
                resource_server::accepts_dpop_bound_tokens(ADAPTER, Shape::PingOne, false).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn accepts_dpop_bound_tokens_pingfederate_paths() {
                resource_server::accepts_dpop_bound_tokens(ADAPTER, Shape::PingFederate, false)
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn accepts_dpop_bound_opaque_tokens() {
                resource_server::accepts_dpop_bound_tokens(ADAPTER, Shape::PingFederate, true)
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn dpop_nonces() {
                resource_server::dpop_nonces(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn serves_session_and_token_callers() {
                resource_server::serves_session_and_token_callers(ADAPTER, Shape::PingFederate)
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn step_up_challenges() {
                resource_server::step_up_challenges(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refuses_wrong_claims_under_the_providers_key() {
                resource_server::refuses_wrong_claims_under_the_providers_key(
                    ADAPTER,
                    Shape::PingFederate,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn serves_protected_resource_metadata() {
                resource_server::serves_protected_resource_metadata(ADAPTER, Shape::PingOne).await;
            }
        }
    };
}

resource_suite!(axum, Adapter::Axum);
resource_suite!(actix, Adapter::Actix);
