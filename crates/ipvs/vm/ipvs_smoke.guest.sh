#!/usr/bin/env bash
# director-ipvs against a real IPVS kernel, inside the test VM (tests/vm/run.sh).
#
# From the repository root, as root:
#   export CARGO_TARGET_DIR=/work/target-helpers/ipvs
#   cargo build -p director-ipvs --example ipvs_smoke
#   VIPTEST=$(cargo test -p director-ipvs --test vip_netns --no-run --message-format=json 2>/dev/null |
#       sed -n 's/.*"executable":"\([^"]*vip_netns[^"]*\)".*/\1/p')
#   tests/vm/run.sh --script crates/ipvs/vm/ipvs_smoke.guest.sh \
#       --bin "$CARGO_TARGET_DIR/debug/examples/ipvs_smoke" --bin "$VIPTEST:/usr/local/bin/vip_netns"
#
# 1. ipvs_smoke writes services/destinations with IpvsClient, reads them back, and
#    prints `ipvsadm -Ln` after each step: the kernel's own tool must agree.
# 2. A table made with ipvsadm is read with IpvsClient (--dump); then FLUSH.
# 3. The VIP binder integration test runs on this (Debian) kernel too.
set -euo pipefail

fail() {
    echo "GUEST-FAIL: $*"
    exit 1
}
expect() { # expect FILE REGEX: a line of FILE matches the extended regex
    grep -Eq -- "$2" "$1" || fail "no line matching /$2/ in $1"
    echo "matched: /$2/"
}

echo "kernel $(uname -r)"

echo "=== 1. IpvsClient writes, ipvsadm reads"
IPVS_SMOKE_IPVSADM=1 ipvs_smoke | tee /tmp/smoke.txt
expect /tmp/smoke.txt '^ipvs_smoke: all checks passed$'
# As created: wrr, persistent 300 s, /24 netmask (the __be32 byte order), two destinations.
expect /tmp/smoke.txt '^ipvsadm\| TCP  10\.250\.0\.1:80 wrr persistent 300 mask 255\.255\.255\.0$'
expect /tmp/smoke.txt '^ipvsadm\|   -> 10\.250\.0\.11:8080 +Masq +1 +0 +0 *$'
expect /tmp/smoke.txt '^ipvsadm\|   -> 10\.250\.0\.12:8080 +Route +2 +0 +0 *$'
expect /tmp/smoke.txt '^ipvsadm\|   -> 10\.250\.0\.11:8080 +100 +10 +0 +0 *$'
# After SET_SERVICE (rr, no persistence) and SET_DEST (weight 5).
expect /tmp/smoke.txt '^ipvsadm\| TCP  10\.250\.0\.1:80 rr$'
expect /tmp/smoke.txt '^ipvsadm\|   -> 10\.250\.0\.11:8080 +Masq +5 +0 +0 *$'
# IPv6 prefix-length netmask, scheduler flag, fwmark v6 service, mixed-family GUE tunnel.
expect /tmp/smoke.txt '^ipvsadm\| UDP  \[2001:db8::1\]:53 mh \(mh-port\) persistent 60 mask 64$'
expect /tmp/smoke.txt '^ipvsadm\|   -> \[2001:db8::11\]:53 +Route +1 +0 +0 *$'
expect /tmp/smoke.txt '^ipvsadm\| FWM  7 IPv6 sh \(sh-fallback\)$'
expect /tmp/smoke.txt '^ipvsadm\|   -> 10\.250\.0\.21:0 +Tunnel +3 +0 +0 *$'
[[ -z $(ipvsadm -Sn) ]] || fail "ipvs_smoke left entries behind: $(ipvsadm -Sn)"

echo "=== 2. ipvsadm writes, IpvsClient reads"
ipvsadm -A -t 10.250.1.1:443 -s wlc -p 100 -M 255.255.0.0
ipvsadm -a -t 10.250.1.1:443 -r 10.250.1.11:443 -m -w 7 -x 40 -y 4
ipvsadm -a -t 10.250.1.1:443 -r 10.250.1.12:443 -g -w 0
ipvsadm -A -u [2001:db8::2]:5353 -s rr -o
ipvsadm -a -u [2001:db8::2]:5353 -r [2001:db8::21]:53 -m -w 2
ipvsadm -A --sctp-service 10.250.1.2:9 -s sh -b sh-fallback,sh-port
ipvsadm -A -f 9 -s rr
ipvsadm -a -f 9 -r 10.250.1.31:0 -i -w 1 --tun-type gue --tun-port 7000
ipvsadm -Ln
ipvs_smoke --dump --flush | tee /tmp/dump.txt
expect /tmp/dump.txt '^tcp 10\.250\.1\.1:443  wlc flags=ServiceFlags \{ persistent: true, one_packet: false, sched_flag_1: false, sched_flag_2: false, sched_flag_3: false \} timeout=100 netmask=0xffff0000 pe=None'
expect /tmp/dump.txt '^  -> 10\.250\.1\.11:443  Masq weight=7 u=40 l=4 tunnel=None'
expect /tmp/dump.txt '^  -> 10\.250\.1\.12:443  Route weight=0 u=0 l=0 tunnel=None'
expect /tmp/dump.txt '^udp \[2001:db8::2\]:5353  rr flags=ServiceFlags \{ persistent: false, one_packet: true, .*\} timeout=0 netmask=0x80 '
expect /tmp/dump.txt '^  -> \[2001:db8::21\]:53  Masq weight=2 '
expect /tmp/dump.txt '^sctp 10\.250\.1\.2:9  sh flags=ServiceFlags \{ persistent: false, one_packet: false, sched_flag_1: true, sched_flag_2: true, sched_flag_3: false \}'
expect /tmp/dump.txt '^fwmark 9 inet  rr '
expect /tmp/dump.txt '^  -> 10\.250\.1\.31:0  Tunnel weight=1 u=0 l=0 tunnel=Some\(Tunnel \{ kind: Gue, port: 7000, csum: false, remcsum: false \}\)'
expect /tmp/dump.txt '^ok: FLUSH emptied the table$'
[[ -z $(ipvsadm -Sn) ]] || fail "FLUSH left entries: $(ipvsadm -Sn)"

echo "=== 3. A large table: multi-part dumps"
{
    for i in $(seq 1 500); do
        a=10.251.$((i / 250)).$((i % 250 + 1))
        echo "-A -t $a:80 -s rr"
        for j in $(seq 1 20); do echo "-a -t $a:80 -r 10.252.$j.$((i % 250 + 1)):80 -m -w $j"; done
    done
    echo "-A -t 10.251.9.9:80 -s wrr"
    for j in $(seq 1 400); do echo "-a -t 10.251.9.9:80 -r 10.253.$((j / 250)).$((j % 250 + 1)):8080 -g -w 1"; done
} >/tmp/big.rules
ipvsadm -R </tmp/big.rules
ipvs_smoke --dump >/tmp/big.txt
services=$(grep -c '^tcp ' /tmp/big.txt) dests=$(grep -c '^  -> ' /tmp/big.txt)
kdests=$(ipvsadm -Ln | grep -c -- '-> [0-9]')
echo "IpvsClient: $services services, $dests destinations; ipvsadm: $kdests destinations"
[[ $services == 501 && $dests == 10400 && $kdests == 10400 ]] || fail "large dump mismatch"
ipvsadm -C

echo "=== 4. Counters after real traffic"
ip addr add 10.250.9.1/32 dev lo
mkdir -p /tmp/www && echo hello >/tmp/www/index.html
busybox httpd -p 80 -h /tmp/www
ipvsadm -A -t 10.250.9.1:80 -s rr
ipvsadm -a -t 10.250.9.1:80 -r 10.250.9.1:80 -g
for _ in 1 2 3; do wget -q -O /dev/null http://10.250.9.1/; done
# The kernel folds its per-CPU counters into the reported ones every 2 s (estimator).
sleep 3
ipvsadm -Ln --stats --exact | tee /tmp/stats-ipvsadm.txt
ipvs_smoke --dump | tee /tmp/stats.txt
# ipvsadm --stats --exact: Prot VIP:Port Conns InPkts OutPkts InBytes OutBytes
read -r conns inpkts outpkts inbytes outbytes < <(awk '$1 == "TCP" { print $3, $4, $5, $6, $7 }' /tmp/stats-ipvsadm.txt)
((conns == 3 && inpkts > 0)) || fail "no traffic went through IPVS: conns=$conns inpkts=$inpkts"
expect /tmp/stats.txt "^tcp 10\.250\.9\.1:80  rr .* conns=$conns inpkts=$inpkts outpkts=$outpkts inbytes=$inbytes outbytes=$outbytes$"
expect /tmp/stats.txt "^  -> 10\.250\.9\.1:80  Route weight=1 .* conns=$conns inpkts=$inpkts outpkts=$outpkts inbytes=$inbytes outbytes=$outbytes$"
ipvsadm -C

echo "=== 5. VIP binder on this kernel"
if command -v vip_netns >/dev/null; then
    vip_netns --test-threads=1
else
    echo "vip_netns not included (--bin): skipped"
fi

echo "GUEST-OK"
