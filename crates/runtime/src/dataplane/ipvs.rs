//! The real kernel: IPVS (services, destinations, sync daemons) over generic netlink, VIPs over rtnetlink.

use super::{BoundVips, Dataplane, DataplaneError, PageBuilder, Rtnetlink};
use director_ipvs::{IpvsClient, Table};
use director_reconcile::Op;
use std::sync::Mutex;

pub struct IpvsDataplane {
    ipvs: IpvsClient,
    addresses: Rtnetlink,
    /// One netlink conversation at a time: the kernel refuses a second dump on a socket with EBUSY (a
    /// `GET /api/v1/dataplane` during a reconcile pass).
    lock: Mutex<()>,
}

impl IpvsDataplane {
    /// Connects to the kernel; fails when IPVS is not available, and the message says what to do about it
    /// on this host (load the module, install it, or load it on the container's host).
    pub fn connect() -> Result<Self, DataplaneError> {
        let ipvs = IpvsClient::connect().map_err(|e| match e {
            director_ipvs::Error::Unavailable => DataplaneError::Refused {
                op: e.to_string(),
                reason: missing_ipvs_hint(),
            },
            other => other.into(),
        })?;
        Ok(IpvsDataplane {
            ipvs,
            addresses: Rtnetlink::new(),
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

    fn has_table(&self) -> bool {
        true
    }

    fn dump(&self) -> Result<Table, DataplaneError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.ipvs.dump()?)
    }

    fn apply(&self, op: &Op) -> Result<(), DataplaneError> {
        match op {
            Op::AddVip { interface, address } => {
                return self.addresses.add(interface, *address);
            }
            Op::DelVip { interface, address } => {
                return self.addresses.remove(interface, *address);
            }
            _ => {}
        }
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
            Op::StartSyncDaemon { daemon } => self.ipvs.new_daemon(daemon)?,
            Op::StopSyncDaemon { state } => self.ipvs.del_daemon(*state)?,
            Op::AddVip { .. } | Op::DelVip { .. } => {}
        }
        Ok(())
    }

    fn bound_vips(&self) -> Result<BoundVips, DataplaneError> {
        self.addresses.bound()
    }

    fn connections(&self, page: &mut PageBuilder) -> Result<(), DataplaneError> {
        director_ipvs::read_connections(
            std::path::Path::new(director_ipvs::CONNECTIONS_PATH),
            |c| page.push(c),
        )?;
        Ok(())
    }
}

/// What to do when the kernel has no IPVS, from what this host's module index says.
fn missing_ipvs_hint() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let dir = std::path::Path::new("/lib/modules").join(&release);
    let index = match std::fs::read_to_string(dir.join("modules.dep")) {
        Ok(dep) => ModuleIndex::Listed {
            module: dep
                .lines()
                .any(|l| is_ip_vs(l.split(':').next().unwrap_or(""))),
            builtin: std::fs::read_to_string(dir.join("modules.builtin"))
                .is_ok_and(|b| b.lines().any(is_ip_vs)),
        },
        Err(_) => ModuleIndex::NotVisible,
    };
    hint(&release, index)
}

/// This kernel's module index as the host shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ModuleIndex {
    /// No `/lib/modules/<release>`: a container, or a kernel whose modules are not installed.
    NotVisible,
    /// Whether the index lists `ip_vs` as a module, or as built in.
    Listed { module: bool, builtin: bool },
}

/// `kernel/net/netfilter/ipvs/ip_vs.ko` (compressed or not), not `ip_vs_rr.ko` and friends.
fn is_ip_vs(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "ip_vs.ko" || name.starts_with("ip_vs.ko.")
}

fn hint(release: &str, index: ModuleIndex) -> String {
    match index {
        ModuleIndex::Listed { module: true, .. } => format!(
            "kernel {release} has the ip_vs module but it is not loaded: run `modprobe ip_vs` (and add ip_vs to \
             /etc/modules-load.d/ to load it at boot)"
        ),
        ModuleIndex::Listed { builtin: true, .. } => format!(
            "kernel {release} has IPVS built in, but it does not answer here: is this a network namespace or \
             container that hides it? Run director in the host's network namespace"
        ),
        ModuleIndex::Listed { .. } => format!(
            "kernel {release} ships no ip_vs module: install the package with its extra modules (Ubuntu: \
             `apt install linux-modules-extra-{release}`) or boot a kernel built with CONFIG_IP_VS (Debian's \
             linux-image-amd64 and linux-image-cloud-amd64 have it), then `modprobe ip_vs`"
        ),
        ModuleIndex::NotVisible => format!(
            "the modules of kernel {release} are not visible here (/lib/modules/{release} is missing): in a \
             container, load IPVS on the host (`modprobe ip_vs` there) and run the container on the host's \
             network; on a host, install the kernel's modules package (Debian: linux-image-{release}; Ubuntu: \
             linux-modules-extra-{release}), then `modprobe ip_vs`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_says_what_to_do_on_this_host() {
        let r = "6.1.0-28-amd64";
        let loaded = hint(
            r,
            ModuleIndex::Listed {
                module: true,
                builtin: false,
            },
        );
        assert!(loaded.contains("`modprobe ip_vs`") && !loaded.contains("install"));
        let absent = hint(
            r,
            ModuleIndex::Listed {
                module: false,
                builtin: false,
            },
        );
        assert!(absent.contains("ships no ip_vs module"), "{absent}");
        assert!(
            absent.contains("linux-modules-extra-6.1.0-28-amd64"),
            "{absent}"
        );
        let builtin = hint(
            r,
            ModuleIndex::Listed {
                module: false,
                builtin: true,
            },
        );
        assert!(builtin.contains("built in") && !builtin.contains("install"));
        let container = hint(r, ModuleIndex::NotVisible);
        assert!(container.contains("on the host"), "{container}");
    }

    #[test]
    fn only_ip_vs_itself_counts() {
        assert!(is_ip_vs("kernel/net/netfilter/ipvs/ip_vs.ko"));
        assert!(is_ip_vs("kernel/net/netfilter/ipvs/ip_vs.ko.xz"));
        assert!(is_ip_vs("kernel/net/netfilter/ipvs/ip_vs.ko.zst"));
        assert!(!is_ip_vs("kernel/net/netfilter/ipvs/ip_vs_rr.ko"));
        assert!(!is_ip_vs("kernel/net/netfilter/ipvs/ip_vs_wrr.ko.xz"));
    }
}
