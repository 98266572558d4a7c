#!/bin/bash
# What a person sees: the exporter's landing page rendered by headless Chromium (Debian's
# `chromium`). Checks the rendered DOM lists every model and version with its counts, and
# saves the screenshot as a test artifact: BUILD_DIR/artifacts/landing-page.png.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed (ci/setup.sh installs it)"

mkdir -p "$WORK/models" "$WORK/logs" "$WORK/state" "$BUILD_DIR/artifacts"
$PY "$HERE/gen_logs.py" scrape "$WORK/logs"
cat >"$WORK/models/fraud.yaml" <<YAML
model: fraud
owner: {team: fraud-ml}
tier: 1
task: binary_classification
source: {paths: ["$WORK/logs/fraud*.jsonl"], start_at: beginning, max_line_bytes: 2048}
YAML
cat >"$WORK/models/eta.yaml" <<YAML
model: eta
owner: {team: logistics}
tier: 3
task: regression
source: {paths: ["$WORK/logs/shared.jsonl"], start_at: beginning, fields: {prediction: eta_minutes}}
YAML

# A source glob that matches nothing: warned in the log and on the page, never silently idle.
cat >"$WORK/models/idle.yaml" <<YAML
model: idle
owner: {team: nobody}
tier: 3
task: binary_classification
source: {paths: ["$WORK/no-such-dir/*.jsonl"]}
YAML

PORT=$(free_port)
start_exporter --config.dir="$WORK/models" --state.dir="$WORK/state"
wait_ready

chrome() {
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/chromium-profile-$1" --window-size=1200,600 "${@:2}" \
    "http://127.0.0.1:$PORT/" 2>>"$WORK/chromium.log"
}

# The DOM as Chromium renders it: every model, with its versions and record counts.
dom=$(chrome dom --dump-dom) || fail "chromium --dump-dom failed: $(tail -3 "$WORK/chromium.log")"
for want in "modelwatch exporter" ">fraud<" ">eta<" "fraud-ml" "logistics" "Predictions" \
  ">idle<" "0: no file matches the source paths" 'href="/api/v1/samples/fraud"'; do
  grep -qF "$want" <<<"$dom" || fail "rendered landing page lacks '$want'"
done
predictions=$(metric_value 'model_predictions_total{model="fraud",version="v1"}')
[[ -n "$predictions" ]] || fail "no model_predictions_total for fraud v1"
grep -qF "<td>v1</td><td>$predictions</td>" <<<"$dom" ||
  fail "landing page does not show fraud v1 with $predictions predictions"

grep -q 'level=warn msg="source matches no file; nothing is read until one appears" kind=predictions source=idle' \
  "$WORK/exporter.log" || fail "no warning for the source that matches no file"
grep -q 'msg="source matches no file.*source=fraud' "$WORK/exporter.log" &&
  fail "warned about a source that matches files"

png="$(cd "$BUILD_DIR" && pwd)/artifacts/landing-page.png"
rm -f "$png"
(cd "$WORK" && chrome shot --screenshot="$png" >/dev/null) ||
  fail "chromium --screenshot failed: $(tail -3 "$WORK/chromium.log")"
[[ -s "$png" ]] || fail "no screenshot written"
# A PNG of the requested size, not an empty or error image.
$PY - "$png" <<'PYEOF' || fail "screenshot is not a plausible 1200x600 PNG"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
width, height = struct.unpack(">II", data[16:24])
assert (width, height) == (1200, 600), (width, height)
assert len(data) > 8000, "suspiciously small: %d bytes" % len(data)
print("landing page screenshot: %dx%d, %d bytes" % (width, height, len(data)))
PYEOF
echo "saved $png"
stop_exporter
[[ $STOP_RC -eq 0 ]] || fail "exporter exit code $STOP_RC after SIGTERM"
echo "1 passed, 0 failed"
