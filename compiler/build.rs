//! Rebuilds this package when the checkout moves. Its tests find fixtures through
//! `env!("CARGO_MANIFEST_DIR")` (insta does too), which is fixed at compile time; CI clones into
//! a fresh folder but reuses ~/.cache/mdw-target, whose test binaries would otherwise keep the
//! paths of whichever checkout built them.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    // An absolute path: from another checkout it does not exist, which makes cargo rerun this.
    println!("cargo:rerun-if-changed={dir}/Cargo.toml");
    println!("cargo:rustc-env=MDW_CHECKOUT_DIR={dir}");
}
