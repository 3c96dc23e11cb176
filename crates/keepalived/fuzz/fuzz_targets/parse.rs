//! Fuzz target: the parser never panics, and whatever it accepts writes back and reads
//! back the same.
//!
//! Run with `cargo +nightly fuzz run parse` from `crates/keepalived`.

#![no_main]

use director_keepalived::{parse_str, write};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(parsed) = parse_str("fuzz.conf", &text) {
        let written = write(&parsed.config).expect("a parsed configuration must be writable");
        let again = parse_str("written.conf", &written).expect("written text must parse");
        assert_eq!(again.config, parsed.config);
    }
});
