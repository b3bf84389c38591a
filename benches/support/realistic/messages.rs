//! Benign message shapes of the realistic corpus (`super`): what the services say, with which
//! fields, and how often, so that context words (`token bucket refilled`, `cache miss for key`,
//! `password reset email sent`, `secretName: tls-cert`) reach the rates container logs show.
//! Never holds a secret: secret and decoy values come from `secrets.rs`.

use super::random_text::{Rng, HEX};

/// A field value kind, drawn fresh for each event.
#[derive(Clone, Copy)]
pub enum V {
    Int(usize),
    Ms,
    Svc,
    User,
    Path,
    Ip,
    Uuid,
    Hex(usize),
    Word(&'static [&'static str]),
}

/// One benign message shape: the message, its fields, and how often it appears.
pub struct Shape {
    pub msg: &'static str,
    pub fields: &'static [(&'static str, V)],
    pub weight: usize,
}

pub const SVCS: &[&str] = &[
    "checkout",
    "cart",
    "payments",
    "identity",
    "inventory",
    "gateway",
    "search",
    "notifier",
    "storefront",
    "shipping",
];
const USERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "svc-batch",
    "dave",
    "erin",
    "u-48213",
    "guest",
];
pub const PATHS: &[&str] = &[
    "/healthz",
    "/healthz",
    "/healthz",
    "/metrics",
    "/metrics",
    "/readyz",
    "/readyz",
    "/static/app.js",
    "/static/main.css",
    "/products/42",
    "/products/118/reviews",
    "/cart",
    "/checkout/confirm",
    "/favicon.ico",
    "/images/p/118.jpg",
    "/search?q=shoes&page=2",
    "/orders/9912",
    "/login",
    "/api/v1/orders",
    "/api/v2/users/42/profile",
    "/oauth/token",
    "/account/password/reset",
    "/api/v1/sessions",
    "/v1/keys/rotate",
];
const REGIONS: &[&str] = &["eu-west-1", "us-east-1", "ap-south-1"];
const STATES: &[&str] = &["Running", "Pending", "Succeeded", "Terminating"];

use V::*;

/// Benign shapes. Context-word shapes are weighted so that `token` and `key` each reach ≥ 4 % of
/// lines and `password`, `secret`, `credential`, `session` ≥ 2 % (checked by the corpus test).
#[rustfmt::skip]
pub const SHAPES: &[Shape] = &[
    // neutral
    Shape { msg: "request completed", fields: &[("method", Word(&["GET", "POST", "PUT"])), ("path", Path), ("status", Int(600)), ("duration_ms", Ms)], weight: 40 },
    Shape { msg: "connection pool exhausted, waiting", fields: &[("pool", Svc), ("waiters", Int(40))], weight: 6 },
    Shape { msg: "retrying upstream call after timeout", fields: &[("upstream", Svc), ("attempt", Int(5)), ("backoff_ms", Ms)], weight: 10 },
    Shape { msg: "user profile loaded", fields: &[("user", User), ("duration_ms", Ms)], weight: 12 },
    Shape { msg: "scheduled job finished", fields: &[("job", Word(&["cleanup", "reindex", "export", "digest"])), ("duration_ms", Ms)], weight: 8 },
    Shape { msg: "reconciling deployment replicas", fields: &[("deployment", Svc), ("replicas", Int(12))], weight: 8 },
    Shape { msg: "leader election renewed lease", fields: &[("lease", Svc), ("holder", Hex(8))], weight: 6 },
    Shape { msg: "order created", fields: &[("order_id", Int(9_999_999)), ("items", Int(12)), ("total_cents", Int(100_000))], weight: 12 },
    Shape { msg: "payment authorized", fields: &[("order_id", Int(9_999_999)), ("amount_cents", Int(100_000)), ("currency", Word(&["EUR", "USD"]))], weight: 5 },
    Shape { msg: "inventory reserved", fields: &[("sku", Hex(6)), ("qty", Int(9))], weight: 8 },
    Shape { msg: "starting HTTP server", fields: &[("addr", Word(&[":8080", "0.0.0.0:9090", ":3000"]))], weight: 2 },
    Shape { msg: "shutting down gracefully", fields: &[("signal", Word(&["SIGTERM", "SIGINT"]))], weight: 1 },
    Shape { msg: "health check passed", fields: &[("component", Word(&["db", "redis", "kafka"])), ("latency_ms", Ms)], weight: 20 },
    Shape { msg: "published event", fields: &[("topic", Word(&["orders.created", "cart.updated", "user.signup"])), ("partition", Int(12)), ("offset", Int(9_999_999))], weight: 10 },
    Shape { msg: "consumed message", fields: &[("topic", Word(&["orders.created", "payments.settled"])), ("lag", Int(500))], weight: 10 },
    Shape { msg: "slow query detected", fields: &[("table", Word(&["orders", "carts", "products"])), ("duration_ms", Ms)], weight: 4 },
    Shape { msg: "cache hit", fields: &[("entity", Word(&["product", "price", "stock"])), ("id", Int(99_999))], weight: 14 },
    Shape { msg: "rate limit exceeded", fields: &[("client_ip", Ip), ("limit", Int(1000))], weight: 3 },
    Shape { msg: "pod status changed", fields: &[("pod", Svc), ("phase", Word(STATES))], weight: 6 },
    Shape { msg: "config reloaded", fields: &[("version", Int(300)), ("changed", Int(8))], weight: 2 },
    Shape { msg: "feature flag evaluated", fields: &[("flag", Word(&["new-checkout", "dark-mode", "fast-search"])), ("value", Word(&["true", "false"]))], weight: 8 },
    Shape { msg: "email queued", fields: &[("template", Word(&["order-confirmation", "shipping-update"])), ("recipient_id", Int(999_999))], weight: 5 },
    Shape { msg: "upstream returned error", fields: &[("upstream", Svc), ("status", Int(600)), ("body_bytes", Int(4096))], weight: 4 },
    Shape { msg: "GC pause", fields: &[("pause_ms", Ms), ("heap_mb", Int(2048))], weight: 3 },
    Shape { msg: "metrics flushed", fields: &[("series", Int(5000)), ("region", Word(REGIONS))], weight: 6 },
    Shape { msg: "websocket client connected", fields: &[("client_ip", Ip), ("conn_id", Hex(8))], weight: 4 },
    Shape { msg: "file uploaded", fields: &[("bucket", Word(&["shop-media", "exports"])), ("bytes", Int(9_999_999))], weight: 3 },
    Shape { msg: "search index refreshed", fields: &[("docs", Int(999_999)), ("duration_ms", Ms)], weight: 3 },
    Shape { msg: "migration applied", fields: &[("version", Int(400))], weight: 1 },
    Shape { msg: "request received", fields: &[("method", Word(&["GET", "POST"])), ("path", Path), ("remote", Ip)], weight: 20 },
    Shape { msg: "shipment label printed", fields: &[("carrier", Word(&["dhl", "ups"])), ("parcel", Hex(10))], weight: 3 },
    Shape { msg: "image pulled", fields: &[("image", Word(&["nginx:1.27", "redis:7.4", "postgres:16"])), ("duration_ms", Ms)], weight: 2 },
    Shape { msg: "trace sampled", fields: &[("trace_id", Hex(32)), ("span_id", Hex(16))], weight: 6 },
    Shape { msg: "unhandled exception in handler", fields: &[("path", Path), ("error", Word(&["timeout", "EOF", "connection reset by peer"]))], weight: 4 },
    // token (target ≥ 4 %)
    Shape { msg: "token bucket refilled", fields: &[("bucket", Svc), ("tokens", Int(100)), ("rate", Int(50))], weight: 5 },
    Shape { msg: "access token expired, refreshing", fields: &[("user", User), ("expires_in", Int(3600))], weight: 4 },
    Shape { msg: "validating token", fields: &[("issuer", Word(&["https://auth.shop.test", "kubernetes/serviceaccount"])), ("kid", Hex(8))], weight: 4 },
    Shape { msg: "LLM completion finished", fields: &[("model", Word(&["gpt-4o-mini", "claude-3-haiku"])), ("prompt_tokens", Int(4000)), ("completion_tokens", Int(900)), ("max_tokens", Int(4096))], weight: 4 },
    Shape { msg: "token validation failed: signature expired", fields: &[("user", User), ("reason", Word(&["expired", "not yet valid"]))], weight: 2 },
    Shape { msg: "mounted service account token", fields: &[("path", Word(&["/var/run/secrets/kubernetes.io/serviceaccount/token"]))], weight: 2 },
    // key (target ≥ 4 %)
    Shape { msg: "cache miss for key", fields: &[("key", Word(&["user:42:profile", "cart:9f3c", "price:sku-118"])), ("ttl_s", Int(600))], weight: 6 },
    Shape { msg: "duplicate key value violates unique constraint", fields: &[("constraint", Word(&["orders_pkey", "users_email_key"]))], weight: 3 },
    Shape { msg: "rotating signing key", fields: &[("key_id", Hex(8)), ("algorithm", Word(&["RS256", "ES256"]))], weight: 3 },
    Shape { msg: "partition key routed", fields: &[("partition_key", Word(&["tenant-7", "tenant-12"])), ("partition", Int(24))], weight: 3 },
    Shape { msg: "idempotency key reused, returning stored response", fields: &[("idempotency_key", Uuid)], weight: 3 },
    Shape { msg: "api key quota at 80 percent", fields: &[("client", Svc), ("used", Int(10_000))], weight: 3 },
    // password (target ≥ 2 %)
    Shape { msg: "password reset email sent", fields: &[("user", User), ("template", Word(&["password-reset"]))], weight: 3 },
    Shape { msg: "login failed: invalid password", fields: &[("user", User), ("attempts", Int(5))], weight: 3 },
    Shape { msg: "password policy check passed", fields: &[("min_length", Int(16)), ("user", User)], weight: 1 },
    // secret (target ≥ 2 %)
    Shape { msg: "mounted secret volume", fields: &[("secretName", Word(&["tls-cert", "db-credentials", "registry-pull"])), ("namespace", Svc)], weight: 6 },
    Shape { msg: "secret synced from vault", fields: &[("secret", Word(&["shop/db", "shop/smtp"])), ("version", Int(40))], weight: 4 },
    Shape { msg: "waiting for secret to be created", fields: &[("secret", Word(&["webhook-server-cert"])), ("namespace", Svc)], weight: 2 },
    // credential (target ≥ 2 %)
    Shape { msg: "loaded credentials from environment", fields: &[("provider", Word(&["aws", "gcp"])), ("region", Word(REGIONS))], weight: 6 },
    Shape { msg: "refreshing credential provider chain", fields: &[("provider", Word(&["web-identity", "instance-profile"]))], weight: 4 },
    Shape { msg: "invalid credentials for user", fields: &[("user", User), ("client_ip", Ip)], weight: 3 },
    // session (target ≥ 2 %)
    Shape { msg: "session created", fields: &[("user", User), ("ttl_s", Int(86_400))], weight: 7 },
    Shape { msg: "session expired, redirecting to login", fields: &[("user", User), ("idle_s", Int(7200))], weight: 4 },
    Shape { msg: "sticky session routed to backend", fields: &[("backend", Svc), ("session_affinity", Word(&["ClientIP"]))], weight: 3 },
    // auth / api
    Shape { msg: "authenticated request", fields: &[("user", User), ("method", Word(&["oidc", "mtls"]))], weight: 8 },
    Shape { msg: "calling payments api", fields: &[("endpoint", Word(&["/v1/charges", "/v1/refunds"])), ("duration_ms", Ms)], weight: 6 },
];

/// Renders one value of kind `v`.
pub fn value(rng: &mut Rng, v: V, out: &mut String) {
    match v {
        Int(n) => out.push_str(&rng.below(n).to_string()),
        Ms => out.push_str(&format!("{}.{:03}", rng.below(900), rng.below(1000))),
        Svc => out.push_str(rng.pick(SVCS)),
        User => out.push_str(rng.pick(USERS)),
        Path => out.push_str(rng.pick(PATHS)),
        Ip => out.push_str(&format!(
            "10.{}.{}.{}",
            rng.below(255),
            rng.below(255),
            rng.below(255)
        )),
        Uuid => uuid(rng, out),
        Hex(n) => rng.chars(HEX, n, out),
        Word(w) => out.push_str(rng.pick(w)),
    }
}

pub fn uuid(rng: &mut Rng, out: &mut String) {
    for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        rng.chars(HEX, n, out);
    }
}

/// A key/value pair the event must carry (a secret or decoy from `secrets.rs`).
pub struct Field {
    pub key: String,
    pub value: String,
}

/// What one event says: a benign shape, or a text (secret/decoy) with an optional field.
pub struct Message<'a> {
    pub msg: &'a str,
    pub fields: Vec<(String, String)>,
}

/// Draws a benign shape (index into [`SHAPES`]) and its field values.
pub fn benign(rng: &mut Rng, total_weight: usize) -> (usize, Message<'static>) {
    let mut r = rng.below(total_weight);
    let mut idx = 0;
    for (i, s) in SHAPES.iter().enumerate() {
        if r < s.weight {
            idx = i;
            break;
        }
        r -= s.weight;
    }
    let shape = &SHAPES[idx];
    let mut fields = Vec::with_capacity(shape.fields.len());
    for &(k, v) in shape.fields {
        let mut s = String::new();
        value(rng, v, &mut s);
        fields.push((k.to_string(), s));
    }
    (
        idx,
        Message {
            msg: shape.msg,
            fields,
        },
    )
}
