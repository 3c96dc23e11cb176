//! The caller of an RPC: the bearer token of the `authorization` metadata, checked by the service exactly as
//! REST checks its `Authorization` header.

use super::errors;
use director_service::{bearer_token, Actor, Service, ServiceError, Via};
use tonic::Request;

pub async fn actor<T>(service: &Service, request: &Request<T>) -> Result<Actor, tonic::Status> {
    service
        .authenticate(token(request)?, Via::Grpc)
        .await
        .map_err(errors::status)
}

/// The bearer token of the `authorization` metadata, not checked yet.
pub fn token<T>(request: &Request<T>) -> Result<&str, tonic::Status> {
    let unauthenticated = |m: &str| errors::status(ServiceError::Unauthenticated(m.to_string()));
    let Some(value) = request.metadata().get("authorization") else {
        return Err(unauthenticated(
            "a bearer token is required in the `authorization` metadata (Login, POST /api/v1/auth/login or `director token create` gives one)",
        ));
    };
    bearer_token(value.as_bytes())
        .ok_or_else(|| unauthenticated("the `authorization` metadata must be `Bearer <token>`"))
}
