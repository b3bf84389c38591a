//! The on-disk cache of compiled Hyperscan databases, so a process that starts often (Fluent Bit
//! `exec`, `run` wrappers) loads the database in milliseconds instead of compiling it again.
//!
//! Owns: the cache key, the file format, reading and writing cache files. Must never: change what
//! is found — every failure (missing, unreadable, unwritable, stale, truncated or corrupt file)
//! reads as "no cache entry" and the caller compiles; never store rule text or input text other
//! than the rule patterns themselves (the key material); never panic on a file's contents.
//!
//! Key: our format version, the Hyperscan library version, the CPU features a database is built
//! for, and every pattern with its id and flags. The full key material is stored in the file and
//! compared byte for byte, so a hash collision in the file name cannot load the wrong database.
//! The file ends with a checksum over everything before it, so a corrupt file is never handed to
//! Hyperscan (which also validates what it deserializes; the caller smoke-scans the result).
//!
//! Layout: `MAGIC`, u64 key length, key, u32 count + u32s of rejected rules, u64 database length,
//! database, u64 FNV-1a checksum — all integers little-endian.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"logredact-hsdb1\n";

/// The identity of one compiled database.
pub struct CacheKey {
    material: Vec<u8>,
}

impl CacheKey {
    /// `environment` names the library version and CPU features; `patterns` are
    /// `(id, flags, expression)` of every pattern offered to the compiler.
    pub fn new<'a>(environment: &str, patterns: impl Iterator<Item = (u32, u32, &'a str)>) -> Self {
        let mut material = Vec::new();
        material.extend_from_slice(MAGIC);
        push_bytes(&mut material, environment.as_bytes());
        for (id, flags, expression) in patterns {
            material.extend_from_slice(&id.to_le_bytes());
            material.extend_from_slice(&flags.to_le_bytes());
            push_bytes(&mut material, expression.as_bytes());
        }
        CacheKey { material }
    }

    fn file_in(&self, dir: &Path) -> PathBuf {
        dir.join(format!("hs-{:016x}.db", fnv1a(&self.material)))
    }
}

/// What a cache entry holds: the serialized database and the rules Hyperscan rejected.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub rejected: Vec<u32>,
    pub database: Vec<u8>,
}

/// The default cache directory: `$XDG_CACHE_HOME/logredact`, else `$HOME/.cache/logredact`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("logredact"))
}

/// Reads the entry for `key` from `dir`, or `None` if there is no valid one.
pub fn load(dir: &Path, key: &CacheKey) -> Option<Entry> {
    let bytes = fs::read(key.file_in(dir)).ok()?;
    parse(&bytes, key)
}

/// Writes the entry for `key` into `dir` (atomically: a reader sees the old file or the new one).
pub fn store(dir: &Path, key: &CacheKey, entry: &Entry) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut bytes = Vec::with_capacity(key.material.len() + entry.database.len() + 64);
    bytes.extend_from_slice(MAGIC);
    push_bytes(&mut bytes, &key.material);
    bytes.extend_from_slice(&(entry.rejected.len() as u32).to_le_bytes());
    for r in &entry.rejected {
        bytes.extend_from_slice(&r.to_le_bytes());
    }
    push_bytes(&mut bytes, &entry.database);
    let sum = fnv1a(&bytes);
    bytes.extend_from_slice(&sum.to_le_bytes());

    let path = key.file_in(dir);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut f| f.write_all(&bytes));
    let renamed = written.and_then(|()| fs::rename(&tmp, &path));
    if renamed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    renamed
}

fn parse(bytes: &[u8], key: &CacheKey) -> Option<Entry> {
    let body_len = bytes.len().checked_sub(8)?;
    let (body, sum) = bytes.split_at(body_len);
    if fnv1a(body).to_le_bytes() != sum {
        return None;
    }
    let mut r = Reader(body);
    if r.take(MAGIC.len())? != MAGIC || r.bytes()? != key.material {
        return None;
    }
    let count = u32::from_le_bytes(r.take(4)?.try_into().ok()?) as usize;
    let mut rejected = Vec::with_capacity(count.min(r.0.len() / 4));
    for _ in 0..count {
        rejected.push(u32::from_le_bytes(r.take(4)?.try_into().ok()?));
    }
    let database = r.bytes()?.to_vec();
    r.0.is_empty().then_some(Entry { rejected, database })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = u64::from_le_bytes(self.take(8)?.try_into().ok()?);
        self.take(usize::try_from(len).ok()?)
    }
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// 64-bit FNV-1a: stable across Rust versions (unlike `DefaultHasher`), enough to name files and
/// to detect accidental corruption.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(expr: &str) -> CacheKey {
        CacheKey::new("hs 5.4 avx2", [(0, 4, expr), (1, 4, "b+")].into_iter())
    }

    fn entry() -> Entry {
        Entry {
            rejected: vec![3, 7],
            database: (0..=255u8).cycle().take(5000).collect(),
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), &key("a+"), &entry()).unwrap();
        assert_eq!(load(dir.path(), &key("a+")), Some(entry()));
        assert_eq!(load(dir.path(), &key("a*")), None, "other key");
    }

    #[test]
    fn every_truncation_and_bit_flip_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let k = key("a+");
        store(dir.path(), &k, &entry()).unwrap();
        let path = k.file_in(dir.path());
        let good = fs::read(&path).unwrap();
        for cut in (0..good.len()).step_by(97) {
            assert_eq!(parse(&good[..cut], &k), None, "truncated at {cut}");
        }
        for at in (0..good.len()).step_by(89) {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            assert_eq!(parse(&bad, &k), None, "flipped at {at}");
        }
    }

    #[test]
    fn key_material_is_compared_not_just_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (key("a+"), key("zz"));
        store(dir.path(), &a, &entry()).unwrap();
        // Pretend b's file name collided with a's.
        fs::rename(a.file_in(dir.path()), b.file_in(dir.path())).unwrap();
        assert_eq!(load(dir.path(), &b), None);
    }

    #[test]
    fn unwritable_dir_is_an_error_not_a_panic() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let dir = file.path().join("sub");
        assert!(store(&dir, &key("a+"), &entry()).is_err());
        assert_eq!(load(&dir, &key("a+")), None);
    }
}
