#!/usr/bin/env bash
# Writes the RabbitMQ password hashes of compose/.env's passwords into compose/rabbitmq/definitions.json
# (RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)), 4-byte salt).
# Run it after changing ICOSFL_CONTROLLER_PASSWORD, ICOSFL_WORKER_PASSWORD or ICOSFL_ADMIN_PASSWORD.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
env_file="${1:-$here/../.env}"
definitions="$here/definitions.json"

value() { # variable name -> its value in the env file
    local line
    line="$(grep -E "^$1=" "$env_file" | tail -n 1)" || { echo "set-passwords: $1 is not set in $env_file" >&2; exit 1; }
    printf '%s' "${line#*=}"
}

hash_of() { # password -> RabbitMQ SHA-256 password hash
    local salt_hex
    salt_hex="$(openssl rand -hex 4)"
    { printf '%s' "$salt_hex" | xxd -r -p; { printf '%s' "$salt_hex" | xxd -r -p; printf '%s' "$1"; } | openssl dgst -sha256 -binary; } | base64 -w0
}

for pair in icosfl-controller:ICOSFL_CONTROLLER_PASSWORD icosfl-worker:ICOSFL_WORKER_PASSWORD icosfl-admin:ICOSFL_ADMIN_PASSWORD; do
    user="${pair%%:*}"
    hash="$(hash_of "$(value "${pair#*:}")")"
    # The user's entry is one line in definitions.json: replace its password_hash in place.
    sed -i -E "s|(\"name\": \"$user\", \"password_hash\": \")[^\"]*(\")|\1$hash\2|" "$definitions"
    grep -q "\"name\": \"$user\", \"password_hash\": \"$hash\"" "$definitions" \
        || { echo "set-passwords: no one-line entry for user $user in $definitions" >&2; exit 1; }
    echo "set-passwords: $user updated"
done
