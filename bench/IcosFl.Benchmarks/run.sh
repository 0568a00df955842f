#!/usr/bin/env bash
# Runs the benchmarks against private RabbitMQ and Redis servers started the way tests/run.sh starts
# them (its own functions, read from it), and stops them afterwards:
#   bench/IcosFl.Benchmarks/run.sh <overhead|transfer|aggregate|all> [--quick] [--json]
# With ICOSFL_BROKER and ICOSFL_REDIS set, those servers are used instead and nothing is started.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
if [[ -z "${ICOSFL_BROKER:-}" || -z "${ICOSFL_REDIS:-}" ]]; then
    # tests/run.sh's helpers, from `log()` up to (not including) `stop_private_servers()`'s caller code.
    source <(sed -n '/^log()/,/^servers_dir=""$/p' tests/run.sh | sed '$d')
    trap stop_private_servers EXIT
    trap 'exit 130' INT TERM
    start_private_servers >&2
    export ICOSFL_BROKER="$ICOSFL_TEST_BROKER" ICOSFL_REDIS="$ICOSFL_TEST_REDIS"
    export ICOSFL_PAYLOAD_REDIS="$ICOSFL_TEST_PAYLOAD_REDIS"
fi
dotnet run -c Release --project bench/IcosFl.Benchmarks -- "$@"
