//! `.env` files as their loaders read them, and values written so that every loader reads
//! them back unchanged.
//!
//! Reading follows python-dotenv (1.2), the reference most loaders agree with: `export`,
//! single- and double-quoted values over several lines, backslash escapes, inline comments.
//! Writing picks, for each value, a form that a POSIX shell sourcing the file (`set -a; .
//! ./.env`), python-dotenv and this reader all read as the same text:
//! - plain, when every character is one no loader treats specially;
//! - single quotes, when the value holds no `'` and no `\` (the shell has no escapes inside
//!   them; dotenv decodes `\\` and `\'` there);
//! - double quotes, with `\` and `"` escaped, when it holds no `$` and no backquote (the shell
//!   expands those inside double quotes, and dotenv does not decode `\$`).
//!
//! A value with a quote or backslash *and* a `$` or backquote has no such form, nor has one
//! holding `${...}`, which python-dotenv expands whatever the quotes, nor one holding a
//! carriage return, which loaders reading the file as text take for a line break: such values
//! are refused, never written half-right. A shell would otherwise run a backquoted command
//! from a value.

use std::collections::BTreeMap;
use std::ops::Range;

/// One `KEY=value` of a file, where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub key: String,
    /// The value as a loader reads it; `None` for a bare `KEY` line.
    pub value: Option<String>,
    /// Where the value is written (quotes included); for a bare key, the empty range after it.
    value_at: Range<usize>,
    /// The whole line(s) of the binding, from the start of its first line to the end of its
    /// line break.
    lines: Range<usize>,
}

/// Why a value cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unwritable {
    #[error("it holds a quote or backslash together with `$` or a backquote: no quoting reads the same in a shell that sources the file and in dotenv loaders")]
    Mixed,
    #[error("it holds `${{...}}`, which dotenv loaders always expand")]
    Interpolated,
    #[error("it holds a NUL character, which no environment variable can")]
    Nul,
    #[error("it holds a carriage return, which dotenv loaders read as a line break")]
    CarriageReturn,
}

/// `value` as it must be written after `KEY=`.
pub fn encode(value: &str) -> Result<String, Unwritable> {
    if value.contains('\0') {
        return Err(Unwritable::Nul);
    }
    if value.contains('\r') {
        return Err(Unwritable::CarriageReturn);
    }
    if interpolates(value) {
        return Err(Unwritable::Interpolated);
    }
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./@%+,:=-".contains(c));
    let expands = value.contains(['$', '`']);
    let escapes = value.contains(['\'', '\\']);
    if plain {
        Ok(value.to_owned())
    } else if !escapes {
        Ok(format!("'{value}'"))
    } else if !expands {
        Ok(format!(
            "\"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        ))
    } else {
        Err(Unwritable::Mixed)
    }
}

/// Whether python-dotenv would expand part of `value` (`${NAME}` or `${NAME:-default}`).
fn interpolates(value: &str) -> bool {
    value.match_indices("${").any(|(i, _)| {
        let rest = &value[i + 2..];
        match rest.find(['}', ':']) {
            Some(end) if rest[end..].starts_with('}') => true,
            Some(end) => rest[end..].starts_with(":-") && rest[end..].contains('}'),
            None => false,
        }
    })
}

/// Whitespace as Python's `\s` counts it.
fn space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn line_space(c: char) -> bool {
    space(c) && c != '\r' && c != '\n'
}

/// A cursor over the text; a failed match is a line dotenv skips.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

struct Skip;

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn eat_while(&mut self, keep: impl Fn(char) -> bool) -> &str {
        let start = self.at;
        while let Some(c) = self.peek().filter(|c| keep(*c)) {
            self.at += c.len_utf8();
        }
        &self.text[start..self.at]
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            return true;
        }
        false
    }

    fn line_break(&mut self) -> Result<(), Skip> {
        self.eat_while(line_space);
        if self.at == self.text.len() || self.eat('\n') {
            return Ok(());
        }
        if self.eat('\r') {
            self.eat('\n');
            return Ok(());
        }
        Err(Skip)
    }

    fn rest_of_line(&mut self) {
        self.eat_while(|c| c != '\r' && c != '\n');
        if !self.eat('\r') {
            self.eat('\n');
        }
    }

    /// A quoted value's inside (a backslash always takes the next character with it).
    fn quoted(&mut self, quote: char) -> Result<&str, Skip> {
        self.eat(quote);
        let start = self.at;
        loop {
            match self.peek() {
                None => return Err(Skip),
                Some('\\') => {
                    self.at += 1;
                    let next = self.peek().ok_or(Skip)?;
                    self.at += next.len_utf8();
                }
                Some(c) if c == quote => {
                    let inside = &self.text[start..self.at];
                    self.at += 1;
                    return Ok(inside);
                }
                Some(c) => self.at += c.len_utf8(),
            }
        }
    }

    fn value(&mut self) -> Result<String, Skip> {
        match self.peek() {
            Some('\'') => Ok(unescape(self.quoted('\'')?, "\\'")),
            Some('"') => Ok(unescape(self.quoted('"')?, "\\'\"abfnrtv")),
            None | Some('\n' | '\r') => Ok(String::new()),
            Some(_) => {
                let raw = self.eat_while(|c| c != '\r' && c != '\n');
                // An inline comment starts at whitespace followed by `#`.
                let cut = raw
                    .char_indices()
                    .find(|(i, c)| {
                        space(*c) && raw[*i..].trim_start_matches(space).starts_with('#')
                    })
                    .map_or(raw, |(i, _)| &raw[..i]);
                Ok(cut.trim_end_matches(space).to_owned())
            }
        }
    }

    fn binding(&mut self, line_start: usize) -> Result<Option<Binding>, Skip> {
        if let Some(rest) = self.text[self.at..].strip_prefix("export") {
            if rest.starts_with(line_space) {
                self.at += "export".len();
                self.eat_while(line_space);
            }
        }
        let key = match self.peek() {
            Some('#') => None,
            Some('\'') => {
                let start = self.at + 1;
                self.at += 1;
                let key = self.eat_while(|c| c != '\'').to_owned();
                if key.is_empty() || !self.eat('\'') {
                    self.at = start;
                    return Err(Skip);
                }
                Some(key)
            }
            _ => {
                let key = self.eat_while(|c| c != '=' && c != '#' && !space(c));
                if key.is_empty() {
                    return Err(Skip);
                }
                Some(key.to_owned())
            }
        };
        self.eat_while(line_space);
        let (value, value_at) = if self.eat('=') {
            let spaced = !self.eat_while(line_space).is_empty();
            let start = self.at;
            let value = if spaced && self.peek() == Some('#') {
                String::new()
            } else {
                self.value()?
            };
            (Some(value), start..self.at)
        } else {
            (None, self.at..self.at)
        };
        self.eat_while(line_space);
        if self.peek() == Some('#') {
            self.eat_while(|c| c != '\r' && c != '\n');
        }
        self.line_break()?;
        Ok(key.map(|key| Binding {
            key,
            value,
            value_at,
            lines: line_start..self.at,
        }))
    }
}

/// `\` followed by one of `escapable` decodes to that character (`\n` and the like to their
/// control characters); any other backslash stays as written.
fn unescape(inside: &str, escapable: &str) -> String {
    let mut out = String::with_capacity(inside.len());
    let mut chars = inside.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&next)) if escapable.contains(next) => {
                chars.next();
                out.push(match next {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    other => other,
                });
            }
            (c, _) => out.push(c),
        }
    }
    out
}

/// Every binding of `text`, in order (a key may appear more than once: the last one wins).
/// Lines no loader can read are skipped, as python-dotenv skips them.
pub fn parse(text: &str) -> Vec<Binding> {
    let mut reader = Reader { text, at: 0 };
    if text.starts_with('\u{feff}') {
        reader.at = '\u{feff}'.len_utf8();
    }
    let mut bindings = Vec::new();
    loop {
        reader.eat_while(space);
        if reader.at == text.len() {
            return bindings;
        }
        let line_start = text[..reader.at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let start = reader.at;
        match reader.binding(line_start) {
            Ok(Some(binding)) => bindings.push(binding),
            Ok(None) => {}
            Err(Skip) => {
                reader.at = start;
                reader.rest_of_line();
            }
        }
    }
}

/// What an edit does to one key: its value before and after (`None`: absent).
pub type KeyChange = (String, Option<String>, Option<String>);

/// Sets and unsets keys in `text`, keeping every other byte (order, comments, quoting of
/// untouched values). A key set that is absent is added at the end. Returns the new text and
/// each key's change, set keys first; refuses a value that cannot be written.
pub fn edit(
    text: &str,
    set: &BTreeMap<String, String>,
    unset: &[String],
) -> Result<(String, Vec<KeyChange>), (String, Unwritable)> {
    let bindings = parse(text);
    let current = |key: &str| {
        bindings
            .iter()
            .rev()
            .find(|b| b.key == key)
            .and_then(|b| b.value.clone())
    };
    let mut splices: Vec<(Range<usize>, String)> = Vec::new();
    for b in &bindings {
        if unset.contains(&b.key) {
            splices.push((b.lines.clone(), String::new()));
        } else if let Some(new) = set.get(&b.key) {
            if b.value.as_deref() != Some(new.as_str()) {
                let written = encode(new).map_err(|e| (b.key.clone(), e))?;
                let prefix = if b.value.is_none() { "=" } else { "" };
                splices.push((b.value_at.clone(), format!("{prefix}{written}")));
            }
        }
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (range, with) in splices {
        out.push_str(&text[at..range.start]);
        out.push_str(&with);
        at = range.end;
    }
    out.push_str(&text[at..]);
    for (key, value) in set {
        if bindings.iter().all(|b| b.key != *key) {
            let written = encode(value).map_err(|e| (key.clone(), e))?;
            if !out.is_empty() && !out.ends_with(['\n', '\r']) {
                out.push('\n');
            }
            out.push_str(&format!("{key}={written}\n"));
        }
    }
    let changes = set
        .iter()
        .map(|(k, v)| (k.clone(), current(k), Some(v.clone())))
        .chain(unset.iter().map(|k| (k.clone(), current(k), None)))
        .collect();
    Ok((out, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn values(text: &str) -> Vec<(String, Option<String>)> {
        parse(text).into_iter().map(|b| (b.key, b.value)).collect()
    }

    #[test]
    fn reads_as_python_dotenv_does() {
        let text = "# c\nexport A=1 # note\nB='x # y'\nC=\"l1\\nl2 \\$ \\q\"\nD='multi\nline'\nE=a#b\nF= # empty\n'G'=g\nbroken \"line\nH\n";
        assert_eq!(
            values(text),
            [
                ("A".into(), Some("1".into())),
                ("B".into(), Some("x # y".into())),
                ("C".into(), Some("l1\nl2 \\$ \\q".into())),
                ("D".into(), Some("multi\nline".into())),
                ("E".into(), Some("a#b".into())),
                ("F".into(), Some(String::new())),
                ("G".into(), Some("g".into())),
                ("H".into(), None),
            ]
        );
    }

    #[test]
    fn writes_the_form_every_loader_reads_the_same() {
        assert_eq!(encode("plain-value_1.2:3").unwrap(), "plain-value_1.2:3");
        assert_eq!(encode("").unwrap(), "");
        assert_eq!(encode("pa$$word `id`").unwrap(), "'pa$$word `id`'");
        assert_eq!(encode("line1\nINJECTED=1").unwrap(), "'line1\nINJECTED=1'");
        assert_eq!(encode("it's \\ \"q\"").unwrap(), "\"it's \\\\ \\\"q\\\"\"");
        assert_eq!(encode("it's $HOME"), Err(Unwritable::Mixed));
        assert_eq!(encode("a ${B} c"), Err(Unwritable::Interpolated));
        assert_eq!(encode("a ${B:-x} c"), Err(Unwritable::Interpolated));
        assert_eq!(encode("a ${B:x} c").unwrap(), "'a ${B:x} c'");
        assert_eq!(encode("nul\0"), Err(Unwritable::Nul));
    }

    #[test]
    fn edits_keep_every_other_byte_and_multiline_values_whole() {
        let text = "# shop\nAPP_ENV=staging\nexport DB_HOST=\"staging-db\" \nKEY='a\nb'\nQUEUE=q # old\nDEBUG=true\n";
        let (out, changes) = edit(
            text,
            &map(&[("DB_HOST", "prod db"), ("NEW", "x$y"), ("QUEUE", "q")]),
            &["DEBUG".into(), "KEY".into()],
        )
        .unwrap();
        assert_eq!(
            out,
            "# shop\nAPP_ENV=staging\nexport DB_HOST='prod db' \nQUEUE=q # old\nNEW='x$y'\n"
        );
        assert_eq!(
            changes,
            [
                (
                    "DB_HOST".into(),
                    Some("staging-db".into()),
                    Some("prod db".into())
                ),
                ("NEW".into(), None, Some("x$y".into())),
                ("QUEUE".into(), Some("q".into()), Some("q".into())),
                ("DEBUG".into(), Some("true".into()), None),
                ("KEY".into(), Some("a\nb".into()), None),
            ]
        );
        // A value written with a newline is one value, and a later edit replaces it whole.
        let (once, _) = edit("A=1\n", &map(&[("A", "line1\nINJECTED=1")]), &[]).unwrap();
        assert_eq!(
            values(&once),
            [("A".into(), Some("line1\nINJECTED=1".into()))]
        );
        let (twice, _) = edit(&once, &map(&[("A", "2")]), &[]).unwrap();
        assert_eq!(twice, "A=2\n");
    }
}
