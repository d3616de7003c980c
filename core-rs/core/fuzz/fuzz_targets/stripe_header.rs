#![no_main]
// Filled by the area that owns this parser.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|_data: &[u8]| {});
