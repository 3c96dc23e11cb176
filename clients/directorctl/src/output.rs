//! Writing results: aligned tables and `key: value` lines for people, JSON for programs. A closed standard
//! output (`directorctl list vs | head -1`) ends the command quietly.

use crate::failure::Failure;
use serde_json::Value;
use std::io::Write;

/// Writes `text` and a newline to standard output.
pub fn line(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => Failure::Closed,
            _ => Failure::Internal(format!("writing the output: {e}")),
        })
}

/// Pretty JSON.
pub fn json(value: &Value) -> Result<(), Failure> {
    line(&serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()))
}

/// One JSON document on one line (for streams).
pub fn json_line(value: &Value) -> Result<(), Failure> {
    line(&value.to_string())
}

/// Columns padded to their widest cell; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> Result<(), Failure> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c.to_string()
                } else {
                    format!("{c:<width$}", width = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    line(&render(headers.to_vec()))?;
    for row in rows {
        line(&render(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// `key: value` lines, keys aligned.
pub fn fields(pairs: &[(&str, String)]) -> Result<(), Failure> {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    for (k, v) in pairs {
        line(&format!("{:<width$} {v}", format!("{k}:")))?;
    }
    Ok(())
}

/// A JSON value as a table cell: strings bare, absent as `-`, lists comma-separated.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) if s.is_empty() => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".to_string(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// `tcp 192.168.10.180:80`, `tcp [2001:db8::1]:80`, `fwmark 7 (inet)`.
pub fn service(vs: &Value) -> String {
    if let Some(mark) = vs["fwmark"].as_u64() {
        return format!(
            "fwmark {mark} ({})",
            vs["family"].as_str().unwrap_or("inet")
        );
    }
    let address = vs["address"].as_str().unwrap_or("?");
    let address = if address.contains(':') {
        format!("[{address}]")
    } else {
        address.to_string()
    };
    format!(
        "{} {address}:{}",
        vs["protocol"].as_str().unwrap_or("?"),
        cell(&vs["port"])
    )
}

/// `10.0.1.1:80`, `[2001:db8::1]:80`.
pub fn endpoint(rs: &Value) -> String {
    let address = rs["address"].as_str().unwrap_or("?");
    if address.contains(':') {
        format!("[{address}]:{}", cell(&rs["port"]))
    } else {
        format!("{address}:{}", cell(&rs["port"]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn services_and_endpoints() {
        assert_eq!(
            service(&json!({"protocol": "tcp", "address": "10.0.0.1", "port": 80})),
            "tcp 10.0.0.1:80"
        );
        assert_eq!(
            service(&json!({"protocol": "udp", "address": "2001:db8::1", "port": 53})),
            "udp [2001:db8::1]:53"
        );
        assert_eq!(
            service(&json!({"fwmark": 7, "family": "inet6"})),
            "fwmark 7 (inet6)"
        );
        assert_eq!(
            endpoint(&json!({"address": "2001:db8::2", "port": 80})),
            "[2001:db8::2]:80"
        );
        assert_eq!(cell(&json!(["a", "b"])), "a,b");
        assert_eq!(cell(&Value::Null), "-");
    }
}
