//! `dbt build`'s order as Terraform `depends_on`: which data tests a model waits for, so a
//! failing error-severity test holds back what reads the tested nodes.
//!
//! The rule is dbt-core's (`Linker.add_test_edges`): a model waits for a test when every node
//! the test reads is upstream of the model. A test that reads the model itself, or a node
//! downstream of it (a `relationships` test from A to B where B reads A), is therefore never
//! waited for by that model — that would be a cycle. Of those edges only the ones no parent
//! already implies are kept: a model reading B, which waits for the tests of A, need not list
//! them again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::compile::NodeRef;

/// A model and the nodes it reads (past ephemeral models: the tables and sources it reads).
pub(crate) struct ModelReads<'a> {
    pub model: NodeRef,
    pub reads: &'a [NodeRef],
}

/// A data test (by resource key) and the nodes it reads.
pub(crate) struct TestReads<'a> {
    pub key: &'a str,
    pub reads: &'a [NodeRef],
}

/// For each model, the keys of the tests it waits for, sorted.
pub(crate) fn blocking_tests(
    models: &[ModelReads],
    tests: &[TestReads],
) -> BTreeMap<NodeRef, Vec<String>> {
    let tested: BTreeSet<&NodeRef> = tests.iter().flat_map(|t| t.reads).collect();
    let reads: HashMap<&NodeRef, &[NodeRef]> = models.iter().map(|m| (&m.model, m.reads)).collect();
    let upstream = tested_upstream(models, &reads, &tested);
    let empty = BTreeSet::new();
    let upstream_of = |node: &NodeRef| upstream.get(node).unwrap_or(&empty);

    let mut single: HashMap<&NodeRef, Vec<&str>> = HashMap::new();
    let mut multi: Vec<&TestReads> = Vec::new();
    for test in tests {
        match test.reads {
            [] => {}
            [only] => single.entry(only).or_default().push(test.key),
            _ => multi.push(test),
        }
    }

    let mut out = BTreeMap::new();
    for model in models {
        // Tests a parent already waits for: Terraform orders the model after that parent.
        let implied = |test_reads: &[NodeRef]| {
            model.reads.iter().any(|parent| {
                let above = upstream_of(parent);
                test_reads.iter().all(|node| above.contains(node))
            })
        };
        let mut keys: Vec<String> = Vec::new();
        for parent in model.reads {
            for key in single.get(parent).into_iter().flatten() {
                if !implied(std::slice::from_ref(parent)) {
                    keys.push((*key).to_string());
                }
            }
        }
        let above = upstream_of(&model.model);
        for test in &multi {
            if test.reads.iter().all(|node| above.contains(node)) && !implied(test.reads) {
                keys.push(test.key.to_string());
            }
        }
        keys.sort();
        keys.dedup();
        if !keys.is_empty() {
            out.insert(model.model.clone(), keys);
        }
    }
    out
}

/// For each model, the tested nodes upstream of it (transitively). Iterative, so a deep chain
/// of models cannot overflow the stack; the compile already rejected cycles.
fn tested_upstream<'a>(
    models: &'a [ModelReads],
    reads: &HashMap<&'a NodeRef, &'a [NodeRef]>,
    tested: &BTreeSet<&'a NodeRef>,
) -> HashMap<&'a NodeRef, BTreeSet<&'a NodeRef>> {
    let mut done: HashMap<&NodeRef, BTreeSet<&NodeRef>> = HashMap::new();
    for model in models {
        let mut stack: Vec<(&NodeRef, bool)> = vec![(&model.model, false)];
        let mut open: BTreeSet<&NodeRef> = BTreeSet::new();
        while let Some((node, expanded)) = stack.pop() {
            if done.contains_key(node) {
                continue;
            }
            let parents = reads.get(node).copied().unwrap_or(&[]);
            if expanded {
                let mut set = BTreeSet::new();
                for parent in parents {
                    if tested.contains(parent) {
                        set.insert(parent);
                    }
                    if let Some(above) = done.get(parent) {
                        set.extend(above.iter().copied());
                    }
                }
                done.insert(node, set);
                continue;
            }
            if !open.insert(node) {
                continue; // a cycle (reported by the compile); stop here
            }
            stack.push((node, true));
            for parent in parents {
                if reads.contains_key(parent) && !done.contains_key(parent) {
                    stack.push((parent, false));
                }
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> NodeRef {
        NodeRef::Model(name.to_string())
    }

    fn run(models: &[(&str, Vec<NodeRef>)], tests: &[(&str, Vec<NodeRef>)]) -> Vec<String> {
        let models: Vec<ModelReads> = models
            .iter()
            .map(|(name, reads)| ModelReads {
                model: model(name),
                reads,
            })
            .collect();
        let tests: Vec<TestReads> = tests
            .iter()
            .map(|(key, reads)| TestReads { key, reads })
            .collect();
        blocking_tests(&models, &tests)
            .into_iter()
            .map(|(node, keys)| format!("{node:?} <- {}", keys.join(",")))
            .collect()
    }

    #[test]
    fn children_wait_for_the_tests_of_what_they_read() {
        let seed = NodeRef::Seed("raw".into());
        let source = NodeRef::Source("crm".into(), "accounts".into());
        let got = run(
            &[
                ("a", vec![seed.clone(), source.clone()]),
                ("b", vec![model("a")]),
            ],
            &[
                ("unique_raw_id", vec![seed]),
                ("not_null_accounts_id", vec![source]),
                ("not_null_a_id", vec![model("a")]),
            ],
        );
        assert_eq!(
            got,
            [
                "Model(\"a\") <- not_null_accounts_id,unique_raw_id",
                "Model(\"b\") <- not_null_a_id",
            ]
        );
    }

    #[test]
    fn a_test_reading_the_dependant_is_not_waited_for() {
        // relationships test on `a` pointing at `b`, while `b` reads `a`: `b` cannot wait for
        // it (the test reads `b`'s table: a cycle); `c`, downstream of both, does.
        let got = run(
            &[
                ("a", vec![]),
                ("b", vec![model("a")]),
                ("c", vec![model("b")]),
            ],
            &[
                ("relationships_a_to_b", vec![model("a"), model("b")]),
                ("not_null_a_id", vec![model("a")]),
            ],
        );
        assert_eq!(
            got,
            [
                "Model(\"b\") <- not_null_a_id",
                "Model(\"c\") <- relationships_a_to_b",
            ]
        );
    }

    #[test]
    fn an_edge_a_parent_implies_is_left_out() {
        // `c` reads `a` and `b`, and `b` reads `a`: `c` waits for `a`'s test through `b`.
        let got = run(
            &[
                ("a", vec![]),
                ("b", vec![model("a")]),
                ("c", vec![model("a"), model("b")]),
            ],
            &[("not_null_a_id", vec![model("a")])],
        );
        assert_eq!(got, ["Model(\"b\") <- not_null_a_id"]);
    }

    #[test]
    fn a_test_of_two_branches_waits_where_they_meet() {
        // The test reads `a` and `b`, from separate branches; `d` reads both through `c1`/`c2`.
        let got = run(
            &[
                ("a", vec![]),
                ("b", vec![]),
                ("c1", vec![model("a")]),
                ("c2", vec![model("b")]),
                ("d", vec![model("c1"), model("c2")]),
            ],
            &[("relationships_a_to_b", vec![model("a"), model("b")])],
        );
        assert_eq!(got, ["Model(\"d\") <- relationships_a_to_b"]);
    }
}
