//! A fixed rule set (copied from `rules/`) over arbitrary text loaded as a deal file.
#![no_main]

use libfuzzer_sys::fuzz_target;

const RULES: &str = include_str!("../fixed/pack.rules");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut engine = dealrules::Engine::new();
    if engine.load("pack.rules", RULES).is_err() {
        return;
    }
    engine.set_budgets(dealrules::eval::Budgets {
        max_combinations: 200_000,
        max_results: 10_000,
        max_derived_rows: 10_000,
        max_cycle_steps: 200_000,
    });
    let _ = engine.load("fuzz.deals", text);
    let _ = engine.evaluate();
});
