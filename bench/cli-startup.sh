#!/bin/bash
# CPU (user + system seconds) of one carve process, median of 5 runs: bench/cli-startup.sh <args…>
# e.g. bench/cli-startup.sh --version; bench/cli-startup.sh sync --help. Needs `npm run build`.
cd "$(dirname "$0")/.." || exit 1
runs=()
for _ in 1 2 3 4 5; do
  /usr/bin/time -f '%U %S' -o /tmp/carve-cli-startup.$$ node bin/carve.js "$@" >/dev/null 2>&1
  runs+=("$(tail -1 /tmp/carve-cli-startup.$$ | awk '{ printf "%.2f", $1 + $2 }')")
done
rm -f /tmp/carve-cli-startup.$$
echo "median $(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p) s (runs: ${runs[*]})"
