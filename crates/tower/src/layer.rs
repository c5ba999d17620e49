//! The tower layer: answers the auth routes and hands the engine to the extractors.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use ping_oidc::adapter::{AuthResponse, AuthRoute, RequestAuth};
use ping_oidc::PingOidc;
use tower_layer::Layer;
use tower_service::Service;

use crate::convert::{into_http, PartsView};

/// Adds OpenID Connect sign-in to a router. See the [crate docs](crate).
#[derive(Clone, Debug)]
pub struct OidcLayer {
    oidc: PingOidc,
}

impl OidcLayer {
    /// Wraps a started engine.
    pub fn new(oidc: PingOidc) -> Self {
        Self { oidc }
    }
}

impl<S> Layer<S> for OidcLayer {
    type Service = OidcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OidcService {
            inner,
            oidc: self.oidc.clone(),
        }
    }
}

/// The service [`OidcLayer`] makes.
#[derive(Clone, Debug)]
pub struct OidcService<S> {
    inner: S,
    oidc: PingOidc,
}

impl<S> Service<Request<Body>> for OidcService<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        match self.oidc.match_route(request.uri().path()) {
            Some(route) => {
                let oidc = self.oidc.clone();
                ResponseFuture {
                    state: State::Auth {
                        future: Box::pin(async move { Ok(answer(oidc, route, request).await) }),
                    },
                }
            }
            None => {
                request
                    .extensions_mut()
                    .insert(RequestAuth::new(self.oidc.clone()));
                ResponseFuture {
                    state: State::Inner {
                        future: self.inner.call(request),
                    },
                }
            }
        }
    }
}

async fn answer(oidc: PingOidc, route: AuthRoute, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let bytes = if route.needs_body() {
        match Limited::new(body, AuthRoute::MAX_BODY_BYTES)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return into_http(AuthResponse::body_too_large()),
        }
    } else {
        Default::default()
    };
    into_http(oidc.handle(route, &PartsView(&parts), &bytes).await)
}

pin_project_lite::pin_project! {
    /// The future of [`OidcService`]: the inner service's, or the engine's answer.
    pub struct ResponseFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

type AuthFuture<E> = Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send>>;

pin_project_lite::pin_project! {
    #[project = StateProjection]
    enum State<F, E> {
        Inner { #[pin] future: F },
        Auth { future: AuthFuture<E> },
    }
}

impl<F, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => future.poll(cx),
            StateProjection::Auth { future } => future.as_mut().poll(cx),
        }
    }
}
