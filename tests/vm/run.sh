#!/usr/bin/env bash
# Boot the cached Debian cloud kernel under qemu (TCG) with a busybox initramfs and run one script in it.
#
# Usage: tests/vm/run.sh --script FILE [options]
#   --script FILE      script run by bash inside the VM, as root, cwd /root, stdin /dev/null (required)
#   --bin PATH[:DST]   executable to include (default DST /usr/local/bin/NAME) with the libraries ldd lists
#   --file SRC:DST     copy a file or directory to DST (its full absolute path in the VM)
#   --env NAME=VALUE   environment variable for the script
#   --module NAME      extra kernel module (from the full cloud kernel tree) to load at boot
#   --no-preload       load no module at boot (they stay available to modprobe and on-demand loading)
#   --timeout SECS     kill the VM after SECS seconds (default 300); exit code 124
#   --mem MB           guest memory (default 1024)
#   --smp N            guest CPUs (default 1)
#   --log FILE         keep the serial log in FILE (default: not kept; with -q, a temporary file)
#   --output FILE      the script may write raw bytes to $DIRECTOR_VM_OUT (/dev/ttyS1): saved in FILE
#   --append ARGS      extra kernel command line arguments
#   --keep             keep the work directory (initramfs, staging tree)
#   -q, --quiet        do not copy the serial console to stdout (the log file still has it)
#
# Exit code: the script's exit code; 124 on timeout; 125 when the VM did not report one (crash, panic,
# harness error). Serial console lines of interest:
#   DIRECTOR-VM-READY uptime=<s> kernel=<version>   printed by /init just before the script starts
#   DIRECTOR-VM-EXIT=<code>                         printed by /init after the script ends
#
# Environment: DIRECTOR_VM_CACHE, DIRECTOR_VM_KERNEL (see build.sh), DIRECTOR_VM_QEMU_ARGS (extra qemu
# arguments), DIRECTOR_VM_MAX_PARALLEL (VMs running at once per cache, default nproc; others wait).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
die() {
    echo "director-vm: error: $*" >&2
    exit 125
}

SCRIPT="" TIMEOUT=300 MEM=1024 SMP=1 LOG="" OUTPUT="" APPEND="" KEEP=0 QUIET=0 PRELOAD=1
BINS=() FILES=() ENVS=() MODULES=()
while (($#)); do
    case $1 in
        --script) SCRIPT=${2:?--script needs a file}; shift ;;
        --bin) BINS+=("${2:?--bin needs a path}"); shift ;;
        --file) FILES+=("${2:?--file needs SRC:DST}"); shift ;;
        --env) ENVS+=("${2:?--env needs NAME=VALUE}"); shift ;;
        --module) MODULES+=("${2:?--module needs a name}"); shift ;;
        --no-preload) PRELOAD=0 ;;
        --timeout) TIMEOUT=${2:?}; shift ;;
        --mem) MEM=${2:?}; shift ;;
        --smp) SMP=${2:?}; shift ;;
        --log) LOG=${2:?}; shift ;;
        --output) OUTPUT=${2:?}; shift ;;
        --append) APPEND=${2:?}; shift ;;
        --keep) KEEP=1 ;;
        -q | --quiet) QUIET=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
[[ -n $SCRIPT ]] || { usage >&2; die "--script is required"; }
[[ -f $SCRIPT ]] || die "no such script: $SCRIPT"
[[ $TIMEOUT =~ ^[0-9]+$ && $MEM =~ ^[0-9]+$ && $SMP =~ ^[0-9]+$ ]] || die "--timeout/--mem/--smp take numbers"

KDIR=$("$HERE/build.sh" | tail -n1) || die "build.sh failed"
KVER=$(cat "$KDIR/kver")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/director-vm.XXXXXX")
PIPELINE=""
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    # Stop qemu if it still runs (TERM/INT, or an error in this script), then let the pipeline end.
    if [[ -n $PIPELINE ]] && kill -0 "$PIPELINE" 2>/dev/null; then
        local pid="" _
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            pid=$(cat "$WORK/qemu.pid" 2>/dev/null) && [[ -n $pid ]] && break
            sleep 0.2
        done
        [[ -z $pid ]] || kill "$pid" 2>/dev/null || true
        wait "$PIPELINE" 2>/dev/null || true
    fi
    if ((KEEP)); then
        echo "director-vm: work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

ROOT=$WORK/root

# Paths in the VM follow Debian's merged /usr: /bin, /sbin, /lib, /lib64 are symlinks into /usr.
vm_path() {
    local p=$1
    case $p in
        /bin/* | /sbin/* | /lib/* | /lib64/*) p=/usr$p ;;
    esac
    echo "$p"
}

# Copy a file (dereferenced) to a path in the VM.
put() {
    local src=$1 dst
    dst=$ROOT$(vm_path "$2")
    mkdir -p "$(dirname "$dst")"
    cp -L --remove-destination "$src" "$dst"
}

# Copy an executable and every shared library (and the loader) ldd lists for it.
put_exe() {
    local src=$1 dst=$2 lib
    [[ -f $src && -x $src ]] || die "not an executable file: $src"
    put "$src" "$dst"
    chmod 0755 "$ROOT$(vm_path "$dst")"
    # ldd fails on static binaries ("not a dynamic executable"): nothing to add then.
    while read -r lib; do
        [[ -e $ROOT$(vm_path "$lib") ]] || put "$lib" "$lib"
    done < <(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

build_root() {
    mkdir -p "$ROOT"/usr/{bin,sbin,lib,lib64,local/bin,local/sbin} \
        "$ROOT"/{proc,sys,dev,tmp,run,root,etc,vm,mnt,var}
    ln -s usr/bin "$ROOT/bin"
    ln -s usr/sbin "$ROOT/sbin"
    ln -s usr/lib "$ROOT/lib"
    ln -s usr/lib64 "$ROOT/lib64"
    ln -s ../run "$ROOT/var/run"
    chmod 1777 "$ROOT/tmp"

    # busybox provides the userland; the real ip (netns, full feature set) and ipvsadm are added.
    # /init creates the applet links (busybox --install): cheaper in the guest than ~270 ln here.
    # Debian's busybox-static shell runs its own applets before searching PATH (`ip` would always be
    # busybox's), so /bin/sh and the scripts use the host's bash, which searches PATH as usual.
    cp /bin/busybox "$ROOT/usr/bin/busybox"
    put_exe "$(command -v bash)" /usr/bin/bash
    ln -s bash "$ROOT/usr/bin/sh"
    # The kernel runs /sbin/modprobe to load modules on demand (IPVS schedulers...).
    ln -s ../bin/busybox "$ROOT/usr/sbin/modprobe"
    put_exe "$(command -v ipvsadm || echo /usr/sbin/ipvsadm)" /usr/sbin/ipvsadm
    local tool
    for tool in ip bridge ss; do
        put_exe "$(command -v "$tool" || echo "/usr/sbin/$tool")" "/usr/sbin/$tool"
    done

    # Kernel modules.
    cp -a "$KDIR/modroot/usr/lib/modules" "$ROOT/usr/lib/"
    local boot_modules=()
    ((PRELOAD)) && mapfile -t boot_modules <"$KDIR/boot-modules.txt"
    : >"$ROOT/etc/vm-modules"
    ((${#boot_modules[@]} == 0)) || printf '%s\n' "${boot_modules[@]}" >"$ROOT/etc/vm-modules"
    # Extra modules: copied with their dependencies and loaded with insmod, in order.
    : >"$ROOT/etc/vm-insmod"
    local m ko
    for m in ${MODULES[@]+"${MODULES[@]}"}; do
        local deps
        deps=$(modprobe -d "$KDIR/full" -S "$KVER" --show-depends --ignore-install "$m" 2>/dev/null |
            awk '$1 == "insmod" { print $2 }') || true
        [[ -n $deps ]] || grep -q "/$m.ko\$" "$KDIR/full/lib/modules/$KVER/modules.builtin" ||
            die "module $m not found in $KVER"
        for ko in $deps; do
            local rel=${ko#"$KDIR/full/lib/modules/$KVER/"}
            grep -qxF "$rel" "$ROOT/etc/vm-insmod" && continue
            [[ -e $ROOT/usr/lib/modules/$KVER/$rel ]] || put "$ko" "/usr/lib/modules/$KVER/$rel"
            echo "$rel" >>"$ROOT/etc/vm-insmod"
        done
    done

    # Minimal /etc so that glibc programs resolve users and localhost.
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ROOT/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
    printf '127.0.0.1 localhost director-vm\n::1 localhost ip6-localhost\n' >"$ROOT/etc/hosts"
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\nservices: files\nprotocols: files\n' \
        >"$ROOT/etc/nsswitch.conf"
    [[ -f /etc/services ]] && cp /etc/services "$ROOT/etc/services"
    [[ -f /etc/protocols ]] && cp /etc/protocols "$ROOT/etc/protocols"
    echo director-vm >"$ROOT/etc/hostname"

    # What the test brings.
    local spec src dst name
    for spec in ${BINS[@]+"${BINS[@]}"}; do
        src=${spec%%:*}
        name=$(basename "$src")
        dst=/usr/local/bin/$name
        [[ $spec == *:* ]] && dst=${spec#*:}
        put_exe "$src" "$dst"
    done
    for spec in ${FILES[@]+"${FILES[@]}"}; do
        [[ $spec == *:/* ]] || die "--file wants SRC:/absolute/DST, got $spec"
        src=${spec%%:*}
        dst=$(vm_path "${spec#*:}")
        [[ -e $src ]] || die "no such file: $src"
        mkdir -p "$(dirname "$ROOT$dst")"
        cp -rL "$src" "$ROOT$dst"
    done
    cp "$SCRIPT" "$ROOT/vm/script.sh"
    {
        local e
        for e in ${ENVS[@]+"${ENVS[@]}"}; do
            [[ $e == *=* && ${e%%=*} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "--env wants NAME=VALUE, got $e"
            printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
        done
        [[ -z $OUTPUT ]] || echo "export DIRECTOR_VM_OUT=/dev/ttyS1"
    } >"$ROOT/vm/env"

    cp "$HERE/init" "$ROOT/init"
    chmod 0755 "$ROOT/init"
    # The kernel opens /dev/console for /init before devtmpfs is mounted (init also copes without it).
    mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
    mknod -m 666 "$ROOT/dev/null" c 1 3 2>/dev/null || true
}

t0=$(date +%s.%N)
build_root
(cd "$ROOT" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --quiet --owner=0:0) >"$WORK/initrd.cpio"
t1=$(date +%s.%N)

# Without --log the console is only streamed; with -q and no --log it is kept in a temporary file.
if [[ -z $LOG ]]; then
    if ((QUIET)); then LOG=$(mktemp "${TMPDIR:-/tmp}/director-vm-log.XXXXXX"); else LOG=$WORK/console.log; fi
fi
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail and panic the boot
# ("IO-APIC + timer doesn't work"); the check is for broken chipsets, not for qemu.
# shellcheck disable=SC2054  # the commas belong to qemu option values
qemu_args=(
    -nodefaults -no-user-config -nographic -no-reboot
    -machine pc,accel=tcg -cpu max -smp "$SMP" -m "$MEM"
    -kernel "$KDIR/vmlinuz" -initrd "$WORK/initrd.cpio"
    -append "console=ttyS0 quiet panic=-1 no_timer_check $APPEND"
    -chardev stdio,id=con0,signal=off -serial chardev:con0
    -pidfile "$WORK/qemu.pid"
    # No SeaBIOS screen output on the serial console.
    -fw_cfg name=etc/sercon-port,string=0
)
if [[ -n $OUTPUT ]]; then
    mkdir -p "$(dirname "$OUTPUT")"
    qemu_args+=(-chardev "file,id=out0,path=$OUTPUT" -serial chardev:out0)
fi
# shellcheck disable=SC2206  # word splitting wanted: extra arguments from the environment
[[ -z ${DIRECTOR_VM_QEMU_ARGS:-} ]] || qemu_args+=(${DIRECTOR_VM_QEMU_ARGS})

# TCG is CPU-bound: parallel test runs take one of DIRECTOR_VM_MAX_PARALLEL slots (an flock each).
acquire_slot() {
    local n=${DIRECTOR_VM_MAX_PARALLEL:-$(nproc)} i dir
    dir=$(dirname "$KDIR")
    for ((i = 0; i < n; i++)); do
        exec {SLOT_FD}>"$dir/.slot.$i"
        flock -n "$SLOT_FD" && return
        exec {SLOT_FD}>&-
    done
    echo "director-vm: waiting for one of $n VM slots" >&2
    exec {SLOT_FD}>"$dir/.slot.$((RANDOM % n))"
    flock "$SLOT_FD"
}
acquire_slot
tq=$(date +%s.%N)

# qemu writes the serial console to a pipe: tee keeps a log and (unless -q) streams it to stdout.
# qemu runs in the background so that a TERM/INT sent to this script still stops it (see cleanup).
run_qemu() {
    local rc=0
    timeout -k 5 "$TIMEOUT" qemu-system-x86_64 "${qemu_args[@]}" </dev/null 2>"$WORK/qemu.err" || rc=$?
    echo "$rc" >"$WORK/qemu.rc"
}
if ((QUIET)); then
    run_qemu | tee -a "$LOG" >/dev/null &
else
    run_qemu | tee -a "$LOG" &
fi
PIPELINE=$!
wait "$PIPELINE" || true
PIPELINE=""
t2=$(date +%s.%N)

qemu_rc=$(cat "$WORK/qemu.rc" 2>/dev/null || echo 125)
# qemu's own messages, without the harmless warning about the sercon-port fw_cfg name.
grep -v 'etc/sercon-port' "$WORK/qemu.err" >&2 || true
clean_log=$(tr -d '\r' <"$LOG")
code=$(grep -a -o '^DIRECTOR-VM-EXIT=[0-9]*' <<<"$clean_log" | tail -n1 | cut -d= -f2) || true
ready=$(grep -a -o 'DIRECTOR-VM-READY uptime=[0-9.]*' <<<"$clean_log" | tail -n1 | sed 's/.*uptime=//') || true
summary=$(awk -v a="$t0" -v b="$t1" -v q="$tq" -v c="$t2" -v size="$(du -h "$WORK/initrd.cpio" | cut -f1)" \
    -v ready="${ready:-?}" -v kver="$KVER" -v logfile="$( [[ $LOG == "$WORK"/* ]] && echo "not kept (use --log)" || echo "$LOG")" \
    'BEGIN { printf "initramfs %.1fs (%s), boot to script %ss, qemu total %.1fs, kernel %s, log %s", b - a, size, ready, c - q, kver, logfile }')

if [[ $qemu_rc == 124 || $qemu_rc == 137 ]]; then
    echo "director-vm: TIMEOUT after ${TIMEOUT}s; $summary" >&2
    exit 124
fi
if grep -q '^DIRECTOR-VM-INIT-ERROR' <<<"$clean_log"; then
    echo "director-vm: the VM's /init failed: $(grep -a '^DIRECTOR-VM-INIT-ERROR' <<<"$clean_log" | head -n1); $summary" >&2
    exit 125
fi
if [[ -z $code ]]; then
    echo "director-vm: the VM ended without reporting an exit code (qemu exit $qemu_rc); $summary" >&2
    exit 125
fi
((QUIET)) || echo >&2
echo "director-vm: script exit $code; $summary" >&2
exit "$code"
