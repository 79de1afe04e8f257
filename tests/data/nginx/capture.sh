#!/usr/bin/env bash
# Captures real nginx access logs in the formats of logformats.tsv beside this script: nginx's
# built-in combined, the nginx.conf `main` format, the upstream-timing format behind a local
# upstream group, $time_iso8601 and $msec, $uri$is_args$args, TLS variables, and the three escape
# modes. `reference.log` is nginx's own JSON record (escape=json) of every variable of each request,
# which the tests hold the other logs to: every request lands in every log, in the same order.
# `error.log` is nginx's error log of the same runs at level info (the missing files, the denied
# basic authentication, the upstream that refused connections, start and stop notices).
#
# A throw-away nginx (Debian's package) listens on 127.0.0.1 only, plain and TLS (a self-signed
# certificate made here), with one worker so that the logs keep the requests' order. /app/ goes to
# an upstream group whose first server is down. The requests (send.py) go out twice, under TZ=UTC
# and TZ=Asia/Kolkata (+05:30), which nginx's $time_local and $time_iso8601 follow.
#
# Usage: tests/data/nginx/capture.sh    (needs root for apt-get)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port=${CAPTURE_PORT:-18082}
tls_port=${CAPTURE_TLS_PORT:-18444}
app_port=${CAPTURE_APP_PORT:-18083}
down_port=${CAPTURE_DOWN_PORT:-18084}  # nothing listens there

if ! command -v nginx >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nginx >/dev/null
fi

work=$(mktemp -d)
nginx_pid=""
stop_nginx() {
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill -QUIT "$nginx_pid"
    while kill -0 "$nginx_pid" 2>/dev/null; do sleep 0.1; done
  fi
  nginx_pid=""
}
trap 'stop_nginx; rm -rf "$work"' EXIT

mkdir -p "$work/htdocs/private" "$work/htdocs/docs" "$work/logs" "$work/run" "$work/tmp"
printf '<h1>It works</h1>\n' >"$work/htdocs/index.html"
printf 'body { color: #333; }\n' >"$work/htdocs/style.css"
printf 'Grüße aus Köln\n' >"$work/htdocs/grüße.txt"
printf 'space\n' >"$work/htdocs/a b.html"
printf 'secret\n' >"$work/htdocs/private/index.html"
head -c 20000 /dev/zero | tr '\0' 'x' >"$work/htdocs/big.bin"
printf 'alice:{PLAIN}wonderland\n' >"$work/htpasswd"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=www.example.test" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
chmod -R a+rX "$work"

{
  cat <<EOF
worker_processes 1;
pid $work/run/nginx.pid;
error_log $work/logs/error.log info;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
EOF
  grep -v '^#' "$here/logformats.tsv" | while IFS=$'\t' read -r name format; do
    echo "  log_format $name $format;"
    echo "  access_log $here/$name.log $name;"
  done
  cat <<EOF
  upstream app {
    server 127.0.0.1:$down_port;
    server 127.0.0.1:$app_port;
  }
  server {
    listen 127.0.0.1:$port;
    listen 127.0.0.1:$tls_port ssl;
    server_name www.example.test;
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    root $work/htdocs;
    location /private/ {
      auth_basic "private";
      auth_basic_user_file $work/htpasswd;
    }
    location /app/ {
      proxy_pass http://app;
    }
  }
  server {
    listen 127.0.0.1:$app_port;
    access_log off;
    location / { return 200 "app\n"; }
  }
}
EOF
} >"$work/nginx.conf"

# Fresh logs: everything below appends.
grep -v '^#' "$here/logformats.tsv" | cut -f1 | while read -r name; do : >"$here/$name.log"; done

start_nginx() { # TZ
  TZ="$1" nginx -c "$work/nginx.conf" -p "$work"
  for _ in $(seq 50); do [ -s "$work/run/nginx.pid" ] && break; sleep 0.1; done
  nginx_pid=$(cat "$work/run/nginx.pid")
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null && return 0; sleep 0.1; done
  echo "nginx did not start" >&2; cat "$work/logs/error.log" >&2; exit 1
}

for tz in UTC Asia/Kolkata; do
  start_nginx "$tz"
  python3 "$here/send.py" --port "$port" --tls-port "$tls_port"
  stop_nginx
  # A fresh start marks the upstream's first server as untried again.
  rm -f "$work/run/nginx.pid"
done

cp "$work/logs/error.log" "$here/error.log"
wc -l "$here"/*.log
