//! Finding a virtual server's service and a real server's destination in the kernel table the sampler read.

use director_core::model::{Family, Protocol, RealServerKey, VirtualServer};
use director_kernel_table::{DestinationEntry, ServiceEntry, ServiceKey, Table};

/// The kernel's key of a virtual server's service (as the reconciler programs it).
pub fn service_key(vs: &VirtualServer) -> Option<ServiceKey> {
    if let Some(mark) = vs.fwmark {
        let family = match vs.effective_family() {
            Family::Inet => director_kernel_table::Family::Inet,
            Family::Inet6 => director_kernel_table::Family::Inet6,
        };
        return Some(ServiceKey::Fwmark { mark, family });
    }
    let protocol = match vs.protocol? {
        Protocol::Tcp => director_kernel_table::Protocol::Tcp,
        Protocol::Udp => director_kernel_table::Protocol::Udp,
        Protocol::Sctp => director_kernel_table::Protocol::Sctp,
    };
    Some(ServiceKey::Address {
        protocol,
        address: vs.address?,
        port: u16::try_from(vs.port?).ok()?,
    })
}

/// The service of `vs` in `table`, if the kernel has it.
pub fn service<'t>(table: &'t Table, vs: &VirtualServer) -> Option<&'t ServiceEntry> {
    let key = service_key(vs)?;
    table
        .services
        .binary_search_by(|e| e.service.key.cmp(&key))
        .ok()
        .and_then(|i| table.services.get(i))
        .or_else(|| table.services.iter().find(|e| e.service.key == key))
}

/// The destination of a real server in its service.
pub fn destination<'t>(
    service: &'t ServiceEntry,
    rs: &RealServerKey,
) -> Option<&'t DestinationEntry> {
    service
        .destinations
        .iter()
        .find(|d| d.destination.address == rs.address && d.destination.port == rs.port)
}

/// A byte or packet rate in a short human form: `0`, `950`, `12.5 k`, `3.2 M`.
pub fn rate(value: u64) -> String {
    const UNITS: [(f64, &str); 3] = [(1e9, "G"), (1e6, "M"), (1e3, "k")];
    let v = value as f64;
    for (scale, unit) in UNITS {
        if v >= scale {
            return format!("{:.1} {unit}", v / scale);
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_service::parse::from_json;
    use serde_json::json;

    #[test]
    fn keys_match_what_the_reconciler_programs() {
        let vs: VirtualServer = from_json(
            json!({"name": "web", "protocol": "udp", "address": "2001:db8::1", "port": 53}),
        )
        .unwrap();
        assert_eq!(
            service_key(&vs).map(|k| k.to_string()),
            Some("udp [2001:db8::1]:53".to_string())
        );
        let mut vs: VirtualServer = from_json(json!({"name": "m", "fwmark": 9})).unwrap();
        vs.normalize();
        assert_eq!(
            service_key(&vs).map(|k| k.to_string()),
            Some("fwmark 9 inet".to_string())
        );
    }

    #[test]
    fn rates_are_short() {
        assert_eq!(rate(0), "0");
        assert_eq!(rate(950), "950");
        assert_eq!(rate(12_500), "12.5 k");
        assert_eq!(rate(3_210_000), "3.2 M");
    }
}
