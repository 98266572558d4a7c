# shellcheck shell=bash
# The local modelwatch stack, as a library sourced by ci/demo.sh and tests/e2e/*.test.sh:
# the notification receiver, the demo config, baselines, rulegen output, Alertmanager,
# Prometheus, the exporter and the traffic generator, all on 127.0.0.1 with free ports,
# all files under one work directory. Everything started is stopped by stack_stop (call it
# from an EXIT trap).
#
# Usage:
#   source examples/demo/stack.sh
#   stack_init WORK_DIR BUILD_DIR SOURCE_DIR   # sets the variables below
#   trap stack_stop EXIT
#   stack_prepare                 # receiver, config, baselines, rulegen generate, checks
#   stack_start_services          # Alertmanager, Prometheus, exporter; waits until ready
#   stack_start_generator SCENARIO.yaml [extra generator flags...]
#
# After stack_prepare/stack_start_services: STACK_RECEIVER_URL, STACK_AM_URL, STACK_PROM_URL,
# STACK_EXPORTER_URL, STACK_GENERATED (rulegen output), STACK_CONFIG (config dir),
# STACK_NOTIFICATIONS (receiver log), STACK_EVENTS (anomaly events), STACK_GEN_PID.

STACK_PY=/usr/bin/python3
STACK_PIDS=()
STACK_NAMES=()

stack_log() { printf '[stack %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

stack_die() {
  stack_log "ERROR: $*"
  return 1
}

# A free TCP port on 127.0.0.1 (the kernel's choice; released right away, so a tiny race
# remains, acceptable on a test machine).
stack_free_port() {
  "$STACK_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stack_wait_http URL SECONDS [NAME]: polls until URL answers 200, at most SECONDS.
stack_wait_http() {
  local url=$1 limit=$2 name=${3:-$1} i
  for ((i = 0; i < limit * 5; i++)); do
    if curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  stack_die "$name did not answer 200 at $url within ${limit}s"
}

# stack_wait_file FILE SECONDS
stack_wait_file() {
  local f=$1 limit=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    [[ -s $f ]] && return 0
    sleep 0.1
  done
  stack_die "$f did not appear within ${limit}s"
}

# stack_spawn NAME LOGFILE CMD...: starts CMD in the background, remembers its pid.
stack_spawn() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  local pid=$!
  STACK_PIDS+=("$pid")
  STACK_NAMES+=("$name")
  stack_log "started $name (pid $pid, log $log)"
}

# stack_alive NAME: fails (with the tail of its log) if the process NAME has exited.
stack_alive() {
  local name=$1 i
  for i in "${!STACK_NAMES[@]}"; do
    if [[ ${STACK_NAMES[$i]} == "$name" ]]; then
      if kill -0 "${STACK_PIDS[$i]}" 2>/dev/null; then return 0; fi
      stack_log "$name (pid ${STACK_PIDS[$i]}) has exited; last lines of its log:"
      tail -n 20 "$STACK_WORK/$name.log" >&2 || true
      return 1
    fi
  done
  return 1
}

stack_init() {
  STACK_WORK=$1
  STACK_BUILD=$2
  STACK_SRC=$3
  mkdir -p "$STACK_WORK"
  STACK_EXPORTER_BIN=$STACK_BUILD/exporter/modelwatch-exporter
  STACK_RULEGEN_BIN=$STACK_BUILD/rulegen/modelwatch-rulegen
  STACK_DEMO=$STACK_SRC/examples/demo
  STACK_CONFIG=$STACK_WORK/config
  STACK_LOGS=$STACK_WORK/logs
  STACK_BASELINES=$STACK_WORK/baselines
  STACK_GENERATED=$STACK_WORK/generated
  STACK_NOTIFICATIONS=$STACK_WORK/notifications.jsonl
  STACK_EVENTS=$STACK_WORK/events.jsonl
  : >"$STACK_EVENTS"
}

# Stops everything this library started, newest first: SIGTERM, then SIGKILL after 5 s.
stack_stop() {
  local i pid n
  for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${STACK_PIDS[$i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((n = 0; n < 50; n++)); do
    local alive=0
    for pid in "${STACK_PIDS[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${STACK_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  STACK_PIDS=()
  STACK_NAMES=()
}

# Checks that the binaries exist; names exactly what is missing.
stack_check_binaries() {
  local missing=()
  [[ -x $STACK_EXPORTER_BIN ]] || missing+=("$STACK_EXPORTER_BIN")
  [[ -x $STACK_RULEGEN_BIN ]] || missing+=("$STACK_RULEGEN_BIN")
  for tool in /usr/bin/prometheus /usr/bin/prometheus-alertmanager /usr/bin/promtool \
    /usr/bin/amtool curl "$STACK_PY"; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    stack_die "missing: ${missing[*]}"
    return 1
  fi
}

stack_prepare() {
  stack_check_binaries || return 1
  # 1. The notification receiver (PagerDuty/Slack/heartbeat over HTTP, e-mail over SMTP).
  stack_spawn receiver "$STACK_WORK/receiver.log" "$STACK_PY" -u "$STACK_DEMO/webhook_receiver.py" \
    --port 0 --port-file "$STACK_WORK/receiver.port" --smtp-port 0 \
    --smtp-port-file "$STACK_WORK/smtp.port" --log "$STACK_NOTIFICATIONS"
  stack_wait_file "$STACK_WORK/receiver.port" 10 || return 1
  stack_wait_file "$STACK_WORK/smtp.port" 10 || return 1
  STACK_RECEIVER_URL=http://127.0.0.1:$(cat "$STACK_WORK/receiver.port")
  STACK_SMTP=127.0.0.1:$(cat "$STACK_WORK/smtp.port")
  stack_wait_http "$STACK_RECEIVER_URL/-/healthy" 10 receiver || return 1

  # 2. The demo config: the example models with seconds-scale windows and local receivers.
  STACK_AM_PORT=$(stack_free_port)
  "$STACK_PY" "$STACK_DEMO/prepare_config.py" --models-dir "$STACK_SRC/examples/models" \
    --out "$STACK_CONFIG" --log-dir "$STACK_LOGS" --baseline-dir "$STACK_BASELINES" \
    --secrets-dir "$STACK_WORK/secrets" --receiver-url "$STACK_RECEIVER_URL" \
    --smtp "$STACK_SMTP" >"$STACK_WORK/models.txt" || return 1
  read -r -a STACK_MODELS <"$STACK_WORK/models.txt"
  stack_log "models: ${STACK_MODELS[*]}"

  # 3. Reference data and baselines.
  local m
  mkdir -p "$STACK_WORK/reference"
  for m in "${STACK_MODELS[@]}"; do
    "$STACK_PY" "$STACK_DEMO/traffic_generator.py" --config-dir "$STACK_CONFIG" --reference \
      --model "$m" --count 6000 --seed 11 --output "$STACK_WORK/reference/$m.jsonl" >/dev/null ||
      return 1
    if ! "$STACK_EXPORTER_BIN" baseline --config.dir="$STACK_CONFIG" --model="$m" \
      --input="$STACK_WORK/reference/$m.jsonl" --output="$STACK_BASELINES/$m.json" \
      >"$STACK_WORK/baseline-$m.log" 2>&1; then
      cat "$STACK_WORK/baseline-$m.log" >&2
      stack_die "modelwatch-exporter baseline failed for $m"
      return 1
    fi
  done

  # 4. Rules, Alertmanager config and dashboards.
  if ! "$STACK_RULEGEN_BIN" generate --config.dir="$STACK_CONFIG" --out="$STACK_GENERATED" \
    >"$STACK_WORK/rulegen.log" 2>&1; then
    cat "$STACK_WORK/rulegen.log" >&2
    stack_die "modelwatch-rulegen generate failed"
    return 1
  fi
  local f
  for f in "$STACK_GENERATED/alertmanager/alertmanager.yml" "$STACK_GENERATED/rules"; do
    [[ -e $f ]] || {
      stack_die "rulegen output lacks $f"
      return 1
    }
  done
  if ! promtool check rules "$STACK_GENERATED"/rules/*.yml >"$STACK_WORK/promtool.log" 2>&1; then
    cat "$STACK_WORK/promtool.log" >&2
    stack_die "promtool check rules failed on the generated rules"
    return 1
  fi
  if ! amtool check-config "$STACK_GENERATED/alertmanager/alertmanager.yml" \
    >"$STACK_WORK/amtool.log" 2>&1; then
    cat "$STACK_WORK/amtool.log" >&2
    stack_die "amtool check-config failed on the generated Alertmanager config"
    return 1
  fi
}

stack_start_services() {
  STACK_PROM_PORT=$(stack_free_port)
  STACK_EXPORTER_PORT=$(stack_free_port)
  STACK_AM_URL=http://127.0.0.1:$STACK_AM_PORT
  STACK_PROM_URL=http://127.0.0.1:$STACK_PROM_PORT
  STACK_EXPORTER_URL=http://127.0.0.1:$STACK_EXPORTER_PORT

  stack_spawn alertmanager "$STACK_WORK/alertmanager.log" /usr/bin/prometheus-alertmanager \
    --config.file="$STACK_GENERATED/alertmanager/alertmanager.yml" \
    --storage.path="$STACK_WORK/alertmanager-data" \
    --web.listen-address="127.0.0.1:$STACK_AM_PORT" --web.external-url="$STACK_AM_URL" \
    --cluster.listen-address="" --log.level=info

  cat >"$STACK_WORK/prometheus.yml" <<EOF
# Written by examples/demo/stack.sh for the local demo stack.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $STACK_GENERATED/rules/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$STACK_AM_PORT"]
scrape_configs:
  - job_name: modelwatch
    static_configs:
      - targets: ["127.0.0.1:$STACK_EXPORTER_PORT"]
EOF
  promtool check config "$STACK_WORK/prometheus.yml" >"$STACK_WORK/promtool-config.log" 2>&1 || {
    cat "$STACK_WORK/promtool-config.log" >&2
    stack_die "promtool check config failed"
    return 1
  }
  stack_spawn prometheus "$STACK_WORK/prometheus.log" /usr/bin/prometheus \
    --config.file="$STACK_WORK/prometheus.yml" --storage.tsdb.path="$STACK_WORK/prometheus-data" \
    --web.listen-address="127.0.0.1:$STACK_PROM_PORT" --web.external-url="$STACK_PROM_URL" \
    --rules.alert.resend-delay=2s --log.level=info

  mkdir -p "$STACK_WORK/state"
  stack_spawn exporter "$STACK_WORK/exporter.log" "$STACK_EXPORTER_BIN" \
    --config.dir="$STACK_CONFIG" --web.listen-address="127.0.0.1:$STACK_EXPORTER_PORT" \
    --state.dir="$STACK_WORK/state" --log.level=info

  stack_wait_http "$STACK_AM_URL/-/ready" 30 alertmanager || {
    stack_alive alertmanager
    return 1
  }
  stack_wait_http "$STACK_PROM_URL/-/ready" 60 prometheus || {
    stack_alive prometheus
    return 1
  }
  stack_wait_http "$STACK_EXPORTER_URL/-/ready" 30 exporter || {
    stack_alive exporter
    return 1
  }
  printf 'STACK_%s=%s\n' EXPORTER_URL "$STACK_EXPORTER_URL" PROM_URL "$STACK_PROM_URL" \
    AM_URL "$STACK_AM_URL" RECEIVER_URL "$STACK_RECEIVER_URL" >"$STACK_WORK/urls.env"
}

# stack_start_generator SCENARIO [flags...]: live traffic into the models' log directories.
stack_start_generator() {
  local scenario=$1
  shift
  stack_spawn generator "$STACK_WORK/generator.log" "$STACK_PY" -u "$STACK_DEMO/traffic_generator.py" \
    --config-dir "$STACK_CONFIG" --scenario "$scenario" --events "$STACK_EVENTS" "$@"
  # shellcheck disable=SC2034  # read by the scripts that source this library
  STACK_GEN_PID=${STACK_PIDS[-1]}
}
