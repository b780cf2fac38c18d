//! Kill points for the fault-injection tests: `MDW_FAULT_POINT=<name>` makes the process abort
//! the first time an engine reaches the point of that name, the way a killed provider or a lost
//! machine stops — between two catalog writes, with nothing cleaned up. The tests then check
//! that the old data is readable and that the next apply converges.
//!
//! A point can also fail instead (`fails`): the call returns an error as if the catalog's answer
//! had been lost after it committed — a remote catalog's timeout, a dropped connection.
//!
//! Unset (always, outside those tests) a point costs one atomic load.

use std::sync::OnceLock;

const VARIABLE: &str = "MDW_FAULT_POINT";

fn armed() -> Option<&'static str> {
    static POINT: OnceLock<Option<String>> = OnceLock::new();
    POINT
        .get_or_init(|| std::env::var(VARIABLE).ok().filter(|p| !p.is_empty()))
        .as_deref()
}

/// Aborts the process when `name` is the armed kill point.
pub fn point(name: &str) {
    if armed() == Some(name) {
        eprintln!("{VARIABLE}={name}: aborting here (fault injection)");
        std::process::abort();
    }
}

/// True when `name` is the armed point: the caller then fails as if the answer to a write it
/// made had been lost (the write itself stands).
pub fn fails(name: &str) -> bool {
    let armed = armed() == Some(name);
    if armed {
        eprintln!("{VARIABLE}={name}: failing here (fault injection)");
    }
    armed
}
