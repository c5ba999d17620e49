//! Step-up per route through every adapter, against `oidc-provider` in both path shapes and
//! the dev provider. Each case is written once in `ping_oidc_tests::step_up`.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::oidc_provider::Shape;
use ping_oidc_tests::step_up;

macro_rules! suite {
    ($module:ident, $adapter:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn weak_session_upgraded_pingone_paths() {
                step_up::weak_session_upgraded(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn weak_session_upgraded_pingfederate_paths() {
                step_up::weak_session_upgraded(ADAPTER, Shape::PingFederate).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn weak_session_upgraded_dev_provider() {
                step_up::weak_session_upgraded_dev_provider(ADAPTER).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lower_acr_refused_pingone_paths() {
                step_up::lower_acr_refused(ADAPTER, Shape::PingOne).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lower_acr_refused_pingfederate_paths() {
                step_up::lower_acr_refused(ADAPTER, Shape::PingFederate).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unknown_acr_values_refused() {
                step_up::unknown_acr_values_refused(ADAPTER).await;
            }
        }
    };
}

suite!(axum, Adapter::Axum);
suite!(actix, Adapter::Actix);
