//! The `tracing_redact` example's wiring (compiled in from the example itself, so the test runs
//! the same code): a token logged through `tracing::info!` reaches the output redacted.

#[allow(dead_code)] // `main` is the example's; the test uses its wiring.
#[path = "../examples/tracing_redact.rs"]
mod example;

use example::{subscriber, SharedRedactor};

#[test]
fn a_token_logged_with_tracing_is_redacted() {
    let token = "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"; // made up (a rule example)
    let writer = SharedRedactor::new(Vec::new()).expect("built-in filter builds");
    tracing::subscriber::with_default(subscriber(writer.clone()), || {
        tracing::info!(user = "ann", token, "authenticated");
        tracing::info!("token in the message: {token}");
        tracing::warn!("retrying with password=hunter2hunter2");
    });
    let guard = writer.lock();
    let out = String::from_utf8(guard.get_ref().expect("not finished").clone()).expect("UTF-8");
    assert_eq!(out.lines().count(), 3, "one line per event");
    assert!(!out.contains(token), "the token reached the output");
    assert!(
        !out.contains("hunter2hunter2"),
        "the password reached the output"
    );
    assert_eq!(out.matches("[REDACTED:github-pat]").count(), 2);
    assert_eq!(out.matches("[REDACTED:password-assignment]").count(), 1);
    assert!(
        out.contains("user=\"ann\"") || out.contains("user=ann"),
        "other fields kept"
    );
    assert_eq!(guard.stats().lines, 3);
}
