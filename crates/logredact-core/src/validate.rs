//! Offline validators: checks that a candidate secret has the structure its format promises
//! (a checksum, a decodable header, a charset), named by a rule's `validate` field.
//!
//! Owns: the table of validator names and their checks. Must never: do I/O, call the network,
//! or print anything derived from the secret it is given.
//!
//! Validators:
//! - `github-checksum`: GitHub's new token formats (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` followed by
//!   36 base62 characters) end in a checksum: the last 6 characters are the CRC-32 (IEEE) of the
//!   30 random characters before them, written in base62 (`0-9A-Za-z`) and left-padded with `0`.
//! - `npm-checksum`: npm's `npm_` access tokens use the same scheme.
//! - `jwt`: the first segment base64url-decodes to a JSON object with an `alg` member and the second
//!   to a JSON object.
//! - `aws-key-id`: 20 characters, a known IAM unique-id prefix (`AKIA`, `ASIA`, `ABIA`, `ACCA`, ...,
//!   or `A3T` + one character), then 16 base32 characters (`A-Z2-7`).
//! - `basic-auth`: the credential of an HTTP `Basic` header base64-decodes to printable
//!   `user:password` with a non-empty password.
//!
//! Fail closed: a validator may veto a finding only where the rule's shape alone is weak (bare
//! base64 after `Basic`, see [`Validator::on_failure`]). A shape as specific as a vendor prefix plus its alphabet
//! and length (`ghp_` + 36 base62, `npm_…`, `AKIA…`, `eyJ….eyJ….…`) is redacted even when its
//! check fails: a mistyped, truncated or test-fixture token is still a secret to a redactor. For
//! those rules the check only raises confidence ([`Validator::check`] says whether it passed).

/// A validator a rule may ask for in its `validate` field, parsed once when the rule loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validator {
    /// `github-checksum`: GitHub's `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` tokens' CRC-32 suffix.
    GithubChecksum,
    /// `npm-checksum`: npm's `npm_` tokens, the same scheme.
    NpmChecksum,
    /// `jwt`: a JOSE header with `alg` and a JSON payload.
    Jwt,
    /// `aws-key-id`: a known IAM unique-id prefix and base32.
    AwsKeyId,
    /// `basic-auth`: base64 of printable `user:password`.
    BasicAuth,
}

/// What a failed check does to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// The shape alone is weak (bare base64 after `Basic`): the finding is dropped.
    Veto,
    /// The shape is specific enough to redact on its own: the finding stands, with less
    /// confidence.
    LowerConfidence,
}

impl Validator {
    /// Every validator, in the order their names are listed to users.
    pub const ALL: [Validator; 5] = [
        Validator::GithubChecksum,
        Validator::NpmChecksum,
        Validator::Jwt,
        Validator::AwsKeyId,
        Validator::BasicAuth,
    ];

    /// The validator a rule file names, if there is one by that name.
    pub fn from_name(name: &str) -> Option<Validator> {
        Validator::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Its name in rule files.
    pub fn name(self) -> &'static str {
        match self {
            Validator::GithubChecksum => "github-checksum",
            Validator::NpmChecksum => "npm-checksum",
            Validator::Jwt => "jwt",
            Validator::AwsKeyId => "aws-key-id",
            Validator::BasicAuth => "basic-auth",
        }
    }

    /// What a failed check does. Only validators of weak shapes veto; the others (checksums,
    /// JWT structure, AWS key-id prefixes) guard shapes specific enough to redact on their own.
    pub fn on_failure(self) -> OnFailure {
        match self {
            Validator::BasicAuth => OnFailure::Veto,
            Validator::GithubChecksum
            | Validator::NpmChecksum
            | Validator::Jwt
            | Validator::AwsKeyId => OnFailure::LowerConfidence,
        }
    }

    /// Whether `secret` has the structure its format promises.
    pub fn check(self, secret: &[u8]) -> bool {
        match self {
            Validator::GithubChecksum => {
                base62_crc_token(secret, &[b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"])
            }
            Validator::NpmChecksum => base62_crc_token(secret, &[b"npm_"]),
            Validator::Jwt => jwt(secret),
            Validator::AwsKeyId => aws_key_id(secret),
            Validator::BasicAuth => basic_auth(secret),
        }
    }

    /// Whether a finding of `secret` is dropped: a vetoing validator whose check fails.
    pub fn vetoes(self, secret: &[u8]) -> bool {
        self.on_failure() == OnFailure::Veto && !self.check(secret)
    }

    /// Every validator's name, for messages (`a, b, c`).
    pub fn names() -> String {
        Validator::ALL.map(Validator::name).join(", ")
    }
}

// ------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib's crc32.

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62, left-padded with `0` to 6 digits (a u32 needs at most 6).
fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    let mut i = 6;
    while n > 0 && i > 0 {
        i -= 1;
        out[i] = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// `<prefix><30 random base62><6 base62 CRC-32 of the random part>`.
fn base62_crc_token(secret: &[u8], prefixes: &[&[u8]]) -> bool {
    let Some(prefix) = prefixes.iter().find(|p| secret.starts_with(p)) else {
        return false;
    };
    let body = &secret[prefix.len()..];
    if body.len() != 36 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (random, checksum) = body.split_at(30);
    base62_6(crc32(random)) == checksum
}

// ------------------------------------------------------------------------------------------
// Base64 (standard or URL-safe alphabet, padding optional).

fn b64_value(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => (c - b'A') as u32,
        b'a'..=b'z' => (c - b'a') as u32 + 26,
        b'0'..=b'9' => (c - b'0') as u32 + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
}

/// Decodes base64 in either alphabet; trailing `=` padding is optional. `None` if malformed.
fn b64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut end = input.len();
    while end > 0 && input[end - 1] == b'=' {
        end -= 1;
    }
    if input.len() - end > 2 {
        return None;
    }
    let data = &input[..end];
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4 + 2);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &c in data {
        acc = (acc << 6) | b64_value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ------------------------------------------------------------------------------------------

fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    if header.is_empty() || payload.is_empty() {
        return false;
    }
    let (Some(h), Some(p)) = (b64_decode(header), b64_decode(payload)) else {
        return false;
    };
    let Ok(serde_json::Value::Object(h)) = serde_json::from_slice::<serde_json::Value>(&h) else {
        return false;
    };
    if !h.contains_key("alg") {
        return false;
    }
    matches!(
        serde_json::from_slice::<serde_json::Value>(&p),
        Ok(serde_json::Value::Object(_))
    )
}

const AWS_PREFIXES: &[&[u8; 4]] = &[
    b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"AGPA", b"AIDA", b"AIPA", b"ANPA", b"ANVA", b"APKA",
    b"AROA", b"ASCA",
];

fn aws_key_id(secret: &[u8]) -> bool {
    if secret.len() != 20 {
        return false;
    }
    let (prefix, rest) = secret.split_at(4);
    let known = AWS_PREFIXES.iter().any(|p| &p[..] == prefix)
        || (prefix.starts_with(b"A3T")
            && (prefix[3].is_ascii_uppercase() || prefix[3].is_ascii_digit()));
    known
        && rest
            .iter()
            .all(|&c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
}

fn basic_auth(secret: &[u8]) -> bool {
    let Some(decoded) = b64_decode(secret) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    colon + 1 < decoded.len() && decoded.iter().all(|&b| (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, secret: &[u8]) -> bool {
        Validator::from_name(name)
            .expect("known validator")
            .check(secret)
    }

    #[test]
    fn every_name_parses_back_to_its_validator() {
        for v in Validator::ALL {
            assert_eq!(Validator::from_name(v.name()), Some(v));
        }
        assert_eq!(Validator::from_name("nope"), None);
        assert_eq!(Validator::from_name("JWT"), None, "names are exact");
    }

    #[test]
    fn only_weak_shapes_veto() {
        assert!(Validator::BasicAuth.vetoes(b"bm8gY29sb24gaGVyZQ=="));
        assert!(!Validator::BasicAuth.vetoes(b"ZGVwbG95OnMzY3IzdC1QYTU1"));
        for v in [
            Validator::GithubChecksum,
            Validator::NpmChecksum,
            Validator::Jwt,
            Validator::AwsKeyId,
        ] {
            assert_eq!(v.on_failure(), OnFailure::LowerConfidence, "{}", v.name());
            assert!(!v.vetoes(b"garbage"), "{}", v.name());
        }
    }

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn base62_is_padded() {
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(62), b"000010");
    }

    fn token(prefix: &str, random: &str) -> String {
        let ck = base62_6(crc32(random.as_bytes()));
        format!("{prefix}{random}{}", std::str::from_utf8(&ck).unwrap())
    }

    #[test]
    fn github_checksum() {
        let t = token("ghp_", "Q3mZk9TfW2xLr8VbN4cYh7Jd1PsGa6");
        assert!(check("github-checksum", t.as_bytes()));
        assert!(check(
            "github-checksum",
            token("ghs_", "a1b2c3d4e5f6g7h8i9j0KLMNOPQRST").as_bytes()
        ));
        // One character changed: the checksum no longer matches.
        let bad = t.replacen('Q', "R", 1);
        assert!(!check("github-checksum", bad.as_bytes()));
        assert!(!check(
            "github-checksum",
            b"ghp_16C7e42F292c6912E7710c838347Ae178B4a"
        ));
        assert!(!check("github-checksum", b"ghp_short"));
        assert!(!check(
            "github-checksum",
            t.replacen("ghp_", "npm_", 1).as_bytes()
        ));
    }

    #[test]
    fn npm_checksum() {
        let t = token("npm_", "Hx7Lq2WzR9bVt4Kc8NmYp3Fs6Jd1Ga");
        assert!(check("npm-checksum", t.as_bytes()));
        assert!(!check("npm-checksum", t.replacen('H', "h", 1).as_bytes()));
        assert!(!check(
            "npm-checksum",
            b"npm_0000000000000000000000000000000000000"
        ));
    }

    #[test]
    fn jwt_structure() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"42"} . sig
        let ok = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl";
        assert!(check("jwt", ok));
        // Header without alg: {"typ":"JWT"}
        assert!(!check("jwt", b"eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiI0MiJ9.c2ln"));
        // Payload not JSON.
        assert!(!check(
            "jwt",
            b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.bm90IGpzb24.c2ln"
        ));
        assert!(!check("jwt", b"eyJhbGciOiJIUzI1NiJ9"));
        assert!(!check("jwt", b"...."));
        assert!(!check("jwt", b"e.e.e"));
    }

    #[test]
    fn aws_key_id_shape() {
        assert!(check("aws-key-id", b"AKIAQ7XZ2RMT4VB6LNWP"));
        assert!(check("aws-key-id", b"ASIAJ3KLMNOPQRSTUV25"));
        assert!(check("aws-key-id", b"A3T0ABCDEFGHIJKLMNOP"));
        assert!(!check("aws-key-id", b"AKIA0123456789ABCDEF")); // 0, 1, 8, 9 are not base32
        assert!(!check("aws-key-id", b"AXYZQ7XZ2RMT4VB6LNWP")); // unknown prefix
        assert!(!check("aws-key-id", b"AKIAQ7XZ2RMT4VB6LNW")); // 19 chars
        assert!(!check("aws-key-id", b""));
    }

    #[test]
    fn basic_auth_credentials() {
        // deploy:s3cr3t-Pa55
        assert!(check("basic-auth", b"ZGVwbG95OnMzY3IzdC1QYTU1"));
        // "no colon here"
        assert!(!check("basic-auth", b"bm8gY29sb24gaGVyZQ=="));
        // "user:" (empty password)
        assert!(!check("basic-auth", b"dXNlcjo="));
        assert!(!check("basic-auth", b"not base64!"));
    }

    #[test]
    fn no_panics_on_arbitrary_input() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"=",
            b"===",
            b"ghp_",
            b"\xff\xfe.\x00",
            b"a.b",
            b"A",
            b"npm_\xff",
        ];
        for validator in Validator::ALL {
            for i in inputs {
                let _ = validator.check(i);
            }
        }
        for len in 0..64 {
            let v: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            for validator in Validator::ALL {
                let _ = validator.check(&v);
            }
        }
    }
}
