//! Compiles the gRPC contract (`proto/director/v1/*.proto`) into Rust with protox, a protobuf compiler written
//! in Rust, so that a build needs no `protoc`. Writes the encoded file descriptor set next to the generated
//! code for the reflection service.

use prost::Message;
use std::path::PathBuf;

const PROTOS: [&str; 4] = [
    "director/v1/model.proto",
    "director/v1/audit.proto",
    "director/v1/director.proto",
    "director/v1/sync.proto",
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
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
