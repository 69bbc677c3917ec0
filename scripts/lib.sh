# shellcheck shell=bash
# scripts/lib.sh — bash helpers for berth's scripts (test, demo, benchmarks).
# Source it:  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Works under `set -euo pipefail`. Defines:
#   berth_root                 print the repo root (absolute)
#   berth_use_tools            export BERTH_TOOLS, PATH, CHECKPOINT_DISABLE for
#                              the tools scripts/setup installs (installs nothing)
#   free_port                  print a free TCP port on 127.0.0.1
#   start_moto PORT LOGFILE    start moto_server on 127.0.0.1:PORT in the
#                              background, wait until it answers HTTP, print its
#                              pid (use: pid=$(start_moto "$port" "$log"));
#                              fails with the log's tail after
#                              $BERTH_MOTO_START_TIMEOUT seconds (default 30)
#   stop_moto PID              stop it (TERM, then KILL after 5 s)
#   moto_reset PORT            empty the emulator (POST /moto-api/reset)

_berth_lib_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)

berth_root() {
	(cd -- "$_berth_lib_dir/.." && pwd -P)
}

berth_use_tools() {
	BERTH_TOOLS=${BERTH_TOOLS:-$(berth_root)/.tools}
	export BERTH_TOOLS
	case ":$PATH:" in
	*":$BERTH_TOOLS/bin:"*) ;;
	*) export PATH="$BERTH_TOOLS/bin:$PATH" ;;
	esac
	export CHECKPOINT_DISABLE=1
}

# A python for the helpers below: the tools venv's if present, else python3.
_berth_python() {
	local py=${BERTH_TOOLS:-$(berth_root)/.tools}/venv/bin/python
	if [[ -x $py ]]; then
		printf '%s\n' "$py"
	else
		printf '%s\n' python3
	fi
}

free_port() {
	"$(_berth_python)" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# _berth_http METHOD URL: succeed if URL answers 2xx (connection errors and
# other statuses fail), quietly.
_berth_http() {
	local method=$1 url=$2
	if command -v curl >/dev/null 2>&1; then
		curl -sf -o /dev/null --max-time 5 -X "$method" "$url"
	else
		"$(_berth_python)" - "$method" "$url" <<'EOF'
import sys, urllib.request
method, url = sys.argv[1:]
try:
    urllib.request.urlopen(urllib.request.Request(url, method=method, data=b"" if method == "POST" else None), timeout=5).read()
except Exception:
    sys.exit(1)
EOF
	fi
}

start_moto() {
	if (($# != 2)); then
		echo "usage: start_moto PORT LOGFILE" >&2
		return 2
	fi
	local port=$1 log=$2 moto pid deadline
	moto=${BERTH_TOOLS:-$(berth_root)/.tools}/bin/moto_server
	if [[ ! -x $moto ]]; then
		moto=$(command -v moto_server) || {
			echo "start_moto: moto_server not found: run scripts/setup" >&2
			return 1
		}
	fi
	if _berth_http GET "http://127.0.0.1:$port/moto-api/"; then
		echo "start_moto: something already answers on 127.0.0.1:$port" >&2
		return 1
	fi
	"$moto" -H 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
	pid=$!
	deadline=$((SECONDS + ${BERTH_MOTO_START_TIMEOUT:-30}))
	until _berth_http GET "http://127.0.0.1:$port/moto-api/"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "start_moto: moto_server (pid $pid) exited before answering on 127.0.0.1:$port; tail of $log:" >&2
			tail -n 20 "$log" >&2 || true
			return 1
		fi
		if ((SECONDS >= deadline)); then
			echo "start_moto: moto_server (pid $pid) not answering on 127.0.0.1:$port after ${BERTH_MOTO_START_TIMEOUT:-30}s; tail of $log:" >&2
			tail -n 20 "$log" >&2 || true
			kill "$pid" 2>/dev/null || true
			return 1
		fi
		sleep 0.1
	done
	printf '%s\n' "$pid"
}

stop_moto() {
	if (($# != 1)); then
		echo "usage: stop_moto PID" >&2
		return 2
	fi
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "stop_moto: pid $pid ignored SIGTERM for 5s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# Reap it if it is our own child (not so when started inside $(...)).
	wait "$pid" 2>/dev/null || true
}

moto_reset() {
	if (($# != 1)); then
		echo "usage: moto_reset PORT" >&2
		return 2
	fi
	_berth_http POST "http://127.0.0.1:$1/moto-api/reset" || {
		echo "moto_reset: POST http://127.0.0.1:$1/moto-api/reset failed" >&2
		return 1
	}
}
