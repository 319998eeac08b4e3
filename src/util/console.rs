//! What the run prints on stderr besides its report: how chatty it may be (`-q`, `-v`, set once
//! by the binary) and the progress bars, shown only on a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicI8, Ordering};

/// -1 quiet, 0 normal, 1+ the number of `-v`.
static LEVEL: AtomicI8 = AtomicI8::new(0);

/// Set the verbosity from the flags (`-q` wins).
pub fn set_level(quiet: bool, verbose: u8) {
    let level = if quiet {
        -1
    } else {
        i8::try_from(verbose).unwrap_or(i8::MAX)
    };
    LEVEL.store(level, Ordering::Relaxed);
}

/// True with `-v`: a line per object and file, also off a terminal.
pub fn verbose() -> bool {
    LEVEL.load(Ordering::Relaxed) > 0
}

/// True with `-q`.
pub fn quiet() -> bool {
    LEVEL.load(Ordering::Relaxed) < 0
}

/// A progress bar of `total` steps on stderr, prefixed `prefix`: only on a terminal and
/// without `-q` (a CI log gets the stage lines instead).
pub fn bar(total: usize, prefix: &str) -> Option<indicatif::ProgressBar> {
    if quiet() || total == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    let style =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(prefix.to_string());
    Some(bar)
}
