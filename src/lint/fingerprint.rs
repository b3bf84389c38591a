//! Fingerprints of lint findings and the `--baseline` file that lists known ones.
//!
//! A fingerprint is `<rule-id>:<hex>` where hex is the first 128 bits of
//! `HMAC-SHA256(key, rule-id || 0x00 || secret)`. The key is, in this order of preference:
//! 1. the user's key (`--hash-key-file` / `--hash-key-env`): nobody without the key can test a
//!    guess against a fingerprint, so a baseline committed to a repository reveals nothing even
//!    about weak passwords;
//! 2. else a random 256-bit salt stored in the baseline file: a baseline works anywhere without key
//!    management, precomputed tables are useless, but whoever reads the file can test guesses of
//!    a low-entropy secret one by one (high-entropy tokens stay safe) — the docs say so;
//! 3. else (no key, no baseline) a fresh random salt for this run: fingerprints then only
//!    identify equal secrets within one report, and SARIF output leaves them out.
//!
//! Owns: the keyed hash, the baseline file format. Must never: store, print or hash a secret
//! without a key, or accept a baseline whose key does not match the one in use (every finding
//! would silently look new).

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::Path;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Version of the baseline file format.
const BASELINE_VERSION: u32 = 1;
const SALT_BYTES: usize = 32;

/// The key fingerprints are computed with, and where it came from.
#[derive(Clone)]
pub struct FingerprintKey {
    bytes: Vec<u8>,
    source: KeySource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `--hash-key-file` / `--hash-key-env`.
    User,
    /// The salt of a baseline file.
    BaselineSalt,
    /// Made up for this run only.
    RunSalt,
}

impl FingerprintKey {
    pub fn user(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.is_empty() {
            return Err("the hash key is empty".into());
        }
        Ok(FingerprintKey {
            bytes,
            source: KeySource::User,
        })
    }

    pub fn random_salt() -> Result<Self, String> {
        let mut bytes = vec![0u8; SALT_BYTES];
        fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|e| format!("cannot read /dev/urandom for a salt: {e}"))?;
        Ok(FingerprintKey {
            bytes,
            source: KeySource::RunSalt,
        })
    }

    pub fn source(&self) -> KeySource {
        self.source
    }

    /// Whether fingerprints stay the same from one run to the next.
    pub fn is_stable(&self) -> bool {
        self.source != KeySource::RunSalt
    }

    /// `<rule-id>:<32 hex digits>`; see the module documentation.
    pub fn fingerprint(&self, rule_id: &str, secret: &[u8]) -> String {
        // `new_from_slice` accepts any key length for HMAC; an error is impossible here.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.bytes) else {
            return format!("{rule_id}:unkeyed");
        };
        mac.update(rule_id.as_bytes());
        mac.update(&[0]);
        mac.update(secret);
        let digest = mac.finalize().into_bytes();
        format!("{rule_id}:{}", hex(&digest[..16]))
    }
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FingerprintKey({:?}, key not shown)", self.source)
    }
}

/// The on-disk baseline: which key its fingerprints use, and the fingerprints.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    logredact_baseline: u32,
    /// "user-key" or "salt".
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    fingerprints: Vec<String>,
}

/// Known findings, loaded from `--baseline`.
#[derive(Debug)]
pub struct Baseline {
    pub fingerprints: HashSet<String>,
    /// The baseline's salt, when it was written without a user key.
    pub salt: Option<FingerprintKey>,
}

impl Baseline {
    /// Reads a baseline file. Errors name the file and the reason, never content.
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let name = path.display();
        let text = fs::read_to_string(path).map_err(|e| format!("baseline {name}: {e}"))?;
        let file: BaselineFile = serde_json::from_str(&text)
            .map_err(|e| format!("baseline {name}: not a logredact baseline ({e})"))?;
        if file.logredact_baseline != BASELINE_VERSION {
            return Err(format!(
                "baseline {name}: format version {} is not supported (expected {BASELINE_VERSION})",
                file.logredact_baseline
            ));
        }
        let salt = match (file.key.as_str(), file.salt) {
            ("user-key", None) => None,
            ("salt", Some(hex_salt)) => {
                let bytes = unhex(&hex_salt)
                    .filter(|b| b.len() == SALT_BYTES)
                    .ok_or_else(|| format!("baseline {name}: the salt is not 64 hex digits"))?;
                Some(FingerprintKey {
                    bytes,
                    source: KeySource::BaselineSalt,
                })
            }
            _ => {
                return Err(format!(
                "baseline {name}: \"key\" must be \"user-key\" (no salt) or \"salt\" (with a salt)"
            ))
            }
        };
        Ok(Baseline {
            fingerprints: file.fingerprints.into_iter().collect(),
            salt,
        })
    }

    /// The key to fingerprint with when checking against this baseline, given the user's key if
    /// any. A mismatch is an error, as every finding would otherwise look new.
    pub fn key(&self, user: Option<FingerprintKey>, name: &Path) -> Result<FingerprintKey, String> {
        match (&self.salt, user) {
            (None, Some(k)) => Ok(k),
            (Some(salt), None) => Ok(salt.clone()),
            (None, None) => Err(format!(
                "baseline {}: it was written with a hash key; pass the same --hash-key-file or --hash-key-env",
                name.display()
            )),
            (Some(_), Some(_)) => Err(format!(
                "baseline {}: it was written with a salt, not a hash key; drop --hash-key-file/--hash-key-env or rewrite the baseline",
                name.display()
            )),
        }
    }
}

/// Writes a baseline holding `fingerprints` (sorted, deduplicated) for `key`.
pub fn write_baseline(
    path: &Path,
    key: &FingerprintKey,
    fingerprints: impl IntoIterator<Item = String>,
) -> Result<(), String> {
    let mut list: Vec<String> = fingerprints.into_iter().collect();
    list.sort();
    list.dedup();
    let (key_kind, salt) = match key.source {
        KeySource::User => ("user-key", None),
        KeySource::BaselineSalt | KeySource::RunSalt => ("salt", Some(hex(&key.bytes))),
    };
    let file = BaselineFile {
        logredact_baseline: BASELINE_VERSION,
        key: key_kind.into(),
        salt,
        fingerprints: list,
    };
    let mut text = serde_json::to_string_pretty(&file)
        .map_err(|e| format!("baseline {}: {e}", path.display()))?;
    text.push('\n');
    fs::write(path, text).map_err(|e| format!("baseline {}: {e}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_keyed_and_never_contains_the_secret() {
        let a = FingerprintKey::user(b"key-one".to_vec()).unwrap();
        let b = FingerprintKey::user(b"key-two".to_vec()).unwrap();
        let fa = a.fingerprint("pw", b"hunter2hunter2");
        assert!(fa.starts_with("pw:"));
        assert_eq!(fa.len(), 3 + 32);
        assert!(!fa.contains("hunter2"));
        assert_eq!(fa, a.fingerprint("pw", b"hunter2hunter2"));
        assert_ne!(fa, b.fingerprint("pw", b"hunter2hunter2"));
        assert_ne!(fa, a.fingerprint("other", b"hunter2hunter2"));
        assert_ne!(fa, a.fingerprint("pw", b"hunter3hunter3"));
    }

    #[test]
    fn baseline_round_trips_its_salt_and_rejects_key_mismatches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        let salt = FingerprintKey::random_salt().unwrap();
        let fp = salt.fingerprint("pw", b"s3cr3t-value");
        write_baseline(&path, &salt, vec![fp.clone(), fp.clone()]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cr3t"));
        let loaded = Baseline::load(&path).unwrap();
        assert_eq!(loaded.fingerprints.len(), 1);
        let key = loaded.key(None, &path).unwrap();
        assert_eq!(key.fingerprint("pw", b"s3cr3t-value"), fp);
        let user = FingerprintKey::user(b"k".to_vec()).unwrap();
        assert!(loaded.key(Some(user), &path).is_err());
    }

    #[test]
    fn malformed_baselines_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        for text in [
            "not json",
            r#"{"logredact_baseline":9,"key":"salt","salt":"00","fingerprints":[]}"#,
            r#"{"logredact_baseline":1,"key":"salt","salt":"zz","fingerprints":[]}"#,
            r#"{"logredact_baseline":1,"key":"user-key","salt":"00","fingerprints":[]}"#,
        ] {
            fs::write(&path, text).unwrap();
            let err = Baseline::load(&path).unwrap_err();
            assert!(err.contains("b.json"), "{err}");
        }
    }
}
