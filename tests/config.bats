#!/usr/bin/env bats
#
# cl.conf checks (cl.conf(5), libcl/conf.c).  `clmemberd -n -f FILE`
# checks only; a bad config is reported as "FILE:LINE: message" (or
# "FILE: message" where no line applies) naming the key or node, with
# exit code 1, before anything starts.

setup() {
	load lib/common
	T=$BATS_TEST_TMPDIR
	F=$T/cl.conf
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_logs
	down
}

# The test addresses 203.0.113.x (TEST-NET-3) must not be this host's.
foreign_ok() {
	if command -v ip >/dev/null && ip -o addr 2>/dev/null |
	    grep -q " 203\.0\.113\."; then
		skip "this host has a 203.0.113.x address"
	fi
}

# good [extra lines]: a valid config in $F (9 lines), then the extra lines.
good() {
	{
		cat <<-EOF
		cluster = "t"
		keyfile = "$T/cl.key"
		rundir = "$T/run"
		statedir = "$T/state"
		self = 1
		heartbeat_ms = 100
		node 1 { address = "127.0.0.1:17001" }
		node 2 { address = "127.0.0.1:17002" }
		node 3 { address = "127.0.0.1:17003" }
		EOF
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$F"
}

@test "clmemberd -n on a good config says configuration OK and exits 0" {
	good
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
	# Checks only: nothing was created.
	[ ! -e "$T/run" ]
	[ ! -e "$T/state" ]
}

@test "a value of the wrong type (fail_ms = \"abc\") is an error at its line naming the key" {
	good 'fail_ms = "abc"'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: "*"fail_ms"* ]]
	[[ "$output" != *"configuration OK"* ]]
}

@test "an unknown key is an error at its line naming the key" {
	good 'heartbeat = 100'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: "*"heartbeat"* ]]
	# Also inside a node section.
	good 'node 4 {' '	address = "127.0.0.1:17004"' '	port = 17004' '}'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:12: "*"port"* ]]
}

@test "a duplicate node id is an error at the second definition naming the node" {
	good 'node 2 { address = "127.0.0.1:17009" }'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: "* ]]
	[[ "$output" == *"duplicate"* ]]
	[[ "$output" == *"node 2"* ]]
}

@test "two nodes at one address is an error naming both" {
	good 'node 4 { address = "127.0.0.1:17002" }'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: node 4: "*"127.0.0.1:17002"*"node 2"* ]]
}

@test "a missing self with two local node addresses is an error asking for self" {
	foreign_ok
	cat >"$F" <<-EOF
	cluster = "t"
	keyfile = "$T/cl.key"
	node 1 { address = "127.0.0.1:17001" }
	node 2 { address = "127.0.0.1:17002" }
	node 3 { address = "203.0.113.3:17003" }
	EOF
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F"*"self"* ]]
	[[ "$output" == *"2 node addresses are local"* ]]
}

@test "a missing self with no local node address is an error asking for self" {
	foreign_ok
	cat >"$F" <<-EOF
	cluster = "t"
	node 1 { address = "203.0.113.1:17001" }
	node 2 { address = "203.0.113.2:17002" }
	EOF
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F"*"self"* ]]
}

@test "without self, the one node whose address is local is self" {
	foreign_ok
	cat >"$F" <<-EOF
	cluster = "t"
	node 1 { address = "203.0.113.1:17001" }
	node 2 { address = "127.0.0.1:17002" }
	node 3 { address = "203.0.113.3:17003" }
	EOF
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "self naming no configured node is an error naming self and the id" {
	good 'self = 9'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F"*"self = 9"*"no such node"* ]]
}

@test "a node address without a port is an error at the node's line naming the node" {
	good 'node 4 { address = "127.0.0.1" }'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: node 4: "*"127.0.0.1"*"host:port"* ]]
	good 'node 4 { address = "127.0.0.1:" }'
	run "$CLMEMBERD" -n -f "$F"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: node 4: "* ]]
	good 'node 4 { address = "127.0.0.1:99999" }'
	run "$CLMEMBERD" -n -f "$F"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: node 4: "* ]]
}

@test "fail_ms below twice heartbeat_ms is an error naming both keys" {
	good 'fail_ms = 150'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F"*"fail_ms (150)"*"heartbeat_ms (100)"* ]]
	good 'fail_ms = 200'
	run "$CLMEMBERD" -n -f "$F"
	[ "$status" -eq 0 ]
}

@test "an out-of-range value is an error at its line naming the key" {
	good 'transition_ms = 0'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: transition_ms = 0: must be "* ]]
}

@test "a syntax error is reported at its line" {
	good 'node 4 { address = }'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: "* ]]
}

@test "several errors are reported in one run" {
	good 'self = 9' 'fail_ms = 150' 'node 4 { address = "127.0.0.1" }' \
	    'damp_ms = 0'
	run "$CLMEMBERD" -n -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"self = 9"* ]]
	[[ "$output" == *"fail_ms (150)"* ]]
	[[ "$output" == *"$F:12: node 4: "* ]]
	[[ "$output" == *"$F:13: damp_ms = 0"* ]]
	[ "$(grep -c "^$F" <<<"$output")" -ge 4 ]
}

@test "a bad config stops clmemberd with exit 1 before anything starts" {
	good 'fail_ms = "abc"'
	run timeout 10 "$CLMEMBERD" -d -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$F:10: "*"fail_ms"* ]]
	[ ! -e "$T/run" ]
	[ ! -e "$T/state" ]
}

@test "-nv prints the canonical config; it passes -n and is a fixed point of -nv (golden)" {
	golden=$TESTS_DIR/golden
	"$CLMEMBERD" -nv -f "$golden/basic.conf" >"$T/out1"
	diff -u "$golden/basic.ok" "$T/out1"
	cp "$T/out1" "$T/round.conf"
	run "$CLMEMBERD" -n -f "$T/round.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
	"$CLMEMBERD" -nv -f "$T/round.conf" >"$T/out2"
	diff -u "$T/out1" "$T/out2"
}

@test "the shipped example etc/cl.conf passes -n" {
	ex=$TESTS_DIR/../etc/cl.conf
	[ -f "$ex" ] || skip "etc/cl.conf does not exist yet"
	run "$CLMEMBERD" -n -f "$ex"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
	# Its canonical form round-trips too.
	"$CLMEMBERD" -nv -f "$ex" >"$T/ex1"
	"$CLMEMBERD" -nv -f "$T/ex1" >"$T/ex2"
	diff -u "$T/ex1" "$T/ex2"
}

@test "a missing config file is exit 1 naming the file" {
	run "$CLMEMBERD" -n -f "$T/nonexistent.conf"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/nonexistent.conf"* ]]
	run "$CLMEMBER" -f "$T/nonexistent.conf" status
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/nonexistent.conf"* ]]
}

@test "CL_CONF is honoured by clmemberd, and -f overrides it" {
	good
	CL_CONF=$F run "$CLMEMBERD" -n
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
	cp "$F" "$T/bad.conf"
	echo 'bogus = 1' >>"$T/bad.conf"
	CL_CONF=$T/bad.conf run "$CLMEMBERD" -n
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.conf:10: "*"bogus"* ]]
	CL_CONF=$T/bad.conf run "$CLMEMBERD" -n -f "$F"
	[ "$status" -eq 0 ]
}

@test "CL_CONF is honoured by clmember" {
	up 1
	CL_CONF=$(conf 1) run "$CLMEMBER" status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "view epoch="*"members=1" ]]
	CL_CONF=$T/nonexistent.conf run "$CLMEMBER" status
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/nonexistent.conf"* ]]
	# -f wins over CL_CONF.
	CL_CONF=$T/nonexistent.conf run "$CLMEMBER" -f "$(conf 1)" status
	[ "$status" -eq 0 ]
}

@test "a key file readable by others (mode 0644) makes clmemberd refuse to start, naming the file and the mode" {
	good
	"$CLMEMBER" keygen "$T/cl.key"
	chmod 644 "$T/cl.key"
	run timeout 10 "$CLMEMBERD" -d -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/cl.key"*"644"* ]]
	[ ! -S "$T/run/clmemberd.sock" ]
	# A missing key file too.
	rm "$T/cl.key"
	run timeout 10 "$CLMEMBERD" -d -f "$F"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/cl.key"* ]]
}
