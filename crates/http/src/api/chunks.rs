//! A response body sent as a sequence of shared byte chunks, with its exact length known up front.
//!
//! The virtual-server list is mostly views serialized once and shared (see [`super::views::ViewCache`]);
//! concatenating them would copy the whole page into a new buffer for every request, which for a page of
//! 1,000 virtual servers is megabytes per concurrent client. Chunks point at the cached bytes instead.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A body of chunks; `Content-Length` is their total length.
pub struct Chunks {
    parts: VecDeque<Bytes>,
    remaining: u64,
}

impl Chunks {
    pub fn with_capacity(parts: usize) -> Chunks {
        Chunks {
            parts: VecDeque::with_capacity(parts),
            remaining: 0,
        }
    }

    pub fn push(&mut self, part: Bytes) {
        if !part.is_empty() {
            self.remaining += part.len() as u64;
            self.parts.push_back(part);
        }
    }

    pub fn push_static(&mut self, part: &'static [u8]) {
        self.push(Bytes::from_static(part));
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        Poll::Ready(this.parts.pop_front().map(|part| {
            this.remaining -= part.len() as u64;
            Ok(Frame::data(part))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn yields_the_parts_in_order_with_their_exact_length() {
        let mut body = Chunks::with_capacity(4);
        body.push_static(b"{\"items\":[");
        body.push(Bytes::from_owner(std::sync::Arc::<[u8]>::from(&b"1"[..])));
        body.push_static(b"");
        body.push_static(b"]}");
        assert_eq!(body.size_hint().exact(), Some(13));
        let collected = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&collected[..], b"{\"items\":[1]}");
    }
}
