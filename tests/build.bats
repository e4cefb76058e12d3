#!/usr/bin/env bats
# The build itself: warnings as errors under both compilers, install,
# manual pages.

load lib/common

ROOT=$TESTS_DIR/..

@test "build: gcc, -Wall -Wextra -Werror, no warnings" {
	run make -j2 -C "$ROOT" CC=gcc OBJDIR="$BATS_TEST_TMPDIR/obj" \
	    BIN="$BATS_TEST_TMPDIR/bin" all units
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -q "warning:" <<<"$output"
	[ -x "$BATS_TEST_TMPDIR/bin/clmemberd" ]
}

@test "build: clang, -Wall -Wextra -Werror, no warnings" {
	command -v clang || skip "clang is not installed"
	run make -j2 -C "$ROOT" CC=clang OBJDIR="$BATS_TEST_TMPDIR/obj" \
	    BIN="$BATS_TEST_TMPDIR/bin" all units
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -q "warning:" <<<"$output"
	[ -x "$BATS_TEST_TMPDIR/bin/clmember" ]
}

@test "install: PREFIX and DESTDIR are honoured" {
	d=$BATS_TEST_TMPDIR/root
	run make -C "$ROOT" install PREFIX=/usr DESTDIR="$d"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -x "$d/usr/sbin/clmemberd" ]
	[ -x "$d/usr/bin/clmember" ]
	[ -f "$d/usr/share/man/man8/clmemberd.8" ]
	[ -f "$d/usr/share/man/man1/clmember.1" ]
	[ -f "$d/usr/share/man/man5/cl.conf.5" ]
	[ -f "$d/etc/cl/cl.conf.example" ]
}

@test "man pages: mandoc -Tlint is clean" {
	command -v mandoc || skip "mandoc is not installed"
	run mandoc -Tlint -Wwarning "$ROOT"/man/man*/*.[158]
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "demo: make demo runs the whole system: a file across nodes, a DM event, a failover" {
	run "$TESTS_DIR/demo"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'quorum=yes members=1,2,3' <<<"$output")" -ge 2 ]
	grep -q "quorum=yes members=2,3$" <<<"$output"
	sum=$(awk '/^sha256 on node 1/ {print $NF}' <<<"$output")
	[ -n "$sum" ]
	grep -q "^sha256 read on node 3: *$sum$" <<<"$output"
	grep -q "^the put on node 2 finished" <<<"$output"
	grep -q "^fs1 served by node [23] [0-9]* ms after the kill" <<<"$output"
	grep -q "again: sha256 $sum$" <<<"$output"
}
