//! Shell completions and man pages generated from the clap definitions: the bash script is
//! loaded into a real bash and asked for completions; the man pages are rendered by groff/man.

use std::process::Command;

fn logredact(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_logredact"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "logredact {args:?}");
    out.stdout
}

#[test]
fn bash_completion_completes_commands_and_option_values() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("logredact.bash");
    std::fs::write(&script, logredact(&["completions", "bash"])).unwrap();
    // bash >= 4 passes (command, current word, previous word) to the completion function.
    let probe = format!(
        "source {}\n\
         COMP_WORDS=(logredact l); COMP_CWORD=1; _logredact logredact l logredact; echo \"${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(logredact lint --report-format ''); COMP_CWORD=3; _logredact logredact '' --report-format; echo \"${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(logredact run --long-lines ''); COMP_CWORD=3; _logredact logredact '' --long-lines; echo \"${{COMPREPLY[*]}}\"\n",
        script.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, ["lint", "text json sarif", "window split"]);
}

#[test]
fn completions_exist_for_the_usual_shells() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(logredact(&["completions", shell])).unwrap();
        assert!(
            script.contains("lint") && script.contains("report-format"),
            "{shell}"
        );
    }
}

#[test]
fn man_pages_render_and_document_every_command() {
    let page = logredact(&["man"]);
    assert!(page.starts_with(b".ie"));
    let dir = tempfile::tempdir().unwrap();
    logredact(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    for name in [
        "logredact",
        "logredact-run",
        "logredact-lint",
        "logredact-filter",
    ] {
        let path = dir.path().join(format!("{name}.1"));
        let out = Command::new("man")
            .arg("-l")
            .arg(&path)
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(out.status.success(), "man -l {name}.1");
        let text = without_overstrike(&String::from_utf8_lossy(&out.stdout));
        assert!(text.contains("SYNOPSIS"), "{name}");
        assert!(text.contains(name), "{name}");
    }
    let lint = std::fs::read_to_string(dir.path().join("logredact-lint.1")).unwrap();
    assert!(lint.contains("baseline") && lint.contains("sarif"));
}

/// man's bold/underline for a non-terminal is `c BACKSPACE c`; keep the visible characters.
fn without_overstrike(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}
