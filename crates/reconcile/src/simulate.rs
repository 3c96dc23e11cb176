//! Applying operations to a table in memory: what the kernel would do with them.

use crate::plan::Op;
use director_kernel_table::{DestinationEntry, DestinationStatus, ServiceEntry, Stats, Table};

/// Why the kernel would refuse an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// `EEXIST`
    Exists,
    /// `ESRCH` / `ENOENT`
    Missing,
}

/// Applies one operation as the kernel would, refusing what it would refuse (a second sync daemon of a state,
/// stopping one that does not run). VIP operations do not touch the IPVS table and always succeed here.
pub fn apply(table: &mut Table, op: &Op) -> Result<(), Refused> {
    let find = |t: &Table, key| t.services.iter().position(|e| &e.service.key == key);
    match op {
        Op::NewService { service } => {
            if find(table, &service.key).is_some() {
                return Err(Refused::Exists);
            }
            table.services.push(ServiceEntry {
                service: service.clone(),
                stats: Stats::default(),
                destinations: Vec::new(),
            });
            table
                .services
                .sort_by(|a, b| a.service.key.cmp(&b.service.key));
        }
        Op::SetService { service } => {
            let i = find(table, &service.key).ok_or(Refused::Missing)?;
            table.services[i].service = service.clone();
        }
        Op::DelService { key } => {
            let i = find(table, key).ok_or(Refused::Missing)?;
            table.services.remove(i);
        }
        Op::NewDest {
            service,
            destination,
        } => {
            let i = find(table, service).ok_or(Refused::Missing)?;
            let dests = &mut table.services[i].destinations;
            if dests
                .iter()
                .any(|d| d.destination.socket_addr() == destination.socket_addr())
            {
                return Err(Refused::Exists);
            }
            dests.push(DestinationEntry {
                destination: destination.clone(),
                status: DestinationStatus::default(),
            });
            dests.sort_by_key(|d| (d.destination.address, d.destination.port));
        }
        Op::SetDest {
            service,
            destination,
        } => {
            let i = find(table, service).ok_or(Refused::Missing)?;
            let d = table.services[i]
                .destinations
                .iter_mut()
                .find(|d| d.destination.socket_addr() == destination.socket_addr())
                .ok_or(Refused::Missing)?;
            d.destination = destination.clone();
        }
        Op::DelDest {
            service,
            address,
            port,
        } => {
            let i = find(table, service).ok_or(Refused::Missing)?;
            let dests = &mut table.services[i].destinations;
            let j = dests
                .iter()
                .position(|d| d.destination.address == *address && d.destination.port == *port)
                .ok_or(Refused::Missing)?;
            dests.remove(j);
        }
        Op::StartSyncDaemon { daemon } => {
            if table.sync_daemon(daemon.state).is_some() {
                return Err(Refused::Exists);
            }
            table.sync_daemons.push(daemon.clone());
            table.sync_daemons.sort_by_key(|d| d.state);
        }
        Op::StopSyncDaemon { state } => {
            let i = table
                .sync_daemons
                .iter()
                .position(|d| d.state == *state)
                .ok_or(Refused::Missing)?;
            table.sync_daemons.remove(i);
        }
        Op::AddVip { .. } | Op::DelVip { .. } => {}
    }
    Ok(())
}

/// Applies every operation; the first refusal stops it.
pub fn apply_all(table: &mut Table, ops: &[Op]) -> Result<(), Refused> {
    ops.iter().try_for_each(|op| apply(table, op))
}
