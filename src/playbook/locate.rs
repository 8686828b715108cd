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

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// Positions of every mapping key and sequence item, by path.
#[derive(Debug, Default)]
pub struct Locator {
    positions: HashMap<YamlPath, Pos>,
}

impl Locator {
    /// Indexes `text`. A document yaml-rust2 cannot read yields an empty index (positions then
    /// fall back to the start of the file); serde_yaml has already reported real syntax errors.
    pub fn new(text: &str) -> Self {
        let mut builder = Builder::default();
        let _ = Parser::new_from_str(text).load(&mut builder, false);
        Self {
            positions: builder.positions,
        }
    }

    /// Where `path` is written; for a path that does not exist (a missing field), where its
    /// nearest existing parent is.
    pub fn find(&self, path: &YamlPath) -> Pos {
        let mut path = path.clone();
        loop {
            if let Some(pos) = self.positions.get(&path) {
                return *pos;
            }
            if path.0.pop().is_none() {
                return Pos { line: 1, col: 1 };
            }
        }
    }
}

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

    fn open(&mut self, frame: Frame) {
        if let Some(Frame::Seq(index)) = self.stack.last() {
            self.path.0.push(Seg::Index(*index));
        }
        self.stack.push(frame);
    }

    fn close(&mut self) {
        self.stack.pop();
        if let Some(Frame::Seq(_)) = self.stack.last() {
            self.path.0.pop();
        }
        self.leave_value();
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
                    let path = self.path.key(&value);
                    self.positions.entry(path.clone()).or_insert(pos);
                    self.path = path;
                    if let Some(Frame::Map(key)) = self.stack.last_mut() {
                        *key = Some(value);
                    }
                } else {
                    self.leave_value();
                }
            }
            Event::Alias(_) if !self.enter_node(mark, false) => self.leave_value(),
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
    fn displays_paths_like_a_reader_writes_them() {
        let path = YamlPath::default()
            .key("steps")
            .index(2)
            .key("alias")
            .key("dns_name");
        assert_eq!(path.to_string(), "steps[2].alias.dns_name");
    }
}
