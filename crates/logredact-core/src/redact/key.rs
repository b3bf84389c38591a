//! The key of `--mode hash`: loading it from a file, an environment variable or the OS random
//! source, and computing the keyed tag of a secret.
//!
//! Owns: key loading rules for the filter and `lint` alike (at least [`MIN_KEY_BYTES`], not weak,
//! never from the command line, an environment variable scrubbed after reading) and the
//! HMAC-SHA256 tag. Must never: print, log or keep a copy of the key or of a secret beyond the
//! HMAC state; error messages name the file or variable and a length, never content.

use std::ffi::OsStr;
use std::fmt;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Shortest accepted key: a SHA-256 block's worth of guessing is what makes the tag one-way.
pub const MIN_KEY_BYTES: usize = 32;
/// A key file larger than this is not a key file (guards against pointing at a log by mistake).
const MAX_KEY_FILE_BYTES: u64 = 4096;
/// Hex digits of the tag written into markers: 48 bits, plenty to tell secrets apart in logs,
/// too few to serve as a verifier of guesses across a large dictionary.
pub const TAG_HEX_DIGITS: usize = 12;

/// A loaded key: the HMAC state with the key already absorbed, cloned per secret.
#[derive(Clone)]
pub struct HashKey {
    mac: HmacSha256,
    /// Whether the key was made up for this process only (tags do not correlate across runs).
    pub ephemeral: bool,
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashKey")
            .field("ephemeral", &self.ephemeral)
            .finish_non_exhaustive()
    }
}

/// Why a hash key was refused. Messages name where the key came from (`origin`: the option as
/// the user wrote it, e.g. `--hash-key-file PATH`) and the key's shape, never its bytes.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// Fewer than [`MIN_KEY_BYTES`] bytes.
    TooShort {
        /// Where the key came from.
        origin: String,
        /// Its length.
        len: usize,
    },
    /// A weak key (all whitespace, few distinct bytes, a short repeat).
    Weak {
        /// Where the key came from.
        origin: String,
        /// The shape that makes it weak.
        why: &'static str,
    },
    /// Not a regular file of at most `MAX_KEY_FILE_BYTES`.
    NotAKeyFile {
        /// Where the key came from.
        origin: String,
    },
    /// Readable by group or others, and that was not allowed.
    ReadableByOthers {
        /// Where the key came from.
        origin: String,
    },
    /// The file could not be read.
    Unreadable {
        /// Where the key came from.
        origin: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The environment variable is not set.
    NotSet {
        /// Where the key came from.
        origin: String,
    },
    /// The MAC refused the key.
    Unusable {
        /// Where the key came from.
        origin: String,
    },
    /// No random source for an ephemeral key (the system's reason).
    NoRandomSource(String),
}

const MAKE_A_KEY: &str = "(e.g. `head -c 32 /dev/urandom | base64 > FILE`)";

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::TooShort { origin, len } => write!(
                f,
                "{origin}: hash key is {len} bytes; at least {MIN_KEY_BYTES} are required \
                 {MAKE_A_KEY}"
            ),
            KeyError::Weak { origin, why } => {
                write!(f, "{origin}: hash key refused: {why} {MAKE_A_KEY}")
            }
            KeyError::NotAKeyFile { origin } => write!(
                f,
                "{origin}: not a key file (expected a regular file of at most \
                 {MAX_KEY_FILE_BYTES} bytes)"
            ),
            KeyError::ReadableByOthers { origin } => write!(
                f,
                "{origin}: readable by group or others; `chmod 600` it, or pass \
                 --allow-readable-key if that is intended"
            ),
            KeyError::Unreadable { origin, error } => write!(f, "{origin}: cannot read: {error}"),
            KeyError::NotSet { origin } => write!(f, "{origin}: variable is not set"),
            KeyError::Unusable { origin } => write!(f, "{origin}: unusable key"),
            KeyError::NoRandomSource(why) => write!(f, "--ephemeral-key: no random source: {why}"),
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::Unreadable { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl HashKey {
    /// Builds a key from raw bytes, which must be at least [`MIN_KEY_BYTES`] long.
    pub fn from_bytes(key: &[u8], source: &str) -> Result<HashKey, KeyError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                origin: source.to_owned(),
                len: key.len(),
            });
        }
        // HMAC accepts keys of any length, so this cannot fail; map it anyway rather than unwrap.
        let mac = HmacSha256::new_from_slice(key).map_err(|_| KeyError::Unusable {
            origin: source.to_owned(),
        })?;
        Ok(HashKey {
            mac,
            ephemeral: false,
        })
    }

    /// Reads the key from `path` (see `read_key`).
    pub fn from_file(path: &Path, access: KeyFileAccess) -> Result<HashKey, KeyError> {
        let origin = KeyOrigin::File(path, access);
        HashKey::from_bytes(&read_key(origin)?, &origin.name())
    }

    /// Reads the key from environment variable `var` and scrubs it (see `read_key`).
    pub fn from_env(var: &str) -> Result<HashKey, KeyError> {
        let origin = KeyOrigin::Env(var);
        HashKey::from_bytes(&read_key(origin)?, &origin.name())
    }

    /// The raw key bytes from a file or an environment variable, checked as for the filter:
    /// the one loader `lint` uses too (see `read_key`). `file` wins when both are given.
    pub fn read_user_key(
        file: Option<&Path>,
        env: Option<&str>,
        access: KeyFileAccess,
    ) -> Result<Option<Vec<u8>>, KeyError> {
        match (file, env) {
            (Some(path), _) => read_key(KeyOrigin::File(path, access)).map(Some),
            (None, Some(var)) => read_key(KeyOrigin::Env(var)).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Environment variables that held a key: a `run` child must not get them (see `read_key`).
    pub fn must_not_inherit() -> Vec<std::ffi::OsString> {
        SCRUBBED.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// A random key for this process only: tags correlate within one run, never across runs.
    pub fn ephemeral() -> Result<HashKey, KeyError> {
        let mut bytes = [0u8; MIN_KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::NoRandomSource(e.to_string()))?;
        let mut key = HashKey::from_bytes(&bytes, "--ephemeral-key")?;
        key.ephemeral = true;
        Ok(key)
    }

    /// Writes the first [`TAG_HEX_DIGITS`] lower-case hex digits of HMAC-SHA256(key, secret).
    pub fn write_tag(&self, secret: &[u8], out: &mut Vec<u8>) {
        let mut mac = self.mac.clone();
        mac.update(secret);
        let digest = mac.finalize().into_bytes();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for &b in &digest[..TAG_HEX_DIGITS / 2] {
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        }
    }
}

#[cfg(unix)]
fn os_bytes(s: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(s.as_bytes())
}

#[cfg(not(unix))]
fn os_bytes(s: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Owned(s.to_string_lossy().into_owned().into_bytes())
}

/// Who may read a key file besides its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyFileAccess {
    /// Refuse a file that group or others can read: whoever reads the key can test guesses
    /// against the tags in shipped logs.
    #[default]
    OwnerOnly,
    /// `--allow-readable-key`: accept it (a Kubernetes secret volume mounted 0644 in a pod).
    AllowReadable,
}

/// Where a user key comes from: `--hash-key-file` or `--hash-key-env` (filter and lint alike).
#[derive(Debug, Clone, Copy)]
enum KeyOrigin<'a> {
    File(&'a Path, KeyFileAccess),
    Env(&'a str),
}

impl KeyOrigin<'_> {
    /// The option as the user wrote it, for messages (never the key).
    fn name(&self) -> String {
        match self {
            KeyOrigin::File(path, _) => format!("--hash-key-file {}", path.display()),
            KeyOrigin::Env(var) => format!("--hash-key-env {var}"),
        }
    }
}

/// The one key loader of the filter (`--mode hash`) and `lint` (fingerprints).
///
/// A file must be a regular file of at most [`MAX_KEY_FILE_BYTES`], readable by its owner only
/// unless [`KeyFileAccess::AllowReadable`]; one trailing newline (`\n`
/// or `\r\n`) is not part of the key, so `echo`-written and editor-saved files give the same
/// tags everywhere. An environment variable is removed from this process's environment and its
/// bytes are overwritten in the initial environment block, so neither a `run` child nor anyone
/// reading `/proc/<pid>/environ` sees it (see [`scrub_initial_environ`]). Either way the key must
/// hold at least [`MIN_KEY_BYTES`] and not be weak (see [`weakness`]).
fn read_key(origin: KeyOrigin) -> Result<Vec<u8>, KeyError> {
    let name = origin.name();
    let origin_name = || name.clone();
    let bytes = match origin {
        KeyOrigin::File(path, access) => {
            use std::os::unix::fs::PermissionsExt;
            let unreadable = |error| KeyError::Unreadable {
                origin: origin_name(),
                error,
            };
            let meta = std::fs::metadata(path).map_err(unreadable)?;
            if !meta.is_file() || meta.len() > MAX_KEY_FILE_BYTES {
                return Err(KeyError::NotAKeyFile {
                    origin: origin_name(),
                });
            }
            if access == KeyFileAccess::OwnerOnly && meta.permissions().mode() & 0o044 != 0 {
                return Err(KeyError::ReadableByOthers {
                    origin: origin_name(),
                });
            }
            let mut bytes = Vec::new();
            std::fs::File::open(path)
                .and_then(|f| f.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes))
                .map_err(unreadable)?;
            if bytes.ends_with(b"\n") {
                bytes.pop();
                if bytes.ends_with(b"\r") {
                    bytes.pop();
                }
            }
            bytes
        }
        KeyOrigin::Env(var) => {
            let value = std::env::var_os(var).ok_or_else(|| KeyError::NotSet {
                origin: origin_name(),
            })?;
            let bytes = os_bytes(&value).into_owned();
            // Scrubbed even when the key is then refused: it was meant to be secret.
            // Called while loading the configuration, before any thread is started.
            std::env::remove_var(var);
            scrub_initial_environ(var);
            if let Ok(mut names) = SCRUBBED.lock() {
                names.push(var.into());
            }
            bytes
        }
    };
    if bytes.len() < MIN_KEY_BYTES {
        return Err(KeyError::TooShort {
            origin: name,
            len: bytes.len(),
        });
    }
    if let Some(why) = weakness(&bytes) {
        return Err(KeyError::Weak { origin: name, why });
    }
    Ok(bytes)
}

/// Why `key` is too weak to be a key, if it is: all whitespace, fewer than 8 distinct bytes
/// (`kkkk…`, `0000…`, newlines), or a repeat of fewer than 16 bytes (`abcdabcd…`). The reason
/// describes the shape only, never the content.
fn weakness(key: &[u8]) -> Option<&'static str> {
    if key.iter().all(u8::is_ascii_whitespace) {
        return Some("it is all whitespace");
    }
    let mut seen = [false; 256];
    key.iter().for_each(|&b| seen[usize::from(b)] = true);
    if seen.iter().filter(|&&s| s).count() < 8 {
        return Some("it has fewer than 8 distinct bytes");
    }
    let period = (1..key.len())
        .find(|&p| key[p..].iter().zip(key).all(|(a, b)| a == b))
        .unwrap_or(key.len());
    if period < MIN_KEY_BYTES / 2 {
        return Some("it repeats a pattern of fewer than 16 bytes");
    }
    None
}

/// Overwrites every `VAR=…` entry of the process's initial environment block with NUL bytes.
///
/// Why this way: `/proc/<pid>/environ` shows the kernel's copy of the environment at exec time
/// (the bytes between `env_start` and `env_end` of the process's stack), not libc's `environ`;
/// `remove_var` only unlinks the entry from libc's array and leaves those bytes readable by every
/// process of the same user, the `run` child included. Writing through `/proc/self/mem` reaches
/// them without `unsafe` code; the entry is already unlinked, so nothing reads it afterwards.
/// Best effort: without `/proc` there is no `/proc/<pid>/environ` to read either.
fn scrub_initial_environ(var: &str) {
    let Some((start, end)) = initial_environ_range() else {
        return;
    };
    let Ok(len) = usize::try_from(end.saturating_sub(start)) else {
        return;
    };
    let Ok(mut mem) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/self/mem")
    else {
        return;
    };
    let mut block = vec![0u8; len];
    if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut block).is_err() {
        return;
    }
    let prefix = [var.as_bytes(), b"="].concat();
    let mut at = 0;
    for entry in block.split(|&b| b == 0) {
        if entry.starts_with(&prefix) {
            let zeros = vec![0u8; entry.len()];
            let _ = mem
                .seek(SeekFrom::Start(start + at as u64))
                .and_then(|_| mem.write_all(&zeros));
        }
        at += entry.len() + 1;
    }
}

/// `env_start` and `env_end` (fields 50 and 51 of `/proc/self/stat`, Linux 3.5+).
fn initial_environ_range() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 2 (the command name) may hold spaces; count fields after its closing parenthesis.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(50 - 3);
    let start = fields.next()?.parse().ok()?;
    let end = fields.next()?.parse().ok()?;
    (start < end).then_some((start, end))
}

/// The key variables read so far (see [`HashKey::must_not_inherit`]).
static SCRUBBED: std::sync::Mutex<Vec<std::ffi::OsString>> = std::sync::Mutex::new(Vec::new());

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &HashKey, secret: &[u8]) -> String {
        let mut out = Vec::new();
        key.write_tag(secret, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tag_is_the_hmac_sha256_prefix() {
        // Pinned to an independent implementation, so a change of crate or encoding shows.
        let key = HashKey::from_bytes(&[b'k'; 32], "t").unwrap();
        // printf 'ghp_secret' | openssl dgst -sha256 -hmac kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
        assert_eq!(tag(&key, b"ghp_secret"), "bf0b7470d141");
    }

    #[test]
    fn short_keys_are_refused_without_showing_them() {
        let e = HashKey::from_bytes(b"hunter2-short-key", "test")
            .unwrap_err()
            .to_string();
        assert!(e.contains("17 bytes"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn weak_keys_are_refused_and_good_ones_pass() {
        assert!(weakness(&[b'\n'; 33]).is_some());
        assert!(weakness(&[b'k'; 40]).is_some());
        assert!(weakness(b"abcdefghabcdefghabcdefghabcdefgh").is_some());
        assert!(weakness(b"0123456789abcdef0123456789abcdef").is_none());
        assert!(weakness(b"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB").is_none());
    }

    #[test]
    fn ephemeral_keys_differ() {
        let a = HashKey::ephemeral().unwrap();
        let b = HashKey::ephemeral().unwrap();
        assert!(a.ephemeral);
        assert_ne!(tag(&a, b"same"), tag(&b, b"same"));
    }

    #[test]
    fn key_file_trailing_newline_is_not_part_of_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let key = b"zyxwvutsrqponmlkjihgfedcba0123456789ZYXW";
        std::fs::write(&a, key).unwrap();
        std::fs::write(&b, [&key[..], b"\r\n"].concat()).unwrap();
        let (ka, kb) = (
            HashKey::from_file(&a, KeyFileAccess::AllowReadable).unwrap(),
            HashKey::from_file(&b, KeyFileAccess::AllowReadable).unwrap(),
        );
        assert_eq!(tag(&ka, b"s3cret"), tag(&kb, b"s3cret"));
    }
}
