#!/bin/bash
# Container health of an icosfl controller or worker: its process runs and it reaches the broker and,
# for the controller, the Redis it was given (ICOSFL_BROKER, ICOSFL_REDIS, ICOSFL_PAYLOAD_REDIS). A node cut
# off from any cannot take part in a round, so it reports unhealthy and `docker compose ps` shows it.
set -u

fail() { echo "unhealthy: $*"; exit 1; }

# The entrypoint runs dotnet as PID 1 (exec form), so its command line says which role this is.
role="$(tr '\0' ' ' </proc/1/cmdline | grep -Eo 'icosfl\.dll (controller|worker)')" || fail "PID 1 is not an icosfl controller or worker"

reachable() { # host port
    timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

broker="${ICOSFL_BROKER:?ICOSFL_BROKER is not set}"
# amqp://user:password@host:port/vhost -> host and port (5672 / 5671 when absent).
rest="${broker#*://}"; rest="${rest##*@}"; hostport="${rest%%/*}"
broker_host="${hostport%%:*}"; broker_port="${hostport#*:}"
[ "$broker_port" = "$hostport" ] && { [ "${broker%%://*}" = amqps ] && broker_port=5671 || broker_port=5672; }
reachable "$broker_host" "$broker_port" || fail "broker $broker_host:$broker_port does not answer"

# host:port,option=value,... -> the first endpoint.
check_redis() { # what configuration
    local endpoint="${2%%,*}"
    local host="${endpoint%%:*}" port="${endpoint#*:}"
    [ "$port" = "$endpoint" ] && port=6379
    reachable "$host" "$port" || fail "$1 $host:$port does not answer"
}
# A worker reaches nothing but the broker (weights travel as chunk messages).
[ "${role#icosfl.dll }" = worker ] && { echo healthy; exit 0; }
# The controller has the saga Redis (ICOSFL_REDIS) and the payload Redis (ICOSFL_PAYLOAD_REDIS, the
# saga Redis when unset).
[ -n "${ICOSFL_REDIS:-}${ICOSFL_PAYLOAD_REDIS:-}" ] || fail "neither ICOSFL_REDIS nor ICOSFL_PAYLOAD_REDIS is set"
[ -n "${ICOSFL_REDIS:-}" ] && check_redis Redis "$ICOSFL_REDIS"
[ -n "${ICOSFL_PAYLOAD_REDIS:-}" ] && check_redis "payload Redis" "$ICOSFL_PAYLOAD_REDIS"
echo healthy
