//! The connection table as the edges show it (REST `GET /api/v1/connections`, gRPC `ListConnections`, the
//! UI's connections page, `directorctl connections`): one query, checked once here, so that all of them
//! accept and refuse the same things and name the same fields.

use director_core::model::ServiceKey;
use director_core::DesiredState;
use director_kernel_table::connections::{
    AddressMatch, Connection, ConnectionFilter, ConnectionKey, ConnectionPage, PageBuilder,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use utoipa::{IntoParams, ToSchema};

/// Entries per page when the query gives none.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most entries a page may ask for.
pub const MAX_LIMIT: u32 = 1000;

/// Which entries of the kernel's connection table to list, and where the page starts.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConnectionQuery {
    /// A virtual server's name: the entries that reached its address, port and protocol.
    pub virtual_server: Option<String>,
    /// A real server: `10.0.0.11` or `10.0.0.11:80`, `[2001:db8::11]:80`.
    pub real_server: Option<String>,
    /// A client: an address, or an address and port.
    pub client: Option<String>,
    /// 1..=1000, default 100.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Why a query is refused, naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A value that cannot be read.
    #[error("{field}: {message}")]
    Invalid {
        /// The query field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No virtual server of that name.
    #[error("virtual server {0:?} does not exist")]
    UnknownVirtualServer(String),
}

impl QueryError {
    /// The query field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            QueryError::Invalid { field, .. } => field,
            QueryError::UnknownVirtualServer(_) => "virtual_server",
        }
    }
}

impl ConnectionQuery {
    /// The page builder for this query against the declared virtual servers.
    pub fn page(&self, state: &DesiredState) -> Result<PageBuilder, QueryError> {
        let invalid = |field, message: String| QueryError::Invalid { field, message };
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid(
                "limit",
                format!("{limit} is out of range 1..={MAX_LIMIT}"),
            ));
        }
        let mut filter = ConnectionFilter::default();
        if let Some(name) = non_empty(&self.virtual_server) {
            let record = state
                .virtual_servers
                .get(name)
                .ok_or_else(|| QueryError::UnknownVirtualServer(name.to_string()))?;
            match record.spec.key() {
                Some(ServiceKey::Addr {
                    protocol,
                    address,
                    port,
                }) => {
                    filter.virtual_address = Some((
                        Some(protocol.as_str().to_string()),
                        AddressMatch {
                            ip: address,
                            port: Some(port),
                        },
                    ))
                }
                _ => {
                    return Err(invalid(
                        "virtual_server",
                        format!(
                            "{name} is a firewall-mark service: its connections carry the addresses the packets \
                             had, not the mark; filter them by real_server"
                        ),
                    ))
                }
            }
        }
        if let Some(r) = non_empty(&self.real_server) {
            filter.real = Some(r.parse().map_err(|e| invalid("real_server", e))?);
        }
        if let Some(c) = non_empty(&self.client) {
            filter.client = Some(c.parse().map_err(|e| invalid("client", e))?);
        }
        let after = non_empty(&self.cursor)
            .map(|c| c.parse::<ConnectionKey>())
            .transpose()
            .map_err(|e| invalid("cursor", e))?;
        Ok(PageBuilder::new(filter, after, limit as usize))
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// One entry of the connection table, with the virtual server it belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionView {
    /// `tcp`, `udp`, `sctp` (or the kernel's name of another protocol).
    pub protocol: String,
    #[schema(value_type = String)]
    pub client: SocketAddr,
    /// The virtual address and port the client reached.
    #[serde(rename = "virtual")]
    #[schema(value_type = String)]
    pub virtual_address: SocketAddr,
    /// The declared virtual server with that address, port and protocol, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_server: Option<String>,
    #[schema(value_type = String)]
    pub real: SocketAddr,
    /// The kernel's state (`ESTABLISHED`, `FIN_WAIT`, `TIME_WAIT`, `UDP`, `NONE` for a TCP template, ...).
    pub state: String,
    /// Seconds until the entry expires.
    pub expires_s: u64,
    /// A persistence template (the record that keeps a client on its real server), not a connection.
    pub template: bool,
}

/// A page of the connection table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Entries matching the filters in the whole table (the kernel's table changes between pages).
    pub matched: u64,
    /// Entries in the table when it was read.
    pub scanned: u64,
}

impl ConnectionList {
    /// The page, each entry named after its virtual server where one is declared.
    pub fn new(page: ConnectionPage, state: &DesiredState) -> Self {
        let mut names = BTreeMap::new();
        for (name, record) in &state.virtual_servers {
            if let Some(ServiceKey::Addr {
                protocol,
                address,
                port,
            }) = record.spec.key()
            {
                names.insert(
                    (protocol.as_str(), SocketAddr::new(address, port)),
                    name.clone(),
                );
            }
        }
        let view = |c: Connection| ConnectionView {
            virtual_server: names
                .get(&(c.protocol.as_str(), c.virtual_address))
                .cloned(),
            protocol: c.protocol,
            client: c.client,
            virtual_address: c.virtual_address,
            real: c.real,
            state: c.state,
            expires_s: c.expires_s,
            template: c.template,
        };
        ConnectionList {
            connections: page.connections.into_iter().map(view).collect(),
            next_cursor: page.next_cursor,
            matched: page.matched,
            scanned: page.scanned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::model::VirtualServer;
    use director_core::state::VirtualServerRecord;
    use std::sync::Arc;

    fn state() -> DesiredState {
        let mut s = DesiredState::default();
        let web: VirtualServer = serde_json::from_value(serde_json::json!({
            "name": "web", "protocol": "tcp", "address": "10.50.0.1", "port": 80
        }))
        .unwrap();
        let mark: VirtualServer = serde_json::from_value(serde_json::json!({
            "name": "marked", "fwmark": 7
        }))
        .unwrap();
        for vs in [web, mark] {
            s.virtual_servers.insert(
                vs.name.clone(),
                Arc::new(VirtualServerRecord {
                    spec: vs,
                    revision: 1,
                    real_server_revisions: Default::default(),
                }),
            );
        }
        s
    }

    fn query(json: serde_json::Value) -> ConnectionQuery {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn bad_queries_name_their_field() {
        let s = state();
        for (q, field) in [
            (serde_json::json!({"limit": 0}), "limit"),
            (serde_json::json!({"limit": 1001}), "limit"),
            (
                serde_json::json!({"real_server": "10.0.0.300"}),
                "real_server",
            ),
            (serde_json::json!({"client": "somewhere"}), "client"),
            (serde_json::json!({"cursor": "page-2"}), "cursor"),
            (
                serde_json::json!({"virtual_server": "nope"}),
                "virtual_server",
            ),
            (
                serde_json::json!({"virtual_server": "marked"}),
                "virtual_server",
            ),
        ] {
            let e = query(q.clone()).page(&s).err().unwrap();
            assert_eq!(e.field(), field, "{q}: {e}");
        }
    }

    #[test]
    fn a_virtual_server_filters_by_its_address_port_and_protocol_and_names_entries() {
        let s = state();
        let mut b = query(serde_json::json!({"virtual_server": "web"}))
            .page(&s)
            .unwrap();
        let entry = |v: &str, protocol: &str| Connection {
            protocol: protocol.into(),
            client: "10.40.0.2:40000".parse().unwrap(),
            virtual_address: v.parse().unwrap(),
            real: "10.30.0.11:80".parse().unwrap(),
            state: "ESTABLISHED".into(),
            expires_s: 900,
            template: false,
        };
        b.push(entry("10.50.0.1:80", "tcp"));
        b.push(entry("10.50.0.1:80", "udp"));
        b.push(entry("10.50.0.1:443", "tcp"));
        let list = ConnectionList::new(b.finish(), &s);
        assert_eq!(list.matched, 1);
        assert_eq!(list.scanned, 3);
        assert_eq!(list.connections[0].virtual_server.as_deref(), Some("web"));
    }
}
