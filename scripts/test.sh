#!/usr/bin/env bash
# Runs every test of the solution. The servers the backend tests need (Redis, RabbitMQ,
# PostgreSQL) are installed here from Debian's packages when missing; each test project's fixture
# starts its own private server on 127.0.0.1 on a free port (scripts/servers/*.sh) once per run and
# stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-servers.sh

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

dotnet build Solo.slnx -c Release -warnaserror -nologo -v q
# One test project at a time: they start real servers and measure real time on a small machine,
# and running them side by side would only make them compete for two cores.
status=0
for project in tests/*/*.Tests.csproj; do
  echo "== $project"
  dotnet test "$project" -c Release --no-build --nologo --logger "trx" --results-directory "$results" || status=$?
done

# One closing line that any reader can count: "N passed, N failed".
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  t="$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")"
  e="$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$passed" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
