//! The inputs of `logredact filter FILE...`: opening each one, and making each file's end a line
//! end (issue 14, C3 and L5's `filter a b`); and telling a closed stdout from `> /dev/null` (M6).
//!
//! Owns: the open error text (the path and the OS reason) and the newline added after a file
//! whose last line has none. Must never: read ahead, reorder or drop a byte of input, or put
//! file content in a message.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::shutdown::Shutdown;
use crate::stream::StreamError;

/// Runs `filter_one(reader, is_stdin)` on each input in order (`-`, or no file at all, is
/// stdin). A file that cannot be opened is reported on stderr and skipped; the second value
/// says whether that happened (exit 1 at the end). Stops at a stream error or a signal.
pub fn each_input(
    files: &[PathBuf],
    shutdown: &Shutdown,
    mut filter_one: impl FnMut(&mut dyn Read, bool) -> Result<(), StreamError>,
) -> (Result<(), StreamError>, bool) {
    let stdin_only = [PathBuf::from("-")];
    let inputs = if files.is_empty() {
        &stdin_only[..]
    } else {
        files
    };
    let (mut result, mut unreadable) = (Ok(()), false);
    for (i, path) in inputs.iter().enumerate() {
        // Each file's end is a line end: a last line without newline must not join the next
        // file's first line (two lines become one, and a secret split across them escapes).
        let line_end = match i + 1 < inputs.len() {
            true => LastLine::Terminate,
            false => LastLine::AsIs,
        };
        result = if path.as_os_str() == "-" {
            filter_one(&mut LineEnded::new(io::stdin().lock(), line_end), true)
        } else {
            match open_file(path) {
                Ok(file) => filter_one(&mut LineEnded::new(file, line_end), false),
                Err(message) => {
                    eprintln!("logredact: {message}");
                    unreadable = true;
                    continue;
                }
            }
        };
        if result.is_err() || shutdown.requested() {
            break;
        }
    }
    (result, unreadable)
}

/// What to do when an input ends without a newline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastLine {
    /// Add one: another input follows, and its first line must not be glued to this last one.
    Terminate,
    /// Leave it: the last input's last line is written as it came (like stdin).
    AsIs,
}

/// Opens `path` for reading, or says why not (for the caller to report and skip). A directory is
/// refused here, where its name is at hand, rather than failing on the first read.
pub fn open_file(path: &Path) -> Result<File, String> {
    let name = path.display();
    let file = File::open(path).map_err(|e| format!("{name}: {e}"))?;
    match file.metadata() {
        Ok(meta) if meta.is_dir() => Err(format!("{name}: is a directory")),
        Ok(_) => Ok(file),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

/// Whether our stdout was closed when we were started (`logredact >&-`). Rust's runtime then
/// opens `/dev/null` on fd 1 before `main` (so output would vanish without an error); it opens it
/// read-write, while a shell's `> /dev/null` opens it write-only — that is how the two are told
/// apart. Linux only (`/proc`); elsewhere, and on any doubt, the answer is no.
pub fn stdout_was_closed() -> bool {
    let is_null = std::fs::read_link("/proc/self/fd/1").is_ok_and(|p| p == Path::new("/dev/null"));
    let read_write = || {
        let info = std::fs::read_to_string("/proc/self/fdinfo/1").unwrap_or_default();
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|f| u32::from_str_radix(f.trim(), 8).ok());
        flags.is_some_and(|f| f & 0o3 == 0o2)
    };
    is_null && read_write()
}

/// A reader that, with [`LastLine::Terminate`], yields one `\n` at end of input when the last
/// byte read was not one (and the input was not empty).
pub struct LineEnded<R> {
    inner: R,
    policy: LastLine,
    /// The last byte read so far, if any.
    last: Option<u8>,
    done: bool,
}

impl<R: Read> LineEnded<R> {
    pub fn new(inner: R, policy: LastLine) -> Self {
        LineEnded {
            inner,
            policy,
            last: None,
            done: false,
        }
    }
}

impl<R: Read> Read for LineEnded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
            return Ok(n);
        }
        self.done = true;
        match (self.policy, self.last) {
            (LastLine::Terminate, Some(b)) if b != b'\n' => {
                buf[0] = b'\n';
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], policy: LastLine) -> Vec<u8> {
        let mut out = Vec::new();
        LineEnded::new(input, policy).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn a_missing_final_newline_is_added_only_when_asked() {
        assert_eq!(read_all(b"a\nb", LastLine::Terminate), b"a\nb\n");
        assert_eq!(read_all(b"a\nb", LastLine::AsIs), b"a\nb");
        assert_eq!(read_all(b"a\n", LastLine::Terminate), b"a\n");
        assert_eq!(read_all(b"", LastLine::Terminate), b"");
    }

    #[test]
    fn a_directory_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_file(dir.path()).unwrap_err();
        assert!(e.ends_with("is a directory"), "{e}");
    }
}
