//! Which JSON keys name a secret: a decision made by code on the key, not by a rule on the value.
//! (`Basic` credentials are checked by the `basic-auth` validator in `validate`.)
//!
//! Owns: the built-in secret key-name list and its matching rule. Must never: look at values.

/// Key names (normalised: ASCII lower case, `-` and `.` read as `_`) whose string values are
/// secrets whatever they look like. A key matches when it equals a name or ends with `_<name>`
/// (`db_password`, `github_token`), and for the names in `SUFFIX_ONLY` also when it simply ends
/// with it (`dbpassword`).
pub const SECRET_KEY_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "api_key",
    "apikey",
    "private_key",
    "secret_key",
    "access_key",
    "authorization",
    "proxy_authorization",
    "cookie",
    "set_cookie",
    "credentials",
    "credential",
    "passphrase",
    "session_token",
    "x_api_key",
    // Common non-English names (L13): German, Spanish, French, Portuguese, Dutch, Polish,
    // Russian, Finnish, Swedish, Danish, Hungarian, Czech, Turkish, Chinese, Japanese, Korean.
    "passwort",
    "kennwort",
    "contraseña",
    "contrasena",
    "mot_de_passe",
    "motdepasse",
    "senha",
    "wachtwoord",
    "hasło",
    "haslo",
    "пароль",
    "salasana",
    "lösenord",
    "losenord",
    "adgangskode",
    "jelszó",
    "jelszo",
    "heslo",
    "şifre",
    "sifre",
    "密码",
    "パスワード",
    "비밀번호",
];

/// Keys that end like a name but count something: `"full_hash_pass": 15` (Suricata) is a pass
/// over a hash table, not a password.
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "hash_pass",
    "first_pass",
    "second_pass",
    "last_pass",
    "single_pass",
    "multi_pass",
    "num_pass",
];

/// Names matched as a plain suffix too (long enough not to hit ordinary words).
const SUFFIX_ONLY: &[&str] = &["password", "passwd", "secret", "apikey", "passphrase"];

/// The key-name list in use: the built-ins plus the user's additions.
#[derive(Debug, Clone)]
pub struct SecretKeys {
    names: Vec<String>,
    /// Bit `256 * a + b` is set when some name ends in the normalised bytes `a b`: this runs
    /// for every key of every JSON line, and nearly all keys (`time`, `level`, `msg`, `log`,
    /// `stream`…) are rejected on their last two bytes alone.
    last_pairs: Box<[u64; 1024]>,
}

impl SecretKeys {
    /// Built-in names plus `extra` (normalised the same way).
    pub fn new(extra: &[String]) -> Self {
        let mut names: Vec<String> = SECRET_KEY_NAMES.iter().map(|s| s.to_string()).collect();
        names.extend(extra.iter().map(|n| normalise(n.as_bytes())));
        names.sort();
        names.dedup();
        let mut last_pairs = Box::new([0u64; 1024]);
        for n in &names {
            let pairs: Vec<usize> = match *n.as_bytes() {
                [] => Vec::new(),
                // A one-byte name ends any key whose last byte it is.
                [b] => (0..=255).map(|a| 256 * a + usize::from(b)).collect(),
                [.., a, b] => vec![256 * usize::from(a) + usize::from(b)],
            };
            for pair in pairs {
                last_pairs[pair >> 6] |= 1 << (pair & 63);
            }
        }
        SecretKeys { names, last_pairs }
    }

    /// Whether some name may end a key that ends with `tail` (raw key text, at least its last
    /// two bytes; three to let plurals through): the cheap test that rejects nearly every key.
    pub fn may_end_a_name(&self, tail: &[u8]) -> bool {
        // Numbered forms end in a digit: the full check decides those. Plurals are tested on the
        // pair before their `s` (callers pass three bytes for that).
        match *tail {
            [.., b'0'..=b'9'] => return true,
            [.., a, b, b's' | b'S'] if self.may_end_a_name(&[a, b]) => return true,
            _ => {}
        }
        let (a, b) = match *tail {
            [.., a, b] => (normalise_byte(a), normalise_byte(b)),
            [b] => (0, normalise_byte(b)),
            [] => return false,
        };
        // A one-byte key reads as `0 b`: only one-byte names (which set every `_ b`) match it.
        let pair = 256 * usize::from(a) + usize::from(b);
        self.last_pairs[pair >> 6] & (1 << (pair & 63)) != 0
    }

    /// Whether a key (decoded JSON key text) names a secret.
    pub fn is_secret(&self, key: &[u8]) -> bool {
        // Normalised on the stack: this runs for every key of every JSON line on the fast path.
        let mut buf = [0u8; MAX_KEY_LEN];
        if key.len() > MAX_KEY_LEN || !self.may_end_a_name(key) {
            return false;
        }
        if key.is_empty() {
            return false;
        }
        // A name, not a path, a URL or a sentence that happens to end in `password`.
        if key
            .iter()
            .any(|&b| matches!(b, b'/' | b':' | b'?' | b'=' | b'&' | b'<' | b'>'))
        {
            return false;
        }
        for (slot, &b) in buf.iter_mut().zip(key) {
            *slot = normalise_byte(b);
        }
        let key = &buf[..key.len()];
        if NOT_SECRET_SUFFIXES
            .iter()
            .any(|s| key.ends_with(s.as_bytes()))
        {
            return false;
        }
        // Numbered and plural forms (`api_key1`, `client_secret_2`, `passwords`) name the same.
        // A plural only when it is the plural of a name itself or of a long name (`max_tokens`
        // is a count, `db_passwords` are passwords).
        let numbered = without_number(key);
        let gated = |k: &[u8]| self.may_end_a_name(k) && self.matches_name(k);
        gated(key)
            || (numbered.len() < key.len() && gated(numbered))
            || numbered.strip_suffix(b"s").is_some_and(|singular| {
                self.names.iter().any(|n| n.as_bytes() == singular)
                    || SUFFIX_ONLY.iter().any(|n| singular.ends_with(n.as_bytes()))
            })
    }

    fn matches_name(&self, key: &[u8]) -> bool {
        self.names.iter().any(|n| {
            let n = n.as_bytes();
            key == n
                || (key.len() > n.len()
                    && key.ends_with(n)
                    && (key[key.len() - n.len() - 1] == b'_'
                        || SUFFIX_ONLY.iter().any(|s| s.as_bytes() == n)))
        })
    }
}

/// `key` without trailing digits and the `_` before them (`client_secret_2` → `client_secret`).
fn without_number(key: &[u8]) -> &[u8] {
    let end = key
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |p| p + 1);
    let trimmed = &key[..end];
    trimmed.strip_suffix(b"_").unwrap_or(trimmed)
}

/// Longer keys are never secret names (and are not worth normalising).
pub const MAX_KEY_LEN: usize = 128;

fn normalise_byte(b: u8) -> u8 {
    match b {
        b'-' | b'.' | b' ' => b'_',
        _ => b.to_ascii_lowercase(),
    }
}

/// Normalises a name as [`SecretKeys::is_secret`] normalises keys: ASCII bytes only, so a
/// non-ASCII name (`contraseña`, `пароль`) keeps its UTF-8 bytes and matches the same key bytes
/// (mapping each byte to a `char` would turn it into Latin-1 mojibake that never matches).
fn normalise(key: &[u8]) -> String {
    let bytes: Vec<u8> = key.iter().map(|&b| normalise_byte(b)).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names() {
        let k = SecretKeys::new(&["X-Internal-Sig".to_string()]);
        for yes in [
            "password",
            "DB_PASSWORD",
            "dbPassword",
            "client-secret",
            "github_token",
            "Authorization",
            "set-cookie",
            "x-internal-sig",
            "api.key",
            "api_key1",
            "client_secret_2",
            "passwords",
            "db_passwords",
            "tokens",
        ] {
            assert!(k.is_secret(yes.as_bytes()), "{yes}");
        }
        for no in [
            "token_type",
            "max_tokens",
            "tokenizer",
            "user",
            "secret_name",
            "passing",
            "keyboard",
            "compass",
            "full_hash_pass",
        ] {
            assert!(!k.is_secret(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn non_ascii_names_match_built_in_and_user_given() {
        let k = SecretKeys::new(&["Clé_Secrète".to_string()]);
        for yes in [
            "contraseña",
            "passwort",
            "db_passwort",
            "пароль",
            "mot-de-passe",
            "clé_secrète",
        ] {
            assert!(k.is_secret(yes.as_bytes()), "{yes}");
        }
        assert!(!k.is_secret("contrasenas_policy".as_bytes()));
    }

    #[test]
    fn the_two_byte_gate_never_rejects_a_secret_name() {
        let k = SecretKeys::new(&["q".to_string(), "X-Sig".to_string()]);
        for name in SECRET_KEY_NAMES.iter().chain(&["q", "x-sig", "my_q", "Q"]) {
            assert!(k.may_end_a_name(name.as_bytes()), "{name}");
            assert!(k.is_secret(name.to_ascii_uppercase().as_bytes()), "{name}");
        }
        for common in ["time", "level", "msg", "log", "stream", "ts", "logger"] {
            assert!(!k.may_end_a_name(common.as_bytes()), "{common}");
        }
    }
}
