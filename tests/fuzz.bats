#!/usr/bin/env bats
#
# libFuzzer with ASan and UBSan on what a peer controls: the frame parser
# (libcl/wire.c), the cluster-state decoder (cmd/clmemberd/cstate.c), the
# message router (cmd/clmemberd/route.c), and what a damaged volume holds:
# the on-volume decoders and the journal walk (libcl/vol.c).
# A longer run: make fuzz FUZZ_TIME=600.  CL_FUZZ_SECS sets this suite's.

SECS=${CL_FUZZ_SECS:-20}

setup_file() {
	cd "$BATS_TEST_DIRNAME/.." || return 1
	make -s -j2 fuzz-build >"$BATS_FILE_TMPDIR/build.log" 2>&1 ||
	    { cat "$BATS_FILE_TMPDIR/build.log" >&3; return 1; }
}

setup() {
	cd "$BATS_TEST_DIRNAME/.." || return 1
}

@test "fuzz: every seed frame in the corpus runs clean under ASan and UBSan" {
	run bin/fuzz/fuzz_wire tests/fuzz/corpus/wire/*
	echo "$output"
	[ "$status" -eq 0 ]
	run bin/fuzz/fuzz_cstate tests/fuzz/corpus/cstate/*
	echo "$output"
	[ "$status" -eq 0 ]
	run bin/fuzz/fuzz_route tests/fuzz/corpus/route/*
	echo "$output"
	[ "$status" -eq 0 ]
	run bin/fuzz/fuzz_vol tests/fuzz/corpus/vol/*
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "fuzz: the frame parser survives ${SECS} s of libFuzzer (whole, incremental, re-encoded)" {
	run tests/fuzz/run "$SECS" wire
	echo "$output"
	[ "$status" -eq 0 ]
	# It ran: libFuzzer reports how many inputs it tried.
	[[ "$output" == *"number_of_executed_units"* ]]
}

@test "fuzz: the cluster-state decoder survives $((SECS / 2)) s of libFuzzer (canonical re-encoding)" {
	run tests/fuzz/run "$((SECS / 2))" cstate
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"number_of_executed_units"* ]]
}

@test "fuzz: the message router survives $((SECS / 2)) s of libFuzzer (registrations, client and peer frames, peers and clients going away)" {
	run tests/fuzz/run "$((SECS / 2))" route
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"number_of_executed_units"* ]]
}

@test "fuzz: the on-volume decoders and the journal walk survive $((SECS / 2)) s of libFuzzer (superblock, inode, extent block, dirent, journal)" {
	run tests/fuzz/run "$((SECS / 2))" vol
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"number_of_executed_units"* ]]
}
