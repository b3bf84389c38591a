//! The key of `--mode hash`: loading it from a file, an environment variable or the OS random
//! source, and computing the keyed tag of a secret.
//!
//! Owns: key loading rules (at least [`MIN_KEY_BYTES`], never from the command line) and the
//! HMAC-SHA256 tag. Must never: print, log or keep a copy of the key or of a secret beyond the
//! HMAC state; error messages name the file or variable and a length, never content.

use std::ffi::OsStr;
use std::fmt;
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

impl HashKey {
    /// Builds a key from raw bytes, which must be at least [`MIN_KEY_BYTES`] long.
    pub fn from_bytes(key: &[u8], source: &str) -> Result<HashKey, String> {
        if key.len() < MIN_KEY_BYTES {
            return Err(format!(
                "{source}: hash key is {} bytes; at least {MIN_KEY_BYTES} are required \
                 (e.g. `head -c 32 /dev/urandom | base64 > FILE`)",
                key.len()
            ));
        }
        // HMAC accepts keys of any length, so this cannot fail; map it anyway rather than unwrap.
        let mac = HmacSha256::new_from_slice(key).map_err(|_| format!("{source}: unusable key"))?;
        Ok(HashKey {
            mac,
            ephemeral: false,
        })
    }

    /// Reads the key from `path`. One trailing newline (`\n` or `\r\n`) is not part of the key,
    /// so `echo`-written and editor-saved files give the same tags everywhere.
    pub fn from_file(path: &Path) -> Result<HashKey, String> {
        let name = format!("--hash-key-file {}", path.display());
        let meta = std::fs::metadata(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        if !meta.is_file() || meta.len() > MAX_KEY_FILE_BYTES {
            return Err(format!(
                "{name}: not a key file (expected a regular file of at most {MAX_KEY_FILE_BYTES} bytes)"
            ));
        }
        let mut bytes = std::fs::read(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        HashKey::from_bytes(&bytes, &name)
    }

    /// Reads the key from environment variable `var`, then removes the variable from this
    /// process's environment so that a `run` child does not inherit it.
    pub fn from_env(var: &str) -> Result<HashKey, String> {
        let name = format!("--hash-key-env {var}");
        let value = std::env::var_os(var).ok_or_else(|| format!("{name}: variable is not set"))?;
        let key = HashKey::from_bytes(os_bytes(&value).as_ref(), &name)?;
        // Called while loading the configuration, before any thread is started.
        std::env::remove_var(var);
        Ok(key)
    }

    /// A random key for this process only: tags correlate within one run, never across runs.
    pub fn ephemeral() -> Result<HashKey, String> {
        let mut bytes = [0u8; MIN_KEY_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| format!("--ephemeral-key: no random source: {e}"))?;
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
        let e = HashKey::from_bytes(b"hunter2-short-key", "test").unwrap_err();
        assert!(e.contains("17 bytes"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
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
        std::fs::write(&a, [b'z'; 40]).unwrap();
        std::fs::write(&b, [&[b'z'; 40][..], b"\r\n"].concat()).unwrap();
        let (ka, kb) = (
            HashKey::from_file(&a).unwrap(),
            HashKey::from_file(&b).unwrap(),
        );
        assert_eq!(tag(&ka, b"s3cret"), tag(&kb, b"s3cret"));
    }
}
