//! A dataplane with its IPVS table in memory: the reconciler runs, the IPVS table of the kernel is not
//! touched. Its addresses are in memory too ([`MemoryDataplane::new`], for tests), or bound in the kernel
//! ([`MemoryDataplane::with_kernel_addresses`], `--dataplane memory`): a VRRP master announces its addresses,
//! so they must be real.

use super::{BoundVips, Dataplane, DataplaneError, PageBuilder, Rtnetlink};
use director_kernel_table::Table;
use director_reconcile::simulate::{self, Refused};
use director_reconcile::Op;
use std::sync::Mutex;

pub struct MemoryDataplane {
    table: Mutex<Table>,
    vips: Vips,
}

enum Vips {
    Memory(Mutex<BoundVips>),
    Kernel(Rtnetlink),
}

impl Default for MemoryDataplane {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDataplane {
    /// Table and addresses in memory.
    pub fn new() -> Self {
        MemoryDataplane {
            table: Mutex::default(),
            vips: Vips::Memory(Mutex::default()),
        }
    }

    /// The table in memory, the addresses in the kernel (rtnetlink).
    pub fn with_kernel_addresses() -> Self {
        MemoryDataplane {
            table: Mutex::default(),
            vips: Vips::Kernel(Rtnetlink::new()),
        }
    }
}

impl Dataplane for MemoryDataplane {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn has_table(&self) -> bool {
        true
    }

    fn dump(&self) -> Result<Table, DataplaneError> {
        Ok(self
            .table
            .lock()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone()))
    }

    fn apply(&self, op: &Op) -> Result<(), DataplaneError> {
        match (op, &self.vips) {
            (Op::AddVip { interface, address }, Vips::Kernel(k)) => k.add(interface, *address),
            (Op::DelVip { interface, address }, Vips::Kernel(k)) => k.remove(interface, *address),
            (Op::AddVip { interface, address }, Vips::Memory(m)) => {
                let mut vips = m.lock().unwrap_or_else(|p| p.into_inner());
                vips.entry(interface.clone()).or_default().insert(*address);
                Ok(())
            }
            (Op::DelVip { interface, address }, Vips::Memory(m)) => {
                let mut vips = m.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(bound) = vips.get_mut(interface) {
                    bound.remove(address);
                    if bound.is_empty() {
                        vips.remove(interface);
                    }
                }
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

    fn bound_vips(&self) -> Result<BoundVips, DataplaneError> {
        match &self.vips {
            Vips::Kernel(k) => k.bound(),
            Vips::Memory(m) => Ok(m
                .lock()
                .map(|v| v.clone())
                .unwrap_or_else(|p| p.into_inner().clone())),
        }
    }

    /// A table in memory carries no traffic: its connection table is empty.
    fn connections(&self, _page: &mut PageBuilder) -> Result<(), DataplaneError> {
        Ok(())
    }
}
