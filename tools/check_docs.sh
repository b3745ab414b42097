#!/usr/bin/env bash
# check_docs.sh [REPO]: test/README.md names every pg_regress file (sql/*.sql
# but the install scripts) and every TAP file (test/t/*.pl), and names none
# that does not exist, so that the page cannot fall behind the tests.
set -euo pipefail
repo=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
page="$repo/test/README.md"
bad=0
for f in "$repo"/sql/*.sql "$repo"/test/t/*.pl; do
  name=$(basename "$f")
  [[ $name == store_monitoring--* ]] && continue
  grep -q "\`$name\`" "$page" || { echo "test/README.md does not list $name"; bad=1; }
done
# Names in the tables' first column must exist.
while read -r name; do
  case $name in
    *.sql) [[ -f "$repo/sql/$name" ]] || { echo "test/README.md lists $name, which does not exist"; bad=1; } ;;
    *.pl) [[ -f "$repo/test/t/$name" ]] || { echo "test/README.md lists $name, which does not exist"; bad=1; } ;;
  esac
done < <(sed -n 's/^| `\([^`]*\.\(sql\|pl\)\)` |.*/\1/p' "$page")
((bad == 0)) && echo "test/README.md: every regress and TAP file listed"
exit $bad
