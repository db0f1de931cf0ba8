//! The import rule of docs/architecture.md: modules form layers, and a module imports only
//! modules of lower layers, so there is no import cycle. Read from the `crate::…` paths of
//! every file in `src/` (a file in `src/m/` belongs to module `m`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom first; the same list is in docs/architecture.md.
const LAYERS: [&str; 18] = [
    "resource", "diff", "graph", "manifest", "state", "live", "plan", "aws", "store", "project",
    "observe", "apply", "drift", "import", "render", "signal", "cli", "commands",
];

/// Paths a module must not name although their module is below it.
const FORBIDDEN: [(&str, &str); 1] = [
    // The planner takes the recorded state as data; it never opens the store (which is above
    // it anyway: this names the rule).
    ("plan", "store"),
];

/// Module -> (module it names -> the first file and path naming it).
type Edges = BTreeMap<String, BTreeMap<String, String>>;

fn edges(src: &Path) -> Edges {
    let mut out = Edges::new();
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_owned();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            for named in named_paths(code) {
                let target = named.split("::").next().unwrap_or_default().to_owned();
                if target != module && !target.is_empty() {
                    out.entry(module.clone())
                        .or_default()
                        .entry(target)
                        .or_insert_with(|| format!("{}: crate::{named}", relative.display()));
                }
                for (from, forbidden) in FORBIDDEN {
                    assert!(
                        !(module == from && named.starts_with(forbidden)),
                        "{} names crate::{named}, which `{from}` must not import",
                        relative.display()
                    );
                }
            }
        }
    }
    out
}

/// The paths after `crate::` in a line, groups opened: `crate::{a::B, c}` gives `a::B`, `c`.
fn named_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            out.extend(inner.split(',').map(|p| p.trim().to_owned()));
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
        }
    }
    out
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        edges: &'a Edges,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flat_map(|m| m.keys()) {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let l = self.low[w.as_str()].min(self.low[v]);
                    self.low.insert(v, l);
                } else if self.on_stack.contains(w.as_str()) {
                    let l = self.index[w.as_str()].min(self.low[v]);
                    self.low.insert(v, l);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn modules_import_only_lower_layers_and_form_no_cycle() {
    let edges = edges(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut problems = Vec::new();
    for (from, targets) in &edges {
        let Some(r) = rank(from) else {
            problems.push(format!("module `{from}` is in no layer (add it to LAYERS)"));
            continue;
        };
        for (to, at) in targets {
            match rank(to) {
                None => problems.push(format!("`{to}` (named at {at}) is in no layer")),
                Some(t) if t >= r => {
                    problems.push(format!("`{from}` imports `{to}`, a layer up: {at}"))
                }
                Some(_) => {}
            }
        }
    }
    let cycles = cycles(&edges);
    for c in &cycles {
        problems.push(format!("import cycle: {}", c.join(" <-> ")));
    }
    println!("import cycles: {}", cycles.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_rule_catches_a_path_that_points_up_and_a_cycle() {
    assert_eq!(
        named_paths("use crate::{plan::Plan, resource::Kind}; let x = crate::aws::f();"),
        ["plan::Plan", "resource::Kind", "aws::f"]
    );
    let edges: Edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .into_iter()
        .fold(Edges::new(), |mut e, (f, t)| {
            e.entry(f.into())
                .or_default()
                .insert(t.into(), String::new());
            e
        });
    assert_eq!(cycles(&edges), [["a", "b", "c"]]);
}
