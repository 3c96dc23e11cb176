//! The real kernel: IPVS over generic netlink, VIPs over rtnetlink.

use super::{Dataplane, DataplaneError};
use director_ipvs::{IpvsClient, Table, VipBinder};
use director_reconcile::Op;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Mutex;

pub struct IpvsDataplane {
    ipvs: IpvsClient,
    vips: VipBinder,
    /// One netlink conversation at a time: the kernel refuses a second dump on a socket with EBUSY (a
    /// `GET /api/v1/dataplane` during a reconcile pass).
    lock: Mutex<()>,
}

impl IpvsDataplane {
    /// Connects to the kernel; fails when IPVS is not available (the message says to `modprobe ip_vs`).
    pub fn connect() -> Result<Self, DataplaneError> {
        Ok(IpvsDataplane {
            ipvs: IpvsClient::connect()?,
            vips: VipBinder::connect()?,
            lock: Mutex::new(()),
        })
    }

    /// The kernel's IPVS version and connection table size.
    pub fn describe(&self) -> String {
        match self.ipvs.info() {
            Ok(i) => format!(
                "IPVS {} (connection table {} entries)",
                i.version_string(),
                i.conn_tab_size
            ),
            Err(e) => format!("IPVS (version unknown: {e})"),
        }
    }
}

impl Dataplane for IpvsDataplane {
    fn kind(&self) -> &'static str {
        "ipvs"
    }

    fn dump(&self) -> Result<Table, DataplaneError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.ipvs.dump()?)
    }

    fn apply(&self, op: &Op) -> Result<(), DataplaneError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        match op {
            Op::NewService { service } => self.ipvs.new_service(service)?,
            Op::SetService { service } => self.ipvs.set_service(service)?,
            Op::DelService { key } => self.ipvs.del_service(key)?,
            Op::NewDest {
                service,
                destination,
            } => self.ipvs.new_dest(service, destination)?,
            Op::SetDest {
                service,
                destination,
            } => self.ipvs.set_dest(service, destination)?,
            Op::DelDest {
                service,
                address,
                port,
            } => self.ipvs.del_dest(service, *address, *port)?,
            Op::AddVip { interface, address } => {
                self.vips.add(interface, *address)?;
            }
            Op::DelVip { interface, address } => {
                self.vips.remove(interface, *address)?;
            }
        }
        Ok(())
    }

    fn bound_vips(&self, interface: &str) -> Result<BTreeSet<IpAddr>, DataplaneError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.vips.owned(interface)?.into_iter().collect())
    }
}
