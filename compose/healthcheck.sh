#!/bin/bash
# Container health of an icosfl controller or worker: its process runs and it reaches the broker and
# Redis it was given (ICOSFL_BROKER, ICOSFL_REDIS). A node cut off from either cannot take part in a
# round, so it reports unhealthy and `docker compose ps` shows it.
set -u

fail() { echo "unhealthy: $*"; exit 1; }

# The entrypoint runs dotnet as PID 1 (exec form), so its command line says which role this is.
tr '\0' ' ' </proc/1/cmdline | grep -Eq 'icosfl\.dll (controller|worker)' || fail "PID 1 is not an icosfl controller or worker"

reachable() { # host port
    timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

broker="${ICOSFL_BROKER:?ICOSFL_BROKER is not set}"
# amqp://user:password@host:port/vhost -> host and port (5672 / 5671 when absent).
rest="${broker#*://}"; rest="${rest##*@}"; hostport="${rest%%/*}"
broker_host="${hostport%%:*}"; broker_port="${hostport#*:}"
[ "$broker_port" = "$hostport" ] && { [ "${broker%%://*}" = amqps ] && broker_port=5671 || broker_port=5672; }
reachable "$broker_host" "$broker_port" || fail "broker $broker_host:$broker_port does not answer"

redis="${ICOSFL_REDIS:?ICOSFL_REDIS is not set}"
# host:port,option=value,... -> the first endpoint.
endpoint="${redis%%,*}"
redis_host="${endpoint%%:*}"; redis_port="${endpoint#*:}"
[ "$redis_port" = "$endpoint" ] && redis_port=6379
reachable "$redis_host" "$redis_port" || fail "Redis $redis_host:$redis_port does not answer"
echo healthy
