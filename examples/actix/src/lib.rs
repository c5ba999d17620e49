//! The example site on actix-web: routing only; pages and configuration come from
//! `ping-oidc-example-site`.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::ContentType;
use actix_web::web::{self, ServiceConfig};
use actix_web::{guard, App, HttpResponse, HttpServer, Route};
use ping_oidc_actix::{
    AuthenticatedUser, BearerToken, OidcMiddleware, OptionalUser, PingOidc, ScopedToken,
    SessionOrBearer,
};
use ping_oidc_example_site::{self as site, OrdersRead, RecentMfa, ResourceRead};

/// Worker threads per server: the example is small, and CI machines have two cores.
pub const WORKERS: usize = 2;

/// The whole site, `/auth/*` included.
pub fn app(
    oidc: PingOidc,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new().configure(routes).wrap(OidcMiddleware::new(oidc))
}

/// The site's own routes; [`app`] wraps them with the middleware.
pub fn routes(config: &mut ServiceConfig) {
    config
        .route("/", get().to(home))
        .route("/profile", get().to(profile))
        .route("/api/me", get().to(me))
        .route("/api/ok", get().to(|_: AuthenticatedUser| async { "ok" }))
        .route("/api/orders", get().to(orders))
        .route("/api/devices", get().to(devices))
        .route("/api/step-up", get().to(step_up))
        .route("/api/resource", get().to(resource))
        .route("/api/resource/step-up", get().to(resource_step_up))
        .route("/api/caller", get().to(caller))
        .route("/api/caller", web::post().to(caller))
        .route("/healthz", get().to(|| async { "ok" }));
}

/// `GET` (and `HEAD`, as the axum example answers it too).
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

fn html(page: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(page)
}

async fn home(OptionalUser(user): OptionalUser) -> HttpResponse {
    html(site::home_page(user.as_ref()))
}

async fn profile(user: AuthenticatedUser) -> HttpResponse {
    html(site::profile_page(&user))
}

async fn me(user: AuthenticatedUser) -> HttpResponse {
    HttpResponse::Ok().json(site::me_json(&user))
}

async fn orders(token: ScopedToken<OrdersRead>) -> HttpResponse {
    HttpResponse::Ok().json(site::orders_json(&token))
}

async fn resource(caller: BearerToken<ResourceRead>) -> HttpResponse {
    HttpResponse::Ok().json(site::resource_json(&caller))
}

async fn resource_step_up(caller: BearerToken<RecentMfa>) -> HttpResponse {
    HttpResponse::Ok().json(site::resource_json(&caller))
}

async fn caller(caller: SessionOrBearer) -> HttpResponse {
    HttpResponse::Ok().json(site::caller_json(&caller))
}

async fn step_up(user: ScopedToken<RecentMfa>) -> HttpResponse {
    HttpResponse::Ok().json(site::step_up_json(&user))
}

async fn devices(user: AuthenticatedUser) -> HttpResponse {
    let (status, body) = site::devices_json(&user).await;
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    HttpResponse::build(status).json(body)
}

/// The site served on its own thread by [`spawn`]; stops when dropped or [stopped](Self::stop).
pub struct RunningServer {
    address: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets requests in flight finish (a few seconds at most), and waits for
    /// the server's thread.
    pub fn stop(mut self) -> io::Result<()> {
        self.finish(true)
    }

    fn finish(&mut self, graceful: bool) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // The command is sent at once; the returned future only reports completion.
        drop(self.handle.stop(graceful));
        thread
            .join()
            .map_err(|_| io::Error::other("the actix server thread panicked"))?
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.finish(false);
    }
}

/// Serves the site on `listener` from a new OS thread running its own actix system, with
/// [`WORKERS`] workers and no signal handling (the caller owns the process), so that any
/// runtime, a tokio test harness included, can start it.
pub fn spawn(listener: TcpListener, oidc: PingOidc) -> io::Result<RunningServer> {
    let address = listener.local_addr()?;
    let (started, handle) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("example-actix".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || app(oidc.clone()))
                    .workers(WORKERS)
                    .disable_signals()
                    .shutdown_timeout(5)
                    .listen(listener);
                let server = match server {
                    Ok(server) => server.run(),
                    Err(error) => {
                        let _ = started.send(Err(error));
                        return Ok(());
                    }
                };
                let _ = started.send(Ok(server.handle()));
                server.await
            })
        })?;
    let handle = match handle.recv() {
        Ok(handle) => handle?,
        Err(_) => {
            return Err(io::Error::other(
                "the actix server thread ended before it started",
            ))
        }
    };
    Ok(RunningServer {
        address,
        handle,
        thread: Some(thread),
    })
}

/// Serves the site on `listener` on the current actix system until it stops (Ctrl-C).
pub async fn serve(listener: TcpListener, oidc: PingOidc) -> io::Result<()> {
    HttpServer::new(move || app(oidc.clone()))
        .workers(WORKERS)
        .listen(listener)?
        .run()
        .await
}
