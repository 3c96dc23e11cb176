//! A dataplane in memory: the reconciler runs, the kernel is not touched.

use super::{Dataplane, DataplaneError};
use director_kernel_table::Table;
use director_reconcile::simulate::{self, Refused};
use director_reconcile::Op;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryDataplane {
    table: Mutex<Table>,
    vips: Mutex<BTreeMap<String, BTreeSet<IpAddr>>>,
}

impl MemoryDataplane {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Dataplane for MemoryDataplane {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn dump(&self) -> Result<Table, DataplaneError> {
        Ok(self
            .table
            .lock()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone()))
    }

    fn apply(&self, op: &Op) -> Result<(), DataplaneError> {
        match op {
            Op::AddVip { interface, address } => {
                let mut vips = self.vips.lock().unwrap_or_else(|p| p.into_inner());
                vips.entry(interface.clone()).or_default().insert(*address);
                Ok(())
            }
            Op::DelVip { interface, address } => {
                let mut vips = self.vips.lock().unwrap_or_else(|p| p.into_inner());
                vips.entry(interface.clone()).or_default().remove(address);
                Ok(())
            }
            _ => {
                let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
                simulate::apply(&mut table, op).map_err(|r| DataplaneError::Refused {
                    op: op.to_string(),
                    reason: match r {
                        Refused::Exists => "File exists".into(),
                        Refused::Missing => "No such process".into(),
                    },
                })
            }
        }
    }

    fn bound_vips(&self, interface: &str) -> Result<BTreeSet<IpAddr>, DataplaneError> {
        let vips = self.vips.lock().unwrap_or_else(|p| p.into_inner());
        Ok(vips.get(interface).cloned().unwrap_or_default())
    }
}
