//! Pictures of the money-and-value flow graph: Graphviz DOT and Mermaid, with the hops of cycle
//! findings highlighted.

use crate::explain::{Chain, Finding};
use indexmap::{IndexMap, IndexSet};
use std::fmt::Write as _;

pub use crate::explain::Edge;

/// The deals on the hops of the findings' chains, and the entities they link.
fn highlighted(findings: &[Finding]) -> (IndexSet<String>, IndexSet<String>) {
    let mut deals = IndexSet::new();
    let mut nodes = IndexSet::new();
    for chain in findings.iter().flat_map(|f| &f.chains) {
        if chain.hops.len() < 2 {
            continue;
        }
        for h in &chain.hops {
            if let Some(d) = &h.deal {
                deals.insert(d.fact.to_string());
            }
            for v in [&h.from, &h.to].into_iter().flatten() {
                nodes.insert(v.to_string());
            }
        }
    }
    (deals, nodes)
}

fn label(e: &Edge) -> String {
    match (&e.deal, &e.amount) {
        (Some(d), Some(a)) => format!("{d}, {a}"),
        (Some(d), None) => d.clone(),
        (None, Some(a)) => a.to_string(),
        (None, None) => String::new(),
    }
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The graph as Graphviz DOT (`dot -Tsvg`): one node per entity, one edge per row, labelled
/// with the deal and amount; entities and edges on the cycles of `findings` drawn in red.
pub fn dot(edges: &[Edge], findings: &[Finding]) -> String {
    let (hot_deals, hot_nodes) = highlighted(findings);
    let mut nodes: IndexSet<&str> = IndexSet::new();
    for e in edges {
        nodes.insert(&e.from);
        nodes.insert(&e.to);
    }
    let mut sorted: Vec<&str> = nodes.into_iter().collect();
    sorted.sort_unstable();
    let mut out = String::from(
        "digraph flows {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for n in sorted {
        let style = if hot_nodes.contains(n) {
            " [color=red, penwidth=2]"
        } else {
            ""
        };
        let _ = writeln!(out, "  {}{style};", dot_quote(n));
    }
    for e in sorted_edges(edges) {
        let hot = e.deal.as_ref().is_some_and(|d| hot_deals.contains(d));
        let style = if hot { ", color=red, penwidth=2" } else { "" };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{style}];",
            dot_quote(&e.from),
            dot_quote(&e.to),
            dot_quote(&label(e))
        );
    }
    out.push_str("}\n");
    out
}

fn sorted_edges(edges: &[Edge]) -> Vec<&Edge> {
    let mut v: Vec<&Edge> = edges.iter().collect();
    v.sort_by(|a, b| (&a.from, &a.to, &a.deal).cmp(&(&b.from, &b.to, &b.deal)));
    v
}

/// A Mermaid node id for an entity name: `n` and its position, so any name is safe.
struct Ids(IndexMap<String, String>);

impl Ids {
    fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Ids {
        let mut sorted: Vec<&str> = names
            .into_iter()
            .collect::<IndexSet<_>>()
            .into_iter()
            .collect();
        sorted.sort_unstable();
        Ids(sorted
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), format!("n{i}")))
            .collect())
    }

    fn of(&self, name: &str) -> &str {
        self.0.get(name).map_or("n", String::as_str)
    }
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// The graph as a Mermaid flowchart (renders in GitHub and GitLab pull requests): the edges of
/// the cycles of `findings` drawn thick and red.
pub fn mermaid(edges: &[Edge], findings: &[Finding]) -> String {
    let (hot_deals, hot_nodes) = highlighted(findings);
    let ids = Ids::new(edges.iter().flat_map(|e| [e.from.as_str(), e.to.as_str()]));
    let mut out = String::from("flowchart LR\n");
    for (name, id) in &ids.0 {
        let _ = writeln!(out, "  {id}[\"{}\"]", mermaid_text(name));
    }
    let mut hot_links = Vec::new();
    for (i, e) in sorted_edges(edges).into_iter().enumerate() {
        let _ = writeln!(
            out,
            "  {} -->|\"{}\"| {}",
            ids.of(&e.from),
            mermaid_text(&label(e)),
            ids.of(&e.to)
        );
        if e.deal.as_ref().is_some_and(|d| hot_deals.contains(d)) {
            hot_links.push(i.to_string());
        }
    }
    let hot: Vec<&str> = ids
        .0
        .iter()
        .filter(|(n, _)| hot_nodes.contains(*n))
        .map(|(_, id)| id.as_str())
        .collect();
    if !hot.is_empty() {
        let _ = writeln!(out, "  classDef cycle stroke:#d00,stroke-width:3px");
        let _ = writeln!(out, "  class {} cycle", hot.join(","));
    }
    if !hot_links.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#d00,stroke-width:3px",
            hot_links.join(",")
        );
    }
    out
}

/// One chain (a cycle finding) as a Mermaid flowchart, hop by hop, for the Markdown report.
pub fn mermaid_chain(chain: &Chain) -> String {
    let edges: Vec<Edge> = chain
        .hops
        .iter()
        .map(|h| Edge {
            from: h.from.as_ref().map_or(String::new(), ToString::to_string),
            to: h.to.as_ref().map_or(String::new(), ToString::to_string),
            deal: h.deal.as_ref().map(|d| d.fact.to_string()),
            amount: h.amount.clone(),
        })
        .collect();
    let ids = Ids::new(edges.iter().flat_map(|e| [e.from.as_str(), e.to.as_str()]));
    let mut out = String::from("flowchart LR\n");
    for (name, id) in &ids.0 {
        let _ = writeln!(out, "  {id}[\"{}\"]", mermaid_text(name));
    }
    for e in &edges {
        let _ = writeln!(
            out,
            "  {} -->|\"{}\"| {}",
            ids.of(&e.from),
            mermaid_text(&label(e)),
            ids.of(&e.to)
        );
    }
    out
}
