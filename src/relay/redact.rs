//! The relay's only contact with the redaction library: [`redact_string`] for one string value
//! and [`redact_record`], which walks a record. The lead re-points [`redact_string`] when the
//! scanner refactoring lands; nothing else in `relay` may call `filter`, `format` or `redact`.
//!
//! Owns: which values of a record are redacted and how (every string value, at any depth; a
//! value under a secret-named key is replaced whole). Must never: rewrite a key, a number, a
//! time or a bin value, or drop or reorder a field.

use crate::filter::{Filter, FilterScratch};
use crate::format::keys::SecretKeys;
use crate::redact::Redactor;

use super::msgpack::Value;

/// What the walk needs: the filter (scanner plus JSON/CRI/text structure rules), the secret key
/// names, and the redactor used for values under those names.
pub struct Redaction {
    pub filter: Filter,
    pub keys: SecretKeys,
    pub redactor: Redactor,
}

/// Per-connection working memory (private-key block state carries from value to value as it
/// does from line to line in the filter, since Fluent Bit sends one line per record).
pub struct Scratch {
    filter: FilterScratch,
    out: Vec<u8>,
}

impl Redaction {
    pub fn scratch(&self) -> Scratch {
        Scratch {
            filter: self.filter.scratch(),
            out: Vec::new(),
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
        r.redactor.write_unruled("secret-field", value, out);
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
