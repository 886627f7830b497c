#!/bin/bash
# make serve: nginx (server block 1 of nginx.conf.example, without TLS) in
# front of the persistent responder, on 127.0.0.1:8080, in the foreground,
# with a local allow-list (the fixtures' portals) and log directory under
# build/serve/.  Prints the curl line that posts a fixture event and the
# tail line that watches it land.  Ctrl-C stops everything it started.
#
# SERVE_PORT (8080) and SERVE_DIR (build/serve) may be set; SERVE_DIR is
# emptied first.  Needs nginx and spawn-fcgi (make deps).
set -eu
cd "$(dirname "$0")/.."
root=$PWD
port=${SERVE_PORT:-8080}
dir=${SERVE_DIR:-build/serve}
fixture=tests/fixtures/events/ONIMCONNECTORMESSAGEADD.form
portal=bac1cd5c8940947a75e0d71b1a84e348 # the fixture's auth[member_id]

for t in nginx spawn-fcgi; do
	command -v "$t" >/dev/null || {
		echo "serve: $t is missing: run make deps" >&2
		exit 1
	}
done
[ -x build/b24hook ] || {
	echo "serve: build/b24hook is missing: run make" >&2
	exit 1
}
# A port in use: say so before touching anything (nginx would fail to
# bind it, with a line easy to miss among the others).
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "serve: 127.0.0.1:$port is in use: stop what listens there, or" \
	    "pick another port: SERVE_PORT=8081 make serve" >&2
	exit 1
fi
rm -rf "$dir"
mkdir -p "$dir/logs" "$dir/nginx"
dir=$(cd "$dir" && pwd)
cp tests/fixtures/events/allow.txt "$dir/allow.txt"
chmod 0600 "$dir/allow.txt"
# The socket and nginx's temp files go where nginx's workers can reach
# them wherever the repository lives: a private directory in /tmp.
run=$(mktemp -d /tmp/b24hook-serve.XXXXXX)
chmod 0711 "$run"

nginx_pid=
stop() {
	trap - INT TERM EXIT
	[ -z "$nginx_pid" ] || kill "$nginx_pid" 2>/dev/null || true
	[ ! -f "$dir/responders.pid" ] ||
	    kill $(cat "$dir/responders.pid") 2>/dev/null || true
	[ -z "$nginx_pid" ] || wait "$nginx_pid" 2>/dev/null || true
	rm -rf "$run"
	echo "serve: stopped" >&2
}
trap stop EXIT
trap 'exit 130' INT TERM

# Server block 1 of the shipped example, made local: plain HTTP on
# loopback, this directory's allow-list, logs and socket.
awk '/^server[ \t]*\{/ { n++ } n == 1 { print } n == 1 && /^\}/ { exit }' \
    nginx.conf.example |
    sed -e "s|listen 443 ssl;|listen 127.0.0.1:$port;|" \
	-e '/listen \[::\]:443 ssl;/d' -e '/^[[:space:]]*ssl_/d' \
	-e 's|error_log .*;|error_log stderr;|' \
	-e "s|/var/log/nginx/b24hook\.|$dir/nginx/|" \
	-e "s|/etc/b24hook/allow.txt|$dir/allow.txt|" \
	-e "s|/var/log/b24hook|$dir/logs|" \
	-e "s|/run/b24hook.sock|$run/b24hook.sock|" >"$dir/nginx/site.conf"
ln -s /etc/nginx/fastcgi_params "$dir/nginx/fastcgi_params"
# As root, nginx's workers run as nobody: the socket is theirs.
user=
[ "$(id -u)" -ne 0 ] || user="user nobody nogroup;"
cat >"$dir/nginx/nginx.conf" <<EOF
$user
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
    client_body_temp_path $run/body;
    fastcgi_temp_path $run/fastcgi;
    proxy_temp_path $run/proxy;
    uwsgi_temp_path $run/uwsgi;
    scgi_temp_path $run/scgi;
    include $dir/nginx/site.conf;
}
EOF

sock_owner=()
[ "$(id -u)" -ne 0 ] || sock_owner=(-U nobody)
spawn-fcgi -s "$run/b24hook.sock" -M 0600 "${sock_owner[@]}" -F 2 \
    -P "$dir/responders.pid" -- /usr/bin/env -i \
    "B24HOOK_ALLOWLIST=$dir/allow.txt" "B24HOOK_LOG_DIR=$dir/logs" \
    "$root/build/b24hook" >/dev/null
nginx -e stderr -p "$dir/nginx/" -c "$dir/nginx/nginx.conf" &
nginx_pid=$!
up=
for i in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && up=1 && break
	kill -0 "$nginx_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$up" ]; then
	echo "serve: nginx did not start on 127.0.0.1:$port (its error is" \
	    "above); nothing is left running" >&2
	exit 1
fi

cat <<EOF

b24hook is listening on http://127.0.0.1:$port/bitrix24/event
(nginx from nginx.conf.example, block 1, without TLS; the persistent
responder; the fixtures' allow-list). Records go to $dir/logs/.

Post a fixture event as a portal does, from $root:
  curl -sS --data-binary @$fixture -H 'Content-Type: application/x-www-form-urlencoded' http://127.0.0.1:$port/bitrix24/event

Watch it land:
  tail -F $dir/logs/$portal.jsonl

Operator lines (refusals) appear below.  Ctrl-C stops everything.
EOF
wait "$nginx_pid" || true
nginx_pid=
