//! Runs inside the kernel VM (tests/vm/run.sh): drives a real `director` against real IPVS and checks the
//! kernel with `ipvsadm`. Each scenario ends by printing `SCENARIO <name> ok`; any mismatch panics, which
//! makes the VM exit non-zero and the host test fail with the message.

mod bench;
mod datapath;
mod export;
mod reconcile;
mod syncd;
mod util;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("reconcile") => reconcile::run().await,
        Some("datapath") => datapath::run().await,
        Some("export") => export::run().await,
        Some("syncd") => syncd::run().await,
        Some("bench") => bench::run().await,
        Some("fetch") => datapath::fetch(&args[2..]).await,
        _ => {
            eprintln!("usage: vm-guest reconcile|datapath|export|syncd|bench|fetch URL COUNT");
            std::process::exit(2);
        }
    }
}
