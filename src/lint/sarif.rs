//! The SARIF 2.1.0 report, shaped for GitHub code scanning: one run, the active rules as
//! `tool.driver.rules`, one `result` per finding with a physical location (relative paths against
//! `%SRCROOT%`, UTF-16 columns as SARIF's default `columnKind` says) and, when the fingerprint
//! key is stable across runs, `partialFingerprints` so alerts are tracked from run to run.
//!
//! Owns: the SARIF document. Must never: write a secret (messages hold the rule's description and
//! the redacted preview only).

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::rules::Rule;

use super::scan::Located;
use super::Reporter;

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key under `partialFingerprints`; bump the version if the fingerprint recipe changes.
pub const FINGERPRINT_KEY: &str = "logredactSecret/v1";

pub struct SarifReporter<W: Write> {
    out: W,
    results: Vec<Value>,
    /// Fingerprints, kept apart until we know whether they are stable.
    fingerprints: Vec<String>,
    rule_index: Vec<(String, usize)>,
}

impl<W: Write> SarifReporter<W> {
    pub fn new(out: W, rules: &[Rule]) -> Self {
        SarifReporter {
            out,
            results: Vec::new(),
            fingerprints: Vec::new(),
            rule_index: rules
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), i))
                .collect(),
        }
    }
}

impl<W: Write> Reporter for SarifReporter<W> {
    fn finding(&mut self, path: &str, f: &Located, rule: &Rule) -> io::Result<()> {
        let index = self
            .rule_index
            .iter()
            .find(|(id, _)| *id == rule.id)
            .map_or(0, |(_, i)| *i);
        let (uri, base) = artifact_uri(path);
        let mut artifact = json!({ "uri": uri });
        if let Some(base) = base {
            artifact["uriBaseId"] = json!(base);
        }
        self.results.push(json!({
            "ruleId": rule.id,
            "ruleIndex": index,
            "level": "error",
            "message": { "text": format!("{} ({}): {}", rule.description, rule.id, f.preview) },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {
                        "startLine": f.line,
                        "startColumn": f.column_utf16,
                        "endLine": f.end_line,
                        "endColumn": f.end_column_utf16,
                    }
                }
            }],
        }));
        self.fingerprints.push(f.fingerprint.clone());
        Ok(())
    }

    fn finish(&mut self, rules: &[Rule], stable_fingerprints: bool) -> io::Result<()> {
        let mut results = std::mem::take(&mut self.results);
        if stable_fingerprints {
            for (result, fp) in results.iter_mut().zip(&self.fingerprints) {
                result["partialFingerprints"] = json!({ FINGERPRINT_KEY: fp });
            }
        }
        let rules: Vec<Value> = rules
            .iter()
            .map(|r| {
                let mut tags = vec!["security".to_string(), "secret".to_string()];
                tags.extend(r.tags.iter().cloned());
                json!({
                    "id": r.id,
                    "name": camel_name(&r.id),
                    "shortDescription": { "text": r.description },
                    "fullDescription": { "text": format!("{}: a secret that must not appear in logs.", r.description) },
                    "help": { "text": "Remove the secret from the log (and rotate it), or pipe the logs through `logredact`." },
                    "defaultConfiguration": { "level": "error" },
                    // GitHub code scanning reads this to rank alerts (9.0 and up is "critical").
                    "properties": { "tags": tags, "security-severity": "8.0", "precision": "high" },
                })
            })
            .collect();
        let doc = json!({
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {
                    "driver": {
                        "name": "logredact",
                        "semanticVersion": env!("CARGO_PKG_VERSION"),
                        "rules": rules,
                    }
                },
                "columnKind": "utf16CodeUnits",
                "results": results,
            }],
        });
        serde_json::to_writer_pretty(&mut self.out, &doc)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// GitHub shows `name` as the rule's title; SARIF wants it PascalCase-ish and without `-`.
fn camel_name(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A relative path becomes a relative URI against `%SRCROOT%` (what GitHub resolves against the
/// repository root); an absolute one a `file://` URI.
fn artifact_uri(path: &str) -> (String, Option<&'static str>) {
    let trimmed = path.strip_prefix("./").unwrap_or(path);
    if trimmed.starts_with('/') {
        (format!("file://{}", percent_encode(trimmed)), None)
    } else {
        (percent_encode(trimmed), Some("%SRCROOT%"))
    }
}

fn percent_encode(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_to_srcroot_or_file_uris() {
        assert_eq!(
            artifact_uri("./logs/a b.log"),
            ("logs/a%20b.log".to_string(), Some("%SRCROOT%"))
        );
        assert_eq!(artifact_uri("/var/log/x.log").0, "file:///var/log/x.log");
        assert_eq!(camel_name("github-pat"), "GithubPat");
    }
}
