# Sourced by capture.sh and formats/capture.sh: a throw-away Apache's working folder ($work, removed
# on exit, with the Apache in it stopped) and the small site both captures serve.
if ! command -v apache2 >/dev/null || ! command -v htpasswd >/dev/null; then
  apt-get update -qq && apt-get install -y -qq apache2 apache2-utils >/dev/null
fi

work=$(mktemp -d)
apache_pid=""
stop_apache() {
  if [ -n "$apache_pid" ] && kill -0 "$apache_pid" 2>/dev/null; then
    kill "$apache_pid"
    while kill -0 "$apache_pid" 2>/dev/null; do sleep 0.1; done
  fi
  apache_pid=""
}
trap 'stop_apache; rm -rf "$work"' EXIT

mkdir -p "$work/htdocs/private" "$work/htdocs/docs" "$work/logs" "$work/run"
printf '<h1>It works</h1>\n' >"$work/htdocs/index.html"
printf 'body { color: #333; }\n' >"$work/htdocs/style.css"
printf 'Grüße aus Köln\n' >"$work/htdocs/grüße.txt"
printf 'space\n' >"$work/htdocs/a b.html"
printf 'report\n' >"$work/htdocs/docs/report.2026.pdf"
printf 'secret\n' >"$work/htdocs/private/index.html"
head -c 20000 /dev/zero | tr '\0' 'x' >"$work/htdocs/big.bin"
htpasswd -bc "$work/htpasswd" alice 'wonderland' >/dev/null 2>&1
chmod -R a+rX "$work"
