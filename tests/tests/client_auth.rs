//! JWT client authentication, signed request objects and a public client through the modern
//! authorization request, for every adapter against `oidc-provider` in both path shapes.
//! Each case is written once in `ping_oidc_tests::client_auth`.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::client_auth as cases;
use ping_oidc_tests::oidc_provider::Shape;

macro_rules! suite {
    ($module:ident, $adapter:expr, $shape:expr) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;
            const SHAPE: Shape = $shape;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn client_secret_jwt_at_every_endpoint() {
                cases::jwt_client_auth_at_every_endpoint(ADAPTER, SHAPE, "client_secret_jwt").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn private_key_jwt_at_every_endpoint() {
                cases::jwt_client_auth_at_every_endpoint(ADAPTER, SHAPE, "private_key_jwt").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn signed_request_object_required() {
                cases::signed_request_object_required(ADAPTER, SHAPE).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn public_client_through_par_silent_check_and_step_up() {
                cases::public_client_through_par_silent_check_and_step_up(ADAPTER, SHAPE).await;
            }
        }
    };
}

suite!(axum_pingone, Adapter::Axum, Shape::PingOne);
suite!(axum_pingfederate, Adapter::Axum, Shape::PingFederate);
suite!(actix_pingone, Adapter::Actix, Shape::PingOne);
suite!(actix_pingfederate, Adapter::Actix, Shape::PingFederate);
