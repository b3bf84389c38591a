//! Views: the decoded strings of a batch's lines, and the way back from their bytes to raw bytes.
//!
//! Owns: [`Map`] (where each byte of a view came from in the raw text, through any depth of
//! JSON-in-a-string) and [`Views`] (a batch's decoded strings, searched in one engine pass).
//! Must never: search or write bytes; a map never points outside the raw byte or escape a view
//! byte was decoded from (a span in a view maps to whole escapes).
//!
//! Both keep pieces, not a table per byte: a run of bytes copied from the raw text, or the bytes
//! decoded from one escape. A Docker `log` string with its trailing `\n` is two pieces. (Per-byte
//! tables were 16 bytes per view byte, ~7 MiB of each worker's peak memory on the realistic
//! corpus, and building them a tenth of its instructions; `massif`, callgrind.)

use std::ops::Range;

use crate::detect::RuleMatch;
use crate::finding::Encoding;

/// Bytes `view` of a view, and where they came from in the raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Piece {
    view: Range<usize>,
    raw: Range<usize>,
    kind: PieceKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PieceKind {
    /// View byte `view.start + i` is raw byte `raw.start + i`.
    Copied,
    /// Every byte was decoded from the escape at `raw` (widened to whole escapes when a deeper
    /// string was decoded from escaped bytes).
    Decoded,
}

impl Piece {
    fn start_of(&self, i: usize) -> usize {
        match self.kind {
            PieceKind::Copied => self.raw.start + (i - self.view.start),
            PieceKind::Decoded => self.raw.start,
        }
    }

    fn end_of(&self, i: usize) -> usize {
        match self.kind {
            PieceKind::Copied => self.raw.start + (i - self.view.start) + 1,
            PieceKind::Decoded => self.raw.end,
        }
    }

    fn shifted(&self, by: usize) -> Piece {
        Piece {
            view: self.view.start + by..self.view.end + by,
            raw: self.raw.clone(),
            kind: self.kind,
        }
    }
}

/// The piece of sorted, contiguous `pieces` that holds view byte `i` (the last one for a byte
/// past the end).
fn piece_at(pieces: &[Piece], i: usize) -> Option<&Piece> {
    let after = pieces.partition_point(|p| p.view.start <= i);
    pieces.get(after.checked_sub(1)?)
}

/// Where the bytes of a view came from in the raw text.
#[derive(Debug)]
pub(super) enum Map {
    /// The view is raw text starting at this offset.
    Offset(usize),
    /// The view was decoded: its pieces, in order, covering it.
    Pieces(Vec<Piece>),
}

impl Map {
    pub(super) fn start_of(&self, i: usize) -> usize {
        match self {
            Map::Offset(base) => base + i,
            Map::Pieces(pieces) => piece_at(pieces, i).map_or(0, |p| p.start_of(i)),
        }
    }

    pub(super) fn end_of(&self, i: usize) -> usize {
        match self {
            Map::Offset(base) => base + i + 1,
            Map::Pieces(pieces) => piece_at(pieces, i).map_or(0, |p| p.end_of(i)),
        }
    }

    /// The raw range of view range `r` (non-empty), widened to whole escapes.
    pub(super) fn raw(&self, r: Range<usize>) -> Range<usize> {
        self.start_of(r.start)..self.end_of(r.end - 1)
    }

    /// The map of a string decoded from view bytes starting at `base`, whose decoding map
    /// (`json::decode`'s: offset of the escape behind each decoded byte, then the encoded length)
    /// is `local`.
    pub(super) fn child(&self, base: usize, local: &[usize]) -> Map {
        let n = local.len().saturating_sub(1);
        let mut pieces = Vec::new();
        let mut j = 0;
        while j < n {
            let here = local[j];
            // Decoded bytes `j..k` share one escape (or one copied byte, when k = j + 1).
            let mut k = j + 1;
            while k < n && local[k] == here {
                k += 1;
            }
            let next = local[k];
            if k == j + 1 && next == here + 1 {
                // Copied bytes, up to the next escape.
                let mut end = k;
                while end < n && local[end + 1] == local[end] + 1 {
                    end += 1;
                }
                self.push_copied(&mut pieces, j, base + here, end - j);
                j = end;
            } else {
                pieces.push(Piece {
                    view: j..k,
                    raw: self.start_of(base + here)..self.end_of(base + next - 1),
                    kind: PieceKind::Decoded,
                });
                j = k;
            }
        }
        Map::Pieces(pieces)
    }

    /// The map of this view's bytes `start..start + len` read as a view of their own (a string
    /// without escapes).
    pub(super) fn sub(&self, start: usize, len: usize) -> Map {
        match self {
            Map::Offset(base) => Map::Offset(base + start),
            Map::Pieces(_) => {
                let mut pieces = Vec::new();
                self.push_copied(&mut pieces, 0, start, len);
                Map::Pieces(pieces)
            }
        }
    }

    /// Pieces for child bytes `at..at + len`, copied from this view's bytes `from..from + len`.
    fn push_copied(&self, out: &mut Vec<Piece>, at: usize, from: usize, len: usize) {
        let parents = match self {
            Map::Offset(base) => {
                out.push(Piece {
                    view: at..at + len,
                    raw: base + from..base + from + len,
                    kind: PieceKind::Copied,
                });
                return;
            }
            Map::Pieces(parents) => parents,
        };
        let mut i = from;
        let mut p = parents
            .partition_point(|p| p.view.start <= i)
            .saturating_sub(1);
        while i < from + len {
            let Some(parent) = parents.get(p) else {
                return;
            };
            let until = parent.view.end.min(from + len);
            let view = at + (i - from)..at + (until - from);
            out.push(match parent.kind {
                PieceKind::Copied => Piece {
                    view,
                    raw: parent.start_of(i)..parent.start_of(until - 1) + 1,
                    kind: PieceKind::Copied,
                },
                PieceKind::Decoded => Piece {
                    view,
                    raw: parent.raw.clone(),
                    kind: PieceKind::Decoded,
                },
            });
            i = until;
            p += 1;
        }
    }
}

/// Decoded views of a batch, one per line of `text`, searched in one engine pass.
#[derive(Default)]
pub(super) struct Views {
    text: Vec<u8>,
    /// Every view's pieces, in text order.
    pieces: Vec<Piece>,
    spans: Vec<ViewSpan>,
}

/// One view in [`Views::text`].
struct ViewSpan {
    /// Where it starts and ends in the text (its separating newline follows the end).
    start: usize,
    end: usize,
    /// Its escape depth.
    depth: u8,
}

impl Views {
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.pieces.clear();
        self.spans.clear();
    }

    pub(super) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub(super) fn text(&self) -> &[u8] {
        &self.text
    }

    /// Adds `view` (mapped by `map`, at escape `depth`) to be searched.
    pub(super) fn push(&mut self, view: &[u8], map: &Map, depth: u8) {
        self.push_one(view, map, depth);
        // A newline only at the end (a Docker `log` string's `\n`) splits nothing.
        let inner = view.strip_suffix(b"\n").unwrap_or(view);
        let inner = inner.strip_suffix(b"\r").unwrap_or(inner);
        if memchr::memchr(b'\n', inner).is_some() {
            // Detection reads a view line by line, so a decoded string with newlines (a PEM key
            // whose body is one long line, `-----BEGIN…\nMIIB…\n-----END…`) would be read in
            // pieces that no rule matches: the string is also searched as one line, newlines as
            // carriage returns (same length, so the same map; `\s` still matches them, while
            // the secret classes of the key rules, which hold blanks, stop at them and leave the
            // END line alone).
            let flat: Vec<u8> = view
                .iter()
                .map(|&b| if b == b'\n' { b'\r' } else { b })
                .collect();
            self.push_one(&flat, map, depth);
        }
    }

    fn push_one(&mut self, view: &[u8], map: &Map, depth: u8) {
        let start = self.text.len();
        match map {
            Map::Offset(base) => self.pieces.push(Piece {
                view: start..start + view.len(),
                raw: *base..base + view.len(),
                kind: PieceKind::Copied,
            }),
            Map::Pieces(pieces) => self.pieces.extend(pieces.iter().map(|p| p.shifted(start))),
        }
        self.text.extend_from_slice(view);
        self.spans.push(ViewSpan {
            start,
            end: self.text.len(),
            depth,
        });
        self.text.push(b'\n');
    }

    /// The raw span and encoding of a match in [`Views::text`].
    pub(super) fn raw_of(&self, m: &RuleMatch) -> Option<(Range<usize>, Encoding)> {
        if m.start >= m.end {
            return None;
        }
        let span = self.spans[self.spans.partition_point(|s| s.end < m.end)..]
            .first()
            .filter(|s| s.start <= m.start)?;
        let (first, last) = (m.start, m.end - 1);
        let raw = piece_at(&self.pieces, first)?.start_of(first)
            ..piece_at(&self.pieces, last)?.end_of(last);
        Some((raw, encoding(span.depth)))
    }
}

/// The escape depth's encoding: 0 is text (quotes in a text line), more is inside JSON strings.
pub(super) fn encoding(depth: u8) -> Encoding {
    if depth == 0 {
        Encoding::Raw
    } else {
        Encoding::JsonString { depth }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::json;

    /// The per-byte composition pieces replace, as an oracle: raw start and end of every byte of
    /// the child of a view whose bytes map by `parent`.
    fn per_byte_child(
        parent: &[(usize, usize)],
        base: usize,
        local: &[usize],
    ) -> Vec<(usize, usize)> {
        let n = local.len().saturating_sub(1);
        (0..n)
            .map(|j| {
                let next = local[j..]
                    .iter()
                    .copied()
                    .find(|&l| l > local[j])
                    .unwrap_or(local[n]);
                (parent[base + local[j]].0, parent[base + next - 1].1)
            })
            .collect()
    }

    fn decode(raw: &[u8]) -> (Vec<u8>, Vec<usize>) {
        let (mut d, mut m) = (Vec::new(), Vec::new());
        json::decode(raw, &mut d, &mut m);
        (d, m)
    }

    /// Children and grandchildren map every span back as the per-byte composition does, and
    /// [`Views`] gives the same spans for the same bytes.
    #[test]
    fn pieces_map_back_like_per_byte_tables() {
        let raws: [&[u8]; 6] = [
            br#"password=hunter2\n"#,
            br#"a\/b\u00e9z\"q\"\\x"#,
            br#"{\"log\":\"tok\\u0065n=abc\\n\",\"k\":\"\\u00e9\\u00e9x\"}"#,
            br#"\ud83d\ude00 surrogates \ud83d and a lone one"#,
            b"no escapes at all",
            br#"\n\n\t"#,
        ];
        let mut views = Views::default();
        let mut expected = Vec::new();
        for (n, raw) in raws.iter().enumerate() {
            let base = 1000 * (n + 1);
            let identity: Vec<(usize, usize)> =
                (0..=raw.len()).map(|i| (base + i, base + i + 1)).collect();
            let (d, m) = decode(raw);
            let child = Map::Offset(base).child(0, &m);
            let child_bytes = per_byte_child(&identity, 0, &m);
            let (d2, m2) = decode(&d);
            let grandchild = child.child(0, &m2);
            let grandchild_bytes = per_byte_child(&child_bytes, 0, &m2);
            for (view, map, bytes) in [(d, child, child_bytes), (d2, grandchild, grandchild_bytes)]
            {
                let at = views.text().len();
                views.push_one(&view, &map, 1);
                for i in 0..view.len() {
                    for j in i + 1..=view.len() {
                        let raw = bytes[i].0..bytes[j - 1].1;
                        assert_eq!(map.raw(i..j), raw, "string {n}, {i}..{j}");
                        expected.push((at + i, at + j, raw));
                    }
                }
            }
        }
        for (start, end, raw) in expected {
            let m = RuleMatch {
                rule: 0,
                start,
                end,
                match_start: start,
                match_end: end,
            };
            assert_eq!(
                views.raw_of(&m).map(|(r, _)| r),
                Some(raw),
                "{start}..{end}"
            );
        }
    }

    #[test]
    fn child_maps_widen_to_whole_escapes() {
        let raw = br#"a\/b\u00e9z"#;
        let (d, m) = decode(raw);
        let child = Map::Offset(100).child(0, &m);
        // "é" (2 bytes) comes from `\u00e9` at raw 4..10.
        assert_eq!(child.raw(3..5), 104..110);
        assert_eq!(child.raw(1..2), 101..103);
        assert_eq!(child.raw(0..d.len()), 100..100 + raw.len());
        let grandchild = child.child(1, &[0, 1, 2]);
        assert_eq!(grandchild.raw(0..2), 101..104);
    }

    /// A string without escapes inside a decoded view maps as those bytes of the view do.
    #[test]
    fn a_sub_view_maps_like_its_bytes_in_the_parent() {
        let (d, m) = decode(br#"k\u00e9y=\"ab\"cd\/e"#);
        let parent = Map::Offset(50).child(0, &m);
        for start in 0..d.len() {
            for len in 1..=d.len() - start {
                let sub = parent.sub(start, len);
                for i in 0..len {
                    for j in i + 1..=len {
                        assert_eq!(sub.raw(i..j), parent.raw(start + i..start + j));
                    }
                }
            }
        }
        assert_eq!(Map::Offset(7).sub(3, 4).raw(0..4), 10..14);
    }

    #[test]
    fn a_docker_log_string_is_two_pieces() {
        let (_, m) = decode(br#"level=info msg=started\n"#);
        let Map::Pieces(pieces) = Map::Offset(7).child(0, &m) else {
            panic!("a decoded string maps by pieces");
        };
        assert_eq!(pieces.len(), 2);
    }
}
