#!/usr/bin/env bats
#
# Client load rebalancing (issue 8; seed 002 FIG 1A, 6, 7A-D,
# seeds/002_ecb500791a584f88.txt L266-L293, L570-L604, L662-L737):
# cliod's utilization records and redirects (cliod(8)), the aware
# client's path table (libcl/client.c) in clfs(1), and the test-only
# slow switch.  seed002#N names behaviour N of seed-notes/002.md
# section 5 that a test covers.
#
# The clusters have 3 nodes and fs1; node 1 cannot reach the volume
# (path "" in every config), so the clients there read and write through
# node 2's or node 3's cliod: those are fs1's paths.  Each client is one
# clfs put of a paced stream of 4 KiB records "NAME <counter> xxx...",
# whose every byte is known, so what was acknowledged can be checked.

setup() {
	load lib/common
	CLIOCLI=$CL_BIN/test/cliocli
	[ -x "$CLIOCLI" ] || flunk "$CLIOCLI missing: make units"
	T=$BATS_TEST_TMPDIR
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		local f
		for f in "$T"/*.log "${C:-/nonexistent}"/n*/cliod.log; do
			[ -f "$f" ] || continue
			echo "--- $f"
			grep -v ' off=' "$f" | tail -25
		done
	}
	down
	[ -z "${RB_DIR:-}" ] || rm -rf "$RB_DIR"
}

# rbcluster [CONF LINES]: 3 nodes, fs1 of 1 GiB, node 1 without the
# volume; the lines (util_ms, util_high, rtt_high_ms) in every config.
rbcluster() {
	if [ -n "${RB_DIR:-}" ]; then
		C=$RB_DIR
	else
		cluster_dir
	fi
	CL_EXTRA_CONF=$1 "$CLUSTERCTL" up "$C" 3 --fs fs1:1G
	local k
	for k in 1 2 3; do
		"$CLUSTERCTL" daemon "$C" "$k" cliod kill TERM
		sed -i 's|^\(node 1 { address = "[^"]*"\) }$|\1\n\tvolume fs1 { path = "" } }|' \
		    "$(conf "$k")"
		grep -q 'path = ""' "$(conf "$k")"
	done
	for k in 1 2 3; do
		"$CLUSTERCTL" daemon "$C" "$k" cliod start
	done
	"$CLUSTERCTL" fswait "$C" 30000
	"$CL_BIN/clfs" -f "$(conf 1)" mkdir fs1:/t
}

# st K KEY: one key of node K's cliod status.
st() {
	"$CLIOCLI" -f "$(conf "$1")" status | sed -n "s/^$2=//p"
}

# wbytes: bytes written to the volume by nodes 2 and 3 (node 1 only
# forwards), every write counted where it was done.
wbytes() {
	echo $(($(st 2 write_bytes) + $(st 3 write_bytes)))
}

# gen NAME MIB [MIB_PER_S]: MIB MiB of 4 KiB records, paced.
gen() {
	awk -v n="$1" -v mib="$2" -v rate="${3:-0}" 'BEGIN {
		pad = sprintf("%*s", 4096 - length(n) - 15, "")
		gsub(/ /, "x", pad)
		for (i = 0; i < mib * 256; i++) {
			printf "%s %012d %s\n", n, i, pad
			if (rate > 0 && i % 64 == 63) {
				fflush()
				system("sleep " 0.25 / rate)
			}
		}
	}'
}

# client NAME MIB RATE [CLFS OPTIONS]: gen | clfs -vv put - fs1:/t/NAME on
# node 1, in the background; its log (moves, and one line per answered
# write) in $T/NAME.log; its pid in PID_NAME.
client() {
	local name=$1 mib=$2 rate=$3
	shift 3
	OUT=$T/$name.log
	bg sh -c "$(declare -f gen); gen $name $mib $rate |
	    \"$CL_BIN/clfs\" -vv -f \"$(conf 1)\" $* put - fs1:/t/$name"
	eval "PID_$name=$LAST_PID"
}

# moves NAME: the client's path changes so far.
moves() {
	grep -c ': via node [0-9]* (was' "$T/$1.log" || true
}

# moved_since NAME MARK ERE: a move after the first MARK ones matches ERE.
moved_since() {
	grep ': via node [0-9]* (was' "$T/$1.log" | tail -n +$(($2 + 1)) |
	    grep -Eq -- "$3"
}

# check NAME MIB: the file reads back as the stream that was put, and
# each of its MiB was acknowledged once (the -vv lines).
check() {
	local name=$1 mib=$2
	[ "$("$CL_BIN/clfs" -f "$(conf 1)" get "fs1:/t/$name" - | md5sum)" = \
	    "$(gen "$name" "$mib" | md5sum)" ] ||
	    flunk "fs1:/t/$name does not read back as written"
	[ "$(grep -c " write off=" "$T/$name.log")" -eq "$mib" ] ||
	    flunk "$name: $(grep -c " write off=" "$T/$name.log") writes acknowledged, not $mib"
	[ -z "$(grep " write off=" "$T/$name.log" | awk '{ print $4 }' |
	    sort | uniq -d)" ] || flunk "$name: an offset acknowledged twice"
}

@test "seed002#13: every cliod keeps util/N in the cluster database, and every node has everyone's" {
	rbcluster "util_ms = 200"
	for k in 1 2 3; do
		wait_for 5000 sh -c "\"$CLMEMBER\" -f \"$(conf "$k")\" db ls util/ |
		    grep -c '^key=util/' | grep -qx 3" ||
		    flunk "node $k: $("$CLMEMBER" -f "$(conf "$k")" db ls util/)"
	done
	line=$("$CLMEMBER" -f "$(conf 1)" db ls util/ | grep '^key=util/2 ')
	[[ "$line" =~ value=util=[0-9]+\ inflight=[0-9]+\ clients=[0-9]+\ interval=200\ ts=[0-9]+$ ]]
	# Rewritten at least every 10 intervals (2 s here), changed or not.
	ts1=${line##*ts=}
	sleep 2.5
	line=$("$CLMEMBER" -f "$(conf 3)" db ls util/ | grep '^key=util/2 ')
	[ "${line##*ts=}" -gt "$ts1" ]
	[ -n "$(st 2 util)" ]
	[ "$(st 2 slow_ms)" -eq 0 ]
	[ "$(st 2 redirects)" -eq 0 ]
}

@test "seed002#12 #14: slowed, node 2's cliod moves its aware clients to node 3 within 5 s, not the unaware one; recovered, it gets them back; nothing lost or written twice" {
	# Redirects do it here: round trips are not looked at (1 s).
	rbcluster "util_ms = 250
util_high = 50
rtt_high_ms = 1000"
	w0=$(wbytes)
	client A 96 4 --via 2
	client B 96 4 --via 2
	client U 24 1 --unaware --via 2
	sleep 3
	# Everything goes through node 2 so far.
	[ "$(st 3 write_bytes)" -eq 0 ]
	[ "$(st 2 write_bytes)" -gt 0 ]
	grep -q 'fs1: via node 2$' "$T/A.log"
	grep -q 'fs1: via node 2 (unaware)$' "$T/U.log"

	# Slow: 20 ms per request, one at a time (18 per MiB from node 1).
	run "$CLIOCLI" -f "$(conf 2)" raw slow delay_ms=20
	[ "$output" = "delay_ms=20" ]
	t0=$(now_ms)
	wait_for 5000 grep -q 'via node 3 (was 2): redirected by node 2' \
	    "$T/A.log"
	wait_for $((5000 - ($(now_ms) - t0))) \
	    grep -q 'via node 3 (was 2): redirected by node 2' "$T/B.log"
	echo "both aware clients on node 3 after $(($(now_ms) - t0)) ms"
	[ "$(st 2 redirects)" -gt 0 ]
	# Node 3 writes for them (counted once each write is durable), all
	# within 5 s of the slowing.
	wait_for $((5000 - ($(now_ms) - t0))) sh -c "[ \$(\"$CLIOCLI\" -f \"$(conf 3)\" status |
	    sed -n 's/^write_bytes=//p') -gt 0 ]"
	# The unaware client is never redirected: it goes on through node 2,
	# slowly (seed002#12).
	u2=$(st 2 write_bytes)
	sleep 4
	[ "$(st 2 write_bytes)" -gt "$u2" ]
	! grep -q 'via node 3' "$T/U.log"
	! grep -q 'redirect' "$T/U.log"

	# Recovered: the aware clients come back to node 2, their first path.
	ma=$(moves A)
	mb=$(moves B)
	"$CLIOCLI" -f "$(conf 2)" raw slow delay_ms=0
	wait_for 15000 sh -c "$(declare -f moved_since); T=$T
	    moved_since A $ma 'via node 2 \(was 3\)' ||
	    moved_since B $mb 'via node 2 \(was 3\)'"
	grep ': via node' "$T/A.log" "$T/B.log"

	for p in "$PID_A" "$PID_B" "$PID_U"; do
		wait_for 90000 sh -c "! kill -0 $p 2>/dev/null"
		wait "$p"
	done
	check A 96
	check B 96
	check U 24
	# Each byte was written to the volume once, by node 2 or node 3.
	[ $(($(wbytes) - w0)) -eq $(((96 + 96 + 24) * 1048576)) ]
}

@test "seed002#17: an aware client moves off a slow node by its own round trips, without redirects" {
	# util_high 100: no cliod ever redirects.
	rbcluster "util_ms = 250
util_high = 100
rtt_high_ms = 150"
	client A 48 4 --via 2
	sleep 2
	"$CLIOCLI" -f "$(conf 2)" raw slow delay_ms=20
	wait_for 8000 grep -q 'via node 3 (was 2): slow round trips' \
	    "$T/A.log"
	grep -q 'round trips over 150 ms through node 2' "$T/A.log"
	[ "$(st 2 redirects)" -eq 0 ]
	"$CLIOCLI" -f "$(conf 2)" raw slow delay_ms=0
	wait_for 90000 sh -c "! kill -0 $PID_A 2>/dev/null"
	wait "$PID_A"
	check A 48
}

@test "seed002#18 #19: the cliod of an aware client's path dies: the client goes on through another node, nothing lost; the node back, the client returns" {
	rbcluster "util_ms = 250"
	w0=$(wbytes)
	client A 64 4 --via 3
	sleep 2
	grep -q 'fs1: via node 3$' "$T/A.log"
	"$CLUSTERCTL" daemon "$C" 3 cliod kill KILL
	wait_for 10000 grep -q 'via node 2 (was 3): no answer' "$T/A.log"
	grep -q 'node 3 failed' "$T/A.log"
	sleep 2
	"$CLUSTERCTL" daemon "$C" 3 cliod start
	# Failed back: node 3 writes its record again, and A goes home.
	wait_for 20000 grep -q 'via node 3 (was 2): back to the first path' \
	    "$T/A.log"
	wait_for 90000 sh -c "! kill -0 $PID_A 2>/dev/null"
	wait "$PID_A"
	check A 64
}

@test "seed002#20: the paths are the nodes that can reach the volume and share a domain with it; --via elsewhere is refused" {
	rbcluster "util_ms = 250"
	echo x >"$T/x"
	run "$CL_BIN/clfs" -f "$(conf 1)" --via 1 put "$T/x" fs1:/t/x
	[ "$status" -eq 1 ]
	[[ "$output" == *"node 1 cannot reach fs1"* ]]
	run "$CL_BIN/clfs" -f "$(conf 1)" --via 9 put "$T/x" fs1:/t/x
	[ "$status" -eq 1 ]
	# A node of another domain is no path, even with the volume.
	sed -i 's|\(path = "[^"]*/fs1\.vol"\)|\1 domains = {"la"}|' "$(conf 1)"
	grep -q 'domains = {"la"}' "$(conf 1)"
	sed -i 's|^\(node 3 { address = "[^"]*"\) }$|\1 domains = {"ny"} }|' \
	    "$(conf 1)"
	run "$CL_BIN/clfs" -f "$(conf 1)" --via 3 put "$T/x" fs1:/t/x
	[ "$status" -eq 1 ]
	[[ "$output" == *"node 3 cannot reach fs1"* ]]
	run "$CL_BIN/clfs" -v -f "$(conf 1)" put "$T/x" fs1:/t/x
	[ "$status" -eq 0 ]
	[[ "$output" == *"via node 2"* ]]
	# Unaware without --via: no via=, as before (cliod picks the node).
	run "$CL_BIN/clfs" -f "$(conf 1)" --unaware get fs1:/t/x -
	[ "$output" = x ]
	# A request may name no node that cannot reach the volume.
	ino=$("$CLIOCLI" -f "$(conf 1)" raw stat fs=fs1 path=/t/x |
	    sed -n 's/^ino=//p')
	run "$CLIOCLI" -f "$(conf 1)" raw read fs=fs1 ino="$ino" gen=1 off=0 \
	    count=1 via=1
	[[ "$output" == *"status=EINVAL"* ]]
}

@test "cliod: the slow switch wants delay_ms=0..60000 and cliod's user or root; it is not for other nodes" {
	# Where another user can reach node 2's socket (bats's own
	# directories are root's only).
	RB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/clrbslow.XXXXXX")
	chmod 711 "$RB_DIR"
	rbcluster "util_ms = 250"
	run "$CLIOCLI" -f "$(conf 2)" raw slow delay_ms=70000
	[[ "$output" == *"status=EINVAL"* ]]
	run "$CLIOCLI" -f "$(conf 2)" raw slow
	[[ "$output" == *"status=EINVAL"* ]]
	run "$CLIOCLI" -f "$(conf 2)" raw slow delay_ms=5
	[ "$output" = "delay_ms=5" ]
	[ "$(st 2 slow_ms)" -eq 5 ]
	grep -q 'slow switch: 5 ms per read or write (tests only)' \
	    "$C/n2/cliod.log"
	# Another user (nobody): refused.
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
		chmod 755 "$C/n2" "$C/n2/run"
		chmod 644 "$(conf 2)"
		run setpriv --reuid=65534 --regid=65534 --clear-groups \
		    "$CLIOCLI" -f "$(conf 2)" raw slow delay_ms=0
		[[ "$output" == *"status=EPERM"* ]]
		[ "$(st 2 slow_ms)" -eq 5 ]
	fi
	"$CLIOCLI" -f "$(conf 2)" raw slow delay_ms=0
	[ "$(st 2 slow_ms)" -eq 0 ]
}
