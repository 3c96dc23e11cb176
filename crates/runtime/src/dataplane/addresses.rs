//! Addresses over rtnetlink, with or without IPVS: [`Rtnetlink`] is the address half of the IPVS dataplane,
//! and on its own ([`AddressesOnly`]) the dataplane of a node without IPVS, where VRRP still moves its VIPs.

use super::{BoundVips, Dataplane, DataplaneError, PageBuilder};
use director_ipvs::VipBinder;
use director_kernel_table::Table;
use director_reconcile::Op;
use std::net::IpAddr;
use std::sync::Mutex;

/// director's addresses through one rtnetlink socket, opened on first use and opened again after a failure
/// (a socket that failed once is not trusted with the next operation).
#[derive(Default)]
pub struct Rtnetlink {
    binder: Mutex<Option<VipBinder>>,
}

impl Rtnetlink {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&VipBinder) -> Result<T, director_ipvs::Error>,
    ) -> Result<T, DataplaneError> {
        let mut binder = self.binder.lock().unwrap_or_else(|p| p.into_inner());
        let b = match binder.take() {
            Some(b) => b,
            None => VipBinder::connect()?,
        };
        let result = f(&b);
        if result.is_ok() {
            *binder = Some(b);
        }
        Ok(result?)
    }

    /// Binds `address` on `interface` (already there counts as done).
    pub fn add(&self, interface: &str, address: IpAddr) -> Result<(), DataplaneError> {
        self.with(|b| b.add(interface, address)).map(drop)
    }

    /// Removes `address` from `interface` if director bound it (already gone counts as done).
    pub fn remove(&self, interface: &str, address: IpAddr) -> Result<(), DataplaneError> {
        self.with(|b| b.remove(interface, address)).map(drop)
    }

    /// director's addresses on every interface.
    pub fn bound(&self) -> Result<BoundVips, DataplaneError> {
        let all = self.with(VipBinder::owned_all)?;
        Ok(all
            .into_iter()
            .map(|(interface, addresses)| (interface, addresses.into_iter().collect()))
            .collect())
    }
}

/// A node without IPVS: no table, addresses over rtnetlink.
#[derive(Default)]
pub struct AddressesOnly {
    addresses: Rtnetlink,
}

impl AddressesOnly {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Dataplane for AddressesOnly {
    fn kind(&self) -> &'static str {
        "none"
    }

    fn has_table(&self) -> bool {
        false
    }

    fn dump(&self) -> Result<Table, DataplaneError> {
        Ok(Table::default())
    }

    fn apply(&self, op: &Op) -> Result<(), DataplaneError> {
        match op {
            Op::AddVip { interface, address } => self.addresses.add(interface, *address),
            Op::DelVip { interface, address } => self.addresses.remove(interface, *address),
            _ => Err(DataplaneError::Refused {
                op: op.to_string(),
                reason: "no IPVS dataplane on this node".into(),
            }),
        }
    }

    fn bound_vips(&self) -> Result<BoundVips, DataplaneError> {
        self.addresses.bound()
    }

    fn connections(&self, _page: &mut PageBuilder) -> Result<(), DataplaneError> {
        Err(DataplaneError::NoTable(self.kind()))
    }
}
