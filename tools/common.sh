# Shared helpers for tools/*.sh, demo/run.sh and bench/run.sh (sourced).
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BIN=$("$PG_CONFIG" --bindir)  # the server of PG_CONFIG (a private build too)
export PG_CONFIG

section() { printf '\n=== %s ===\n' "$*"; }

# Root installs directly; a normal user goes through sudo.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# PostgreSQL refuses to run as root: as root, run server tools as "postgres".
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A port for a cluster that listens only on a socket in its own directory, so
# clashes with other servers cannot happen; random to keep logs distinct.
free_port() { echo $((50000 + RANDOM % 10000)); }

# Copies the working tree (not .git or build output) to DEST, owned by the
# user the server runs as.
copy_tree() {  # copy_tree SRC DEST
  mkdir -p "$2"
  tar -C "$1" --exclude=.git --exclude='./build*' --exclude='*.o' --exclude='*.so' \
    --exclude=./tmp_check --exclude=./results -cf - . | tar -C "$2" -xf -
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$2" "$(dirname "$2")"; fi
}
