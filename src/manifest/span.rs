//! Where each field of each document sits in its file, for diagnostics. Built only for files
//! that have problems, by walking yaml-rust2's marked parser events.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Line and column (1-based) of a document and of every field in it.
#[derive(Debug, Default)]
pub struct DocSpans {
    pub start: (usize, usize),
    /// JSON pointer (`/spec/as2Config/url`) to the line and column of its key or item.
    fields: HashMap<String, (usize, usize)>,
}

impl DocSpans {
    /// The position of `pointer`, or of its nearest ancestor that exists in the file.
    pub fn locate(&self, pointer: &str) -> (usize, usize) {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.fields.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.start,
            }
        }
    }
}

/// Spans of every document of `text`, in document order; best effort on broken YAML.
pub fn index(text: &str) -> Vec<DocSpans> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    // A syntax error ends the walk; what was seen before it is still useful.
    let _ = parser.load(&mut builder, true);
    builder.docs
}

enum Frame {
    /// `unplaced`: the mapping's own pointer, placed at its first key (yaml-rust2 marks a
    /// block mapping at that key's colon).
    Map {
        key: Option<String>,
        unplaced: Option<String>,
    },
    Seq {
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    docs: Vec<DocSpans>,
    stack: Vec<(String, Frame)>,
}

impl Builder {
    /// The pointer of the node starting now, or `None` when the node is a mapping key.
    fn next_pointer(&mut self) -> Option<String> {
        let Some((parent, frame)) = self.stack.last_mut() else {
            return Some(String::new());
        };
        match frame {
            Frame::Map { key, .. } => key
                .take()
                .map(|k| format!("{parent}/{}", k.replace('~', "~0").replace('/', "~1"))),
            Frame::Seq { next } => {
                *next += 1;
                Some(format!("{parent}/{}", *next - 1))
            }
        }
    }

    fn record(&mut self, pointer: &str, mark: Marker) {
        if let Some(doc) = self.docs.last_mut() {
            // yaml-rust2 counts lines from 1 and columns from 0.
            let pos = (mark.line(), mark.col() + 1);
            if pointer.is_empty() {
                return;
            }
            if doc.fields.is_empty() {
                // The document's position is that of its first field.
                doc.start = pos;
            }
            doc.fields.entry(pointer.to_owned()).or_insert(pos);
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::DocumentStart => {
                self.stack.clear();
                self.docs.push(DocSpans {
                    start: (mark.line(), mark.col() + 1),
                    fields: HashMap::new(),
                });
            }
            Event::Scalar(value, ..) => match self.next_pointer() {
                Some(p) => self.record(&p, mark),
                None => {
                    // A mapping key: the field's position is the key's.
                    if let Some((parent, Frame::Map { key, unplaced })) = self.stack.last_mut() {
                        let pointer =
                            format!("{parent}/{}", value.replace('~', "~0").replace('/', "~1"));
                        *key = Some(value);
                        let unplaced = unplaced.take();
                        if let Some(own) = unplaced {
                            self.record(&own, mark);
                        }
                        self.record(&pointer, mark);
                    }
                }
            },
            Event::Alias(_) => {
                if let Some(p) = self.next_pointer() {
                    self.record(&p, mark);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let pointer = self.next_pointer().unwrap_or_default();
                let frame = match ev {
                    Event::MappingStart(..) => Frame::Map {
                        key: None,
                        unplaced: Some(pointer.clone()),
                    },
                    _ => {
                        self.record(&pointer, mark);
                        Frame::Seq { next: 0 }
                    }
                };
                self.stack.push((pointer, frame));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// `/spec/headerParameters/0/key` -> `spec.headerParameters[0].key`.
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}
