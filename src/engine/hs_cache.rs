//! The on-disk cache of compiled Hyperscan databases, so a process that starts often (Fluent Bit
//! `exec`, `run` wrappers) loads the database in milliseconds instead of compiling it again.
//!
//! Owns: the cache key, the file format, reading and writing cache files. Must never: change what
//! is found — every failure (missing, unreadable, unwritable, stale, truncated or corrupt file)
//! reads as "no cache entry" and the caller compiles; never store rule text or input text other
//! than the rule patterns themselves (the key material); never panic on a file's contents.
//!
//! Key: our format version, the Hyperscan library version, the CPU features a database is built
//! for, the build options, and every rule's pattern and keywords. The full key material is stored in the file and
//! compared byte for byte, so a hash collision in the file name cannot load the wrong database.
//! The file ends with a checksum over everything before it, so a corrupt file is never handed to
//! Hyperscan (which also validates what it deserializes; the caller smoke-scans the result).
//!
//! Layout: `MAGIC`, then length-prefixed (u64) fields: key, rule indices in the database (u32s),
//! rule indices run as keywords (u32s), database; then a u64 checksum — all little-endian.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"logredact-hsdb2\n";

/// The identity of one compiled database: built up from everything the database depends on.
pub struct CacheKey {
    material: Vec<u8>,
}

impl CacheKey {
    /// A key for databases built in `environment` (library version, CPU features, options).
    pub fn new(environment: &str) -> Self {
        let mut key = CacheKey {
            material: MAGIC.to_vec(),
        };
        key.push(environment);
        key
    }

    /// Adds one more input (a rule's pattern, a keyword...) to the key.
    pub fn push(&mut self, part: &str) {
        push_bytes(&mut self.material, part.as_bytes());
    }

    fn file_in(&self, dir: &Path) -> PathBuf {
        dir.join(format!("hs-{:016x}.db", checksum(&self.material)))
    }
}

/// What a cache entry holds: the serialized database and, so that a warm start needs no pattern
/// analysis, the rules it runs and which of them it runs as keywords.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub in_database: Vec<u32>,
    pub keyword_mode: Vec<u32>,
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
    push_u32s(&mut bytes, &entry.in_database);
    push_u32s(&mut bytes, &entry.keyword_mode);
    push_bytes(&mut bytes, &entry.database);
    let sum = checksum(&bytes);
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
    if checksum(body).to_le_bytes() != sum {
        return None;
    }
    let mut r = Reader(body);
    if r.take(MAGIC.len())? != MAGIC || r.bytes()? != key.material {
        return None;
    }
    let in_database = r.u32s()?;
    let keyword_mode = r.u32s()?;
    let database = r.bytes()?.to_vec();
    r.0.is_empty().then_some(Entry {
        in_database,
        keyword_mode,
        database,
    })
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

    fn u32s(&mut self) -> Option<Vec<u32>> {
        let raw = self.bytes()?;
        (raw.len() % 4 == 0).then(|| {
            raw.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
    }
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn push_u32s(out: &mut Vec<u8>, values: &[u32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    push_bytes(out, &bytes);
}

/// A 64-bit checksum, 8 bytes per step (a byte-wise FNV-1a over the 2 MB database took ~3 ms of a
/// warm start). Each step is a bijection of the state, so any single changed word changes the
/// result; stable across Rust versions (unlike `DefaultHasher`), so it can name files.
fn checksum(bytes: &[u8]) -> u64 {
    let mut state: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        state = (state ^ w)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    state = (state ^ u64::from_le_bytes(tail)).wrapping_mul(0x0000_0100_0000_01b3);
    state ^ (state >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(expr: &str) -> CacheKey {
        let mut key = CacheKey::new("hs 5.4 avx2");
        key.push(expr);
        key.push("b+");
        key
    }

    fn entry() -> Entry {
        Entry {
            in_database: vec![0, 1, 2, 5],
            keyword_mode: vec![2],
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
