//! Compiles the Terraform plugin protocol with protox (a pure-Rust protobuf compiler), so a fresh
//! machine needs no `protoc`.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time: a build script binary is reused from a shared target directory by
    // checkouts at other paths (CI clones into a fresh folder), so `env!` would point at
    // whichever checkout compiled it first.
    let proto_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = ["tfplugin6.proto", "grpc_controller.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={}", proto_dir.join(file).display());
    }
    let descriptors = protox::compile(files, [&proto_dir])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
