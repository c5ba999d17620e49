//! Test harness shared by the integration suites: real providers, the example apps under
//! every adapter, a cookie-keeping browser stand-in, and the cases every adapter must pass.
pub mod api_tokens;
pub mod app;
pub mod authorization_request;
pub mod browser;
pub mod browser_run;
pub mod cases;
pub mod client_auth;
pub mod cluster;
pub mod conformance;
pub mod flow;
pub mod log_capture;
pub mod oidc_provider;
pub mod resource_server;
pub mod signin_page;
pub mod step_up;
pub mod store_suite;
pub mod worker_tokens;
