#!/usr/bin/env bash
# rabbitmq.sh start|stop|restart DIR PORT [DIST_PORT] — a private RabbitMQ node on 127.0.0.1:PORT whose whole
# state lives in DIR (no systemd, no root-owned state). Prints nothing on success.
set -euo pipefail
cmd="$1"; dir="$(mkdir -p "$2" && cd "$2" && pwd)"; port="$3"
dist="${4:-$((25000 + port % 1000))}"
cd "$dir"  # crash dumps land in the working directory
export HOME="$dir" RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
  RABBITMQ_PID_FILE="$dir/rabbit.pid" RABBITMQ_CONFIG_FILE="$dir/rabbitmq" \
  RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_NODENAME="solo$port@localhost" \
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_DIST_PORT="$dist" \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
  RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
printf 'listeners.tcp.default = 127.0.0.1:%s\ndisk_free_limit.absolute = 50MB\nloopback_users = none\n' "$port" > "$dir/rabbitmq.conf"
echo '[].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
start() {
  pgrep -x epmd >/dev/null || (epmd -address 127.0.0.1 -port 4369 -daemon)
  nohup /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/log/stdout.log" 2>&1 &
  launcher=$!
  for _ in $(seq 1 120); do
    [ -s "$RABBITMQ_PID_FILE" ] && break
    kill -0 "$launcher" 2>/dev/null || { tail -5 "$dir/log/stdout.log" >&2; exit 1; }
    sleep 0.5
  done
  "$ctl" -n "$RABBITMQ_NODENAME" wait "$RABBITMQ_PID_FILE" --timeout 120 >/dev/null
}
stop() {
  if [ -s "$RABBITMQ_PID_FILE" ]; then
    pid="$(cat "$RABBITMQ_PID_FILE")"
    "$ctl" -n "$RABBITMQ_NODENAME" stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    rm -f "$RABBITMQ_PID_FILE"
  fi
}
case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) echo "usage: rabbitmq.sh start|stop|restart DIR PORT [DIST_PORT]" >&2; exit 2 ;;
esac
