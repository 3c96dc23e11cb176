//! The caller of an RPC: the bearer token of the `authorization` metadata, checked by the service exactly as
//! REST checks its `Authorization` header.

use super::errors;
use crate::service::{Actor, Service, ServiceError, Via};
use tonic::Request;

pub async fn actor<T>(service: &Service, request: &Request<T>) -> Result<Actor, tonic::Status> {
    let unauthenticated = |m: &str| errors::status(ServiceError::Unauthenticated(m.to_string()));
    let Some(value) = request.metadata().get("authorization") else {
        return Err(unauthenticated(
            "a bearer token is required in the `authorization` metadata (POST /api/v1/auth/login or `director token create` gives one)",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthenticated("the `authorization` metadata must be `Bearer <token>`"))?;
    service
        .authenticate(token, Via::Grpc)
        .await
        .map_err(errors::status)
}
