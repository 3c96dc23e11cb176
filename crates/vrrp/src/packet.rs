//! VRRP advertisement codec and the link-layer announcements a new master
//! sends.
//!
//! Covers VRRPv2 (RFC 3768, IPv4 only) and VRRPv3 (RFC 5798, IPv4 and IPv6).
//! Only the VRRP payload (what follows the IP header) is encoded and decoded;
//! the IO shell sends it on a raw socket for IP protocol [`IPPROTO_VRRP`] with
//! TTL / hop limit [`VRRP_TTL`] to [`MULTICAST_V4`] / [`MULTICAST_V6`] (or a
//! unicast peer).
//!
//! ```text
//! v2:  |Ver=2|Type=1| VRID | Priority | Count IPv4 |
//!      | Auth Type  | Adver Int (s) |  Checksum    |
//!      | IPv4 address (1..n) ...                   |
//!      | Authentication data (8 bytes)             |
//!
//! v3:  |Ver=3|Type=1| VRID | Priority | Count IPvX |
//!      |Rsvd(4)| Max Adver Int (12 bits, cs) | Checksum |
//!      | IPvX address (1..n) ...                   |
//! ```
//!
//! Checksums: v2 covers the VRRP message only; v3 also covers the IPv4 or
//! IPv6 pseudo-header (source, destination, protocol 112, length), as
//! keepalived computes it.
//!
//! Decoding never panics, whatever the input. [`Advertisement::decode`]
//! checks the structure (length, version, type, address count, address
//! family, checksum, v2 auth type); [`Advertisement::validate`] checks the
//! packet against the local instance ([`Expect`]) and the received TTL;
//! [`decode_validated`] does both.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// TTL (IPv4) / hop limit (IPv6) that VRRP packets are sent with and that a
/// receiver requires.
pub const VRRP_TTL: u8 = 255;
/// IPv4 multicast group of VRRP (224.0.0.18).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP (ff02::12).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// IPv6 all-nodes multicast address (ff02::1), the destination of
/// unsolicited neighbor advertisements.
pub const ALL_NODES_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An Ethernet MAC address.
pub type MacAddr = [u8; 6];

/// Length of the fixed VRRP header (both versions).
const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data trailer.
const AUTH_DATA_LEN: usize = 8;
/// VRRP packet type of an advertisement (the only one defined).
const TYPE_ADVERTISEMENT: u8 = 1;
/// Largest v3 Max Adver Int (12 bits), in centiseconds.
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;
/// Largest v2 Adver Int (8 bits, seconds), in centiseconds.
pub const MAX_V2_INTERVAL_CS: u16 = 255 * 100;

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only, whole-second intervals, optional simple
    /// password authentication).
    V2,
    /// VRRPv3, RFC 5798 (IPv4 and IPv6, centisecond intervals, no
    /// authentication).
    V3,
}

impl Version {
    /// The version number carried in the packet (2 or 3).
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The version with that number, if supported.
    pub const fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.number())
    }
}

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of `addr`.
    pub const fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Length in bytes of an address of this family.
    pub const fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// The VRRP multicast group of this family.
    pub const fn vrrp_multicast(self) -> IpAddr {
        match self {
            Family::Ipv4 => IpAddr::V4(MULTICAST_V4),
            Family::Ipv6 => IpAddr::V6(MULTICAST_V6),
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        })
    }
}

/// VRRPv2 authentication (RFC 3768 section 5.3.6). VRRPv3 has none.
///
/// `Debug` does not print the password.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Auth {
    /// Auth type 0: no authentication (the 8 auth bytes are sent as zero and
    /// ignored on receipt).
    #[default]
    None,
    /// Auth type 1: simple text password, zero padded to 8 bytes
    /// (keepalived's `auth_type PASS`).
    Simple([u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// Auth type code of "no authentication".
    pub const TYPE_NONE: u8 = 0;
    /// Auth type code of the simple text password.
    pub const TYPE_SIMPLE: u8 = 1;
    /// Auth type code of IP Authentication Header (unsupported, as in
    /// current keepalived).
    pub const TYPE_AH: u8 = 2;

    /// A simple text password of 1 to 8 bytes, zero padded.
    pub fn simple(password: &str) -> Result<Self, AuthError> {
        let bytes = password.as_bytes();
        if bytes.is_empty() || bytes.len() > AUTH_DATA_LEN {
            return Err(AuthError::PasswordLength(bytes.len()));
        }
        let mut data = [0u8; AUTH_DATA_LEN];
        data[..bytes.len()].copy_from_slice(bytes);
        Ok(Auth::Simple(data))
    }

    /// The auth type code carried in a v2 packet.
    pub const fn type_code(&self) -> u8 {
        match self {
            Auth::None => Self::TYPE_NONE,
            Auth::Simple(_) => Self::TYPE_SIMPLE,
        }
    }

    fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::Simple(data) => *data,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Simple(_) => f.write_str("Simple(****)"),
        }
    }
}

/// An invalid authentication setting.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    /// The simple password must be 1 to 8 bytes long.
    #[error("auth password must be 1 to 8 bytes, got {0}")]
    PasswordLength(usize),
}

/// A VRRP advertisement, either version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertisement {
    /// Protocol version.
    pub version: Version,
    /// Virtual router identifier (1..=255).
    pub vrid: u8,
    /// Sender's priority: 255 address owner, 0 master stopping.
    pub priority: u8,
    /// Advertisement interval in centiseconds. v2 carries whole seconds, so
    /// a v2 value is always a multiple of 100.
    pub max_advert_interval: u16,
    /// The virtual addresses (all of the family of the IP header).
    pub addresses: Vec<IpAddr>,
    /// v2 authentication; always [`Auth::None`] for v3.
    pub auth: Auth,
}

/// What the IO shell knows about a received packet from its IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxInfo {
    /// IP source address (the sender's primary address).
    pub src: IpAddr,
    /// IP destination address (multicast group or our unicast address).
    pub dst: IpAddr,
    /// Received TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
}

/// What the local instance expects of a received advertisement
/// (see `Machine::expect`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// Configured version.
    pub version: Version,
    /// Family of the instance (of its primary address).
    pub family: Family,
    /// Configured VRID.
    pub vrid: u8,
    /// Configured v2 authentication.
    pub auth: Auth,
    /// Configured advertisement interval in centiseconds (v2 requires an
    /// exact match; v3 learns the master's interval instead).
    pub advert_interval: u16,
}

/// Why an advertisement could not be encoded.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum EncodeError {
    /// More than 255 addresses.
    #[error("too many virtual addresses: {0} (at most 255)")]
    TooManyAddresses(usize),
    /// An address, the source or the destination is not of the same family.
    #[error("address family mismatch: {0}")]
    FamilyMismatch(IpAddr),
    /// VRRPv2 only runs over IPv4.
    #[error("VRRPv2 requires IPv4")]
    V2RequiresIpv4,
    /// Interval zero, too large, or (v2) not whole seconds.
    #[error("advert interval {centis} cs out of range for {version}")]
    IntervalOutOfRange {
        /// Version being encoded.
        version: Version,
        /// Requested interval, centiseconds.
        centis: u16,
    },
    /// VRRPv3 has no authentication.
    #[error("VRRPv3 has no authentication")]
    AuthNotSupported,
}

/// Why a received advertisement was dropped.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the fixed header (and v2 auth trailer).
    #[error("packet too short: {len} bytes, need at least {min}")]
    TooShort {
        /// Received length.
        len: usize,
        /// Minimum length for that version.
        min: usize,
    },
    /// The version field is neither 2 nor 3.
    #[error("unsupported VRRP version {0}")]
    UnsupportedVersion(u8),
    /// The packet's version is not the configured one.
    #[error("version mismatch: expected {expected}, got {got}")]
    VersionMismatch {
        /// Configured version.
        expected: Version,
        /// Received version.
        got: Version,
    },
    /// The type is not 1 (advertisement).
    #[error("not an advertisement: type {0}")]
    NotAdvertisement(u8),
    /// The address count does not match the packet length.
    #[error("address count {count} does not match packet length {len}")]
    AddressCountMismatch {
        /// Count field.
        count: u8,
        /// Received length.
        len: usize,
    },
    /// The checksum does not verify.
    #[error("bad checksum: received {received:#06x}, computed {computed:#06x}")]
    BadChecksum {
        /// Checksum field of the packet.
        received: u16,
        /// Checksum the packet should have carried.
        computed: u16,
    },
    /// Source and destination families differ, the family is not the
    /// instance's, or a v2 packet arrived over IPv6.
    #[error("address family mismatch")]
    FamilyMismatch,
    /// TTL / hop limit is not 255 (the packet was routed).
    #[error("bad TTL/hop limit {0}, expected 255")]
    BadTtl(u8),
    /// The VRID is not ours.
    #[error("VRID mismatch: expected {expected}, got {got}")]
    VridMismatch {
        /// Configured VRID.
        expected: u8,
        /// Received VRID.
        got: u8,
    },
    /// v2 auth type 2 (IP AH) or an unknown auth type.
    #[error("unsupported auth type {0}")]
    UnsupportedAuth(u8),
    /// v2 auth type differs from ours.
    #[error("auth type mismatch: expected {expected}, got {got}")]
    AuthTypeMismatch {
        /// Configured auth type.
        expected: u8,
        /// Received auth type.
        got: u8,
    },
    /// v2 password differs from ours (not printed).
    #[error("auth password mismatch")]
    AuthMismatch,
    /// v2 interval differs from ours (centiseconds).
    #[error("advert interval mismatch: expected {expected} cs, got {got} cs")]
    IntervalMismatch {
        /// Configured interval, centiseconds.
        expected: u16,
        /// Received interval, centiseconds.
        got: u16,
    },
    /// v3 Max Adver Int of zero.
    #[error("advert interval of zero")]
    ZeroInterval,
}

impl DecodeError {
    /// A short stable identifier (`snake_case`) for logs, metrics labels and
    /// the recorded test cases.
    pub const fn code(&self) -> &'static str {
        match self {
            DecodeError::TooShort { .. } => "too_short",
            DecodeError::UnsupportedVersion(_) => "unsupported_version",
            DecodeError::VersionMismatch { .. } => "version_mismatch",
            DecodeError::NotAdvertisement(_) => "not_advertisement",
            DecodeError::AddressCountMismatch { .. } => "address_count_mismatch",
            DecodeError::BadChecksum { .. } => "bad_checksum",
            DecodeError::FamilyMismatch => "family_mismatch",
            DecodeError::BadTtl(_) => "bad_ttl",
            DecodeError::VridMismatch { .. } => "vrid_mismatch",
            DecodeError::UnsupportedAuth(_) => "unsupported_auth",
            DecodeError::AuthTypeMismatch { .. } => "auth_type_mismatch",
            DecodeError::AuthMismatch => "auth_mismatch",
            DecodeError::IntervalMismatch { .. } => "interval_mismatch",
            DecodeError::ZeroInterval => "zero_interval",
        }
    }
}

/// Checks that a `(version, interval)` pair can be carried on the wire:
/// v2 whole seconds 1..=255, v3 1..=4095 centiseconds.
pub const fn interval_is_valid(version: Version, centis: u16) -> bool {
    match version {
        Version::V2 => centis != 0 && centis.is_multiple_of(100) && centis <= MAX_V2_INTERVAL_CS,
        Version::V3 => centis != 0 && centis <= MAX_V3_INTERVAL_CS,
    }
}

impl Advertisement {
    /// Encodes the VRRP payload, checksum included.
    ///
    /// `src` and `dst` are the IP source and destination the packet will be
    /// sent with: they give the family and, for v3, the pseudo-header of the
    /// checksum.
    pub fn encode(&self, src: IpAddr, dst: IpAddr) -> Result<Vec<u8>, EncodeError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family {
            return Err(EncodeError::FamilyMismatch(dst));
        }
        if let Some(bad) = self.addresses.iter().find(|a| Family::of(a) != family) {
            return Err(EncodeError::FamilyMismatch(*bad));
        }
        let count = u8::try_from(self.addresses.len())
            .map_err(|_| EncodeError::TooManyAddresses(self.addresses.len()))?;
        if !interval_is_valid(self.version, self.max_advert_interval) {
            return Err(EncodeError::IntervalOutOfRange {
                version: self.version,
                centis: self.max_advert_interval,
            });
        }
        let mut buf = Vec::with_capacity(payload_len(self.version, family, count));
        buf.push((self.version.number() << 4) | TYPE_ADVERTISEMENT);
        buf.push(self.vrid);
        buf.push(self.priority);
        buf.push(count);
        match self.version {
            Version::V2 => {
                if family != Family::Ipv4 {
                    return Err(EncodeError::V2RequiresIpv4);
                }
                buf.push(self.auth.type_code());
                // In range by interval_is_valid: at most 255 seconds.
                buf.push((self.max_advert_interval / 100) as u8);
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(EncodeError::AuthNotSupported);
                }
                // Reserved nibble is zero.
                buf.extend_from_slice(&(self.max_advert_interval & 0x0fff).to_be_bytes());
            }
        }
        buf.extend_from_slice(&[0, 0]); // checksum, filled below
        for addr in &self.addresses {
            push_addr(&mut buf, addr);
        }
        if self.version == Version::V2 {
            buf.extend_from_slice(&self.auth.data());
        }
        let sum = vrrp_checksum(self.version, &buf, src, dst);
        buf[6..8].copy_from_slice(&sum.to_be_bytes());
        Ok(buf)
    }

    /// Decodes and structurally checks a received VRRP payload.
    ///
    /// `src` / `dst` are the IP addresses of the received packet (needed for
    /// the family and the v3 pseudo-header checksum). Checks: length,
    /// version (2 or 3), type, v2 only over IPv4, address count against the
    /// length, checksum, v2 auth type. Never panics.
    pub fn decode(bytes: &[u8], src: IpAddr, dst: IpAddr) -> Result<Self, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::TooShort {
                len: bytes.len(),
                min: HEADER_LEN,
            });
        }
        let number = bytes[0] >> 4;
        let version =
            Version::from_number(number).ok_or(DecodeError::UnsupportedVersion(number))?;
        let kind = bytes[0] & 0x0f;
        if kind != TYPE_ADVERTISEMENT {
            return Err(DecodeError::NotAdvertisement(kind));
        }
        let family = Family::of(&src);
        if Family::of(&dst) != family || (version == Version::V2 && family != Family::Ipv4) {
            return Err(DecodeError::FamilyMismatch);
        }
        let min = payload_len(version, family, 0);
        if bytes.len() < min {
            return Err(DecodeError::TooShort {
                len: bytes.len(),
                min,
            });
        }
        let count = bytes[3];
        if bytes.len() != payload_len(version, family, count) {
            return Err(DecodeError::AddressCountMismatch {
                count,
                len: bytes.len(),
            });
        }
        if vrrp_checksum(version, bytes, src, dst) != 0 {
            let received = u16::from_be_bytes([bytes[6], bytes[7]]);
            let mut zeroed = bytes.to_vec();
            zeroed[6] = 0;
            zeroed[7] = 0;
            let computed = vrrp_checksum(version, &zeroed, src, dst);
            return Err(DecodeError::BadChecksum { received, computed });
        }

        let alen = family.address_len();
        let addresses = bytes[HEADER_LEN..HEADER_LEN + usize::from(count) * alen]
            .chunks_exact(alen)
            .map(|chunk| read_addr(family, chunk))
            .collect();
        let (max_advert_interval, auth) = match version {
            Version::V2 => {
                let auth = match bytes[4] {
                    Auth::TYPE_NONE => Auth::None,
                    Auth::TYPE_SIMPLE => {
                        let mut data = [0u8; AUTH_DATA_LEN];
                        data.copy_from_slice(&bytes[bytes.len() - AUTH_DATA_LEN..]);
                        Auth::Simple(data)
                    }
                    other => return Err(DecodeError::UnsupportedAuth(other)),
                };
                (u16::from(bytes[5]) * 100, auth)
            }
            Version::V3 => (
                u16::from_be_bytes([bytes[4], bytes[5]]) & 0x0fff,
                Auth::None,
            ),
        };
        Ok(Advertisement {
            version,
            vrid: bytes[1],
            priority: bytes[2],
            max_advert_interval,
            addresses,
            auth,
        })
    }

    /// Checks a decoded advertisement against the local instance and the
    /// received TTL / hop limit (RFC 5798 section 7.1, RFC 3768 section 7.1).
    ///
    /// The RFC's optional check that the address list matches ours is not
    /// done (keepalived only logs it).
    pub fn validate(&self, expect: &Expect, rx: &RxInfo) -> Result<(), DecodeError> {
        if rx.ttl != VRRP_TTL {
            return Err(DecodeError::BadTtl(rx.ttl));
        }
        if Family::of(&rx.src) != expect.family || Family::of(&rx.dst) != expect.family {
            return Err(DecodeError::FamilyMismatch);
        }
        if self.version != expect.version {
            return Err(DecodeError::VersionMismatch {
                expected: expect.version,
                got: self.version,
            });
        }
        if self.vrid != expect.vrid {
            return Err(DecodeError::VridMismatch {
                expected: expect.vrid,
                got: self.vrid,
            });
        }
        match self.version {
            Version::V2 => {
                if self.auth.type_code() != expect.auth.type_code() {
                    return Err(DecodeError::AuthTypeMismatch {
                        expected: expect.auth.type_code(),
                        got: self.auth.type_code(),
                    });
                }
                if let (Auth::Simple(got), Auth::Simple(want)) = (&self.auth, &expect.auth) {
                    if got != want {
                        return Err(DecodeError::AuthMismatch);
                    }
                }
                if self.max_advert_interval != expect.advert_interval {
                    return Err(DecodeError::IntervalMismatch {
                        expected: expect.advert_interval,
                        got: self.max_advert_interval,
                    });
                }
            }
            Version::V3 => {
                if self.max_advert_interval == 0 {
                    return Err(DecodeError::ZeroInterval);
                }
            }
        }
        Ok(())
    }
}

/// Decodes a received VRRP payload and validates it against the local
/// instance: [`Advertisement::decode`] then [`Advertisement::validate`].
pub fn decode_validated(
    bytes: &[u8],
    rx: &RxInfo,
    expect: &Expect,
) -> Result<Advertisement, DecodeError> {
    let adv = Advertisement::decode(bytes, rx.src, rx.dst)?;
    adv.validate(expect, rx)?;
    Ok(adv)
}

/// Total payload length for `count` addresses.
fn payload_len(version: Version, family: Family, count: u8) -> usize {
    let auth = match version {
        Version::V2 => AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    HEADER_LEN + usize::from(count) * family.address_len() + auth
}

fn push_addr(buf: &mut Vec<u8>, addr: &IpAddr) {
    match addr {
        IpAddr::V4(a) => buf.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => buf.extend_from_slice(&a.octets()),
    }
}

/// `chunk` has exactly `family.address_len()` bytes.
fn read_addr(family: Family, chunk: &[u8]) -> IpAddr {
    match family {
        Family::Ipv4 => {
            let mut o = [0u8; 4];
            o.copy_from_slice(chunk);
            IpAddr::V4(Ipv4Addr::from(o))
        }
        Family::Ipv6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(chunk);
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

/// Checksum of a VRRP message: over the message alone for v2, with the
/// pseudo-header for v3. Over a message whose checksum field is filled in,
/// the result is 0 when the checksum is correct.
fn vrrp_checksum(version: Version, msg: &[u8], src: IpAddr, dst: IpAddr) -> u16 {
    match version {
        Version::V2 => internet_checksum(&[msg]),
        Version::V3 => {
            let pseudo = pseudo_header(src, dst, IPPROTO_VRRP, msg.len());
            internet_checksum(&[&pseudo, msg])
        }
    }
}

/// The IPv4 (RFC 768 style) or IPv6 (RFC 8200 section 8.1) pseudo-header of
/// an upper-layer checksum. `src` and `dst` must be of the same family (the
/// callers check); a mixed pair uses the IPv4-mapped form of the IPv4 one.
fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut p = Vec::with_capacity(12);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.push(0);
            p.push(protocol);
            // VRRP payloads are at most 8 + 255 * 16 bytes.
            p.extend_from_slice(&(len as u16).to_be_bytes());
            p
        }
        _ => {
            let s = to_v6(src);
            let d = to_v6(dst);
            let mut p = Vec::with_capacity(40);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, protocol]);
            p
        }
    }
}

fn to_v6(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// The Internet checksum (RFC 1071) of the concatenation of `parts`: the
/// ones' complement of the ones' complement sum of 16-bit big-endian words,
/// an odd trailing byte padded with zero. Every part but the last must have
/// an even length.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    for part in parts {
        let mut words = part.chunks_exact(2);
        for w in &mut words {
            sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = words.remainder() {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The virtual router MAC address of RFC 5798 section 7.3:
/// `00-00-5E-00-01-{VRID}` for IPv4, `00-00-5E-00-02-{VRID}` for IPv6.
/// (keepalived only uses it with `use_vmac`; by default the interface's own
/// MAC is the source of announcements.)
pub const fn virtual_mac(vrid: u8, family: Family) -> MacAddr {
    let f = match family {
        Family::Ipv4 => 1,
        Family::Ipv6 => 2,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

/// A gratuitous ARP announcing `vip` at `source_mac`, as a complete Ethernet
/// frame (42 bytes, the NIC pads to the minimum frame size), to send on an
/// `AF_PACKET` socket.
///
/// Same layout as keepalived: broadcast destination, ARP *request* with
/// sender = target = `vip` and target hardware address ff:ff:ff:ff:ff:ff.
pub fn gratuitous_arp(source_mac: MacAddr, vip: Ipv4Addr) -> Vec<u8> {
    const BROADCAST: MacAddr = [0xff; 6];
    let mut f = Vec::with_capacity(42);
    // Ethernet header.
    f.extend_from_slice(&BROADCAST);
    f.extend_from_slice(&source_mac);
    f.extend_from_slice(&0x0806u16.to_be_bytes()); // ETHERTYPE_ARP
                                                   // ARP.
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.extend_from_slice(&0x0800u16.to_be_bytes()); // ETHERTYPE_IP
    f.push(6); // hardware address length
    f.push(4); // protocol address length
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPOP_REQUEST
    f.extend_from_slice(&source_mac);
    f.extend_from_slice(&vip.octets());
    f.extend_from_slice(&BROADCAST);
    f.extend_from_slice(&vip.octets());
    f
}

/// An unsolicited Neighbor Advertisement (RFC 4861 section 7.2.6) for
/// `target` at `mac`: the ICMPv6 message (type 136, code 0, Override flag,
/// Router flag when `router`, Target Link-Layer Address option), checksum
/// included over the pseudo-header of `src` -> `dst`.
///
/// Send it on an ICMPv6 raw socket from `src` (usually the interface's
/// link-local address) to `dst` (usually [`ALL_NODES_V6`]) with hop limit
/// 255.
pub fn neighbor_advertisement(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    mac: MacAddr,
    router: bool,
) -> Vec<u8> {
    const ICMPV6: u8 = 58;
    const NEIGHBOR_ADVERTISEMENT: u8 = 136;
    const FLAG_ROUTER: u8 = 0x80;
    const FLAG_OVERRIDE: u8 = 0x20;
    const OPT_TARGET_LLADDR: u8 = 2;
    let mut m = Vec::with_capacity(32);
    m.push(NEIGHBOR_ADVERTISEMENT);
    m.push(0); // code
    m.extend_from_slice(&[0, 0]); // checksum, filled below
    m.push(FLAG_OVERRIDE | if router { FLAG_ROUTER } else { 0 });
    m.extend_from_slice(&[0, 0, 0]); // reserved
    m.extend_from_slice(&target.octets());
    m.push(OPT_TARGET_LLADDR);
    m.push(1); // option length in units of 8 bytes
    m.extend_from_slice(&mac);
    let pseudo = pseudo_header(IpAddr::V6(src), IpAddr::V6(dst), ICMPV6, m.len());
    let sum = internet_checksum(&[&pseudo, &m]);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// An independent, deliberately naive Internet checksum: sum 16-bit
    /// words one at a time with end-around carry, then complement.
    fn reference_checksum(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i < data.len() {
            let hi = u32::from(data[i]);
            let lo = if i + 1 < data.len() {
                u32::from(data[i + 1])
            } else {
                0
            };
            sum += (hi << 8) | lo;
            if sum > 0xffff {
                sum = (sum & 0xffff) + 1;
            }
            i += 2;
        }
        !(sum as u16)
    }

    fn expect_v2_pass() -> Expect {
        Expect {
            version: Version::V2,
            family: Family::Ipv4,
            vrid: 51,
            auth: Auth::simple("1111").unwrap(),
            advert_interval: 100,
        }
    }

    fn rx(src: &str, dst: &str, ttl: u8) -> RxInfo {
        RxInfo {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ttl,
        }
    }

    /// keepalived, `vrrp_version 2`, `virtual_router_id 51`, `priority 100`,
    /// `advert_int 1`, `auth_type PASS`, `auth_pass 1111`,
    /// `virtual_ipaddress { 192.168.10.180 }`.
    ///
    /// Checksum by hand, 16-bit words, checksum field zero:
    ///
    /// ```text
    /// 0x2133 + 0x6401 + 0x0101 + 0x0000 + 0xc0a8 + 0x0ab4
    ///        + 0x3131 + 0x3131 + 0x0000 + 0x0000 = 0x1b3f3
    /// fold: 0xb3f3 + 0x1 = 0xb3f4; complement: 0x4c0b
    /// ```
    const V2_PASS: [u8; 20] = [
        0x21, 0x33, 0x64, 0x01, // v2 advert, vrid 51, prio 100, 1 addr
        0x01, 0x01, 0x4c, 0x0b, // auth PASS, 1 s, checksum
        0xc0, 0xa8, 0x0a, 0xb4, // 192.168.10.180
        b'1', b'1', b'1', b'1', 0, 0, 0, 0, // "1111" zero padded
    ];

    /// keepalived, `vrrp_version 3`, same instance without auth, sent
    /// 10.0.0.1 -> 224.0.0.18.
    ///
    /// Checksum by hand:
    ///
    /// ```text
    /// pseudo-header 0x0a00 + 0x0001 + 0xe000 + 0x0012
    ///        + 0x0070 (proto 112) + 0x000c (length 12) = 0xea8f
    /// message 0x3133 + 0x6401 + 0x0064 (100 cs) + 0x0000 + 0xc0a8
    ///        + 0x0ab4 = 0x160f4
    /// total 0x24b83, fold 0x4b85, complement 0xb47a
    /// ```
    const V3_V4: [u8; 12] = [
        0x31, 0x33, 0x64, 0x01, // v3 advert, vrid 51, prio 100, 1 addr
        0x00, 0x64, 0xb4, 0x7a, // 100 cs, checksum
        0xc0, 0xa8, 0x0a, 0xb4, // 192.168.10.180
    ];

    #[test]
    fn v2_pass_vector_encodes_byte_exact() {
        let adv = Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            max_advert_interval: 100,
            addresses: vec![v4("192.168.10.180")],
            auth: Auth::simple("1111").unwrap(),
        };
        let bytes = adv.encode(v4("10.0.0.1"), v4("224.0.0.18")).unwrap();
        assert_eq!(bytes, V2_PASS);
        // The hand computation agrees with an independent implementation.
        let mut zeroed = V2_PASS;
        zeroed[6] = 0;
        zeroed[7] = 0;
        assert_eq!(reference_checksum(&zeroed), 0x4c0b);
        assert_eq!(reference_checksum(&V2_PASS), 0);

        let got = decode_validated(
            &V2_PASS,
            &rx("10.0.0.2", "224.0.0.18", 255),
            &expect_v2_pass(),
        )
        .unwrap();
        assert_eq!(got, adv);
    }

    #[test]
    fn v3_ipv4_vector_encodes_byte_exact() {
        let adv = Advertisement {
            version: Version::V3,
            vrid: 51,
            priority: 100,
            max_advert_interval: 100,
            addresses: vec![v4("192.168.10.180")],
            auth: Auth::None,
        };
        let bytes = adv.encode(v4("10.0.0.1"), v4("224.0.0.18")).unwrap();
        assert_eq!(bytes, V3_V4);
        let mut with_pseudo = vec![10, 0, 0, 1, 224, 0, 0, 18, 0, 112, 0, 12];
        with_pseudo.extend_from_slice(&V3_V4);
        assert_eq!(reference_checksum(&with_pseudo), 0);
        with_pseudo[12 + 6] = 0;
        with_pseudo[12 + 7] = 0;
        assert_eq!(reference_checksum(&with_pseudo), 0xb47a);

        let got = Advertisement::decode(&V3_V4, v4("10.0.0.1"), v4("224.0.0.18")).unwrap();
        assert_eq!(got, adv);
        // The pseudo-header matters: another source breaks the checksum.
        assert!(matches!(
            Advertisement::decode(&V3_V4, v4("10.0.0.2"), v4("224.0.0.18")),
            Err(DecodeError::BadChecksum {
                received: 0xb47a,
                ..
            })
        ));
    }

    #[test]
    fn v3_ipv6_round_trip_and_checksum() {
        let src: IpAddr = "fe80::1".parse().unwrap();
        let dst = Family::Ipv6.vrrp_multicast();
        let adv = Advertisement {
            version: Version::V3,
            vrid: 7,
            priority: 200,
            max_advert_interval: 50,
            addresses: vec!["2001:db8::10".parse().unwrap(), "fe80::10".parse().unwrap()],
            auth: Auth::None,
        };
        let bytes = adv.encode(src, dst).unwrap();
        assert_eq!(bytes.len(), 8 + 32);
        assert_eq!(&bytes[..6], &[0x31, 7, 200, 2, 0x00, 0x32]);
        let mut with_pseudo = pseudo_header(src, dst, 112, bytes.len());
        assert_eq!(with_pseudo.len(), 40);
        with_pseudo.extend_from_slice(&bytes);
        assert_eq!(reference_checksum(&with_pseudo), 0);
        assert_eq!(Advertisement::decode(&bytes, src, dst).unwrap(), adv);
    }

    #[test]
    fn round_trips() {
        let cases = [
            (Version::V2, Auth::None, 100u16, 0usize),
            (Version::V2, Auth::simple("12345678").unwrap(), 25500, 3),
            (Version::V3, Auth::None, 1, 1),
            (Version::V3, Auth::None, 4095, 255),
        ];
        for (version, auth, interval, n) in cases {
            let adv = Advertisement {
                version,
                vrid: 255,
                priority: 0,
                max_advert_interval: interval,
                addresses: (0..n)
                    .map(|i| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32)))
                    .collect(),
                auth,
            };
            let bytes = adv.encode(v4("10.1.1.1"), v4("10.1.1.2")).unwrap();
            assert_eq!(
                Advertisement::decode(&bytes, v4("10.1.1.1"), v4("10.1.1.2")).unwrap(),
                adv
            );
        }
    }

    #[test]
    fn encode_rejects_invalid() {
        let base = Advertisement {
            version: Version::V2,
            vrid: 1,
            priority: 100,
            max_advert_interval: 100,
            addresses: vec![],
            auth: Auth::None,
        };
        let (s, d) = (v4("10.0.0.1"), v4("224.0.0.18"));
        let v6: IpAddr = "fe80::1".parse().unwrap();
        let bad = |a: Advertisement, s: IpAddr, d: IpAddr| a.encode(s, d).unwrap_err();
        assert_eq!(
            bad(
                Advertisement {
                    max_advert_interval: 150,
                    ..base.clone()
                },
                s,
                d
            ),
            EncodeError::IntervalOutOfRange {
                version: Version::V2,
                centis: 150
            }
        );
        assert_eq!(
            bad(
                Advertisement {
                    max_advert_interval: 0,
                    version: Version::V3,
                    ..base.clone()
                },
                s,
                d
            ),
            EncodeError::IntervalOutOfRange {
                version: Version::V3,
                centis: 0
            }
        );
        assert_eq!(bad(base.clone(), v6, v6), EncodeError::V2RequiresIpv4);
        assert_eq!(bad(base.clone(), s, v6), EncodeError::FamilyMismatch(v6));
        assert_eq!(
            bad(
                Advertisement {
                    addresses: vec![v6],
                    ..base.clone()
                },
                s,
                d
            ),
            EncodeError::FamilyMismatch(v6)
        );
        assert_eq!(
            bad(
                Advertisement {
                    version: Version::V3,
                    auth: Auth::simple("x").unwrap(),
                    ..base.clone()
                },
                s,
                d
            ),
            EncodeError::AuthNotSupported
        );
        assert_eq!(
            bad(
                Advertisement {
                    addresses: vec![s; 256],
                    ..base.clone()
                },
                s,
                d
            ),
            EncodeError::TooManyAddresses(256)
        );
    }

    #[test]
    fn decode_errors() {
        let (s, d) = (v4("10.0.0.2"), v4("224.0.0.18"));
        let dec = |b: &[u8]| Advertisement::decode(b, s, d).unwrap_err();
        assert_eq!(dec(&V2_PASS[..7]), DecodeError::TooShort { len: 7, min: 8 });
        assert_eq!(
            dec(&V2_PASS[..12]),
            DecodeError::TooShort { len: 12, min: 16 }
        );
        let mut b = V2_PASS;
        b[0] = 0x41;
        assert_eq!(dec(&b), DecodeError::UnsupportedVersion(4));
        b[0] = 0x22;
        assert_eq!(dec(&b), DecodeError::NotAdvertisement(2));
        let mut b = V2_PASS;
        b[3] = 2;
        assert_eq!(
            dec(&b),
            DecodeError::AddressCountMismatch { count: 2, len: 20 }
        );
        assert_eq!(
            dec(&V2_PASS[..19]),
            DecodeError::AddressCountMismatch { count: 1, len: 19 }
        );
        let mut b = V2_PASS;
        b[2] = 101;
        assert_eq!(
            dec(&b),
            DecodeError::BadChecksum {
                received: 0x4c0b,
                computed: 0x4b0b
            }
        );
        // Auth type 2 (AH), checksum fixed up so that only auth is wrong.
        let mut b = V2_PASS;
        b[4] = 2;
        b[6] = 0;
        b[7] = 0;
        let sum = reference_checksum(&b);
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(dec(&b), DecodeError::UnsupportedAuth(2));
        // Families.
        let v6: IpAddr = "fe80::2".parse().unwrap();
        assert_eq!(
            Advertisement::decode(&V2_PASS, s, v6).unwrap_err(),
            DecodeError::FamilyMismatch
        );
        assert_eq!(
            Advertisement::decode(&V2_PASS, v6, v6).unwrap_err(),
            DecodeError::FamilyMismatch
        );
    }

    #[test]
    fn validate_errors() {
        let adv = Advertisement::decode(&V2_PASS, v4("10.0.0.2"), v4("224.0.0.18")).unwrap();
        let e = expect_v2_pass();
        let ok = rx("10.0.0.2", "224.0.0.18", 255);
        assert_eq!(adv.validate(&e, &ok), Ok(()));
        assert_eq!(
            adv.validate(&e, &rx("10.0.0.2", "224.0.0.18", 254)),
            Err(DecodeError::BadTtl(254))
        );
        assert_eq!(
            adv.validate(
                &Expect {
                    family: Family::Ipv6,
                    ..e.clone()
                },
                &ok
            ),
            Err(DecodeError::FamilyMismatch)
        );
        assert_eq!(
            adv.validate(
                &Expect {
                    version: Version::V3,
                    ..e.clone()
                },
                &ok
            ),
            Err(DecodeError::VersionMismatch {
                expected: Version::V3,
                got: Version::V2
            })
        );
        assert_eq!(
            adv.validate(
                &Expect {
                    vrid: 52,
                    ..e.clone()
                },
                &ok
            ),
            Err(DecodeError::VridMismatch {
                expected: 52,
                got: 51
            })
        );
        assert_eq!(
            adv.validate(
                &Expect {
                    auth: Auth::None,
                    ..e.clone()
                },
                &ok
            ),
            Err(DecodeError::AuthTypeMismatch {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            adv.validate(
                &Expect {
                    auth: Auth::simple("1112").unwrap(),
                    ..e.clone()
                },
                &ok
            ),
            Err(DecodeError::AuthMismatch)
        );
        assert_eq!(
            adv.validate(
                &Expect {
                    advert_interval: 200,
                    ..e.clone()
                },
                &ok
            ),
            Err(DecodeError::IntervalMismatch {
                expected: 200,
                got: 100
            })
        );
        // v3 learns the interval instead of requiring a match, but not 0.
        let mut v3 = Advertisement::decode(&V3_V4, v4("10.0.0.1"), v4("224.0.0.18")).unwrap();
        let e3 = Expect {
            version: Version::V3,
            auth: Auth::None,
            advert_interval: 300,
            ..e.clone()
        };
        let ok3 = rx("10.0.0.1", "224.0.0.18", 255);
        assert_eq!(v3.validate(&e3, &ok3), Ok(()));
        v3.max_advert_interval = 0;
        assert_eq!(v3.validate(&e3, &ok3), Err(DecodeError::ZeroInterval));
    }

    #[test]
    fn auth_none_ignores_auth_data() {
        // RFC 3768: with auth type 0 the auth data is ignored on receipt.
        let mut b = V2_PASS;
        b[4] = 0;
        b[6] = 0;
        b[7] = 0;
        let sum = reference_checksum(&b);
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        let adv = Advertisement::decode(&b, v4("10.0.0.2"), v4("224.0.0.18")).unwrap();
        assert_eq!(adv.auth, Auth::None);
    }

    #[test]
    fn auth_password_length() {
        assert_eq!(Auth::simple(""), Err(AuthError::PasswordLength(0)));
        assert_eq!(Auth::simple("123456789"), Err(AuthError::PasswordLength(9)));
        assert_eq!(
            Auth::simple("ab"),
            Ok(Auth::Simple([b'a', b'b', 0, 0, 0, 0, 0, 0]))
        );
        assert_eq!(
            format!("{:?}", Auth::simple("secret").unwrap()),
            "Simple(****)"
        );
    }

    /// xorshift64*: a tiny deterministic PRNG, enough for fuzzing.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn decode_never_panics_on_random_input() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let addrs = [
            v4("10.0.0.1"),
            v4("224.0.0.18"),
            "fe80::1".parse().unwrap(),
            "ff02::12".parse().unwrap(),
        ];
        let seeds: [&[u8]; 2] = [&V2_PASS, &V3_V4];
        let e = expect_v2_pass();
        let mut decoded = 0;
        for i in 0..200_000u32 {
            let mut bytes: Vec<u8> = if i % 2 == 0 {
                // Pure noise, biased towards plausible first bytes.
                let len = rng.below(80) as usize;
                let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                if let Some(first) = b.first_mut() {
                    *first = [0x21, 0x31, 0x20, 0x00][rng.below(4) as usize];
                }
                b
            } else {
                // Mutations of valid packets: flips, truncation, extension.
                let mut b = seeds[rng.below(2) as usize].to_vec();
                for _ in 0..rng.below(4) {
                    let at = rng.below(b.len() as u64) as usize;
                    b[at] ^= 1 << rng.below(8);
                }
                match rng.below(3) {
                    0 => b.truncate(rng.below(b.len() as u64 + 1) as usize),
                    1 => b.extend((0..rng.below(40)).map(|_| rng.next() as u8)),
                    _ => {}
                }
                b
            };
            if rng.below(8) == 0 {
                // Count field claiming many addresses.
                if let Some(c) = bytes.get_mut(3) {
                    *c = 255;
                }
            }
            let src = addrs[rng.below(4) as usize];
            let dst = addrs[rng.below(4) as usize];
            let info = RxInfo {
                src,
                dst,
                ttl: rng.next() as u8,
            };
            if let Ok(adv) = decode_validated(&bytes, &info, &e) {
                decoded += 1;
                // Anything that decodes re-encodes to the same bytes when
                // its auth data is canonical.
                if adv.auth != Auth::None {
                    assert_eq!(adv.encode(src, dst).unwrap(), bytes);
                }
            }
            let _ = Advertisement::decode(&bytes, src, dst);
        }
        assert!(decoded > 0, "the mutations should hit valid packets");
    }

    #[test]
    fn gratuitous_arp_layout() {
        let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        let f = gratuitous_arp(mac, Ipv4Addr::new(192, 168, 10, 180));
        let expected: Vec<u8> = [
            &[0xff; 6][..],
            &mac,
            &[0x08, 0x06],
            &[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01],
            &mac,
            &[192, 168, 10, 180],
            &[0xff; 6],
            &[192, 168, 10, 180],
        ]
        .concat();
        assert_eq!(f, expected);
        assert_eq!(f.len(), 42);
    }

    #[test]
    fn neighbor_advertisement_layout_and_checksum() {
        let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        let src: Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
        let target: Ipv6Addr = "2001:db8::80".parse().unwrap();
        let m = neighbor_advertisement(src, ALL_NODES_V6, target, mac, false);
        assert_eq!(m.len(), 32);
        assert_eq!(&m[..2], &[136, 0]);
        assert_eq!(&m[4..8], &[0x20, 0, 0, 0]);
        assert_eq!(&m[8..24], &target.octets());
        assert_eq!(&m[24..26], &[2, 1]);
        assert_eq!(&m[26..], &mac);
        // Verify against the independent checksum over the pseudo-header.
        let mut p = Vec::new();
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&ALL_NODES_V6.octets());
        p.extend_from_slice(&[0, 0, 0, 32, 0, 0, 0, 58]);
        p.extend_from_slice(&m);
        assert_eq!(reference_checksum(&p), 0);
        let r = neighbor_advertisement(src, ALL_NODES_V6, target, mac, true);
        assert_eq!(r[4], 0xa0);
    }

    #[test]
    fn virtual_macs() {
        assert_eq!(
            virtual_mac(51, Family::Ipv4),
            [0x00, 0x00, 0x5e, 0x00, 0x01, 51]
        );
        assert_eq!(
            virtual_mac(7, Family::Ipv6),
            [0x00, 0x00, 0x5e, 0x00, 0x02, 7]
        );
    }

    #[test]
    fn checksum_matches_reference_on_odd_lengths() {
        let mut rng = Rng(42);
        for len in 0..64 {
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            assert_eq!(internet_checksum(&[&data]), reference_checksum(&data));
        }
    }
}
