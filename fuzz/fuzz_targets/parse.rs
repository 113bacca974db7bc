//! `syntax::parse` on arbitrary UTF-8: must return an AST and diagnostics, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dealrules::syntax::parse(dealrules::diag::FileId::new(0), text);
    }
});
