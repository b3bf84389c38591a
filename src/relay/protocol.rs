//! The Forward protocol (fluentd forward protocol spec v1) on top of [`msgpack`]: turns one
//! decoded message of any mode (Message, Forward, PackedForward, CompressedPackedForward) into
//! a [`Batch`], and a batch back into a Forward-mode message with its own `chunk`.
//!
//! Owns: mode detection, gzip inflation (bounded), the `option` map and acks. Must never: accept
//! a message whose shape it does not know (it is an error naming the mode, never content), or
//! inflate more than the size cap.

use std::io::Read;

use super::msgpack::{self, Value};

/// One incoming message, whatever its mode: a tag and its entries in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub tag: Vec<u8>,
    /// `(time, record)`: the time is kept as it came (integer, EventTime ext 0, or Fluent Bit's
    /// `[time, metadata]` pair), only the record is rewritten.
    pub entries: Vec<(Value, Value)>,
    /// The `chunk` option: when present the sender waits for `{"ack": chunk}`.
    pub chunk: Option<Vec<u8>>,
}

/// Which mode a message used (for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Message,
    Forward,
    PackedForward,
    CompressedPackedForward,
}

/// Decodes a top-level Forward-protocol message into a batch; `max_bytes` caps the inflated
/// size of a compressed one.
pub fn parse(msg: Value, max_bytes: usize) -> Result<(Batch, Mode), &'static str> {
    let Value::Array(mut items) = msg else {
        return Err("message is not an array");
    };
    if items.len() < 2 || items.len() > 4 {
        return Err("message array has an unknown length");
    }
    let tag = match items.remove(0) {
        Value::Str(t) => t,
        _ => return Err("tag is not a string"),
    };
    let second = items.remove(0);
    // Message mode: [tag, time, record, option?]; the others: [tag, entries, option?].
    let (entries, option, mode) = match second {
        Value::Array(list) => {
            let option = take_option(&mut items)?;
            let mut entries = Vec::with_capacity(list.len());
            for e in list {
                entries.push(entry(e)?);
            }
            (entries, option, Mode::Forward)
        }
        Value::Str(packed) | Value::Bin(packed) => {
            let option = take_option(&mut items)?;
            let compressed = option.as_ref().and_then(|o| o.get(b"compressed"));
            let (bytes, mode) = match compressed.and_then(Value::as_bytes) {
                Some(b"gzip") => (gunzip(&packed, max_bytes)?, Mode::CompressedPackedForward),
                Some(_) => return Err("unknown compression"),
                None => (packed, Mode::PackedForward),
            };
            (unpack(&bytes)?, option, mode)
        }
        time => {
            if items.is_empty() {
                return Err("message mode without a record");
            }
            let record = items.remove(0);
            let option = take_option(&mut items)?;
            (vec![(time, record)], option, Mode::Message)
        }
    };
    let chunk = option
        .as_ref()
        .and_then(|o| o.get(b"chunk"))
        .and_then(Value::as_bytes)
        .map(<[u8]>::to_vec);
    Ok((
        Batch {
            tag,
            entries,
            chunk,
        },
        mode,
    ))
}

fn take_option(rest: &mut Vec<Value>) -> Result<Option<Value>, &'static str> {
    match rest.pop() {
        None | Some(Value::Nil) => Ok(None),
        Some(m @ Value::Map(_)) if rest.is_empty() => Ok(Some(m)),
        Some(_) => Err("option is not a map"),
    }
}

fn entry(e: Value) -> Result<(Value, Value), &'static str> {
    match e {
        Value::Array(mut pair) if pair.len() == 2 => {
            let record = pair.pop().ok_or("entry without a record")?;
            let time = pair.pop().ok_or("entry without a time")?;
            Ok((time, record))
        }
        _ => Err("entry is not a [time, record] pair"),
    }
}

/// The entries of a PackedForward stream: `[time, record]` arrays back to back.
fn unpack(mut bytes: &[u8]) -> Result<Vec<(Value, Value)>, &'static str> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (v, used) = msgpack::decode(bytes).map_err(|e| match e {
            msgpack::DecodeError::Incomplete => "packed entries end inside an entry",
            msgpack::DecodeError::Invalid(why) => why,
        })?;
        out.push(entry(v)?);
        bytes = &bytes[used..];
    }
    Ok(out)
}

/// Inflates concatenated gzip members (Fluentd sends one per chunk append), at most `max`.
fn gunzip(data: &[u8], max: usize) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| "bad gzip data")?;
    if out.len() > max {
        return Err("inflated message over the size cap");
    }
    Ok(out)
}

/// Appends `batch` as a Forward-mode message; `chunk` asks the next hop for an ack.
pub fn encode_forward(batch: &Batch, chunk: Option<&[u8]>, out: &mut Vec<u8>) {
    out.push(if chunk.is_some() { 0x93 } else { 0x92 });
    msgpack::encode(&Value::Str(batch.tag.clone()), out);
    // The entries are encoded one by one rather than cloned into a Value::Array.
    let n = batch.entries.len();
    if n <= 15 {
        out.push(0x90 | n as u8);
    } else if n <= 0xffff {
        out.push(0xdc);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    for (time, record) in &batch.entries {
        out.push(0x92);
        msgpack::encode(time, out);
        msgpack::encode(record, out);
    }
    if let Some(c) = chunk {
        msgpack::encode(
            &Value::Map(vec![(msgpack::str(b"chunk"), msgpack::str(c))]),
            out,
        );
    }
}

/// The ack for `chunk`: `{"ack": chunk}`.
pub fn encode_ack(chunk: &[u8], out: &mut Vec<u8>) {
    msgpack::encode(
        &Value::Map(vec![(msgpack::str(b"ack"), msgpack::str(chunk))]),
        out,
    );
}

/// Whether `reply` acknowledges `chunk`.
pub fn is_ack_for(reply: &Value, chunk: &[u8]) -> bool {
    reply.get(b"ack").and_then(Value::as_bytes) == Some(chunk)
}

/// Where the entries of a message are, without decoding them: the hot path of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEntries<'a> {
    /// `[time, record]` arrays back to back (Forward: `count` of them; PackedForward and
    /// CompressedPackedForward: as many as the bytes hold, `count` is `None`).
    Seq {
        bytes: &'a [u8],
        count: Option<usize>,
    },
    /// Message mode's single entry.
    One { time: &'a [u8], record: &'a [u8] },
}

/// A message of any mode as byte ranges of the received (or inflated) buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawBatch<'a> {
    pub tag: &'a [u8],
    pub entries: RawEntries<'a>,
    pub chunk: Option<&'a [u8]>,
    pub mode: Mode,
}

fn invalid(e: msgpack::DecodeError) -> &'static str {
    match e {
        msgpack::DecodeError::Incomplete => "message ends inside a value",
        msgpack::DecodeError::Invalid(why) => why,
    }
}

/// Like [`parse`], over the bytes of one whole message (as the framer returns it) and without
/// building a tree; a compressed message is inflated into `inflated` (reused across chunks).
pub fn parse_raw<'a>(
    msg: &'a [u8],
    max_bytes: usize,
    inflated: &'a mut Vec<u8>,
) -> Result<RawBatch<'a>, &'static str> {
    use msgpack::{Cursor, Head};
    let mut c = Cursor::new(msg);
    let n = match c.head().map_err(invalid)? {
        Head::Array(n) => n,
        _ => return Err("message is not an array"),
    };
    if !(2..=4).contains(&n) {
        return Err("message array has an unknown length");
    }
    let tag = match c.head().map_err(invalid)? {
        Head::Str(len) => c.take(len).map_err(invalid)?,
        _ => return Err("tag is not a string"),
    };
    // The remaining items as byte ranges (at most three).
    let mut items: [&[u8]; 3] = [&[]; 3];
    for item in items.iter_mut().take(n - 1) {
        let start = c.pos;
        c.skip(1).map_err(invalid)?;
        *item = &msg[start..c.pos];
    }
    let rest = &items[1..n - 1];
    let second = items[0];
    let mut sc = Cursor::new(second);
    let (entries, option, mode) = match sc.head().map_err(invalid)? {
        Head::Array(count) => (
            RawEntries::Seq {
                bytes: &second[sc.pos..],
                count: Some(count),
            },
            raw_option(rest)?,
            Mode::Forward,
        ),
        Head::Str(len) | Head::Bin(len) => {
            let packed = sc.take(len).map_err(invalid)?;
            let option = raw_option(rest)?;
            let compressed = option.as_ref().and_then(|o| o.get(b"compressed"));
            let (bytes, mode) = match compressed.and_then(Value::as_bytes) {
                Some(b"gzip") => {
                    gunzip_into(packed, max_bytes, inflated)?;
                    (&inflated[..], Mode::CompressedPackedForward)
                }
                Some(_) => return Err("unknown compression"),
                None => (packed, Mode::PackedForward),
            };
            (RawEntries::Seq { bytes, count: None }, option, mode)
        }
        _ => {
            let Some((record, rest)) = rest.split_first() else {
                return Err("message mode without a record");
            };
            (
                RawEntries::One {
                    time: second,
                    record,
                },
                raw_option(rest)?,
                Mode::Message,
            )
        }
    };
    // The chunk id borrows from `msg`: find it again in the option's bytes.
    let chunk = match option.as_ref().and_then(|o| o.get(b"chunk")) {
        Some(Value::Str(_) | Value::Bin(_)) => find_chunk(items[n - 2]),
        _ => None,
    };
    Ok(RawBatch {
        tag,
        entries,
        chunk,
        mode,
    })
}

/// The option map (small: decoded as a tree) from the items after the entries, as
/// [`take_option`] does.
fn raw_option(rest: &[&[u8]]) -> Result<Option<Value>, &'static str> {
    let Some((last, before)) = rest.split_last() else {
        return Ok(None);
    };
    let (v, _) = msgpack::decode(last).map_err(invalid)?;
    match v {
        Value::Nil => Ok(None),
        m @ Value::Map(_) if before.is_empty() => Ok(Some(m)),
        _ => Err("option is not a map"),
    }
}

/// The bytes of the first `chunk` member's value (str or bin) in an option map's encoding, as
/// [`Value::get`] finds it.
fn find_chunk(option: &[u8]) -> Option<&[u8]> {
    use msgpack::{Cursor, Head};
    // A str or bin body at the front of `v`.
    fn body(v: &[u8]) -> Option<&[u8]> {
        let mut c = Cursor::new(v);
        match c.head().ok()? {
            Head::Str(len) | Head::Bin(len) => c.take(len).ok(),
            _ => None,
        }
    }
    let mut c = Cursor::new(option);
    let Ok(Head::Map(n)) = c.head() else {
        return None;
    };
    for _ in 0..n {
        let k = c.pos;
        c.skip(1).ok()?;
        let key = &option[k..c.pos];
        let v = c.pos;
        c.skip(1).ok()?;
        if body(key) == Some(b"chunk".as_slice()) {
            return body(&option[v..c.pos]);
        }
    }
    None
}

/// Inflates concatenated gzip members into `out` (cleared first), at most `max` bytes.
fn gunzip_into(data: &[u8], max: usize, out: &mut Vec<u8>) -> Result<(), &'static str> {
    out.clear();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(out)
        .map_err(|_| "bad gzip data")?;
    if out.len() > max {
        return Err("inflated message over the size cap");
    }
    Ok(())
}
