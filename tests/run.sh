#!/usr/bin/env bash
# The project's test command: `tests/run.sh [extra dotnet test args]`.
#
# Integration tests need RabbitMQ (with the management plugin) and Redis. With
# ICOSFL_TEST_SERVERS=testcontainers the test fixtures start them with Testcontainers and this script
# starts nothing (tests/compose/run.sh runs a class that way on its own Docker engine). By default it
# installs the Debian packages when missing,
# starts a private RabbitMQ, a private Redis and a private payload Redis (claim checks, no
# persistence) on free loopback ports inside a temp folder,
# exports their addresses (ICOSFL_TEST_*), runs `dotnet test`, and always stops them again.
# Servers already named by the caller (ICOSFL_TEST_BROKER and ICOSFL_TEST_REDIS both set) are used
# as they are.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

log() { printf '[tests/run.sh] %s\n' "$*" >&2; }

now_ms() { date +%s%3N; }

# pick_port VAR: sets VAR to a loopback port nothing listens on now, random so parallel runs rarely pick the
# same one; below the kernel's ephemeral range (where an outgoing connection may hold a port nothing listens
# on), and never one this run has already picked (the servers start only after every port is chosen). A
# server start still fails loudly if its port was taken in between.
pick_port() {
    local -n picked="$1"
    local port low=32768
    [[ -r /proc/sys/net/ipv4/ip_local_port_range ]] && read -r low _ </proc/sys/net/ipv4/ip_local_port_range
    ((low > 12000)) || low=32768
    for _ in $(seq 1 50); do
        port=$((10000 + RANDOM % (low - 10000)))
        [[ " ${chosen_ports:-} " == *" $port "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            chosen_ports="${chosen_ports:-} $port"
            picked="$port"
            return 0
        fi
    done
    log "no free loopback port found after 50 tries"
    return 1
}

install_servers_when_missing() {
    local missing=()
    [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || missing+=(rabbitmq-server)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    ((${#missing[@]} == 0)) && return 0
    if [[ "$(id -u)" != 0 ]]; then
        log "missing ${missing[*]} and not root: install them (apt-get install ${missing[*]}) or run as root"
        return 1
    fi
    log "installing ${missing[*]} (apt-get)"
    local started
    started=$(now_ms)
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    log "installed ${missing[*]} in $(( $(now_ms) - started )) ms"
}

# The dashboard's browser tests drive Debian's headless Chromium (Playwright cannot download its own here), and
# the PyTorch loading test runs the documented loader with Debian's python3-torch; both are required in this run
# (ICOSFL_REQUIRE_PYTORCH=1 makes a missing torch a failure rather than a skip).
install_test_tools_when_missing() {
    local missing=()
    [[ -x /usr/bin/chromium ]] || missing+=(chromium)
    /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
    ((${#missing[@]} == 0)) && return 0
    if [[ "$(id -u)" != 0 ]]; then
        log "missing ${missing[*]} and not root: install them (apt-get install ${missing[*]}) or run as root"
        return 1
    fi
    log "installing ${missing[*]} (apt-get)"
    local started
    started=$(now_ms)
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    log "installed ${missing[*]} in $(( $(now_ms) - started )) ms"
}

# Writes the start|stop scripts the tests use to take the servers down and up again.
write_control_scripts() {
    cat >"$servers_dir/rabbitmq-ctl" <<EOF
#!/usr/bin/env bash
# Starts or stops the private test RabbitMQ of this tests/run.sh run: rabbitmq-ctl start|stop|kill
set -euo pipefail
export RABBITMQ_NODENAME='$RABBITMQ_NODENAME'
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT='$rabbit_port'
export RABBITMQ_DIST_PORT='$rabbit_dist_port'
export ERL_EPMD_PORT='$epmd_port'
export RABBITMQ_MNESIA_BASE='$servers_dir/rabbitmq/mnesia'
export RABBITMQ_LOG_BASE='$servers_dir/rabbitmq/log'
export RABBITMQ_ENABLED_PLUGINS_FILE='$servers_dir/rabbitmq/enabled_plugins'
export RABBITMQ_CONFIG_FILE='$servers_dir/rabbitmq/rabbitmq.conf'
export RABBITMQ_PID_FILE='$servers_dir/rabbitmq/rabbitmq.pid'
export RABBITMQ_CONF_ENV_FILE='$servers_dir/rabbitmq/rabbitmq-env.conf'
pid_file="\$RABBITMQ_PID_FILE"
# kill -0 also succeeds on a zombie, which a container without a reaping init keeps around.
alive() { [[ -e /proc/\$1 ]] && ! grep -q '^State:[[:space:]]*Z' /proc/\$1/status 2>/dev/null; }
wait_port() { # port seconds
    local deadline=\$((SECONDS + \$2))
    until (exec 3<>"/dev/tcp/127.0.0.1/\$1") 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            echo "rabbitmq-ctl: port \$1 not open after \$2 s; log: \$RABBITMQ_LOG_BASE" >&2
            tail -n 30 "\$RABBITMQ_LOG_BASE"/*.log >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.2
    done
}
case "\${1:-}" in
    start)
        if [[ -s "\$pid_file" ]] && alive "\$(cat "\$pid_file")"; then exit 0; fi
        rm -f "\$pid_file"
        # The server drops to the rabbitmq user; su keeps the RABBITMQ_* variables.
        setsid su rabbitmq -s /bin/sh -c /usr/lib/rabbitmq/bin/rabbitmq-server \\
            >"\$RABBITMQ_LOG_BASE/stdout.log" 2>&1 </dev/null &
        wait_port '$rabbit_port' 90
        wait_port '$rabbit_management_port' 60
        ;;
    stop|kill)
        if [[ -s "\$pid_file" ]]; then
            pid="\$(cat "\$pid_file")"
            # SIGTERM is RabbitMQ's graceful shutdown (about 6 s); kill is an abrupt crash.
            if [[ "\$1" == stop ]]; then
                kill -TERM "\$pid" 2>/dev/null || true
                for _ in \$(seq 1 300); do alive "\$pid" || break; sleep 0.1; done
            fi
            kill -KILL "\$pid" 2>/dev/null || true
            for _ in \$(seq 1 50); do alive "\$pid" || break; sleep 0.1; done
            rm -f "\$pid_file"
        fi
        ;;
    *) echo "usage: rabbitmq-ctl start|stop|kill" >&2; exit 2 ;;
esac
EOF

    write_redis_control_script redis-ctl "$redis_port" "$servers_dir/redis" "the private test Redis (sagas)" \
        "# Append-only persistence, so a stop/start keeps the data (as a deployed Redis would)." "--appendonly yes"
    write_redis_control_script payload-redis-ctl "$payload_redis_port" "$servers_dir/payload-redis" "the private test payload Redis (claim checks)" \
        "# No persistence (as compose's payload-redis): a stop/start loses every payload." "--appendonly no"
    chmod 755 "$servers_dir/rabbitmq-ctl"
}

# write_redis_control_script NAME PORT DIR WHAT PERSISTENCE_COMMENT PERSISTENCE_ARGS
write_redis_control_script() {
    local name="$1" port="$2" dir="$3" what="$4" comment="$5" persistence="$6"
    cat >"$servers_dir/$name" <<EOF
#!/usr/bin/env bash
# Starts or stops $what of this tests/run.sh run: $name start|stop|kill
$comment
set -euo pipefail
dir='$dir'
pid_file="\$dir/redis.pid"
# kill -0 also succeeds on a zombie, which a container without a reaping init keeps around.
alive() { [[ -e /proc/\$1 ]] && ! grep -q '^State:[[:space:]]*Z' /proc/\$1/status 2>/dev/null; }
case "\${1:-}" in
    start)
        if [[ -s "\$pid_file" ]] && alive "\$(cat "\$pid_file")"; then exit 0; fi
        rm -f "\$pid_file"
        redis-server --port '$port' --bind 127.0.0.1 --dir "\$dir" $persistence --save '' \\
            --daemonize yes --pidfile "\$pid_file" --logfile "\$dir/redis.log"
        # Ready means PONG: while Redis reloads its append-only file it answers LOADING.
        deadline=\$((SECONDS + 30))
        until [[ "\$(redis-cli -p '$port' ping 2>/dev/null)" == PONG ]]; do
            if ((SECONDS >= deadline)); then
                echo "$name: Redis on port $port not ready after 30 s; the end of \$dir/redis.log:" >&2
                tail -n 5 "\$dir/redis.log" >&2 2>/dev/null || true
                exit 1
            fi
            sleep 0.05
        done
        ;;
    stop|kill)
        if [[ -s "\$pid_file" ]]; then
            pid="\$(cat "\$pid_file")"
            # SIGTERM flushes the append-only file first; kill is an abrupt crash.
            if [[ "\$1" == stop ]]; then
                kill -TERM "\$pid" 2>/dev/null || true
                for _ in \$(seq 1 100); do alive "\$pid" || break; sleep 0.05; done
            fi
            kill -KILL "\$pid" 2>/dev/null || true
            for _ in \$(seq 1 50); do alive "\$pid" || break; sleep 0.05; done
            rm -f "\$pid_file"
        fi
        ;;
    *) echo "usage: $name start|stop|kill" >&2; exit 2 ;;
esac
EOF
    chmod 755 "$servers_dir/$name"
}

# A run killed before its EXIT trap (SIGKILL, a lost machine session) leaves its servers running.
# Each run records its own pid; servers of runs that are gone are stopped here, live runs (another
# worktree testing at the same time) are left alone.
stop_servers_of_dead_runs() {
    local dir owner
    for dir in /tmp/icosfl-test-servers.*; do
        [[ -d "$dir" && -f "$dir/owner.pid" ]] || continue
        owner="$(cat "$dir/owner.pid")"
        if [[ -e "/proc/$owner" ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$owner/status" 2>/dev/null; then
            continue
        fi
        log "stopping servers left by an earlier run that died ($dir)"
        [[ -x "$dir/rabbitmq-ctl" ]] && "$dir/rabbitmq-ctl" kill || true
        [[ -x "$dir/redis-ctl" ]] && "$dir/redis-ctl" kill || true
        [[ -x "$dir/payload-redis-ctl" ]] && "$dir/payload-redis-ctl" kill || true
        rm -rf "$dir"
    done
}

# make_test_ca DIR: a private CA (ca.pem, ca.key) and the broker's certificate from it (server.pem, server.key) for
# localhost and 127.0.0.1, with openssl; valid for a day.
make_test_ca() {
    local dir="$1"
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=IcosFl test CA $$" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 1 \
        -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
    chmod 644 "$dir"/*.pem "$dir"/server.key
}

start_private_servers() {
    install_servers_when_missing
    stop_servers_of_dead_runs

    servers_dir="$(mktemp -d /tmp/icosfl-test-servers.XXXXXX)"
    chmod 755 "$servers_dir"
    echo "$$" >"$servers_dir/owner.pid"
    mkdir -p "$servers_dir/rabbitmq/mnesia" "$servers_dir/rabbitmq/log" "$servers_dir/redis" "$servers_dir/payload-redis"

    pick_port rabbit_port
    pick_port rabbit_tls_port
    pick_port rabbit_dist_port
    pick_port rabbit_management_port
    pick_port epmd_port
    pick_port redis_port
    pick_port payload_redis_port
    # A node name of its own per run, so a stale node of an earlier run never answers for this one.
    RABBITMQ_NODENAME="icosfl-test-$$-$RANDOM@localhost"

    make_test_ca "$servers_dir/tls"
    printf '[rabbitmq_management,rabbitmq_auth_mechanism_ssl].\n' >"$servers_dir/rabbitmq/enabled_plugins"
    # A TLS listener beside the plain one, its certificate from this run's own CA; client certificates are checked
    # when offered (verify_peer) and give the user of an EXTERNAL login (their common name).
    cat >"$servers_dir/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$rabbit_port
listeners.ssl.default = 127.0.0.1:$rabbit_tls_port
ssl_options.cacertfile = $servers_dir/tls/ca.pem
ssl_options.certfile = $servers_dir/tls/server.pem
ssl_options.keyfile = $servers_dir/tls/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
ssl_cert_login_from = common_name
management.tcp.ip = 127.0.0.1
management.tcp.port = $rabbit_management_port
EOF
    : >"$servers_dir/rabbitmq/rabbitmq-env.conf"
    chown -R rabbitmq:rabbitmq "$servers_dir/rabbitmq" "$servers_dir/tls"

    write_control_scripts

    local started
    started=$(now_ms)
    "$servers_dir/redis-ctl" start
    log "Redis up on 127.0.0.1:$redis_port in $(( $(now_ms) - started )) ms"
    started=$(now_ms)
    "$servers_dir/payload-redis-ctl" start
    log "payload Redis up on 127.0.0.1:$payload_redis_port in $(( $(now_ms) - started )) ms"
    started=$(now_ms)
    "$servers_dir/rabbitmq-ctl" start
    log "RabbitMQ up on 127.0.0.1:$rabbit_port (management $rabbit_management_port) in $(( $(now_ms) - started )) ms"

    export ICOSFL_TEST_BROKER="amqp://guest:guest@127.0.0.1:$rabbit_port/"
    # TLS: the listener (its certificate is for localhost and 127.0.0.1) and this run's CA, whose key lets tests
    # issue client certificates, expired ones included.
    export ICOSFL_TEST_BROKER_TLS_PORT="$rabbit_tls_port"
    export ICOSFL_TEST_TLS_CA="$servers_dir/tls/ca.pem"
    export ICOSFL_TEST_TLS_CA_KEY="$servers_dir/tls/ca.key"
    export ICOSFL_TEST_RABBITMQ_MANAGEMENT="http://127.0.0.1:$rabbit_management_port"
    export ICOSFL_TEST_REDIS="127.0.0.1:$redis_port"
    export ICOSFL_TEST_RABBITMQ_CTL="$servers_dir/rabbitmq-ctl"
    export ICOSFL_TEST_REDIS_CTL="$servers_dir/redis-ctl"
    export ICOSFL_TEST_PAYLOAD_REDIS="127.0.0.1:$payload_redis_port"
    export ICOSFL_TEST_PAYLOAD_REDIS_CTL="$servers_dir/payload-redis-ctl"
}

stop_private_servers() {
    [[ -n "${servers_dir:-}" && -d "$servers_dir" ]] || return 0
    # Their data is thrown away, so no graceful shutdown is needed.
    "$servers_dir/rabbitmq-ctl" kill || log "RabbitMQ did not stop"
    "$servers_dir/redis-ctl" kill || log "Redis did not stop"
    "$servers_dir/payload-redis-ctl" kill || log "payload Redis did not stop"
    # The Erlang port mapper on this run's own port was started by this run's node.
    ERL_EPMD_PORT="$epmd_port" epmd -kill >/dev/null 2>&1 || true
    rm -rf "$servers_dir"
}

servers_dir=""
if [[ -n "${ICOSFL_TEST_BROKER:-}" && -n "${ICOSFL_TEST_REDIS:-}" ]]; then
    log "using the servers named by ICOSFL_TEST_BROKER=$ICOSFL_TEST_BROKER and ICOSFL_TEST_REDIS=$ICOSFL_TEST_REDIS"
elif [[ "${ICOSFL_TEST_SERVERS:-}" == testcontainers ]]; then
    # Chosen, never guessed from a Docker engine that happens to answer.
    log "ICOSFL_TEST_SERVERS=testcontainers: the test fixtures start RabbitMQ and Redis with Testcontainers (DOCKER_HOST=${DOCKER_HOST:-default})"
else
    trap stop_private_servers EXIT
    trap 'exit 130' INT TERM
    start_private_servers
fi

install_test_tools_when_missing
export ICOSFL_REQUIRE_PYTORCH=1

# holders FILE: the pids of processes that have FILE open.
holders() {
    local fd
    for fd in /proc/[0-9]*/fd/*; do
        [[ "$(readlink "$fd" 2>/dev/null)" == "$1" ]] && { fd="${fd#/proc/}"; echo "${fd%%/*}"; }
    done | sort -u
}

# stop_leftovers FILE: stops, naming them, the processes the tests started and left running with FILE (their output)
# still open; one kept alive would keep CI waiting for the end of an output that never ends.
stop_leftovers() {
    local pid
    for pid in $(holders "$1"); do
        [[ "$pid" == "$$" ]] && continue
        log "a process the tests left running still held their output, stopping it: $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 2
    for pid in $(holders "$1"); do
        [[ "$pid" == "$$" ]] || kill -KILL "$pid" 2>/dev/null || true
    done
}

set +e
summary_log="$(mktemp)"
# dotnet test writes to a file, shown as it grows (tail stops when dotnet test ends), rather than into a pipe: a
# process a test leaves behind then holds a file, not the output CI waits on. A test running longer than the hang
# timeout (10 minutes unless ICOSFL_TEST_HANG_TIMEOUT says otherwise) is stopped and named (--blame-hang), so a hang
# fails the run in minutes instead of stalling it.
dotnet test IcosFl.sln -c Release --blame-hang-timeout "${ICOSFL_TEST_HANG_TIMEOUT:-10m}" --blame-hang-dump-type none \
    "$@" >"$summary_log" 2>&1 </dev/null &
test_pid=$!
trap 'kill -TERM "$test_pid" 2>/dev/null; exit 130' INT TERM
tail -n +1 -f --pid="$test_pid" "$summary_log"
wait "$test_pid"
status=$?
stop_leftovers "$summary_log"
set -e
# One closing line for the whole run, summed over the test projects' own summaries.
awk '/(Passed|Failed)! +- +Failed: /{
        for (i = 1; i <= NF; i++) {
            if ($i == "Failed:")  failed  += $(i + 1)
            if ($i == "Passed:")  passed  += $(i + 1)
            if ($i == "Skipped:") skipped += $(i + 1)
        }
    }
    /Test Run Aborted/ { aborted++ }
    END {
        printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped
        if (aborted) printf "tests: %d test run(s) aborted (a hang or a crash: see \"The active test run was aborted\" above)\n", aborted
    }' "$summary_log"
rm -f "$summary_log"
exit "$status"
