//! Rule self-tests: every rule's `examples` must be found and its `negativeExamples` must not,
//! each checked with the rule alone, on a given engine.
//!
//! Owns: running examples and describing failures. Must never: put an example's text in a
//! failure message — failures name the rule, the kind and the example's index only.

use crate::detect::Detector;
use crate::engine::{self, EngineChoice, EngineError, Matcher, OneRule};
use crate::rules::RuleSet;

/// One example that did not behave as its rule says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule's id.
    pub rule: String,
    /// The rule file.
    pub origin: String,
    /// `"example"` (not found) or `"negativeExample"` (found).
    pub kind: &'static str,
    /// Index within the rule's list, from 0.
    pub index: usize,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.kind == "example" {
            "is not detected"
        } else {
            "is detected"
        };
        write!(
            f,
            "{}: rule '{}': {} #{} {}",
            self.origin, self.rule, self.kind, self.index, what
        )
    }
}

/// Result of testing a rule set.
#[derive(Debug, Default)]
pub struct SelfTestReport {
    /// Rules tested.
    pub rules: usize,
    /// Examples tried (positive and negative).
    pub examples: usize,
    /// The examples that failed.
    pub failures: Vec<ExampleFailure>,
    /// Rules with fewer than two examples or two negative examples.
    pub thin_rules: Vec<String>,
}

/// Tests every rule of `rules` in isolation on engine `choice`.
pub fn run(rules: &RuleSet, choice: EngineChoice) -> Result<SelfTestReport, EngineError> {
    let mut report = SelfTestReport::default();
    let whole: std::sync::Arc<dyn Matcher> = engine::build(rules, choice)?.into();
    for (index, rule) in rules.rules.iter().enumerate() {
        report.rules += 1;
        if rule.examples.len() < 2 || rule.negative_examples.len() < 2 {
            report.thin_rules.push(rule.id.clone());
        }
        let alone = RuleSet {
            rules: vec![rule.clone()],
            allowlists: rules.allowlists.clone(),
            warnings: Vec::new(),
        };
        let matcher = OneRule {
            whole: whole.clone(),
            rule: index as u32,
        };
        let detector = Detector::new(alone, Box::new(matcher));
        let mut scratch = detector.scratch();
        let mut findings = Vec::new();
        let cases = rule.examples.iter().map(|e| ("example", e, true)).chain(
            rule.negative_examples
                .iter()
                .map(|e| ("negativeExample", e, false)),
        );
        let mut index_of = [0usize; 2];
        for (kind, text, expect) in cases {
            let index = &mut index_of[usize::from(!expect)];
            report.examples += 1;
            findings.clear();
            detector.find(text.as_bytes(), &mut scratch, &mut findings);
            if findings.is_empty() == expect {
                report.failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    origin: rule.origin.clone(),
                    kind,
                    index: *index,
                });
            }
            *index += 1;
        }
    }
    Ok(report)
}
