#!/usr/bin/env bats
#
# The unit tests and a 3-node cluster built with ASan and UBSan (make
# sanitize, into bin/san): kill -9, restart, garbage on both sockets and
# a graceful leave must leave no sanitizer report in any node's log.
# LeakSanitizer runs at each clean exit.

setup_file() {
	cd "$BATS_TEST_DIRNAME/.." || return 1
	make -s -j2 sanitize >"$BATS_FILE_TMPDIR/build.log" 2>&1 ||
	    { cat "$BATS_FILE_TMPDIR/build.log" >&3; return 1; }
}

setup() {
	cd "$BATS_TEST_DIRNAME/.." || return 1
	export CL_BIN=$PWD/bin/san
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	load lib/common
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_logs
	down
}

reports() {
	grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$C"/n*/log "$C"/n*/*.log "$@" 2>/dev/null
}

@test "sanitize: the C unit tests pass under ASan and UBSan" {
	local t out fail=0
	for t in bin/san/unit/test_*; do
		out=$("$t" 2>&1) || { echo "$t failed:"; echo "$out" |
		    grep -vE '^ok ' | tail -30; fail=1; }
		if grep -E 'Sanitizer|runtime error:' <<<"$out"; then
			fail=1
		fi
	done
	[ "$fail" -eq 0 ]
}

@test "sanitize: a 3-node cluster under ASan and UBSan survives kill -9, restart, garbage and a graceful leave with no report" {
	up 3
	"$CLUSTERCTL" kill "$C" 3 KILL
	wait_view 1,2
	"$CLUSTERCTL" start "$C" 3
	wait_view 1,2,3
	# Garbage at the TCP port (raw, and a refused handshake) and at the
	# Unix socket of node 1, from the plain build of clpeer: the daemons
	# are what is under test here.
	head -c 20000 /dev/urandom >"$BATS_TEST_TMPDIR/junk"
	bash -c 'exec 9<>/dev/tcp/127.0.0.1/$1 && cat "$2" >&9 && sleep 0.3' \
	    _ "$(node_port 1)" "$BATS_TEST_TMPDIR/junk" 2>/dev/null || true
	"$PWD/bin/test/clpeer" -f "$(conf 1)" -n 9 -t 1 unknown >/dev/null 2>&1
	"$PWD/bin/test/clpeer" -f "$(conf 1)" -b 20000 \
	    raw-unix "$C/n1/run/clmemberd.sock" >/dev/null 2>&1
	run member 1 status
	[ "$status" -eq 0 ]
	# A graceful leave, then every daemon stops cleanly (leak check).
	"$CLUSTERCTL" kill "$C" 2 TERM
	wait_view 1,3
	"$CLUSTERCTL" down "$C"
	run reports
	echo "$output"
	[ -z "$output" ]
}

@test "sanitize: routing and the cluster database under ASan and UBSan: pings, requests with receipts and responses, a missing service, writes, a lock, a killed node, leave no report" {
	up 3
	OUT=$BATS_TEST_TMPDIR/echo.out
	bg "$PWD/bin/test/clsvc" -f "$(conf 2)" -N echo -q echo
	wait_for 5000 grep -q "^registered" "$OUT"
	run member 1 ping 2 -c 3
	echo "$output"
	[ "$status" -eq 0 ]
	run member 1 send --to 2.echo --rcpt --resp hello
	echo "$output"
	[ "$status" -eq 0 ]
	run member 1 send --to '*.nosuch' --rcpt x
	[ "$status" -eq 1 ]
	run member 3 services
	[ "$status" -eq 0 ]
	# The cluster database: writes through the coordinator, a lock.
	run member 2 db set san/k v1
	[ "$status" -eq 0 ]
	run member 3 db set san/k v2 --ver 999
	[ "$status" -eq 1 ]
	run member 3 db ls san/
	[[ "$output" == *"value=v1"* ]]
	run member 3 db lock L
	[ "$status" -eq 0 ]
	"$CLUSTERCTL" kill "$C" 3 KILL
	run member 1 send --to '*.echo' --rcpt --resp x
	[[ "$output" == *"node.3=node-down"* ]]
	wait_view 1,2
	# Node 3's lock is given away fail_ms after the view that dropped it.
	wait_for 5000 member 2 db lock L
	"$CLUSTERCTL" down "$C"
	run reports
	echo "$output"
	[ -z "$output" ]
}

@test "sanitize: the file system under ASan and UBSan: clmetad, cliod on 3 nodes and clfs put, get, mkdir, mv, rm, fsck, a cliod killed and restarted, leave no report" {
	up 3 --fs fs1:256M
	SRC=$BATS_TEST_TMPDIR/src
	head -c 3000000 /dev/urandom >"$SRC"
	fs() { local k=$1; shift; "$CL_BIN/clfs" -f "$(conf "$k")" "$@"; }
	fs 2 mkdir fs1:/d
	fs 2 put "$SRC" fs1:/d/a
	fs 3 get fs1:/d/a - | cmp - "$SRC"
	fs 1 mv fs1:/d/a fs1:/b
	run fs 3 ls -l fs1:/
	echo "$output"
	[[ "$output" == *" b"* ]]
	run fs 1 cat fs1:/nosuch
	[ "$status" -eq 1 ]
	"$CLUSTERCTL" daemon "$C" 2 cliod kill KILL
	"$CLUSTERCTL" daemon "$C" 2 cliod start
	"$CLUSTERCTL" fswait "$C"
	fs 2 get fs1:/b - | cmp - "$SRC"
	fs 2 rm fs1:/b
	fs 1 rmdir fs1:/d
	"$CLUSTERCTL" down "$C"
	run "$CL_BIN/clfs" -f "$(conf 1)" fsck fs1
	echo "$output"
	[ "$status" -eq 0 ]
	run reports
	echo "$output"
	[ -z "$output" ]
}
