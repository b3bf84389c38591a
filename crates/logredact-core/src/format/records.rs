//! Runtime partial records: a container runtime cuts one long line of a container's output into
//! several records. CRI (`<time> <stdout|stderr> P <piece>` … `F <last piece>`) and Docker json-file
//! (a record whose `log` does not end in `\n` is continued by the next record of the same
//! `stream`, every 16 KiB).
//!
//! Owns: recognising such records (stream, where the message is, whether it is partial) and where
//! the records of a group (partial records of one stream and the record that ends them) begin.
//! Must never: decide what is secret, or change a record's envelope.

use std::ops::Range;
use std::sync::OnceLock;

use memchr::{memchr, memchr2, memmem};

use super::{cri, Format};

/// Number of record streams: CRI stdout, CRI stderr, Docker stdout, Docker stderr.
pub const STREAMS: usize = 4;

/// A runtime record recognised on a line (without its newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Which stream (`0..STREAMS`): records continue only records of the same stream.
    pub stream: usize,
    /// The message bytes: the CRI message, or the raw (escaped) content of Docker's `log` string.
    pub message: Range<usize>,
    /// Whether the next record of the same stream continues this one.
    pub partial: bool,
}

/// Whether `format` reads runtime records (and so reassembles partial ones).
pub fn reads_records(format: Format) -> bool {
    matches!(format, Format::Auto | Format::Cri | Format::Docker)
}

/// The record on `line`, when `format` reads that kind of record.
pub fn record(line: &[u8], format: Format) -> Option<Record> {
    if matches!(format, Format::Auto | Format::Cri) {
        if let Some(c) = cri::parse(line) {
            let stream = usize::from(line[..c.message_start].windows(8).any(|w| w == b" stderr "));
            return Some(Record {
                stream,
                message: c.message_start..line.len(),
                partial: c.partial,
            });
        }
    }
    if matches!(format, Format::Auto | Format::Docker) {
        return docker(line);
    }
    None
}

/// How records group, line by line: the one rule that both the stream (where a batch may end) and
/// the scan (which records it joins) follow, so batches cut by different reads join the same
/// groups. A record joins the open group of its stream (or opens one); a record that is not
/// partial ends it; and after each line, when the lines since groups began to overlap without a
/// break (from the first line of the oldest group still open, or of one that ended while another
/// was open, to the end of this line) reach `bound` bytes, every open group is closed there,
/// whatever follows. So no reader ever holds more than `bound` bytes plus one line for groups.
#[derive(Debug, Clone)]
pub struct Grouping {
    format: Format,
    bound: usize,
    /// Per stream: the start offset and index of the open group's first line.
    open: [Option<(usize, usize)>; STREAMS],
    /// The start of the first line since which some group has been open without a break.
    span_start: Option<usize>,
}

/// What [`Grouping::line`] made of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// The index of the first line of the group this line belongs to (its own when it opens one).
    pub group: Option<usize>,
    /// Whether a group was closed by the size bound after this line.
    pub bound_hit: bool,
}

impl Grouping {
    /// No group open; records of `format` are grouped up to `bound` bytes per group.
    pub fn new(format: Format, bound: usize) -> Self {
        Grouping {
            format,
            bound,
            open: [None; STREAMS],
            span_start: None,
        }
    }

    /// Places line number `index`, `line_start..next_start` of the text (its record `r`).
    pub fn line(
        &mut self,
        index: usize,
        r: Option<&Record>,
        line_start: usize,
        next_start: usize,
    ) -> Placed {
        let mut group = None;
        if let Some(r) = r {
            let (_, first) = *self.open[r.stream].get_or_insert((line_start, index));
            if r.partial || first != index {
                group = Some(first);
            }
            if !r.partial {
                self.open[r.stream] = None;
            }
        }
        // Measured from where groups began to overlap, not from each group's own start: groups
        // of different streams can chain (stdout opens, stderr opens, stdout ends and opens
        // again, ...), each shorter than `bound`, and hold back input without end.
        let overlap_start = self
            .open
            .iter()
            .flatten()
            .map(|&(start, _)| start)
            .chain(self.span_start)
            .min();
        let bound_hit = self.open.iter().any(Option::is_some)
            && overlap_start.is_some_and(|start| next_start - start >= self.bound);
        if bound_hit {
            // Every open group is cut here: a batch may end at this line.
            self.open = [None; STREAMS];
        }
        match (self.open.iter().any(Option::is_some), self.span_start) {
            (false, _) => self.span_start = None,
            (true, None) => self.span_start = Some(line_start),
            (true, Some(_)) => {}
        }
        Placed { group, bound_hit }
    }

    /// Where the groups still open began to overlap: the last point before them at which no
    /// group was open (groups of different streams may interleave).
    pub fn open_since(&self) -> Option<usize> {
        self.span_start
    }

    /// The line format whose records are grouped.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Where a batch of the whole lines `text` should end: after the first line at which the size
/// bound closed the groups, else where the groups still open at the end began (never inside a
/// group), else at the end.
pub fn settled_end(text: &[u8], format: Format, bound: usize) -> usize {
    if !reads_records(format) || !may_hold_partials(text, format) {
        return text.len();
    }
    let mut grouping = Grouping::new(format, bound);
    let mut start = 0;
    let mut index = 0;
    while start < text.len() {
        let end = memchr(b'\n', &text[start..]).map_or(text.len(), |p| start + p);
        let next = (end + 1).min(text.len());
        let r = record(&text[start..end], format);
        if grouping.line(index, r.as_ref(), start, next).bound_hit {
            return next;
        }
        start = end + 1;
        index += 1;
    }
    grouping.open_since().unwrap_or(text.len())
}

/// A cheap test: `false` only when `text` surely holds no partial record. Line by line, so that
/// one line's content never decides how another is read: a CRI line is looked at only when it
/// starts with a digit, a Docker record only where its `log` string ends (see
/// `surely_not_a_docker_partial`); what these cannot settle is parsed whole.
pub fn may_hold_partials(text: &[u8], format: Format) -> bool {
    let (cri, docker) = (
        matches!(format, Format::Auto | Format::Cri),
        matches!(format, Format::Auto | Format::Docker),
    );
    let mut start = 0;
    while start < text.len() {
        let end = memchr(b'\n', &text[start..]).map_or(text.len(), |p| start + p);
        let line = &text[start..end];
        let maybe = match line.first() {
            Some(b) if cri && b.is_ascii_digit() => cri::parse(line).is_some_and(|c| c.partial),
            Some(b'{') if docker && line.starts_with(DOCKER_OPEN) => {
                !surely_not_a_docker_partial(line)
                    && record(line, format).is_some_and(|r| r.partial)
            }
            _ => false,
        };
        if maybe {
            return true;
        }
        start = end + 1;
    }
    false
}

/// Whether `line` (which starts with [`DOCKER_OPEN`]) is surely no partial Docker record, told
/// from one SIMD search instead of walking its `log` string escape by escape: the first
/// `","stream":"` in it ends that string if the line is a record (inside the string every quote
/// is escaped, and the quote after that comma is not), so a string ending in an escaped `\n`
/// there means a whole record or no record. `false`: parse it to know.
fn surely_not_a_docker_partial(line: &[u8]) -> bool {
    static STREAM: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    let finder = STREAM.get_or_init(|| memmem::Finder::new(b"\",\"stream\":\""));
    let Some(end) = finder
        .find(&line[DOCKER_OPEN.len()..])
        .map(|p| DOCKER_OPEN.len() + p)
    else {
        return true; // no record has none
    };
    // The string ends in `n` after an odd run of backslashes (an escaped `\n`, and the quote
    // after it is not escaped).
    let backslashes = line[..end.saturating_sub(1)]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    end >= DOCKER_OPEN.len() + 2 && line[end - 1] == b'n' && backslashes % 2 == 1
}

const DOCKER_OPEN: &[u8] = b"{\"log\":\"";

/// A Docker json-file record as the daemon writes it: `{"log":"…","stream":"stdout|stderr",…
/// "time":"…"}`, `log` first. Anything else (other key order, other layout) is not a record here
/// and is searched as the line it is.
fn docker(line: &[u8]) -> Option<Record> {
    let rest = line.strip_prefix(DOCKER_OPEN)?;
    let content_start = DOCKER_OPEN.len();
    let mut i = 0;
    let mut ends_in_newline = false;
    let content_end = loop {
        let at = i + memchr2(b'"', b'\\', &rest[i..])?;
        if rest[at] == b'"' {
            break content_start + at;
        }
        ends_in_newline = rest.get(at + 1) == Some(&b'n') && rest.get(at + 2) == Some(&b'"');
        i = at + 2;
        if i > rest.len() {
            return None;
        }
    };
    let after = &line[content_end..];
    let stream = if after.starts_with(b"\",\"stream\":\"stdout\"") {
        2
    } else if after.starts_with(b"\",\"stream\":\"stderr\"") {
        3
    } else {
        return None;
    };
    // A static searcher: `memmem::find` builds one per call (~1 % of the realistic corpus's
    // instructions, summed over the per-line searches it served).
    static TIME: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    TIME.get_or_init(|| memmem::Finder::new(b"\"time\":\""))
        .find(after)?;
    Some(Record {
        stream,
        message: content_start..content_end,
        partial: !ends_in_newline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cri_records_and_their_streams() {
        let r = record(b"2024-05-01T10:00:00.1Z stderr P abc", Format::Cri).unwrap();
        assert_eq!((r.stream, r.partial), (1, true));
        assert_eq!(r.message, 32..35);
        let r = record(b"2024-05-01T10:00:00.1Z stdout F abc", Format::Auto).unwrap();
        assert_eq!((r.stream, r.partial), (0, false));
        assert!(record(b"2024-05-01T10:00:00.1Z stdout P abc", Format::Docker).is_none());
        assert!(record(b"2024-05-01T10:00:00.1Z stdout P abc", Format::Text).is_none());
    }

    #[test]
    fn docker_records_partial_unless_log_ends_in_a_newline() {
        let full = br#"{"log":"a \"q\" b\n","stream":"stdout","time":"2024-05-01T10:00:00Z"}"#;
        let r = record(full, Format::Docker).unwrap();
        assert_eq!((r.stream, r.partial), (2, false));
        assert_eq!(&full[r.message.clone()], br#"a \"q\" b\n"#);
        let part = br#"{"log":"abc","stream":"stderr","time":"2024-05-01T10:00:00Z"}"#;
        let r = record(part, Format::Auto).unwrap();
        assert_eq!((r.stream, r.partial), (3, true));
        // An escaped backslash before `n` is not a newline.
        let bs = br#"{"log":"a\\n","stream":"stdout","time":"t"}"#;
        assert!(record(bs, Format::Docker).unwrap().partial);
        for not in [
            &br#"{"log":"abc","time":"t"}"#[..],
            br#"{"stream":"stdout","log":"abc","time":"t"}"#,
            br#"{"log":"abc"#,
            br#"{"log":"abc\"#,
        ] {
            assert_eq!(record(not, Format::Docker), None);
        }
    }

    #[test]
    fn open_groups_are_found_per_stream_and_closed_at_the_bound() {
        let t = b"2024-05-01T10:00:00.1Z stdout P a\n2024-05-01T10:00:00.1Z stderr F b\n";
        assert_eq!(settled_end(t, Format::Cri, 1000), 0);
        let t2 = [&t[..], b"2024-05-01T10:00:00.1Z stdout F c\n"].concat();
        assert_eq!(settled_end(&t2, Format::Cri, 1000), t2.len());
        assert_eq!(settled_end(b"plain\ntext\n", Format::Auto, 1000), 11);
        // Bound 60: the group is closed after the second line (68 bytes from its start).
        assert_eq!(settled_end(&t2, Format::Cri, 60), 68);
        // A group of another stream that opens inside a group and is still open: the cut is
        // before both.
        let t3 = [&t2[..], b"2024-05-01T10:00:00.1Z stderr P d\n"].concat();
        let t4 = [
            &t[..],
            b"2024-05-01T10:00:00.1Z stderr P d\n2024-05-01T10:00:00.1Z stdout F c\n",
        ]
        .concat();
        assert_eq!(settled_end(&t3, Format::Cri, 1000), t2.len());
        assert_eq!(settled_end(&t4, Format::Cri, 1000), 0);
    }

    proptest::proptest! {
        /// The cheap test never misses a partial record: it answers what parsing every line
        /// answers, for Docker and CRI lines with random escapes and endings.
        #[test]
        fn the_cheap_test_agrees_with_parsing_every_line(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    r#"\{"log":"([a-z"\\]|\\[n"\\]){0,12}","stream":"std(out|err)"(,"time":"t")?(,"attrs":\{"stream":"x\\n"\})?\}"#,
                    "2024-05-01T10:00:00.1Z std(out|err) [PF]( [a-z ]{0,5})?",
                    "[a-z0-9 {}\"]{0,20}",
                ],
                0..6,
            )
        ) {
            let text = lines.join("\n");
            for format in [Format::Auto, Format::Docker, Format::Cri, Format::Text] {
                let parsed = reads_records(format)
                    && text.split('\n').any(|l| record(l.as_bytes(), format).is_some_and(|r| r.partial));
                proptest::prop_assert_eq!(reads_records(format) && may_hold_partials(text.as_bytes(), format), parsed);
            }
        }
    }

    /// Groups of two streams that take turns, each shorter than the bound, never all closed at
    /// once: the bound counts from where they began to overlap, so what a reader holds for them
    /// stays bounded (a stream that held it all once ran out of room and took that for the end
    /// of its input).
    #[test]
    fn groups_that_chain_across_streams_are_cut_at_the_bound() {
        let line = |stream: &str, tag: &str| format!("2024-05-01T10:00:00.1Z {stream} {tag} x\n");
        let mut chain = line("stdout", "P");
        for _ in 0..50 {
            chain += &line("stderr", "P");
            chain += &line("stdout", "F");
            chain += &line("stdout", "P");
            chain += &line("stderr", "F");
        }
        let line_len = line("stdout", "P").len();
        let cut = settled_end(chain.as_bytes(), Format::Cri, 10 * line_len);
        assert!(
            cut > 0,
            "held {} bytes for groups bounded at {}",
            chain.len(),
            10 * line_len
        );
        assert!(cut <= 11 * line_len, "cut at {cut}");
        assert_eq!(chain.as_bytes()[cut - 1], b'\n');
    }
}
