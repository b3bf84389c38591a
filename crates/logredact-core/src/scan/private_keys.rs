//! The ordered pass: bodies of multi-line private keys, which only the lines before a line can
//! tell (see `format::pem` for what a block may hold).
//!
//! Owns: which lines of a batch feed which block state, and mapping bodies back to raw bytes.
//! State is kept per stream — plain text, each CRI stream, each Docker stream — so a block of one
//! never swallows lines of another. Must never: write bytes, or look at lines that neither hold
//! armour nor follow an open block.

use memchr::{memchr, memmem};

use super::views::Map;
use super::{finding, message_start, reads_as_json, Scanner};
use crate::finding::{Encoding, Finding, FindingKind};
use crate::format::json;
use crate::format::pem::{self, PemState};
use crate::format::tokens::{Role, TokenKind, Tokens};

/// Block state of every stream of one input.
#[derive(Debug, Clone, Default)]
pub struct KeyStreams {
    text: PemState,
    /// CRI stdout, stderr.
    cri: [PemState; 2],
    /// Docker json-file stdout, stderr.
    docker: [PemState; 2],
}

impl KeyStreams {
    /// Whether a private-key block is open in any stream.
    pub fn any_open(&self) -> bool {
        self.text.is_open()
            || self.cri.iter().any(PemState::is_open)
            || self.docker.iter().any(PemState::is_open)
    }
}

/// Feeds the lines of `text` that need it (from the first armour line, or all while a block is
/// open) and appends the bodies found as findings.
pub(super) fn track(
    scanner: &Scanner,
    text: &[u8],
    armour_lines: &[usize],
    streams: &mut KeyStreams,
    out: &mut Vec<Finding>,
) {
    let mut next_armour = 0;
    let mut line_start = if streams.any_open() {
        0
    } else {
        match armour_lines.first() {
            Some(&a) => a,
            None => return,
        }
    };
    let mut tokens = Tokens::default();
    while line_start < text.len() {
        let line_end = memchr(b'\n', &text[line_start..]).map_or(text.len(), |p| line_start + p);
        while armour_lines
            .get(next_armour)
            .is_some_and(|&a| a <= line_start)
        {
            next_armour += 1;
        }
        feed_line(
            scanner,
            text,
            line_start..line_end,
            streams,
            &mut tokens,
            out,
        );
        line_start = line_end + 1;
        if !streams.any_open() {
            match armour_lines.get(next_armour) {
                Some(&a) => line_start = line_start.max(a),
                None => return,
            }
        }
    }
}

fn feed_line(
    scanner: &Scanner,
    text: &[u8],
    line: std::ops::Range<usize>,
    streams: &mut KeyStreams,
    tokens: &mut Tokens,
    out: &mut Vec<Finding>,
) {
    let bytes = &text[line.clone()];
    let mut bodies = Vec::new();
    if let Some(cri) = message_start(scanner, bytes) {
        let start = line.start + cri.message_start;
        let message = &text[start..line.end];
        if reads_as_json(scanner, message) {
            json_values(scanner, message, start, streams, tokens, out);
            return;
        }
        let stream = usize::from(memmem::find(&bytes[..cri.message_start], b" stderr ").is_some());
        streams.cri[stream].feed(message, &mut bodies);
        push_raw(scanner, message, &bodies, start, out);
        return;
    }
    if reads_as_json(scanner, bytes) {
        json_values(scanner, bytes, line.start, streams, tokens, out);
        return;
    }
    streams.text.feed(bytes, &mut bodies);
    push_raw(scanner, bytes, &bodies, line.start, out);
}

/// Whether a body holds key material besides our own markers (a one-line key a rule redacted
/// already is left alone, so a second pass changes nothing).
fn is_material(scanner: &Scanner, body: &[u8]) -> bool {
    let mut markers = Vec::new();
    scanner.detector.markers().find_all(body, &mut markers);
    let mut from = 0;
    for m in markers
        .iter()
        .chain(std::iter::once(&(body.len()..body.len())))
    {
        if body[from..m.start].iter().any(u8::is_ascii_alphanumeric) {
            return true;
        }
        from = m.end;
    }
    false
}

fn push_raw(
    scanner: &Scanner,
    line: &[u8],
    bodies: &[std::ops::Range<usize>],
    base: usize,
    out: &mut Vec<Finding>,
) {
    for b in bodies
        .iter()
        .filter(|b| is_material(scanner, &line[(*b).clone()]))
    {
        out.push(finding(
            FindingKind::PrivateKeyBody,
            base + b.start..base + b.end,
            Encoding::Raw,
        ));
    }
}

/// A JSON document at `base`: a Docker record's `log` feeds that Docker stream; every other string
/// value is a stream of its own (a key printed whole inside one value, `"-----BEGIN…\n…\n-----END…"`).
fn json_values(
    scanner: &Scanner,
    doc: &[u8],
    base: usize,
    streams: &mut KeyStreams,
    tokens: &mut Tokens,
    out: &mut Vec<Finding>,
) {
    tokens.read(doc);
    let docker = docker_streams(doc, tokens);
    // A Docker record: `log` and `time` members at the top, whatever `log` holds.
    let top_key = |name: &[u8]| {
        tokens.tokens.iter().any(|t| {
            t.role == Role::Key && t.container == Some(0) && doc[t.content.clone()] == *name
        })
    };
    let is_docker = top_key(b"log") && top_key(b"time");
    let has_armour = pem::may_open(doc);
    let map = Map::Offset(base);
    let (mut decoded, mut local) = (Vec::new(), Vec::new());
    for (i, t) in tokens.tokens.iter().enumerate() {
        if t.role == Role::Key || !matches!(t.kind, TokenKind::String { .. }) {
            continue;
        }
        // A Docker record's envelope (`time`, `stream`) is never searched nor changed.
        if is_docker && is_envelope(doc, tokens, t) {
            continue;
        }
        let state = match docker {
            Some((log, stream)) if log == i => Some(&mut streams.docker[stream]),
            _ => None,
        };
        if !state.as_ref().is_some_and(|s| s.is_open()) && !has_armour {
            continue;
        }
        let mut local_state = PemState::default();
        let state = state.unwrap_or(&mut local_state);
        json::decode(&doc[t.content.clone()], &mut decoded, &mut local);
        let child = map.child(t.content.start, &local);
        let mut piece_start = 0;
        let mut bodies = Vec::new();
        while piece_start <= decoded.len() {
            let piece_end =
                memchr(b'\n', &decoded[piece_start..]).map_or(decoded.len(), |p| piece_start + p);
            if piece_end == decoded.len() && piece_start == piece_end && piece_start > 0 {
                break; // the empty piece after a final newline is not a line
            }
            bodies.clear();
            state.feed(&decoded[piece_start..piece_end], &mut bodies);
            let piece = &decoded[piece_start..piece_end];
            for b in bodies
                .iter()
                .filter(|b| is_material(scanner, &piece[(*b).clone()]))
            {
                out.push(finding(
                    FindingKind::PrivateKeyBody,
                    child.raw(piece_start + b.start..piece_start + b.end),
                    Encoding::JsonString { depth: 1 },
                ));
            }
            piece_start = piece_end + 1;
        }
    }
}

/// Whether `t` is a top-level member value under a Docker envelope key.
fn is_envelope(doc: &[u8], tokens: &Tokens, t: &crate::format::tokens::Token) -> bool {
    let Role::MemberValue { key } = t.role else {
        return false;
    };
    t.container == Some(0)
        && crate::format::DOCKER_ENVELOPE_KEYS
            .iter()
            .any(|k| doc[tokens.tokens[key as usize].content.clone()] == *k.as_bytes())
}

/// For a Docker json-file record: the index of its `log` token and its stream (0 stdout,
/// 1 stderr).
fn docker_streams(doc: &[u8], tokens: &Tokens) -> Option<(usize, usize)> {
    let mut log = None;
    let mut stream = 0;
    let mut has_time = false;
    for (i, t) in tokens.tokens.iter().enumerate() {
        let Role::MemberValue { key } = t.role else {
            continue;
        };
        if t.container != Some(0) {
            continue;
        }
        match &doc[tokens.tokens[key as usize].content.clone()] {
            b"log" => log = Some(i),
            b"time" => has_time = true,
            b"stream" => stream = usize::from(&doc[t.content.clone()] == b"stderr"),
            _ => {}
        }
    }
    log.filter(|_| has_time).map(|l| (l, stream))
}
