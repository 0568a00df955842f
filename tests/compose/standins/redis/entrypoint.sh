#!/bin/sh
# As the official image's entrypoint: a bare redis-server (no config file) listens on every interface with
# protected mode off, so other containers reach it.
set -e
if [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
    shift
    set -- redis-server --bind '* -::*' --protected-mode no "$@"
fi
exec "$@"
