//! Runs inside the kernel VM (tests/vm/run.sh): drives a real `director` against real IPVS and checks the
//! kernel with `ipvsadm`. Each scenario ends by printing `SCENARIO <name> ok`; any mismatch panics, which
//! makes the VM exit non-zero and the host test fail with the message.

mod bench;
mod connections;
mod connproof;
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
        Some("connections") => connections::run().await,
        Some("bench-connections") => connections::bench(&args[2..]).await,
        Some("hold-server") => connections::hold_server(&args[2..]),
        Some("hold") => connections::hold(&args[2..]),
        Some("udp-flood") => connections::udp_flood(&args[2..]),
        Some("connproof") => connproof::run().await,
        Some("bench-connproof") => connproof::bench(&args[2..]).await,
        Some("echo-server") => connproof::echo_server(&args[2..]),
        Some("conn-client") => connproof::conn_client(&args[2..]).await,
        _ => {
            eprintln!("usage: vm-guest reconcile|datapath|export|connections|syncd|bench|bench-connections [ENTRIES RUNS]|fetch URL COUNT|hold-server PORT|hold ADDR:PORT COUNT|udp-flood ADDR:PORT COUNT|connproof|bench-connproof COUNT RUNS ADVERTS_MS [INTERVAL_MS]|echo-server PORT IDENTITY|conn-client INTERVAL_MS FORWARDING=ADDR:PORT COUNT...");
            std::process::exit(2);
        }
    }
}
