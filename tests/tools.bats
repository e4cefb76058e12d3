#!/usr/bin/env bats
#
# clmember and clmemberd as tools: exit 0 on success, 1 on an error with a
# message naming the cause, 2 on a usage error; -f FILE and CL_CONF;
# keygen; status for scripts; leave and join.

setup() {
	load lib/common
	T=$BATS_TEST_TMPDIR
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_logs
	down
}

# A valid config whose rundir has no daemon.
idle_conf() {
	mkdir -p "$T/run"
	cat >"$T/cl.conf" <<-EOF
	cluster = "t"
	keyfile = "$T/cl.key"
	rundir = "$T/run"
	statedir = "$T/state"
	self = 1
	node 1 { address = "127.0.0.1:17001" }
	EOF
}

@test "clmember without arguments exits 2 with usage" {
	run "$CLMEMBER"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: clmember"* ]]
	[[ "$output" == *status* && "$output" == *subscribe* && "$output" == *keygen* ]]
}

@test "clmember with an unknown command exits 2 naming it, with usage" {
	run "$CLMEMBER" frobnicate
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"frobnicate"* ]]
	[[ "$output" == *"usage: clmember"* ]]
	run "$CLMEMBER" -x status
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: clmember"* ]]
}

@test "extra arguments to a command are a usage error (exit 2)" {
	idle_conf
	run "$CLMEMBER" -f "$T/cl.conf" status extra
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: clmember"* ]]
	run "$CLMEMBER" keygen
	[ "$status" -eq 2 ]
	run "$CLMEMBER" keygen "$T/a" "$T/b"
	[ "$status" -eq 2 ]
	[ ! -e "$T/a" ]
}

@test "clmember status with no daemon exits 1 naming the socket path" {
	idle_conf
	run "$CLMEMBER" -f "$T/cl.conf" status
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/run/clmemberd.sock"* ]]
	for c in join leave watch; do
		run "$CLMEMBER" -f "$T/cl.conf" $c
		[ "$status" -eq 1 ]
		[[ "$output" == *"$T/run/clmemberd.sock"* ]]
	done
}

@test "clmember keygen writes 64 hex digits and a newline, mode 0600, and will not overwrite" {
	run "$CLMEMBER" keygen "$T/k"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$T/k")" = 600 ]
	[ "$(wc -c <"$T/k")" -eq 65 ]
	grep -Eqx '[0-9a-fA-F]{64}' "$T/k"
	[ "$(wc -l <"$T/k")" -eq 1 ]
	# Two keys differ.
	"$CLMEMBER" keygen "$T/k2"
	run cmp -s "$T/k" "$T/k2"
	[ "$status" -ne 0 ]
	# An existing file is kept as it is.
	cp "$T/k" "$T/k.orig"
	run "$CLMEMBER" keygen "$T/k"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/k"* ]]
	cmp "$T/k" "$T/k.orig"
	# A umask that would leave it readable does not.
	(umask 0; "$CLMEMBER" keygen "$T/k3")
	[ "$(stat -c %a "$T/k3")" = 600 ]
}

@test "clmember keygen into a missing directory exits 1 naming the path" {
	run "$CLMEMBER" keygen "$T/no/such/dir/k"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/no/such/dir/k"* ]]
}

@test "a key from keygen is accepted by clmemberd" {
	up 1
	"$CLUSTERCTL" kill "$C" 1 TERM
	rm "$C/n1/cl.key"
	"$CLMEMBER" keygen "$C/n1/cl.key"
	"$CLUSTERCTL" start "$C" 1
	"$CLUSTERCTL" wait "$C" 1 15000
}

@test "subscribe without --layer, or with a bad one, exits 2" {
	idle_conf
	run "$CLMEMBER" -f "$T/cl.conf" subscribe
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--layer"* ]]
	run "$CLMEMBER" -f "$T/cl.conf" subscribe --layer 0
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--layer"* ]]
	run "$CLMEMBER" -f "$T/cl.conf" subscribe --layer abc
	[ "$status" -eq 2 ]
	run "$CLMEMBER" -f "$T/cl.conf" subscribe --layer 10 --barriers 2
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--barriers"* ]]
	run "$CLMEMBER" -f "$T/cl.conf" subscribe --layer 10 --bogus
	[ "$status" -eq 2 ]
}

@test "clmember status output is one record per line of key=value fields for awk" {
	up 3
	run member 2 status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "view epoch="*" coordinator=1 quorum=yes members=1,2,3" ]]
	# Every field of every line is key=value after the record type.
	run awk '{ for (i = 2; i <= NF; i++) if ($i !~ /^[a-z_]+=/) { print "bad field " $i " in: " $0; exit 1 } }' <<<"$output"
	echo "$output"
	[ "$status" -eq 0 ]
	joined=$(member 2 status | awk '$1 == "node" { for (i = 2; i <= NF; i++) if ($i == "member=joined") n++ } END { print n + 0 }')
	[ "$joined" -eq 3 ]
	up_ids=$(member 2 status | awk '$1 == "node" && / state=up / { sub(/^id=/, "", $2); printf "%s ", $2 }')
	[ "$up_ids" = "1 2 3 " ]
}

@test "clmember leave takes the node out of the view, clmember join brings it back with a higher epoch" {
	up 3
	e0=$(field "$(view 1)" epoch)
	run member 3 leave
	echo "$output"
	[ "$status" -eq 0 ]
	"$CLUSTERCTL" wait "$C" 1,2 15000
	run member 1 status
	echo "$output"
	[[ "${lines[0]}" == *"members=1,2" ]]
	[[ "$output" == *"node id=3 "*"member=inactive"* ]]
	e1=$(field "$(view 1)" epoch)
	[ "$e1" -gt "$e0" ]
	# Node 3 is still running, outside the view.
	run member 3 status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"node id=3 "*"member=inactive"* ]]
	run member 3 join
	[ "$status" -eq 0 ]
	"$CLUSTERCTL" wait "$C" 1,2,3 15000
	e2=$(field "$(view 3)" epoch)
	[ "$e2" -gt "$e1" ]
	run member 1 status
	[[ "$output" == *"node id=3 "*"member=joined"* ]]
}

@test "clmemberd with a bad option or an argument exits 2 with usage" {
	run "$CLMEMBERD" -Z
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: clmemberd"* ]]
	run "$CLMEMBERD" -n extra
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: clmemberd"* ]]
	run "$CLMEMBERD" -r abc -n
	[ "$status" -eq 2 ]
}

@test "clmember -f with a bad config exits 1 naming the file and line" {
	idle_conf
	echo 'heartbeat_ms = "fast"' >>"$T/cl.conf"
	run "$CLMEMBER" -f "$T/cl.conf" status
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/cl.conf:7: "*"heartbeat_ms"* ]]
}
