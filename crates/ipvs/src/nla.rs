//! Netlink attribute (TLV) framing shared by the IPVS and the address codecs.
//!
//! Layout (`include/uapi/linux/netlink.h`): every attribute is a `struct nlattr`
//! header `{ u16 nla_len; u16 nla_type; }` in host byte order, followed by the
//! payload; `nla_len` counts header + payload but not the padding that aligns the
//! next attribute to 4 bytes (`NLA_ALIGNTO`). The two top bits of `nla_type` are
//! flags (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`).
//!
//! Pure code: no IO.

use crate::error::DecodeError;

/// `NLA_ALIGNTO`.
const ALIGN: usize = 4;
/// `NLA_HDRLEN`.
const HDR_LEN: usize = 4;
/// `NLA_F_NESTED`.
pub(crate) const F_NESTED: u16 = 1 << 15;
/// `NLA_TYPE_MASK`: strips `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`.
const TYPE_MASK: u16 = !(F_NESTED | (1 << 14));

pub(crate) const fn align(len: usize) -> usize {
    (len + ALIGN - 1) & !(ALIGN - 1)
}

/// Builds a sequence of attributes, possibly nested.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A writer whose buffer already holds a fixed header (genlmsghdr, ifaddrmsg...).
    pub(crate) fn with_header(header: &[u8]) -> Self {
        debug_assert_eq!(header.len() % ALIGN, 0, "fixed headers are 4-byte aligned");
        Writer {
            buf: header.to_vec(),
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }

    pub(crate) fn put(&mut self, ty: u16, payload: &[u8]) {
        let len = HDR_LEN + payload.len();
        // Our payloads are at most a few dozen bytes; a u16 overflow would be a bug.
        let len16 = u16::try_from(len).expect("netlink attribute longer than 64 KiB");
        self.buf.extend_from_slice(&len16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
    }

    pub(crate) fn put_u8(&mut self, ty: u16, v: u8) {
        self.put(ty, &[v]);
    }

    pub(crate) fn put_u16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_ne_bytes());
    }

    /// A `__be16` attribute (port numbers).
    pub(crate) fn put_be16(&mut self, ty: u16, v: u16) {
        self.put(ty, &v.to_be_bytes());
    }

    pub(crate) fn put_u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_ne_bytes());
    }

    /// A NUL-terminated string (`NLA_NUL_STRING`, `nla_put_string`).
    pub(crate) fn put_str(&mut self, ty: u16, s: &str) {
        let mut payload = Vec::with_capacity(s.len() + 1);
        payload.extend_from_slice(s.as_bytes());
        payload.push(0);
        self.put(ty, &payload);
    }

    /// A nested attribute whose content is written by `f`; `NLA_F_NESTED` is set.
    pub(crate) fn nested(&mut self, ty: u16, f: impl FnOnce(&mut Writer)) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&(ty | F_NESTED).to_ne_bytes());
        f(self);
        let len = self.buf.len() - start;
        let len16 = u16::try_from(len).expect("nested netlink attribute longer than 64 KiB");
        self.buf[start..start + 2].copy_from_slice(&len16.to_ne_bytes());
        // Every inner attribute is already padded, so the nest is aligned.
        debug_assert_eq!(self.buf.len() % ALIGN, 0);
    }

    fn pad(&mut self) {
        let padded = align(self.buf.len());
        self.buf.resize(padded, 0);
    }
}

/// Iterates over the attributes of a buffer. Stops after the first error.
pub(crate) struct Iter<'a> {
    rest: &'a [u8],
    context: &'static str,
}

pub(crate) fn iter<'a>(buf: &'a [u8], context: &'static str) -> Iter<'a> {
    Iter { rest: buf, context }
}

impl<'a> Iterator for Iter<'a> {
    /// `(type without flags, payload)`.
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let available = self.rest.len();
        if available < HDR_LEN {
            self.rest = &[];
            return Some(Err(DecodeError::Truncated {
                what: self.context,
                need: HDR_LEN,
                have: available,
            }));
        }
        let len = usize::from(u16::from_ne_bytes([self.rest[0], self.rest[1]]));
        let ty = u16::from_ne_bytes([self.rest[2], self.rest[3]]) & TYPE_MASK;
        if len < HDR_LEN || len > available {
            self.rest = &[];
            return Some(Err(DecodeError::AttributeLength {
                context: self.context,
                ty,
                len,
                available,
            }));
        }
        let payload = &self.rest[HDR_LEN..len];
        // The last attribute of a message may come without its padding.
        self.rest = &self.rest[align(len).min(available)..];
        Some(Ok((ty, payload)))
    }
}

/// Parses a buffer into a table indexed by attribute type; unknown types (>= N)
/// are ignored and, as in the kernel, the last occurrence of a type wins.
pub(crate) fn table<'a, const N: usize>(
    buf: &'a [u8],
    context: &'static str,
) -> Result<[Option<&'a [u8]>; N], DecodeError> {
    let mut out = [None; N];
    for attr in iter(buf, context) {
        let (ty, payload) = attr?;
        if let Some(slot) = out.get_mut(usize::from(ty)) {
            *slot = Some(payload);
        }
    }
    Ok(out)
}

/// Typed readers over an attribute payload; `attr` names the attribute in errors.
pub(crate) fn fixed<const N: usize>(attr: &'static str, p: &[u8]) -> Result<[u8; N], DecodeError> {
    p.get(..N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(DecodeError::Size {
            attr,
            expected: N,
            got: p.len(),
        })
}

pub(crate) fn u8_(attr: &'static str, p: &[u8]) -> Result<u8, DecodeError> {
    Ok(fixed::<1>(attr, p)?[0])
}

pub(crate) fn u16_(attr: &'static str, p: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(fixed(attr, p)?))
}

pub(crate) fn be16(attr: &'static str, p: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(fixed(attr, p)?))
}

pub(crate) fn u32_(attr: &'static str, p: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(fixed(attr, p)?))
}

/// A counter sent either as u32 or as u64 (the kernel uses both in stats nests).
pub(crate) fn counter(attr: &'static str, p: &[u8]) -> Result<u64, DecodeError> {
    match p.len() {
        4 => Ok(u64::from(u32_(attr, p)?)),
        8 => Ok(u64::from_ne_bytes(fixed(attr, p)?)),
        got => Err(DecodeError::Size {
            attr,
            expected: 8,
            got,
        }),
    }
}

/// A NUL-terminated string (the terminator is required and stripped; anything
/// after the first NUL is ignored, as `strcmp` would).
pub(crate) fn string(attr: &'static str, p: &[u8]) -> Result<String, DecodeError> {
    let end = p
        .iter()
        .position(|&b| b == 0)
        .ok_or(DecodeError::String { attr })?;
    std::str::from_utf8(&p[..end])
        .map(str::to_owned)
        .map_err(|_| DecodeError::String { attr })
}

/// Looks a required attribute up in a table built by [`table`].
pub(crate) fn required<'a>(
    slot: Option<&'a [u8]>,
    attr: &'static str,
) -> Result<&'a [u8], DecodeError> {
    slot.ok_or(DecodeError::Missing(attr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_pads_and_nests() {
        let mut w = Writer::default();
        w.put_u8(1, 0xab);
        w.nested(2, |w| w.put_be16(3, 80));
        let bytes = w.finish();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &5u16.to_ne_bytes()[..], &1u16.to_ne_bytes(), &[0xab, 0, 0, 0],
            &12u16.to_ne_bytes(), &(2u16 | F_NESTED).to_ne_bytes(),
                &6u16.to_ne_bytes(), &3u16.to_ne_bytes(), &[0, 80, 0, 0],
        ].concat();
        assert_eq!(bytes, expected);
        let attrs: Vec<_> = iter(&bytes, "test").collect::<Result<_, _>>().unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0], (1, &[0xab][..]));
        // The nested flag is stripped from the type.
        assert_eq!(attrs[1].0, 2);
        assert_eq!(be16("x", &attrs[1].1[4..6]).unwrap(), 80);
    }

    #[test]
    fn last_attribute_without_padding_is_accepted() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&5u16.to_ne_bytes());
        bytes.extend_from_slice(&7u16.to_ne_bytes());
        bytes.push(9);
        let t = table::<8>(&bytes, "test").unwrap();
        assert_eq!(t[7], Some(&[9u8][..]));
    }

    #[test]
    fn bad_lengths_are_errors() {
        // Header shorter than 4 bytes.
        assert!(matches!(
            iter(&[1, 0], "ctx").next(),
            Some(Err(DecodeError::Truncated { what: "ctx", .. }))
        ));
        // Declared length beyond the buffer.
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&40u16.to_ne_bytes());
        bytes.extend_from_slice(&1u16.to_ne_bytes());
        assert!(matches!(
            table::<4>(&bytes, "ctx"),
            Err(DecodeError::AttributeLength { len: 40, .. })
        ));
        // Declared length below the header size.
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&2u16.to_ne_bytes());
        bytes.extend_from_slice(&1u16.to_ne_bytes());
        assert!(table::<4>(&bytes, "ctx").is_err());
    }

    #[test]
    fn readers_check_sizes() {
        assert_eq!(
            u32_("A", &[1, 0]),
            Err(DecodeError::Size {
                attr: "A",
                expected: 4,
                got: 2
            })
        );
        assert_eq!(counter("C", &7u32.to_ne_bytes()), Ok(7));
        assert_eq!(counter("C", &7u64.to_ne_bytes()), Ok(7));
        assert!(counter("C", &[0; 5]).is_err());
        assert_eq!(string("S", b"wrr\0\0"), Ok("wrr".to_owned()));
        assert_eq!(string("S", b"wrr"), Err(DecodeError::String { attr: "S" }));
        assert_eq!(
            string("S", b"\xff\0"),
            Err(DecodeError::String { attr: "S" })
        );
    }
}
