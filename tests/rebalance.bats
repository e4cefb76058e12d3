#!/usr/bin/env bats
#
# clrebalance(8), seed 002's resource rebalancing (issue 8), across
# processes: 3-node clusters of tests/clusterctl up --launch with three
# file systems (fs1, fs2, fs3), whose clmetad services all prefer node 1,
# and clrebalance on every node spreading their administrators by
# weight; cllaunch moves each clmetad to its assigned node.
# seed002#N names behaviour N of seed-notes/002.md section 5.

setup() {
	load lib/common
	CLR=$CL_BIN/clrebalance
	[ -x "$CLR" ] || flunk "$CLR missing"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		local f k
		for f in "${C:-/nonexistent}"/n*/clrebalance.log \
		    "${C:-/nonexistent}"/n*/cllaunch.log; do
			[ -f "$f" ] || continue
			echo "--- $f"
			tail -40 "$f"
		done
		[ -n "${C:-}" ] && for k in 1 2 3; do
			[ -f "$C/n$k/cl.conf" ] || continue
			echo "--- clrebalance status on node $k"
			"$CLR" -f "$(conf "$k")" status 2>&1
		done
	}
	down
}

# rup: the cluster, with VOLUME_OPTS in every volume section.
rup() {
	cluster_dir
	CL_MORE_FS="fs2:64M fs3:64M" CL_REBALANCE=1 \
	    CL_VOLUME_OPTS=${VOLUME_OPTS:-} "$CLUSTERCTL" up "$C" 3 \
	    --launch --fs fs1:64M
}

rstatus() {
	"$CLR" -f "$(conf "$1")" status
}

# assigned K FS: the node node K's copy assigns FS to.
assigned() {
	rstatus "$1" | awk -v fs="$2" '$2 == "name=" fs {
	    sub("assigned=", "", $3); print $3 }'
}

# admin K FS: the node serving FS, as its clmetad published it.
admin() {
	rstatus "$1" | awk -v fs="$2" '$2 == "name=" fs {
	    sub("admin=", "", $4); print $4 }'
}

# settled K: every file system assigned, and served where assigned.
settled() {
	local fs a
	for fs in fs1 fs2 fs3; do
		a=$(assigned "$1" "$fs")
		[ -n "$a" ] && [ "$a" != - ] && [ "$(admin "$1" "$fs")" = "$a" ] ||
		    return 1
	done
}

# spread K: the assigned nodes of fs1 fs2 fs3, sorted, one line.
spread() {
	local fs
	for fs in fs1 fs2 fs3; do
		assigned "$1" "$fs"
	done | sort -n | tr '\n' ' '
}

@test "rebalance: three file systems preferring node 1 get one administrator each, by weight, and each is served there (seed002#1, seed002#32)" {
	rup
	wait_for 20000 settled 1 || flunk "not settled: $(rstatus 1)"
	[ "$(spread 1)" = "1 2 3 " ] || flunk "spread: $(spread 1)"
	# The same assignment on every node's copy.
	[ "$(rstatus 2 | grep '^fs')" = "$(rstatus 1 | grep '^fs')" ]
	[ "$(rstatus 3 | grep '^fs')" = "$(rstatus 1 | grep '^fs')" ]
	# Each file system works where it is served.
	for fs in fs1 fs2 fs3; do
		echo "$fs" | "$CL_BIN/clfs" -f "$(conf 3)" put - "$fs:/x"
		[ "$(CL_BIN=$CL_BIN "$CL_BIN/clfs" -f "$(conf 2)" cat "$fs:/x")" = "$fs" ]
	done
}

@test "rebalance: kill -9 of node 2: only its file system moves, the others stay; back, with failback = false, nothing moves (seed002#1, seed002#9)" {
	rup
	wait_for 20000 settled 1 || flunk "not settled: $(rstatus 1)"
	before=$(rstatus 1 | grep '^fs' | awk '{print $2, $3}')
	on2=$(rstatus 1 | awk '$3 == "assigned=2" {sub("name=", "", $2); print $2}')
	[ -n "$on2" ]
	"$CLUSTERCTL" kill "$C" 2 KILL
	wait_view 1,3
	wait_for 15000 settled 1 || flunk "not settled: $(rstatus 1)"
	a=$(assigned 1 "$on2")
	[ "$a" = 1 ] || [ "$a" = 3 ]
	for fs in fs1 fs2 fs3; do
		[ "$fs" = "$on2" ] && continue
		grep -q "^name=$fs $(rstatus 1 | awk -v f="name=$fs" '$2 == f {print $3}')$" <<<"$before" ||
		    flunk "$fs moved: $(rstatus 1)"
	done
	after=$(rstatus 1 | grep '^fs' | awk '{print $2, $3}')
	"$CLUSTERCTL" start "$C" 2
	wait_view 1,2,3
	sleep 3
	[ "$(rstatus 1 | grep '^fs' | awk '{print $2, $3}')" = "$after" ] ||
	    flunk "moved without failback: $(rstatus 1)"
}

@test "rebalance: failback = true: node 2 back gets a file system again (seed002#9)" {
	VOLUME_OPTS="failback = true" rup
	wait_for 20000 settled 1 || flunk "not settled: $(rstatus 1)"
	"$CLUSTERCTL" kill "$C" 2 KILL
	wait_view 1,3
	wait_for 15000 settled 1 || flunk "not settled: $(rstatus 1)"
	[ -z "$(rstatus 1 | grep 'assigned=2 ')" ]
	"$CLUSTERCTL" start "$C" 2
	wait_view 1,2,3
	wait_for 15000 sh -c "'$CLR' -f '$(conf 1)' status | grep -q 'assigned=2 '" ||
	    flunk "node 2 got nothing back: $(rstatus 1)"
	wait_for 15000 settled 1 || flunk "not settled: $(rstatus 1)"
	[ "$(spread 1)" = "1 2 3 " ]
}

@test "rebalance: clrebalance now on every node at once, 20 rounds: every round commits or finds nothing to do, no version twice, the same assignment on every node after each (seed002#23)" {
	rup
	wait_for 20000 settled 1 || flunk "not settled: $(rstatus 1)"
	for r in $(seq 1 20); do
		for k in 1 2 3; do
			"$CLR" -f "$(conf "$k")" now >"$BATS_TEST_TMPDIR/now.$r.$k" 2>&1 &
		done
		wait
		for k in 1 2 3; do
			tail -1 "$BATS_TEST_TMPDIR/now.$r.$k" |
			    grep -Eq '^(committed|unchanged) ver=[0-9]+ moved=[0-9]+$' ||
			    flunk "round $r node $k: $(cat "$BATS_TEST_TMPDIR/now.$r.$k")"
		done
		s1=$(rstatus 1 | grep -v '^fs' ; rstatus 1 | awk '/^fs/ {print $2, $3}')
		for k in 2 3; do
			wait_for 2000 sh -c "[ \"\$('$CLR' -f '$(conf "$k")' status | grep -v '^fs'; '$CLR' -f '$(conf "$k")' status | awk '/^fs/ {print \$2, \$3}')\" = '$s1' ]" ||
			    flunk "round $r: node $k differs"
		done
	done
	# No version was committed twice (two masters at once).
	dup=$(cat "$BATS_TEST_TMPDIR"/now.* | awk '/^committed/ {print $2}' | sort | uniq -d)
	[ -z "$dup" ] || flunk "committed twice: $dup"
	run "$CLR" -f "$(conf 2)" plan
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^plan moves=0 ' <<<"$output"
}
