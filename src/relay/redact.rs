//! The relay's only contact with the redaction library: [`redact_string`] for one string value
//! and [`redact_record`], which walks a record. The lead re-points [`redact_string`] when the
//! scanner refactoring lands; nothing else in `relay` may call `filter`, `format` or `redact`.
//!
//! Owns: which values of a record are redacted and how (every string value, at any depth; a
//! value under a secret-named key is replaced whole). Must never: rewrite a key, a number, a
//! time or a bin value, or drop or reorder a field.

use crate::filter::{Filter, FilterScratch, Outcome};
use crate::finding::{Encoding, Finding, FindingKind, Precedence};
use crate::format::keys::SecretKeys;
use crate::stats::Stats;

use super::msgpack::Value;

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
}

impl Redaction {
    pub fn scratch(&self) -> Scratch {
        Scratch {
            filter: self.filter.scratch(),
            out: Vec::new(),
            batch: Vec::new(),
            stats: Stats::new(self.filter.detector().rules().rules.len()),
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

/// Redacts every string value of `record` in place; returns how many values changed.
pub fn redact_record(r: &Redaction, record: &mut Value, scratch: &mut Scratch) -> usize {
    let mut path: Vec<Vec<u8>> = Vec::new();
    walk(r, record, &mut path, scratch)
}

fn walk(r: &Redaction, v: &mut Value, path: &mut Vec<Vec<u8>>, s: &mut Scratch) -> usize {
    match v {
        Value::Str(text) => {
            s.out.clear();
            let keys: Vec<&[u8]> = path.iter().map(Vec::as_slice).collect();
            if redact_string(r, &keys, text, &mut s.filter, &mut s.out) {
                std::mem::swap(text, &mut s.out);
                1
            } else {
                0
            }
        }
        Value::Array(items) => items.iter_mut().map(|i| walk(r, i, path, s)).sum(),
        Value::Map(items) => {
            let mut n = 0;
            for (k, val) in items.iter_mut() {
                // A key that is not a string (rare) does not name a secret.
                path.push(k.as_bytes().map(<[u8]>::to_vec).unwrap_or_default());
                n += walk(r, val, path, s);
                path.pop();
            }
            n
        }
        _ => 0,
    }
}

/// Redacts every string value of all `records` at once: values under secret-named keys are
/// replaced whole; all other values go, one line each, into one batch for the filter's fast
/// path (one scanner pass instead of one call per value: the relay's main cost). If the batch
/// comes back with another line count (it never should) each value is redone on its own.
pub fn redact_records<'a>(
    r: &Redaction,
    records: impl Iterator<Item = &'a mut Value>,
    s: &mut Scratch,
) {
    let mut values: Vec<&mut Vec<u8>> = Vec::new();
    let mut path: Vec<Vec<u8>> = Vec::new();
    for rec in records {
        collect(r, rec, &mut path, &mut values, s);
    }
    s.batch.clear();
    for v in &values {
        s.batch.extend_from_slice(v);
        s.batch.push(b'\n');
    }
    s.out.clear();
    match r
        .filter
        .process_lines(&s.batch, &mut s.filter, &mut s.out, &mut s.stats)
    {
        Outcome::Unchanged => {}
        Outcome::Rewritten { .. } => {
            let want: usize = values
                .iter()
                .map(|v| memchr::memchr_iter(b'\n', v).count() + 1)
                .sum();
            if memchr::memchr_iter(b'\n', &s.out).count() != want {
                for v in values {
                    let mut one = Value::Str(std::mem::take(v));
                    walk(r, &mut one, &mut Vec::new(), s);
                    if let Value::Str(text) = one {
                        *v = text;
                    }
                }
                return;
            }
            let mut rest = s.out.as_slice();
            for v in values {
                let lines = memchr::memchr_iter(b'\n', v).count() + 1;
                let mut end = 0;
                for _ in 0..lines {
                    end += memchr::memchr(b'\n', &rest[end..]).map_or(rest.len() - end, |p| p + 1);
                }
                v.clear();
                v.extend_from_slice(&rest[..end.saturating_sub(1)]);
                rest = &rest[end..];
            }
        }
    }
}

/// Gathers the string values to scan; replaces values under secret-named keys on the way.
fn collect<'v>(
    r: &Redaction,
    v: &'v mut Value,
    path: &mut Vec<Vec<u8>>,
    values: &mut Vec<&'v mut Vec<u8>>,
    s: &mut Scratch,
) {
    match v {
        Value::Str(text) => {
            if path.last().is_some_and(|k| r.keys.is_secret(k)) && !text.is_empty() {
                s.out.clear();
                write_secret_field(r, text, &mut s.out);
                std::mem::swap(text, &mut s.out);
            } else {
                values.push(text);
            }
        }
        Value::Array(items) => {
            for i in items.iter_mut() {
                collect(r, i, path, values, s);
            }
        }
        Value::Map(items) => {
            for (k, val) in items.iter_mut() {
                path.push(k.as_bytes().map(<[u8]>::to_vec).unwrap_or_default());
                collect(r, val, path, values, s);
                path.pop();
            }
        }
        _ => {}
    }
}
