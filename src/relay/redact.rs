//! The relay's only contact with the redaction library: [`redact_string`] for one string value
//! and [`redact_entries`], which walks the records of an entry stream; nothing else in `relay`
//! may call `filter`, `format` or `redact`.
//!
//! Owns: which values of a record are redacted and how (every string value, at any depth; a
//! value under a secret-named key is replaced whole). Must never: rewrite a key, a number, a
//! time or a bin value, or drop or reorder a field.

use crate::filter::{Filter, FilterScratch, Outcome};
use crate::finding::{Encoding, Finding, FindingKind, Precedence};
use crate::format::keys::SecretKeys;
use crate::stats::Stats;

use super::msgpack::{self, Cursor, DecodeError, Head};

/// What the walk needs: the filter (scanner, structure rules and the configured redactor, so
/// `--mode` and `--template` apply to record values too) and the secret key names.
pub struct Redaction {
    pub filter: Filter,
    pub keys: SecretKeys,
}

/// Writes the replacement of `value`, the value of a member whose key names a secret: a
/// secret-field finding over all of it, through the filter's redactor.
fn write_secret_field(r: &Redaction, value: &[u8], out: &mut Vec<u8>) {
    let whole = Finding {
        kind: FindingKind::SecretField,
        start: 0,
        end: value.len(),
        encoding: Encoding::Raw,
        precedence: Precedence::Structural,
    };
    r.filter.redactor().write_replacement(&whole, value, out);
}

/// Per-connection working memory (private-key block state carries from value to value as it
/// does from line to line in the filter, since Fluent Bit sends one line per record).
pub struct Scratch {
    filter: FilterScratch,
    out: Vec<u8>,
    batch: Vec<u8>,
    stats: Stats,
    /// The string values of the current chunk, reused from chunk to chunk.
    spans: Vec<Span>,
    /// Where each scanned value's new bytes are (in `out`, or in `alt` after a fallback).
    repl: Vec<(usize, usize)>,
    alt: Vec<u8>,
    /// Which buffer `repl` points into.
    repl_in: ReplIn,
    /// A secret-named key's replacement value.
    secret: Vec<u8>,
}

/// Where the filter's results for a chunk are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplIn {
    /// The filter changed nothing: every value stays.
    Nothing,
    Out,
    Alt,
}

/// One string value of a chunk: its header starts at `head`, its body is `start..end` (offsets
/// in the entries' bytes).
#[derive(Debug, Clone, Copy)]
struct Span {
    head: usize,
    start: usize,
    end: usize,
    kind: Under,
}

/// Whether a string sits (directly, or in an array) under a secret-named key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Under {
    PlainKey,
    SecretKey,
}

impl Redaction {
    pub fn scratch(&self) -> Scratch {
        Scratch {
            filter: self.filter.scratch(),
            out: Vec::new(),
            batch: Vec::new(),
            stats: Stats::new(self.filter.detector().rules().rules.len()),
            spans: Vec::new(),
            repl: Vec::new(),
            alt: Vec::new(),
            repl_in: ReplIn::Nothing,
            secret: Vec::new(),
        }
    }
}

/// Redacts one string `value` found under `key_path` (outermost key first) into `out`; returns
/// whether it changed. `out` is written in both cases.
pub fn redact_string(
    r: &Redaction,
    key_path: &[&[u8]],
    value: &[u8],
    scratch: &mut FilterScratch,
    out: &mut Vec<u8>,
) -> bool {
    if key_path.last().is_some_and(|k| r.keys.is_secret(k)) && !value.is_empty() {
        write_secret_field(r, value, out);
        return true;
    }
    // One call per line: the filter's structure rules (JSON, CRI, PEM blocks) are per line.
    let mut changed = false;
    let mut rest = value;
    loop {
        let (line, tail) = match memchr::memchr(b'\n', rest) {
            Some(p) => (&rest[..p], Some(&rest[p + 1..])),
            None => (rest, None),
        };
        changed |= r.filter.redact_message(line, scratch, out);
        match tail {
            Some(t) => {
                out.push(b'\n');
                rest = t;
            }
            None => return changed,
        }
    }
}

/// Redacts the `[time, record]` entries in `bytes` (`count` of them, or as many as it holds)
/// and appends them to `out` as a Forward-mode entries array; returns how many entries there
/// were. Nothing is decoded into a tree: the walk notes where each string value of each record
/// is, the filter runs once over all of them (values under secret-named keys are replaced whole
/// instead), and the output is `bytes` copied as they are except for the strings that changed,
/// which are re-encoded. Keys, times, numbers, bin and ext values, and every unchanged string,
/// leave with their exact encoding.
pub fn redact_entries(
    r: &Redaction,
    bytes: &[u8],
    count: Option<usize>,
    s: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<usize, &'static str> {
    s.spans.clear();
    let mut c = Cursor::new(bytes);
    let mut n = 0;
    while count.map_or(c.pos < bytes.len(), |want| n < want) {
        entry(r, &mut c, &mut s.spans).map_err(|e| match e {
            DecodeError::Incomplete => "entries end inside an entry",
            DecodeError::Invalid(why) => why,
        })?;
        n += 1;
    }
    let bytes = &bytes[..c.pos];
    scan(r, bytes, s);
    msgpack::write_array_head(out, n);
    let mut pos = 0;
    let mut next = 0;
    for span in &s.spans {
        out.extend_from_slice(&bytes[pos..span.head]);
        pos = span.end;
        let old = &bytes[span.start..span.end];
        let new = match span.kind {
            Under::SecretKey => {
                s.secret.clear();
                write_secret_field(r, old, &mut s.secret);
                s.secret.as_slice()
            }
            Under::PlainKey => {
                let (a, b) = s.repl.get(next).copied().unwrap_or((0, 0));
                next += 1;
                match s.repl_in {
                    ReplIn::Nothing => old,
                    ReplIn::Out => s.out.get(a..b).unwrap_or(old),
                    ReplIn::Alt => s.alt.get(a..b).unwrap_or(old),
                }
            }
        };
        if new == old {
            out.extend_from_slice(&bytes[span.head..span.end]);
        } else {
            msgpack::write_str_head(out, new.len());
            out.extend_from_slice(new);
        }
    }
    out.extend_from_slice(&bytes[pos..]);
    Ok(n)
}

/// One `[time, record]` entry: the time is skipped (kept as it came), the record walked.
fn entry(r: &Redaction, c: &mut Cursor, spans: &mut Vec<Span>) -> Result<(), DecodeError> {
    match c.head()? {
        Head::Array(2) => {}
        _ => return Err(DecodeError::Invalid("entry is not a [time, record] pair")),
    }
    c.skip(1)?;
    walk(r, c, 1, Under::PlainKey, spans)
}

/// Notes every string value of the value at `c`; keys are read, never noted.
fn walk(
    r: &Redaction,
    c: &mut Cursor,
    depth: usize,
    under: Under,
    spans: &mut Vec<Span>,
) -> Result<(), DecodeError> {
    if depth > msgpack::MAX_NESTING {
        return Err(DecodeError::Invalid("nesting too deep"));
    }
    let head = c.pos;
    match c.head()? {
        Head::Str(n) => {
            let start = c.pos;
            c.take(n)?;
            // An empty value under a secret-named key has nothing to hide: scanned as usual.
            let kind = if n == 0 { Under::PlainKey } else { under };
            spans.push(Span {
                head,
                start,
                end: c.pos,
                kind,
            });
        }
        Head::Bin(n) => {
            c.take(n)?;
        }
        Head::Scalar => {}
        Head::Array(n) => {
            for _ in 0..n {
                walk(r, c, depth + 1, under, spans)?;
            }
        }
        Head::Map(n) => {
            for _ in 0..n {
                let k = c.pos;
                c.skip(depth + 1)?;
                // A key that is not a string (rare) does not name a secret.
                let mut kc = Cursor::new(&c.buf[k..c.pos]);
                let secret = match kc.head() {
                    Ok(Head::Str(len)) => kc.take(len).is_ok_and(|key| r.keys.is_secret(key)),
                    _ => false,
                };
                let under = if secret {
                    Under::SecretKey
                } else {
                    Under::PlainKey
                };
                walk(r, c, depth + 1, under, spans)?;
            }
        }
    }
    Ok(())
}

/// Runs the filter once over all values not under a secret-named key (one line each, in one
/// batch: one scanner pass per chunk) and notes where each value's new bytes are. If the batch
/// comes back with another line count (it never should) each value is redone on its own.
fn scan(r: &Redaction, bytes: &[u8], s: &mut Scratch) {
    s.batch.clear();
    s.repl.clear();
    s.repl_in = ReplIn::Nothing;
    let plain = s.spans.iter().filter(|sp| sp.kind == Under::PlainKey);
    for sp in plain.clone() {
        s.batch.extend_from_slice(&bytes[sp.start..sp.end]);
        s.batch.push(b'\n');
    }
    s.out.clear();
    let outcome = r
        .filter
        .process_lines(&s.batch, &mut s.filter, &mut s.out, &mut s.stats);
    if let Outcome::Unchanged = outcome {
        return;
    }
    let source = &s.out;
    let want = memchr::memchr_iter(b'\n', &s.batch).count();
    if memchr::memchr_iter(b'\n', source).count() != want {
        s.repl_in = ReplIn::Alt;
        s.alt.clear();
        for sp in plain {
            let a = s.alt.len();
            redact_string(r, &[], &bytes[sp.start..sp.end], &mut s.filter, &mut s.alt);
            s.repl.push((a, s.alt.len()));
        }
        return;
    }
    s.repl_in = ReplIn::Out;
    let mut at = 0;
    for sp in plain {
        let lines = memchr::memchr_iter(b'\n', &bytes[sp.start..sp.end]).count() + 1;
        let mut end = at;
        for _ in 0..lines {
            end += memchr::memchr(b'\n', &source[end..]).map_or(source.len() - end, |p| p + 1);
        }
        s.repl.push((at, end.saturating_sub(1).max(at)));
        at = end;
    }
}

#[cfg(test)]
mod tests;
