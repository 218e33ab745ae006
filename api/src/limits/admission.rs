//! Where the limits meet requests: the middleware that admits a request or
//! answers 429, and the extractor of the client a request counts against.
//! Apart from `limits` itself, which `State` holds.

use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};

use super::client::TrustedProxies;
use super::is_unlimited;
use super::throttled::write_policies;
use crate::error::ApiError;
use crate::state::State;

/// The client a request is counted against (see `client`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client(pub IpAddr);

impl Client {
    fn of(request: &HttpRequest, proxies: &TrustedProxies) -> Self {
        if let Some(client) = request.extensions().get::<Client>() {
            return *client;
        }
        // Test requests may have no peer.
        let peer = request
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip());
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok());
        Self(proxies.client(peer, forwarded))
    }
}

impl FromRequest for Client {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match request.app_data::<web::Data<State>>() {
            Some(state) => Ok(Self::of(request, &state.limits.proxies)),
            None => Err(ApiError::Internal("the app has no State".to_owned())),
        })
    }
}

/// The middleware: admits a request or answers 429, and tells the client
/// where it stands.
pub async fn admit(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = request.app_data::<web::Data<State>>().cloned();
    let Some(state) = state.filter(|_| !is_unlimited(request.path())) else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let client = Client::of(request.request(), &state.limits.proxies);
    request.extensions_mut().insert(client);
    match state.limits.admit(client.0, Instant::now()) {
        Ok(policies) => {
            let mut response = next.call(request).await?;
            write_policies(&policies, response.headers_mut());
            Ok(response.map_into_left_body())
        }
        Err(throttled) => {
            let error = ApiError::TooManyRequests(throttled);
            Ok(request
                .into_response(error.error_response())
                .map_into_right_body())
        }
    }
}
