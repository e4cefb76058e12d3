# Shared helpers for the bats suites.  Load with: load lib/common

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CL_BIN=${CL_BIN:-$TESTS_DIR/../bin}
CLUSTERCTL=$TESTS_DIR/clusterctl
CLMEMBER=$CL_BIN/clmember
CLMEMBERD=$CL_BIN/clmemberd

# A fresh cluster directory for this test.
cluster_dir() {
	C=$BATS_TEST_TMPDIR/cluster
	mkdir -p "$C"
}

# up N [clmemberd args]: start an N-node cluster in $C and wait for one view.
up() {
	cluster_dir
	"$CLUSTERCTL" up "$C" "$@"
}

# Stop whatever this test started; safe to call twice.
down() {
	[ -n "${C:-}" ] && [ -d "$C" ] && "$CLUSTERCTL" down "$C"
	# Subscribers and watchers started by the test.
	local p
	for p in ${BG_PIDS:-}; do
		kill "$p" 2>/dev/null
	done
	BG_PIDS=""
	return 0
}

conf() {
	echo "$C/n$1/cl.conf"
}

# member K ARGS...: run clmember against node K.
member() {
	local k=$1
	shift
	"$CLMEMBER" -f "$(conf "$k")" "$@"
}

# view K: node K's first status line.
view() {
	member "$1" status | head -1
}

# field LINE KEY: the value of key=value in LINE.
field() {
	local v
	v=$(tr ' ' '\n' <<<"$1" | grep "^$2=" | head -1)
	echo "${v#*=}"
}

# bg CMD...: run in the background, output in the file named by $OUT,
# closing fd 3 (bats waits on it) and remembering the pid for down().
bg() {
	"$@" </dev/null >"$OUT" 2>&1 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
	LAST_PID=$!
}

now_ms() {
	date +%s%3N
}

# wait_for MS CMD...: retry CMD until it succeeds or MS pass.
wait_for() {
	local ms=$1 deadline
	shift
	deadline=$(($(now_ms) + ms))
	until "$@"; do
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.02
	done
}

# Show the node logs when a test fails, to make CI failures readable.
dump_logs() {
	local f
	for f in "${C:-/nonexistent}"/n*/log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		tail -40 "$f"
	done
}

# --- Helpers for membership.bats and security.bats. ---

# node_pid K: node K's clmemberd pid.
node_pid() {
	"$CLUSTERCTL" pid "$C" "$1"
}

# node_port K: node K's TCP port, from its own config.
node_port() {
	sed -n "s/^node $1 { address = \"[^\"]*:\([0-9]*\)\" }$/\1/p" \
	    "$(conf "$1")"
}

# epoch_of K: the epoch in node K's status.
epoch_of() {
	field "$(view "$1")" epoch
}

# wait_view MEMBERS [MS]: every node in MEMBERS shows that view, with
# quorum, at one epoch (clusterctl wait).
wait_view() {
	"$CLUSTERCTL" wait "$C" "$@"
}

# watch_start K FILE: `clmember watch` on node K into FILE, in the
# background; returns once it is connected to the daemon.
watch_start() {
	local k=$1 i
	OUT=$2
	bg "$CLMEMBER" -f "$(conf "$k")" watch
	# Connected when its socket shows in the daemon's peer list; the
	# tool sends "watch" right after connecting, so also give it a moment.
	for i in $(seq 1 100); do
		ls -l "/proc/$LAST_PID/fd" 2>/dev/null | grep -q socket && break
		sleep 0.02
	done
	sleep 0.2
}

# event_ms FILE ERE: the time= of the first line of FILE matching ERE, in
# ms since the epoch (watch lines end in time=SECONDS.MICROSECONDS).
event_ms() {
	local line t
	line=$(grep -E -- "$2" "$1" | head -1)
	[ -n "$line" ] || return 1
	t=${line##*time=}
	echo $((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

# log_mark K: the number of lines in node K's log now; log_since K MARK:
# the lines added after the mark.
log_mark() {
	wc -l <"$C/n$1/log"
}

log_since() {
	tail -n +"$(($2 + 1))" "$C/n$1/log"
}

# rss_kb PID [KEY]: VmRSS (or KEY, e.g. VmHWM) of a process, in kB.
rss_kb() {
	awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status"
}

# flunk MSG...: fail the test with a message.
flunk() {
	echo "$*" >&2
	return 1
}
