//! rsyslog `mmexternal` protocol (`--format rsyslog`): each input line is one message (the MSG
//! property with `interface.input="msg"`, or a JSON object with `"fulljson"`); each gets exactly
//! one reply line, in order, flushed at once: `{"msg":"<redacted>"}` when it changed, `{}` when not.
//! With [`ReplyMark::Processed`] (`--rsyslog-mark`) every reply also sets the message variable
//! `$!lr` to `"ok"`, so the rsyslog config can quarantine any message that went through
//! mmexternal without a reply of ours (mmexternal passes those on unchanged when we die).
//!
//! Owns: the request/reply loop. Must never: write to stderr (rsyslog reads it from the same pipe,
//! so one stray line would shift every later reply), skip or reorder a reply, or let a message
//! through unredacted because something failed — a message that cannot be processed is replied
//! to as wholly redacted (fail closed; rsyslog itself fails open on a bad reply).

use std::io::{self, BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::filter::{Filter, FilterScratch};
use crate::format::json;

/// Replacement for a message that could not be processed (too long, unparseable, internal error).
pub const UNPROCESSABLE_REPLY: &[u8] = b"{\"msg\":\"[REDACTED:unprocessable-message]\"}\n";
const UNCHANGED_REPLY: &[u8] = b"{}\n";

/// Whether replies carry the processed mark `"$!":{"lr":"ok"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMark {
    /// `{"msg":...}` / `{}` only.
    #[default]
    Plain,
    /// Every reply, also `{}` and the unprocessable one, sets `$!lr` to `"ok"`.
    Processed,
}

/// The variable a marked reply sets (`$!lr`), as JSON members to add to the reply object.
const MARK_MEMBER: &[u8] = b"\"$!\":{\"lr\":\"ok\"}";

/// Adds the mark to a finished reply line (`{...}\n`).
fn add_mark(reply: &mut Vec<u8>, mark: ReplyMark) {
    if mark == ReplyMark::Plain || !reply.ends_with(b"}\n") {
        return;
    }
    reply.truncate(reply.len() - 2);
    if reply.len() > 1 {
        reply.push(b',');
    }
    reply.extend_from_slice(MARK_MEMBER);
    reply.extend_from_slice(b"}\n");
}

/// What rsyslog sends per message (`interface.input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RsyslogInput {
    /// The MSG property as one line.
    #[default]
    Msg,
    /// A JSON object with `msg`, `rawmsg`, `hostname`, … per line.
    Fulljson,
}

/// Serves messages from `input` until end of input. `filter` is `None` when the configuration
/// could not be loaded: then every message is replied to as redacted (nothing may go to stderr
/// to say so). Returns only I/O errors on `output` or `input`.
pub fn serve(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    filter: Option<&Filter>,
    kind: RsyslogInput,
    max_message_bytes: usize,
    mark: ReplyMark,
) -> io::Result<()> {
    let mut scratch = filter.map(Filter::scratch);
    let mut message = Vec::new();
    let mut reply = Vec::new();
    loop {
        message.clear();
        let Some(complete) = read_message(input, &mut message, max_message_bytes)? else {
            return Ok(());
        };
        reply.clear();
        let answered = match (filter, scratch.as_mut()) {
            (Some(filter), Some(scratch)) if complete => {
                let result = catch_unwind(AssertUnwindSafe(|| {
                    let mut reply = Vec::new();
                    answer(filter, scratch, kind, &message, &mut reply).then_some(reply)
                }));
                match result {
                    Ok(Some(r)) => {
                        reply = r;
                        true
                    }
                    Ok(None) => false,
                    Err(_) => {
                        // The scratch may be half-updated: start afresh.
                        *scratch = filter.scratch();
                        false
                    }
                }
            }
            _ => false,
        };
        if !answered {
            reply.clear();
            reply.extend_from_slice(UNPROCESSABLE_REPLY);
        }
        add_mark(&mut reply, mark);
        output.write_all(&reply)?;
        output.flush()?;
    }
}

/// Builds the reply for one message; `false` means "cannot process: fail closed".
fn answer(
    filter: &Filter,
    scratch: &mut FilterScratch,
    kind: RsyslogInput,
    message: &[u8],
    reply: &mut Vec<u8>,
) -> bool {
    let mut redacted = Vec::with_capacity(message.len() + 32);
    let changed = match kind {
        RsyslogInput::Msg => filter.redact_message(message, scratch, &mut redacted),
        RsyslogInput::Fulljson => {
            let Ok(serde_json::Value::Object(fields)) =
                serde_json::from_slice::<serde_json::Value>(message)
            else {
                return false;
            };
            match fields.get("msg") {
                Some(serde_json::Value::String(msg)) => {
                    filter.redact_message(msg.as_bytes(), scratch, &mut redacted)
                }
                None => false,
                Some(_) => return false,
            }
        }
    };
    if changed {
        reply.extend_from_slice(b"{\"msg\":\"");
        json::escape_into(&redacted, reply);
        reply.extend_from_slice(b"\"}\n");
    } else {
        reply.extend_from_slice(UNCHANGED_REPLY);
    }
    true
}

/// Reads one line (without its `\n`) into `line`, keeping at most `max` bytes. Returns `None` at
/// end of input, `Some(false)` when the line was longer than `max` (the rest is consumed and
/// dropped), `Some(true)` otherwise.
fn read_message(
    input: &mut dyn BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<bool>> {
    let mut complete = true;
    let mut seen_any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(seen_any.then_some(complete));
        }
        seen_any = true;
        let (chunk, used, done) = match memchr::memchr(b'\n', available) {
            Some(nl) => (&available[..nl], nl + 1, true),
            None => (available, available.len(), false),
        };
        let room = max.saturating_sub(line.len());
        if chunk.len() > room {
            complete = false;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        input.consume(used);
        if done {
            return Ok(Some(complete));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_is_added_to_every_kind_of_reply() {
        for (plain, marked) in [
            (&b"{}\n"[..], &b"{\"$!\":{\"lr\":\"ok\"}}\n"[..]),
            (
                b"{\"msg\":\"a\"}\n",
                b"{\"msg\":\"a\",\"$!\":{\"lr\":\"ok\"}}\n",
            ),
            (
                UNPROCESSABLE_REPLY,
                b"{\"msg\":\"[REDACTED:unprocessable-message]\",\"$!\":{\"lr\":\"ok\"}}\n",
            ),
        ] {
            let mut r = plain.to_vec();
            add_mark(&mut r, ReplyMark::Plain);
            assert_eq!(r, plain);
            add_mark(&mut r, ReplyMark::Processed);
            assert_eq!(r, marked);
            assert!(serde_json::from_slice::<serde_json::Value>(&r).is_ok());
        }
    }

    #[test]
    fn bounded_reader_frames_lines() {
        let mut input: &[u8] = b"short\nthis one is long\nlast";
        let mut line = Vec::new();
        assert_eq!(read_message(&mut input, &mut line, 8).unwrap(), Some(true));
        assert_eq!(line, b"short");
        line.clear();
        assert_eq!(read_message(&mut input, &mut line, 8).unwrap(), Some(false));
        line.clear();
        assert_eq!(read_message(&mut input, &mut line, 8).unwrap(), Some(true));
        assert_eq!(line, b"last");
        line.clear();
        assert_eq!(read_message(&mut input, &mut line, 8).unwrap(), None);
    }
}
