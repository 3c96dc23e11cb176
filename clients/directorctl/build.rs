//! Compiles the client side of the gRPC contract (`proto/director/v1/*.proto`) with protox (no `protoc`), and
//! keeps the encoded descriptor set, which the JSON and YAML conversions are driven by.

use prost::Message;
use std::path::PathBuf;

const PROTOS: [&str; 3] = [
    "director/v1/model.proto",
    "director/v1/audit.proto",
    "director/v1/director.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }
    let fds = protox::compile(PROTOS, [&root])?;
    std::fs::write(out.join("director_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds(fds)?;
    Ok(())
}
