//! Shrinks berth's own Python scripts for the user-data, which EC2 caps at
//! 16 KiB: full-line comments, blank lines and the docstrings
//! of functions and classes go; the module docstring (the usage text the
//! scripts print) and every other line stay exactly as written.
//!
//! Guarantees (for the scripts berth ships, checked by the tests below
//! with Python's own parser): the result parses to the same syntax tree as
//! the source without those docstrings, so it runs the same.
//!
//! Assumptions: a docstring starts on its own line with `"""`, right after
//! the `def`/`class` line; other triple-quoted strings are left alone, so
//! comment-like and blank lines inside them stay.

/// `source` without comments, blank lines and function and class
/// docstrings.
pub fn python(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    // The line that opened a block (`def …:` / `class …:`) was the last
    // code line: a string starting now is that block's docstring.
    let mut after_header = false;
    let mut in_doc = false;
    let mut in_string = false;
    // The indentation of a dropped docstring, until the next code line
    // shows whether it was its block's whole body (then `pass` stays).
    let mut dropped: Option<usize> = None;
    for (i, line) in source.lines().enumerate() {
        let t = line.trim_start();
        if in_doc {
            in_doc = !t.trim_end().ends_with(r#"""""#);
            continue;
        }
        if in_string {
            out.push_str(line);
            out.push('\n');
            in_string = line.matches(r#"""""#).count() % 2 == 0;
            continue;
        }
        if i == 0 && t.starts_with("#!") {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let indent = line.len() - t.len();
        if after_header && t.starts_with(r#"""""#) {
            let closed = t.len() >= 6 && t.trim_end().ends_with(r#"""""#);
            in_doc = !closed;
            after_header = false;
            dropped = Some(indent);
            continue;
        }
        if let Some(at) = dropped.take()
            && indent < at
        {
            out.push_str(&line_pass(at));
        }
        let code = t.trim_end();
        after_header =
            (code.starts_with("def ") || code.starts_with("class ")) && code.ends_with(':');
        out.push_str(line);
        out.push('\n');
        in_string = line.matches(r#"""""#).count() % 2 == 1;
    }
    if let Some(at) = dropped {
        out.push_str(&line_pass(at));
    }
    out
}

/// A `pass` line indented by `indent` spaces.
fn line_pass(indent: usize) -> String {
    format!("{}pass\n", " ".repeat(indent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::userdata::{AGENT, RELEASE_GATE, TELEMETRY};

    /// Runs Python: the source minus function and class docstrings, and
    /// `compact`, parse to the same tree.
    fn same_tree(name: &str, source: &str, compact: &str) {
        const CHECK: &str = r#"
import ast, sys
def strip(tree):
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body \
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant) \
                and isinstance(n.body[0].value.value, str):
            n.body = n.body[1:] or [ast.Pass()]
    return ast.dump(tree)
a, b = open(sys.argv[1]).read(), open(sys.argv[2]).read()
sys.exit(0 if strip(ast.parse(a)) == ast.dump(ast.parse(b)) else 1)
"#;
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.py"), dir.path().join("b.py"));
        std::fs::write(&a, source).expect("write");
        std::fs::write(&b, compact).expect("write");
        let out = std::process::Command::new("python3")
            .args(["-c", CHECK])
            .arg(&a)
            .arg(&b)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{name}: the compact form differs: {}\n{compact}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn the_shipped_scripts_keep_their_syntax_tree_and_shrink() {
        for (name, source) in [
            ("agent.py", AGENT),
            ("release.py", RELEASE_GATE),
            ("telemetry.py", TELEMETRY),
        ] {
            let c = python(source);
            same_tree(name, source, &c);
            assert!(c.starts_with("#!/usr/bin/env python3\n"), "{name}");
            assert!(
                c.len() * 10 < source.len() * 9,
                "{name}: {} of {} bytes",
                c.len(),
                source.len()
            );
        }
    }

    #[test]
    fn strings_that_are_not_docstrings_stay_as_written() {
        let src = "#!/usr/bin/env python3\n\"\"\"Usage.\n\n  tool run\n\"\"\"\n\n# a comment\nTEXT = \"\"\"\n# not a comment\n\nkept\n\"\"\"\n\n\ndef f(x):\n    \"\"\"Doc\n    more.\"\"\"\n    return x  # trailing\n\n\nclass E(Exception):\n    \"\"\"Only a docstring.\"\"\"\n\n\nclass C:\n    \"\"\"One line.\"\"\"\n\n    def g(self):\n        \"\"\"Only a docstring.\"\"\"\n        pass\n";
        let c = python(src);
        assert_eq!(
            c,
            "#!/usr/bin/env python3\n\"\"\"Usage.\n\n  tool run\n\"\"\"\nTEXT = \"\"\"\n# not a comment\n\nkept\n\"\"\"\ndef f(x):\n    return x  # trailing\nclass E(Exception):\n    pass\nclass C:\n    def g(self):\n        pass\n"
        );
        same_tree("example", src, &c);
    }
}
