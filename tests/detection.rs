//! Detection classes of issue 15 (ADVERSARIAL.md L4, L7, L8, L10, L13, C5 and the two
//! "seen on real logs" / "misses seen" lists): one example of each class, through the library
//! filter on every compiled-in engine. Clean lines must come out byte-identical; secret lines must
//! lose the secret and keep the named context. Every example value is made up.
//!
//! Failure messages name the engine and the case number, never the line (fail closed on leaks).

mod common;

use common::builtin_filters as filters;
use logredact::filter::Filter;
use logredact::rules::RuleSet;
use logredact::stats::Stats;
use logredact::stream::{self, StreamOptions};

fn redact(filter: &Filter, line: &str) -> String {
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut out = Vec::new();
    let input = format!("{line}\n");
    stream::run(
        &mut input.as_bytes(),
        &mut out,
        filter,
        StreamOptions::default(),
        &mut stats,
    )
    .expect("in-memory stream");
    String::from_utf8(out).expect("UTF-8 out")
}

/// False-positive classes: each line must pass unchanged.
const CLEAN: &[&str] = &[
    "--- PASS: TestParseConfig/empty_section (0.00s)",
    "PASS: unit_tests",
    "Could not load file or assembly 'Acme.Core, Version=2.1.0.0, Culture=neutral, PublicKeyToken=9f3c2a7d1e5b8c40'",
    "    at Parser.java:42 String token = tokens.nextToken();",
    "{password:e.password,token:t.token}",
    "[ RUN      ] :lcd works with window-local pwd: 0.42 ms OK",
    "-- add_index(:api_keys, :account_id, {:unique=>true})",
    "== 20190101120000 RemoveLegacyPassword: migrating ==============",
    "ssl.truststore.password = null",
    "DEBUG keystone.token: keystone.token.providers.fernet/core: issued",
    "W ActivityManager: Bad activity token: android.os.BinderProxy@4a1f2c9",
    "err=\"invalid bearer token, acme/jose-go: error in signature check\"",
    "GET /turba/contact.php?source=localsql&key=7xQm2Ld9Rt4Kp1Zs8Vb3Nc6&view=Contact",
    "Parameters: {\"user\"=>{\"email\"=>\"bob@shop.test\", \"password\"=>\"[FILTERED]\"}}",
    "terraform apply -var --password=(sensitive)",
    "{\"env\":{\"DB_PASSWORD\":\"$(DB_PASSWORD)\"}}",
    "{\"password\":\"<hidden>\",\"token\":\"<TOKEN>\"}",
    "{\"api_key\":\"REPLACE_ME\"}",
    "{\"api_key\":\"YOUR_API_KEY_HERE\"}",
    "$ export sonatypePassword=[secure]",
    "GET /x?a=1&token=[secure] HTTP/1.1",
    "2024-05-01 10:00:00,123 botocore.credentials: Found credentials in environment variables.",
    "INFO botocore.credentials: Credentials found in config file: ~/.aws/config",
    "Dec 27 09:01:02 host chpasswd[30938]: pam_unix(chpasswd:chauthtok): user \"bob\" does not exist",    // A secret's name (namespace/name reference) and small counts under token-named keys.
    "{\"secret\":\"shop/db\"}",
    // ... or a bare Secret object name (a Kubernetes controller waiting for its certificate).
    "{\"msg\":\"waiting for secret to be created\",\"secret\":\"webhook-server-cert\",\"namespace\":\"identity\"}",
    "{\"tokens\":42,\"max_tokens\": 4096}",
    "{\"usage\":{\"max_tokens\":4096,\"tokens\":1.5}}",
    // Near misses of the batch-2 classes: prose after a dash or `password is`, an empty curl
    // password, a hex cache key, a cookie column without a session cookie.
    "refresh token - expired, requesting a new one",
    "WARN the password is incorrect, try again",
    "curl -u admin: https://es.shop.test:9200/",
    "cache key=52bff44206fbec640a783616824c41ccfd650411 evicted",
    "10.0.0.7 GET / 200 \"theme=dark;lang=de\"",
    "INSERT INTO users (name, email) VALUES ('bob', 'bob@shop.test')",
    // A pagination token escaped inside a Docker `log` string is still a pagination token.
    "{\"log\":\"{\\\"nextPageToken\\\":\\\"CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA3\\\"}\\n\",\"stream\":\"stdout\"}",
];

/// Secret classes: (line, a part of the secret that must be gone, context that must stay).
const SECRETS: &[(&str, &str, &[&str])] = &[
    // The benign shapes allowed under some secret-named keys (a `namespace/name` reference under
    // `secret`, a small count under `tokens`) are not allowed under password-like keys.
    (
        "{\"password\":\"summer/winter2\"}",
        "summer/winter2",
        &["{\"password\":\""],
    ),
    ("{\"password\":4711,\"user\":\"bob\"}", "4711", &["\"user\":\"bob\""]),
    ("{\"token\":\"abc/def\"}", "abc/def", &["{\"token\":"]),
    // A passphrase of words is not an object name: it does not end in a kind of secret object.
    (
        "{\"secret\":\"correct-horse-battery-staple\"}",
        "correct-horse-battery-staple",
        &["{\"secret\":\""],
    ),
    (
        "{\"password\":\"webhook-server-cert\"}",
        "webhook-server-cert",
        &["{\"password\":\""],
    ),
    // Nor under a key that holds a secret value rather than naming a secret object.
    (
        "{\"client_secret\":\"prod-signing-key\"}",
        "prod-signing-key",
        &["{\"client_secret\":\""],
    ),
    (
        "LOG:  statement: ALTER USER app WITH PASSWORD 'Qw3rtyU1op'",
        "Qw3rtyU1op",
        &["ALTER USER app WITH PASSWORD '"],
    ),
    (
        "CREATE USER 'app'@'%' IDENTIFIED BY 'Qw3rtyU1op';",
        "Qw3rtyU1op",
        &["IDENTIFIED BY '"],
    ),
    (
        "SET PASSWORD FOR 'app'@'%' = PASSWORD('Qw3rtyU1op');",
        "Qw3rtyU1op",
        &["SET PASSWORD FOR"],
    ),
    (
        "CREATE ROLE app LOGIN PASSWORD 'Qw3rtyU1op';",
        "Qw3rtyU1op",
        &[],
    ),
    (
        "1714557600.123456 [0 10.0.0.7:51234] \"AUTH\" \"Qw3rtyU1op\"",
        "Qw3rtyU1op",
        &["\"AUTH\""],
    ),
    (
        "1714557600.123456 [0 10.0.0.7:51234] \"AUTH\" \"default\" \"Qw3rtyU1op\"",
        "Qw3rtyU1op",
        &["\"AUTH\""],
    ),
    (
        "redis-cli -a Qw3rtyU1op ping",
        "Qw3rtyU1op",
        &[],
    ),
    (
        "db.createUser({user: \"app\", pwd: \"Qw3rtyU1op\", roles: [\"readWrite\"]})",
        "Qw3rtyU1op",
        &["roles"],
    ),
    (
        "db.auth(\"app\", \"Qw3rtyU1op\")",
        "Qw3rtyU1op",
        &["db.auth(\"app\", \""],
    ),
    (
        "password=Summer$2024",
        "Summer$2024",
        &[],
    ),
    (
        "{\"password\":\"exampleQw3rtyU1op\"}",
        "exampleQw3rtyU1op",
        &[],
    ),
    (
        "password=\"Qw3 rty U1op!\" user=bob",
        "rty U1op",
        &["user=bob"],
    ),
    (
        "GET /login?next=https%3A%2F%2Fapi.internal%2Fcb%3Faccess_token%3Dq2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0 HTTP/1.1",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &["HTTP/1.1"],
    ),
    (
        "body=username%3Dbob%26password%3DQw3rtyU1op",
        "Qw3rtyU1op",
        &["username%3Dbob"],
    ),
    (
        "passwort=Qw3rtyU1op",
        "Qw3rtyU1op",
        &[],
    ),
    (
        "{\"contraseña\":\"Qw3rtyU1op\"}",
        "Qw3rtyU1op",
        &[],
    ),
    (
        "mot_de_passe: Qw3rtyU1op",
        "Qw3rtyU1op",
        &[],
    ),
    (
        "пароль=Qw3rtyU1op",
        "Qw3rtyU1op",
        &[],
    ),
    (
        "Server=tcp:db,1433;User ID=sa;Password=Qw3rtyU1op;Encrypt=True;",
        "Qw3rtyU1op",
        &[";Encrypt=True;"],
    ),
    (
        "git clone https://bob:Qw3rtyU1op@github.com/o/r.git",
        "Qw3rtyU1op",
        &["@github.com/o/r.git", "https://bob:"],
    ),
    (
        "export GITHUB_TOKEN=ghp_q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3",
        "ghp_q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3",
        &[],
    ),
    (
        "accessToken=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "refreshToken: q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "clientSecret: \"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0\"",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "SecretAccessKey=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4g",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4g",
        &[],
    ),
    (
        "api_key1 = \"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0\"",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "client_secret_2=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "request headers=map[Accept:[application/json] Authorization:[Basic YWRtaW46UXczcnR5VTFvcA==]]",
        "YWRtaW46UXczcnR5VTFvcA",
        &["map[Accept:[application/json] Authorization:["],
    ),
    (
        "headers=map[X-Api-Key:[q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0] User-Agent:[curl]]",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &["User-Agent:[curl]"],
    ),
    (
        "config reloaded: upstream auth header: Basic YWRtaW46UXczcnR5VTFvcA==",
        "YWRtaW46UXczcnR5VTFvcA",
        &["auth header: Basic "],
    ),
    (
        "calling api with Bearer q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB",
        &[],
    ),
    (
        "Authorization: ApiKey cTJYbDNrTDl2SnI4bU43cFE0c1Q1dVY2d1gxeVowOmFC",
        "cTJYbDNrTDl2SnI4bU43cFE0c1Q1dVY2d1gxeVowOmFC",
        &[],
    ),
    (
        "auth: Token q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB sent",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB",
        &[],
    ),
    (
        "Authorization: Digest username=\"bob\", realm=\"x\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", response=\"6629fae49393a05397450978507c4ef1\"",
        "6629fae49393a05397450978507c4ef1",
        &[],
    ),
    (
        "Authorization: Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXegMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCqKCAUEEggE9",
        "YIIBhwYGKwYBBQUCoIIBezCCAXeg",
        &[],
    ),
    (
        "calling twilio: account_sid=ACa1f3e5d7c9b2a4f6e8d0c2b4a6f8e0d2",
        "ACa1f3e5d7c9b2a4f6e8d0c2b4a6f8e0d2",
        &[],
    ),
    (
        "\"access_token1\": \"xoxs-3206092076-3204538285-3743137121-836b042620\"",
        "3743137121-836b042620",
        &[],
    ),
    (
        "slack token xoxo-3206092076-3204538285-3743137121-836b042620",
        "3743137121-836b042620",
        &[],
    ),
    (
        "GET /api/auth.test?t=xoxe-1-My0xLTMyMDYwOTIwNzYtNDM0NDk2NDc3MzEzOC00MzQ0OTY0NzczMTM4 HTTP/1.1",
        "My0xLTMyMDYwOTIwNzYtNDM0",
        &[],
    ),
    (
        "method=GET path=/login status=200 header_authorization=\"Basic YWRtaW46UXczcnR5VTFvcA==\"",
        "YWRtaW46UXczcnR5VTFvcA",
        &[],
    ),
    (
        "job done apiKeySid=SKa7bb3a847c5d742dae490322f859eed1 TWILIO_REGION=us1",
        "SKa7bb3a847c5d742dae490322f859eed1",
        &["TWILIO_REGION=us1"],
    ),
    (
        "<secret>q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0</secret>",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "token=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0, retrying request with token q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "export BUNDLE_GEMS__CONTRIBSYS__COM=cafe1234:beef5678",
        "cafe1234:beef5678",
        &[],
    ),
    (
        "1Password secret key: A3-ASWWYB-798JRY-LJVD4-23DC2-86TVM-H43EB",
        "ASWWYB-798JRY-LJVD4",
        &[],
    ),
    (
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIA2OGYBAH6STMMNXNN/20240501/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=5f83b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3",
        "5f83b2a1c0d9e8f7a6b5c4d3e2f1a0b9",
        &[],
    ),
    (
        "GET /export?format=csv&session=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB HTTP/1.1",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB",
        &[],
    ),
    (
        "discord.py: logging in using static token MTAyNDYyMTc4MDUwNzYxNjcyNA.G1a2b3.q2Xl3kL9vJr8mN7pQ4sT5uV6wX1",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1",
        &[],
    ),
    (
        "POST /services/T0123ABCD/B0123ABCD/aBcDeFgHiJkLmNoPqRsTuVwX HTTP/1.1\" 200",
        "aBcDeFgHiJkLmNoPqRsTuVwX",
        &[],
    ),
    (
        "session: FwoGZXIvYXdzEtM8ucCJoGYxVBmrhvbZybbkHnI5q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX3yZ4aB5cD6eF7gH8iJ9kL0",
        "FwoGZXIvYXdzEtM8ucCJoGYx",
        &[],
    ),
    (
        "level=info msg=\"pull secret: {\\\"auths\\\": {\\\"registry.shop.test\\\": {\\\"auth\\\": \\\"ZGVwbG95OmRmbHpHQyMhQy0xazZV\\\"}}}\"",
        "ZGVwbG95OmRmbHpHQyMhQy0xazZV",
        &[],
    ),
    (
        "10.0.0.7 - - [01/May/2024:10:00:00 +0000] \"GET /healthz HTTP/1.1\" 200 12 \"-\" \"curl/8.5.0\" 812 \"Basic YWRtaW46UXczcnR5VTFvcA==\"",
        "YWRtaW46UXczcnR5VTFvcA",
        &[],
    ),    (
        "{\"secret\":\"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0\"}",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &["{\"secret\":"],
    ),
    (
        "{\"token\":12345678901234567890}",
        "12345678901234567890",
        &["{\"token\":"],
    ),
    (
        "fly deploy with fo1_q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4gH5iJ6kL",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3",
        &["fly deploy with "],
    ),
    (
        "MAILGUN_KEY=key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
        "3ax6xnjp29jd6fds4gc373sgvjxteol0",
        &[],
    ),
    (
        "curl -s --user api:key-3ax6xnjp29jd6fds4gc373sgvjxteol0 https://api.mailgun.net/v3/m",
        "3ax6xnjp29jd6fds4gc373sgvjxteol0",
        &["https://api.mailgun.net/v3/m"],
    ),
    (
        "stripe rk_prod_51Hq2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX3yZ4",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "infracost: using ico-q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB",
        &["infracost: using "],
    ),
    (
        "  .dockerconfigjson: eyJhdXRocyI6eyJyZWdpc3RyeS5zaG9wLnRlc3QiOnsiYXV0aCI6IlpHVndiRzk1T21SbWJIcEhReU1oUXkweGF6WlYifX19",
        "eyJyZWdpc3RyeS5zaG9wLnRlc3Qi",
        &[".dockerconfigjson: "],
    ),    (
        "okta token - 'q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0'",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &["okta token - '"],
    ),
    (
        "SONAR_LOGIN := \"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4g\"",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &["SONAR_LOGIN := \""],
    ),
    (
        "OKTA_TOKEN ?= q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "API_SECRET ::= \"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0\"",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[],
    ),
    (
        "curl -u \":d2LkV78zLx!t\" https://api.shop.test/",
        "d2LkV78zLx!t",
        &["https://api.shop.test/"],
    ),
    (
        "curl https://api.shop.test/v1/charges -u q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0: -d amount=100",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &["-d amount=100"],
    ),
    (
        "VERY_SECRET_TOO = 'f6CGV4aMM9zedoh3OUNbSakBymo7yplB'",
        "f6CGV4aMM9zedoh3OUNbSakBymo7yplB",
        &["VERY_SECRET_TOO = '"],
    ),
    (
        "[DEBUG] Using Key=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &["[DEBUG] Using Key="],
    ),
    (
        "2024-05-01 10:00:00 10.0.0.7 GET /app 200 \"SESSIONID=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0;theme=dark\"",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        &[";theme=dark\""],
    ),
    (
        "LOG:  statement: INSERT INTO settings (name, value) VALUES ('heroku_api_key', '3f0c9a7e-2b1d-4c8e-9a6f-5d4e3c2b1a09')",
        "3f0c9a7e-2b1d-4c8e-9a6f-5d4e3c2b1a09",
        &["VALUES ('heroku_api_key', '"],
    ),
    (
        "password = b'Qw3rtyU1op'",
        "Qw3rtyU1op",
        &["password = b'"],
    ),
    (
        "INFO the password is Qw3rtyU1op",
        "Qw3rtyU1op",
        &["the password is "],
    ),
];

#[test]
fn false_positive_classes_pass_unchanged() {
    for (engine, filter) in filters() {
        for (i, line) in CLEAN.iter().enumerate() {
            let out = redact(filter, line);
            assert_eq!(
                out.trim_end_matches('\n'),
                *line,
                "{engine:?}: clean case #{i} was changed"
            );
        }
    }
}

#[test]
fn secret_classes_are_redacted_and_context_kept() {
    for (engine, filter) in filters() {
        for (i, (line, secret, keep)) in SECRETS.iter().enumerate() {
            let out = redact(filter, line);
            assert!(
                !out.contains(secret),
                "{engine:?}: secret case #{i}: the secret is still there"
            );
            for (k, context) in keep.iter().enumerate() {
                assert!(
                    out.contains(context),
                    "{engine:?}: secret case #{i}: context #{k} was redacted too"
                );
            }
        }
    }
}

/// Fail closed: a value longer than a rule's bound is redacted to its end (no tail after the
/// marker), and a vendor-shaped token whose checksum fails is still redacted.
#[test]
fn long_values_and_failed_checksums_are_redacted_whole() {
    let token = format!(
        "IQoJb3JpZ2luX2Vj{}TAILd1OE0IAwLxQfQ==",
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB".repeat(17)
    );
    for (engine, filter) in filters() {
        for line in [
            format!("session_token={token}"),
            format!("password={token} user=bob"),
            format!("{{\"api_key\":\"{token}\"}}"),
        ] {
            let out = redact(filter, &line);
            assert!(
                !out.contains("TAILd1OE0"),
                "{engine:?}: the tail of a {}-byte value leaked",
                token.len()
            );
        }
        let out = redact(
            filter,
            "password=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aBq2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aBq2 user=bob",
        );
        assert!(
            out.ends_with(" user=bob\n"),
            "{engine:?}: context after a long value"
        );
        // Checksum fails (last character changed): still a secret.
        let out = redact(
            filter,
            "GITHUB_TOKEN=ghp_8SeYgg4RpXjD4YNvTP1KwYK9rxiVNk351SdK",
        );
        assert!(
            !out.contains("ghp_8SeYgg"),
            "{engine:?}: ghp_ with a bad checksum"
        );
        let out = redact(
            filter,
            "//registry.npmjs.org/:_authToken=npm_ToYs4jrnZ0giVVSegfRYMOiaUmil8q1oEu3x",
        );
        assert!(
            !out.contains("npm_ToYs4j"),
            "{engine:?}: npm_ with a bad checksum"
        );
    }
}

/// L8: a placeholder word after a one-line key does not veto the key: the placeholder check looks
/// at the secret as a whole.
#[test]
fn a_placeholder_word_near_a_secret_does_not_veto_it() {
    for (engine, filter) in filters() {
        for (i, line) in [
            "password=Qw3rtyU1op see example.md for xxxx",
            "token=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0 # example: ${TOKEN}",
            "{\"password\":\"Qw3rtyU1op\",\"hint\":\"example\"}",
        ]
        .iter()
        .enumerate()
        {
            let out = redact(filter, line);
            assert!(
                !out.contains("Qw3rtyU1op") && !out.contains("q2Xl3kL9vJr8"),
                "{engine:?}: L8 case #{i}"
            );
        }
    }
}

/// An escape that hides a keyword whole (`\u0074oken`, `https:\/\/`) calls for the structured look
/// wherever it sits in the line: it used to count only as the line's first escape, so a `\n`
/// before it (a logged stack trace, a multi-line message) hid it and the token leaked.
#[test]
fn a_hiding_escape_after_an_ordinary_one_still_triggers_the_structured_look() {
    for (engine, filter) in filters() {
        for (i, line) in [
            r#"{"level":"info","msg":"line one\nline two \u0074oken=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0"}"#,
            r#"{"msg":"a\tb \u0070assword=Qw3rtyU1op\u0021x"}"#,
            r#"{"log":"at x\ny \"\u0074oken\":\"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0\"\n","stream":"stdout"}"#,
        ]
        .iter()
        .enumerate()
        {
            let out = redact(filter, line);
            assert!(
                !out.contains("q2Xl3kL9vJr8") && !out.contains("Qw3rtyU1op"),
                "{engine:?}: case #{i} leaked"
            );
        }
    }
}

/// An escape JSON does not have (`\s`, `\w`) is read as its letter by a lenient reader, as by our
/// own decoding, so it may hide a keyword whole (`pa\ssword=…`): it used to count as a control
/// escape, the raw line held no keyword, and the secret passed in clear.
#[test]
fn an_escape_json_does_not_have_still_triggers_the_structured_look() {
    for (engine, filter) in filters() {
        for (i, line) in [
            r#"{"msg":"user login ok pa\ssword=Xk8sPq2mVn7Lw4Rt9Zb\n"}"#,
            r#"{"level":"info","msg":"retry\n\tcalled with to\ken=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0"}"#,
            r#"{"log":"cfg client_s\ecret=q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0\n","stream":"stdout","time":"2024-01-01T00:00:00Z"}"#,
        ]
        .iter()
        .enumerate()
        {
            let out = redact(filter, line);
            assert!(
                !out.contains("Xk8sPq2mVn7Lw4Rt9Zb") && !out.contains("q2Xl3kL9vJr8"),
                "{engine:?}: case #{i} leaked"
            );
        }
    }
}

/// A secret right after a control escape (`\n`, `\t`) has no word boundary in the raw line
/// (`\nAKIA…` reads `nAKIA…`), so only the decoded view finds it. Such lines hold no `\"`/`\u`
/// escape: the structured look is called for by a keyword in the raw line, which the pure-Rust
/// engine's candidates already mark (the line is not searched again) and Hyperscan builds look up.
#[test]
fn a_secret_after_a_control_escape_is_found_in_the_decoded_view() {
    for (engine, filter) in filters() {
        for (i, line) in [
            r#"{"log":"boot\nAKIAQYLPMN5HHHFPZAM2 loaded\n","stream":"stdout","time":"2024-01-01T00:00:00Z"}"#,
            r#"{"level":"info","msg":"cols\tghp_q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0ab12cd\tend"}"#,
            r#"2024-05-01T10:00:00Z stdout F {"msg":"trace\nAKIAQYLPMN5HHHFPZAM2"}"#,
        ]
        .iter()
        .enumerate()
        {
            let out = redact(filter, line);
            assert!(
                !out.contains("QYLPMN5HHHFPZAM2") && !out.contains("q2Xl3kL9vJr8"),
                "{engine:?}: case #{i} leaked"
            );
        }
    }
}

/// A user rule that names no keyword may match anywhere: the engine gives it candidates through
/// the whole of a line too long to confirm whole (it used to get one at the line's start, so
/// only the first window of a long line was searched), on every engine.
#[test]
fn a_rule_without_keywords_is_searched_through_a_long_line() {
    let mut rules = RuleSet::default();
    rules
        .add_toml(
            "t.toml",
            "[[rules]]\nid='order-code'\nregex='''ordc_([a-z0-9]{24})'''\n",
        )
        .expect("the rule loads");
    for choice in logredact::engine::compiled_in() {
        let matcher = logredact::engine::build(&rules, choice).expect("engine builds");
        let filter = Filter::new(logredact::detect::Detector::new(rules.clone(), matcher));
        let mut line = "x".repeat(100_000);
        line.push_str(" ordc_q2xl3kl9vjr8mn7pq4st5uv6 ");
        line.push_str(&"y".repeat(100_000));
        let out = redact(&filter, &line);
        assert!(!out.contains("q2xl3kl9vjr8"), "{choice:?}: leaked");
        assert!(
            out.contains("[REDACTED:order-code]"),
            "{choice:?}: no marker"
        );
    }
}
