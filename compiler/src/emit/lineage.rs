//! Lineage drawings of the graph: Graphviz DOT, and a self-contained HTML page (inline SVG and
//! a few lines of script; no network, no external assets).

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::graph::{Graph, Kind};

fn kind_color(kind: Kind) -> &'static str {
    match kind {
        Kind::Source => "#7cb342",
        Kind::Seed => "#8d6e63",
        Kind::Model => "#1e88e5",
        Kind::Test => "#9e9e9e",
    }
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn dot(graph: &Graph, selected: &BTreeSet<usize>) -> String {
    let mut out = String::from(
        "digraph lineage {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontcolor=white];\n",
    );
    for &i in selected {
        let node = &graph.nodes[i];
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\", fillcolor=\"{}\"];",
            dot_escape(&node.unique_id),
            dot_escape(&node.name),
            kind_color(node.kind)
        );
    }
    for &child in selected {
        for &parent in &graph.parents[child] {
            if selected.contains(&parent) {
                let _ = writeln!(
                    out,
                    "  \"{}\" -> \"{}\";",
                    dot_escape(&graph.nodes[parent].unique_id),
                    dot_escape(&graph.nodes[child].unique_id)
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

const NODE_WIDTH: usize = 190;
const NODE_HEIGHT: usize = 26;
const COLUMN_GAP: usize = 250;
const ROW_GAP: usize = 36;

pub(crate) fn html(graph: &Graph, selected: &BTreeSet<usize>, title: &str) -> String {
    let layers = graph.layers();
    let max_layer = selected.iter().map(|&i| layers[i]).max().unwrap_or(0);
    // Rows: order each layer by the mean row of its parents (fewer crossings), then by name.
    let mut row = vec![0f64; graph.nodes.len()];
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); max_layer + 1];
    for &i in selected {
        columns[layers[i]].push(i);
    }
    for column in columns.iter_mut() {
        let mut keyed: Vec<(f64, String, usize)> = column
            .iter()
            .map(|&i| {
                let parents: Vec<f64> = graph.parents[i]
                    .iter()
                    .filter(|p| selected.contains(p))
                    .map(|&p| row[p])
                    .collect();
                let key = if parents.is_empty() {
                    f64::MAX
                } else {
                    parents.iter().sum::<f64>() / parents.len() as f64
                };
                (key, graph.nodes[i].name.clone(), i)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        *column = keyed.into_iter().map(|(_, _, i)| i).collect();
        for (r, &i) in column.iter().enumerate() {
            row[i] = r as f64;
        }
    }
    let height = columns.iter().map(Vec::len).max().unwrap_or(1) * ROW_GAP + 40;
    let width = (max_layer + 1) * COLUMN_GAP + 40;
    let position = |i: usize| (20 + layers[i] * COLUMN_GAP, 20 + row[i] as usize * ROW_GAP);

    let mut svg = String::new();
    for &child in selected {
        for &parent in &graph.parents[child] {
            if !selected.contains(&parent) {
                continue;
            }
            let (px, py) = position(parent);
            let (cx, cy) = position(child);
            let (x1, y1, x2, y2) = (
                px + NODE_WIDTH,
                py + NODE_HEIGHT / 2,
                cx,
                cy + NODE_HEIGHT / 2,
            );
            let mid = (x1 + x2) / 2;
            let _ = writeln!(
                svg,
                "<path class=\"edge\" data-from=\"{parent}\" data-to=\"{child}\" d=\"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}\"/>"
            );
        }
    }
    for &i in selected {
        let node = &graph.nodes[i];
        let (x, y) = position(i);
        let label: String = node.name.chars().take(28).collect();
        let _ = writeln!(
            svg,
            "<g class=\"node\" data-id=\"{i}\" transform=\"translate({x},{y})\"><title>{}\n{}</title><rect width=\"{NODE_WIDTH}\" height=\"{NODE_HEIGHT}\" rx=\"6\" fill=\"{}\"/><text x=\"8\" y=\"17\">{}</text></g>",
            html_escape(&node.unique_id),
            html_escape(&node.file),
            kind_color(node.kind),
            html_escape(&label)
        );
    }
    let parents_json: Vec<String> = (0..graph.nodes.len())
        .map(|i| {
            format!(
                "[{}]",
                graph.parents[i]
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        })
        .collect();
    let children_json: Vec<String> = (0..graph.nodes.len())
        .map(|i| {
            format!(
                "[{}]",
                graph.children[i]
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} lineage</title>
<style>
body{{font-family:Helvetica,Arial,sans-serif;margin:0;background:#fafafa}}
header{{padding:10px 16px;background:#263238;color:#fff;display:flex;gap:16px;align-items:center}}
header input{{padding:4px 8px;border-radius:4px;border:0;width:220px}}
.legend span{{display:inline-block;padding:2px 8px;border-radius:4px;margin-right:6px;font-size:12px}}
svg{{display:block}}
.edge{{fill:none;stroke:#b0bec5;stroke-width:1.5}}
.node text{{fill:#fff;font-size:12px;pointer-events:none}}
.node{{cursor:pointer}}
.dim{{opacity:.15}}
.hit rect{{stroke:#ff6f00;stroke-width:3}}
</style></head><body>
<header><b>{title}</b> — click a node for its lineage, click the background to reset
<input id="q" placeholder="find a node…">
<span class="legend"><span style="background:#7cb342">source</span><span style="background:#8d6e63">seed</span><span style="background:#1e88e5">model</span><span style="background:#9e9e9e">test</span></span></header>
<svg id="g" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">
{svg}</svg>
<script>
const parents=[{parents}], children=[{children}];
const nodes=[...document.querySelectorAll('.node')], edges=[...document.querySelectorAll('.edge')];
function reach(start, next){{const seen=new Set([start]);const todo=[start];while(todo.length){{for(const n of next[todo.pop()]){{if(!seen.has(n)){{seen.add(n);todo.push(n);}}}}}}return seen;}}
function show(keep){{nodes.forEach(n=>n.classList.toggle('dim',keep&&!keep.has(+n.dataset.id)));
edges.forEach(e=>e.classList.toggle('dim',keep&&!(keep.has(+e.dataset.from)&&keep.has(+e.dataset.to))));}}
nodes.forEach(n=>n.addEventListener('click',ev=>{{ev.stopPropagation();const id=+n.dataset.id;
const keep=new Set([...reach(id,parents),...reach(id,children)]);show(keep);}}));
document.getElementById('g').addEventListener('click',()=>show(null));
document.getElementById('q').addEventListener('input',ev=>{{const q=ev.target.value.toLowerCase();
nodes.forEach(n=>n.classList.toggle('hit',q.length>0&&n.querySelector('text').textContent.toLowerCase().includes(q)));}});
</script></body></html>
"#,
        title = html_escape(title),
        parents = parents_json.join(","),
        children = children_json.join(","),
    )
}
