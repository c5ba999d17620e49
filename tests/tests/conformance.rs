//! Negative conformance suite (OpenID Foundation RP certification plans: Basic RP, Config RP,
//! refresh token, back-channel logout) against the misbehaving dev provider. Each case is
//! written once in `ping_oidc_tests::conformance` and instantiated here per adapter.

use ping_oidc_tests::app::Adapter;
use ping_oidc_tests::conformance;

macro_rules! conformance_suite {
    ($module:ident, $adapter:expr, [$($case:ident),* $(,)?]) => {
        mod $module {
            use super::*;
            const ADAPTER: Adapter = $adapter;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    conformance::$case(ADAPTER).await;
                }
            )*
        }
    };
}

macro_rules! for_every_adapter {
    ($($case:ident),* $(,)?) => {
        conformance_suite!(axum, Adapter::Axum, [$($case),*]);
        conformance_suite!(actix, Adapter::Actix, [$($case),*]);
    };
}

for_every_adapter!(
    // Basic RP: the ID token.
    id_token_corrupt_signature,
    id_token_alg_none,
    id_token_wrong_issuer,
    id_token_wrong_audience,
    id_token_no_audience,
    id_token_untrusted_extra_audience,
    id_token_several_audiences_wrong_azp,
    id_token_missing_iat,
    id_token_expired,
    id_token_missing_sub,
    id_token_wrong_nonce,
    id_token_missing_nonce,
    id_token_wrong_at_hash,
    id_token_not_yet_valid,
    id_token_audience_not_a_string,
    id_token_crit_header,
    id_token_padded_base64,
    userinfo_wrong_sub,
    // Basic RP: the authorization response and the code exchange.
    state_mismatch,
    authorization_response_wrong_iss,
    authorization_response_missing_iss,
    token_endpoint_error,
    authorize_access_denied,
    // Config RP: discovery and keys.
    discovery_issuer_mismatch,
    kid_absent_single_key,
    kid_absent_several_keys,
    key_rotation_between_logins,
    jwks_key_ops_without_verify,
    es256_id_token,
    // Refresh token.
    refresh_wrong_issuer,
    refresh_wrong_subject,
    refresh_changes_audience,
    refresh_wrong_nonce,
    refresh_keeps_auth_time,
    refresh_client_error_keeps_session,
    cancelled_refresh_keeps_the_rotated_token,
    lost_lease_lets_the_call_finish,
    // Back-channel logout.
    logout_token_alg_none,
    logout_token_wrong_audience,
    logout_token_wrong_issuer,
    logout_token_missing_events,
    logout_token_with_nonce,
    logout_token_expired,
    logout_token_no_sid_no_sub,
    logout_token_bad_signature,
    backchannel_logout_ends_matching_session,
    logout_token_missing_jti,
    logout_token_missing_exp,
    logout_token_issued_long_ago,
    logout_token_media_type_and_replay_after_new_sign_in,
    logout_token_retried_after_a_store_failure,
    // Hardening.
    slow_provider,
    huge_token_response,
    oversized_callback_query,
    duplicated_callback_parameters,
    // Start-up.
    start_without_the_provider,
    start_names_the_resource,
    // Sessions.
    sign_in_over_another_users_session_revokes_it,
    // Lockout.
    callback_flood_locks_nobody_out,
    https_transaction_cookie_has_the_host_prefix,
);
