//! The kernel's IPVS connection table (`ipvsadm -Lnc`) as plain data: one line of `/proc/net/ip_vs_conn`
//! parsed, filters, and a page chosen from a stream of entries in bounded memory.
//!
//! The table can hold millions of entries and the kernel lists them in hash order, which changes between
//! reads. A page is therefore defined by an order of its own ([`ConnectionKey`]: virtual address, real server,
//! client, protocol, template) and a cursor, the key of the last entry shown: [`PageBuilder`] keeps only the
//! `limit` smallest matching keys above the cursor while the entries stream past, so a page costs one pass
//! over the table and memory for `limit` entries, whatever the table's size.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One entry of the connection table: a connection, or a persistence template (the record that sends a
/// client back to the same real server while it lives).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// `tcp`, `udp`, `sctp`, or the kernel's name of another protocol, lower case.
    pub protocol: String,
    /// The client's address and port (port 0 in a template).
    pub client: SocketAddr,
    /// The virtual address and port the client reached.
    #[serde(rename = "virtual")]
    pub virtual_address: SocketAddr,
    /// The real server the entry is bound to.
    pub real: SocketAddr,
    /// The kernel's state name (`ESTABLISHED`, `FIN_WAIT`, `UDP`, `NONE` for a TCP template, ...).
    pub state: String,
    /// Seconds until the entry expires (counted down again by traffic).
    pub expires_s: u64,
    /// A persistence template rather than a connection (the kernel writes templates with client port 0).
    pub template: bool,
}

/// Why a line of the connection table could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The field that is wrong (`protocol`, `client address`, `expires`, ...).
    pub field: &'static str,
    /// The text found there.
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: cannot read {:?}", self.field, self.found)
    }
}

impl std::error::Error for ParseError {}

/// Parses one line of `/proc/net/ip_vs_conn`: `Ok(None)` for the header and blank lines.
///
/// The kernel writes `Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires [PEName PEData]`, with IPv4
/// addresses and all ports as hexadecimal (`0A28000B 1F90`) and IPv6 addresses in full (`2001:0db8:...`).
pub fn parse_line(line: &str) -> Result<Option<Connection>, ParseError> {
    let mut fields = line.split_whitespace();
    let Some(protocol) = fields.next() else {
        return Ok(None);
    };
    if protocol == "Pro" {
        return Ok(None);
    }
    let mut next = |field: &'static str| {
        fields.next().ok_or(ParseError {
            field,
            found: String::new(),
        })
    };
    let client = socket(
        next("client address")?,
        next("client port")?,
        ("client address", "client port"),
    )?;
    let virtual_address = socket(
        next("virtual address")?,
        next("virtual port")?,
        ("virtual address", "virtual port"),
    )?;
    let real = socket(
        next("real address")?,
        next("real port")?,
        ("real address", "real port"),
    )?;
    let state = next("state")?.to_string();
    let expires = next("expires")?;
    let expires_s = expires.parse().map_err(|_| ParseError {
        field: "expires",
        found: expires.to_string(),
    })?;
    Ok(Some(Connection {
        protocol: protocol.to_ascii_lowercase(),
        template: client.port() == 0,
        client,
        virtual_address,
        real,
        state,
        expires_s,
    }))
}

/// An address and port as the kernel writes them; `fields` names them in errors.
fn socket(
    address: &str,
    port: &str,
    (address_field, port_field): (&'static str, &'static str),
) -> Result<SocketAddr, ParseError> {
    let bad = |field: &'static str, found: &str| ParseError {
        field,
        found: found.to_string(),
    };
    let ip = if address.len() == 8 && address.bytes().all(|b| b.is_ascii_hexdigit()) {
        let n = u32::from_str_radix(address, 16).map_err(|_| bad(address_field, address))?;
        IpAddr::V4(Ipv4Addr::from(n))
    } else {
        IpAddr::V6(
            address
                .parse::<Ipv6Addr>()
                .map_err(|_| bad(address_field, address))?,
        )
    };
    if port.is_empty() || port.len() > 4 {
        return Err(bad(port_field, port));
    }
    let port = u16::from_str_radix(port, 16).map_err(|_| bad(port_field, port))?;
    Ok(SocketAddr::new(ip, port))
}

/// An address, with or without a port: `10.0.0.1`, `10.0.0.1:80`, `2001:db8::1`, `[2001:db8::1]:80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressMatch {
    /// The address.
    pub ip: IpAddr,
    /// The port, if given.
    pub port: Option<u16>,
}

impl AddressMatch {
    /// Whether `at` is this address (and port, if one was given).
    pub fn matches(&self, at: SocketAddr) -> bool {
        at.ip() == self.ip && self.port.is_none_or(|p| p == at.port())
    }
}

impl std::str::FromStr for AddressMatch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(at) = s.parse::<SocketAddr>() {
            return Ok(AddressMatch {
                ip: at.ip(),
                port: Some(at.port()),
            });
        }
        s.parse::<IpAddr>()
            .map(|ip| AddressMatch { ip, port: None })
            .map_err(|_| {
                format!("{s:?} is not an address or address:port (10.0.0.1, 10.0.0.1:80, [2001:db8::1]:80)")
            })
    }
}

/// Which entries to list; every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// The virtual address (and port) reached, and its protocol if given.
    pub virtual_address: Option<(Option<String>, AddressMatch)>,
    /// The real server.
    pub real: Option<AddressMatch>,
    /// The client.
    pub client: Option<AddressMatch>,
}

impl ConnectionFilter {
    /// Whether `c` passes every filter.
    pub fn matches(&self, c: &Connection) -> bool {
        self.virtual_address.as_ref().is_none_or(|(protocol, at)| {
            at.matches(c.virtual_address) && protocol.as_ref().is_none_or(|p| *p == c.protocol)
        }) && self.real.is_none_or(|r| r.matches(c.real))
            && self.client.is_none_or(|m| m.matches(c.client))
    }
}

/// The order of pages: virtual address, real server, client, protocol, template last.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionKey {
    virtual_address: SocketAddr,
    real: SocketAddr,
    client: SocketAddr,
    protocol: String,
    template: bool,
}

impl ConnectionKey {
    /// The key of an entry.
    pub fn of(c: &Connection) -> Self {
        ConnectionKey {
            virtual_address: c.virtual_address,
            real: c.real,
            client: c.client,
            protocol: c.protocol.clone(),
            template: c.template,
        }
    }
}

/// The cursor of a page is the key of its last entry, as text: `virtual,real,client,protocol,t|c`.
impl fmt::Display for ConnectionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{},{}",
            self.virtual_address,
            self.real,
            self.client,
            self.protocol,
            if self.template { "t" } else { "c" }
        )
    }
}

impl std::str::FromStr for ConnectionKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("{s:?} is not a cursor of this list (take next_cursor from the previous page)")
        };
        let parts: Vec<&str> = s.split(',').collect();
        let [v, r, c, p, t] = parts.as_slice() else {
            return Err(bad());
        };
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad());
        }
        Ok(ConnectionKey {
            virtual_address: v.parse().map_err(|_| bad())?,
            real: r.parse().map_err(|_| bad())?,
            client: c.parse().map_err(|_| bad())?,
            protocol: p.to_string(),
            template: match *t {
                "t" => true,
                "c" => false,
                _ => return Err(bad()),
            },
        })
    }
}

/// One page of the table, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPage {
    /// At most `limit` entries after the cursor.
    pub connections: Vec<Connection>,
    /// The cursor of the next page, when more entries match after this one.
    pub next_cursor: Option<String>,
    /// Entries that match the filters, in the whole table (before and after the cursor).
    pub matched: u64,
    /// Entries read from the table.
    pub scanned: u64,
}

/// An entry held by the builder, ordered by its key (the heap's top is the largest held).
struct Held(ConnectionKey, Connection);

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

/// Chooses one page from entries streamed in any order, holding at most `limit` of them.
pub struct PageBuilder {
    filter: ConnectionFilter,
    after: Option<ConnectionKey>,
    limit: usize,
    held: BinaryHeap<Held>,
    /// Matching entries after the cursor (held or not).
    following: u64,
    matched: u64,
    scanned: u64,
}

impl PageBuilder {
    /// A page of at most `limit` (at least 1) entries passing `filter`, after the entry whose key is `after`.
    pub fn new(filter: ConnectionFilter, after: Option<ConnectionKey>, limit: usize) -> Self {
        let limit = limit.max(1);
        PageBuilder {
            filter,
            after,
            limit,
            held: BinaryHeap::with_capacity(limit + 1),
            following: 0,
            matched: 0,
            scanned: 0,
        }
    }

    /// Looks at one entry of the table.
    pub fn push(&mut self, c: Connection) {
        self.scanned += 1;
        if !self.filter.matches(&c) {
            return;
        }
        self.matched += 1;
        let key = ConnectionKey::of(&c);
        if self.after.as_ref().is_some_and(|after| key <= *after) {
            return;
        }
        self.following += 1;
        if self.held.len() < self.limit {
            self.held.push(Held(key, c));
        } else if self.held.peek().is_some_and(|top| key < top.0) {
            self.held.pop();
            self.held.push(Held(key, c));
        }
    }

    /// How many entries the builder holds now (never more than the limit).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The page.
    pub fn finish(self) -> ConnectionPage {
        let held = self.held.into_sorted_vec();
        let next_cursor = if self.following > held.len() as u64 {
            held.last().map(|h| h.0.to_string())
        } else {
            None
        };
        ConnectionPage {
            connections: held.into_iter().map(|h| h.1).collect(),
            next_cursor,
            matched: self.matched,
            scanned: self.scanned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData";

    #[test]
    fn the_kernels_lines_are_read() {
        assert_eq!(parse_line(HEADER), Ok(None));
        assert_eq!(parse_line(""), Ok(None));
        let c = parse_line("TCP 0A280002 D431 0A320001 0050 0A1E000B 0050 ESTABLISHED     897")
            .unwrap()
            .unwrap();
        assert_eq!(c.protocol, "tcp");
        assert_eq!(c.client, "10.40.0.2:54321".parse().unwrap());
        assert_eq!(c.virtual_address, "10.50.0.1:80".parse().unwrap());
        assert_eq!(c.real, "10.30.0.11:80".parse().unwrap());
        assert_eq!(c.state, "ESTABLISHED");
        assert_eq!(c.expires_s, 897);
        assert!(!c.template);
        let t = parse_line("TCP 0A280002 0000 0A320001 0050 0A1E000B 0050 NONE            356")
            .unwrap()
            .unwrap();
        assert!(t.template);
        let v6 = parse_line(
            "UDP 2001:0db8:0000:0000:0000:0000:0000:0002 1F90 2001:0db8:0000:0000:0000:0000:0000:0001 0035 \
             2001:0db8:0000:0000:0000:0000:0000:000b 0035 UDP             299",
        )
        .unwrap()
        .unwrap();
        assert_eq!(v6.client, "[2001:db8::2]:8080".parse().unwrap());
        assert_eq!(v6.real, "[2001:db8::b]:53".parse().unwrap());
        // A persistence engine's name and data follow the expiry.
        let sip =
            parse_line("UDP 0A280002 13C4 0A320001 13C4 0A1E000B 13C4 UDP 120 sip abc@example")
                .unwrap()
                .unwrap();
        assert_eq!(sip.expires_s, 120);
    }

    #[test]
    fn a_malformed_line_names_its_field() {
        let e =
            parse_line("TCP 0A28000 D431 0A320001 0050 0A1E000B 0050 ESTABLISHED 1").unwrap_err();
        assert_eq!(e.field, "client address");
        let e =
            parse_line("TCP 0A280002 D431 0A320001 10050 0A1E000B 0050 ESTABLISHED 1").unwrap_err();
        assert_eq!(e.field, "virtual port");
        let e =
            parse_line("TCP 0A280002 D431 0A320001 0050 0A1E000B 0050 ESTABLISHED").unwrap_err();
        assert_eq!(e.field, "expires");
        let e =
            parse_line("TCP 0A280002 D431 0A320001 0050 0A1E000B 0050 ESTABLISHED -1").unwrap_err();
        assert_eq!(e.field, "expires");
        let e = parse_line("TCP 0A280002").unwrap_err();
        assert_eq!(e.field, "client port");
    }

    fn conn(v: &str, r: &str, client: &str) -> Connection {
        Connection {
            protocol: "tcp".into(),
            client: client.parse().unwrap(),
            virtual_address: v.parse().unwrap(),
            real: r.parse().unwrap(),
            state: "ESTABLISHED".into(),
            expires_s: 900,
            template: client.ends_with(":0"),
        }
    }

    #[test]
    fn filters_match_address_and_port() {
        let c = conn("10.50.0.1:80", "10.30.0.11:8080", "10.40.0.2:40000");
        let by = |f: ConnectionFilter| f.matches(&c);
        assert!(by(ConnectionFilter::default()));
        assert!(by(ConnectionFilter {
            real: Some("10.30.0.11".parse().unwrap()),
            ..Default::default()
        }));
        assert!(!by(ConnectionFilter {
            real: Some("10.30.0.11:80".parse().unwrap()),
            ..Default::default()
        }));
        assert!(by(ConnectionFilter {
            virtual_address: Some((Some("tcp".into()), "10.50.0.1:80".parse().unwrap())),
            client: Some("10.40.0.2".parse().unwrap()),
            ..Default::default()
        }));
        assert!(!by(ConnectionFilter {
            virtual_address: Some((Some("udp".into()), "10.50.0.1:80".parse().unwrap())),
            ..Default::default()
        }));
        assert!("10.0.0.300".parse::<AddressMatch>().is_err());
        assert_eq!(
            "[2001:db8::1]:80".parse::<AddressMatch>().unwrap().port,
            Some(80)
        );
    }

    /// A table of `n` distinct connections in a scrambled order (as the kernel's hash lists them).
    fn table(n: u32) -> Vec<Connection> {
        let mut order: Vec<u32> = (0..n).collect();
        order.sort_by_key(|i| i.wrapping_mul(2_654_435_761));
        order
            .into_iter()
            .map(|i| {
                conn(
                    &format!("10.50.0.{}:80", i % 3 + 1),
                    &format!("10.30.0.{}:80", i % 7 + 11),
                    &format!(
                        "10.40.{}.{}:{}",
                        i / 60_000,
                        (i / 250) % 240 + 2,
                        1024 + i % 250
                    ),
                )
            })
            .collect()
    }

    #[test]
    fn pages_cover_the_table_once_in_order_whatever_its_order() {
        let entries = table(1_000);
        let filter = ConnectionFilter {
            real: Some("10.30.0.12".parse().unwrap()),
            ..Default::default()
        };
        let expected = entries.iter().filter(|c| filter.matches(c)).count();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let mut b = PageBuilder::new(filter.clone(), cursor.clone(), 17);
            // Each read lists the table in another order.
            let mut scrambled = entries.clone();
            scrambled.rotate_left(seen.len() % entries.len());
            for c in scrambled {
                b.push(c);
            }
            let page = b.finish();
            assert_eq!(page.matched as usize, expected);
            assert!(page.connections.len() <= 17);
            seen.extend(page.connections.iter().map(ConnectionKey::of));
            match page.next_cursor {
                Some(c) => cursor = Some(c.parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(seen.len(), expected, "every matching entry once");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "in key order");
    }

    #[test]
    fn a_page_of_a_large_table_holds_no_more_than_its_limit() {
        let entries = table(100_000);
        let mut b = PageBuilder::new(ConnectionFilter::default(), None, 100);
        let mut most = 0;
        for c in entries.iter().cloned() {
            b.push(c);
            most = most.max(b.held());
        }
        assert_eq!(most, 100);
        let page = b.finish();
        assert_eq!(page.scanned, entries.len() as u64);
        let mut sorted: Vec<ConnectionKey> = entries.iter().map(ConnectionKey::of).collect();
        sorted.sort();
        let first: Vec<ConnectionKey> = page.connections.iter().map(ConnectionKey::of).collect();
        assert_eq!(first, sorted[..100]);
        assert!(page.next_cursor.is_some());
    }

    #[test]
    fn a_cursor_reads_back_and_a_bad_one_is_refused() {
        let k = ConnectionKey::of(&conn(
            "[2001:db8::1]:80",
            "[2001:db8::b]:80",
            "[2001:db8::2]:0",
        ));
        assert_eq!(k.to_string().parse::<ConnectionKey>(), Ok(k));
        for bad in ["", "a,b,c,d,e", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:1,tcp,x"] {
            assert!(bad.parse::<ConnectionKey>().is_err(), "{bad}");
        }
    }
}
