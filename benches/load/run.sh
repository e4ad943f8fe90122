#!/usr/bin/env bash
# HTTP load of the reference shop (issue 3).
#
# Builds the shop in release, starts it on loopback with the demo catalog and a rate limit
# too high to throttle, serves the shop's own product-detail JSON from nginx (the static
# baseline) on another loopback port, and drives both with wrk in the same run: product
# detail, product list, search, add-to-cart and checkout, each at every concurrency of
# CONNECTIONS, for DURATION each. Prints a markdown table (also written to
# $WORK/results.md) and stops the shop and nginx on exit.
#
#   benches/load/run.sh                     # 10 s per run, concurrency 1 and 32
#   DURATION=5s CONNECTIONS="32" benches/load/run.sh
#
# Settings (environment):
#   DURATION        wrk duration of every run (default 10s)
#   CONNECTIONS     concurrencies, space-separated (default "1 32"); wrk uses one thread
#                   per connection up to 2 (the machine has 2 cores)
#   SHOP_PORT       shop port on 127.0.0.1 (default 18080)
#   BASELINE_PORT   nginx port on 127.0.0.1 (default 18081)
#   SEARCH_Q        search words (default "wool")
#   SHOP_RUST_LOG   RUST_LOG for the shop (default: unset, the shop's own default `info`)
#   SKIP_BUILD=1    use the existing target/release/shop
#   QUIET_BUSY_MAX  before each run, wait while the machine's CPUs are busier than this
#                   percentage (default 25) ...
#   QUIET_WAIT_MAX  ... for at most this many seconds (default 120)
#   RETRIES         runs during which other processes used more CPU than QUIET_BUSY_MAX
#                   (% of one core) are measured again, up to this many times (default 2);
#                   the CPU other processes used during each kept run is reported
#   WORK            logs, nginx files and results (default target/load)
#
# Needs wrk, nginx, curl and jq; when missing and run as root, installs them from Debian
# (apt-get install wrk nginx-light curl jq; on a host running systemd that also enables
# Debian's own nginx service on port 80: stop it if unwanted). The baseline nginx runs from
# a generated config under $WORK. Everything listens on 127.0.0.1 only, and every run has a
# fixed duration. Exits 1 when a tool is missing, the build fails, or the shop (or nginx)
# does not start.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-"1 32"}
SHOP_PORT=${SHOP_PORT:-18080}
BASELINE_PORT=${BASELINE_PORT:-18081}
SEARCH_Q=${SEARCH_Q:-wool}
QUIET_BUSY_MAX=${QUIET_BUSY_MAX:-25}
QUIET_WAIT_MAX=${QUIET_WAIT_MAX:-120}
RETRIES=${RETRIES:-2}
WORK=${WORK:-$ROOT/target/load}
SHOP_BIN=$ROOT/target/release/shop
SHOP=http://127.0.0.1:$SHOP_PORT
BASELINE=http://127.0.0.1:$BASELINE_PORT
RUN_ID=$(date +%s)-$$
CLK_TCK=$(getconf CLK_TCK)
STOCK=1000000000 # units set on each checkout SKU, so stock never runs out

SHOP_PID=""
NGINX_PID=""

log() { printf '%s\n' "load: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# ---------------------------------------------------------------------------------------
# Clean-up: stop what this script started, by pid.

stop_pid() { # pid, name
  local pid=$1 name=$2 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$name (pid $pid) did not stop in 5 s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$NGINX_PID" nginx
  stop_pid "$SHOP_PID" shop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Tools.

NGINX=$(command -v nginx || echo /usr/sbin/nginx)

ensure_tools() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  [[ -x $NGINX ]] || missing+=(nginx-light)
  command -v curl >/dev/null || missing+=(curl)
  command -v jq >/dev/null || missing+=(jq)
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
  log "installing ${missing[*]} from Debian"
  apt-get install -y --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
    { apt-get update >>"$WORK/apt.log" 2>&1 && apt-get install -y --no-install-recommends "${missing[@]}" >>"$WORK/apt.log" 2>&1; } ||
    die "could not install ${missing[*]}: see $WORK/apt.log"
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

port_free() { ! curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; }

# ---------------------------------------------------------------------------------------
# Measuring helpers.

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# CPU ticks (user + system) of a process and its children processes (nginx workers).
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    [[ -r /proc/$pid/stat ]] || continue
    total=$((total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
  done
  echo "$total"
}

# Busy CPU ticks (user, nice, system) of the whole machine (every core) so far; interrupt
# time is left out, as most of it is the loopback traffic of the run itself.
machine_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 }' /proc/stat; }

# The share (0-100) of both CPUs busy over one second, whoever uses them.
busy_percent() {
  local a b
  a=($(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat))
  sleep 1
  b=($(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat))
  awk -v busy=$((b[0] - a[0])) -v idle=$((b[1] - a[1])) \
    'BEGIN { t = busy + idle; printf "%.0f", (t > 0 ? 100 * busy / t : 0) }'
}

# Waits (bounded) until the machine is quiet; prints the busy share seen last.
wait_quiet() {
  local waited=0 busy
  busy=$(busy_percent)
  while ((busy > QUIET_BUSY_MAX && waited < QUIET_WAIT_MAX)); do
    ((waited == 0)) && log "  waiting for a quieter machine (${busy}% busy)"
    sleep 4
    waited=$((waited + 5))
    busy=$(busy_percent)
  done
  echo "$busy"
}

# DURATION in seconds (wrk's syntax: 10, 10s, 2m, 1h).
duration_secs() {
  awk -v d="$DURATION" 'BEGIN { n = d + 0; u = substr(d, length(d)); if (u == "m") n *= 60; else if (u == "h") n *= 3600; printf "%d", n }'
}

# Seconds of CPU (user + system) used by the waited-for children of this shell, from the
# output of the `times` builtin saved in a file.
children_cpu() {
  tail -1 "$1" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); t += p[1] * 60 + p[2] }; printf "%.3f", t }'
}

fmt_us() { awk -v us="$1" 'BEGIN { if (us < 1000) printf "%d µs", us; else printf "%.2f ms", us / 1000 }'; }
fmt_rate_plain() { awk -v n="$1" 'BEGIN { x = sprintf("%.0f", n); out = ""; while (length(x) > 3) { out = "," substr(x, length(x) - 2) out; x = substr(x, 1, length(x) - 3) }; print x out }'; }

# ---------------------------------------------------------------------------------------
# One wrk run: run <label> <connections> <server pid> <url> <script> [kind shown]
# Appends a row to ROWS, the per-kind breakdown to DETAILS, remembers rates in RATE[].

ROWS=()
DETAILS=()
declare -A RATE
declare -A OK

run() {
  local label=$1 conns=$2 pid=$3 url=$4 script=$5 main_kind=${6:-get}
  local threads=$((conns < 2 ? conns : 2)) attempt out busy t0 t1 m0 m1 others
  for attempt in $(seq $((RETRIES + 1))); do
    busy=$(wait_quiet)
    log "$label, $conns connection(s), $DURATION (machine ${busy}% busy before)"
    t0=$(cpu_ticks "$pid")
    m0=$(machine_busy_ticks)
    times >"$WORK/times.before"
    out=$(LOAD_LUA_DIR=$HERE LOAD_RUN_ID="$RUN_ID-$conns-$attempt" LOAD_SKUS="$SKUS" \
      timeout "$(($(duration_secs) + 60))" wrk -t"$threads" -c"$conns" -d"$DURATION" --timeout 5s --latency \
      -s "$HERE/$script" "$url" 2>&1) || die "wrk failed for $label: $out"
    times >"$WORK/times.after"
    m1=$(machine_busy_ticks)
    t1=$(cpu_ticks "$pid")
    printf '%s\n' "$out" >>"$WORK/wrk.log"
    # CPU used by other processes during the run (builds, tests...), in % of one core.
    others=$(awk -v m=$((m1 - m0)) -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$(duration_secs)" \
      -v a="$(children_cpu "$WORK/times.before")" -v b="$(children_cpu "$WORK/times.after")" \
      'BEGIN { o = 100 * ((m - t) / hz - (b - a)) / s; printf "%.0f", (o > 0 ? o : 0) }')
    ((others <= QUIET_BUSY_MAX)) && break
    if ((attempt <= RETRIES)); then
      log "  other processes used ${others}% CPU during the run: measuring again"
    fi
  done
  local secs sock unmatched line ok bad p50 p99 rate cpu client_cpu per_req
  secs=$(sed -n 's/^LOADWRK .*duration_us=\([0-9]*\).*/\1/p' <<<"$out")
  sock=$(sed -n 's/^LOADWRK .*sockerr=\([0-9]*\).*/\1/p' <<<"$out")
  unmatched=$(sed -n 's/^LOADWRK .*unmatched=\([0-9]*\).*/\1/p' <<<"$out")
  [[ -n $secs ]] || die "no result from wrk for $label: $out"
  secs=$(awk -v us="$secs" 'BEGIN { printf "%.3f", us / 1e6 }')
  cpu=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f%%", 100 * t / hz / s }')
  client_cpu=$(awk -v a="$(children_cpu "$WORK/times.before")" -v b="$(children_cpu "$WORK/times.after")" \
    -v s="$secs" 'BEGIN { printf "%.0f%%", 100 * (b - a) / s }')
  line=$(grep "^LOADRESULT kind=$main_kind " <<<"$out") || die "no $main_kind result from wrk for $label: $out"
  ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
  bad=$(sed -n 's/.* bad=\([0-9]*\).*/\1/p' <<<"$line")
  p50=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  rate=$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  RATE["$label/$conns"]=$rate
  OK["$label/$conns"]=$ok
  # Every non-2xx of the run (any kind), so none hides in a stateful script.
  local all_bad
  all_bad=$(awk '/^LOADRESULT/ { for (i = 1; i <= NF; i++) if ($i ~ /^bad=/) { sub(/bad=/, "", $i); s += $i } } END { print s + 0 }' <<<"$out")
  per_req=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$ok" 'BEGIN { printf "%.0f", (n > 0 ? 1e6 * t / hz / n : 0) }')
  local rss="-"
  [[ $pid == "$SHOP_PID" ]] && rss=$(rss_mib "$SHOP_PID")
  ROWS+=("| $label | $conns | $(fmt_rate_plain "$rate") | $(fmt_us "$p50") | $(fmt_us "$p99") | $all_bad | $((sock + unmatched)) | $cpu | $per_req µs | $client_cpu | $rss | ${others}% |")
  if [[ $script != get.lua ]]; then
    local kind kline
    while read -r kline; do
      kind=$(sed -n 's/.*kind=\([a-z]*\).*/\1/p' <<<"$kline")
      ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$kline")
      bad=$(sed -n 's/.* bad=\([0-9]*\).*/\1/p' <<<"$kline")
      ((ok + bad > 0)) || continue
      p50=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$kline")
      p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$kline")
      DETAILS+=("| $label | $conns | $kind | $ok | $(fmt_rate_plain "$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')") | $(fmt_us "$p50") | $(fmt_us "$p99") | $bad |")
    done < <(grep '^LOADRESULT' <<<"$out")
    while read -r kline; do
      [[ -n $kline ]] && DETAILS+=("| $label | $conns | non-2xx: ${kline#LOADERR } | | | | | |")
    done < <(grep '^LOADERR' <<<"$out" || true)
  fi
}

# ---------------------------------------------------------------------------------------
# Start.

mkdir -p "$WORK"
: >"$WORK/wrk.log"
ensure_tools
port_free "$SHOP_PORT" || die "127.0.0.1:$SHOP_PORT is in use: set SHOP_PORT"
port_free "$BASELINE_PORT" || die "127.0.0.1:$BASELINE_PORT is in use: set BASELINE_PORT"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building the shop (cargo build --release -p shop)"
  (cd "$ROOT" && cargo build --release -p shop) >"$WORK/build.log" 2>&1 ||
    die "the release build failed: see $WORK/build.log"
fi
[[ -x $SHOP_BIN ]] || die "$SHOP_BIN is missing: build it (cargo build --release -p shop)"

# The shop: its defaults but for the rate limit, with no SHOPKIT_* or RUST_LOG of the
# caller's environment.
shop_env=(env)
for var in $(compgen -e); do
  [[ $var == SHOPKIT_* || $var == RUST_LOG ]] && shop_env+=(-u "$var")
done
[[ -n ${SHOP_RUST_LOG:-} ]] && shop_env+=("RUST_LOG=$SHOP_RUST_LOG")
log "starting the shop on $SHOP (log: $WORK/shop.log)"
"${shop_env[@]}" "$SHOP_BIN" --listen "127.0.0.1:$SHOP_PORT" --seed --seed-products 1000 \
  --rate-limit-per-second 1000000 --rate-limit-burst 1000000 --shutdown-grace 2 \
  >"$WORK/shop.log" 2>&1 &
SHOP_PID=$!
for _ in $(seq 600); do
  curl -sf -o /dev/null --max-time 1 "$SHOP/readyz" && break
  kill -0 "$SHOP_PID" 2>/dev/null || break
  sleep 0.1
done
if ! curl -sf -o /dev/null --max-time 1 "$SHOP/readyz"; then
  tail -20 "$WORK/shop.log" >&2 || true
  die "the shop did not start (see $WORK/shop.log)"
fi
sleep 1 # let start-up settle before reading the RSS
RSS_SEEDED=$(rss_mib "$SHOP_PID")

# The endpoints, from the seeded catalog.
LIST_PATH="/api/v1/products?limit=20&currency=USD"
list=$(curl -sf "$SHOP$LIST_PATH") || die "GET $LIST_PATH failed"
SLUG=$(jq -r '.items[0].slug' <<<"$list")
DETAIL_PATH="/api/v1/products/$SLUG"
SEARCH_PATH="/api/v1/search?q=$SEARCH_Q&limit=20&currency=USD"
hits=$(curl -sf "$SHOP$SEARCH_PATH" | jq '.items | length') || die "GET $SEARCH_PATH failed"
((hits > 0)) || die "search for '$SEARCH_Q' finds nothing: set SEARCH_Q"
# Ten in-stock SKUs priced in USD: add-to-cart rotates over them, checkout orders them.
SKUS=$(jq -r '[.items[].variants[] | select(.in_stock == true) | .sku] | .[:10] | join(",")' <<<"$list")
[[ -n $SKUS ]] || die "no in-stock SKU on the first product page"

# Enough stock for every checkout: the demo admin (as the shop printed it) sets it.
admin_email=$(sed -n 's/.*sign in as \([^ ]*\) with password \([^ ]*\).*/\1/p' "$WORK/shop.log" | head -1)
admin_password=$(sed -n 's/.*sign in as \([^ ]*\) with password \([^ ]*\).*/\2/p' "$WORK/shop.log" | head -1)
STOCK_NOTE="each checkout SKU set to $STOCK units through PUT /api/admin/v1/inventory/{sku}"
token=$(curl -sf -X POST "$SHOP/api/v1/auth/sign-in" -H 'content-type: application/json' \
  -d "{\"email\":\"${admin_email:-admin@shopkit.local}\",\"password\":\"${admin_password:-shopkit-demo}\"}" |
  jq -r '.access_token // empty') || token=""
for sku in ${SKUS//,/ }; do
  if [[ -z $token ]] || ! curl -sf -o /dev/null -X PUT "$SHOP/api/admin/v1/inventory/$sku" \
    -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"on_hand\":$STOCK}"; then
    STOCK_NOTE="stock NOT raised (admin sign-in or PUT /api/admin/v1/inventory failed): checkouts are limited by the seeded stock of $SKUS"
    log "$STOCK_NOTE"
    break
  fi
done

# The baseline: nginx serving the shop's own product-detail body as a static file.
mkdir -p "$WORK/nginx/www" "$WORK/nginx/tmp"
curl -sf "$SHOP$DETAIL_PATH" >"$WORK/nginx/www/product.json" || die "GET $DETAIL_PATH failed"
cat >"$WORK/nginx/nginx.conf" <<EOF
# The static baseline of benches/load/run.sh (generated).
worker_processes $(nproc);
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
  server {
    listen 127.0.0.1:$BASELINE_PORT;
    root $WORK/nginx/www;
    location / { default_type application/json; }
  }
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
for _ in $(seq 50); do
  curl -sf -o /dev/null --max-time 1 "$BASELINE/product.json" && break
  sleep 0.1
done
cmp -s <(curl -sf "$BASELINE/product.json") <(curl -sf "$SHOP$DETAIL_PATH") ||
  die "the baseline does not serve the shop's product-detail body (see $WORK/nginx/error.log)"
BODY_BYTES=$(wc -c <"$WORK/nginx/www/product.json")

# ---------------------------------------------------------------------------------------
# The runs. Baseline and product detail alternate, so they meet the same conditions.

for c in $CONNECTIONS; do
  run "static baseline (nginx)" "$c" "$NGINX_PID" "$BASELINE/product.json" get.lua
  run "product detail" "$c" "$SHOP_PID" "$SHOP$DETAIL_PATH" get.lua
done
for c in $CONNECTIONS; do
  run "product list" "$c" "$SHOP_PID" "$SHOP$LIST_PATH" get.lua
done
for c in $CONNECTIONS; do
  run "search" "$c" "$SHOP_PID" "$SHOP$SEARCH_PATH" get.lua
done
for c in $CONNECTIONS; do
  run "add-to-cart" "$c" "$SHOP_PID" "$SHOP/" add_to_cart.lua add
done
RSS_BEFORE_CHECKOUT=$(rss_mib "$SHOP_PID")
ORDERS=0
for c in $CONNECTIONS; do
  run "checkout (orders/s)" "$c" "$SHOP_PID" "$SHOP/" checkout.lua checkout
  ORDERS=$((ORDERS + ${OK["checkout (orders/s)/$c"]}))
done
wait_quiet >/dev/null # the outbox worker delivers the last orders' events
RSS_AFTER=$(rss_mib "$SHOP_PID")
HWM_AFTER=$(hwm_mib "$SHOP_PID")
PER_ORDER_KIB=$(awk -v a="$RSS_AFTER" -v b="$RSS_BEFORE_CHECKOUT" -v n="$ORDERS" \
  'BEGIN { printf "%.1f", (n > 0 ? (a - b) * 1024 / n : 0) }')

# ---------------------------------------------------------------------------------------
# Report.

ratio() { # a / b as a percentage
  awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'
}
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "MISSED") }'; }

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " + uncommitted changes" || true)
last_c=${CONNECTIONS##* }
detail=${RATE["product detail/$last_c"]:-0}
base=${RATE["static baseline (nginx)/$last_c"]:-0}
orders=${RATE["checkout (orders/s)/$last_c"]:-0}
{
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit$dirty; $(nproc) cores ($cpu_model);"
  echo "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $("$NGINX" -v 2>&1 | sed 's/.*: //'); $DURATION per run;"
  echo "wrk threads = min(connections, 2). wrk, the shop and nginx share the same $(nproc) cores."
  echo
  echo "| endpoint | connections | ok requests/s | p50 | p99 | non-2xx | socket errors | server CPU | server CPU per ok request | wrk CPU | shop RSS after (MiB) | other processes' CPU |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${ROWS[@]}"
  echo
  for c in $CONNECTIONS; do
    echo "- product detail / static baseline at $c connection(s): $(ratio "${RATE["product detail/$c"]:-0}" "${RATE["static baseline (nginx)/$c"]:-0}")"
  done
  echo "- shop RSS: $RSS_SEEDED MiB after seeding, $RSS_AFTER MiB after the runs (peak $HWM_AFTER MiB);"
  echo "  $RSS_BEFORE_CHECKOUT MiB before the checkout runs, so about $PER_ORDER_KIB KiB kept per order ($ORDERS orders)"
  echo "- body: $BODY_BYTES bytes (GET $DETAIL_PATH); list: GET $LIST_PATH; search: GET $SEARCH_PATH"
  echo "- stock: $STOCK_NOTE; SKUs: $SKUS"
  echo
  echo "Targets (throughput at $last_c connections):"
  echo "- product detail ≥ 50% of the static baseline: $(ratio "$detail" "$base") ($(fmt_rate_plain "$detail") vs $(fmt_rate_plain "$base") requests/s): $(verdict "$(awk -v a="$detail" -v b="$base" 'BEGIN { print (b > 0 && a >= b / 2) }')")"
  echo "- checkout ≥ 5,000 orders/s: $(fmt_rate_plain "$orders") orders/s: $(verdict "$(awk -v a="$orders" 'BEGIN { print (a >= 5000) }')")"
  echo "- RSS ≤ 150 MiB: $RSS_SEEDED MiB seeded, $RSS_AFTER MiB after the runs: $(verdict "$(awk -v a="$RSS_SEEDED" -v b="$RSS_AFTER" 'BEGIN { print (a <= 150 && b <= 150) }')")"
  echo
  echo "Requests by kind in the stateful runs (latency measured in wrk's Lua, send to response):"
  echo
  echo "| run | connections | kind | ok | ok/s | p50 | p99 | non-2xx |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${DETAILS[@]}"
} | tee "$WORK/results.md"
log "results: $WORK/results.md, wrk output: $WORK/wrk.log, shop log: $WORK/shop.log"
