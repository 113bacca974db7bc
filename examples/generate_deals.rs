//! Writes a synthetic deal file (or CSV table) from the seeded generator of the benchmarks.
//!
//! ```text
//! cargo run --release --example generate_deals -- --deals 1000000 --seed 1 --out deals-1m.deals
//! cargo run --release --example generate_deals -- --deals 10000 --seed 1 --out deals.csv --csv
//! ```
//!
//! The same sizes and seed always give the same file. Printed to standard error: what was
//! planted (vendor-financing pairs and cycles), so that the findings can be checked.
#![allow(
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a generator for benchmarks: bad sizes stop it with a message"
)]

#[allow(
    dead_code,
    reason = "not every helper of the shared generator is used here"
)]
#[path = "../benches/support/generate.rs"]
mod generate;

use clap::Parser;
use std::process::ExitCode;

/// Writes a synthetic deal file from a seed.
#[derive(Parser)]
struct Args {
    /// Deals in all, planted ones included.
    #[arg(long, default_value_t = 10_000)]
    deals: usize,
    /// Entities in all (default: a fifth of the deals, at least 50).
    #[arg(long)]
    entities: Option<usize>,
    /// The seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Planted vendor-financing pairs (default: one per 1,000 deals, at least 5).
    #[arg(long)]
    vendor_pairs: Option<usize>,
    /// Planted cycles of 2 to 5 hops (default: one per 1,000 deals, at least 5).
    #[arg(long)]
    cycles: Option<usize>,
    /// The file to write.
    #[arg(long)]
    out: std::path::PathBuf,
    /// Write a CSV table (docs/inputs.md) instead of a deal file.
    #[arg(long)]
    csv: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = generate::Config::new(args.deals, args.seed);
    if let Some(n) = args.entities {
        config.entities = n;
    }
    if let Some(n) = args.vendor_pairs {
        config.vendor_pairs = n;
    }
    if let Some(n) = args.cycles {
        config.cycles = n;
    }
    if config.entities < config.planted_entities() + 10 {
        eprintln!(
            "error: --entities must be at least {} for the planted structures (vendor-financing pairs and cycles)",
            config.planted_entities() + 10
        );
        return ExitCode::from(2);
    }
    if config.deals <= config.planted_deals() {
        eprintln!(
            "error: --deals must be more than {}, the deals the planted structures take",
            config.planted_deals()
        );
        return ExitCode::from(2);
    }
    let data = generate::generate(&config);
    let text = if args.csv {
        data.to_csv()
    } else {
        data.to_deals()
    };
    if let Err(e) = std::fs::write(&args.out, text.as_bytes()) {
        eprintln!("error: cannot write `{}`: {e}", args.out.display());
        return ExitCode::from(2);
    }
    eprintln!(
        "{}: {} entities, {} deals, {} bytes; planted {} vendor-financing pairs, {} cycles of 2-5 hops, {} cycles of 6 hops",
        args.out.display(),
        data.entities.len(),
        data.deals.len(),
        text.len(),
        data.vendor_pairs.len(),
        data.cycles.len(),
        config.long_cycles,
    );
    ExitCode::SUCCESS
}
