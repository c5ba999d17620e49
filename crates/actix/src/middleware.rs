//! The middleware: answers the auth routes and hands the engine to the extractors.

use std::future::{ready, Future, Ready};
use std::pin::Pin;

use actix_web::body::{to_bytes_limited, BodyStream, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpRequest};
use futures_util::future::{Either, Map, MapOk};
use futures_util::{FutureExt, TryFutureExt};
use ping_oidc::adapter::{AuthResponse, AuthRoute, RequestAuth};
use ping_oidc::PingOidc;

use crate::convert::{to_http_response, RequestView};

/// Adds OpenID Connect sign-in to an app: `App::new().wrap(OidcMiddleware::new(oidc))`. See
/// the [crate docs](crate).
#[derive(Clone, Debug)]
pub struct OidcMiddleware {
    oidc: PingOidc,
}

impl OidcMiddleware {
    /// Wraps a started engine.
    pub fn new(oidc: PingOidc) -> Self {
        Self { oidc }
    }
}

impl<S, B> Transform<S, ServiceRequest> for OidcMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = OidcMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(OidcMiddlewareService {
            service,
            oidc: self.oidc.clone(),
        }))
    }
}

/// The service [`OidcMiddleware`] wraps around the app's.
#[derive(Debug)]
pub struct OidcMiddlewareService<S> {
    service: S,
    oidc: PingOidc,
}

/// The engine's answer to an auth route (boxed; it is not `Send`, and need not be).
pub type AuthAnswer = Pin<Box<dyn Future<Output = ServiceResponse>>>;

/// The future of [`OidcMiddlewareService`]: the wrapped service's own future with its body
/// marked as the left side (not boxed), or the engine's answer to an auth route.
pub type ResponseFuture<F, B> = Either<
    MapOk<F, fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>>,
    Map<AuthAnswer, fn(ServiceResponse) -> Result<ServiceResponse<EitherBody<B>>, Error>>,
>;

impl<S, B> Service<ServiceRequest> for OidcMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let Some(route) = self.oidc.match_route(request.path()) else {
            request
                .extensions_mut()
                .insert(RequestAuth::new(self.oidc.clone()));
            let own_body: fn(_) -> _ = ServiceResponse::map_into_left_body;
            return Either::Left(self.service.call(request).map_ok(own_body));
        };
        let (request, payload) = request.into_parts();
        let answer: AuthAnswer = Box::pin(answer(self.oidc.clone(), route, request, payload));
        Either::Right(answer.map(engine_body::<B>))
    }
}

fn engine_body<B>(response: ServiceResponse) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    Ok(response.map_into_right_body())
}

async fn answer(
    oidc: PingOidc,
    route: AuthRoute,
    request: HttpRequest,
    payload: Payload,
) -> ServiceResponse {
    let body = if route.needs_body() {
        match to_bytes_limited(BodyStream::new(payload), AuthRoute::MAX_BODY_BYTES).await {
            Ok(Ok(bytes)) => bytes,
            // Over the cap, or the body could not be read: the same answer as the tower adapter.
            _ => {
                return ServiceResponse::new(
                    request,
                    to_http_response(AuthResponse::body_too_large()),
                )
            }
        }
    } else {
        Bytes::new()
    };
    let response = oidc.handle(route, &RequestView::of(&request), &body).await;
    ServiceResponse::new(request, to_http_response(response))
}
