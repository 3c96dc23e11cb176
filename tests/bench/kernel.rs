//! Kernel benchmark (not a test): inside the VM, 1,000 services x 10 destinations programmed by director
//! versus `ipvsadm-restore`, a no-op pass, and a single weight change. Prints the guest's figures.
//! With `--connections ENTRIES [--runs N]`: the connection table instead, a page of the API versus
//! `ipvsadm -Lnc` with ENTRIES entries (default 20,000; 3 runs).
//!
//! cargo build --release -p director -p director-tests && target/release/bench-kernel
//! cargo build --release -p director -p director-tests && target/release/bench-kernel --connections 20000

use std::process::Command;

fn main() {
    let exe = std::env::current_exe().expect("exe");
    let dir = exe.parent().expect("target dir");
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter().position(|a| a == name).map(|i| {
            match args.get(i + 1).and_then(|v| v.parse::<usize>().ok()) {
                Some(v) => v,
                None => usage(),
            }
        })
    };
    if args
        .iter()
        .any(|a| a.starts_with("--") && a != "--connections" && a != "--runs")
    {
        usage();
    }
    let scenario = match flag("--connections") {
        Some(entries) => format!(
            "bench-connections {entries} {}",
            flag("--runs").unwrap_or(3)
        ),
        None => "bench".to_string(),
    };
    let script = std::env::temp_dir().join("director-bench-kernel.sh");
    std::fs::write(&script, format!("#!/bin/bash\nset -e\nexport DIRECTOR_BIN=/usr/local/bin/director\nexec /usr/local/bin/vm-guest {scenario}\n"))
        .expect("script");
    let out = Command::new(root.join("tests/vm/run.sh"))
        .arg("--bin")
        .arg(dir.join("director"))
        .arg("--bin")
        .arg(dir.join("vm-guest"))
        // Debian's ipvsadm-restore (a script around `ipvsadm -R`), the tool director is compared with.
        .args([
            "--file",
            "/usr/sbin/ipvsadm-restore:/usr/sbin/ipvsadm-restore",
        ])
        .arg("--script")
        .arg(&script)
        .args(["--timeout", "1200", "--mem", "2048", "--smp", "2"])
        .output()
        .expect("tests/vm/run.sh");
    let console = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    for line in console.lines().filter(|l| l.starts_with("BENCH")) {
        println!("{line}");
    }
    if !out.status.success() {
        eprintln!("{console}\n{}", String::from_utf8_lossy(&out.stderr));
        std::process::exit(1);
    }
}

fn usage() -> ! {
    eprintln!("usage: bench-kernel [--connections ENTRIES [--runs N]]");
    std::process::exit(2)
}
