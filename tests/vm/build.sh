#!/usr/bin/env bash
# Prepare (once) everything the IPVS test VM needs and cache it:
#   - host prerequisites (qemu, busybox-static, ipvsadm, iproute2, cpio, kmod),
#   - the newest Debian 12 cloud kernel (vmlinuz + its full module tree, depmod'ed),
#   - a small module tree with just what the VM loads (IPVS, conntrack, veth, bridge, tunnels...).
#
# Usage: tests/vm/build.sh [--refresh]
#   --refresh   re-resolve the newest kernel package even if a kernel is already cached.
# Environment:
#   DIRECTOR_VM_CACHE   cache directory (default /var/cache/director-vm)
#   DIRECTOR_VM_KERNEL  pin a kernel package (e.g. linux-image-6.1.0-56-cloud-amd64)
#
# Prints the cached kernel directory on the last line of stdout. Idempotent and fast when cached.
set -euo pipefail

CACHE=${DIRECTOR_VM_CACHE:-/var/cache/director-vm}
REFRESH=0
while (($#)); do
    case $1 in
        --refresh) REFRESH=1 ;;
        -h | --help)
            sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "build.sh: unknown argument: $1" >&2
            exit 2
            ;;
    esac
    shift
done

# Modules the VM must contain (their dependencies are added automatically).
# ip_vs_twos exists only from Linux 6.2 on: it is optional.
REQUIRED_MODULES=(
    ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
    ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_ftp
    nf_conntrack nf_nat veth bridge ipip ip_tunnel tunnel4 ip6_tunnel dummy macvlan
)
OPTIONAL_MODULES=(ip_vs_twos ip_vs_pe_sip)
# Modules /init loads at boot (everything else is loaded on demand by the kernel through
# /sbin/modprobe, e.g. the IPVS schedulers when a service first uses them).
BOOT_MODULES=(ip_vs nf_conntrack veth bridge ipip dummy)

log() { echo "director-vm: $*" >&2; }
die() {
    echo "director-vm: error: $*" >&2
    exit 1
}

apt_updated=0
apt_update_once() {
    if ((apt_updated == 0)); then
        log "apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed"
        apt_updated=1
    fi
}

ensure_prereqs() {
    local missing=() cmd pkg
    local -A pkg_of=(
        [qemu-system-x86_64]=qemu-system-x86 [ipvsadm]=ipvsadm [ip]=iproute2
        [cpio]=cpio [depmod]=kmod [modprobe]=kmod [ldd]=libc-bin
        [apt-get]=apt [dpkg]=dpkg [flock]=util-linux [timeout]=coreutils
    )
    for cmd in "${!pkg_of[@]}"; do
        command -v "$cmd" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null 2>&1 ||
            missing+=("${pkg_of[$cmd]}")
    done
    # busybox must be the static build: it is the only userland of the VM.
    if ! [[ -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
        missing+=(busybox-static)
    fi
    ((${#missing[@]})) || return 0
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    [[ $(id -u) == 0 ]] || die "missing packages (install them as root): ${missing[*]}"
    log "installing: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
        apt_update_once
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
            die "apt-get install ${missing[*]} failed"
    fi
}

# Newest Debian 12 cloud kernel package, e.g. linux-image-6.1.0-56-cloud-amd64.
resolve_kernel_pkg() {
    if [[ -n ${DIRECTOR_VM_KERNEL:-} ]]; then
        echo "$DIRECTOR_VM_KERNEL"
        return
    fi
    local pkg try
    for try in 1 2; do
        # The meta package points at the current ABI; fall back to the highest ABI listed.
        pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9.]+-[0-9]+-cloud-amd64$/ { print $2 }' |
            sort -V | tail -n1)
        if [[ -z $pkg ]]; then
            pkg=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-cloud-amd64$' 2>/dev/null |
                awk '{ print $1 }' | sort -V | tail -n1)
        fi
        if [[ -n $pkg ]]; then
            echo "$pkg"
            return
        fi
        ((try == 1)) && apt_update_once
    done
    die "no linux-image-*-cloud-amd64 package found (check /etc/apt/sources.list*: bookworm main is needed)"
}

# Prints the .ko paths (relative to the module dir) needed to load $1, dependencies first.
module_closure() {
    local base=$1 kver=$2 mod=$3
    modprobe -d "$base" -S "$kver" --show-depends --ignore-install "$mod" 2>/dev/null |
        awk '$1 == "insmod" { print $2 }' | sed "s|^$base/lib/modules/$kver/||"
}

build_kernel() {
    local pkg=$1 work kver deb
    mkdir -p "$CACHE/debs"
    work=$(mktemp -d "$CACHE/.build.XXXXXX")
    # shellcheck disable=SC2064  # expand now: $work is local
    trap "rm -rf '$work'" RETURN

    deb=$(find "$CACHE/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n1)
    if [[ -z $deb ]]; then
        log "downloading $pkg"
        (cd "$CACHE/debs" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2) ||
            { apt_update_once && (cd "$CACHE/debs" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2); } ||
            die "apt-get download $pkg failed"
        deb=$(find "$CACHE/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n1)
    fi
    log "extracting $(basename "$deb")"
    dpkg -x "$deb" "$work/root"
    kver=$(basename "$(find "$work/root/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")
    [[ -n $kver ]] || die "no module directory in $deb"

    local out=$work/out
    mkdir -p "$out/full/lib/modules" "$out/modroot/usr/lib/modules/$kver"
    mv "$work/root/lib/modules/$kver" "$out/full/lib/modules/$kver"
    cp "$work/root/boot/vmlinuz-$kver" "$out/vmlinuz"
    cp "$work/root/boot/config-$kver" "$out/config"
    depmod -b "$out/full" "$kver"

    # The VM's module tree: the closure of the modules above.
    local -a kos=() missing=()
    local m ko
    for m in "${REQUIRED_MODULES[@]}" "${OPTIONAL_MODULES[@]}"; do
        mapfile -t deps < <(module_closure "$out/full" "$kver" "$m")
        if ((${#deps[@]} == 0)); then
            # Built into the kernel is fine; absent is fatal only for required modules.
            grep -q "/$m.ko\$" "$out/full/lib/modules/$kver/modules.builtin" && continue
            [[ " ${OPTIONAL_MODULES[*]} " == *" $m "* ]] && { log "optional module $m not in $kver"; continue; }
            missing+=("$m")
        fi
        kos+=("${deps[@]}")
    done
    ((${#missing[@]} == 0)) || die "modules missing from $kver: ${missing[*]}"
    mapfile -t kos < <(printf '%s\n' "${kos[@]}" | sort -u)
    for ko in "${kos[@]}"; do
        mkdir -p "$out/modroot/usr/lib/modules/$kver/$(dirname "$ko")"
        cp "$out/full/lib/modules/$kver/$ko" "$out/modroot/usr/lib/modules/$kver/$ko"
    done
    cp "$out/full/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$out/modroot/usr/lib/modules/$kver/"
    depmod -b "$out/modroot/usr" "$kver"
    printf '%s\n' "${kos[@]}" | sed 's|.*/||; s|\.ko$||' | sort >"$out/modules.txt"
    printf '%s\n' "${BOOT_MODULES[@]}" >"$out/boot-modules.txt"
    echo "$pkg $(basename "$deb")" >"$out/package.txt"
    echo "$kver" >"$out/kver"

    rm -rf "${CACHE:?}/$kver"
    mv "$out" "$CACHE/$kver"
    log "kernel $kver ready in $CACHE/$kver ($(wc -l <"$CACHE/$kver/modules.txt") modules)"
}

main() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    ensure_prereqs
    if ((REFRESH == 0)) && [[ -z ${DIRECTOR_VM_KERNEL:-} && -f $CACHE/current/kver && -f $CACHE/current/vmlinuz ]]; then
        readlink -f "$CACHE/current"
        return
    fi
    local pkg kver
    pkg=$(resolve_kernel_pkg)
    kver=${pkg#linux-image-}
    [[ -f $CACHE/$kver/kver ]] || build_kernel "$pkg"
    # A pinned kernel (DIRECTOR_VM_KERNEL) does not become the default one.
    [[ -n ${DIRECTOR_VM_KERNEL:-} ]] || ln -sfn "$kver" "$CACHE/current"
    echo "$CACHE/$kver"
}

main
