//! Logging styles of the realistic corpus (`super`): how Python logging, logrus, zap (JSON and
//! console), Spring/logback (with stack traces), klog, nginx and Apache access logs (with logged
//! headers), PostgreSQL, MySQL, logfmt, structured JSON (nested request/headers) and Go's `log`
//! print an event, and the event clock. Never invents a secret: the message and its fields come
//! from `messages.rs` (benign) or `secrets.rs` (secrets, decoys).

use super::messages::{uuid, Message, PATHS, SVCS};
use super::random_text::{json_escape, Rng};

/// A logging style: the syntax of one kind of service's log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Python,
    Logrus,
    ZapJson,
    ZapConsole,
    Spring,
    Klog,
    Nginx,
    Apache,
    Postgres,
    Mysql,
    Logfmt,
    StructuredJson,
    GoStdlib,
}

/// Each style and its share of events (weights, out of their sum).
pub const STYLES: &[(Style, &str, usize)] = &[
    (Style::Python, "python-logging", 9),
    (Style::Logrus, "logrus", 8),
    (Style::ZapJson, "zap-json", 13),
    (Style::ZapConsole, "zap-console", 5),
    (Style::Spring, "spring-logback", 9),
    (Style::Klog, "klog", 8),
    (Style::Nginx, "nginx-access", 10),
    (Style::Apache, "apache-access", 4),
    (Style::Postgres, "postgresql", 4),
    (Style::Mysql, "mysql", 3),
    (Style::Logfmt, "logfmt", 8),
    (Style::StructuredJson, "structured-json", 15),
    (Style::GoStdlib, "go-log", 4),
];

impl Style {
    /// Whether the style prints a free message with fields (the others print access or SQL lines).
    pub fn carries_messages(self) -> bool {
        !matches!(
            self,
            Style::Nginx | Style::Apache | Style::Postgres | Style::Mysql
        )
    }

    /// Whether one event of this style is a JSON object.
    pub fn is_json(self) -> bool {
        matches!(self, Style::ZapJson | Style::StructuredJson)
    }
}

/// Milliseconds since 2026-11-29T00:00:00Z, advancing a little with each event.
pub struct Clock(pub u64);

const EPOCH_DAY: u64 = 1_795_910_400;

impl Clock {
    pub fn tick(&mut self, rng: &mut Rng) {
        self.0 = (self.0 + rng.below(40) as u64) % 86_400_000;
    }
    fn hms(&self) -> (u64, u64, u64, u64) {
        let s = self.0 / 1000;
        (s / 3600, s / 60 % 60, s % 60, self.0 % 1000)
    }
    pub fn iso(&self) -> String {
        let (h, m, s, ms) = self.hms();
        format!("2026-11-29T{h:02}:{m:02}:{s:02}.{ms:03}Z")
    }
    pub fn iso_nanos(&self, rng: &mut Rng) -> String {
        let (h, m, s, ms) = self.hms();
        format!(
            "2026-11-29T{h:02}:{m:02}:{s:02}.{ms:03}{:06}Z",
            rng.below(1_000_000)
        )
    }
    pub fn epoch(&self) -> String {
        format!("{}.{:03}", EPOCH_DAY + self.0 / 1000, self.0 % 1000)
    }
    fn spaced(&self, sep: char) -> String {
        let (h, m, s, ms) = self.hms();
        format!("2026-11-29 {h:02}:{m:02}:{s:02}{sep}{ms:03}")
    }
    fn clf(&self) -> String {
        let (h, m, s, _) = self.hms();
        format!("29/Nov/2026:{h:02}:{m:02}:{s:02} +0000")
    }
}

fn level(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=79 => 0,
        80..=89 => 1,
        90..=96 => 2,
        _ => 3,
    }
}

const LV_UP: [&str; 4] = ["INFO", "DEBUG", "WARN", "ERROR"];
const LV_LO: [&str; 4] = ["info", "debug", "warn", "error"];

fn needs_quotes(v: &str) -> bool {
    v.is_empty() || v.bytes().any(|b| b == b' ' || b == b'"' || b == b'=')
}

fn kv(fields: &[(String, String)], quote: bool, out: &mut String) {
    for (k, v) in fields {
        out.push(' ');
        out.push_str(k);
        out.push('=');
        if quote && needs_quotes(v) {
            out.push('"');
            out.push_str(&v.replace('"', "\\\""));
            out.push('"');
        } else {
            out.push_str(v);
        }
    }
}

fn json_fields(fields: &[(String, String)], out: &mut String) {
    for (k, v) in fields {
        let numeric = !v.is_empty() && v.len() < 12 && v.bytes().all(|b| b.is_ascii_digit());
        if numeric {
            out.push_str(&format!(",\"{}\":{v}", json_escape(k)));
        } else {
            out.push_str(&format!(",\"{}\":\"{}\"", json_escape(k), json_escape(v)));
        }
    }
}

const JAVA_CLASSES: &[&str] = &[
    "c.s.checkout.OrderController",
    "o.s.w.s.DispatcherServlet",
    "c.s.pay.PaymentClient",
    "c.z.h.HikariPool",
];
const THREADS: &[&str] = &[
    "nio-8080-exec-3",
    "main",
    "scheduling-1",
    "task-7",
    "kafka-consumer-2",
];
const GO_FILES: &[&str] = &[
    "server/handler.go:88",
    "store/orders.go:141",
    "identity/verify.go:57",
    "worker/loop.go:203",
];

/// Renders a message-carrying event of `style` as physical lines (without newlines) into `lines`.
/// A Spring error may add a stack trace (more lines).
pub fn render(rng: &mut Rng, style: Style, clock: &Clock, m: &Message, lines: &mut Vec<String>) {
    let lv = level(rng);
    let mut l = String::with_capacity(200);
    match style {
        Style::Python => {
            l.push_str(&format!(
                "{} {} [{}.{}] {}",
                clock.spaced(','),
                LV_UP[lv],
                rng.pick(&["app", "worker", "celery"]),
                rng.pick(&["views", "tasks", "db"]),
                m.msg
            ));
            kv(&m.fields, false, &mut l);
        }
        Style::Logrus => {
            l.push_str(&format!(
                "time=\"{}\" level={} msg=\"{}\"",
                clock.iso(),
                LV_LO[lv],
                m.msg
            ));
            kv(&m.fields, true, &mut l);
        }
        Style::ZapJson => {
            l.push_str(&format!(
                "{{\"level\":\"{}\",\"ts\":{},\"caller\":\"{}\",\"msg\":\"{}\"",
                LV_LO[lv],
                clock.epoch(),
                rng.pick(GO_FILES),
                json_escape(m.msg)
            ));
            json_fields(&m.fields, &mut l);
            l.push('}');
        }
        Style::ZapConsole => {
            l.push_str(&format!(
                "{}\t{}\t{}\t{}\t{{",
                clock.iso(),
                LV_UP[lv],
                rng.pick(GO_FILES),
                m.msg
            ));
            let mut tail = String::new();
            json_fields(&m.fields, &mut tail);
            l.push_str(tail.trim_start_matches(','));
            l.push('}');
        }
        Style::Spring => {
            l.push_str(&format!(
                "{}  {:>5} 1 --- [{:>15}] {:<40} : {}",
                clock.spaced('.'),
                LV_UP[lv],
                rng.pick(THREADS),
                rng.pick(JAVA_CLASSES),
                m.msg
            ));
            kv(&m.fields, false, &mut l);
        }
        Style::Klog => {
            let (h, mi, s, ms) = clock.hms();
            let c = ['I', 'I', 'W', 'E'][lv];
            l.push_str(&format!(
                "{c}1129 {h:02}:{mi:02}:{s:02}.{ms:03}{:03}       1 {}] \"{}\"",
                rng.below(1000),
                rng.pick(&[
                    "controller.go:123",
                    "reflector.go:289",
                    "leaderelection.go:258"
                ]),
                m.msg
            ));
            kv(&m.fields, true, &mut l);
        }
        Style::Logfmt => {
            l.push_str(&format!(
                "ts={} level={} caller={} msg=\"{}\"",
                clock.iso(),
                LV_LO[lv],
                rng.pick(GO_FILES),
                m.msg
            ));
            kv(&m.fields, true, &mut l);
        }
        Style::StructuredJson => {
            l.push_str(&format!(
                "{{\"timestamp\":\"{}\",\"level\":\"{}\",\"service\":\"{}\",\"message\":\"{}\"",
                clock.iso(),
                LV_UP[lv],
                rng.pick(SVCS),
                json_escape(m.msg)
            ));
            json_fields(&m.fields, &mut l);
            let mut id = String::new();
            uuid(rng, &mut id);
            l.push_str(&format!(",\"request\":{{\"method\":\"{}\",\"path\":\"{}\",\"headers\":{{\"user-agent\":\"{}\",\"x-request-id\":\"{id}\",\"accept\":\"application/json\"}}}}}}", rng.pick(&["GET", "POST"]), rng.pick(PATHS), rng.pick(UAS)));
        }
        Style::GoStdlib => {
            let (h, mi, s, _) = clock.hms();
            l.push_str(&format!("2026/11/29 {h:02}:{mi:02}:{s:02} {}", m.msg));
            kv(&m.fields, false, &mut l);
        }
        Style::Nginx | Style::Apache | Style::Postgres | Style::Mysql => {
            // Not message-carrying: `access_or_db` renders these.
            l.push_str(m.msg);
            kv(&m.fields, false, &mut l);
        }
    }
    lines.push(l);
    if style == Style::Spring && lv == 3 && rng.below(2) == 0 {
        stack_trace(rng, lines);
    }
}

fn stack_trace(rng: &mut Rng, lines: &mut Vec<String>) {
    lines.push(format!(
        "java.lang.IllegalStateException: {}",
        rng.pick(&[
            "Connection is not available, request timed out after 30000ms",
            "Order not found",
            "upstream returned 503"
        ])
    ));
    for _ in 0..(4 + rng.below(10)) {
        lines.push(format!(
            "\tat {}.{}({}.java:{})",
            rng.pick(&[
                "com.shop.checkout.OrderService",
                "org.springframework.web.servlet.FrameworkServlet",
                "com.zaxxer.hikari.pool.HikariPool",
                "java.base/java.lang.Thread"
            ]),
            rng.pick(&["process", "service", "getConnection", "run"]),
            rng.pick(&["OrderService", "FrameworkServlet", "HikariPool", "Thread"]),
            rng.below(900)
        ));
    }
    lines.push(format!("\t... {} common frames omitted", rng.below(80)));
}

const UAS: &[&str] = &[
    "kube-probe/1.29",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    "curl/8.5.0",
    "okhttp/4.12.0",
    "Go-http-client/1.1",
    "python-requests/2.32.3",
];

const SQL: &[&str] = &[
    "SELECT id, total FROM orders WHERE customer_id = $1 LIMIT 50",
    "UPDATE sessions SET last_seen = now() WHERE id = $1",
    "INSERT INTO events (kind, payload) VALUES ($1, $2)",
    "SELECT key, value FROM settings WHERE tenant = $1",
    "UPDATE users SET password_hash = $1, updated_at = now() WHERE id = $2",
    "DELETE FROM api_tokens WHERE expires_at < now()",
    "SELECT count(*) FROM carts",
    "COMMIT",
];

/// Renders an access-log or database event (nginx, Apache, PostgreSQL, MySQL); returns the index
/// of its shape among [`ACCESS_DB_SHAPES`]. `extra` (a decoy) is appended where the style logs it.
pub fn access_or_db(
    rng: &mut Rng,
    style: Style,
    clock: &Clock,
    extra: Option<&str>,
    lines: &mut Vec<String>,
) -> usize {
    let mut l = String::with_capacity(240);
    let shape;
    match style {
        Style::Nginx => {
            let p = rng.below(PATHS.len());
            shape = p;
            let mut rid = String::new();
            uuid(rng, &mut rid);
            l.push_str(&format!("10.{}.{}.{} - - [{}] \"{} {} HTTP/1.1\" {} {} \"-\" \"{}\" rt={} uct=\"0.000\" req_id={rid}{}", rng.below(255), rng.below(255), rng.below(255), clock.clf(), rng.pick(&["GET", "GET", "POST"]), PATHS[p], rng.pick(&["200", "200", "204", "301", "404", "502"]), rng.below(50_000), rng.pick(UAS), rng.below(900) as f64 / 1000.0, if rng.below(2) == 0 { " auth=\"-\"" } else { "" }));
        }
        Style::Apache => {
            let p = rng.below(PATHS.len());
            shape = PATHS.len() + p;
            l.push_str(&format!(
                "192.168.{}.{} - {} [{}] \"GET {} HTTP/1.1\" {} {} \"https://shop.test/\" \"{}\"",
                rng.below(255),
                rng.below(255),
                rng.pick(&["-", "-", "frank"]),
                clock.clf(),
                PATHS[p],
                rng.pick(&["200", "304", "404"]),
                rng.below(90_000),
                rng.pick(UAS)
            ));
        }
        Style::Postgres => {
            let q = rng.below(SQL.len());
            shape = 2 * PATHS.len() + q;
            l.push_str(&format!(
                "{} UTC [{}] {}@shop LOG:  duration: {}.{:03} ms  statement: {}",
                clock.spaced('.'),
                100 + rng.below(9000),
                rng.pick(&["app", "reporting"]),
                rng.below(900),
                rng.below(1000),
                SQL[q]
            ));
        }
        _ => {
            let k = rng.below(MYSQL.len());
            shape = 2 * PATHS.len() + SQL.len() + k;
            l.push_str(&format!(
                "{} {} [{}] [MY-0{}] [Server] {}",
                clock.iso(),
                rng.below(900),
                rng.pick(&["Note", "Warning"]),
                10_000 + rng.below(4000),
                MYSQL[k]
            ));
        }
    }
    if let Some(e) = extra {
        l.push(' ');
        l.push_str(e);
    }
    lines.push(l);
    shape
}

const MYSQL: &[&str] = &[
    "Aborted connection 4312 to db: 'shop' user: 'app' host: '10.2.0.14' (Got an error reading communication packets)",
    "Access denied for user 'report'@'10.2.0.31' (using password: YES)",
    "InnoDB: Buffer pool(s) load completed",
    "Plugin 'mysql_native_password' is deprecated and will be removed in a future release",
    "Slave SQL thread initialized, starting replication",
];

/// How many access/database shapes [`access_or_db`] can return.
pub const ACCESS_DB_SHAPES: usize = 2 * PATHS.len() + SQL.len() + MYSQL.len();
