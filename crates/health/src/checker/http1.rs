//! A small, strict HTTP/1.x client for health checks: one `GET` per connection (`Connection: close`).
//!
//! It writes the request line and `Host`, reads the status line and headers (64 KiB at most), and reads the
//! body by `Content-Length`, chunked transfer coding (decoded; trailers skipped) or until the server closes,
//! never more than the cap it is given. Interim `1xx` responses are skipped. Anything that is not HTTP/1.x
//! is an error naming what was wrong.

use super::CheckError;
use std::io;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Largest status line plus headers accepted.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The HTTP version of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// The bytes of a `GET path` request to `host`.
pub fn request(path: &str, host: &str, version: Version) -> Vec<u8> {
    format!(
        "GET {path} {}\r\nHost: {host}\r\nUser-Agent: director-health\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        version.as_str()
    )
    .into_bytes()
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// 204, 304: no body.
    Empty,
    Length(u64),
    Chunked,
    /// No length given: the body ends when the server closes the connection.
    UntilClose,
}

/// The status line and headers of a final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
}

fn bad(msg: impl Into<String>) -> CheckError {
    CheckError::Protocol(msg.into())
}

/// Reads one line (without its CR LF or bare LF) into `line`, counting against `budget`.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
    budget: &mut usize,
    what: &str,
) -> Result<(), CheckError> {
    line.clear();
    loop {
        let buf = r.fill_buf().await.map_err(|e| read_error(&e))?;
        if buf.is_empty() {
            return Err(if line.is_empty() {
                bad(format!("connection closed before the {what}"))
            } else {
                bad(format!("connection closed in the {what}"))
            });
        }
        let (take, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if take > *budget {
            return Err(bad(format!("{what} longer than {MAX_HEAD_BYTES} bytes")));
        }
        *budget -= take;
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(());
        }
    }
}

fn read_error(e: &io::Error) -> CheckError {
    CheckError::io("read", e)
}

/// Parses `HTTP/1.x SSS reason`.
fn parse_status_line(line: &[u8]) -> Result<u16, CheckError> {
    let shown = || String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
    let rest = line
        .strip_prefix(b"HTTP/1.")
        .filter(|r| r.first().is_some_and(u8::is_ascii_digit))
        .ok_or_else(|| bad(format!("not an HTTP/1.x status line: {:?}", shown())))?;
    let rest = &rest[1..];
    let code = rest
        .strip_prefix(b" ")
        .filter(|r| r.len() >= 3 && r[..3].iter().all(u8::is_ascii_digit))
        .filter(|r| r.len() == 3 || r[3] == b' ')
        .ok_or_else(|| bad(format!("malformed status line: {:?}", shown())))?;
    let status = u16::from(code[0] - b'0') * 100
        + u16::from(code[1] - b'0') * 10
        + u16::from(code[2] - b'0');
    if !(100..=599).contains(&status) {
        return Err(bad(format!("status code {status} out of range")));
    }
    Ok(status)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `Name: value` into the name and the trimmed value.
fn parse_header(line: &[u8]) -> Result<(&[u8], &[u8]), CheckError> {
    if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return Err(bad("folded header line"));
    }
    let colon = line.iter().position(|b| *b == b':').ok_or_else(|| {
        bad(format!(
            "header line without a colon: {:?}",
            String::from_utf8_lossy(line)
        ))
    })?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().copied().all(is_token_byte) {
        return Err(bad(format!(
            "invalid header name {:?}",
            String::from_utf8_lossy(name)
        )));
    }
    Ok((name, line[colon + 1..].trim_ascii()))
}

/// Reads the status line and headers of the final response (interim 1xx responses are skipped).
pub async fn read_head<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<Head, CheckError> {
    let mut line = Vec::with_capacity(256);
    let mut budget = MAX_HEAD_BYTES;
    loop {
        read_line(r, &mut line, &mut budget, "status line").await?;
        let status = parse_status_line(&line)?;
        if status == 101 {
            return Err(bad("unexpected 101 switching protocols"));
        }
        let mut length: Option<u64> = None;
        let mut transfer_encoding: Option<Vec<u8>> = None;
        loop {
            read_line(r, &mut line, &mut budget, "headers").await?;
            if line.is_empty() {
                break;
            }
            let (name, value) = parse_header(&line)?;
            if name.eq_ignore_ascii_case(b"content-length") {
                // `5` or a list of identical values, `5, 5`.
                for part in value.split(|b| *b == b',') {
                    let n = parse_length(part.trim_ascii())?;
                    if length.is_some_and(|l| l != n) {
                        return Err(bad("conflicting Content-Length headers"));
                    }
                    length = Some(n);
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                let te = transfer_encoding.get_or_insert_with(Vec::new);
                if !te.is_empty() {
                    te.push(b',');
                }
                te.extend_from_slice(value);
            }
        }
        if (100..200).contains(&status) {
            continue;
        }
        let framing = if status == 204 || status == 304 {
            Framing::Empty
        } else if let Some(te) = transfer_encoding {
            // The last coding decides; a response whose last coding is not chunked ends at close.
            let last = te
                .rsplit(|b| *b == b',')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            if last.eq_ignore_ascii_case(b"chunked") {
                Framing::Chunked
            } else {
                Framing::UntilClose
            }
        } else if let Some(n) = length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        return Ok(Head { status, framing });
    }
}

fn parse_length(s: &[u8]) -> Result<u64, CheckError> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return Err(bad(format!(
            "invalid Content-Length {:?}",
            String::from_utf8_lossy(s)
        )));
    }
    Ok(s.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Reads the body of a response framed by `framing`, failing with [`CheckError::BodyTooLarge`] past `max`
/// bytes. An abrupt end (a TLS stream closed without close_notify) counts as the close that ends an
/// [`Framing::UntilClose`] body, as browsers do.
pub async fn read_body<R: AsyncBufRead + Unpin>(
    r: &mut R,
    framing: Framing,
    max: usize,
) -> Result<Vec<u8>, CheckError> {
    let mut body = Vec::new();
    match framing {
        Framing::Empty => {}
        Framing::Length(n) => {
            if n > max as u64 {
                return Err(CheckError::BodyTooLarge(max));
            }
            read_exact_body(r, &mut body, n as usize).await?;
        }
        Framing::Chunked => read_chunked(r, &mut body, max).await?,
        Framing::UntilClose => {
            let mut limited = r.take(max as u64 + 1);
            match limited.read_to_end(&mut body).await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
                Err(e) => return Err(read_error(&e)),
            }
            if body.len() > max {
                return Err(CheckError::BodyTooLarge(max));
            }
        }
    }
    Ok(body)
}

async fn read_exact_body<R: AsyncBufRead + Unpin>(
    r: &mut R,
    body: &mut Vec<u8>,
    n: usize,
) -> Result<(), CheckError> {
    let start = body.len();
    let want = start + n;
    while body.len() < want {
        let buf = r.fill_buf().await.map_err(|e| read_error(&e))?;
        if buf.is_empty() {
            return Err(bad(format!(
                "connection closed after {} of {n} body bytes",
                body.len() - start
            )));
        }
        let take = buf.len().min(want - body.len());
        body.extend_from_slice(&buf[..take]);
        r.consume(take);
    }
    Ok(())
}

async fn read_chunked<R: AsyncBufRead + Unpin>(
    r: &mut R,
    body: &mut Vec<u8>,
    max: usize,
) -> Result<(), CheckError> {
    let mut line = Vec::with_capacity(32);
    // Chunk-size lines and trailers have their own budget, separate from the body's.
    let mut budget = MAX_HEAD_BYTES;
    loop {
        read_line(r, &mut line, &mut budget, "chunk size").await?;
        let size_part = line
            .split(|b| *b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let size = parse_chunk_size(size_part)?;
        if size == 0 {
            break;
        }
        if size > (max - body.len()) as u64 {
            return Err(CheckError::BodyTooLarge(max));
        }
        read_exact_body(r, body, size as usize).await?;
        read_line(r, &mut line, &mut budget, "chunk end").await?;
        if !line.is_empty() {
            return Err(bad("chunk data longer than its size"));
        }
    }
    // Trailers, up to the empty line.
    loop {
        read_line(r, &mut line, &mut budget, "trailers").await?;
        if line.is_empty() {
            return Ok(());
        }
        parse_header(&line)?;
    }
}

fn parse_chunk_size(s: &[u8]) -> Result<u64, CheckError> {
    if s.is_empty() || s.len() > 15 || !s.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad(format!(
            "invalid chunk size {:?}",
            String::from_utf8_lossy(s)
        )));
    }
    Ok(s.iter().fold(0u64, |n, d| {
        n * 16 + u64::from((*d as char).to_digit(16).unwrap_or(0))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn parse(raw: &[u8], max: usize) -> Result<(u16, Vec<u8>), CheckError> {
        let mut r = BufReader::new(raw);
        let head = read_head(&mut r).await?;
        let body = read_body(&mut r, head.framing, max).await?;
        Ok((head.status, body))
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn request_has_host_and_connection_close() {
        let r =
            String::from_utf8(request("/health?x=1", "www.example.com", Version::Http11)).unwrap();
        assert!(r.starts_with("GET /health?x=1 HTTP/1.1\r\nHost: www.example.com\r\n"));
        assert!(r.contains("\r\nConnection: close\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
        let r = String::from_utf8(request("/", "10.0.0.1:80", Version::Http10)).unwrap();
        assert!(r.starts_with("GET / HTTP/1.0\r\nHost: 10.0.0.1:80\r\n"));
    }

    #[test]
    fn framings() {
        rt().block_on(async {
            let ok = |raw: &'static str| async move { parse(raw.as_bytes(), 1024).await.unwrap() };
            assert_eq!(
                ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA").await,
                (200, b"hello".to_vec())
            );
            assert_eq!(
                ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n").await,
                (200, b"hello world".to_vec())
            );
            assert_eq!(ok("HTTP/1.0 200 OK\r\n\r\nuntil close").await, (200, b"until close".to_vec()));
            // Bare LF line ends are tolerated.
            assert_eq!(ok("HTTP/1.1 503 Busy\nContent-Length: 2\n\nno").await, (503, b"no".to_vec()));
            assert_eq!(ok("HTTP/1.1 204 No Content\r\n\r\nignored").await, (204, vec![]));
            // A reason phrase is optional; interim responses are skipped.
            assert_eq!(
                ok("HTTP/1.1 100\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await,
                (404, vec![])
            );
            // Transfer-Encoding wins over Content-Length; identical repeated lengths are accepted.
            assert_eq!(
                ok("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n").await,
                (200, b"ab".to_vec())
            );
            assert_eq!(
                ok("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\ncontent-length: 2\r\n\r\nab").await,
                (200, b"ab".to_vec())
            );
        });
    }

    #[test]
    fn strictness() {
        rt().block_on(async {
            let err = |raw: &'static str| async move {
                parse(raw.as_bytes(), 16).await.unwrap_err().to_string()
            };
            assert_eq!(
                err("").await,
                "bad response: connection closed before the status line"
            );
            assert!(err("SSH-2.0-OpenSSH_9.2\r\n")
                .await
                .contains("not an HTTP/1.x status line"));
            assert!(err("HTTP/2 200\r\n\r\n")
                .await
                .contains("not an HTTP/1.x status line"));
            assert!(err("HTTP/1.1 20 OK\r\n\r\n")
                .await
                .contains("malformed status line"));
            assert!(err("HTTP/1.1 2000 OK\r\n\r\n")
                .await
                .contains("malformed status line"));
            assert!(err("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n")
                .await
                .contains("without a colon"));
            assert!(err("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n")
                .await
                .contains("invalid header name"));
            assert!(err("HTTP/1.1 200 OK\r\nA: b\r\n  folded\r\n\r\n")
                .await
                .contains("folded"));
            assert!(err("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")
                .await
                .contains("invalid Content-Length"));
            assert!(
                err("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
                    .await
                    .contains("conflicting")
            );
            assert_eq!(
                err("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").await,
                "bad response: connection closed after 3 of 10 body bytes"
            );
            assert!(
                err("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                    .await
                    .contains("invalid chunk size")
            );
            assert!(err(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n"
            )
            .await
            .contains("longer than its size"));
            assert!(err("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n")
                .await
                .contains("connection closed before the headers"));
            assert!(err("HTTP/1.1 101 Switching Protocols\r\n\r\n")
                .await
                .contains("101"));
        });
    }

    #[test]
    fn body_cap_applies_to_every_framing() {
        rt().block_on(async {
            let too_large = |raw: &'static str| async move { parse(raw.as_bytes(), 4).await.unwrap_err() };
            assert_eq!(too_large("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await, CheckError::BodyTooLarge(4));
            assert_eq!(
                too_large("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").await,
                CheckError::BodyTooLarge(4)
            );
            assert_eq!(too_large("HTTP/1.0 200 OK\r\n\r\nhello").await, CheckError::BodyTooLarge(4));
            // Exactly the cap is fine.
            assert_eq!(parse(b"HTTP/1.0 200 OK\r\n\r\nhell", 4).await.unwrap().1, b"hell");
        });
    }

    #[test]
    fn head_size_is_capped() {
        rt().block_on(async {
            let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
            while raw.len() <= MAX_HEAD_BYTES {
                raw.extend_from_slice(
                    b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                );
            }
            raw.extend_from_slice(b"\r\n");
            let e = parse(&raw, 16).await.unwrap_err().to_string();
            assert!(e.contains("longer than 65536 bytes"), "{e}");
        });
    }
}
