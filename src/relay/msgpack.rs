//! A small msgpack codec for the Forward protocol: decodes one value from a byte slice and
//! encodes it back, so that every value the relay does not rewrite (times, ext types such as
//! EventTime, numbers, bin) leaves exactly as it came.
//!
//! Owns: the msgpack wire format. Must never: panic on any input (every read is bounds
//! checked; nesting depth and element counts are capped), or put value bytes in an error.

/// Deepest nesting of maps/arrays accepted: deeper input is refused, not recursed into.
const MAX_DEPTH: usize = 64;

/// A decoded msgpack value. Strings stay bytes: msgpack does not promise UTF-8.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    /// Any integer, kept as its exact encoding so it round-trips byte for byte.
    Int(Vec<u8>),
    /// A float, kept as its exact encoding.
    Float(Vec<u8>),
    Str(Vec<u8>),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Ext(i8, Vec<u8>),
}

/// Why a buffer did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// More bytes are needed: the value is not complete yet.
    Incomplete,
    /// Not msgpack (the reason names the construct, never its content).
    Invalid(&'static str),
}

impl Value {
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) | Value::Bin(s) => Some(s),
            _ => None,
        }
    }

    /// The value under string key `key` of a map.
    pub fn get(&self, key: &[u8]) -> Option<&Value> {
        match self {
            Value::Map(m) => m
                .iter()
                .find(|(k, _)| k.as_bytes() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Decodes one value from the front of `buf`; returns it and the bytes it used.
pub fn decode(buf: &[u8]) -> Result<(Value, usize), DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let v = r.value(0)?;
    Ok((v, r.pos))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Incomplete)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Incomplete)?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn len(&mut self, width: usize) -> Result<usize, DecodeError> {
        let b = self.take(width)?;
        Ok(b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
    }

    /// A length-prefixed byte string; its length must fit the rest of the buffer or we wait.
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, DecodeError> {
        Ok(self.take(n)?.to_vec())
    }

    fn count(&self, n: usize) -> Result<usize, DecodeError> {
        // Each element takes at least one byte: a count beyond the bytes left means "wait",
        // and never a huge allocation up front.
        if n > self.buf.len() - self.pos {
            return Err(DecodeError::Incomplete);
        }
        Ok(n)
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, DecodeError> {
        let n = self.count(n)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, DecodeError> {
        let n = self.count(n)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.value(depth + 1)?;
            let v = self.value(depth + 1)?;
            items.push((k, v));
        }
        Ok(Value::Map(items))
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::Invalid("nesting too deep"));
        }
        let start = self.pos;
        let tag = self.byte()?;
        let int = |r: &mut Self, n: usize| -> Result<Value, DecodeError> {
            r.take(n)?;
            Ok(Value::Int(r.buf[start..r.pos].to_vec()))
        };
        match tag {
            0x00..=0x7f | 0xe0..=0xff => int(self, 0),
            0x80..=0x8f => self.map(usize::from(tag & 0x0f), depth),
            0x90..=0x9f => self.array(usize::from(tag & 0x0f), depth),
            0xa0..=0xbf => Ok(Value::Str(self.bytes(usize::from(tag & 0x1f))?)),
            0xc0 => Ok(Value::Nil),
            0xc1 => Err(DecodeError::Invalid("reserved byte 0xc1")),
            0xc2 => Ok(Value::Bool(false)),
            0xc3 => Ok(Value::Bool(true)),
            0xc4..=0xc6 => {
                let n = self.len(1 << (tag - 0xc4))?;
                Ok(Value::Bin(self.bytes(n)?))
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (tag - 0xc7))?;
                let t = self.byte()? as i8;
                Ok(Value::Ext(t, self.bytes(n)?))
            }
            0xca | 0xcb => {
                self.take(if tag == 0xca { 4 } else { 8 })?;
                Ok(Value::Float(self.buf[start..self.pos].to_vec()))
            }
            0xcc..=0xcf => int(self, 1 << (tag - 0xcc)),
            0xd0..=0xd3 => int(self, 1 << (tag - 0xd0)),
            0xd4..=0xd8 => {
                let t = self.byte()? as i8;
                Ok(Value::Ext(t, self.bytes(1 << (tag - 0xd4))?))
            }
            0xd9..=0xdb => {
                let n = self.len(1 << (tag - 0xd9))?;
                Ok(Value::Str(self.bytes(n)?))
            }
            0xdc | 0xdd => {
                let n = self.len(if tag == 0xdc { 2 } else { 4 })?;
                self.array(n, depth)
            }
            0xde | 0xdf => {
                let n = self.len(if tag == 0xde { 2 } else { 4 })?;
                self.map(n, depth)
            }
        }
    }
}

/// Appends the encoding of `v` to `out`.
pub fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Int(raw) | Value::Float(raw) => out.extend_from_slice(raw),
        Value::Str(s) => {
            write_len(out, s.len(), 0xa0, 31, [0xd9, 0xda, 0xdb]);
            out.extend_from_slice(s);
        }
        Value::Bin(s) => {
            write_len(out, s.len(), 0, 0, [0xc4, 0xc5, 0xc6]);
            out.extend_from_slice(s);
        }
        Value::Array(items) => {
            write_count(out, items.len(), 0x90, [0xdc, 0xdd]);
            items.iter().for_each(|i| encode(i, out));
        }
        Value::Map(items) => {
            write_count(out, items.len(), 0x80, [0xde, 0xdf]);
            for (k, v) in items {
                encode(k, out);
                encode(v, out);
            }
        }
        Value::Ext(t, data) => {
            let fixed = match data.len() {
                1 => Some(0xd4),
                2 => Some(0xd5),
                4 => Some(0xd6),
                8 => Some(0xd7),
                16 => Some(0xd8),
                _ => None,
            };
            match fixed {
                Some(tag) => out.push(tag),
                None => write_len(out, data.len(), 0, 0, [0xc7, 0xc8, 0xc9]),
            }
            out.push(*t as u8);
            out.extend_from_slice(data);
        }
    }
}

/// A string/bin/ext length: fix form when `fix_max > 0` and it fits, else 8/16/32-bit forms.
fn write_len(out: &mut Vec<u8>, n: usize, fix: u8, fix_max: usize, tags: [u8; 3]) {
    if fix_max > 0 && n <= fix_max {
        out.push(fix | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[tags[0], n as u8]);
    } else if n <= 0xffff {
        out.push(tags[1]);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(tags[2]);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn write_count(out: &mut Vec<u8>, n: usize, fix: u8, tags: [u8; 2]) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(tags[0]);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(tags[1]);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Shorthand for a string value.
pub fn str(s: &[u8]) -> Value {
    Value::Str(s.to_vec())
}

/// What [`Cursor::head`] read: containers and strings give their size and leave the cursor at
/// their first element / first body byte; every other value is consumed whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    Str(usize),
    Bin(usize),
    Array(usize),
    Map(usize),
    /// Nil, bool, int, float, ext: its exact bytes are `buf[start..pos]`.
    Scalar,
}

/// A position in a msgpack byte buffer for walks that allocate nothing: the relay's hot path
/// reads the received bytes in place and copies what it does not rewrite.
pub struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// The next `n` bytes, or `Incomplete`.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Incomplete)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Incomplete)?;
        self.pos = end;
        Ok(s)
    }

    fn len(&mut self, width: usize) -> Result<usize, DecodeError> {
        let b = self.take(width)?;
        Ok(b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
    }

    /// A container count: as in [`decode`], more elements than bytes left means "wait".
    fn count(&self, n: usize) -> Result<usize, DecodeError> {
        if n > self.buf.len() - self.pos {
            return Err(DecodeError::Incomplete);
        }
        Ok(n)
    }

    /// Reads one value's header (see [`Head`]).
    pub fn head(&mut self) -> Result<Head, DecodeError> {
        let tag = self.take(1)?[0];
        Ok(match tag {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Head::Scalar,
            0x80..=0x8f => Head::Map(self.count(usize::from(tag & 0x0f))?),
            0x90..=0x9f => Head::Array(self.count(usize::from(tag & 0x0f))?),
            0xa0..=0xbf => Head::Str(usize::from(tag & 0x1f)),
            0xc1 => return Err(DecodeError::Invalid("reserved byte 0xc1")),
            0xc4..=0xc6 => Head::Bin(self.len(1 << (tag - 0xc4))?),
            0xc7..=0xc9 => {
                let n = self.len(1 << (tag - 0xc7))?;
                self.take(1)?;
                self.take(n)?;
                Head::Scalar
            }
            0xca | 0xcb => {
                self.take(if tag == 0xca { 4 } else { 8 })?;
                Head::Scalar
            }
            0xcc..=0xcf => {
                self.take(1 << (tag - 0xcc))?;
                Head::Scalar
            }
            0xd0..=0xd3 => {
                self.take(1 << (tag - 0xd0))?;
                Head::Scalar
            }
            0xd4..=0xd8 => {
                self.take(1 + (1 << (tag - 0xd4)))?;
                Head::Scalar
            }
            0xd9..=0xdb => Head::Str(self.len(1 << (tag - 0xd9))?),
            0xdc | 0xdd => {
                let n = self.len(if tag == 0xdc { 2 } else { 4 })?;
                Head::Array(self.count(n)?)
            }
            0xde | 0xdf => {
                let n = self.len(if tag == 0xde { 2 } else { 4 })?;
                Head::Map(self.count(n)?)
            }
        })
    }

    /// Skips one whole value at nesting `depth`, with the same checks as [`decode`].
    pub fn skip(&mut self, depth: usize) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::Invalid("nesting too deep"));
        }
        match self.head()? {
            Head::Scalar => {}
            Head::Str(n) | Head::Bin(n) => {
                self.take(n)?;
            }
            Head::Array(n) => {
                for _ in 0..n {
                    self.skip(depth + 1)?;
                }
            }
            Head::Map(n) => {
                for _ in 0..2 * n {
                    self.skip(depth + 1)?;
                }
            }
        }
        Ok(())
    }
}

/// The deepest nesting [`Cursor::skip`] and the relay's walk accept.
pub const MAX_NESTING: usize = MAX_DEPTH;

/// How many bytes the first value of `buf` takes, validating it without allocating.
pub fn value_len(buf: &[u8]) -> Result<usize, DecodeError> {
    let mut c = Cursor::new(buf);
    c.skip(0)?;
    Ok(c.pos)
}

/// [`value_len`] that resumes where the last call ran out of bytes, for a buffer that only
/// grows at its end: a message arriving in many short reads (a TLS stream hands out one record
/// of at most 16 KiB per read) is walked once in all, not once per read. Same checks and
/// errors as [`value_len`].
#[derive(Debug, Default)]
pub struct Resumable {
    /// Where the next value starts: every byte before it is validated.
    pos: usize,
    /// Values still to come in each open array/map, outermost first.
    open: Vec<usize>,
    started: bool,
}

impl Resumable {
    /// Continues over `buf` (the same bytes as before, maybe more at the end): `Ok(len)` once
    /// the first value is complete; `Incomplete` keeps the progress for the next call.
    pub fn resume(&mut self, buf: &[u8]) -> Result<usize, DecodeError> {
        while !(self.started && self.open.is_empty()) {
            if self.open.len() > MAX_DEPTH {
                return Err(DecodeError::Invalid("nesting too deep"));
            }
            // A value whose bytes are not all there yet is read again from its start next time:
            // only its header, so at most a few bytes are re-read per call.
            let mut c = Cursor { buf, pos: self.pos };
            let children = match c.head()? {
                Head::Scalar => 0,
                Head::Str(n) | Head::Bin(n) => {
                    c.take(n)?;
                    0
                }
                Head::Array(n) => n,
                Head::Map(n) => n.saturating_mul(2),
            };
            self.pos = c.pos;
            self.started = true;
            if children > 0 {
                self.open.push(children);
                continue;
            }
            // One value done: close every container it completes.
            while let Some(left) = self.open.last_mut() {
                *left -= 1;
                if *left > 0 {
                    break;
                }
                self.open.pop();
            }
        }
        Ok(self.pos)
    }
}

/// Appends a string header for `n` bytes (shortest form).
pub fn write_str_head(out: &mut Vec<u8>, n: usize) {
    write_len(out, n, 0xa0, 31, [0xd9, 0xda, 0xdb]);
}

/// Appends an array header for `n` elements (shortest form).
pub fn write_array_head(out: &mut Vec<u8>, n: usize) {
    write_count(out, n, 0x90, [0xdc, 0xdd]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fed one byte more per call, [`Resumable`] ends where [`value_len`] does on the whole
    /// buffer, with the same error, and reports `Incomplete` before.
    #[test]
    fn resumable_walk_agrees_with_value_len_byte_by_byte() {
        let mut deep = vec![0x91u8; MAX_DEPTH + 2];
        deep.push(0xc0);
        let cases: Vec<Vec<u8>> = vec![
            vec![0x01],
            vec![0x90],
            vec![0x80],
            vec![
                0x93, 0xa1, b't', 0x92, 0x92, 0x01, 0x81, 0xa1, b'k', 0xa2, b'v', b'w', 0x92, 0xd7,
                0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0x81, 0xa5, b'c', b'h', b'u', b'n', b'k', 0xc4,
                0x02, 0xff, 0xfe, 0x07,
            ],
            vec![0x92, 0x90, 0x91, 0x80, 0x05],
            vec![
                0xdc, 0x00, 0x02, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc7, 0x01, 0x05, 0xaa,
            ],
            vec![0x92, 0xc1, 0x00],
            deep,
        ];
        for (i, bytes) in cases.iter().enumerate() {
            let whole = value_len(bytes);
            let mut walk = Resumable::default();
            let mut got = Err(DecodeError::Incomplete);
            for end in 1..=bytes.len() {
                got = walk.resume(&bytes[..end]);
                if got != Err(DecodeError::Incomplete) {
                    break;
                }
            }
            assert_eq!(got, whole, "case {i}");
        }
    }
}
