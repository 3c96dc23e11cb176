# Sourced by the script the `readme` suite makes of README.md, inside the kernel VM (tests/vm). Each shell
# block of the README keeps its line numbers in that script, so a failure names the README's line.
#
# What it adds around the README's own commands (nothing else changes them):
# - the node is `lvs-01` (host name), with veth interfaces eth0 (10.0.0.1/24, 10.0.0.2/24 for the TLS and
#   peer-sync sections) and eth1 (sync traffic);
# - `director serve` runs in the background until the end of its block (a node runs one daemon: the one
#   before it stops first), and the first one (the README's opening command) serves again after every block
#   that started or stopped another;
# - every curl, directorctl, grpcurl and director call that fails stops the run, naming its README line
#   (curl with --fail-with-body: an HTTP error is a failure); the output of each is kept for the `# ->`
#   lines, which the suite compares with the README;
# - `deploy-the-backend` and `patch-the-host` are the operator's own steps: they print their name;
# - grpcurl's `Watch` is a stream a person stops with Ctrl-C: here it is stopped after 5 s (busybox's timeout
#   then exits 143, GNU's 124: both are the expected end).
set -eE -o pipefail
export PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin

readme_fail() { # LINE MESSAGE
    echo "README-FAILED README.md:$1: $2"
    if [ -s /tmp/readme-serve.log ]; then
        echo "--- the daemon's log (last 30 lines)"
        tail -n 30 /tmp/readme-serve.log
    fi
    exit 1
}
trap 'readme_fail "$LINENO" "a command failed (exit $?)"' ERR

hostname lvs-01
ip link add eth0 type veth peer name eth0-peer
ip link add eth1 type veth peer name eth1-peer
for l in eth0 eth0-peer eth1 eth1-peer; do ip link set "$l" up; done
ip addr add 10.0.0.1/24 dev eth0
ip addr add 10.0.0.2/24 dev eth0
mkdir -p /root/readme /tmp/readme-out
cd /root/readme

# The output of the last call, for a `# ->` line.
readme_keep() { # LINE EXIT
    if [ "$2" != 0 ]; then
        readme_fail "$1" "exit $2"
    fi
}
readme_call() { # LINE PROGRAM ARGS...
    local line=$1 rc=0
    shift
    "$@" >/tmp/readme-last.tmp || rc=$?
    mv /tmp/readme-last.tmp /tmp/readme-last
    cat /tmp/readme-last
    [ -z "$(tail -c 1 /tmp/readme-last)" ] || echo >&2
    readme_keep "$line" "$rc"
}
curl() { readme_call "${BASH_LINENO[0]}" command curl --fail-with-body "$@"; }
directorctl() { readme_call "${BASH_LINENO[0]}" command directorctl "$@"; }
grpcurl() {
    local line=${BASH_LINENO[0]} rc=0
    case " $* " in
    */Watch\ *)
        timeout 5 grpcurl "$@" >/tmp/readme-last || rc=$?
        cat /tmp/readme-last
        [ "$rc" = 124 ] || [ "$rc" = 143 ] || readme_keep "$line" "$rc"
        ;;
    *) readme_call "$line" command grpcurl "$@" ;;
    esac
}
readme_expect() { # LINE: the output the README shows after the call before it
    cp /tmp/readme-last "/tmp/readme-out/$1"
}
deploy-the-backend() { echo "(deploy-the-backend: the operator's own step)"; }
patch-the-host() { echo "(patch-the-host: the operator's own step)"; }

# Daemons.
READ_PID=
READ_ARGS=()
READ_BASE=()
READ_BASE_SET=
readme_stop_daemon() {
    if [ -n "$READ_PID" ]; then
        kill "$READ_PID" 2>/dev/null || true
        wait "$READ_PID" 2>/dev/null || true
        READ_PID=
    fi
}
readme_start_daemon() { # LINE ARGS... (after `serve`)
    local line=$1 http=127.0.0.1:8080 scheme=http prev= a i
    shift
    readme_stop_daemon
    for a in "$@"; do
        [ "$prev" = --http-listen ] && http=$a
        case $a in
        --http-listen=*) http=${a#*=} ;;
        --tls-cert | --tls-cert=*) scheme=https ;;
        esac
        prev=$a
    done
    echo "--- director serve $* (README.md:$line)" >>/tmp/readme-serve.log
    command director serve "$@" >>/tmp/readme-serve.log 2>&1 &
    READ_PID=$!
    READ_ARGS=("$@")
    if [ -z "$READ_BASE_SET" ]; then
        READ_BASE=("$@")
        READ_BASE_SET=1
    fi
    for i in $(seq 600); do
        kill -0 "$READ_PID" 2>/dev/null || readme_fail "$line" "director serve exited"
        if command curl -sk -o /dev/null "$scheme://$http/healthz"; then
            return 0
        fi
        sleep 0.1
    done
    readme_fail "$line" "director serve did not answer on $scheme://$http/healthz within 60 s"
}
director() {
    local line=${BASH_LINENO[0]}
    if [ "${1:-}" = serve ]; then
        shift
        readme_start_daemon "$line" "$@"
    else
        command director "$@" || readme_fail "$line" "director $1 failed"
    fi
}

# Blocks.
readme_block_start() { # LINE [stopped]
    echo "README-BLOCK $1"
    if [ "${2:-}" = stopped ]; then
        readme_stop_daemon
    fi
}
readme_block_end() { # LINE
    if [ -n "$READ_BASE_SET" ] && { [ -z "$READ_PID" ] || [ "${READ_ARGS[*]}" != "${READ_BASE[*]}" ]; }; then
        readme_start_daemon "$1" "${READ_BASE[@]}"
    fi
}
readme_done() {
    local f
    for f in /tmp/readme-out/*; do
        [ -e "$f" ] || continue
        echo "README-OUTPUT ${f##*/} $(tr '\n' ' ' <"$f")"
    done
    readme_stop_daemon
    echo "README-DONE"
}
