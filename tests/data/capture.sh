#!/usr/bin/env bash
# Re-captures the real Apache access logs under tests/data/ that the parser tests are built on.
#
# It starts a throw-away Apache (Debian's apache2 package) on 127.0.0.1 and [::1] only, with one
# CustomLog per format in logformats.tsv, and sends it the same varied set of requests under several
# time zones (TZ decides the offset Apache writes in %t). Every request lands, in the same order, in
# every log file, so a line of combined.log and the line of custom.log with the same number describe
# the same request: the tests use custom.log's %{sec}t, %m, %U, %q, %>s as Apache's own answer.
#
# Usage: tests/data/capture.sh            (needs root for apt-get and for Apache to drop to www-data)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port=${CAPTURE_PORT:-18080}

. "$here/apache_site.sh"

modules=/usr/lib/apache2/modules
{
  for m in mpm_event authz_core authn_core authn_file auth_basic authz_user mime dir alias remoteip; do
    echo "LoadModule ${m}_module $modules/mod_${m}.so"
  done
  cat <<EOF
ServerRoot "$work"
PidFile "$work/run/httpd.pid"
DefaultRuntimeDir "$work/run"
Mutex file:$work/run default
Listen 127.0.0.1:$port
Listen [::1]:$port
User www-data
Group www-data
ServerName www.example.test
ErrorLog "$work/logs/error.log"
TypesConfig /etc/mime.types
DocumentRoot "$work/htdocs"
DirectoryIndex index.html
HostnameLookups \${HOSTNAME_LOOKUPS}
<Directory "$work/htdocs">
  Require all granted
</Directory>
<Directory "$work/htdocs/private">
  AuthType Basic
  AuthName "private"
  AuthUserFile "$work/htpasswd"
  Require valid-user
</Directory>
<VirtualHost *:$port>
  ServerName www.example.test
</VirtualHost>
<VirtualHost *:$port>
  ServerName shop.example.test
</VirtualHost>
EOF
  grep -v '^#' "$here/logformats.tsv" | while IFS=$'\t' read -r name format; do
    escaped=${format//\\/\\\\}
    escaped=${escaped//\"/\\\"}
    echo "LogFormat \"$escaped\" $name"
  done
  # The demo sample (apache2 -D SAMPLE) is served behind a trusted proxy on loopback, so that
  # mod_remoteip makes %h the visitor's public address from X-Forwarded-For.
  cat <<EOF
<IfDefine SAMPLE>
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1 ::1
CustomLog "$here/sample.log" combined
</IfDefine>
<IfDefine !SAMPLE>
EOF
  grep -v '^#' "$here/logformats.tsv" | cut -f1 | while read -r name; do
    echo "CustomLog \"$here/$name.log\" $name"
  done
  echo "</IfDefine>"
} >"$work/httpd.conf"

# Fresh logs: everything below appends.
grep -v '^#' "$here/logformats.tsv" | cut -f1 | while read -r name; do : >"$here/$name.log"; done

start_apache() { # TZ HOSTNAME_LOOKUPS [apache2 -D flags]
  TZ="$1" HOSTNAME_LOOKUPS="$2" apache2 -f "$work/httpd.conf" "${@:3}" -k start
  for _ in $(seq 50); do [ -s "$work/run/httpd.pid" ] && break; sleep 0.1; done
  apache_pid=$(cat "$work/run/httpd.pid")
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  echo "apache did not start" >&2; cat "$work/logs/error.log" >&2; exit 1
}

# One phase per time zone; each phase sends one slice of the request list (see send_requests.py).
phases=(
  "UTC off 0"
  "America/New_York off 1"
  "Asia/Kolkata off 2"
  "Pacific/Chatham off 3"
  "America/St_Johns on 4"
  "Pacific/Kiritimati off 5"
)
for phase in "${phases[@]}"; do
  read -r tz lookups slice <<<"$phase"
  start_apache "$tz" "$lookups"
  python3 "$here/send_requests.py" --port "$port" --slice "$slice"
  stop_apache
done

# The demo sample for the README's first command: 400 visits, Europe/Berlin time.
: >"$here/sample.log"
start_apache Europe/Berlin off -D SAMPLE
python3 "$here/send_requests.py" --port "$port" --sample 400
stop_apache

wc -l "$here"/*.log
