//! The dependency graph over resources (petgraph): an API destination depends on the
//! connection it names. Creation follows the edges, deletion runs against them.

use std::collections::HashMap;
use std::fmt;

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::resource::{Address, Spec};

/// Edges point from a dependency to its dependent (connection -> API destination).
#[derive(Debug, Default, Clone)]
pub struct Graph {
    graph: DiGraph<Address, ()>,
    nodes: HashMap<Address, NodeIndex>,
}

/// A reference cycle, printed whole: `A -> B -> A`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<Address>);

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.0 {
            write!(f, "{a} -> ")?;
        }
        match self.0.first() {
            Some(first) => write!(f, "{first}"),
            None => Ok(()),
        }
    }
}

/// The addresses a spec depends on: what its kind's references name.
pub fn dependencies(spec: &Spec) -> Vec<Address> {
    spec.references()
}

impl Graph {
    /// The graph of resources with their specs; references to unknown addresses are left
    /// out (the validator reports them).
    pub fn build<'a>(resources: impl IntoIterator<Item = (&'a Address, &'a Spec)>) -> Self {
        Graph::from_deps(
            resources
                .into_iter()
                .map(|(a, spec)| (a.clone(), dependencies(spec))),
        )
    }

    /// A graph from each address and the addresses it depends on.
    pub fn from_deps(items: impl IntoIterator<Item = (Address, Vec<Address>)>) -> Self {
        let mut g = Graph::default();
        let items: Vec<_> = items.into_iter().collect();
        for (a, _) in &items {
            g.node(a);
        }
        for (a, deps) in &items {
            for d in deps {
                if let Some(&from) = g.nodes.get(d) {
                    g.graph.add_edge(from, g.nodes[a], ());
                }
            }
        }
        g
    }

    fn node(&mut self, a: &Address) -> NodeIndex {
        if let Some(&i) = self.nodes.get(a) {
            return i;
        }
        let i = self.graph.add_node(a.clone());
        self.nodes.insert(a.clone(), i);
        i
    }

    /// Creation order: every resource after the ones it depends on; ties in address order.
    pub fn order(&self) -> Result<Vec<Address>, Cycle> {
        match toposort(&self.graph, None) {
            Ok(_) => Ok(self.stable_order()),
            Err(_) => Err(self.find_cycle()),
        }
    }

    /// Deletion order: dependents first.
    pub fn delete_order(&self) -> Result<Vec<Address>, Cycle> {
        let mut order = self.order()?;
        order.reverse();
        Ok(order)
    }

    /// The addresses `a` depends on directly.
    pub fn dependencies_of(&self, a: &Address) -> Vec<Address> {
        self.neighbors(a, petgraph::Direction::Incoming)
    }

    /// The addresses that depend on `a` directly.
    pub fn dependents_of(&self, a: &Address) -> Vec<Address> {
        self.neighbors(a, petgraph::Direction::Outgoing)
    }

    fn neighbors(&self, a: &Address, dir: petgraph::Direction) -> Vec<Address> {
        let Some(&i) = self.nodes.get(a) else {
            return Vec::new();
        };
        let mut out: Vec<Address> = self
            .graph
            .neighbors_directed(i, dir)
            .map(|n| self.graph[n].clone())
            .collect();
        out.sort();
        out
    }

    /// Kahn's layering with a sorted frontier, so plans are deterministic.
    #[allow(
        clippy::expect_used,
        reason = "petgraph invariants: every node has an indegree and a cycle a next node"
    )]
    fn stable_order(&self) -> Vec<Address> {
        let mut indegree: HashMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|n| {
                let d = self
                    .graph
                    .neighbors_directed(n, petgraph::Direction::Incoming)
                    .count();
                (n, d)
            })
            .collect();
        let mut ready: std::collections::BTreeSet<(Address, NodeIndex)> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| (self.graph[*n].clone(), *n))
            .collect();
        let mut out = Vec::with_capacity(self.graph.node_count());
        while let Some((a, n)) = ready.pop_first() {
            out.push(a);
            for m in self
                .graph
                .neighbors_directed(n, petgraph::Direction::Outgoing)
            {
                let d = indegree.get_mut(&m).expect("every node has an indegree");
                *d -= 1;
                if *d == 0 {
                    ready.insert((self.graph[m].clone(), m));
                }
            }
        }
        out
    }

    #[allow(
        clippy::expect_used,
        reason = "petgraph invariants: a component is never empty, and every node of a cycle has a successor in it"
    )]
    fn find_cycle(&self) -> Cycle {
        for scc in tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            // Walk the references (dependent -> dependency) from the smallest address.
            let start = *scc
                .iter()
                .min_by_key(|n| &self.graph[**n])
                .expect("a component is never empty");
            let mut path = vec![start];
            let mut at = start;
            loop {
                let next = self
                    .graph
                    .neighbors_directed(at, petgraph::Direction::Incoming)
                    .filter(|n| scc.contains(n))
                    .min_by_key(|n| &self.graph[*n])
                    .expect("every node of a cycle has a successor in it");
                if next == start || path.contains(&next) {
                    break;
                }
                path.push(next);
                at = next;
            }
            return Cycle(path.into_iter().map(|n| self.graph[n].clone()).collect());
        }
        Cycle(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Kind;

    fn a(kind: Kind, name: &str) -> Address {
        Address::new(kind, name)
    }

    #[test]
    fn connections_come_before_their_destinations_and_are_deleted_after() {
        let g = Graph::from_deps([
            (
                a(Kind::ApiDestination, "orders"),
                vec![a(Kind::Connection, "acme")],
            ),
            (a(Kind::Connection, "acme"), vec![]),
            (a(Kind::Connector, "edi"), vec![]),
        ]);
        let order: Vec<String> = g.order().unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(
            order,
            ["Connection/acme", "ApiDestination/orders", "Connector/edi"]
        );
        let delete: Vec<String> = g
            .delete_order()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            delete,
            ["Connector/edi", "ApiDestination/orders", "Connection/acme"]
        );
        assert_eq!(
            g.dependents_of(&a(Kind::Connection, "acme")),
            [a(Kind::ApiDestination, "orders")]
        );
    }

    #[test]
    fn a_cycle_is_printed_whole() {
        let g = Graph::from_deps([
            (a(Kind::Connection, "x"), vec![a(Kind::ApiDestination, "y")]),
            (a(Kind::ApiDestination, "y"), vec![a(Kind::Connection, "z")]),
            (a(Kind::Connection, "z"), vec![a(Kind::Connection, "x")]),
        ]);
        let cycle = g.order().unwrap_err();
        assert_eq!(
            cycle.to_string(),
            "Connection/x -> ApiDestination/y -> Connection/z -> Connection/x"
        );
    }
}
