# scripts/bootstrap.sh - sourced by ./bench and tests/run (POSIX sh).
#
# Installs the Debian packages the project needs (once; via sudo when not
# root), configures the meson build in build/ on first use and rebuilds it
# with ninja, which does nothing when no source changed.

# Packages to build and run bench (python3 runs HumanEval programs in the sandbox).
BENCH_PKGS_RUN="meson ninja-build pkg-config gcc libc6-dev libcurl4-openssl-dev libcjson-dev
libhdf5-dev libcunit1-dev libevent-dev libcsv-dev zlib1g-dev gnuplot-nox ca-certificates
python3"
# Further packages the test suite needs (h5py layout checks, mock-llm via npm;
# clang and its runtimes for the libFuzzer targets of fuzz/; openssl makes
# the self-signed certificate of tests/test_tls_secrets.c).
BENCH_PKGS_TEST="python3 python3-h5py python3-numpy hdf5-tools chromium clang libclang-rt-14-dev
openssl"

bench_say() { printf 'bench: %s\n' "$*" >&2; }

# Print the packages of the given list that are not installed.
bench_missing_pkgs() {
    for p in $*; do
        s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$s" in *"install ok installed"*) ;; *) printf '%s ' "$p" ;; esac
    done
}

# bench_install_pkgs LIST: install what is missing of LIST.
bench_install_pkgs() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        bench_say "this is not a Debian-based system; install the equivalents of: $*"
        return 1
    fi
    missing=$(bench_missing_pkgs "$@")
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        bench_say "missing packages: $missing"
        bench_say "install them as root: apt-get install -y $missing"
        return 1
    fi
    bench_say "installing missing packages: $missing"
    log=$(mktemp)
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >"$log" 2>&1; then
        # A fresh machine may have no package lists yet.
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -q >>"$log" 2>&1 || true
        # shellcheck disable=SC2086
        if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >>"$log" 2>&1; then
            tail -n 20 "$log" >&2
            bench_say "apt-get could not install: $missing (log above)"
            rm -f "$log"
            return 1
        fi
    fi
    rm -f "$log"
}

# bench_build ROOT BUILDDIR [meson setup args...]: configure once, then ninja.
bench_build() {
    root=$1
    dir=$2
    shift 2
    mkdir -p "$root/$dir"
    (
        # One build at a time per build directory.
        if command -v flock >/dev/null 2>&1; then
            flock 9
        fi
        if [ ! -f "$root/$dir/build.ninja" ]; then
            if ! meson setup "$root/$dir" "$root" "$@" >"$root/$dir/.setup.log" 2>&1; then
                cat "$root/$dir/.setup.log" >&2
                bench_say "meson setup failed (log above)"
                exit 1
            fi
        fi
        if ! ninja -C "$root/$dir" >"$root/$dir/.ninja.log" 2>&1; then
            cat "$root/$dir/.ninja.log" >&2
            bench_say "build failed (log above)"
            exit 1
        fi
    ) 9>"$root/$dir/.lock"
}
