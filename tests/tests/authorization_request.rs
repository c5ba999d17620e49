//! PAR and the silent check through every adapter, against `oidc-provider` in both path
//! shapes. Each case is written once in `ping_oidc_tests::authorization_request`.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::authorization_request as cases;
use ping_oidc_tests::oidc_provider::Shape;

macro_rules! suite {
    ($module:ident, $adapter:expr, $shape:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;
            const SHAPE: Shape = $shape;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn par_used_when_advertised() {
                cases::par_used_when_advertised(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn par_required_by_the_provider() {
                cases::par_required_by_the_provider(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn par_refusal_gets_a_page() {
                cases::par_refusal_gets_a_page(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn silent_check_both_outcomes() {
                cases::silent_check_both_outcomes(ADAPTER, SHAPE).await;
            }
        }
    };
}

suite!(axum_pingone, Adapter::Axum, Shape::PingOne);
suite!(axum_pingfederate, Adapter::Axum, Shape::PingFederate);
suite!(actix_pingone, Adapter::Actix, Shape::PingOne);
suite!(actix_pingfederate, Adapter::Actix, Shape::PingFederate);
