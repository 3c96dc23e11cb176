//! The `director.v1.Director` service: thin handlers that authenticate the caller, turn the request into model
//! values, call the same service methods as REST, and render the result.

use super::errors::{self, Conflict};
use super::proto as pb;
use super::{auth, from_proto, to_proto, wait, watch};
use director_core::model::{RealServer, RealServerKey, Role, VirtualServer, VrrpGroup};
use director_core::state::VirtualServerRecord;
use director_runtime::daemon::Runtime;
use director_runtime::views::{RealServerView, VirtualServerView, VrrpGroupView};
use director_service::store::AuditFilter;
use director_service::{self as service, parse, Actor, Scope, Service, ServiceError};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// How long a wait (WaitApplied, Drain with wait) lasts when the request names no timeout, and at most.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

pub struct DirectorApi {
    pub service: Arc<Service>,
    pub runtime: Arc<Runtime>,
    /// The health checker: real servers are shown with its results, as REST shows them.
    pub health: Arc<director_health::Engine>,
    /// The kernel's one writer; read here for the connection table.
    pub reconciler: Arc<director_runtime::reconciler::Reconciler>,
    /// Cancelled when the daemon stops: waits and watches end with UNAVAILABLE.
    pub shutdown: CancellationToken,
}

type Reply<T> = Result<Response<T>, Status>;

impl DirectorApi {
    /// A virtual server as `actor` may see it (secrets withheld below admin).
    fn vs_view(&self, actor: &Actor, record: &VirtualServerRecord) -> pb::VirtualServer {
        to_proto::virtual_server(
            &VirtualServerView::new(record, &self.runtime.started_at, actor.visibility())
                .with_health(&self.health.snapshot_of(&record.spec.name)),
        )
    }

    fn rs_view(
        &self,
        actor: &Actor,
        record: &VirtualServerRecord,
        key: &RealServerKey,
    ) -> Result<pb::RealServer, Status> {
        let rs = record.spec.real_server(key).cloned().ok_or_else(|| {
            errors::status(ServiceError::NotFound {
                kind: "real server",
                name: format!("{}/{key}", record.spec.name),
            })
        })?;
        Ok(to_proto::real_server(
            &RealServerView::new(
                record,
                &record.spec,
                rs,
                &self.runtime.started_at,
                actor.visibility(),
            )
            .with_health(
                &record.spec.name,
                &self.health.snapshot_of(&record.spec.name),
            ),
        ))
    }

    /// Fails when no dataplane runs: there is nothing that would ever apply a revision.
    fn require_dataplane(&self) -> Result<(), Status> {
        if self.runtime.dataplane.active == "none" {
            return Err(errors::no_dataplane(&self.runtime.dataplane.detail));
        }
        Ok(())
    }
}

/// `ADDR:PORT` (IPv6 as `[2001:db8::1]:80`).
fn real_server_key(text: &str) -> Result<RealServerKey, Status> {
    text.parse()
        .map_err(|e: String| errors::invalid("real_server", e))
}

fn required<'a, T>(value: &'a Option<T>, field: &str) -> Result<&'a T, Status> {
    value
        .as_ref()
        .ok_or_else(|| errors::invalid(field, "required"))
}

fn parse_virtual_server(msg: &pb::VirtualServer) -> Result<VirtualServer, ServiceError> {
    parse::from_json(from_proto::virtual_server(msg)?)
}

fn parse_real_server(msg: &pb::RealServer) -> Result<RealServer, ServiceError> {
    let rs: RealServer = parse::from_json(from_proto::real_server(msg)?)?;
    if u16::try_from(rs.port).is_err() {
        return Err(ServiceError::invalid(
            "port",
            format!("must be between 0 and 65535, got {}", rs.port),
        ));
    }
    Ok(rs)
}

fn parse_vrrp_group(msg: &pb::VrrpGroup) -> Result<VrrpGroup, ServiceError> {
    parse::from_json(from_proto::vrrp_group(msg)?)
}

/// The object of a write of `scope` by `actor`, read with `read`: the role is judged first, so a caller who
/// may not make the change is refused (PERMISSION_DENIED) whatever the message holds, as REST answers 403
/// (see [`service::screen`]).
fn parse_for<M, T>(
    actor: &Actor,
    scope: Scope,
    msg: &Option<M>,
    field: &str,
    read: impl FnOnce(&M) -> Result<T, ServiceError>,
) -> Result<T, Status> {
    service::require(actor, scope.role()).map_err(errors::status)?;
    let msg = required(msg, field)?;
    read(msg).map_err(|e| errors::status(service::screen(actor, scope, e)))
}

/// A wait's timeout: the default when absent, refused when negative or longer than the maximum.
pub fn wait_timeout(timeout: Option<&prost_types::Duration>) -> Result<Duration, Status> {
    let Some(t) = timeout else {
        return Ok(DEFAULT_WAIT);
    };
    let d =
        Duration::try_from(*t).map_err(|_| errors::invalid("timeout", "must not be negative"))?;
    if d > MAX_WAIT {
        return Err(errors::invalid(
            "timeout",
            format!("at most {} s", MAX_WAIT.as_secs()),
        ));
    }
    Ok(d)
}

fn page_limit(limit: u32) -> Result<usize, Status> {
    let limit = if limit == 0 {
        service::DEFAULT_PAGE
    } else {
        limit
    };
    if !(1..=service::MAX_PAGE).contains(&limit) {
        return Err(errors::invalid(
            "limit",
            format!("must be between 1 and {}", service::MAX_PAGE),
        ));
    }
    Ok(limit as usize)
}

fn non_empty(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

#[tonic::async_trait]
impl pb::director_server::Director for DirectorApi {
    async fn login(&self, request: Request<pb::LoginRequest>) -> Reply<pb::LoginResponse> {
        let address = request.remote_addr().map(|a| a.ip());
        let req = request.into_inner();
        let login = self
            .service
            .login(&req.username, &req.password, service::Via::Grpc, address)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(pb::LoginResponse {
            token: login.token,
            expires_at: login.expires_at,
            role: login.role.to_string(),
        }))
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Reply<pb::LogoutResponse> {
        let address = request.remote_addr().map(|a| a.ip());
        self.service
            .logout(auth::token(&request)?, service::Via::Grpc, address)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn status(&self, request: Request<pb::StatusRequest>) -> Reply<pb::StatusResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        service::require(&actor, Role::Viewer).map_err(errors::status)?;
        let state = self.service.snapshot();
        let rt = &self.runtime;
        Ok(Response::new(pb::StatusResponse {
            node: rt.node.clone(),
            version: rt.version.to_string(),
            started_at: rt.started_at.clone(),
            uptime_s: rt.started.elapsed().as_secs(),
            revision: state.revision,
            applied_revision: self.service.applied_revision(),
            dataplane: Some(pb::Dataplane {
                requested: rt.dataplane.requested.clone(),
                active: rt.dataplane.active.clone(),
                detail: rt.dataplane.detail.clone(),
            }),
            counts: Some(pb::Counts {
                virtual_servers: state.virtual_servers.len() as u64,
                real_servers: state.real_server_count() as u64,
                vrrp_groups: state.vrrp_groups.len() as u64,
            }),
        }))
    }

    async fn list_virtual_servers(
        &self,
        request: Request<pb::ListVirtualServersRequest>,
    ) -> Reply<pb::ListVirtualServersResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        service::require(&actor, Role::Viewer).map_err(errors::status)?;
        let req = request.into_inner();
        let limit = page_limit(req.limit)?;
        let state = self.service.snapshot();
        let start = match non_empty(req.cursor) {
            Some(c) => Bound::Excluded(c),
            None => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut next_cursor = String::new();
        for (name, record) in state.virtual_servers.range((start, Bound::Unbounded)) {
            if items.len() == limit {
                next_cursor = items
                    .last()
                    .map(|v: &pb::VirtualServer| v.name.clone())
                    .unwrap_or_else(|| name.clone());
                break;
            }
            items.push(self.vs_view(&actor, record));
        }
        Ok(Response::new(pb::ListVirtualServersResponse {
            items,
            next_cursor,
            revision: state.revision,
        }))
    }

    async fn get_virtual_server(
        &self,
        request: Request<pb::GetVirtualServerRequest>,
    ) -> Reply<pb::VirtualServer> {
        let actor = auth::actor(&self.service, &request).await?;
        let record = self
            .service
            .get_virtual_server(&actor, &request.get_ref().name)
            .map_err(errors::status)?;
        Ok(Response::new(self.vs_view(&actor, &record)))
    }

    async fn create_virtual_server(
        &self,
        request: Request<pb::CreateVirtualServerRequest>,
    ) -> Reply<pb::VirtualServer> {
        let actor = auth::actor(&self.service, &request).await?;
        let vs = parse_for(
            &actor,
            Scope::AdminOnly,
            &request.get_ref().virtual_server,
            "virtual_server",
            parse_virtual_server,
        )?;
        let record = self
            .service
            .create_virtual_server(&actor, vs)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(self.vs_view(&actor, &record)))
    }

    async fn update_virtual_server(
        &self,
        request: Request<pb::UpdateVirtualServerRequest>,
    ) -> Reply<pb::VirtualServer> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let vs = parse_for(
            &actor,
            Scope::VirtualServer,
            &req.virtual_server,
            "virtual_server",
            parse_virtual_server,
        )?;
        let name = vs.name.clone();
        let record = self
            .service
            .replace_virtual_server(&actor, &name, vs, req.expected_revision)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(self.vs_view(&actor, &record)))
    }

    async fn delete_virtual_server(
        &self,
        request: Request<pb::DeleteVirtualServerRequest>,
    ) -> Reply<pb::DeleteResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        self.service
            .delete_virtual_server(&actor, &req.name, req.expected_revision)
            .await
            .map_err(|e| errors::status_of(e, Conflict::InUse))?;
        Ok(Response::new(pb::DeleteResponse {
            revision: self.service.snapshot().revision,
        }))
    }

    async fn list_real_servers(
        &self,
        request: Request<pb::ListRealServersRequest>,
    ) -> Reply<pb::ListRealServersResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        let record = self
            .service
            .get_virtual_server(&actor, &request.get_ref().virtual_server)
            .map_err(errors::status)?;
        let view = self.vs_view(&actor, &record);
        Ok(Response::new(pb::ListRealServersResponse {
            items: view.real_servers,
            revision: record.revision,
        }))
    }

    async fn get_real_server(
        &self,
        request: Request<pb::GetRealServerRequest>,
    ) -> Reply<pb::RealServer> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.get_ref();
        let key = real_server_key(&req.real_server)?;
        let (record, _) = self
            .service
            .get_real_server(&actor, &req.virtual_server, &key)
            .map_err(errors::status)?;
        Ok(Response::new(self.rs_view(&actor, &record, &key)?))
    }

    async fn create_real_server(
        &self,
        request: Request<pb::CreateRealServerRequest>,
    ) -> Reply<pb::RealServer> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let rs = parse_for(
            &actor,
            Scope::AdminOnly,
            &req.real_server,
            "real_server",
            parse_real_server,
        )?;
        let key = rs.key();
        let record = self
            .service
            .create_real_server(&actor, &req.virtual_server, rs)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(self.rs_view(&actor, &record, &key)?))
    }

    async fn update_real_server(
        &self,
        request: Request<pb::UpdateRealServerRequest>,
    ) -> Reply<pb::RealServer> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let rs = parse_for(
            &actor,
            Scope::RealServer,
            &req.real_server,
            "real_server",
            parse_real_server,
        )?;
        let key = rs.key();
        let record = self
            .service
            .replace_real_server(&actor, &req.virtual_server, &key, rs, req.expected_revision)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(self.rs_view(&actor, &record, &key)?))
    }

    async fn delete_real_server(
        &self,
        request: Request<pb::DeleteRealServerRequest>,
    ) -> Reply<pb::DeleteResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let key = real_server_key(&req.real_server)?;
        self.service
            .delete_real_server(&actor, &req.virtual_server, &key, req.expected_revision)
            .await
            .map_err(|e| errors::status_of(e, Conflict::InUse))?;
        Ok(Response::new(pb::DeleteResponse {
            revision: self.service.snapshot().revision,
        }))
    }

    async fn set_weight(&self, request: Request<pb::SetWeightRequest>) -> Reply<pb::RealServer> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let key = real_server_key(&req.real_server)?;
        let record = self
            .service
            .set_real_server_weight(
                &actor,
                &req.virtual_server,
                &key,
                req.weight,
                req.expected_revision,
            )
            .await
            .map_err(errors::status)?;
        Ok(Response::new(self.rs_view(&actor, &record, &key)?))
    }

    async fn drain(&self, request: Request<pb::DrainRequest>) -> Reply<pb::DrainResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let key = real_server_key(&req.real_server)?;
        let timeout = wait_timeout(req.timeout.as_ref())?;
        if req.wait {
            // Refused before anything changes: the caller asked for a wait that could never end.
            self.require_dataplane()?;
        }
        let record = self
            .service
            .set_real_server_weight(&actor, &req.virtual_server, &key, 0, None)
            .await
            .map_err(errors::status)?;
        let real_server = Some(self.rs_view(&actor, &record, &key)?);
        if !req.wait {
            return Ok(Response::new(pb::DrainResponse {
                real_server,
                active_connections: 0,
                applied_revision: None,
            }));
        }
        let drained = wait::drained(
            &self.service,
            &record.spec,
            &key,
            record.real_server_revision(&key),
            timeout,
            &self.shutdown,
        )
        .await?;
        Ok(Response::new(pb::DrainResponse {
            real_server,
            active_connections: drained.active_connections,
            applied_revision: Some(drained.applied_revision),
        }))
    }

    async fn drain_host(
        &self,
        request: Request<pb::DrainHostRequest>,
    ) -> Reply<pb::HostDrainResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let address = service::parse_host_address(&req.address).map_err(errors::status)?;
        let timeout = wait_timeout(req.timeout.as_ref())?;
        if req.wait {
            // Refused before anything changes: the caller asked for a wait that could never end.
            self.require_dataplane()?;
        }
        let change = self
            .service
            .drain_host(&actor, address)
            .await
            .map_err(errors::status)?;
        if !req.wait {
            return Ok(Response::new(pb::HostDrainResponse {
                change: Some(to_proto::host_change(&change)),
                active_connections: 0,
                applied_revision: None,
            }));
        }
        let state = self.service.snapshot();
        let targets: Vec<(VirtualServer, RealServerKey)> = change
            .real_servers
            .iter()
            .filter_map(|r| {
                let vs = state.virtual_servers.get(&r.virtual_server)?;
                let key = r.endpoint.parse().ok()?;
                Some((vs.spec.clone(), key))
            })
            .collect();
        let drained = wait::drained_all(
            &self.service,
            &targets,
            &format!("host {address}"),
            change.revision,
            timeout,
            &self.shutdown,
        )
        .await?;
        Ok(Response::new(pb::HostDrainResponse {
            change: Some(to_proto::host_change(&change)),
            active_connections: drained.active_connections,
            applied_revision: Some(drained.applied_revision),
        }))
    }

    async fn undrain_host(
        &self,
        request: Request<pb::UndrainHostRequest>,
    ) -> Reply<pb::HostDrainResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let address = service::parse_host_address(&req.address).map_err(errors::status)?;
        let change = self
            .service
            .undrain_host(&actor, address)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(pb::HostDrainResponse {
            change: Some(to_proto::host_change(&change)),
            active_connections: 0,
            applied_revision: None,
        }))
    }

    async fn enable(&self, request: Request<pb::EnableRequest>) -> Reply<pb::VirtualServer> {
        self.set_enabled(request, true).await
    }

    async fn disable(&self, request: Request<pb::EnableRequest>) -> Reply<pb::VirtualServer> {
        self.set_enabled(request, false).await
    }

    async fn list_vrrp_groups(
        &self,
        request: Request<pb::ListVrrpGroupsRequest>,
    ) -> Reply<pb::ListVrrpGroupsResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        service::require(&actor, Role::Viewer).map_err(errors::status)?;
        let state = self.service.snapshot();
        Ok(Response::new(pb::ListVrrpGroupsResponse {
            items: state
                .vrrp_groups
                .values()
                .map(|r| to_proto::vrrp_group(&VrrpGroupView::new(r, actor.visibility())))
                .collect(),
            revision: state.revision,
        }))
    }

    async fn get_vrrp_group(
        &self,
        request: Request<pb::GetVrrpGroupRequest>,
    ) -> Reply<pb::VrrpGroup> {
        let actor = auth::actor(&self.service, &request).await?;
        let record = self
            .service
            .get_vrrp_group(&actor, &request.get_ref().name)
            .map_err(errors::status)?;
        Ok(Response::new(to_proto::vrrp_group(&VrrpGroupView::new(
            &record,
            actor.visibility(),
        ))))
    }

    async fn create_vrrp_group(
        &self,
        request: Request<pb::CreateVrrpGroupRequest>,
    ) -> Reply<pb::VrrpGroup> {
        let actor = auth::actor(&self.service, &request).await?;
        let group = parse_for(
            &actor,
            Scope::AdminOnly,
            &request.get_ref().vrrp_group,
            "vrrp_group",
            parse_vrrp_group,
        )?;
        let record = self
            .service
            .create_vrrp_group(&actor, group)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(to_proto::vrrp_group(&VrrpGroupView::new(
            &record,
            actor.visibility(),
        ))))
    }

    async fn update_vrrp_group(
        &self,
        request: Request<pb::UpdateVrrpGroupRequest>,
    ) -> Reply<pb::VrrpGroup> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let group = parse_for(
            &actor,
            Scope::AdminOnly,
            &req.vrrp_group,
            "vrrp_group",
            parse_vrrp_group,
        )?;
        let name = group.name.clone();
        let record = self
            .service
            .replace_vrrp_group(&actor, &name, group, req.expected_revision)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(to_proto::vrrp_group(&VrrpGroupView::new(
            &record,
            actor.visibility(),
        ))))
    }

    async fn delete_vrrp_group(
        &self,
        request: Request<pb::DeleteVrrpGroupRequest>,
    ) -> Reply<pb::DeleteResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        self.service
            .delete_vrrp_group(&actor, &req.name, req.expected_revision)
            .await
            .map_err(|e| errors::status_of(e, Conflict::InUse))?;
        Ok(Response::new(pb::DeleteResponse {
            revision: self.service.snapshot().revision,
        }))
    }

    async fn list_connections(
        &self,
        request: Request<pb::ListConnectionsRequest>,
    ) -> Reply<pb::ListConnectionsResponse> {
        use director_runtime::connections::{ConnectionList, ConnectionQuery, QueryError};
        let actor = auth::actor(&self.service, &request).await?;
        service::require(&actor, director_core::model::Role::Viewer).map_err(errors::status)?;
        let req = request.into_inner();
        let query = ConnectionQuery {
            virtual_server: non_empty(req.virtual_server),
            real_server: non_empty(req.real_server),
            client: non_empty(req.client),
            limit: Some(req.limit).filter(|l| *l != 0),
            cursor: non_empty(req.cursor),
        };
        let state = self.service.snapshot();
        let page = query.page(&state).map_err(|e| match e {
            QueryError::UnknownVirtualServer(name) => errors::status(ServiceError::NotFound {
                kind: "virtual server",
                name,
            }),
            e @ QueryError::Invalid { .. } => errors::invalid(e.field(), e.to_string()),
        })?;
        if !self.reconciler.dataplane().has_table() {
            return Err(errors::no_table(&self.runtime.dataplane.detail));
        }
        let page = self
            .reconciler
            .connections(page)
            .await
            .map_err(|e| Status::internal(format!("reading the connection table: {e}")))?;
        let list = ConnectionList::new(page, &state);
        Ok(Response::new(pb::ListConnectionsResponse {
            connections: list
                .connections
                .into_iter()
                .map(|c| pb::Connection {
                    protocol: c.protocol,
                    client: c.client.to_string(),
                    virtual_address: c.virtual_address.to_string(),
                    virtual_server: c.virtual_server.unwrap_or_default(),
                    real: c.real.to_string(),
                    state: c.state,
                    expires_s: c.expires_s,
                    template: c.template,
                })
                .collect(),
            next_cursor: list.next_cursor.unwrap_or_default(),
            matched: list.matched,
            scanned: list.scanned,
        }))
    }

    async fn list_audit(
        &self,
        request: Request<pb::ListAuditRequest>,
    ) -> Reply<pb::ListAuditResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let filter = AuditFilter {
            kind: non_empty(req.kind),
            name: non_empty(req.name),
            object: non_empty(req.object),
            actor: non_empty(req.actor),
            action: non_empty(req.action),
            via: non_empty(req.via),
            // Several sources are one comma-separated filter, as REST takes them.
            source: (!req.source.is_empty()).then(|| req.source.join(",")),
            field: non_empty(req.field),
            since: non_empty(req.since),
            until: non_empty(req.until),
            limit: Some(req.limit).filter(|l| *l != 0),
            cursor: non_empty(req.cursor),
        };
        let (entries, next) = self
            .service
            .audit(&actor, &filter)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(pb::ListAuditResponse {
            items: entries.iter().map(to_proto::audit_entry).collect(),
            next_cursor: next.unwrap_or_default(),
        }))
    }

    type WatchStream = watch::WatchStream;

    async fn watch(&self, request: Request<pb::WatchRequest>) -> Reply<Self::WatchStream> {
        let actor = auth::actor(&self.service, &request).await?;
        service::require(&actor, Role::Viewer).map_err(errors::status)?;
        let stream = watch::start(
            self.service.clone(),
            actor,
            request.get_ref().after_revision,
            self.shutdown.clone(),
        )?;
        Ok(Response::new(stream))
    }

    async fn wait_applied(
        &self,
        request: Request<pb::WaitAppliedRequest>,
    ) -> Reply<pb::WaitAppliedResponse> {
        let actor = auth::actor(&self.service, &request).await?;
        service::require(&actor, Role::Viewer).map_err(errors::status)?;
        let req = request.into_inner();
        let timeout = wait_timeout(req.timeout.as_ref())?;
        self.require_dataplane()?;
        let applied = wait::applied(&self.service, req.revision, timeout, &self.shutdown).await?;
        Ok(Response::new(pb::WaitAppliedResponse {
            applied_revision: applied,
        }))
    }
}

impl DirectorApi {
    async fn set_enabled(
        &self,
        request: Request<pb::EnableRequest>,
        enabled: bool,
    ) -> Reply<pb::VirtualServer> {
        let actor = auth::actor(&self.service, &request).await?;
        let req = request.into_inner();
        let key = non_empty(req.real_server)
            .map(|k| real_server_key(&k))
            .transpose()?;
        let record = self
            .service
            .set_enabled(&actor, &req.virtual_server, key.as_ref(), enabled, None)
            .await
            .map_err(errors::status)?;
        Ok(Response::new(self.vs_view(&actor, &record)))
    }
}
