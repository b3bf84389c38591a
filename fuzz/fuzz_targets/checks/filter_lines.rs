//! Arbitrary bytes through `stream::run` with the built-in rules, small and irregular reads:
//! the line count is kept, output equals input when no line changed, reads of any size give the
//! same output, and filtering twice changes nothing more.

use crate::support::{filter, newlines, run_stream};
use logredact::format::Format;

/// Below every line the target builds, so the read size is the only thing varied here.
const WHOLE: usize = 1 << 20;

/// The target's invariants on one input (panics name the invariant, never input text).
pub fn run(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let format =
        [Format::Auto, Format::Text, Format::Docker, Format::Cri][usize::from(data[0] % 4)];
    let n_sizes = usize::from(data[1] % 8);
    if data.len() < 2 + n_sizes {
        return;
    }
    let (sizes, input) = data[2..].split_at(n_sizes);
    let filter = filter(format);

    let (out, stats) = run_stream(filter, input, sizes, WHOLE);
    assert!(newlines(&out) == newlines(input), "line count changed");
    if stats.lines_changed == 0 {
        assert!(out == input, "no line changed, yet output differs");
    } else {
        assert!(
            out != input,
            "lines counted as changed, yet output is the input"
        );
    }

    let (in_one_read, _) = run_stream(filter, input, &[], WHOLE);
    assert!(out == in_one_read, "output depends on read sizes");

    let (again, again_stats) = run_stream(filter, &out, sizes, WHOLE);
    assert!(again == out, "filtering twice changed more");
    assert!(
        again_stats.lines_changed == 0,
        "second pass counted changes"
    );
}
