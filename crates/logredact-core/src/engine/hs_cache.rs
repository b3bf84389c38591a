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
//!
//! Threat (issue 14, L14): the checksum and the key material only catch accidents. Anyone who
//! can write the cache can forge a file that passes both and makes every rule match nothing —
//! another user sharing a cache volume, or the child of `logredact run` (same uid, same
//! `~/.cache`). Two layers of defence, so a forged file costs a recompile and never a leak:
//! 1. here, against *other users*: nothing is loaded unless the directory is a real directory
//!    (not a symlink) owned by us with no group/other access (0700; [`store`] creates it so and
//!    tightens one of ours), its parent is not writable by others (unless sticky), and the file
//!    is a regular file (not a symlink: `lstat` and `fstat` agree), owned by us, not group/other writable, with
//!    one link. Temporary files are created with `O_EXCL` at mode 0600, never through a symlink.
//! 2. in `hyperscan.rs`, against *the same user* (which no file check can stop): a loaded
//!    database must produce a candidate for every example of every rule before it is used;
//!    otherwise logredact warns, compiles, and overwrites the entry. A rule set with a rule
//!    that has no example cannot be verified, so it is always compiled, never loaded.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
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

/// The directory given with `--cache-dir`, set once at start-up before any engine is built.
static DIR_OVERRIDE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets the cache directory for this process (`--cache-dir`); the first call wins. A relative
/// path is made absolute against the current directory so a later `chdir` cannot move it.
pub fn set_dir(dir: PathBuf) {
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let _ = DIR_OVERRIDE.set(dir);
}

/// The cache directory: the one given with `--cache-dir`, else `$XDG_CACHE_HOME/logredact`,
/// else `$HOME/.cache/logredact`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = DIR_OVERRIDE.get() {
        return Some(dir.clone());
    }
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

/// Reads the entry for `key` from `dir`, or `None` if there is no valid one — or if the directory
/// or the file could have been written by another user (see the module documentation).
pub fn load(dir: &Path, key: &CacheKey) -> Option<Entry> {
    trusted_dir(dir).ok()?;
    let path = key.file_in(dir);
    // `lstat` before and `fstat` after opening must show the same inode: no symlink followed.
    let linked = fs::symlink_metadata(&path).ok()?;
    let file = fs::File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    let same =
        linked.file_type().is_file() && (linked.dev(), linked.ino()) == (meta.dev(), meta.ino());
    let ours = meta.uid() == rustix::process::geteuid().as_raw();
    if !same || !meta.is_file() || !ours || meta.mode() & 0o022 != 0 || meta.nlink() != 1 {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(meta.len()).read_to_end(&mut bytes).ok()?;
    parse(&bytes, key)
}

/// Why `dir` is not a directory only we can write, if it is not. `lstat`, so a symlink (even to
/// a good directory) is refused: whoever can replace the link chooses what we load.
fn trusted_dir(dir: &Path) -> Result<(), &'static str> {
    let meta = fs::symlink_metadata(dir).map_err(|_| "missing")?;
    if !meta.file_type().is_dir() {
        return Err("not a directory (or a symlink)");
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err("owned by another user");
    }
    if meta.mode() & 0o077 != 0 {
        return Err("open to group or others (needs mode 0700)");
    }
    // Whoever can write the parent can rename our directory away and put theirs in its place.
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        let parent = fs::metadata(parent).map_err(|_| "parent missing")?;
        let sticky = parent.mode() & 0o1000 != 0;
        if parent.mode() & 0o022 != 0 && !sticky {
            return Err("its parent is writable by others");
        }
    }
    Ok(())
}

/// Creates `dir` (mode 0700) or tightens it to 0700 if it is ours, then checks it.
fn prepare_dir(dir: &Path) -> std::io::Result<()> {
    let untrusted = |why: &str| std::io::Error::other(format!("cache directory {why}"));
    match fs::symlink_metadata(dir) {
        Err(_) => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?,
        Ok(meta)
            if meta.file_type().is_dir()
                && meta.uid() == rustix::process::geteuid().as_raw()
                && meta.mode() & 0o077 != 0 =>
        {
            // Ours, made by an older version (umask 022): tighten it; its files are each
            // checked on load anyway.
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(_) => {}
    }
    trusted_dir(dir).map_err(untrusted)
}

/// Writes the entry for `key` into `dir` (atomically: a reader sees the old file or the new one).
/// Refuses a directory that [`load`] would not trust.
pub fn store(dir: &Path, key: &CacheKey, entry: &Entry) -> std::io::Result<()> {
    prepare_dir(dir)?;
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
    // `create_new` is O_EXCL: never follows a symlink planted under the temporary name.
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&bytes));
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
    fn untrusted_directories_and_files_are_not_loaded() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("c");
        let k = key("a+");
        store(&dir, &k, &entry()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&dir), 0o700, "created owner-only");
        assert_eq!(mode(&k.file_in(&dir)), 0o600);
        assert_eq!(load(&dir, &k), Some(entry()));

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
        assert_eq!(load(&dir, &k), None, "group-writable directory");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();

        fs::set_permissions(k.file_in(&dir), fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(load(&dir, &k), None, "world-writable file");
        fs::set_permissions(k.file_in(&dir), fs::Permissions::from_mode(0o600)).unwrap();

        let link = base.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert_eq!(load(&link, &k), None, "symlinked directory");
        assert!(store(&link, &k, &entry()).is_err());

        let other = base.path().join("other.db");
        fs::rename(k.file_in(&dir), &other).unwrap();
        std::os::unix::fs::symlink(&other, k.file_in(&dir)).unwrap();
        assert_eq!(load(&dir, &k), None, "symlinked file");
    }

    #[test]
    fn an_own_loose_directory_is_tightened_by_store() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("c");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        store(&dir, &key("a+"), &entry()).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert_eq!(load(&dir, &key("a+")), Some(entry()));
    }

    #[test]
    fn unwritable_dir_is_an_error_not_a_panic() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let dir = file.path().join("sub");
        assert!(store(&dir, &key("a+"), &entry()).is_err());
        assert_eq!(load(&dir, &key("a+")), None);
    }
}
