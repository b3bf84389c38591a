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

use std::io::{self, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::filter::{Filter, FilterScratch};
use crate::format::json;
use crate::stream::{Line, LineFramer, Overlong};

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

/// Bytes asked for per read: a message is answered as soon as its line is read.
const READ_BYTES: usize = 64 * 1024;

/// Serves messages from `input` until end of input. `filter` is `None` when the configuration
/// could not be loaded: then every message is replied to as redacted (nothing may go to stderr
/// to say so). A message longer than `max_message_bytes` is not held: it is dropped as it is read
/// and replied to as unprocessable. Returns only I/O errors on `output` or `input`.
pub fn serve(
    input: &mut dyn Read,
    output: &mut dyn Write,
    filter: Option<&Filter>,
    kind: RsyslogInput,
    max_message_bytes: usize,
    mark: ReplyMark,
) -> io::Result<()> {
    let mut scratch = filter.map(Filter::scratch);
    let mut framer = LineFramer::new(max_message_bytes, Overlong::Drop);
    let mut reply = Vec::new();
    loop {
        let at_end = framer.fill(input, READ_BYTES)? == 0;
        while let Some(line) = framer.next_line(at_end) {
            let (message, used) = match line {
                Line::Whole { len, newline } => {
                    (Some(&framer.data()[..len]), len + usize::from(newline))
                }
                Line::TooLong => (None, 0),
            };
            reply.clear();
            let answered = match (filter, scratch.as_mut(), message) {
                (Some(filter), Some(scratch), Some(message)) => {
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        let mut reply = Vec::new();
                        answer(filter, scratch, kind, message, &mut reply).then_some(reply)
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
            framer.consume(used);
            if !answered {
                reply.clear();
                reply.extend_from_slice(UNPROCESSABLE_REPLY);
            }
            add_mark(&mut reply, mark);
            output.write_all(&reply)?;
            output.flush()?;
        }
        if at_end {
            return Ok(());
        }
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
    fn one_reply_per_message_also_for_over_long_and_unterminated_ones() {
        let input = [&b"short\n"[..], &b"x".repeat(200_000), b"\n\nlast"].concat();
        let filter = crate::builtin_filter().unwrap();
        let mut out = Vec::new();
        serve(
            &mut &input[..],
            &mut out,
            Some(&filter),
            RsyslogInput::Msg,
            8,
            ReplyMark::Plain,
        )
        .unwrap();
        let expected = [
            UNCHANGED_REPLY,
            UNPROCESSABLE_REPLY,
            UNCHANGED_REPLY,
            UNCHANGED_REPLY,
        ];
        assert_eq!(out, expected.concat());
    }
}
