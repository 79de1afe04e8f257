#!/usr/bin/env bash
# Captures real Apache logs in the less common formats of logformats.tsv beside this script:
# strftime times (with begin:/end:, split into seconds and a fraction), mod_ssl's %{..}x on a TLS
# virtual host (Apache's stock ssl_request_log), %U%q, conditions and modifiers in every order,
# and combined with trailing fields.
#
# A throw-away Apache (Debian's apache2, with mod_ssl and a self-signed certificate made here)
# listens on 127.0.0.1 only, plain and TLS. The formats marked `all` are GlobalLogs, so every
# request lands in each of them in the same order; `reference.log` is Apache's own record of each
# request (%{sec}t, %{usec_frac}t, method, path, query, status, bytes, duration, TLS protocol),
# which the tests hold the other logs to. `tls` formats are the TLS virtual host's own log.
# The requests (send.py) go out twice, under TZ=UTC and TZ=Asia/Kolkata (+05:30). `error.log` is
# Apache's error log of both runs at `LogLevel info` (its default ErrorLogFormat).
#
# Usage: tests/data/formats/capture.sh    (needs root for apt-get and for Apache to drop to www-data)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port=${CAPTURE_PORT:-18081}
tls_port=${CAPTURE_TLS_PORT:-18443}

. "$here/../apache_site.sh"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=www.example.test" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

modules=/usr/lib/apache2/modules
{
  for m in mpm_event authz_core authn_core authn_file auth_basic authz_user mime dir alias socache_shmcb ssl; do
    echo "LoadModule ${m}_module $modules/mod_${m}.so"
  done
  cat <<EOF
ServerRoot "$work"
PidFile "$work/run/httpd.pid"
DefaultRuntimeDir "$work/run"
Mutex file:$work/run default
Listen 127.0.0.1:$port
Listen 127.0.0.1:$tls_port
User www-data
Group www-data
ServerName www.example.test
ErrorLog "$work/logs/error.log"
LogLevel info
TypesConfig /etc/mime.types
DocumentRoot "$work/htdocs"
DirectoryIndex index.html
SSLSessionCache "shmcb:$work/run/ssl_scache(512000)"
<Directory "$work/htdocs">
  Require all granted
</Directory>
<Directory "$work/htdocs/private">
  AuthType Basic
  AuthName "private"
  AuthUserFile "$work/htpasswd"
  Require valid-user
</Directory>
EOF
  grep -v '^#' "$here/logformats.tsv" | while IFS=$'\t' read -r name where format; do
    escaped=${format//\\/\\\\}
    escaped=${escaped//\"/\\\"}
    echo "LogFormat \"$escaped\" $name"
    if [ "$where" = all ]; then echo "GlobalLog \"$here/$name.log\" $name"; fi
  done
  cat <<EOF
<VirtualHost 127.0.0.1:$port>
  ServerName www.example.test
</VirtualHost>
<VirtualHost 127.0.0.1:$tls_port>
  ServerName www.example.test
  SSLEngine on
  SSLCertificateFile "$work/tls.crt"
  SSLCertificateKeyFile "$work/tls.key"
EOF
  grep -v '^#' "$here/logformats.tsv" | while IFS=$'\t' read -r name where _; do
    if [ "$where" = tls ]; then echo "  CustomLog \"$here/$name.log\" $name"; fi
  done
  echo "</VirtualHost>"
} >"$work/httpd.conf"

# Fresh logs: everything below appends.
grep -v '^#' "$here/logformats.tsv" | cut -f1 | while read -r name; do : >"$here/$name.log"; done

start_apache() { # TZ
  TZ="$1" apache2 -f "$work/httpd.conf" -k start
  for _ in $(seq 50); do [ -s "$work/run/httpd.pid" ] && break; sleep 0.1; done
  apache_pid=$(cat "$work/run/httpd.pid")
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null && return 0; sleep 0.1; done
  echo "apache did not start" >&2; cat "$work/logs/error.log" >&2; exit 1
}

for tz in UTC Asia/Kolkata; do
  start_apache "$tz"
  python3 "$here/send.py" --port "$port" --tls-port "$tls_port"
  stop_apache
done

cp "$work/logs/error.log" "$here/error.log"
wc -l "$here"/*.log
