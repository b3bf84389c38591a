//! The joined view of runtime partial records: a batch in which every group of partial records
//! (CRI `P…F`, Docker records whose `log` lacks its final `\n`; see `format::records`) is one
//! logical line — the first record's envelope around all the group's messages — so a secret the
//! runtime cut in two is searched whole, and a private-key armour line cut in two opens its block.
//!
//! Owns: building that view from a batch and putting redacted output back into the records' own
//! framing (every record keeps its envelope byte for byte; a replacement that spans records is
//! written whole into the record where the secret starts and the rest of the secret is dropped from
//! the records after it). Must never: add, drop or reorder records, or touch an envelope.

use std::ops::Range;

use memchr::memchr;

use crate::format::records::{self, Record};
use crate::format::Format;

/// Ends a group's list of members in [`Joined::build`].
const NO_MEMBER: usize = usize::MAX;

/// A batch with its groups of partial records joined (see the module doc).
#[derive(Debug, Default)]
pub struct Joined {
    /// The logical text: the batch with each group as one line.
    text: Vec<u8>,
    /// Where each line of the batch is in `text`, in batch order.
    lines: Vec<Source>,
    active: bool,
}

#[derive(Debug, Clone)]
enum Source {
    /// A line that is no member of a group: copied as it is; `from` is where it starts in the
    /// batch.
    Copy {
        joined: Range<usize>,
        from: usize,
        newline: bool,
    },
    /// A record of a group.
    Member {
        line: Range<usize>,
        message: Range<usize>,
        /// Its message inside the logical line.
        joined: Range<usize>,
        /// For the group's first record: the whole logical line, and where its messages end.
        first: Option<(Range<usize>, usize)>,
        newline: bool,
    },
}

impl Joined {
    /// Whether the last [`Joined::build`] joined anything (else the batch is its own view).
    pub fn is_active(&self) -> bool {
        self.active
    }

    pub(super) fn deactivate(&mut self) {
        self.active = false;
    }

    /// The joined view: each group's messages as one line, other lines as they are.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// Builds the joined view of `batch` (whole lines) when it holds a group of two or more
    /// records (grouped by `format::records::Grouping` with the size `bound`); returns whether
    /// it did.
    pub fn build(&mut self, batch: &[u8], format: Format, bound: usize) -> bool {
        self.active = false;
        self.text.clear();
        self.lines.clear();
        if !records::reads_records(format) || !records::may_hold_partials(batch, format) {
            return false;
        }
        // Pass 1: the records, and which group each belongs to.
        let mut found: Vec<(Range<usize>, Option<Record>, bool)> = Vec::new();
        let mut start = 0;
        while start < batch.len() {
            let nl = memchr(b'\n', &batch[start..]).map(|p| start + p);
            let end = nl.unwrap_or(batch.len());
            let r = records::record(&batch[start..end], format);
            found.push((start..end, r, nl.is_some()));
            start = end + 1;
        }
        // Group id per line: lines of one group share the index of the group's first line.
        let mut grouping = records::Grouping::new(format, bound);
        let mut group_of: Vec<Option<usize>> = vec![None; found.len()];
        let mut members = vec![0usize; found.len()];
        // Each group's members as a list in batch order (`next_member`, ended by `NO_MEMBER`;
        // `last_member` is indexed by the group), so writing a group visits its own members
        // only: a scan to the batch's end per group was quadratic in a batch of short `P`/`F`
        // pairs (12 MB/s against 130 for the same lines all `F`).
        let mut next_member = vec![NO_MEMBER; found.len()];
        let mut last_member = vec![NO_MEMBER; found.len()];
        for (i, (line, r, newline)) in found.iter().enumerate() {
            let next = line.end + usize::from(*newline);
            let placed = grouping.line(i, r.as_ref(), line.start, next);
            if let Some(first) = placed.group {
                group_of[i] = Some(first);
                members[first] += 1;
                if let Some(&prev) = last_member.get(first).filter(|&&p| p != NO_MEMBER) {
                    next_member[prev] = i;
                }
                last_member[first] = i;
            }
        }
        if !members.iter().any(|&m| m >= 2) {
            return false;
        }
        // Pass 2: the logical text. A group is written where its first record is. The text is
        // never longer than the batch and a newline: reserved exactly, not doubled.
        self.text.reserve_exact(batch.len() + 1);
        self.lines.reserve_exact(found.len());
        let mut member_at: Vec<usize> = vec![0; found.len()];
        for (i, (line, r, newline)) in found.iter().enumerate() {
            let grouped = group_of[i].filter(|&g| members[g] >= 2);
            let (Some(g), Some(r)) = (grouped, r) else {
                let at = self.text.len();
                self.text.extend_from_slice(&batch[line.clone()]);
                self.lines.push(Source::Copy {
                    joined: at..self.text.len(),
                    from: line.start,
                    newline: *newline,
                });
                self.text.push(b'\n');
                continue;
            };
            if g != i {
                // Placed while writing the group's first record.
                let joined = member_at[i]..member_at[i] + r.message.len();
                self.lines.push(Source::Member {
                    line: line.clone(),
                    message: line.start + r.message.start..line.start + r.message.end,
                    joined,
                    first: None,
                    newline: *newline,
                });
                continue;
            }
            let line_at = self.text.len();
            self.text
                .extend_from_slice(&batch[line.start..line.start + r.message.start]);
            let mut j = i;
            while j != NO_MEMBER {
                let (other, ro, _) = &found[j];
                if let Some(ro) = ro {
                    member_at[j] = self.text.len();
                    self.text.extend_from_slice(
                        &batch[other.start + ro.message.start..other.start + ro.message.end],
                    );
                }
                j = next_member[j];
            }
            let messages_end = self.text.len();
            self.text
                .extend_from_slice(&batch[line.start + r.message.end..line.end]);
            self.lines.push(Source::Member {
                line: line.clone(),
                message: line.start + r.message.start..line.start + r.message.end,
                joined: member_at[i]..member_at[i] + r.message.len(),
                first: Some((line_at..self.text.len(), messages_end)),
                newline: *newline,
            });
            self.text.push(b'\n');
        }
        self.active = true;
        true
    }

    /// Every offset of the logical text where a piece of output starts or ends, sorted.
    pub fn cuts(&self, cuts: &mut Vec<usize>) {
        cuts.clear();
        for s in &self.lines {
            match s {
                Source::Copy { joined, .. } => cuts.extend([joined.start, joined.end]),
                Source::Member { joined, first, .. } => {
                    cuts.extend([joined.start, joined.end]);
                    if let Some((line, messages_end)) = first {
                        cuts.extend([line.start, line.end, *messages_end]);
                    }
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
    }

    /// Where the logical text comes from in the batch, for reporting a place (`lint`): pieces
    /// `(offset in the text, offset in the batch)`, sorted by the first; a piece runs to the
    /// next. A byte of the text at `t` is at `b + (t - s)` in the batch for the last piece
    /// `(s, b)` with `s <= t` (the newline ending a logical line maps past its first record).
    pub fn batch_places(&self, places: &mut Vec<(usize, usize)>) {
        places.clear();
        for s in &self.lines {
            match s {
                Source::Copy { joined, from, .. } => places.push((joined.start, *from)),
                Source::Member {
                    line,
                    message,
                    joined,
                    first,
                    ..
                } => {
                    // An empty message covers no byte; kept, it could tie with (and hide) the
                    // first record's envelope after the messages.
                    if !message.is_empty() {
                        places.push((joined.start, message.start));
                    }
                    if let Some((whole, messages_end)) = first {
                        places.push((whole.start, line.start));
                        places.push((*messages_end, message.end));
                    }
                }
            }
        }
        // Pieces that cover bytes never share a start.
        places.sort_unstable_by_key(|&(text, _)| text);
    }

    /// Writes the batch's records in their own framing: `redacted` is the logical text redacted,
    /// and `positions[i]` where `cuts[i]` (from [`Joined::cuts`]) went in it.
    pub fn write_back(
        &self,
        batch: &[u8],
        redacted: &[u8],
        cuts: &[usize],
        positions: &[usize],
        out: &mut Vec<u8>,
    ) {
        let at = |offset: usize| match cuts.binary_search(&offset) {
            Ok(i) => positions[i],
            // Every offset asked for is a cut; fall back to the end, which drops nothing of
            // the record's envelope (the caller's tests check that this never happens).
            Err(_) => redacted.len(),
        };
        for s in &self.lines {
            let newline = match s {
                Source::Copy {
                    joined, newline, ..
                } => {
                    out.extend_from_slice(&redacted[at(joined.start)..at(joined.end)]);
                    *newline
                }
                Source::Member {
                    line,
                    message,
                    joined,
                    first,
                    newline,
                } => {
                    match first {
                        Some((whole, messages_end)) => {
                            out.extend_from_slice(&redacted[at(whole.start)..at(joined.end)]);
                            out.extend_from_slice(&redacted[at(*messages_end)..at(whole.end)]);
                        }
                        None => {
                            out.extend_from_slice(&batch[line.start..message.start]);
                            out.extend_from_slice(&redacted[at(joined.start)..at(joined.end)]);
                            out.extend_from_slice(&batch[message.end..line.end]);
                        }
                    }
                    *newline
                }
            };
            if newline {
                out.push(b'\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_become_one_logical_line_and_go_back_unchanged() {
        let batch = b"2024-05-01T10:00:00.1Z stdout P ab\n\
            2024-05-01T10:00:00.1Z stderr F x\n\
            2024-05-01T10:00:00.2Z stdout P cd\n\
            2024-05-01T10:00:00.3Z stdout F ef\n\
            tail";
        let mut j = Joined::default();
        assert!(j.build(batch, Format::Auto, usize::MAX));
        assert_eq!(
            j.text(),
            b"2024-05-01T10:00:00.1Z stdout P abcdef\n2024-05-01T10:00:00.1Z stderr F x\ntail\n"
        );
        let (mut cuts, mut out) = (Vec::new(), Vec::new());
        j.cuts(&mut cuts);
        j.write_back(batch, j.text(), &cuts, &cuts, &mut out);
        assert_eq!(out, batch);
    }

    #[test]
    fn every_byte_of_the_joined_view_maps_back_to_its_record() {
        let batch: &[u8] = b"{\"log\":\"ab\",\"stream\":\"stdout\",\"time\":\"t1\"}\n\
            {\"log\":\"zz\\n\",\"stream\":\"stderr\",\"time\":\"t2\"}\n\
            {\"log\":\"\",\"stream\":\"stdout\",\"time\":\"t3\"}\n\
            {\"log\":\"cd\",\"stream\":\"stdout\",\"time\":\"t3\"}\n\
            {\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"t4\"}\n";
        let mut j = Joined::default();
        assert!(j.build(batch, Format::Auto, usize::MAX));
        let mut places = Vec::new();
        j.batch_places(&mut places);
        let map = |t: usize| {
            let i = places.partition_point(|&(s, _)| s <= t);
            let (s, b) = places[i - 1];
            b + (t - s)
        };
        let text = j.text();
        for (t, &byte) in text.iter().enumerate() {
            if byte != b'\n' {
                assert_eq!(batch[map(t)], byte, "text offset {t}");
            }
        }
        // `cd` is read from the fourth record, not from the empty third or after `ab` in the first.
        let newlines: Vec<usize> = memchr::memchr_iter(b'\n', batch).collect();
        let c = text.iter().position(|&b| b == b'c').unwrap();
        assert!((newlines[2]..newlines[3]).contains(&map(c)));
    }

    #[test]
    fn no_group_no_view() {
        let mut j = Joined::default();
        assert!(!j.build(
            b"2024-05-01T10:00:00.1Z stdout P ab\n",
            Format::Cri,
            usize::MAX
        ));
        assert!(!j.build(
            b"2024-05-01T10:00:00.1Z stdout P ab\n",
            Format::Text,
            usize::MAX
        ));
    }
}
