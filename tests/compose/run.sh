#!/usr/bin/env bash
# The compose system test: the real compose files on a real Docker engine.
#
#   tests/compose/run.sh            (as root; .ci/run runs it after tests/run.sh)
#   tests/compose/run.sh prepare F  (installs its packages and writes the debootstrapped Debian 12 base to the
#                                    tarball F, then exits; .ci/run does this while tests/run.sh runs, and the
#                                    test then imports F, from ICOSFL_COMPOSE_BASE, instead of debootstrapping)
#
# It installs docker.io, debootstrap, docker-compose and jq from Debian, starts a dockerd of its own (own
# socket, data root and exec root; DOCKER_HOST points at it for this script only, so nothing else on the
# machine sees it), builds a Debian 12 base image with debootstrap and, from it, stand-ins for the registry
# images under their official tags (no registry is reachable from the build machines: see
# tests/compose/standins/), builds the project's image with compose/Dockerfile, and then runs, on
# compose/docker-compose.yml and compose/docker-compose.worker-host.yml as they are:
#   Testcontainers: one real integration test class through the Testcontainers path;
#   up --scale worker=3, every service healthy; a federation started with `exec controller icosfl start`
#     while one worker is killed and the controller restarted mid-round; every round completed exactly once;
#     `icosfl status` and the dashboard's /api agree; checkpoints survive `up --force-recreate controller`;
#   a second project from docker-compose.worker-host.yml (its own network, reaching the controller host only
#     through the published ports) whose two workers take part from the next round; its containers cut off
#     the network for 60 s are marked offline while rounds go on, and take part again after;
#   `--scale worker=1` removes workers with goodbyes and no failed round;
#   `docker restart` of RabbitMQ and of Redis mid-round, the federation completing with every round once;
#   the Seq stand-in holding events of every container with FederationId, RoundId, WorkerId and Service;
#   `down -v` leaving nothing behind; then its dockerd, bridge and iptables rules are removed.
# It ends with `compose: N passed, N failed` and exits non-zero when a check failed.
set -euo pipefail
# The whole script is one block, read before it runs: editing the file during a run cannot change that run.
{
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo_root/tests/compose"
cd "$repo_root"

log() { printf '[compose %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
now() { date +%s; }

passed=0
failed=0
failures=()
step_started=0

# step NAME: starts a timed step (its time is printed when the next one starts or the test ends).
step_name=""
step() {
    end_step
    step_name="$1"
    step_started=$(now)
    log "== $step_name"
}
end_step() {
    [[ -n "$step_name" ]] && log "   ($step_name: $(($(now) - step_started)) s)"
    step_name=""
}

pass() { passed=$((passed + 1)); log "PASS $*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); log "FAIL $*"; }
# check DESCRIPTION COMMAND...: a check that counts.
check() {
    local what="$1"
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# fatal MESSAGE: a set-up step failed; nothing after it can run.
fatal() {
    fail "$*"
    exit 1
}

# --- the engine ------------------------------------------------------------------------------------------

work="$(mktemp -d /tmp/icosfl-compose-test.XXXXXX)"
exec_root="/run/icosfl-compose-test.$$"
export DOCKER_HOST="unix://$work/docker.sock"
dockerd_pid=""
iptables_before="$work/iptables.before"
bip="172.31.250.1/24"
controller_host="${bip%/*}"
# Every compose command of the worker-host file needs it (its variables are required), as on a real worker host.
export ICOSFL_CONTROLLER_HOST="$controller_host"
project=icosfl
worker_project=icosfl-workers
main_compose=(docker-compose -p "$project" -f compose/docker-compose.yml)
host_compose=(docker-compose -p "$worker_project" -f compose/docker-compose.worker-host.yml)

install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    command -v jq >/dev/null || missing+=(jq)
    command -v iptables-save >/dev/null || missing+=(iptables)
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]} (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_engine() {
    if ip link show docker0 >/dev/null 2>&1; then
        fatal "a docker0 bridge exists already (another Docker engine?): this test starts its own engine on $bip"
    fi
    iptables-save >"$iptables_before"
    iptables_rules >"$iptables_before.rules"
    mkdir -p "$exec_root"
    dockerd -H "$DOCKER_HOST" --pidfile "$work/dockerd.pid" --data-root "$work/docker" --exec-root "$exec_root" \
        --bip "$bip" --default-address-pool base=172.31.0.0/16,size=24 >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    local deadline=$(($(now) + 60))
    until docker info >/dev/null 2>&1; do
        if (($(now) >= deadline)) || ! kill -0 "$dockerd_pid" 2>/dev/null; then
            tail -n 20 "$work/dockerd.log" >&2
            fatal "dockerd did not answer on $DOCKER_HOST within 60 s"
        fi
        sleep 0.5
    done
}

stop_engine() {
    if [[ -n "$dockerd_pid" ]] && kill -0 "$dockerd_pid" 2>/dev/null; then
        # Whatever a failed run left: containers, volumes, networks.
        "${host_compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
        "${main_compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
        kill -TERM "$dockerd_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
    # dockerd leaves its bridges and iptables chains behind: remove them.
    local link
    for link in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(docker0|br-[0-9a-f]{12})$' || true); do
        ip link delete "$link" 2>/dev/null || true
    done
    # iptables-restore replaces each table the saved rules name; a table that held nothing then (nat, on a
    # fresh machine) is emptied instead, with ACCEPT policies as the kernel starts.
    if [[ -e "$iptables_before" ]]; then
        local table chain
        for table in filter nat; do
            grep -qx "\*$table" "$iptables_before" && continue
            iptables -t "$table" -F 2>/dev/null && iptables -t "$table" -X
            for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-P" {print $2}'); do iptables -t "$table" -P "$chain" ACCEPT; done
        done
        iptables-restore <"$iptables_before"
    fi
    umount "$work"/docker/overlay2/*/merged 2>/dev/null || true
    # Network namespaces of containers the engine did not get to clean up (a killed dockerd).
    umount "$exec_root"/netns/* 2>/dev/null || true
    umount "$work/docker" 2>/dev/null || true
    rm -rf "$work" "$exec_root"
}

# The iptables rules in force, comparable across runs: no comments or counters, and no table that holds only its
# built-in chains with ACCEPT policies (which is what a table the kernel had not loaded before looks like once loaded).
iptables_rules() {
    iptables-save | sed 's/ \[[0-9:]*\]//' | awk '
        /^#/ { next }
        /^\*/ { table = $0; body = ""; keep = 0; next }
        /^COMMIT/ { if (keep) printf "%s\n%s", table, body; next }
        { body = body $0 "\n"; if ($0 ~ /^-A / || $0 ~ /^:[^ ]+ (DROP|REJECT|-)/) keep = 1 }'
}

finish() {
    local status=$?
    # Tear down whatever fails on the way: no errexit here.
    set +e
    end_step
    if ((failed > 0)) && [[ -n "$dockerd_pid" ]] && docker info >/dev/null 2>&1; then
        log "logs of the containers (last 40 lines each):"
        for c in $(docker ps -aq 2>/dev/null); do
            log "--- $(docker inspect --format '{{.Name}}' "$c")"
            docker logs --tail 40 "$c" 2>&1 | sed 's/^/    /' >&2 || true
        done
    fi
    local rules_before="" saved=false
    [[ -e "$iptables_before.rules" ]] && saved=true && rules_before="$(cat "$iptables_before.rules")"
    stop_engine
    if $saved; then
        [[ "$(iptables_rules)" == "$rules_before" ]] \
            && pass "iptables as before the test" || fail "iptables rules differ from before the test"
    fi
    ip link show docker0 >/dev/null 2>&1 && fail "docker0 is still there after the engine stopped"
    grep -qF "$work" /proc/mounts && fail "mounts left under $work after the engine stopped"
    for f in "${failures[@]}"; do log "failed: $f"; done
    echo "compose: $passed passed, $failed failed"
    ((failed == 0 && status == 0)) || exit 1
}

# --- images ---------------------------------------------------------------------------------------------

# debootstrap_base TARBALL: a minimal Debian 12 root file system, as a tarball docker import takes.
debootstrap_base() {
    local rootfs="$1.rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$1.log" 2>&1 \
        || { tail -n 20 "$1.log" >&2; return 1; }
    tar -C "$rootfs" -cf "$1" .
    rm -rf "$rootfs"
}

build_base_image() {
    local tarball="${ICOSFL_COMPOSE_BASE:-}"
    if [[ -n "$tarball" && -s "$tarball" ]]; then
        log "   (the base prepared beforehand: $tarball)"
    else
        tarball="$work/debian-bookworm.tar"
        debootstrap_base "$tarball" || fatal "debootstrap of the Debian 12 base failed"
    fi
    docker import -c 'CMD ["bash"]' "$tarball" debian:bookworm >/dev/null
}

# The stand-ins, under the tags compose/Dockerfile, compose/*.yml and the Testcontainers fixtures name.
build_standins() {
    local ctx="$work/standins" dotnet_root
    dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
    mkdir -p "$ctx/sdk/ca" "$ctx/aspnet/dotnet/shared"
    cp "$here/standins/dotnet-sdk/Dockerfile" "$ctx/sdk/"
    cp -al "$dotnet_root" "$ctx/sdk/dotnet" 2>/dev/null || cp -a "$dotnet_root" "$ctx/sdk/dotnet"
    cp /usr/local/share/ca-certificates/*.crt "$ctx/sdk/ca/" 2>/dev/null || true
    cp "$here/standins/aspnet/Dockerfile" "$ctx/aspnet/"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$ctx/aspnet/dotnet/"
    cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$ctx/aspnet/dotnet/shared/"
    local -A images=(
        [mcr.microsoft.com/dotnet/sdk:10.0-noble]="$ctx/sdk"
        [mcr.microsoft.com/dotnet/aspnet:10.0-noble]="$ctx/aspnet"
        [rabbitmq:3.13-management]="$here/standins/rabbitmq"
        [redis:7.2]="$here/standins/redis"
        [datalust/seq:2024.3]="$here/standins/seq"
    )
    # All at once: each mostly waits for its apt-get downloads.
    local tag entry builds=()
    for tag in "${!images[@]}"; do
        docker build -q -t "$tag" "${images[$tag]}" >"$work/build-standin-${tag//[\/:]/_}.log" 2>&1 &
        builds+=("$!=$tag")
    done
    for entry in "${builds[@]}"; do
        tag="${entry#*=}"
        wait "${entry%%=*}" || { tail -n 30 "$work/build-standin-${tag//[\/:]/_}.log" >&2; fatal "building the stand-in $tag failed"; }
    done
    docker tag redis:7.2 redis:7.0
    rm -rf "$ctx"
}

# --- helpers on the running system ----------------------------------------------------------------------

containers_of() { docker ps -q --filter "label=com.docker.compose.project=$1" ${2:+--filter "label=com.docker.compose.service=$2"}; }
hostname_of() { docker inspect --format '{{.Config.Hostname}}' "$1"; }

# wait_healthy PROJECT COUNT SECONDS: COUNT containers of the project running and healthy (where they have a check).
wait_healthy() {
    local deadline=$(($(now) + $3)) c unhealthy total
    while true; do
        total=0
        unhealthy=""
        for c in $(containers_of "$1"); do
            total=$((total + 1))
            case "$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$c")" in
                healthy | running) ;;
                *) unhealthy+=" $(docker inspect --format '{{.Name}}' "$c")" ;;
            esac
        done
        ((total == $2)) && [[ -z "$unhealthy" ]] && return 0
        if (($(now) >= deadline)); then
            log "after $3 s: $total of $2 containers of $1, not healthy:${unhealthy:- none}"
            return 1
        fi
        sleep 2
    done
}

# As the README's commands run it: docker compose exec controller icosfl ... (-T: no terminal here).
icosfl() { "${main_compose[@]}" exec -T controller icosfl "$@"; }

# start_federation RUN_CONFIG: prints the new federation's id.
start_federation() {
    local output
    output="$(icosfl start --run-config "$1" 2>&1)" || { log "icosfl start failed: $output"; return 1; }
    grep -Eo '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' <<<"$output" | head -n 1
}

api() { curl -fsS --max-time 10 "http://127.0.0.1:8080$1"; }
# The federation as the dashboard's JSON API gives it (cheap to poll; `icosfl status --json` starts a process and
# is compared with it once per federation, in status_and_api_agree).
status_json() { api "/api/federations/$1"; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls the command every second.
wait_until() {
    local deadline=$(($(now) + $1)) what="$2"
    shift 2
    until "$@" >/dev/null 2>&1; do
        if (($(now) >= deadline)); then
            log "gave up after waiting for: $what"
            return 1
        fi
        sleep 1
    done
}

# The number of the round in progress (Collecting), or nothing.
round_in_progress() {
    status_json "$1" | jq -e -r '.rounds | map(select(.state | IN("Completed", "Failed", "TimedOut") | not)) | last | .round'
}
federation_in_round() { # id round: a round >= this one is collecting
    local r
    r="$(round_in_progress "$1")" && ((r >= $2))
}
federation_ended() { status_json "$1" | jq -e '.state != "Running"'; }

# rounds_exactly_once ID ROUNDS: the federation completed, and rounds 1..ROUNDS each completed exactly once.
rounds_exactly_once() { # federation rounds [state]: it ended in state (Completed), rounds 1..rounds completed once each
    status_json "$1" | jq -e --argjson n "$2" --arg state "${3:-Completed}" '
        .state == $state
        and ([.rounds[] | select(.state == "Completed") | .round] | sort) == [range(1; $n + 1)]' >/dev/null
}

# no_failed_round ID: no attempt of any round failed or timed out.
no_failed_round() {
    status_json "$1" | jq -e '[.rounds[] | select(.state | IN("Failed", "TimedOut"))] | length == 0' >/dev/null
}

# status_and_api_agree ID: icosfl status --json and GET /api/federations/{id} give the same federation.
status_and_api_agree() {
    local keys='{federationId, state, round, numServerRounds, metric, strategy,
                 rounds: [.rounds[] | {round, attempt, roundId, state, participants: (.participants | sort), trainLoss, evalLoss}]}'
    local from_status from_api
    from_status="$(icosfl status "$1" --json | jq -S "$keys")"
    from_api="$(api "/api/federations/$1" | jq -S "$keys")"
    [[ -n "$from_status" && "$from_status" == "$from_api" ]] || { diff <(echo "$from_status") <(echo "$from_api") >&2; return 1; }
}

# participants_of ID ROUND: the workers counted in that round's completed attempt, one per line.
participants_of() { status_json "$1" | jq -r --argjson r "$2" '.rounds[] | select(.round == $r and .state == "Completed") | .participants[]'; }

# workers_alive true|false WORKERS...: the controller's registry (the dashboard's /api/workers) says so of each;
# a worker that said goodbye may also be gone from it (counts as not alive).
workers_alive() {
    local alive="$1" json w
    shift
    json="$(api /api/workers)" || return 1
    for w in "$@"; do
        jq -e --arg id "$w" --argjson alive "$alive" \
            'map(select(.id == $id)) | if length == 0 then ($alive | not) else .[0].alive == $alive end' <<<"$json" >/dev/null || return 1
    done
}
alive_count() { api /api/workers | jq '[.[] | select(.alive)] | length'; }
alive_count_is() { [[ "$(alive_count)" == "$1" ]]; }

# took_part_after ID ROUND WORKERS...: each worker counted in some completed round after ROUND.
took_part_after() {
    local id="$1" after="$2" w
    shift 2
    local json
    json="$(status_json "$id")"
    for w in "$@"; do
        jq -e --arg w "$w" --argjson after "$after" '[.rounds[] | select(.state == "Completed" and .round > $after and (.participants | index($w)))] | length > 0' <<<"$json" >/dev/null || return 1
    done
}

# last_completed_round ID
last_completed_round() { status_json "$1" | jq -r '[.rounds[] | select(.state == "Completed") | .round] | max // 0'; }

# --- the test -------------------------------------------------------------------------------------------

if [[ "${1:-}" == prepare ]]; then
    [[ -n "${2:-}" ]] || { echo "usage: tests/compose/run.sh prepare TARBALL" >&2; exit 2; }
    rm -rf "$work"
    install_packages
    debootstrap_base "$2" || { log "debootstrap of the Debian 12 base failed"; exit 1; }
    log "prepared: the packages, and the Debian 12 base in $2 ($(du -m "$2" | cut -f1) MB)"
    exit 0
fi

trap finish EXIT
trap 'exit 130' INT TERM

step "install docker.io, debootstrap, docker-compose, jq"
install_packages

step "start a private dockerd ($DOCKER_HOST, bridge $bip)"
start_engine

step "base image: debootstrap Debian 12 (debian:bookworm)"
build_base_image

step "stand-in images under the official tags"
build_standins

step "Testcontainers: an integration test class on containers it starts itself"
# Ryuk (Testcontainers' reaper) is an image from Docker Hub: off; the fixture disposes its containers itself.
# Testcontainers asks for Docker API 1.44 unless DOCKER_API_VERSION says otherwise; Debian's engine has 1.41.
tc_started="$(date +%s)"
if env -u ICOSFL_TEST_BROKER -u ICOSFL_TEST_REDIS -u ICOSFL_TEST_PAYLOAD_REDIS -u ICOSFL_TEST_RABBITMQ_MANAGEMENT \
    TESTCONTAINERS_RYUK_DISABLED=true DOCKER_API_VERSION="$(docker version --format '{{.Server.APIVersion}}')" \
    dotnet test tests/IcosFl.Integration.Tests -c Release --filter "FullyQualifiedName~${ICOSFL_COMPOSE_TESTCONTAINERS_CLASS:-RedisSagaRepositoryTests}" \
    >"$work/testcontainers.log" 2>&1; then
    grep -E '(Passed|Failed)!' "$work/testcontainers.log" >&2 || true
    # The fixture must really have started the containers (not used servers named in the environment).
    started="$(docker events --since "$tc_started" --until "$(date +%s)" --filter event=start --format '{{.From}}' | sort | uniq -c | tr '\n' ' ')"
    log "containers Testcontainers started: $started"
    check "Testcontainers ran the class on rabbitmq:3.13-management and redis:7.0 containers" \
        grep -q 'rabbitmq:3.13-management' <<<"$started"
    grep -Eq 'Passed! +- +Failed: +0, +Passed: +[1-9]' "$work/testcontainers.log" && pass "Testcontainers class passed" || fail "Testcontainers class ran no test"
else
    tail -n 40 "$work/testcontainers.log" >&2
    fail "the integration test class failed on Testcontainers"
fi

step "build the project's image with compose/Dockerfile"
"${main_compose[@]}" build >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; fatal "docker-compose build failed"; }

# Synthetic node data: freshly started containers would need minutes of 3 s samples before a round can
# train. Short rounds that still last a few seconds, so that "mid-round" is something to hit.
export ICOSFL_DATA=synthetic
# Every process sends its log events with this Seq API key (Seq itself can require one for ingestion).
export ICOSFL_SEQ_API_KEY=compose-test-key
training="local-epochs=20 round-timeout=60"
run_config="$training min-fit-clients=2 min-available-clients=2"

step "up --scale worker=3: every service healthy"
"${main_compose[@]}" up -d --build --scale worker=3 >"$work/up.log" 2>&1 || { tail -n 40 "$work/up.log" >&2; fatal "docker-compose up failed"; }
check "8 containers healthy (rabbitmq, redis, payload-redis, seq, controller, 3 workers)" wait_healthy "$project" 8 240 \
    || fatal "the services did not become healthy"
wait_until 60 "3 workers in the controller's registry" alive_count_is 3 \
    || fatal "the workers did not register"

step "federation 1: a worker killed and the controller restarted mid-round"
rounds=6
fed1="$(start_federation "num-server-rounds=$rounds $run_config")" || fatal "icosfl start failed"
log "federation $fed1"
check "round 2 reached" wait_until 180 "round 2 of $fed1" federation_in_round "$fed1" 2
victim="$(containers_of "$project" worker | head -n 1)"
docker kill "$victim" >/dev/null
log "killed worker $(hostname_of "$victim") in round $(round_in_progress "$fed1" || echo '?')"
check "round 4 reached after the kill" wait_until 180 "round 4 of $fed1" federation_in_round "$fed1" 4
docker restart "$(containers_of "$project" controller)" >/dev/null
log "restarted the controller in round 4"
wait_until 300 "the end of $fed1" federation_ended "$fed1" || true
check "federation 1 completed, rounds 1..$rounds each exactly once" rounds_exactly_once "$fed1" "$rounds"
check "icosfl status and GET /api/federations/{id} agree" status_and_api_agree "$fed1"
docker start "$victim" >/dev/null 2>&1 || true

step "checkpoints survive up --force-recreate controller"
checkpoint_digests() {
    docker exec "$(containers_of "$project" controller)" sh -c \
        "cd /var/lib/icosfl/checkpoints/$1 && find . -type f | sort | xargs sha256sum"
}
checkpoints_before="$(checkpoint_digests "$fed1" || true)"
log "$(wc -l <<<"$checkpoints_before") checkpoint files of $fed1"
"${main_compose[@]}" up -d --force-recreate --no-deps controller >"$work/recreate.log" 2>&1 \
    || { tail -n 20 "$work/recreate.log" >&2; fail "recreating the controller failed"; }
wait_healthy "$project" 8 180 || true
checkpoints_after="$(checkpoint_digests "$fed1" || true)"
check "the recreated controller holds the same checkpoint files, byte for byte" \
    test -n "$checkpoints_before" -a "$checkpoints_before" == "$checkpoints_after"

step "a worker host: a second project joining through the published ports only"
# More rounds than it will run: it is stopped once the worker host has taken part again after the 60 s cut below,
# however fast rounds go (with a fixed 14, all were done before the cut ended).
rounds=500
fed2="$(start_federation "num-server-rounds=$rounds $run_config")" || fatal "icosfl start failed"
log "federation $fed2"
wait_until 180 "round 2 of $fed2" federation_in_round "$fed2" 2 || true
joined_after="$(last_completed_round "$fed2")"
# The worker host's own network reaches the controller host at the bridge's address, through its published
# ports (5672 and 5341; workers reach no Redis), as a remote host would through its firewall.
"${host_compose[@]}" up -d --build --scale worker=2 >"$work/up-host.log" 2>&1 \
    || { tail -n 30 "$work/up-host.log" >&2; fatal "the worker host's up failed"; }
check "the worker host's 2 workers healthy" wait_healthy "$worker_project" 2 180
host_workers=()
for c in $(containers_of "$worker_project" worker); do host_workers+=("$(hostname_of "$c")"); done
log "worker host's workers: ${host_workers[*]} (joined after round $joined_after)"
check "they take part in a round after they joined" wait_until 180 "${host_workers[*]} in a round of $fed2" \
    took_part_after "$fed2" "$joined_after" "${host_workers[@]}"

step "the worker host cut off the network for 60 s mid-federation"
host_network="${worker_project}_default"
for c in $(containers_of "$worker_project" worker); do docker network disconnect "$host_network" "$c"; done
cut_at_round="$(last_completed_round "$fed2")"
log "cut off after round $cut_at_round"
cut_started=$(now)
check "both marked offline by the controller" wait_until 55 "${host_workers[*]} offline" \
    workers_alive false "${host_workers[@]}"
log "offline after $(($(now) - cut_started)) s"
cut_round_now="$(last_completed_round "$fed2")"
remaining=$((60 - ($(now) - cut_started)))
((remaining > 0)) && sleep "$remaining"
rounds_during_cut=$(($(last_completed_round "$fed2") - cut_round_now))
check "rounds went on during the cut ($rounds_during_cut completed without the worker host)" test "$rounds_during_cut" -ge 1
for c in $(containers_of "$worker_project" worker); do docker network connect "$host_network" "$c"; done
reconnected_after="$(last_completed_round "$fed2")"
check "after the cut both are alive again" wait_until 90 "${host_workers[*]} alive" \
    workers_alive true "${host_workers[@]}"
check "and take part in a round again" wait_until 180 "${host_workers[*]} in a round after the cut" \
    took_part_after "$fed2" "$reconnected_after" "${host_workers[@]}"
icosfl stop "$fed2" >/dev/null 2>&1 || fail "icosfl stop $fed2 failed"
wait_until 120 "the end of $fed2" federation_ended "$fed2" || true
sleep 5 # a round in flight when it stopped may still complete; it must then be counted once too
rounds="$(last_completed_round "$fed2")"
check "federation 2 stopped after $rounds rounds, rounds 1..$rounds each exactly once" rounds_exactly_once "$fed2" "$rounds" Stopped

step "--scale worker=1: workers removed with goodbyes, no failed round"
"${host_compose[@]}" down -v >"$work/down-host.log" 2>&1 || fail "the worker host's down failed"
rounds=8
fed3="$(start_federation "num-server-rounds=$rounds $training min-available-clients=1 min-fit-clients=1")" || fatal "icosfl start failed"
log "federation $fed3"
wait_until 180 "round 2 of $fed3" federation_in_round "$fed3" 2 || true
before_scale=()
for c in $(containers_of "$project" worker); do before_scale+=("$(hostname_of "$c")"); done
"${main_compose[@]}" up -d --no-recreate --scale worker=1 >"$work/scale.log" 2>&1 || { tail -n 20 "$work/scale.log" >&2; fail "scaling down failed"; }
kept="$(hostname_of "$(containers_of "$project" worker)")"
removed=()
for w in "${before_scale[@]}"; do [[ "$w" == "$kept" ]] || removed+=("$w"); done
log "kept $kept, removed ${removed[*]}"
# A goodbye takes a worker out of the registry at once, not after heartbeat-patience intervals (20 s).
check "the removed workers are offline within 5 s of their containers stopping" wait_until 5 "${removed[*]} offline" \
    workers_alive false "${removed[@]}"
# (jq -s and any(): with a stream of events, Debian's jq 1.6 -e reports on the last event only.)
said_goodbye() { # worker: the controller logged its WorkerStopping (in the Seq stand-in)
    curl -fsS --max-time 20 http://127.0.0.1:5341/api/standin/events \
        | jq -s -e --arg w "$1" 'any(.[]; .Service == "controller" and .WorkerId == $w and (.["@mt"] | test("is stopping")))' >/dev/null
}
for w in "${removed[@]}"; do check "the controller received $w's goodbye" wait_until 20 "$w's goodbye" said_goodbye "$w"; done
wait_until 300 "the end of $fed3" federation_ended "$fed3" || true
check "federation 3 completed, rounds 1..$rounds each exactly once" rounds_exactly_once "$fed3" "$rounds"
check "no round of federation 3 failed or timed out" no_failed_round "$fed3"

step "docker restart of RabbitMQ, then of Redis, mid-round"
"${main_compose[@]}" up -d --scale worker=3 >"$work/scale-up.log" 2>&1 || fail "scaling back up failed"
wait_healthy "$project" 8 180 || true
wait_until 60 "3 workers alive" alive_count_is 3 || true
rounds=8
fed4="$(start_federation "num-server-rounds=$rounds $run_config")" || fatal "icosfl start failed"
log "federation $fed4"
check "round 2 reached" wait_until 180 "round 2 of $fed4" federation_in_round "$fed4" 2
docker restart "$(containers_of "$project" rabbitmq)" >/dev/null
log "restarted RabbitMQ"
check "round 5 reached after the broker restart" wait_until 300 "round 5 of $fed4" federation_in_round "$fed4" 5
docker restart "$(containers_of "$project" redis)" >/dev/null
log "restarted Redis"
wait_until 400 "the end of $fed4" federation_ended "$fed4" || true
check "federation 4 completed, rounds 1..$rounds each exactly once" rounds_exactly_once "$fed4" "$rounds"

step "the log sink: events of every container with their ids"
events="$work/events.clef"
curl -fsS --max-time 20 http://127.0.0.1:5341/api/standin/events >"$events" || fail "the Seq stand-in did not answer on 5341"
log "$(wc -l <"$events") events in the Seq stand-in"
controller_events_of() { # federation: the controller's events of it carry RoundId
    jq -s -e --arg f "$1" 'any(.[]; .Service == "controller" and .FederationId == $f and .RoundId != null)' "$events" >/dev/null
}
worker_events_of() { # worker: events of Service worker-<id> with its WorkerId, a FederationId and a RoundId
    jq -s -e --arg s "worker-$1" --arg w "$1" \
        'any(.[]; .Service == $s and .WorkerId == $w and .FederationId != null and .RoundId != null)' "$events" >/dev/null
}
for f in "$fed1" "$fed2" "$fed3" "$fed4"; do
    check "controller events of federation $f carry FederationId and RoundId" controller_events_of "$f"
done
api_keys_seen() { curl -fsS --max-time 10 http://127.0.0.1:5341/api/standin/apikeys | jq -e '. == ["compose-test-key"]' >/dev/null; }
check "every post to Seq carried the API key ICOSFL_SEQ_API_KEY names" api_keys_seen
admin_password_given() { curl -fsS --max-time 10 http://127.0.0.1:5341/api/standin/firstrun | jq -e '.adminPassword' >/dev/null; }
check "Seq got its first-run admin password (authentication on)" admin_password_given
log "worker services seen: $(jq -r 'select(.Service | startswith("worker-")) | .Service' "$events" | sort -u | tr '\n' ' ')"
for w in "${before_scale[@]}" "${host_workers[@]}"; do
    check "worker $w sent events with Service, WorkerId, FederationId and RoundId" worker_events_of "$w"
done

step "down -v leaves nothing behind"
"${host_compose[@]}" down -v >/dev/null 2>&1 || true
"${main_compose[@]}" down -v >"$work/down.log" 2>&1 || fail "docker-compose down -v failed"
check "no container left" test -z "$(docker ps -aq)"
no_volume_left() {
    local left
    left="$(docker volume ls --format '{{.Name}} {{.Labels}}')"
    [[ -z "$left" ]] || { log "volumes left: $left"; return 1; }
}
check "no volume left" no_volume_left
check "no network left but Docker's own" test -z "$(docker network ls --format '{{.Name}}' | grep -vxE 'bridge|host|none')"
end_step
exit
}
