//! Fuzz target: the parser never panics, and whatever it accepts writes back and reads
//! back the same (`director_keepalived::fuzz::round_trip`, which `tests/fuzz.rs` also runs on stable).
//!
//! Run with `cargo +nightly fuzz run parse` from `crates/keepalived`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = director_keepalived::fuzz::round_trip(data) {
        panic!("{violation}");
    }
});
