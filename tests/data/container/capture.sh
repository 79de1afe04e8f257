#!/usr/bin/env bash
# Re-captures tests/data/container/httpd-stdout.log: what the stack's demo container (CreateContainerDemo)
# writes to stdout, which awslogs sends to CloudWatch Logs line by line.
#
# The official httpd image logs every request with `CustomLog /proc/self/fd/1 common`; the task
# definition in infra/template.yaml starts it with `httpd-foreground -c '<LogFormat ... common>'`,
# redefining `common` after the configuration is read. This runs Debian's Apache 2.4 with the
# image's log lines and that exact argument (read from the template), and sends it a few requests.
#
# Usage: tests/data/container/capture.sh      (needs root for apt-get and for Apache to drop to www-data)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
port=${CAPTURE_PORT:-18081}
. "$repo/tests/data/apache_site.sh"

log_format=$(python3 - "$repo/infra/template.yaml" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
block = text.split("  ContainerTaskDefinition:", 1)[1]
line = re.search(r"^ +- (LogFormat .+ common)$", block, re.M).group(1)
print(line)
PY
)

modules=/usr/lib/apache2/modules
cat >"$work/httpd.conf" <<CONF
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule dir_module $modules/mod_dir.so
ServerRoot "$work"
PidFile "$work/run/httpd.pid"
DefaultRuntimeDir "$work/run"
Mutex file:$work/run default
Listen 127.0.0.1:$port
User www-data
Group www-data
ServerName www.example.test
ErrorLog "$work/logs/error.log"
DocumentRoot "$work/htdocs"
DirectoryIndex index.html
<Directory "$work/htdocs">
  Require all granted
</Directory>
# The httpd image's own log lines (conf/httpd.conf); stdout becomes a file here.
LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" combined
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog "$work/logs/stdout" common
CONF

apache2 -f "$work/httpd.conf" -c "$log_format" -DFOREGROUND &
apache_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
: >"$work/logs/stdout"
base="http://127.0.0.1:$port"
curl -s -o /dev/null -A 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' \
  -e 'https://www.example.com/search?q=weblogs' "$base/index.html?from=container"
curl -s -o /dev/null -A 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1' \
  "$base/style.css"
curl -s -o /dev/null -A 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' "$base/missing.png"
curl -s -o /dev/null -X POST -A 'curl/8.5.0' "$base/grüße.txt"
sleep 0.5
stop_apache
cp "$work/logs/stdout" "$here/httpd-stdout.log"
wc -l "$here/httpd-stdout.log"
