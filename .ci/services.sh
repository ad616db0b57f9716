# shellcheck shell=bash
# .ci/services.sh — the real servers the health and monitor tests use:
# PostgreSQL, Redis (with a password, and TLS) and Prometheus (scraping the
# tests' own exporter), all on loopback, on free ports, in a temporary
# directory, started and stopped by this script alone.
#
# Usage (CI's .ci/run, or a developer's shell):
#
#   source .ci/services.sh
#   services_start            # installs what is missing, starts, exports env
#   trap services_stop EXIT
#   go test -race ./...
#
# services_start exports:
#   SHIPPROD_TEST_POSTGRES_DSN      postgres://shipprod:…@127.0.0.1:PORT/postgres?sslmode=disable
#   SHIPPROD_TEST_REDIS_ADDR        127.0.0.1:PORT (requirepass set)
#   SHIPPROD_TEST_REDIS_PASSWORD
#   SHIPPROD_TEST_REDIS_TLS_ADDR    127.0.0.1:PORT (TLS, same password), when redis-server supports TLS
#                                   (Debian's does; without it the TLS test fails under CI=true)
#   SHIPPROD_TEST_REDIS_TLS_CA      the CA certificate that signed the server's
#   SHIPPROD_TEST_PROMETHEUS_URL    http://127.0.0.1:PORT
#   SHIPPROD_TEST_EXPORTER_ADDR     127.0.0.1:PORT, where the tests serve the
#                                   exporter Prometheus scrapes (every 250 ms)
#
# Packages come from Debian (apt-get update runs once, only when something is
# missing). The packaged services are never started; our own instances run
# as the current user, or — as root, since PostgreSQL refuses to — as the
# unprivileged user shipprod-svc.

SHIPPROD_SVC_USER=shipprod-svc

_svc_log() { printf 'services: %s\n' "$*" >&2; }

# _svc_run CMD… runs a command as the service user, in the services
# directory. setpriv execs the command in place, so a command started in
# the background has the pid $! reports, and services_stop stops exactly it.
_svc_run() { (_svc_exec "$@"); }

# _svc_exec CMD… replaces the current (sub)shell with CMD as the service user.
_svc_exec() {
	cd "$SHIPPROD_SERVICES_DIR" || exit 1
	if [ "$(id -u)" -eq 0 ]; then
		exec setpriv --reuid="$SHIPPROD_SVC_USER" --regid="$SHIPPROD_SVC_USER" --init-groups --reset-env -- "$@"
	fi
	exec "$@"
}

# _svc_port_free PORT: nothing listens on 127.0.0.1:PORT.
_svc_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# _svc_free_port prints a port nothing listens on, from a random start,
# below the kernel's ephemeral range: a port in that range can be handed to
# any test's listener on port 0 (or an outgoing connection) between now and
# the moment the tests listen on it (the exporter Prometheus scrapes).
_svc_free_port() {
	local port tries=0 lo=32768 hi
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	[ "$lo" -gt 12000 ] || lo=32768
	while [ "$tries" -lt 200 ]; do
		port=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
		case " ${_SVC_TAKEN:-} " in *" $port "*) tries=$((tries + 1)); continue ;; esac
		if _svc_port_free "$port"; then
			_SVC_TAKEN="${_SVC_TAKEN:-} $port"
			echo "$port"
			return 0
		fi
		tries=$((tries + 1))
	done
	_svc_log "no free port found"
	return 1
}

# _svc_http_ok PORT PATH: GET http://127.0.0.1:PORT/PATH answers 200.
_svc_http_ok() {
	local line
	line=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3 && head -n1 <&3) 2>/dev/null) || return 1
	case "$line" in *" 200 "*) return 0 ;; esac
	return 1
}

# _svc_wait WHAT SECONDS CMD…: retries CMD every 0.2 s until it succeeds.
_svc_wait() {
	local what=$1 secs=$2 i=0
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -ge $((secs * 5)) ]; then
			_svc_log "$what did not become ready in ${secs}s"
			return 1
		fi
		sleep 0.2
	done
}

_svc_secret() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }

# _svc_install installs the Debian packages whose programs are missing.
_svc_install() {
	local pkgs=()
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs+=(postgresql)
	command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
	command -v redis-cli >/dev/null 2>&1 || pkgs+=(redis-tools)
	command -v prometheus >/dev/null 2>&1 || pkgs+=(prometheus)
	command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
	command -v setpriv >/dev/null 2>&1 || pkgs+=(util-linux)
	[ "${#pkgs[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		_svc_log "missing ${pkgs[*]}: install them (sudo apt-get install -y ${pkgs[*]}) or run as root"
		return 1
	fi
	_svc_log "installing ${pkgs[*]}"
	# Keep the packages' own services from starting: we run our own.
	local policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
	fi
	local rc=0
	if [ -z "${_SVC_APT_UPDATED:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || rc=$?
		_SVC_APT_UPDATED=1
	fi
	if [ "$rc" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2 || rc=$?
	fi
	[ -n "$made_policy" ] && rm -f "$policy"
	return "$rc"
}

_svc_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	id "$SHIPPROD_SVC_USER" >/dev/null 2>&1 && return 0
	useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SHIPPROD_SVC_USER"
}

_svc_postgres() {
	local dir=$SHIPPROD_SERVICES_DIR/postgres bin port pw
	bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
	port=$(_svc_free_port) || return 1
	pw=$(_svc_secret)
	mkdir -p "$dir/socket"
	printf '%s\n' "$pw" >"$SHIPPROD_SERVICES_DIR/pgpass"
	chmod 600 "$SHIPPROD_SERVICES_DIR/pgpass"
	[ "$(id -u)" -eq 0 ] && chown -R "$SHIPPROD_SVC_USER" "$SHIPPROD_SERVICES_DIR"
	_svc_run "$bin/initdb" -D "$dir/data" -U shipprod --auth=scram-sha-256 --pwfile="$SHIPPROD_SERVICES_DIR/pgpass" -E UTF8 --no-instructions >"$SHIPPROD_SERVICES_DIR/initdb.log" 2>&1 || {
		_svc_log "initdb failed:"; cat "$SHIPPROD_SERVICES_DIR/initdb.log" >&2; return 1
	}
	_svc_run "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/socket -c fsync=off" start >/dev/null || {
		_svc_log "postgres did not start:"; cat "$dir/postgres.log" >&2; return 1
	}
	echo "$bin/pg_ctl" >"$SHIPPROD_SERVICES_DIR/pg_ctl.path"
	_svc_wait postgres 30 "$bin/pg_isready" -h 127.0.0.1 -p "$port" || return 1
	export SHIPPROD_TEST_POSTGRES_DSN="postgres://shipprod:$pw@127.0.0.1:$port/postgres?sslmode=disable"
	_svc_log "postgres on 127.0.0.1:$port"
}

_svc_certs() {
	local d=$SHIPPROD_SERVICES_DIR/tls
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=shipprod test CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1 &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
			-extfile "$d/san.ext" -out "$d/server.pem" >/dev/null 2>&1
}

# _svc_redis_conf DIR PORT PASSWORD EXTRA writes DIR/redis.conf.
_svc_redis_conf() {
	cat >"$1/redis.conf" <<EOF
bind 127.0.0.1
port $2
requirepass $3
dir $1
daemonize yes
pidfile $1/redis.pid
logfile $1/redis.log
save ""
appendonly no
$4
EOF
}

# _svc_redis_why prints why redis-server did not start: what it printed
# (a configuration error goes to its output, before the log file is open)
# and the end of its log.
_svc_redis_why() {
	local dir=$1
	{ cat "$dir/redis-start.out" 2>/dev/null; tail -n 20 "$dir/redis.log" 2>/dev/null; } | sed 's/^/  redis-server: /' >&2
}

_svc_redis() {
	local dir=$SHIPPROD_SERVICES_DIR/redis port tlsport="" pw tls=""
	port=$(_svc_free_port) || return 1
	pw=$(_svc_secret)
	mkdir -p "$dir"
	if _svc_certs; then
		tlsport=$(_svc_free_port) || return 1
		tls="tls-port $tlsport
tls-cert-file $SHIPPROD_SERVICES_DIR/tls/server.pem
tls-key-file $SHIPPROD_SERVICES_DIR/tls/server.key
tls-ca-cert-file $SHIPPROD_SERVICES_DIR/tls/ca.pem
tls-auth-clients no"
	else
		_svc_log "openssl could not make the test certificates: starting Redis without TLS (the TLS test fails under CI=true)"
	fi
	_svc_redis_conf "$dir" "$port" "$pw" "$tls"
	[ "$(id -u)" -eq 0 ] && chown -R "$SHIPPROD_SVC_USER" "$SHIPPROD_SERVICES_DIR"
	if ! _svc_run redis-server "$dir/redis.conf" >"$dir/redis-start.out" 2>&1 || ! _svc_wait redis 10 test -s "$dir/redis.pid"; then
		if [ -n "$tls" ]; then
			_svc_log "redis-server did not start with TLS; starting it without TLS (the TLS test fails under CI=true). Why:"
			_svc_redis_why "$dir"
			tlsport="" tls=""
			_svc_redis_conf "$dir" "$port" "$pw" ""
			_svc_run redis-server "$dir/redis.conf" >"$dir/redis-start.out" 2>&1 || { _svc_log "redis-server did not start:"; _svc_redis_why "$dir"; return 1; }
		else
			_svc_log "redis-server did not start:"; _svc_redis_why "$dir"; return 1
		fi
	fi
	_svc_wait redis 20 env REDISCLI_AUTH="$pw" redis-cli -h 127.0.0.1 -p "$port" ping || { _svc_redis_why "$dir"; return 1; }
	# The TLS listener must answer too, with the test CA, before the tests
	# are told it exists.
	if [ -n "$tlsport" ] && ! _svc_wait "redis TLS" 10 env REDISCLI_AUTH="$pw" redis-cli --tls --cacert "$SHIPPROD_SERVICES_DIR/tls/ca.pem" \
		-h 127.0.0.1 -p "$tlsport" ping; then
		_svc_log "redis-server's TLS port $tlsport does not answer PING over TLS (the TLS test fails under CI=true):"
		_svc_redis_why "$dir"
		tlsport=""
	fi
	export SHIPPROD_TEST_REDIS_ADDR="127.0.0.1:$port" SHIPPROD_TEST_REDIS_PASSWORD="$pw"
	if [ -n "$tlsport" ]; then
		export SHIPPROD_TEST_REDIS_TLS_ADDR="127.0.0.1:$tlsport" SHIPPROD_TEST_REDIS_TLS_CA="$SHIPPROD_SERVICES_DIR/tls/ca.pem"
		_svc_log "redis on 127.0.0.1:$port, TLS on 127.0.0.1:$tlsport"
	else
		_svc_log "redis on 127.0.0.1:$port (no TLS)"
	fi
}

_svc_prometheus() {
	local dir=$SHIPPROD_SERVICES_DIR/prometheus port exporter
	port=$(_svc_free_port) || return 1
	exporter=$(_svc_free_port) || return 1
	mkdir -p "$dir/data"
	cat >"$dir/rules.yml" <<-EOF
		groups:
		  - name: shipprod-test
		    interval: 250ms
		    rules:
		      - alert: ShipprodTestCritical
		        expr: shipprod_test_alert > 0
		        labels: {severity: critical}
		        annotations: {summary: raised by the shipprod end-to-end test}
	EOF
	cat >"$dir/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 250ms
		  scrape_timeout: 200ms
		  evaluation_interval: 250ms
		rule_files: [$dir/rules.yml]
		scrape_configs:
		  - job_name: shipprod-test
		    static_configs:
		      - targets: ["127.0.0.1:$exporter"]
	EOF
	[ "$(id -u)" -eq 0 ] && chown -R "$SHIPPROD_SVC_USER" "$SHIPPROD_SERVICES_DIR"
	(_svc_exec prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--storage.tsdb.retention.time=2h --web.listen-address="127.0.0.1:$port" >"$dir/prometheus.log" 2>&1) &
	_SVC_PROM_PID=$!
	echo "$_SVC_PROM_PID" >"$SHIPPROD_SERVICES_DIR/prometheus.pid"
	_svc_wait prometheus 60 _svc_http_ok "$port" /-/ready || { tail -n 30 "$dir/prometheus.log" >&2; return 1; }
	export SHIPPROD_TEST_PROMETHEUS_URL="http://127.0.0.1:$port" SHIPPROD_TEST_EXPORTER_ADDR="127.0.0.1:$exporter"
	_svc_log "prometheus on 127.0.0.1:$port, scraping 127.0.0.1:$exporter"
}

# services_start installs what is missing, starts PostgreSQL, Redis and
# Prometheus on loopback and exports the SHIPPROD_TEST_* variables.
services_start() {
	if [ -n "${SHIPPROD_SERVICES_DIR:-}" ] && [ -d "$SHIPPROD_SERVICES_DIR" ]; then
		_svc_log "already started in $SHIPPROD_SERVICES_DIR"
		return 0
	fi
	_svc_install || return 1
	_svc_user || return 1
	SHIPPROD_SERVICES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/shipprod-services.XXXXXX") || return 1
	export SHIPPROD_SERVICES_DIR
	chmod 755 "$SHIPPROD_SERVICES_DIR"
	_svc_postgres && _svc_redis && _svc_prometheus || {
		_svc_log "starting the services failed; stopping what started"
		services_stop
		return 1
	}
}

# services_stop stops what services_start started and removes its files.
# Everything it needs is in $SHIPPROD_SERVICES_DIR, so it also works from
# another shell: SHIPPROD_SERVICES_DIR=/tmp/shipprod-services.XXXXXX services_stop
services_stop() {
	local dir=${SHIPPROD_SERVICES_DIR:-}
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	# A closed output pipe must not stop the cleanup half-way.
	trap '' PIPE
	if [ -s "$dir/pg_ctl.path" ] && [ -d "$dir/postgres/data" ]; then
		_svc_run "$(cat "$dir/pg_ctl.path")" -D "$dir/postgres/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	local pid
	for pidfile in "$dir/redis/redis.pid" "$dir/prometheus.pid"; do
		[ -s "$pidfile" ] || continue
		pid=$(cat "$pidfile")
		kill "$pid" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null || true
	done
	[ -n "${_SVC_PROM_PID:-}" ] && wait "$_SVC_PROM_PID" 2>/dev/null
	rm -rf "$dir"
	unset SHIPPROD_SERVICES_DIR _SVC_PROM_PID _SVC_TAKEN
	unset SHIPPROD_TEST_POSTGRES_DSN SHIPPROD_TEST_REDIS_ADDR SHIPPROD_TEST_REDIS_PASSWORD SHIPPROD_TEST_REDIS_TLS_ADDR \
		SHIPPROD_TEST_REDIS_TLS_CA SHIPPROD_TEST_PROMETHEUS_URL SHIPPROD_TEST_EXPORTER_ADDR
	_svc_log "stopped" || true
	trap - PIPE
	return 0
}
