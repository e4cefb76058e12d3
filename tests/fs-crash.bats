#!/usr/bin/env bats
#
# The file system under crashes (issue 5, crash tests and fencing):
# kill -9 of clmetad during creates, of cliod during a put, and a second
# clmetad for the same file system.  Each test has its own 3-node
# cluster (tests/clusterctl up --fs; lease_ms 1000).  seed002#N names
# behaviour N of seed-notes/002.md section 5.
#
# Creates come from tests/lib/fsbench.c (bin/test/fsbench, `make
# units`), pipelined through node 2's cliod, each acknowledged name
# logged as its answer arrives: a loop of `clfs put` is too slow to be
# caught in the act.

setup() {
	load lib/common
	FSBENCH=$CL_BIN/test/fsbench
	[ -x "$FSBENCH" ] || flunk "$FSBENCH missing: make units"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		local f
		for f in "${C:-/nonexistent}"/n*/clmetad*.log \
		    "${C:-/nonexistent}"/n*/cliod.log "${C:-/nonexistent}"/*.out; do
			[ -f "$f" ] || continue
			echo "--- $f"
			tail -20 "$f"
		done
	}
	down
}

clfs() {
	local k=$1
	shift
	"$CL_BIN/clfs" -f "$(conf "$k")" "$@"
}

daemon() {
	"$CLUSTERCTL" daemon "$C" "$@"
}

# fsck_stopped: stop clmetad (SIGTERM), fsck read-only must be clean.
fsck_clean() {
	run clfs 1 fsck fs1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 problems"* ]]
}

# lines FILE: its line count (0 if missing).
lines_of() {
	[ -f "$1" ] && wc -l <"$1" || echo 0
}

# acked_ge N: at least N creates acknowledged so far.
acked_ge() {
	[ "$(lines_of "$C/acked")" -ge "$1" ]
}

# size_is K PATH BYTES: node K sees PATH at that size.
size_is() {
	clfs "$1" stat "fs1:$2" 2>/dev/null | grep -q " size=$3 "
}

# size_not K PATH BYTES
size_not() {
	clfs "$1" stat "fs1:$2" 2>/dev/null | grep -q " size=" &&
	    ! size_is "$@"
}

# acked_present LOG DIR: every name in LOG is in fs1:DIR.
acked_present() {
	clfs 3 ls "fs1:$2" | sort >"$C/listed"
	sort -u "$1" >"$C/acked.sorted"
	comm -23 "$C/acked.sorted" "$C/listed" >"$C/missing"
	[ ! -s "$C/missing" ] || {
		echo "acknowledged but missing: $(wc -l <"$C/missing")"
		head "$C/missing"
		return 1
	}
}

@test "fs-crash: kill -9 clmetad during 2,000 creates: fsck clean, every acknowledged create is there after the restart (seed002#9)" {
	up 3 --fs fs1:256M
	OUT=$C/fsbench.out
	bg "$FSBENCH" -f "$(conf 2)" -F fs1 -n 2000 -w 64 -d /c -l "$C/acked"
	bench=$LAST_PID
	wait_for 20000 acked_ge 300
	daemon 1 clmetad kill KILL
	at_kill=$(lines_of "$C/acked")
	echo "acknowledged at the kill: $at_kill"
	[ "$at_kill" -lt 2000 ]
	# The journal as it was left, overlaid read-only: consistent.
	fsck_clean
	daemon 1 clmetad start
	"$CLUSTERCTL" fswait "$C" 30000
	# cliod resends to the new clmetad: the run may finish, or fail.
	wait_for 60000 test ! -e "/proc/$bench"
	cat "$OUT"
	acked_present "$C/acked" /c
	daemon 1 clmetad kill TERM
	fsck_clean
}

@test "fs-crash: kill -9 cliod during a 100 MiB put: a clear error, the file a prefix of the source, fsck clean once the lease is over" {
	up 3 --fs fs1:512M
	head -c $((100 * 1024 * 1024)) /dev/urandom >"$C/src"
	# 50 MiB, a pause, the rest: the kill comes in the pause, when every
	# write sent has been acknowledged.
	OUT=$C/put.out
	bg bash -c "{ dd if='$C/src' bs=1M count=50 status=none; sleep 10;
	    dd if='$C/src' bs=1M skip=50 status=none; } |
	    '$CL_BIN/clfs' -f '$(conf 2)' put - fs1:/big"
	put=$LAST_PID
	# Writes complete out of order: the size may be there before every
	# write is; the producer sleeps long enough for all to be.
	wait_for 10000 size_is 3 /big 52428800
	sleep 2
	daemon 2 cliod kill KILL
	wait_for 15000 test ! -e "/proc/$put"
	cat "$OUT"
	grep -q "^clfs: fs1:/big: cliod closed the connection after 52428800 bytes were acknowledged; the file may be partial$" "$OUT"
	daemon 2 cliod start
	sleep 2.5
	run clfs 3 stat fs1:/big
	size=$(field "$output" size)
	echo "size $size"
	[ "$size" -eq 52428800 ]
	clfs 3 get fs1:/big "$C/got"
	cmp -n "$size" "$C/src" "$C/got"
	[ "$(stat -c %s "$C/got")" -eq "$size" ]
	# Nothing marked written that was not, nothing leaked.
	daemon 1 clmetad kill TERM
	fsck_clean
}

@test "fs-crash: kill -9 cliod in the middle of a 100 MiB put: what is there is the source or zeros, never garbage" {
	up 3 --fs fs1:512M
	head -c $((100 * 1024 * 1024)) /dev/urandom >"$C/src"
	OUT=$C/put.out
	bg "$CL_BIN/clfs" -f "$(conf 2)" put "$C/src" fs1:/big
	put=$LAST_PID
	wait_for 10000 size_not 3 /big 0
	daemon 2 cliod kill KILL
	wait_for 15000 test ! -e "/proc/$put"
	cat "$OUT"
	if ! grep -q "cliod closed the connection" "$OUT"; then
		# The put won the race: then it must be whole.
		clfs 3 get fs1:/big - | cmp - "$C/src"
		skip "the put finished before the kill"
	fi
	daemon 2 cliod start
	sleep 2.5
	clfs 3 get fs1:/big "$C/got"
	size=$(stat -c %s "$C/got")
	echo "size $size"
	[ "$size" -le $((100 * 1024 * 1024)) ]
	# Each 1 MiB piece: the source's, or zeros (a write in flight that
	# never committed leaves a hole), never anything else.
	head -c $((1024 * 1024)) /dev/zero >"$C/zero"
	for i in $(seq 0 $(((size - 1) / 1048576))); do
		dd if="$C/got" bs=1M skip="$i" count=1 status=none >"$C/piece"
		n=$(stat -c %s "$C/piece")
		dd if="$C/src" bs=1M skip="$i" count=1 status=none |
		    head -c "$n" | cmp -s - "$C/piece" ||
		    head -c "$n" "$C/zero" | cmp - "$C/piece"
	done
	daemon 1 clmetad kill TERM
	fsck_clean
}

@test "fs-crash: a second clmetad for fs1 fences the first: exactly one serves, the older one's writes fail, no acknowledged create lost (seed002#1)" {
	up 3 --fs fs1:256M
	OUT=$C/fsbench.out
	bg "$FSBENCH" -f "$(conf 2)" -F fs1 -n 2000 -w 16 -d /c -l "$C/acked"
	bench=$LAST_PID
	wait_for 20000 acked_ge 200
	old=$(daemon 1 clmetad pid)
	"$CL_BIN/clmetad" -d -f "$(conf 1)" -F fs1 </dev/null \
	    >"$C/n1/clmetad2.log" 2>&1 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
	new=$!
	# The older one sees the new epoch and stops.
	wait_for 10000 test ! -e "/proc/$old"
	grep -q "fs1: fenced: epoch 2 by node 1" "$C/n1/clmetad.log"
	wait_for 10000 grep -q "serving" "$C/n1/clmetad2.log"
	kill -0 "$new"
	wait_for 60000 test ! -e "/proc/$bench"
	cat "$OUT"
	acked_present "$C/acked" /c
	run member 3 services
	[ "$(grep -c "name=clmetad.fs1$" <<<"$output")" -eq 1 ]
	run clfs 3 df fs1
	[[ "$output" == *" admin=1 epoch=2"* ]]
	echo more | clfs 3 put - fs1:/after
	[ "$(clfs 2 cat fs1:/after)" = more ]
	# The put's write lease (its preallocation) ends first.
	sleep 2.5
	kill -TERM "$new"
	wait_for 10000 test ! -e "/proc/$new"
	fsck_clean
}

@test "fs-crash: a clmetad on another node stands by while the lock is held, takes over when node 1 dies; data written before is there (seed002#1, seed002#9)" {
	up 3 --fs fs1:256M
	head -c 5000000 /dev/urandom >"$C/src"
	clfs 2 put "$C/src" fs1:/f
	daemon 2 clmetad start
	wait_for 10000 grep -q "held by node 1; waiting" "$C/n2/clmetad.log"
	sleep 1
	run member 3 services
	[ "$(grep -c "name=clmetad.fs1$" <<<"$output")" -eq 1 ]
	grep -q "node=1 name=clmetad.fs1" <<<"$output"
	# Node 1 dies whole: its lock goes once the view has dropped it.
	daemon 1 clmetad kill KILL
	daemon 1 cliod kill KILL
	"$CLUSTERCTL" kill "$C" 1 KILL
	wait_for 30000 grep -q "serving" "$C/n2/clmetad.log"
	clfs 3 get fs1:/f - | cmp - "$C/src"
	run clfs 3 df fs1
	[[ "$output" == *" admin=2 epoch=2"* ]]
	echo after | clfs 3 put - fs1:/g
	[ "$(clfs 2 cat fs1:/g)" = after ]
	# The put's write lease (its preallocation) ends first.
	sleep 2.5
	daemon 2 clmetad kill TERM
	run "$CL_BIN/clfs" -f "$(conf 2)" fsck fs1
	echo "$output"
	[ "$status" -eq 0 ]
}
