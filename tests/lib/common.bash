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
