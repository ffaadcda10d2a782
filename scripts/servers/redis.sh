#!/usr/bin/env bash
# redis.sh start|stop|restart DIR PORT [REDIS-SERVER-ARGS...] — a private Redis on 127.0.0.1:PORT, state
# in DIR, no persistence unless the extra arguments (which come last, so they win) turn it on, e.g.
# `--appendonly yes --appendfsync always`.
set -euo pipefail
cmd="$1"; dir="$(mkdir -p "$2" && cd "$2" && pwd)"; port="$3"; shift 3
extra=("$@")
pidfile="$dir/redis.pid"
start() {
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$pidfile" --dir "$dir" \
    --logfile "$dir/redis.log" --save "" --appendonly no ${extra[@]+"${extra[@]}"}
  for _ in $(seq 1 200); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done
  echo "redis did not answer on port $port" >&2; exit 1
}
stop() {
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  for _ in $(seq 1 100); do [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.05; done
}
case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) echo "usage: redis.sh start|stop|restart DIR PORT [REDIS-SERVER-ARGS...]" >&2; exit 2 ;;
esac
