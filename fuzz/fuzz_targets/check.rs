//! Arbitrary text loaded as a rule file next to a fixed small deal file, then checked and
//! evaluated: every outcome is a `LoadError` or a `Report`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const DEALS: &str = include_str!("../fixed/small.deals");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut engine = dealrules::Engine::new();
    if engine.load("small.deals", DEALS).is_err() {
        return;
    }
    // Small budgets keep each input fast; a budget stop is an evaluation error, not a hang.
    engine.set_budgets(dealrules::eval::Budgets {
        max_combinations: 200_000,
        max_results: 10_000,
        max_derived_rows: 10_000,
        max_cycle_steps: 200_000,
    });
    // Declarations that load are kept even when others in the file do not.
    let _ = engine.load("fuzz.rules", text);
    let _ = engine.evaluate();
});
