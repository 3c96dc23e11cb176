#!/bin/bash
# Runs inside the VM (bash + busybox applets), started by tests/vm/selftest.sh. Any failure exits non-zero.
set -euo pipefail

STEP=start
step() {
    STEP=$1
    read -r up _ </proc/uptime
    echo "--- [$up] $STEP"
}
ok() { echo "ok - $STEP"; }
fail() {
    echo "SELFTEST-FAIL: $STEP: $*"
    exit 1
}
on_exit() {
    local rc=$?
    [ "$rc" = 0 ] || echo "SELFTEST-FAIL at step: $STEP (exit $rc)"
}
trap on_exit EXIT

# Note: Debian's busybox wget segfaults on -T (built without FEATURE_WGET_TIMEOUT): use timeout(1).

# Retry a command up to ~5 s (daemons started in the background need a moment).
retry() {
    n=0
    until "$@"; do
        n=$((n + 1))
        [ "$n" -lt 50 ] || return 1
        sleep 0.1
    done
}

step "harness: --bin, --file, --env, --output"
[ "$(command -v gnu-seq)" = /usr/local/bin/gnu-seq ] || fail "gnu-seq not in /usr/local/bin"
[ "$(gnu-seq 3 | tr '\n' ' ')" = "1 2 3 " ] || fail "gnu-seq (dynamic, glibc) does not run"
[ "$(cat /etc/selftest/data.txt)" = "payload from the host" ] || fail "--file content"
[ "$SELFTEST_VAR" = "a value with spaces" ] || fail "--env: got '$SELFTEST_VAR'"
[ "$DIRECTOR_VM" = 1 ] || fail "DIRECTOR_VM not set"
printf 'raw output\nsecond line\n' >"$DIRECTOR_VM_OUT"
ok

step "ipvs present"
[ -e /proc/net/ip_vs ] || fail "/proc/net/ip_vs missing"
grep -q '^ip_vs ' /proc/modules || fail "ip_vs not loaded"
ok

step "ipvsadm basics"
ipvsadm -A -t 10.0.0.1:80 -s wrr
ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3
ipvsadm -Ln
saved=$(ipvsadm -Sn)
echo "$saved"
echo "$saved" | grep -qx -- '-A -t 10.0.0.1:80 -s wrr' || fail "service missing from ipvsadm -Sn"
echo "$saved" | grep -qx -- '-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3' || fail "real server missing from ipvsadm -Sn"
grep -qi '0A000001:0050 wrr' /proc/net/ip_vs || fail "service missing from /proc/net/ip_vs"
ok

step "every scheduler loads on demand"
port=1000
for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos; do
    if ! grep -q "/ip_vs_$s.ko:" "/lib/modules/$(uname -r)/modules.dep"; then
        # ip_vs_twos appeared in Linux 6.2; every other scheduler is required.
        [ "$s" = twos ] && { echo "skip - ip_vs_twos is not in kernel $(uname -r)"; continue; }
        fail "module ip_vs_$s missing"
    fi
    port=$((port + 1))
    ipvsadm -A -t "10.0.1.1:$port" -s "$s" || fail "ipvsadm -s $s"
    ipvsadm -a -t "10.0.1.1:$port" -r 10.0.1.2:80 -m -w 1 || fail "real server for -s $s"
    ipvsadm -Sn | grep -qx -- "-A -t 10.0.1.1:$port -s $s" || fail "service with -s $s not listed"
    grep -q "^ip_vs_$s " /proc/modules || fail "ip_vs_$s was not loaded"
    echo "scheduler $s: ok"
done
ipvsadm -C
[ -z "$(ipvsadm -Sn)" ] || fail "ipvsadm -C left services"
ok

step "bridge + veth + netns: httpd in one namespace, wget from another"
ip link add br0 type bridge
ip link set br0 up
for ns in web client; do
    ip netns add "$ns"
    ip link add "v-$ns" type veth peer name eth0 netns "$ns"
    ip link set "v-$ns" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
done
ip -n web addr add 192.168.50.2/24 dev eth0
ip -n client addr add 192.168.50.3/24 dev eth0
mkdir -p /srv/web
echo "hello from the web namespace" >/srv/web/index.html
ip netns exec web httpd -p 192.168.50.2:80 -h /srv/web
body=$(retry ip netns exec client timeout 2 wget -q -O - http://192.168.50.2/) || fail "wget across the bridge failed"
[ "$body" = "hello from the web namespace" ] || fail "unexpected body: $body"
# The client cannot reach the web server's port from the root namespace's view: it is isolated.
ip netns exec client ip -4 -o addr show | grep -q 192.168.50.3 || fail "client namespace address"
ok

# Director topology for the IPVS data path tests:
#   client ns (10.1.0.2) --br-cli-- root ns = director (10.1.0.1, VIPs on vip0) --br-srv-- rs1 (10.2.0.11), rs2 (10.2.0.12)
step "routed topology for IPVS"
sysctl -q -w net.ipv4.ip_forward=1
ip link add vip0 type dummy
ip link set vip0 up
ip addr add 10.1.0.100/32 dev vip0
ip addr add 10.1.0.101/32 dev vip0
for br in br-cli br-srv; do
    ip link add "$br" type bridge
    ip link set "$br" up
done
ip addr add 10.1.0.1/24 dev br-cli
ip addr add 10.2.0.1/24 dev br-srv
# Tunnel-mode replies come back through the director with the VIP as source address.
sysctl -q -w net.ipv4.conf.all.accept_local=1 net.ipv4.conf.br-srv.accept_local=1
mknet() { # ns bridge addr gateway
    ip netns add "$1"
    ip link add "v-$1" type veth peer name eth0 netns "$1"
    ip link set "v-$1" master "$2" up
    ip -n "$1" link set lo up
    ip -n "$1" link set eth0 up
    ip -n "$1" addr add "$3/24" dev eth0
    ip -n "$1" route add default via "$4"
}
mknet cli br-cli 10.1.0.2 10.1.0.1
mknet rs1 br-srv 10.2.0.11 10.2.0.1
mknet rs2 br-srv 10.2.0.12 10.2.0.1
for rs in rs1 rs2; do
    mkdir -p "/srv/$rs"
    echo "$rs" >"/srv/$rs/index.html"
    ip netns exec "$rs" httpd -p 80 -h "/srv/$rs"
done
retry ip netns exec cli timeout 2 wget -q -O /dev/null http://10.2.0.11/ || fail "routing cli -> rs1"
retry ip netns exec cli timeout 2 wget -q -O /dev/null http://10.2.0.12/ || fail "routing cli -> rs2"
ok

step "IPVS NAT (masquerading), round robin over two real servers"
ipvsadm -A -t 10.1.0.100:80 -s rr
ipvsadm -a -t 10.1.0.100:80 -r 10.2.0.11:80 -m
ipvsadm -a -t 10.1.0.100:80 -r 10.2.0.12:80 -m
seen=""
for _ in 1 2 3 4; do
    seen="$seen $(ip netns exec cli timeout 2 wget -q -O - http://10.1.0.100/)" || fail "wget through the VIP"
done
echo "answers:$seen"
[ "$seen" = " rs1 rs2 rs1 rs2" ] || [ "$seen" = " rs2 rs1 rs2 rs1" ] || fail "round robin answers:$seen"
ipvsadm -Lnc
entries=$(ipvsadm -Lnc | grep -c ' 10.1.0.100:80 ') || true
[ "$entries" = 4 ] || fail "expected 4 entries in the connection table, got $entries"
# The kernel folds the per-CPU counters into the --stats numbers every 2 s (estimator).
stats_conns() { ipvsadm -Ln --stats | awk '$1 == "TCP" && $2 == "10.1.0.100:80" { print $3 }'; }
n=0
until [ "$(stats_conns)" = 4 ]; do
    n=$((n + 1))
    [ "$n" -lt 40 ] || fail "expected 4 connections in the stats, got '$(stats_conns)'"
    sleep 0.1
done
ipvsadm -Ln --stats
ok

step "IPVS tunnel mode (ipip) to one real server"
ip netns exec rs1 ip link set tunl0 up
ip netns exec rs1 ip addr add 10.1.0.101/32 dev tunl0
ip netns exec rs1 sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0
ipvsadm -A -t 10.1.0.101:80 -s rr
ipvsadm -a -t 10.1.0.101:80 -r 10.2.0.11:80 -i
body=$(ip netns exec cli timeout 3 wget -q -O - http://10.1.0.101/) || fail "wget through the tunnel VIP"
[ "$body" = rs1 ] || fail "tunnel answer: $body"
rx=$(ip netns exec rs1 cat /sys/class/net/tunl0/statistics/rx_packets)
[ "$rx" -gt 0 ] || fail "rs1's tunl0 received no packets: the request did not come through the tunnel"
ipvsadm -Lnc
ok

step "cleanup"
ipvsadm -C
for ns in web client cli rs1 rs2; do ip netns pids "$ns" | xargs -r kill; ip netns del "$ns"; done
ok

echo "SELFTEST-OK"
