//! Reads what berth's user-data runs: the containers of its run script
//! (one `start NAME --opt=value … IMAGE COMMAND…` line each, every word
//! single-quoted), for tests that check what an instance would start.

use std::collections::BTreeMap;

/// One container the run script starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    /// `app` or the sidecar's name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// The command after the image (empty: the image's default).
    pub command: Vec<String>,
    /// The `docker run` options, `(key, value)` in order (`--env=A=1` is
    /// `("env", "A=1")`).
    pub options: Vec<(String, String)>,
}

impl Container {
    /// Every value of option `key`.
    pub fn opt(&self, key: &str) -> Vec<&str> {
        self.options
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The plain environment (`--env` options).
    pub fn env(&self) -> BTreeMap<String, String> {
        self.opt("env")
            .into_iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// The containers of `user_data`'s run script, in start order.
pub fn containers(user_data: &str) -> Vec<Container> {
    let mut out = Vec::new();
    let mut lines = user_data.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("start '") {
            continue;
        }
        // A quoted value may span lines: join until the quotes balance.
        let mut text = line.to_string();
        while in_quotes_at_end(&text) {
            let Some(next) = lines.next() else { break };
            text.push('\n');
            text.push_str(next);
        }
        let words = shell_words(text.trim_start_matches("start "));
        let Some((name, rest)) = words.split_first() else {
            continue;
        };
        let mut options = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let Some(opt) = rest[i].strip_prefix("--") else {
                break;
            };
            let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
            options.push((k.to_string(), v.to_string()));
            i += 1;
        }
        out.push(Container {
            name: name.clone(),
            image: rest.get(i).cloned().unwrap_or_default(),
            command: rest.iter().skip(i + 1).cloned().collect(),
            options,
        });
    }
    out
}

/// Whether `s` ends inside a single-quoted string.
fn in_quotes_at_end(s: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if !quoted => escaped = true,
            '\'' => quoted = !quoted,
            _ => {}
        }
    }
    quoted
}

/// Splits bash words made of single-quoted parts (`'it'\''s'` is `it's`).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_one_script_starts_the_app_then_nginx() {
        let script = std::fs::read_to_string(
            crate::repo_root().join("provider/testdata/userdata/story_one.sh"),
        )
        .unwrap();
        let cs = containers(&script);
        assert_eq!(cs.len(), 2, "{cs:?}");
        assert_eq!(cs[0].name, "app");
        assert_eq!(cs[0].image, "registry.example.com/shop:2026-11-23T10-00");
        assert_eq!(cs[0].command, ["bundle", "exec", "puma", "-p", "3000"]);
        assert_eq!(cs[0].opt("memory"), ["768m"]);
        assert_eq!(cs[0].env()["GREETING"], "it's $HOME & \"quotes\"");
        assert_eq!(cs[1].name, "nginx");
        assert_eq!(cs[1].opt("publish"), ["80:80"]);
        assert!(cs[1].command.is_empty());
    }

    #[test]
    fn quoted_words_join_and_span_lines() {
        assert_eq!(
            shell_words("'a'\\''b' 'x\ny' c"),
            ["a'b".to_string(), "x\ny".into(), "c".into()]
        );
    }
}
