//! Made-up secrets and decoys for the realistic corpus (`super`). Every value is drawn fresh from
//! the seeded generator in the *shape* a built-in rule targets (prefix, alphabet, length, the key
//! names and syntax around it; see the `examples` in `patterns/*.toml`), so none is a real
//! credential. Must never emit a fixed credential-looking literal, and never a secret from
//! [`decoy`]: decoys (UUIDs, hashes, digests, trace ids, placeholders, benign secret-ish keys)
//! are what a redactor should leave alone.

use super::messages::{uuid, Field};
use super::random_text::{Rng, ALNUM, HEX};

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URLSAFE: &[u8] = URLSAFE_B64;
const DIGITS: &[u8] = b"0123456789";
const BECH32: &[u8] = b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
/// Password characters: what people put in passwords, minus quotes, spaces and `$`.
const PW: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!~";

fn s(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    let mut o = String::with_capacity(n);
    rng.chars(alphabet, n, &mut o);
    o
}

fn pw(rng: &mut Rng) -> String {
    let n = 12 + rng.below(10);
    // Starts with a letter: some rules refuse a leading `-`, and real generators do the same.
    let mut o = s(rng, &ALNUM[..52], 1);
    rng.chars(PW, n, &mut o);
    o
}

/// `bytes` in base64 (`url`: the URL-safe alphabet without padding, as in JWTs).
fn base64(bytes: &[u8], url: bool) -> String {
    let alphabet = if url { URLSAFE_B64 } else { B64 };
    let mut o = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            o.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if !url {
            o.push_str(&"=="[..3 - chunk.len()]);
        }
    }
    o
}

const URLSAFE_B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A JWT of made-up claims with a random signature.
fn jwt(rng: &mut Rng) -> String {
    let claims = format!(
        "{{\"sub\":\"{}\",\"iat\":{},\"exp\":{},\"scope\":\"orders:read\"}}",
        s(rng, ALNUM, 12),
        1_795_900_000 + rng.below(10_000),
        1_795_990_000 + rng.below(10_000)
    );
    format!(
        "{}.{}.{}",
        base64(br#"{"alg":"HS256","typ":"JWT"}"#, true),
        base64(claims.as_bytes(), true),
        s(rng, URLSAFE, 43)
    )
}

/// How a secret is carried by its event.
pub enum Form {
    /// A key/value field, serialized in the style's own field syntax (JSON member, logfmt, k=v).
    Field(Field),
    /// A message text; `serialization` says which syntax it uses.
    Text(&'static str, String),
}

fn field(key: &str, value: String) -> Form {
    Form::Field(Field {
        key: key.to_string(),
        value,
    })
}

/// A self-identifying (prefixed) token: as a field, or in text in one of the common syntaxes.
fn prefixed(rng: &mut Rng, key: &str, value: String) -> Form {
    match rng.below(8) {
        0 | 1 => field(key, value),
        2 => Form::Text(
            "env",
            format!("export {}={value}", key.to_ascii_uppercase()),
        ),
        3 => Form::Text("yaml", format!("{key}: {value}")),
        4 => Form::Text(
            "python-dict",
            format!("config loaded: {{'{key}': '{value}', 'timeout': 30}}"),
        ),
        5 => Form::Text(
            "go-map",
            format!("client options map[{key}:{value} region:eu-west-1]"),
        ),
        6 => Form::Text(
            "header",
            format!("outgoing request headers: Authorization: Bearer {value}"),
        ),
        _ => Form::Text("prose", format!("using credential {value} for upload")),
    }
}

/// A value that a rule recognizes only by its key name: field, env, YAML, Python dict or Go map.
fn keyed(rng: &mut Rng, key: &str, value: String) -> Form {
    match rng.below(6) {
        0 | 1 => field(key, value),
        2 => Form::Text("env", format!("env {}={value}", key.to_ascii_uppercase())),
        3 => Form::Text("yaml", format!("{key}: {value}")),
        4 => Form::Text(
            "python-dict",
            format!("settings {{'{key}': '{value}', 'retries': 3}}"),
        ),
        _ => Form::Text("go-map", format!("loaded map[{key}:{value} debug:false]")),
    }
}

/// The secret families: the built-in rule each targets.
pub const FAMILIES: &[&str] = &[
    "github-pat",
    "github-fine-grained-pat",
    "gitlab-pat",
    "aws-access-key-id",
    "aws-secret-access-key",
    "gcp-api-key",
    "gcp-oauth-access-token",
    "slack-bot-token",
    "slack-webhook-url",
    "stripe-secret-key",
    "stripe-webhook-secret",
    "openai-api-key",
    "anthropic-api-key",
    "huggingface-token",
    "groq-api-key",
    "npm-access-token",
    "dockerhub-token",
    "digitalocean-personal-access-token",
    "vault-service-token",
    "sendgrid-api-key",
    "shopify-access-token",
    "databricks-token",
    "pulumi-access-token",
    "linear-api-key",
    "postman-api-key",
    "jwt",
    "sentry-dsn",
    "newrelic-user-api-key",
    "age-secret-key",
    "telegram-bot-token",
    "twilio-api-secret",
    "datadog-api-key",
    "azure-storage-account-key",
    "password-assignment",
    "secret-assignment",
    "authorization-bearer",
    "authorization-basic",
    "api-key-header",
    "session-cookie",
    "query-param-secret",
    "postgres-url-password",
    "mysql-url-password",
    "mongodb-url-password",
    "redis-url-password",
    "amqp-url-password",
    "jdbc-password",
    "cli-password-flag",
    "curl-user-credentials",
    "kafka-sasl-password",
    "docker-config-auth",
    "aws-presigned-url-signature",
    "mysql-cli-password",
    "sshpass-password",
    "private-key-pkcs8",
    "docker-login-password",
    "redis-requirepass",
    "url-credentials",
];

/// One secret of family `FAMILIES[i]`.
pub fn secret(rng: &mut Rng, i: usize) -> Form {
    match FAMILIES[i] {
        "github-pat" => { let v = format!("ghp_{}", s(rng, ALNUM, 36)); prefixed(rng, "github_token", v) }
        "github-fine-grained-pat" => { let v = format!("github_pat_{}_{}", s(rng, ALNUM, 22), s(rng, ALNUM, 59)); prefixed(rng, "gh_token", v) }
        "gitlab-pat" => { let v = format!("glpat-{}", s(rng, URLSAFE, 20)); prefixed(rng, "gitlab_token", v) }
        "aws-access-key-id" => { let v = format!("AKIA{}", s(rng, B32, 16)); prefixed(rng, "aws_access_key_id", v) }
        "aws-secret-access-key" => { let v = s(rng, B64, 40); keyed(rng, "aws_secret_access_key", v) }
        "gcp-api-key" => { let v = format!("AIza{}", s(rng, URLSAFE, 35)); prefixed(rng, "maps_api_key", v) }
        "gcp-oauth-access-token" => { let v = format!("ya29.{}", s(rng, URLSAFE, 80)); prefixed(rng, "access_token", v) }
        "slack-bot-token" => { let v = format!("xoxb-{}-{}-{}", s(rng, DIGITS, 12), s(rng, DIGITS, 13), s(rng, ALNUM, 24)); prefixed(rng, "slack_token", v) }
        "slack-webhook-url" => Form::Text("url", format!("posting alert to https://hooks.slack.com/services/T{}/B{}/{}", s(rng, UPPER, 9), s(rng, UPPER, 9), s(rng, ALNUM, 24))),
        "stripe-secret-key" => { let v = format!("sk_test_{}", s(rng, ALNUM, 32)); prefixed(rng, "stripe_key", v) }
        "stripe-webhook-secret" => { let v = format!("whsec_{}", s(rng, ALNUM, 32)); prefixed(rng, "webhook_signing", v) }
        "openai-api-key" => { let v = format!("sk-proj-{}T3BlbkFJ{}", s(rng, URLSAFE, 40), s(rng, URLSAFE, 40)); prefixed(rng, "openai_api_key", v) }
        "anthropic-api-key" => { let v = format!("sk-ant-api03-{}AA", s(rng, URLSAFE, 93)); prefixed(rng, "anthropic_api_key", v) }
        "huggingface-token" => { let v = format!("hf_{}", s(rng, ALNUM, 34)); prefixed(rng, "hf_token", v) }
        "groq-api-key" => { let v = format!("gsk_{}", s(rng, ALNUM, 52)); prefixed(rng, "groq_key", v) }
        "npm-access-token" => { let v = format!("npm_{}", s(rng, ALNUM, 36)); prefixed(rng, "npm_token", v) }
        "dockerhub-token" => { let v = format!("dckr_pat_{}", s(rng, URLSAFE, 27)); prefixed(rng, "registry_token", v) }
        "digitalocean-personal-access-token" => { let v = format!("dop_v1_{}", s(rng, HEX, 64)); prefixed(rng, "do_token", v) }
        "vault-service-token" => { let v = format!("hvs.{}", s(rng, URLSAFE, 90)); prefixed(rng, "vault_token", v) }
        "sendgrid-api-key" => { let v = format!("SG.{}.{}", s(rng, URLSAFE, 22), s(rng, URLSAFE, 43)); prefixed(rng, "sendgrid_api_key", v) }
        "shopify-access-token" => { let v = format!("shpat_{}", s(rng, HEX, 32)); prefixed(rng, "shopify_token", v) }
        "databricks-token" => { let v = format!("dapi{}", s(rng, HEX, 32)); prefixed(rng, "databricks_token", v) }
        "pulumi-access-token" => { let v = format!("pul-{}", s(rng, HEX, 40)); prefixed(rng, "pulumi_access_token", v) }
        "linear-api-key" => { let v = format!("lin_api_{}", s(rng, ALNUM, 40)); prefixed(rng, "linear_key", v) }
        "postman-api-key" => { let v = format!("PMAK-{}-{}", s(rng, HEX, 24), s(rng, HEX, 34)); prefixed(rng, "postman_api_key", v) }
        "jwt" => { let v = jwt(rng); prefixed(rng, "id_token", v) }
        "sentry-dsn" => Form::Text("url", format!("sentry initialized dsn=https://{}@o{}.ingest.sentry.io/{}", s(rng, HEX, 32), s(rng, DIGITS, 6), s(rng, DIGITS, 7))),
        "newrelic-user-api-key" => { let v = format!("NRAK-{}", s(rng, UPPER, 27)); prefixed(rng, "newrelic_api_key", v) }
        "age-secret-key" => { let v = format!("AGE-SECRET-KEY-1{}", s(rng, BECH32, 58)); prefixed(rng, "age_identity", v) }
        "telegram-bot-token" => Form::Text("url", format!("POST https://api.telegram.org/bot{}:AA{}/sendMessage", s(rng, DIGITS, 10), s(rng, URLSAFE, 33))),
        "twilio-api-secret" => { let v = s(rng, ALNUM, 32); keyed(rng, "twilio_auth_token", v) }
        "datadog-api-key" => { let v = s(rng, HEX, 32); keyed(rng, "dd_api_key", v) }
        "azure-storage-account-key" => Form::Text("connection-string", format!("blob client: DefaultEndpointsProtocol=https;AccountName=shopdata;AccountKey={}==;EndpointSuffix=core.windows.net", s(rng, B64, 86))),
        "password-assignment" => { let k = rng.pick(&["password", "db_password", "smtp_pass", "admin_password"]); let v = pw(rng); keyed(rng, k, v) }
        "secret-assignment" => { let k = rng.pick(&["client_secret", "api_key", "webhook_secret", "signing_key"]); let v = s(rng, ALNUM, 32); keyed(rng, k, v) }
        "authorization-bearer" => { let v = format!("Bearer {}", s(rng, URLSAFE, 40)); header(rng, "Authorization", v) }
        "authorization-basic" => { let v = format!("Basic {}", base64(format!("{}:{}", rng.pick(&["admin", "deploy", "ci-bot"]), pw(rng)).as_bytes(), false)); header(rng, "Authorization", v) }
        "api-key-header" => { let v = s(rng, ALNUM, 32); header(rng, "X-API-Key", v) }
        "session-cookie" => { let v = format!("theme=dark; sessionid={}; locale=en", s(rng, ALNUM, 32)); header(rng, "Cookie", v) }
        "query-param-secret" => Form::Text("query", format!("GET /api/v1/export?format=csv&access_token={} 200 512", s(rng, ALNUM, 40))),
        "postgres-url-password" => { let p = pw(rng); url(rng, "DATABASE_URL", format!("postgres://app:{p}@db-0.shop.internal:5432/shop?sslmode=require")) }
        "mysql-url-password" => { let p = pw(rng); url(rng, "MYSQL_URL", format!("mysql://root:{p}@mysql-primary:3306/shop")) }
        "mongodb-url-password" => { let p = pw(rng); url(rng, "MONGO_URI", format!("mongodb+srv://app:{p}@cluster0.x1y2z.mongodb.net/shop")) }
        "redis-url-password" => { let p = pw(rng); url(rng, "REDIS_URL", format!("redis://:{p}@redis-master:6379/0")) }
        "amqp-url-password" => { let p = pw(rng); url(rng, "AMQP_URL", format!("amqp://orders:{p}@rabbitmq:5672/")) }
        "jdbc-password" => { let p = pw(rng); url(rng, "spring.datasource.url", format!("jdbc:postgresql://db:5432/shop?user=app&password={p}")) }
        "url-credentials" => { let p = pw(rng); url(rng, "remote", format!("https://deploy:{p}@git.shop.test/shop/app.git")) }
        "cli-password-flag" => Form::Text("cli", format!("exec: /usr/local/bin/backup --db-password={} --verbose", pw(rng))),
        "curl-user-credentials" => Form::Text("cli", format!("running curl -sS -u admin:{} https://es.shop.internal:9200/_cluster/health", pw(rng))),
        "kafka-sasl-password" => Form::Text("properties", format!("kafka client config: sasl.mechanism=PLAIN sasl.password={} acks=all", pw(rng))),
        "docker-config-auth" => Form::Text("json", format!("wrote docker config {{\"auths\":{{\"registry.shop.test\":{{\"auth\":\"{}\"}}}}}}", s(rng, B64, 32))),
        "aws-presigned-url-signature" => Form::Text("query", format!("download url=https://exports.s3.eu-west-1.amazonaws.com/r.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature={}", s(rng, HEX, 64))),
        "mysql-cli-password" => Form::Text("cli", format!("running: mysqldump -h db -u backup -p{} shop", pw(rng))),
        "sshpass-password" => Form::Text("cli", format!("deploy step: sshpass -p {} ssh deploy@10.0.4.17 systemctl restart app", pw(rng))),
        "private-key-pkcs8" => Form::Text("json", format!("service account loaded {{\"type\":\"service_account\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}}", s(rng, B64, 128))),
        "docker-login-password" => Form::Text("cli", format!("+ docker login -u ci -p {} registry.shop.test", pw(rng))),
        _ => Form::Text("cli", format!("probe: redis-cli -h redis-master -a {} ping", pw(rng))),
    }
}

/// An HTTP header: as a field (logged headers object, logfmt) or as a header line.
fn header(rng: &mut Rng, name: &str, value: String) -> Form {
    match rng.below(3) {
        0 => field(&name.to_ascii_lowercase(), value),
        1 => Form::Text("header", format!("request headers: {name}: {value}")),
        _ => Form::Text(
            "curl",
            format!("retrying: curl -H '{name}: {value}' https://api.shop.test/v1/stock"),
        ),
    }
}

/// A URL with credentials: as a field or in text.
fn url(rng: &mut Rng, key: &str, value: String) -> Form {
    match rng.below(3) {
        0 => field(key, value),
        1 => Form::Text("env", format!("{key}={value}")),
        _ => Form::Text("url", format!("connecting to {value}")),
    }
}

/// The decoy kinds: values a redactor should leave alone.
pub const DECOYS: &[&str] = &[
    "uuid",
    "git-sha",
    "image-digest",
    "traceparent",
    "placeholder",
    "benign-key",
    "hash",
    "page-token",
];

/// One decoy of kind `DECOYS[i]`, as a field (`Field`) or a text to append.
pub fn decoy(rng: &mut Rng, i: usize) -> Field {
    let (key, value) = match DECOYS[i] {
        "uuid" => {
            let mut u = String::new();
            uuid(rng, &mut u);
            (rng.pick(&["request_id", "session_id", "correlation_id"]), u)
        }
        "git-sha" => ("git_commit", s(rng, HEX, 40)),
        "image-digest" => (
            "image",
            format!("registry.shop.test/checkout@sha256:{}", s(rng, HEX, 64)),
        ),
        "traceparent" => (
            "traceparent",
            format!("00-{}-{}-01", s(rng, HEX, 32), s(rng, HEX, 16)),
        ),
        "placeholder" => {
            let pairs = [
                ("password", "********"),
                ("token", "${TOKEN}"),
                ("api_key", "<redacted>"),
                ("client_secret", "REDACTED"),
                ("password", "null"),
            ];
            let (k, v) = pairs[rng.below(pairs.len())];
            (k, v.to_string())
        }
        "benign-key" => {
            let pairs = [
                ("max_tokens", "4096"),
                ("secretName", "tls-cert"),
                ("key_id", "kid-2026-11"),
                ("api_key_version", "v2.14.3"),
                ("token_count", "118"),
                ("keyspace", "orders"),
                (
                    "secret_path",
                    "/var/run/secrets/kubernetes.io/serviceaccount/token",
                ),
            ];
            let (k, v) = pairs[rng.below(pairs.len())];
            (k, v.to_string())
        }
        "hash" => (rng.pick(&["sha256", "etag", "checksum"]), s(rng, HEX, 64)),
        _ => ("nextPageToken", s(rng, URLSAFE, 40)),
    };
    Field {
        key: key.to_string(),
        value,
    }
}
