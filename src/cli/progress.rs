//! Progress bars on long runs: only on a terminal, only for large inputs, never in piped output.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Inputs smaller than this (in bytes) load and run without a progress bar.
pub const LARGE_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// A progress bar on standard error when it is a terminal and the inputs are large; hidden
/// otherwise (so that nothing is written to a file or a pipe).
pub fn bar(files: &[PathBuf], message: &'static str) -> ProgressBar {
    let bytes: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    if !std::io::stderr().is_terminal() || bytes < LARGE_INPUT_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}
