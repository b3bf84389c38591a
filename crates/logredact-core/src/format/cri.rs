//! CRI container log lines (`<RFC3339Nano> <stdout|stderr> <P|F> <message>`), as the kubelet
//! writes them under `/var/log/pods`.
//!
//! Owns: recognising the envelope and where the message starts. Must never: let anything
//! rewrite the envelope (time, stream, tag).

/// A recognised CRI line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CriLine {
    /// Offset of the message (after the tag and its space); may equal the line length.
    pub message_start: usize,
    /// `P`: a partial record, continued by the next line of the same stream.
    pub partial: bool,
}

/// Parses the CRI envelope of `line` (without its newline).
pub fn parse(line: &[u8]) -> Option<CriLine> {
    let time_end = memchr::memchr(b' ', line)?;
    if !looks_like_rfc3339(&line[..time_end]) {
        return None;
    }
    let rest = &line[time_end + 1..];
    let stream_len = if rest.starts_with(b"stdout ") || rest.starts_with(b"stderr ") {
        6
    } else {
        return None;
    };
    let tag_at = time_end + 1 + stream_len + 1;
    let partial = match line.get(tag_at) {
        Some(b'P') => true,
        Some(b'F') => false,
        _ => return None,
    };
    let message_start = match line.get(tag_at + 1) {
        Some(b' ') => tag_at + 2,
        None => tag_at + 1,
        _ => return None,
    };
    Some(CriLine {
        message_start,
        partial,
    })
}

/// `2024-01-02T03:04:05.123456789Z` or with a `+hh:mm` offset: checked loosely but cheaply.
fn looks_like_rfc3339(t: &[u8]) -> bool {
    t.len() >= 20
        && t.len() <= 40
        && t[..4].iter().all(u8::is_ascii_digit)
        && t[4] == b'-'
        && t[7] == b'-'
        && t[10] == b'T'
        && t[13] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_and_partial_records() {
        let l = b"2024-05-01T10:00:00.123456789Z stdout F hello world";
        assert_eq!(
            parse(l),
            Some(CriLine {
                message_start: 40,
                partial: false
            })
        );
        let p = parse(b"2024-05-01T10:00:00.1+02:00 stderr P part").unwrap();
        assert!(p.partial);
        assert_eq!(
            parse(b"2024-05-01T10:00:00.123Z stdout F")
                .unwrap()
                .message_start,
            33
        );
    }

    #[test]
    fn rejects_other_lines() {
        for l in [
            &b"hello stdout F x"[..],
            b"2024-05-01T10:00:00.123Z stdin F x",
            b"2024-05-01T10:00:00.123Z stdout X x",
            b"2024-05-01T10:00:00.123Z stdout Fx",
            b"",
        ] {
            assert_eq!(parse(l), None);
        }
    }
}
