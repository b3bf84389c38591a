//! Which JSON keys name a secret: a decision made by code on the key, not by a rule on the value.
//! (`Basic` credentials are checked by the `basic-auth` validator in `validate`.)
//!
//! Owns: the built-in secret key-name list and its matching rule. Must never: look at values.

/// Key names (normalised: ASCII lower case, `-` and `.` read as `_`) whose string values are
/// secrets whatever they look like. A key matches when it equals a name or ends with `_<name>`
/// (`db_password`, `github_token`), and for the names in [`SUFFIX_ONLY`] also when it simply ends
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
];

/// Names matched as a plain suffix too (long enough not to hit ordinary words).
const SUFFIX_ONLY: &[&str] = &["password", "passwd", "secret", "apikey", "passphrase"];

/// The key-name list in use: the built-ins plus the user's additions.
#[derive(Debug, Clone)]
pub struct SecretKeys {
    names: Vec<String>,
    /// Which bytes end some name: most keys are rejected on their last byte alone.
    last_bytes: [bool; 256],
}

impl SecretKeys {
    /// Built-in names plus `extra` (normalised the same way).
    pub fn new(extra: &[String]) -> Self {
        let mut names: Vec<String> = SECRET_KEY_NAMES.iter().map(|s| s.to_string()).collect();
        names.extend(extra.iter().map(|n| normalise(n.as_bytes())));
        names.sort();
        names.dedup();
        let mut last_bytes = [false; 256];
        for n in &names {
            if let Some(&b) = n.as_bytes().last() {
                last_bytes[b as usize] = true;
            }
        }
        SecretKeys { names, last_bytes }
    }

    /// Whether a key (decoded JSON key text) names a secret.
    pub fn is_secret(&self, key: &[u8]) -> bool {
        // Normalised on the stack: this runs for every key of every JSON line on the fast path.
        let mut buf = [0u8; MAX_KEY_LEN];
        match key.last() {
            Some(&b) if key.len() <= MAX_KEY_LEN && self.last_bytes[normalise_byte(b) as usize] => {
            }
            _ => return false,
        }
        for (slot, &b) in buf.iter_mut().zip(key) {
            *slot = normalise_byte(b);
        }
        let key = &buf[..key.len()];
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

/// Longer keys are never secret names (and are not worth normalising).
pub const MAX_KEY_LEN: usize = 128;

fn normalise_byte(b: u8) -> u8 {
    match b {
        b'-' | b'.' | b' ' => b'_',
        _ => b.to_ascii_lowercase(),
    }
}

fn normalise(key: &[u8]) -> String {
    key.iter().map(|&b| normalise_byte(b) as char).collect()
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
        ] {
            assert!(!k.is_secret(no.as_bytes()), "{no}");
        }
    }
}
