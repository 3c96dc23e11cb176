//! The property the fuzz target checks, callable from stable Rust too (`tests/fuzz.rs` runs it on
//! mutated corpus files in every test run; `fuzz/` runs it under libFuzzer with `cargo +nightly fuzz`).

use crate::{parse_str, write};

/// Parses `data`; whatever parses must write back to text that parses to the same configuration.
/// Returns what went wrong, or `Ok` (also when the input is refused with an error, as it should be).
/// A panic inside is a bug the caller reports.
pub fn round_trip(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let Ok(parsed) = parse_str("fuzz.conf", &text) else {
        return Ok(());
    };
    let written = write(&parsed.config)
        .map_err(|e| format!("a parsed configuration must be writable: {e}"))?;
    let again = parse_str("written.conf", &written)
        .map_err(|e| format!("written text must parse: {e}\n{written}"))?;
    if again.config != parsed.config {
        return Err(format!("written text reads back differently:\n{written}"));
    }
    Ok(())
}
