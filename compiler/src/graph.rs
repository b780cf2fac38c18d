//! The node graph: models, seeds, sources and tests wired by ref/source; cycle detection;
//! dbt-style `--select`.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::error::{Diagnostic, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    Source,
    Seed,
    Model,
    Test,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Source => "source",
            Kind::Seed => "seed",
            Kind::Model => "model",
            Kind::Test => "test",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct GraphNode {
    pub kind: Kind,
    /// Model/seed/test name, or `source.table` for sources.
    pub name: String,
    pub unique_id: String,
    /// Project-relative file the node comes from.
    pub file: String,
    /// dbt's fully qualified name, for `ls` output.
    pub fqn: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub nodes: Vec<GraphNode>,
    pub parents: Vec<Vec<usize>>,
    pub children: Vec<Vec<usize>>,
    by_id: HashMap<String, usize>,
}

impl Graph {
    pub(crate) fn add(&mut self, node: GraphNode) -> usize {
        let index = self.nodes.len();
        // A ref names a model or a snapshot alike (`NodeRef::Model`): a snapshot is found by
        // the model id of its name too. Names are unique across both (checked with the nodes).
        if let Some(name) = node.unique_id.strip_prefix("snapshot.") {
            self.by_id.insert(format!("model.{name}"), index);
        }
        self.by_id.insert(node.unique_id.clone(), index);
        self.nodes.push(node);
        self.parents.push(Vec::new());
        self.children.push(Vec::new());
        index
    }

    pub(crate) fn index(&self, unique_id: &str) -> Option<usize> {
        self.by_id.get(unique_id).copied()
    }

    pub(crate) fn connect(&mut self, parent: usize, child: usize) {
        if !self.parents[child].contains(&parent) {
            self.parents[child].push(parent);
            self.children[parent].push(child);
        }
    }

    pub(crate) fn disconnect(&mut self, parent: usize, child: usize) {
        self.parents[child].retain(|&p| p != parent);
        self.children[parent].retain(|&c| c != child);
    }

    /// Every node downstream of `roots` (the roots included).
    pub(crate) fn descendants(&self, roots: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut pending: Vec<usize> = roots.into_iter().collect();
        while let Some(node) = pending.pop() {
            if seen.insert(node) {
                pending.extend(&self.children[node]);
            }
        }
        seen
    }

    /// The first cycle found, as node indices `a → b → … → a`.
    pub(crate) fn find_cycle(&self) -> Option<Vec<usize>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut marks = vec![Mark::New; self.nodes.len()];
        for start in 0..self.nodes.len() {
            if marks[start] != Mark::New {
                continue;
            }
            // Iterative DFS (deep model chains must not overflow the stack).
            let mut path: Vec<(usize, usize)> = vec![(start, 0)];
            marks[start] = Mark::Open;
            while let Some(&mut (node, ref mut next)) = path.last_mut() {
                if let Some(&child) = self.children[node].get(*next) {
                    *next += 1;
                    match marks[child] {
                        Mark::New => {
                            marks[child] = Mark::Open;
                            path.push((child, 0));
                        }
                        Mark::Open => {
                            let from = path.iter().position(|(n, _)| *n == child).unwrap_or(0);
                            let mut cycle: Vec<usize> =
                                path[from..].iter().map(|(n, _)| *n).collect();
                            cycle.push(child);
                            return Some(cycle);
                        }
                        Mark::Done => {}
                    }
                } else {
                    marks[node] = Mark::Done;
                    path.pop();
                }
            }
        }
        None
    }

    fn walk(&self, start: usize, up: bool, depth: Option<usize>, into: &mut BTreeSet<usize>) {
        let mut queue = VecDeque::from([(start, 0usize)]);
        while let Some((node, level)) = queue.pop_front() {
            if depth.is_some_and(|max| level >= max) {
                continue;
            }
            let next = if up {
                &self.parents[node]
            } else {
                &self.children[node]
            };
            for &other in next {
                if into.insert(other) {
                    queue.push_back((other, level + 1));
                }
            }
        }
    }

    /// dbt's node selection. `selectors` are unions (space-separated words); a comma inside a
    /// word intersects. Each part is `name`, `tag:x`, `path:dir`, `source:src.table`,
    /// `resource_type:model`, with optional `+` (or `N+`) on either side for ancestors/descendants.
    /// Tests are added when any node they test is selected (dbt's eager indirect selection).
    pub(crate) fn select(
        &self,
        selectors: &[String],
        excludes: &[String],
    ) -> Result<BTreeSet<usize>> {
        let mut selected = BTreeSet::new();
        let words: Vec<&str> = selectors
            .iter()
            .flat_map(|s| s.split_whitespace())
            .collect();
        if words.is_empty() {
            selected.extend(0..self.nodes.len());
        }
        for word in words {
            let mut intersection: Option<BTreeSet<usize>> = None;
            for part in word.split(',') {
                let matched = self.select_one(part)?;
                intersection = Some(match intersection {
                    None => matched,
                    Some(previous) => previous.intersection(&matched).copied().collect(),
                });
            }
            selected.extend(intersection.unwrap_or_default());
        }
        let tests: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == Kind::Test)
            .filter(|&i| self.parents[i].iter().any(|p| selected.contains(p)))
            .collect();
        selected.extend(tests);
        for word in excludes.iter().flat_map(|s| s.split_whitespace()) {
            for node in self.select_one(word)? {
                selected.remove(&node);
            }
        }
        Ok(selected)
    }

    fn select_one(&self, part: &str) -> Result<BTreeSet<usize>> {
        let (up, rest) = split_graph_operator(part, true);
        let (down, core) = split_graph_operator(rest, false);
        let matches: Vec<usize> = match core.split_once(':') {
            Some(("tag", tag)) => self.filter(|n| n.tags.iter().any(|t| t == tag)),
            Some(("path", path)) => {
                let path = path.trim_end_matches('/');
                self.filter(|n| n.file == path || n.file.starts_with(&format!("{path}/")))
            }
            Some(("source", name)) => self.filter(|n| {
                n.kind == Kind::Source && (n.name == name || n.name.split('.').next() == Some(name))
            }),
            Some(("resource_type", kind)) => self.filter(|n| n.kind.as_str() == kind),
            Some(("fqn", name)) | Some(("model", name)) => self.filter(|n| n.name == name),
            Some((method, _)) => {
                return Err(Diagnostic::new(format!("unknown selector method '{method}:' in '{part}'"))
                    .help("use a node name, tag:, path:, source: or resource_type:, with + for ancestors/descendants"));
            }
            // A model's name selects all its versions (`dim_customers` → `dim_customers.v1`, …).
            None => self.filter(|n| {
                n.name == core
                    || n.fqn.join(".") == core
                    || (n.kind == Kind::Model
                        && n.name
                            .rsplit_once(".v")
                            .is_some_and(|(base, _)| base == core))
            }),
        };
        if matches.is_empty() {
            // dbt warns and selects nothing.
            eprintln!(
                "warning: the selection criterion '{part}' does not match any enabled nodes (run `mdwc ls` to see them)"
            );
        }
        let mut out: BTreeSet<usize> = matches.iter().copied().collect();
        for &node in &matches {
            if let Some(depth) = up {
                self.walk(node, true, depth, &mut out);
            }
            if let Some(depth) = down {
                self.walk(node, false, depth, &mut out);
            }
        }
        Ok(out)
    }

    fn filter(&self, keep: impl Fn(&GraphNode) -> bool) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| keep(&self.nodes[i]))
            .collect()
    }

    /// Nodes in an order where every parent comes before its children (ties by position).
    pub(crate) fn topological_order(&self) -> Vec<usize> {
        let mut pending: Vec<usize> = self.parents.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> =
            (0..self.nodes.len()).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(node) = ready.pop_first() {
            order.push(node);
            for &child in &self.children[node] {
                pending[child] -= 1;
                if pending[child] == 0 {
                    ready.insert(child);
                }
            }
        }
        order
    }

    /// Longest distance from a root, for layered drawings.
    pub(crate) fn layers(&self) -> Vec<usize> {
        let mut layer = vec![0usize; self.nodes.len()];
        for node in self.topological_order() {
            for &child in &self.children[node] {
                layer[child] = layer[child].max(layer[node] + 1);
            }
        }
        layer
    }
}

/// Splits `+x`/`2+x` (leading, `up`) or `x+`/`x+2` (trailing). `Some(None)` means unbounded.
fn split_graph_operator(part: &str, leading: bool) -> (Option<Option<usize>>, &str) {
    if leading {
        if let Some(plus) = part.find('+') {
            let digits = &part[..plus];
            if digits.chars().all(|c| c.is_ascii_digit()) {
                return (Some(digits.parse().ok()), &part[plus + 1..]);
            }
        }
    } else if let Some(plus) = part.rfind('+') {
        let digits = &part[plus + 1..];
        if digits.chars().all(|c| c.is_ascii_digit()) && plus > 0 {
            return (Some(digits.parse().ok()), &part[..plus]);
        }
    }
    (None, part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: Kind, name: &str, file: &str, tags: &[&str]) -> GraphNode {
        GraphNode {
            kind,
            name: name.into(),
            unique_id: format!("{}.{name}", kind.as_str()),
            file: file.into(),
            fqn: vec!["p".into(), name.into()],
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn chain() -> Graph {
        let mut g = Graph::default();
        let a = g.add(node(Kind::Model, "a", "models/sta/a.sql", &["x"]));
        let b = g.add(node(Kind::Model, "b", "models/dim/b.sql", &[]));
        let c = g.add(node(Kind::Model, "c", "models/mart/c.sql", &["x"]));
        let t = g.add(node(Kind::Test, "t", "models/s.yml", &[]));
        g.connect(a, b);
        g.connect(b, c);
        g.connect(b, t);
        g
    }

    #[test]
    fn selection_operators() {
        let g = chain();
        let names = |sel: &[&str]| -> Vec<String> {
            let sel: Vec<String> = sel.iter().map(|s| s.to_string()).collect();
            g.select(&sel, &[])
                .unwrap()
                .into_iter()
                .map(|i| g.nodes[i].name.clone())
                .collect()
        };
        assert_eq!(names(&["b+"]), ["b", "c", "t"]);
        assert_eq!(names(&["+b"]), ["a", "b", "t"]);
        assert_eq!(names(&["tag:x"]), ["a", "c"]);
        assert_eq!(names(&["path:models/dim"]), ["b", "t"]);
        assert_eq!(names(&["1+c"]), ["b", "c", "t"]);
        assert_eq!(names(&["tag:x,path:models/mart"]), ["c"]);
        assert!(g.select(&["nope".to_string()], &[]).unwrap().is_empty());
    }

    #[test]
    fn cycles_are_found() {
        let mut g = chain();
        assert!(g.find_cycle().is_none());
        g.connect(2, 0);
        let cycle = g.find_cycle().unwrap();
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
    }
}
