//! Maps a path in a YAML document (`steps[2].zone`) to where it is written (`line:col`).
//!
//! serde_yaml reports positions only for errors it finds itself; checks made after parsing
//! (unknown kind, duplicate id, undefined variable) need the position of a node by its path.
//! This index is built once from yaml-rust2's marked events over the same text.

use std::collections::HashMap;
use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path into a document, displayed as `steps[2].alias.dns_name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct YamlPath(pub Vec<Seg>);

impl YamlPath {
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Seg::Key(key.to_owned()));
        next
    }

    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Seg::Index(index));
        next
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column (in characters), ordered as in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub const START: Self = Self { line: 1, col: 1 };

    /// Where byte `offset` of `text` is.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        Self::end_of(text.get(..offset).unwrap_or(text))
    }

    /// The position just after `text`, counting line breaks as YAML does (CRLF, CR, LF, NEL,
    /// LS, PS). Positions are capped there: libyaml and yaml-rust2 put the end of a text without
    /// a final line break at the start of the line after the last, which does not exist.
    pub fn end_of(text: &str) -> Self {
        let mut pos = Self::START;
        let mut chars = text.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '\r' if chars.peek() == Some(&'\n') => {}
                '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                    pos = Self {
                        line: pos.line + 1,
                        col: 1,
                    }
                }
                _ => pos.col += 1,
            }
        }
        pos
    }
}

/// Positions of every mapping key and sequence item, by path.
#[derive(Debug)]
pub struct Locator {
    positions: HashMap<YamlPath, Pos>,
    end: Pos,
}

/// The deepest nesting of sequences and mappings a playbook may have. A real playbook nests
/// about six deep; the limit stops `[[[[...` before a parser spends its time on it.
pub const MAX_DEPTH: usize = 64;

/// Where `text` first nests deeper than [`MAX_DEPTH`], if it does. Reads events only up to
/// that point, so a hostile document costs no more than a legitimate one; other errors are
/// left to serde_yaml, which reports them in full.
pub fn too_deep(text: &str) -> Option<Pos> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        match parser.next_token() {
            Ok((Event::SequenceStart(..) | Event::MappingStart(..), mark)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(Pos {
                        line: mark.line(),
                        col: mark.col() + 1,
                    });
                }
            }
            Ok((Event::SequenceEnd | Event::MappingEnd, _)) => depth = depth.saturating_sub(1),
            // yaml-rust2 stops at 255 nested flow collections, before we would.
            Err(e) if e.info() == "recursion limit exceeded" => {
                return Some(Pos {
                    line: e.marker().line(),
                    col: e.marker().col() + 1,
                })
            }
            Ok((Event::StreamEnd, _)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

impl Locator {
    /// Indexes `text`. A document yaml-rust2 cannot read yields an empty index (positions then
    /// fall back to the start of the file); serde_yaml has already reported real syntax errors.
    pub fn new(text: &str) -> Self {
        let mut builder = Builder::default();
        let _ = Parser::new_from_str(text).load(&mut builder, false);
        Self {
            positions: builder.positions,
            end: Pos::end_of(text),
        }
    }

    /// Where `path` is written; for a path that does not exist (a missing field), where its
    /// nearest existing parent is.
    pub fn find(&self, path: &YamlPath) -> Pos {
        let mut path = path.clone();
        loop {
            if let Some(pos) = self.positions.get(&path) {
                return (*pos).min(self.end);
            }
            if path.0.pop().is_none() {
                return Pos::START;
            }
        }
    }
}

/// The path segment of a key that is not a scalar (`? [a, b]: x`), or an alias: such keys are
/// not located, but their values must not be taken for keys. YAML text cannot hold a NUL.
const UNNAMED_KEY: &str = "\0";

/// Where the parser is inside a container.
enum Frame {
    /// Inside a mapping; `Some(key)` while its value is being read.
    Map(Option<String>),
    Seq(usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    path: YamlPath,
    positions: HashMap<YamlPath, Pos>,
}

impl Builder {
    /// Called at the start of any node: records sequence items, returns whether the node is a key.
    /// A block mapping's start is marked at its first colon, so a mapping item is recorded at
    /// its first key instead (see the scalar case).
    fn enter_node(&mut self, mark: Marker, is_map: bool) -> bool {
        let pos = Pos {
            line: mark.line(),
            col: mark.col() + 1,
        };
        match self.stack.last_mut() {
            Some(Frame::Map(None)) => true,
            Some(Frame::Seq(index)) if !is_map => {
                let path = self.path.index(*index);
                self.positions.entry(path).or_insert(pos);
                false
            }
            _ => false,
        }
    }

    /// Called at the end of any value node: advances the parent.
    fn leave_value(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map(key @ Some(_))) => {
                *key = None;
                self.path.0.pop();
            }
            Some(Frame::Seq(index)) => *index += 1,
            _ => {}
        }
    }

    /// Called once a key is read: its value follows.
    fn enter_key(&mut self, name: String) {
        self.path.0.push(Seg::Key(name.clone()));
        if let Some(Frame::Map(key)) = self.stack.last_mut() {
            *key = Some(name);
        }
    }

    fn open(&mut self, frame: Frame) {
        match self.stack.last() {
            Some(Frame::Seq(index)) => self.path.0.push(Seg::Index(*index)),
            Some(Frame::Map(None)) => self.path.0.push(Seg::Key(UNNAMED_KEY.into())),
            _ => {}
        }
        self.stack.push(frame);
    }

    fn close(&mut self) {
        self.stack.pop();
        match self.stack.last_mut() {
            // The container was a key; `open` put its path segment in place already.
            Some(Frame::Map(key @ None)) => *key = Some(UNNAMED_KEY.into()),
            Some(Frame::Seq(_)) => {
                self.path.0.pop();
                self.leave_value();
            }
            _ => self.leave_value(),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => {
                if self.enter_node(mark, false) {
                    let pos = Pos {
                        line: mark.line(),
                        col: mark.col() + 1,
                    };
                    self.positions.entry(self.path.clone()).or_insert(pos);
                    self.positions.entry(self.path.key(&value)).or_insert(pos);
                    self.enter_key(value);
                } else {
                    self.leave_value();
                }
            }
            Event::Alias(_) => {
                if self.enter_node(mark, false) {
                    self.enter_key(UNNAMED_KEY.into());
                } else {
                    self.leave_value();
                }
            }
            Event::MappingStart(..) => {
                self.enter_node(mark, true);
                self.open(Frame::Map(None));
            }
            Event::SequenceStart(..) => {
                self.enter_node(mark, false);
                self.open(Frame::Seq(0));
            }
            Event::MappingEnd | Event::SequenceEnd => self.close(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(loc: &Locator, path: &[Seg]) -> (usize, usize) {
        let pos = loc.find(&YamlPath(path.to_vec()));
        (pos.line, pos.col)
    }

    #[test]
    fn finds_keys_and_items_by_path() {
        let text = "version: 1\nsteps:\n  - id: a\n    kind: x\n  - id: b\n    alias:\n      dns_name: d\nlist: [1, {k: v}]\n";
        let loc = Locator::new(text);
        let key = |k: &str| Seg::Key(k.into());
        assert_eq!(at(&loc, &[key("version")]), (1, 1));
        assert_eq!(at(&loc, &[key("steps"), Seg::Index(1)]), (5, 5));
        assert_eq!(at(&loc, &[key("steps"), Seg::Index(1), key("id")]), (5, 5));
        assert_eq!(
            at(&loc, &[key("steps"), Seg::Index(0), key("kind")]),
            (4, 5)
        );
        assert_eq!(
            at(
                &loc,
                &[key("steps"), Seg::Index(1), key("alias"), key("dns_name")]
            ),
            (7, 7)
        );
        assert_eq!(at(&loc, &[key("list"), Seg::Index(1), key("k")]), (8, 12));
        // A missing field points at its parent.
        assert_eq!(
            at(&loc, &[key("steps"), Seg::Index(0), key("zone")]),
            (3, 5)
        );
    }

    #[test]
    fn keys_that_are_not_scalars_do_not_shift_the_keys_after_them() {
        let loc = Locator::new("first: &k a\n? [a, b]\n: {c: d}\n*k : e\nafter: f\n");
        assert_eq!(at(&loc, &[Seg::Key("after".into())]), (5, 1));
        assert_eq!(at(&loc, &[Seg::Key("c".into())]), (1, 1));
    }

    #[test]
    fn caps_positions_at_the_end_of_the_text() {
        let text = "a: 1\r\nb: 2\rc";
        assert_eq!(Pos::end_of(text), Pos { line: 3, col: 2 });
        assert_eq!(Pos::of_offset(text, 6), Pos { line: 2, col: 1 });
        let loc = Locator::new("version: 1\nsteps:\n  -");
        assert_eq!(
            loc.find(&YamlPath::default().key("steps").index(0)),
            Pos { line: 3, col: 4 }
        );
    }

    #[test]
    fn displays_paths_like_a_reader_writes_them() {
        let path = YamlPath::default()
            .key("steps")
            .index(2)
            .key("alias")
            .key("dns_name");
        assert_eq!(path.to_string(), "steps[2].alias.dns_name");
    }
}
