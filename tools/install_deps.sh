#!/usr/bin/env bash
# Installs the Debian 12 packages that store_monitoring needs to build, test,
# benchmark, fuzz and demo. Idempotent: when everything is installed it only
# runs dpkg-query (no network, no output) and exits 0.
#
# Runs as root, or as a normal user through sudo. Never starts or stops a
# system service: while packages are installed, a temporary
# /usr/sbin/policy-rc.d that exits 101 tells invoke-rc.d to leave services alone
# (Debian's postgresql package would otherwise start a "main" cluster).
set -euo pipefail

packages=(
    postgresql-15
    postgresql-server-dev-15
    libpq-dev  # libpq-fe.h and -lpq: a coordinator reaches its shards (src/pg/shards/)
    postgresql-15-cron
    libhowardhinnant-date-dev
    build-essential
    g++
    make
    cmake
    libgtest-dev
    googletest
    libbenchmark-dev
    libipc-run-perl
    pgbouncer  # test/t/032_apps_pooler.pl starts its own; the system service stays off
    xz-utils
    tzdata
    clang
    libclang-rt-14-dev
    clang-tidy  # make tidy, a suite of tools/test.sh
    bear        # make compile_commands.json (for make tidy)
)
# --bench: bench/run.sh's DuckDB runner (bench/duckdb) also needs Node.js and
# npm. A machine that has them from elsewhere (another package of nodejs,
# which brings its own npm) keeps them: Debian's npm would replace that nodejs.
if [[ "${1:-}" == --bench ]] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
    packages+=(nodejs npm)
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install_deps.sh: missing packages: ${missing[*]}" >&2
    echo "install_deps.sh: not root and no sudo; install them and run again" >&2
    exit 1
fi

echo "install_deps.sh: installing ${missing[*]}" >&2

policy=/usr/sbin/policy-rc.d
created_policy=0
remove_policy() {
    if ((created_policy)); then
        "${as_root[@]}" rm -f "$policy" || true
    fi
}
trap remove_policy EXIT

if [[ ! -e "$policy" ]]; then
    # Mark it ours before creating it, so an interrupt in between still cleans up.
    created_policy=1
    printf '#!/bin/sh\n# temporary, from store_monitoring tools/install_deps.sh\nexit 101\n' |
        "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Check that apt really installed everything (a renamed package fails loudly here).
still_missing=()
for pkg in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || still_missing+=("$pkg")
done
if ((${#still_missing[@]})); then
    echo "install_deps.sh: still missing after apt-get install: ${still_missing[*]}" >&2
    exit 1
fi
# pgbouncer's package enables its system service (policy-rc.d only kept it
# from starting now): disable it, so that no boot starts a pooler nobody
# configured. The tests start their own, on loopback.
for pkg in "${missing[@]}"; do
    if [[ "$pkg" == pgbouncer ]]; then
        "${as_root[@]}" update-rc.d pgbouncer disable >/dev/null 2>&1 || true
    fi
done
echo "install_deps.sh: done" >&2
