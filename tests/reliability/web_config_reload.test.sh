#!/bin/bash
# SIGHUP reloads --web.config.file with the model configuration. The exporter starts with
# user alice; the file is rewritten to user bob and SIGHUP sent: from then on alice gets 401
# (although her password was verified and cached before) and bob 200. Then, one after the
# other, a file that is not YAML, a password that is not a bcrypt hash, a file that cannot be
# read, an empty file (no users: authentication off) and a file asking for TLS are each
# refused on SIGHUP: bob keeps working, alice stays
# out, the error is logged with the file and its reason, and the reload counts as failed
# (modelwatch_config_reloads_total{result="failure"}, modelwatch_config_last_reload_successful
# 0). A valid file afterwards is applied again.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../exporter/lib.sh"

# bcrypt (cost 4) of a password, made by libcrypt (libxcrypt, which the exporter links too)
# with a random salt.
bcrypt() {
  $PY - "$1" <<'PY'
import ctypes, sys
lib = ctypes.CDLL("libcrypt.so.1")
lib.crypt_gensalt.restype = ctypes.c_char_p
lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
lib.crypt.restype = ctypes.c_char_p
lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
salt = lib.crypt_gensalt(b"$2b$", 4, None, 0)
hashed = lib.crypt(sys.argv[1].encode(), salt) if salt else None
if not hashed or not hashed.startswith(b"$2b$04$") or len(hashed) != 60:
    sys.exit("libcrypt could not make a bcrypt hash")
print(hashed.decode())
PY
}
ALICE_HASH=$(bcrypt alice-pw) || fail "cannot make a bcrypt hash"
BOB_HASH=$(bcrypt bob-pw) || fail "cannot make a bcrypt hash"
ALICE=alice:alice-pw
BOB=bob:bob-pw

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state"
echo '{"ts":1795341600,"score":0.5}' >"$WORK/logs/a.jsonl"
cat >"$WORK/models/m.yaml" <<YAML
model: m
owner: {team: t}
tier: 2
task: binary_classification
source: {paths: ["$WORK/logs/*.jsonl"], start_at: beginning}
YAML
WEB=$WORK/web.yml
users() {  # USER HASH ... : writes the web config with these users
  echo "basic_auth_users:" >"$WEB.new"
  while (($#)); do
    echo "  $1: $2" >>"$WEB.new"
    shift 2
  done
  mv "$WEB.new" "$WEB"
}

code() { http_code /metrics -u "$1"; }  # USER:PASSWORD -> the status of a scrape
expect() {  # USER:PASSWORD STATUS WHEN
  local got
  got=$(code "$1")
  [[ $got == "$2" ]] || fail "${1%%:*} got $got, want $2 $3"
}
# wait_reloads RESULT N : waits (10 s at most) until N reloads counted RESULT (scraping as bob).
wait_reloads() {
  local i got=""
  for i in $(seq 1 100); do
    got=$(curl -s -m 5 -u "$BOB" "http://127.0.0.1:$PORT/metrics" |
      awk -v k="modelwatch_config_reloads_total{result=\"$1\"}" '$1 == k { print $2 }')
    [[ $got == "$2" ]] && return 0
    sleep 0.1
  done
  fail "modelwatch_config_reloads_total{result=\"$1\"} is '$got' (scraped as bob), want $2"
}
reload_gauge() {
  curl -s -m 5 -u "$BOB" "http://127.0.0.1:$PORT/metrics" |
    awk '$1 == "modelwatch_config_last_reload_successful" { print $2 }'
}

# 1. Started with alice only.
users alice "$ALICE_HASH"
PORT=$(free_port)
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state" --web.config.file="$WEB"
wait_ready -u "$ALICE"
expect "$ALICE" 200 "with the web config she is in"
expect "$BOB" 401 "before he is in the web config"
expect "nobody:x" 401 "as an unknown user"

# 2. The file now holds bob only; SIGHUP applies it to every new request.
users bob "$BOB_HASH"
kill -HUP "$EXPORTER_PID"
wait_reloads success 1
expect "$BOB" 200 "after SIGHUP with a web config naming him"
expect "$ALICE" 401 "after SIGHUP with a web config that no longer names her (cached password?)"
[[ $(http_code /-/ready) == 401 ]] || fail "/-/ready without credentials should be 401"
[[ $(reload_gauge) == 1 ]] || fail "modelwatch_config_last_reload_successful should be 1"
grep -q 'msg="web config reloaded"' "$WORK/exporter.log" || fail "the web config reload was not logged"

# 3. Invalid files are refused on SIGHUP; the running web config stays.
failures=0
refused() {  # LOG_REGEX WHAT : after a SIGHUP with a bad web config
  kill -HUP "$EXPORTER_PID"
  failures=$((failures + 1))
  wait_reloads failure "$failures"
  [[ $(reload_gauge) == 0 ]] || fail "modelwatch_config_last_reload_successful should be 0 after $2"
  expect "$BOB" 200 "after a refused reload ($2): the running web config must stay"
  expect "$ALICE" 401 "after a refused reload ($2)"
  grep -E 'level=error msg="web config error, keeping the running web config"' "$WORK/exporter.log" |
    grep -F "file=$WEB " | grep -qE -- "$1" ||
    fail "no error log with the file and the reason ($1) after $2"
}
printf 'basic_auth_users:\n  alice: [unclosed\n' >"$WEB"
refused "web.yml:[0-9]+:[0-9]+: error: " "a file that is not YAML"
printf 'basic_auth_users:\n  alice: not-a-hash\n' >"$WEB"
refused 'web.yml:2:10: error: password of user \\"alice\\" must be a bcrypt hash' \
  "a password that is not a bcrypt hash"
rm "$WEB"
mkdir "$WEB"  # unreadable as a file, also for root
refused "web.yml: error: cannot read web config" "a web config that cannot be read"
rmdir "$WEB"
: >"$WEB"  # emptied (as by an editor caught half-way): would switch authentication off
refused "switching authentication off needs a restart" "an emptied web config"
users alice "$ALICE_HASH" bob "$BOB_HASH"
printf 'tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n' >>"$WEB"
refused "TLS is not supported by this build" "a web config switching TLS on"
kill -0 "$EXPORTER_PID" || fail "the exporter died on a refused web config"

# 4. A valid file is applied again.
users alice "$ALICE_HASH" bob "$BOB_HASH"
kill -HUP "$EXPORTER_PID"
wait_reloads success 2
expect "$ALICE" 200 "after SIGHUP with a web config naming both"
expect "$BOB" 200 "after SIGHUP with a web config naming both"
[[ $(reload_gauge) == 1 ]] || fail "modelwatch_config_last_reload_successful should be 1 again"

stop_exporter
[[ $STOP_RC == 0 ]] || fail "exporter exited $STOP_RC"
echo "PASS: web_config_reload"
