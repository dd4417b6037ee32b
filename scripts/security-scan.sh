#!/usr/bin/env bash
# Security scan: runs sqlmap and wapiti (Debian packages) against a private Greenspace instance on
# 127.0.0.1 and fails if either finds an injectable parameter or a vulnerability.
#
#   npm run security:scan
#
# What it does, in order (docs/security-scan.md has the details and the last result):
#   1. installs sqlmap and wapiti with apt-get when they are missing;
#   2. starts Greenspace on a free loopback port with a throwaway SQLite database in a temp folder
#      and loads a small prescribing file shipped with the tests;
#   3. creates a plain user (no two-factor needed), sets its password through the emailed
#      set-password link and signs in with curl to get a session;
#   4. sqlmap: the sign-in form, the organisation search, an authenticated form (change your name)
#      and the prescribing measures API;
#   5. wapiti: a signed-out crawl and a signed-in crawl of the whole site, then attacks;
#   6. prints a summary; exits 1 on any finding, 2 if a scanner could not finish its job.
#
# All scanner traffic goes through a small local proxy (started by this script) that forwards only
# to the private instance and refuses any other address, so nothing leaves 127.0.0.1. The proxy
# also gives each request its own X-Forwarded-For address (the instance runs with TRUST_PROXY=true)
# and varies the scanners' filler email on sign-in, so that the sign-in rate limits do not answer
# most scanner requests with 429 and hide the code under test. The limits themselves are covered
# by the test suite.
#
# Settings (environment variables, all optional):
#   SQLMAP_LEVEL, SQLMAP_RISK       sqlmap --level and --risk (default 3 and 2; risk 3 adds OR-based
#                                   payloads that can rewrite whole tables, so it is not used)
#   SQLMAP_TIMEOUT                  seconds allowed for each sqlmap target (default 1200)
#   WAPITI_MAX_SCAN_TIME            seconds of crawling for each wapiti run (default 240)
#   WAPITI_MAX_ATTACK_TIME          seconds for each wapiti module in each run (default 180)
#   WAPITI_TIMEOUT                  hard limit in seconds for each wapiti run (default 2400)
#   SECURITY_SCAN_OUTPUT            a folder to copy the scanners' logs and reports to (kept)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SQLMAP_LEVEL="${SQLMAP_LEVEL:-3}"
SQLMAP_RISK="${SQLMAP_RISK:-2}"
SQLMAP_TIMEOUT="${SQLMAP_TIMEOUT:-1200}"
WAPITI_MAX_SCAN_TIME="${WAPITI_MAX_SCAN_TIME:-240}"
WAPITI_MAX_ATTACK_TIME="${WAPITI_MAX_ATTACK_TIME:-180}"
WAPITI_TIMEOUT="${WAPITI_TIMEOUT:-2400}"

SCAN_EMAIL="security-scan@example.test"
SCAN_NAME="Security Scan"

log() { printf '[security-scan] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 2
}

STARTED_AT=$(date +%s)
WORK=""
SERVER_PID=""
PROXY_PID=""
SCANNER_PID=""

# Stops a process this script started, by its PID: SIGTERM, then SIGKILL after a grace period.
stop_pid() {
  local pid="$1" name="$2"
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  log "$name (PID $pid) did not stop on SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_pid "$SCANNER_PID" "scanner"
  stop_pid "$PROXY_PID" "proxy"
  stop_pid "$SERVER_PID" "Greenspace"
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if [[ -n "${SECURITY_SCAN_OUTPUT:-}" ]]; then
      mkdir -p "$SECURITY_SCAN_OUTPUT"
      cp -R "$WORK"/reports/. "$SECURITY_SCAN_OUTPUT"/ 2>/dev/null || true
      cp "$WORK"/server.log "$WORK"/proxy-errors.log "$SECURITY_SCAN_OUTPUT"/ 2>/dev/null || true
      log "reports copied to $SECURITY_SCAN_OUTPUT"
    fi
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# 1. Tools
# ---------------------------------------------------------------------------------------------
install_scanners() {
  local missing=()
  command -v sqlmap >/dev/null 2>&1 || missing+=(sqlmap)
  command -v wapiti >/dev/null 2>&1 || missing+=(wapiti)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v timeout >/dev/null 2>&1 || missing+=(coreutils)
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root or sudo to install: ${missing[*]}"
    sudo=(sudo)
  fi
  log "installing ${missing[*]} from Debian's packages (this can take a few minutes)"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_scanners
command -v node >/dev/null 2>&1 || die "node is needed (Node.js 20 or later)"
[[ -d node_modules ]] || die "run npm install first"
log "$(sqlmap --version 2>/dev/null | head -1 | sed 's/^/sqlmap /') and $(wapiti --version 2>/dev/null | tail -1)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/greenspace-security-scan.XXXXXX")
mkdir -p "$WORK/data" "$WORK/reports"

# ---------------------------------------------------------------------------------------------
# 2. A private instance
# ---------------------------------------------------------------------------------------------
free_port() {
  node -e "const s=require('node:net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

# Only what this instance needs: a settings file or shell of the caller must not point it at a real
# database, a mail server or a single sign-on provider.
APP_ENV=(
  -u SMTP_URL -u OIDC_ISSUER -u OIDC_CLIENT_ID -u OIDC_CLIENT_SECRET -u SECRET_KEY
  -u OUTBOX_DIR -u REFERENCE_DATA_DIR
  NODE_ENV=development
  LOG_LEVEL=warn
  HOST=127.0.0.1
  PORT="$PORT"
  PUBLIC_URL="$BASE"
  DATA_DIR="$WORK/data"
  DATABASE_URL="sqlite:$WORK/data/greenspace.sqlite"
  TRUST_PROXY=true
  EMAIL_WORKER_INTERVAL_MS=200
)
app_env() { env "${APP_ENV[@]}" "$@"; }

log "starting Greenspace on $BASE (data in a temp folder)"
# A simple command (env execs node), so that $! is the server's own PID.
env "${APP_ENV[@]}" node bin/greenspace.js start >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 1 240); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    cat "$WORK/server.log" >&2
    die "Greenspace exited during start"
  fi
  if curl -fsS --max-time 2 "$BASE/readyz" >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.5
done
[[ -n "$ready" ]] || die "Greenspace was not ready after 120 seconds"
log "ready after $(($(date +%s) - STARTED_AT))s"

# A small prescribing file shipped with the tests, so that the prescribing pages and API have data.
app_env node bin/greenspace.js import-epd \
  src/modules/prescribing/test-fixtures/epd_201709_bnf_chapter3_subset.csv >"$WORK/import.log" 2>&1 ||
  { cat "$WORK/import.log" >&2; die "importing the prescribing fixture failed"; }
curl -fsS --noproxy '*' --max-time 10 "$BASE/api/prescribing/months" | grep -q '2017-09' ||
  die "the imported prescribing month is not served"

# ---------------------------------------------------------------------------------------------
# 3. A test user and a session
# ---------------------------------------------------------------------------------------------
CURL=(curl -sS --noproxy "*" --max-time 30)

csrf_of() { sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' "$1" | head -1; }
cookie_of() { awk -F'\t' -v name="$2" '$6 == name { print $7 }' "$1" | tail -1; }

created=$(app_env node bin/greenspace.js create-user --email "$SCAN_EMAIL" --name "$SCAN_NAME")
link=$(printf '%s\n' "$created" | grep -Eo 'https?://[^[:space:]]+/reset-password\?token=[^[:space:]]+' | head -1)
[[ -n "$link" ]] || die "create-user printed no set-password link: $created"
token="${link##*token=}"

PASSWORD="Scan-$(node -e "console.log(require('node:crypto').randomBytes(18).toString('base64url'))")"

jar="$WORK/setup.cookies"
code=$("${CURL[@]}" -c "$jar" -b "$jar" -o "$WORK/page.html" -w '%{http_code}' "$BASE/reset-password?token=$token")
[[ "$code" == 200 ]] || die "set-password page answered $code"
csrf=$(csrf_of "$WORK/page.html")
[[ -n "$csrf" ]] || die "no CSRF token on the set-password page"
code=$("${CURL[@]}" -c "$jar" -b "$jar" -o "$WORK/page.html" -w '%{http_code}' \
  --data-urlencode "_csrf=$csrf" --data-urlencode "token=$token" \
  --data-urlencode "password=$PASSWORD" --data-urlencode "confirmPassword=$PASSWORD" \
  "$BASE/reset-password")
[[ "$code" == 200 ]] && grep -q 'Your password has been changed' "$WORK/page.html" ||
  die "setting the password failed (HTTP $code)"

# Signs in with a fresh cookie jar; sets SESSION_COOKIE and CSRF_COOKIE.
sign_in() {
  local jar="$1" csrf code
  rm -f "$jar"
  "${CURL[@]}" -c "$jar" -b "$jar" -o "$WORK/page.html" "$BASE/sign-in"
  csrf=$(csrf_of "$WORK/page.html")
  [[ -n "$csrf" ]] || die "no CSRF token on the sign-in page"
  code=$("${CURL[@]}" -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' \
    --data-urlencode "_csrf=$csrf" --data-urlencode "returnTo=/" \
    --data-urlencode "email=$SCAN_EMAIL" --data-urlencode "password=$PASSWORD" "$BASE/sign-in")
  [[ "$code" == 303 ]] || die "signing in answered $code, not 303"
  SESSION_COOKIE=$(cookie_of "$jar" gs_session)
  CSRF_COOKIE=$(cookie_of "$jar" gs_csrf)
  [[ -n "$SESSION_COOKIE" && -n "$CSRF_COOKIE" ]] || die "signing in set no gs_session/gs_csrf cookie"
}

# Says whether a session cookie still works (the account page answers 200 rather than redirecting).
session_works() {
  local code
  code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    -H "Cookie: gs_session=$1; gs_csrf=$2" "$BASE/account")
  [[ "$code" == 200 ]]
}

sign_in "$WORK/sqlmap.cookies"
session_works "$SESSION_COOKIE" "$CSRF_COOKIE" || die "the new session does not open /account"
log "signed in as $SCAN_EMAIL (plain user, no two-factor)"

# An anonymous gs_csrf cookie for the sign-in form (sqlmap fetches the matching token itself).
"${CURL[@]}" -c "$WORK/anonymous.cookies" -o /dev/null "$BASE/sign-in"
ANONYMOUS_CSRF_COOKIE=$(cookie_of "$WORK/anonymous.cookies" gs_csrf)

# ---------------------------------------------------------------------------------------------
# The loopback proxy the scanners go through
# ---------------------------------------------------------------------------------------------
cat >"$WORK/proxy.mjs" <<'PROXY'
// The scanners' HTTP proxy. It forwards to one target only (the private instance) and refuses
// every other address, so no scanner request can leave it. Like a real reverse proxy it sets
// X-Forwarded-For itself (a new loopback-range address for each request) and drops forwarding
// headers a client sent. It answers 404 itself for the excluded paths, gives the scanners' filler
// email address on POST /sign-in a fresh value (see the script), counts answers by status and logs
// every 5xx.
import http from 'node:http';
import fs from 'node:fs';
import { randomInt } from 'node:crypto';

const base = new URL(process.env.SCAN_TARGET);
const excluded = process.env.SCAN_EXCLUDED_PATHS.split(' ').filter(Boolean);
const fillerEmails = process.env.SCAN_FILLER_EMAILS.split(' ').filter(Boolean);
const errorLog = process.env.SCAN_ERROR_LOG;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let counts = {};
let byPath = {};
const count = (key) => (counts[key] = (counts[key] ?? 0) + 1);
const countPath = (key, status) => {
  byPath[key] ??= {};
  byPath[key][status] = (byPath[key][status] ?? 0) + 1;
};
// A CSRF token as the application issues it: 43 characters of base64url.
const wellFormedToken = /(^|&)_csrf=[A-Za-z0-9_-]{43}(&|$)/;

const isExcluded = (path) =>
  excluded.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

// Only an email field holding exactly a filler value is changed; an attack payload is never touched.
function varyFillerEmail(body) {
  return body.replace(/(^|&)email=([^&]*)/, (field, lead, value) => {
    let decoded;
    try {
      decoded = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      return field;
    }
    if (!fillerEmails.includes(decoded)) return field;
    count('filler-email-varied');
    return `${lead}email=filler.${String(randomInt(1e9)).padStart(9, '0')}%40example.test`;
  });
}

const server = http.createServer((request, response) => {
  if (request.url === '/__counts') {
    // Read and reset the counters (the script asks after each scanner).
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ counts, byPath }));
    counts = {};
    byPath = {};
    return;
  }
  let url;
  try {
    url = new URL(request.url);
  } catch {
    response.writeHead(400).end('absolute URL expected');
    return;
  }
  if (url.protocol !== 'http:' || url.host !== base.host) {
    count('refused-out-of-scope');
    fs.appendFileSync(errorLog, `refused ${request.method} ${request.url}\n`);
    response.writeHead(403).end('outside the scan scope');
    return;
  }
  if (isExcluded(url.pathname)) {
    count('excluded');
    response.writeHead(404, { 'content-type': 'text/plain' }).end('excluded from the scan');
    return;
  }
  const headers = { ...request.headers };
  for (const name of Object.keys(headers)) {
    if (/^(proxy-|x-forwarded-|forwarded$|x-real-ip$)/i.test(name)) delete headers[name];
  }
  headers['x-forwarded-for'] = `127.${randomInt(256)}.${randomInt(256)}.${1 + randomInt(254)}`;

  const forward = (body) => {
    const upstream = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: request.method,
        path: url.pathname + url.search,
        headers,
      },
      (answer) => {
        count(answer.statusCode);
        countPath(`${request.method} ${url.pathname}`, answer.statusCode);
        // A refused form that carried a well-formed token: the token itself was not what the
        // scanner attacked, so a stale or mismatched token would show up here.
        if (request.method === 'POST' && answer.statusCode === 403 && body && wellFormedToken.test(body.toString('latin1'))) {
          count('403-with-well-formed-token');
          countPath(`${request.method} ${url.pathname}`, '403-with-well-formed-token');
        }
        if (answer.statusCode >= 500) {
          fs.appendFileSync(
            errorLog,
            `${answer.statusCode} ${request.method} ${url.pathname}${url.search}${body ? ` body: ${body.toString('latin1').slice(0, 300)}` : ''}\n`,
          );
        }
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => {
      count('upstream-error');
      if (!response.headersSent) response.writeHead(502);
      response.end(String(error));
    });
    if (body) upstream.end(body);
    else request.pipe(upstream);
  };

  // Bodies are read whole for the forms where an error should be logged with its payload.
  if (request.method === 'POST') {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      let body = Buffer.concat(chunks);
      if (url.pathname === '/sign-in' && fillerEmails.length > 0) {
        body = Buffer.from(varyFillerEmail(body.toString('latin1')), 'latin1');
      }
      headers['content-length'] = String(body.length);
      delete headers['transfer-encoding'];
      forward(body);
    });
  } else {
    forward(null);
  }
});
server.on('connect', (request, socket) => {
  count('refused-out-of-scope');
  fs.appendFileSync(errorLog, `refused CONNECT ${request.url}\n`);
  socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(process.env.SCAN_PORT_FILE, String(server.address().port)));
process.on('SIGTERM', () => process.exit(0));
PROXY

# Paths the scanners must not reach: signing out, ending other sessions and deleting the account
# would end the signed-in crawl, and the development email outbox holds links that would reset the
# test user's password. wapiti is also told to skip them (--exclude); the proxy makes sure.
EXCLUDED_PATHS="/sign-out /account/delete /account/sessions /dev/outbox"

# The sign-in limits allow 30 attempts a minute per address and 10 per email. The proxy varies the
# address; for the email, a scanner that tests the password (or returnTo) field leaves its filler
# email unchanged on every request, so after ten requests every answer would be the 429 page and
# the tests would say nothing. The proxy replaces exactly these filler values with a fresh address:
# sqlmap's (set below) and wapiti's default form value.
SQLMAP_SIGN_IN_EMAIL="nobody.scan@example.test"
WAPITI_FILLER_EMAIL="wapiti2021@mailinator.com"

: >"$WORK/proxy-errors.log"
SCAN_TARGET="$BASE" SCAN_EXCLUDED_PATHS="$EXCLUDED_PATHS" \
  SCAN_FILLER_EMAILS="$SQLMAP_SIGN_IN_EMAIL $WAPITI_FILLER_EMAIL" \
  SCAN_ERROR_LOG="$WORK/proxy-errors.log" SCAN_PORT_FILE="$WORK/proxy.port" \
  node "$WORK/proxy.mjs" &
PROXY_PID=$!
for _ in $(seq 1 40); do
  [[ -s "$WORK/proxy.port" ]] && break
  sleep 0.25
done
[[ -s "$WORK/proxy.port" ]] || die "the scan proxy did not start"
PROXY="http://127.0.0.1:$(cat "$WORK/proxy.port")"

# Prints the proxy's answer counts since the last call and saves them by path in reports/NAME.json.
proxy_counts() {
  "${CURL[@]}" "$PROXY/__counts" >"$WORK/reports/responses-$1.json"
  node -e "console.log(JSON.stringify(JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8')).counts))" \
    "$WORK/reports/responses-$1.json"
}

# bounded SECONDS OUTPUT-FILE command...: runs a scanner under timeout, in the background so that
# an interrupt reaches the cleanup at once (which then stops it by its PID); sets STATUS.
bounded() {
  local seconds="$1" output="$2"
  shift 2
  timeout --kill-after=30 "$seconds" "$@" </dev/null >"$output" 2>&1 &
  SCANNER_PID=$!
  set +e
  wait "$SCANNER_PID"
  STATUS=$?
  set -e
  SCANNER_PID=""
}

# ---------------------------------------------------------------------------------------------
# 4. sqlmap
# ---------------------------------------------------------------------------------------------
FINDINGS=0
INCONCLUSIVE=0
SUMMARY=()

# run_sqlmap NAME DESCRIPTION sqlmap-arguments...
run_sqlmap() {
  local name="$1" description="$2"
  shift 2
  local out="$WORK/reports/sqlmap-$name.txt" started status
  started=$(date +%s)
  log "sqlmap: $description (level $SQLMAP_LEVEL, risk $SQLMAP_RISK)"
  bounded "$SQLMAP_TIMEOUT" "$out" sqlmap --batch --disable-coloring \
    --level "$SQLMAP_LEVEL" --risk "$SQLMAP_RISK" \
    --proxy "$PROXY" --timeout 30 --retries 1 \
    --output-dir "$WORK/sqlmap-output" --flush-session \
    "$@"
  status=$STATUS
  local seconds=$(($(date +%s) - started))
  local counts
  counts=$(proxy_counts "sqlmap-$name")

  # What was tested, and any note short of a finding, as evidence in the output.
  grep -Eo "(GET|POST|Cookie|User-Agent|Referer|Host|URI) parameter '[^']+' does not seem to be injectable" "$out" |
    sed 's/^/    /' >&2 || true
  grep -E "heuristic \((basic|XSS|FI)\) test shows|might be injectable|appears to be .*injectable|false positive" "$out" |
    sed 's/^/    note: /' >&2 || true
  grep -E "HTTP error codes detected during run" -A3 "$out" | sed 's/^/    /' >&2 || true

  local result
  if grep -Eq "identified the following injection point|is vulnerable\. Do you want|sqlmap resumed the following injection point" "$out"; then
    result="FINDING: injectable parameter"
    FINDINGS=$((FINDINGS + 1))
    sed -n '/identified the following injection point/,/^---$/p' "$out" | head -60 >&2
    grep -E "is vulnerable" "$out" >&2 || true
  elif ((status == 124 || status == 137)); then
    result="INCONCLUSIVE: stopped after ${SQLMAP_TIMEOUT}s"
    INCONCLUSIVE=$((INCONCLUSIVE + 1))
  elif grep -q "all tested parameters do not appear to be injectable" "$out"; then
    result="no injectable parameter"
  else
    result="INCONCLUSIVE: sqlmap did not finish its tests (exit $status)"
    INCONCLUSIVE=$((INCONCLUSIVE + 1))
    tail -15 "$out" >&2
  fi
  log "sqlmap $name: $result (${seconds}s, responses by status: $counts)"
  SUMMARY+=("sqlmap  $(printf '%-26s' "$name") $result (${seconds}s; responses $counts)")
}

SQLMAP_STARTED=$(date +%s)

# (a) Sign-in form. sqlmap fetches a fresh _csrf from the sign-in page before each request. The
# email is a filler the proxy varies (see above); the password is wrong on purpose, so no request
# can sign in.
run_sqlmap sign-in "POST /sign-in (email, password, returnTo, User-Agent, Referer)" \
  -u "$BASE/sign-in" \
  --data "_csrf=x&returnTo=%2F&email=$SQLMAP_SIGN_IN_EMAIL&password=not-the-password" \
  --csrf-token=_csrf --csrf-url="$BASE/sign-in" \
  --cookie "gs_csrf=$ANONYMOUS_CSRF_COOKIE" \
  --skip "_csrf,gs_csrf,gs_session"

# (b) Organisation search, every filter.
run_sqlmap search "GET /organisations (q, type, icb, subIcb, page, User-Agent, Referer)" \
  -u "$BASE/organisations?q=leicester&type=gp_practice&icb=QK1&subIcb=04C&page=1" \
  --skip "gs_csrf,gs_session"

# (c) An authenticated form: change your name. The session and CSRF cookies are not tested (they
# are opaque random tokens looked up by hash); the 303 to /account is followed without resending.
run_sqlmap account-name "POST /account/name signed in (displayName, User-Agent, Referer)" \
  -u "$BASE/account/name" \
  --data "_csrf=x&displayName=Security+Scan" \
  --csrf-token=_csrf --csrf-url="$BASE/account" \
  --cookie "gs_session=$SESSION_COOKIE; gs_csrf=$CSRF_COOKIE" \
  --skip "_csrf,gs_csrf,gs_session" \
  --answers "follow=Y,resend=N"

# (d) The prescribing JSON API, whose filters choose what the measure queries read.
run_sqlmap prescribing-api "GET /api/prescribing/measures (measure, level, code, month, within, User-Agent, Referer)" \
  -u "$BASE/api/prescribing/measures?measure=inhaler-kgco2e&level=practice&code=L84073&month=2017-09&within=sub-icb:11M" \
  --skip "gs_csrf,gs_session"

session_works "$SESSION_COOKIE" "$CSRF_COOKIE" ||
  log "warning: the sqlmap session no longer opens /account (later requests were signed out)"
SQLMAP_SECONDS=$(($(date +%s) - SQLMAP_STARTED))

# ---------------------------------------------------------------------------------------------
# 5. wapiti
# ---------------------------------------------------------------------------------------------
# Modules: the injection and request-forgery families asked for (sql, blindsql, xss, exec, file,
# redirect, crlf, csrf) plus stored XSS, backup files, access-control bypass by HTTP method, HTTP
# methods, security headers, cookie flags and CSP. Left out: ssrf and xxe (they detect through an
# internet endpoint, and this scan stays on 127.0.0.1), nikto and wapp (they download databases),
# buster and brute_login_form (guessing, not testing), and shellshock: it looks for bash CGI
# scripts (there are none: one Node.js process), and it sends its payload as the whole Cookie
# header, so the application rightly issues a new gs_csrf cookie, wapiti keeps it, and every form
# it attacks afterwards carries a token for the old cookie and is refused before reaching the code
# under test (seen as "403-with-well-formed-token" in the proxy's counts).
WAPITI_MODULES="sql,blindsql,xss,permanentxss,exec,file,redirect,crlf,csrf,backup,htaccess,methods,http_headers,cookieflags,csp"

# Debian's wapiti 3.0.4 builds its --exclude patterns as "...\Z(?ms)", which Python 3.11 refuses
# ("global flags not at the start of the expression"). This wrapper runs the installed wapiti with
# the same translation, flags first, when (and only when) the installed one fails that way.
cat >"$WORK/wapiti.py" <<'PY'
import re
import sys

import wapitiCore.net.crawler as crawler

try:
    crawler.wildcard_translate("/x*")
except re.error:
    def wildcard_translate(pattern):
        return re.compile("(?ms)" + "".join(".*" if c == "*" else re.escape(c) for c in pattern) + r"\Z")

    crawler.wildcard_translate = wildcard_translate

from wapitiCore.main.wapiti import wapiti_main

sys.argv[0] = "wapiti"
sys.exit(wapiti_main())
PY
read -r -a WAPITI_PYTHON <<<"$(sed -n '1s/^#![[:space:]]*//p' "$(command -v wapiti)")"
[[ ${#WAPITI_PYTHON[@]} -gt 0 ]] || WAPITI_PYTHON=(python3)

# Scanner results accepted as false positives, each only when this run shows the reason holds
# (docs/security-scan.md explains them). Lines of "category|exact info"; anything else is a finding.
WAPITI_ACCEPTED=""
headers=$("${CURL[@]}" -D - -o /dev/null "$BASE/" | tr -d '\r')
# 1. "X-XSS-Protection is not set": wapiti 3.0.4 only accepts the value 1. The application sends
#    "X-XSS-Protection: 0" on purpose (helmet's default, as OWASP advises: the browsers' XSS
#    auditors are gone and could be abused to remove parts of pages) and relies on its strict
#    Content-Security-Policy, which has no 'unsafe-inline' scripts.
csp=$(grep -i '^content-security-policy:' <<<"$headers" || true)
if grep -qi '^x-xss-protection: 0$' <<<"$headers" &&
  [[ "$csp" == *"script-src 'self' 'nonce-"* && "$csp" != *unsafe-inline* ]]; then
  WAPITI_ACCEPTED+="HTTP Secure Headers|X-XSS-Protection is not set"$'\n'
fi
# 2. "Secure flag is not set in the cookie": the instance is reached over plain HTTP on loopback,
#    where a Secure cookie would never come back. Over HTTPS (here: X-Forwarded-Proto from the
#    trusted proxy) the same cookies are __Host-gs_csrf and __Host-gs_session with Secure set,
#    which is checked here by signing in "over HTTPS".
https_cookies_secure() {
  local head="$WORK/https.headers" page="$WORK/https.html" csrf csrf_cookie
  "${CURL[@]}" -D "$head" -o "$page" -H 'X-Forwarded-Proto: https' "$BASE/sign-in" || return 1
  grep -qiE '^set-cookie: __Host-gs_csrf=[^;]+; Path=/; HttpOnly; Secure' "$head" || return 1
  csrf_cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: __Host-gs_csrf=\([^;]*\);.*/\1/p' "$head" | tr -d '\r')
  csrf=$(csrf_of "$page")
  "${CURL[@]}" -D "$head" -o /dev/null -H 'X-Forwarded-Proto: https' \
    -H "Cookie: __Host-gs_csrf=$csrf_cookie" \
    --data-urlencode "_csrf=$csrf" --data-urlencode "returnTo=/" \
    --data-urlencode "email=$SCAN_EMAIL" --data-urlencode "password=$PASSWORD" "$BASE/sign-in" ||
    return 1
  grep -qiE '^set-cookie: __Host-gs_session=[^;]+; Path=/; HttpOnly; Secure' "$head"
}
if https_cookies_secure; then
  WAPITI_ACCEPTED+="Secure Flag cookie|Secure flag is not set in the cookie : gs_session"$'\n'
  WAPITI_ACCEPTED+="Secure Flag cookie|Secure flag is not set in the cookie : gs_csrf"$'\n'
else
  log "warning: over HTTPS the cookies are not __Host- and Secure; cookie flag results count"
fi

WAPITI_STARTED=$(date +%s)

# run_wapiti NAME DESCRIPTION [cookie-file]
run_wapiti() {
  local name="$1" description="$2" cookies="${3:-}"
  local out="$WORK/reports/wapiti-$name.txt" report="$WORK/reports/wapiti-$name.json" started status
  local extra=()
  [[ -n "$cookies" ]] && extra+=(--cookie "$cookies")
  started=$(date +%s)
  log "wapiti: $description (modules $WAPITI_MODULES)"
  # wapiti loads every module, and the unused wapp module downloads its database from the internet
  # when it has none; an empty one keeps it from trying.
  mkdir -p "$WORK/wapiti-config-$name"
  echo '{}' >"$WORK/wapiti-config-$name/apps.json"
  local exclude=() path
  for path in $EXCLUDED_PATHS; do exclude+=(--exclude "$BASE$path*"); done
  bounded "$WAPITI_TIMEOUT" "$out" "${WAPITI_PYTHON[@]}" "$WORK/wapiti.py" \
    --url "$BASE/" --scope folder \
    --module "$WAPITI_MODULES" \
    --proxy "$PROXY" --endpoint "$BASE/" "${exclude[@]}" \
    --start "$BASE/organisations?q=leicester" \
    --start "$BASE/prescribing/compare/practice?measure=inhaler-kgco2e&month=2017-09" \
    --start "$BASE/api/prescribing/measures?measure=inhaler-kgco2e&level=practice&month=2017-09" \
    --start "$BASE/sign-in" --start "$BASE/sign-up" --start "$BASE/forgot-password" \
    --start "$BASE/account" --start "$BASE/admin" \
    --depth 4 --max-links-per-page 40 --max-files-per-dir 40 \
    --max-scan-time "$WAPITI_MAX_SCAN_TIME" --max-attack-time "$WAPITI_MAX_ATTACK_TIME" \
    --timeout 20 --no-bugreport --flush-session \
    --store-session "$WORK/wapiti-session-$name" --store-config "$WORK/wapiti-config-$name" \
    --format json --output "$report" --verbose 1 \
    "${extra[@]}"
  status=$STATUS
  local seconds=$(($(date +%s) - started)) counts
  counts=$(proxy_counts "wapiti-$name")
  local crawled
  crawled=$(grep -c '^\[+\] ' "$out" || true)

  if [[ ! -s "$report" ]]; then
    INCONCLUSIVE=$((INCONCLUSIVE + 1))
    tail -20 "$out" >&2
    log "wapiti $name: INCONCLUSIVE: no report (exit $status)"
    SUMMARY+=("wapiti  $(printf '%-26s' "$name") INCONCLUSIVE: no report (exit $status, ${seconds}s)")
    return
  fi
  local verdict
  verdict=$(WAPITI_ACCEPTED="$WAPITI_ACCEPTED" node - "$report" <<'NODE'
const fs = require('node:fs');
const report = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const accepted = (process.env.WAPITI_ACCEPTED || '').split('\n').filter(Boolean).map((line) => line.split('|'));
const isAccepted = (category, entry) =>
  accepted.some(([c, info]) => c === category && (entry.info || '').trim() === info);
let found = 0;
let acceptedCount = 0;
const print = (kind, groups) => {
  for (const [category, entries] of Object.entries(groups || {})) {
    for (const entry of entries) {
      const where = `${entry.method} ${entry.path}${entry.parameter ? ` [${entry.parameter}]` : ''}`;
      let label = kind;
      if (kind === 'VULNERABILITY') {
        if (isAccepted(category, entry)) { label = 'accepted (see docs/security-scan.md)'; acceptedCount++; }
        else found++;
      }
      console.error(`    ${label}: ${category}: ${where}: ${(entry.info || '').replace(/\s+/g, ' ').slice(0, 300)}`);
      if (label === 'VULNERABILITY' && entry.curl_command) console.error(`      reproduce: ${entry.curl_command.slice(0, 600)}`);
    }
  }
};
print('VULNERABILITY', report.vulnerabilities);
print('anomaly', report.anomalies);
print('additional', report.additionals);
console.log(`${found} ${acceptedCount}`);
NODE
  )
  local vulnerabilities="${verdict%% *}" accepted="${verdict##* }"
  local result
  if ((vulnerabilities > 0)); then
    result="FINDING: $vulnerabilities vulnerabilit$([[ $vulnerabilities == 1 ]] && echo y || echo ies)"
    FINDINGS=$((FINDINGS + vulnerabilities))
  elif ((status == 124 || status == 137)); then
    result="INCONCLUSIVE: stopped after ${WAPITI_TIMEOUT}s"
    INCONCLUSIVE=$((INCONCLUSIVE + 1))
  else
    result="no vulnerability"
  fi
  ((accepted > 0)) && result="$result ($accepted accepted)"
  # Coverage notes: modules cut short by --max-attack-time, and forms refused although they carried
  # a well-formed token (a stale CSRF cookie: those attacks never reached the form's code).
  local stopped stale
  stopped=$(sed -n 's/^Max attack time was reached for module \([a-z_]*\).*/\1/p' "$out" | paste -sd, -)
  [[ -n "$stopped" ]] && result="$result; time limit reached by: $stopped"
  stale=$(node -e "console.log(JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8')).counts['403-with-well-formed-token'] ?? 0)" \
    "$WORK/reports/responses-wapiti-$name.json")
  ((stale > 0)) && result="$result; $stale form request(s) refused for a stale CSRF token"
  log "wapiti $name: $result ($crawled resources crawled, ${seconds}s, responses by status: $counts)"
  SUMMARY+=("wapiti  $(printf '%-26s' "$name") $result ($crawled resources, ${seconds}s; responses $counts)")
}

run_wapiti public "public pages and forms, signed out"

# A fresh session of its own for the signed-in crawl, in wapiti's JSON cookie format.
sign_in "$WORK/wapiti.cookies"
cat >"$WORK/wapiti-cookies.json" <<JSON
{"127.0.0.1": {"/": {
  "gs_session": {"value": "$SESSION_COOKIE", "expires": null, "secure": false, "port": null, "version": 0},
  "gs_csrf": {"value": "$CSRF_COOKIE", "expires": null, "secure": false, "port": null, "version": 0}
}}}
JSON
run_wapiti signed-in "every page and form a signed-in user reaches" "$WORK/wapiti-cookies.json"
if session_works "$SESSION_COOKIE" "$CSRF_COOKIE"; then
  log "the signed-in crawl stayed signed in to the end"
else
  log "warning: the signed-in crawl's session ended before the crawl did"
  SUMMARY+=("wapiti  signed-in                  note: the session had ended by the end of the run")
fi
WAPITI_SECONDS=$(($(date +%s) - WAPITI_STARTED))

# ---------------------------------------------------------------------------------------------
# 6. Summary
# ---------------------------------------------------------------------------------------------
sign_ins=$(app_env node --input-type=module -e "
  import Database from 'better-sqlite3';
  const db = new Database(process.env.DATA_DIR + '/greenspace.sqlite', { readonly: true });
  const rows = db.prepare(\"select outcome, count(*) as n from audit_events where action = 'auth.sign_in' group by outcome\").all();
  console.log(rows.map((r) => r.outcome + ' ' + r.n).join(', ') || 'none');
" 2>/dev/null || echo unknown)
server_errors=$(grep -c '^5' "$WORK/proxy-errors.log" || true)
refused=$(grep -c '^refused' "$WORK/proxy-errors.log" || true)

echo
echo "Security scan of Greenspace ($(date -u +%Y-%m-%dT%H:%MZ), $(($(date +%s) - STARTED_AT))s: sqlmap ${SQLMAP_SECONDS}s, wapiti ${WAPITI_SECONDS}s)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
echo "  sign-in attempts audited: $sign_ins"
echo "  server errors (5xx) during the scan: $server_errors"
if ((server_errors > 0)); then
  grep '^5' "$WORK/proxy-errors.log" | sort | uniq -c | sort -rn | head -20 | sed 's/^/    /'
fi
echo "  scanner requests refused by the proxy for leaving 127.0.0.1:$PORT: $refused"
if ((refused > 0)); then
  grep '^refused' "$WORK/proxy-errors.log" | sort | uniq -c | sort -rn | head -10 | sed 's/^/    /'
fi
if ((FINDINGS > 0)); then
  echo "RESULT: $FINDINGS finding(s); details above."
  exit 1
fi
if ((INCONCLUSIVE > 0)); then
  echo "RESULT: no finding, but $INCONCLUSIVE scan(s) did not finish; see above."
  exit 2
fi
echo "RESULT: no injectable parameter and no vulnerability found."
