#!/usr/bin/env bats
#
# Membership (DESIGN.md, Membership; seed 004, seeds/004_c7c3514904d14f4a.txt):
# views, failure detection, quorum, rejoin, graceful leave, flap damping,
# status and watch output.  seed004#N names the behaviour N of
# seed-notes/004.md section 6 a test covers.
#
# The acceptance items on a wrong key and on random bytes sent to the TCP
# port and the Unix socket are in security.bats, next to the other
# attacks.
#
# Times: kill -9 closes the node's TCP connections, so the others suspect
# it at once; the bound is the acceptance's fail_ms + 500 ms.  A stopped
# node keeps its connections open, so it is suspected only after fail_ms
# of silence.  Times are taken with `date` just before the signal and from
# the time= stamps of `clmember watch` lines (wall clock, microseconds).

FAIL_MS=${CL_FAIL_MS:-1000}
HEARTBEAT_MS=${CL_HEARTBEAT_MS:-100}

setup() {
	load lib/common
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_logs
	down
}

# The regular expression of a view line with quorum and these members.
view_re() {
	echo "^view epoch=[0-9]+ coordinator=${2:-1} quorum=yes members=$1"
}

# elapsed FILE MEMBERS T0: ms from T0 to the first view MEMBERS in FILE.
elapsed() {
	local t
	t=$(event_ms "$1" "$(view_re "$2") time=") ||
	    flunk "no view $2 in $1: $(cat "$1")"
	echo $((t - $3))
}

# no_view_with FILE ID: no view line in FILE lists ID among its members.
no_view_with() {
	! grep -E "^view .*members=([0-9]+,)*$2(,[0-9]+)* " "$1"
}

@test "seed004#21 seed004#12 three nodes form one view: same epoch, coordinator 1, quorum, every node joined" {
	up 3
	local k n line e first=""
	for k in 1 2 3; do
		line=$(view "$k")
		echo "node $k: $line"
		[[ $line =~ ^view\ epoch=([0-9]+)\ coordinator=1\ quorum=yes\ members=1,2,3$ ]] ||
		    flunk "node $k: unexpected view line: $line"
		e=${BASH_REMATCH[1]}
		[ -z "$first" ] && first=$e
		[ "$e" = "$first" ] || flunk "node $k at epoch $e, node 1 at $first"
		for n in 1 2 3; do
			member "$k" status | grep -E "^node id=$n .*state=up .*member=joined$" ||
			    flunk "node $k does not see node $n up and joined"
		done
	done
}

@test "seed004#6 seed004#8 kill -9 of node 3: both survivors install a view without it within fail_ms + 500 ms" {
	up 3
	watch_start 1 "$C/w1"
	watch_start 2 "$C/w2"
	local pid t0 d1 d2
	pid=$(node_pid 3)
	t0=$(now_ms)
	kill -9 "$pid"
	wait_for 5000 grep -qE "$(view_re 1,2) time=" "$C/w1" || flunk "node 1: $(cat "$C/w1")"
	wait_for 5000 grep -qE "$(view_re 1,2) time=" "$C/w2" || flunk "node 2: $(cat "$C/w2")"
	d1=$(elapsed "$C/w1" 1,2 "$t0")
	d2=$(elapsed "$C/w2" 1,2 "$t0")
	echo "view without node 3: node 1 after $d1 ms, node 2 after $d2 ms (bound $((FAIL_MS + 500)))"
	[ "$d1" -le $((FAIL_MS + 500)) ]
	[ "$d2" -le $((FAIL_MS + 500)) ]
	# Its forced leave is over on both: node 3 is inactive (seed004#8).
	wait_for 3000 eval 'member 1 status | grep -qE "^node id=3 .*state=down .*member=inactive$"'
	wait_for 3000 eval 'member 2 status | grep -qE "^node id=3 .*state=down .*member=inactive$"'
	wait_view 1,2 1000
}

@test "seed004#17 restarting a killed node gives a view with all three and a higher epoch" {
	up 3
	local e0 e1 e2 k
	e0=$(epoch_of 1)
	"$CLUSTERCTL" kill "$C" 3
	wait_view 1,2 5000
	e1=$(epoch_of 1)
	echo "epochs: all three $e0, without node 3 $e1"
	[ "$e1" -gt "$e0" ]
	"$CLUSTERCTL" start "$C" 3
	wait_view 1,2,3 10000
	e2=$(epoch_of 1)
	echo "epoch with node 3 back: $e2"
	[ "$e2" -gt "$e1" ]
	for k in 2 3; do
		[ "$(epoch_of "$k")" = "$e2" ] || flunk "node $k: $(view "$k")"
	done
	member 3 status | grep -E "^node id=3 .*state=up .*member=joined$"
}

@test "seed004#7 with 2 of 3 killed the survivor says quorum=no and forces itself out" {
	up 3
	watch_start 1 "$C/w1"
	"$CLUSTERCTL" kill "$C" 3
	"$CLUSTERCTL" kill "$C" 2
	wait_for $((FAIL_MS + 2000)) eval 'view 1 | grep -q "quorum=no"' ||
	    flunk "node 1 still says: $(view 1)"
	view 1
	grep -E "^quorum quorum=no time=" "$C/w1"
	grep -E "^forced node=1 " "$C/w1"
	member 1 status | grep -E "^node id=1 .*member=(inactive|forced-leaving)$"
	# And it stays without quorum: one node of three is no majority.
	sleep 2
	view 1 | grep -q "quorum=no" || flunk "node 1 regained quorum alone: $(view 1)"
	cat "$C/w1"
	awk '/^quorum quorum=no / { lost = 1; next }
	    lost && / quorum=yes / { bad = 1 } END { exit bad }' "$C/w1" ||
	    flunk "a view with quorum after losing it"
}

@test "seed004#7 seed004#17 SIGSTOP: suspected after about fail_ms of silence; after SIGCONT it rejoins with a higher epoch" {
	up 3
	watch_start 1 "$C/w1"
	watch_start 2 "$C/w2"
	local pid t0 d1 d2 e1 e2
	pid=$(node_pid 3)
	t0=$(now_ms)
	kill -STOP "$pid"
	wait_for $((FAIL_MS + 5000)) grep -qE "$(view_re 1,2) time=" "$C/w1" || {
		kill -CONT "$pid"
		flunk "node 1: $(cat "$C/w1")"
	}
	wait_for 3000 grep -qE "$(view_re 1,2) time=" "$C/w2" || {
		kill -CONT "$pid"
		flunk "node 2: $(cat "$C/w2")"
	}
	d1=$(elapsed "$C/w1" 1,2 "$t0")
	d2=$(elapsed "$C/w2" 1,2 "$t0")
	echo "stopped node dropped: node 1 after $d1 ms, node 2 after $d2 ms (fail_ms $FAIL_MS)"
	e1=$(epoch_of 1)
	# Not at once (its connections stay open): only after fail_ms of
	# silence, less the heartbeat it may have sent just before the stop.
	if [ "$d1" -lt $((FAIL_MS - 2 * HEARTBEAT_MS)) ] ||
	    [ "$d1" -gt $((FAIL_MS + 500)) ] ||
	    [ "$d2" -lt $((FAIL_MS - 2 * HEARTBEAT_MS)) ] ||
	    [ "$d2" -gt $((FAIL_MS + 500)) ]; then
		kill -CONT "$pid"
		flunk "expected about $FAIL_MS ms"
	fi
	member 1 status | grep -E "^node id=3 .*member=inactive$" || {
		kill -CONT "$pid"
		flunk "node 3 not inactive on node 1"
	}
	kill -CONT "$pid"
	wait_view 1,2,3 10000
	e2=$(epoch_of 3)
	echo "epochs: without node 3 $e1, after SIGCONT $e2"
	[ "$e2" -gt "$e1" ]
	# It noticed it had been forced out (seed 004's panic) before rejoining.
	grep -i "forced out" "$C/n3/log"
}

@test "seed004#5 seed004#12 SIGTERM: a graceful leave, the others get a view without it quickly, its log says it left" {
	up 3
	watch_start 1 "$C/w1"
	watch_start 2 "$C/w2"
	local m1 t0 d1 d2
	m1=$(log_mark 1)
	t0=$(now_ms)
	"$CLUSTERCTL" kill "$C" 3 TERM
	wait_for 5000 grep -qE "$(view_re 1,2) time=" "$C/w1" || flunk "node 1: $(cat "$C/w1")"
	wait_for 5000 grep -qE "$(view_re 1,2) time=" "$C/w2" || flunk "node 2: $(cat "$C/w2")"
	d1=$(elapsed "$C/w1" 1,2 "$t0")
	d2=$(elapsed "$C/w2" 1,2 "$t0")
	echo "view without node 3 after a graceful leave: node 1 $d1 ms, node 2 $d2 ms"
	[ "$d1" -le $((FAIL_MS + 500)) ]
	[ "$d2" -le $((FAIL_MS + 500)) ]
	grep -i "left the cluster" "$C/n3/log"
	# The node is gone: the process exited after its leave.
	! kill -0 "$(node_pid 3)" 2>/dev/null
	# A graceful leave, not a forced one (seed004#5: Leaving -> Inactive).
	log_since 1 "$m1" | grep -E "leave of node 3 done"
	! log_since 1 "$m1" | grep -E "forced leave of node 3"
	member 1 status | grep -E "^node id=3 .*member=inactive$"
	wait_view 1,2 1000
}

@test "seed004#1 clmember status: a view line, then one parseable node line per node" {
	up 3
	run member 2 status
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ ${lines[0]} =~ ^view\ epoch=[0-9]+\ coordinator=1\ quorum=yes\ members=1,2,3$ ]]
	local n port
	for n in 1 2 3; do
		port=$(node_port "$n")
		[ -n "$port" ]
		[[ ${lines[$n]} =~ ^node\ id=$n\ name=node$n\ addr=127\.0\.0\.1:$port\ state=up\ since_ms=[0-9]+\ member=joined$ ]] ||
		    flunk "line $n: ${lines[$n]}"
	done
	# key=value fields, one record per line: awk takes it apart.
	run bash -c "'$CLMEMBER' -f '$(conf 2)' status | awk '
	    \$1 == \"view\" { for (i = 2; i <= NF; i++) { split(\$i, kv, \"=\"); v[kv[1]] = kv[2] }
	        print \"view\", v[\"coordinator\"], v[\"quorum\"], v[\"members\"] }
	    \$1 == \"node\" { for (i = 2; i <= NF; i++) { split(\$i, kv, \"=\"); f[kv[1]] = kv[2] }
	        print \"node\", f[\"id\"], f[\"addr\"], f[\"state\"], f[\"member\"], (f[\"since_ms\"] ~ /^[0-9]+\$/) }'"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "view 1 yes 1,2,3" ]
	[ "${lines[1]}" = "node 1 127.0.0.1:$(node_port 1) up joined 1" ]
	[ "${lines[2]}" = "node 2 127.0.0.1:$(node_port 2) up joined 1" ]
	[ "${lines[3]}" = "node 3 127.0.0.1:$(node_port 3) up joined 1" ]
}

@test "clmember watch prints a view line with time= when a node dies" {
	up 3
	watch_start 1 "$C/w1"
	local before after t
	before=$(now_ms)
	"$CLUSTERCTL" kill "$C" 2
	wait_for 5000 grep -qE "$(view_re 1,3) time=[0-9]+\.[0-9]{6}$" "$C/w1" ||
	    flunk "watch printed: $(cat "$C/w1")"
	after=$(now_ms)
	cat "$C/w1"
	t=$(event_ms "$C/w1" "$(view_re 1,3) time=")
	# The stamp is the wall clock of the change.
	[ "$t" -ge $((before - 1000)) ]
	[ "$t" -le $((after + 1000)) ]
	# The epoch it names is the one status shows.
	grep -E "$(view_re 1,3) " "$C/w1" | grep -q "epoch=$(epoch_of 1) "
}

@test "a 5-node cluster survives losing 2 nodes and loses quorum at 3" {
	up 5
	local e0 e1 e2 k
	e0=$(epoch_of 1)
	"$CLUSTERCTL" kill "$C" 5
	wait_view 1,2,3,4 5000
	e1=$(epoch_of 1)
	"$CLUSTERCTL" kill "$C" 4
	wait_view 1,2,3 5000
	e2=$(epoch_of 1)
	echo "epochs: 5 nodes $e0, 4 nodes $e1, 3 nodes $e2"
	[ "$e1" -gt "$e0" ]
	[ "$e2" -gt "$e1" ]
	for k in 1 2 3; do
		view "$k" | grep -q "quorum=yes members=1,2,3$"
	done
	"$CLUSTERCTL" kill "$C" 3
	for k in 1 2; do
		wait_for $((FAIL_MS + 2000)) eval "view $k | grep -q quorum=no" ||
		    flunk "node $k: $(view "$k")"
	done
	# Two of five is no majority, and stays none.
	sleep 1
	view 1 | grep -q quorum=no
	view 2 | grep -q quorum=no
}

@test "epochs strictly increase at every view change, on every node" {
	up 3
	watch_start 1 "$C/w1"
	local epochs=() prev k e
	snap() {
		local members=$1 k e=""
		wait_view "$members" 10000
		for k in ${members//,/ }; do
			[ -z "$e" ] && e=$(epoch_of "$k")
			[ "$(epoch_of "$k")" = "$e" ] || flunk "node $k: $(view "$k")"
		done
		epochs+=("$e")
	}
	snap 1,2,3
	"$CLUSTERCTL" kill "$C" 3
	snap 1,2
	"$CLUSTERCTL" start "$C" 3
	snap 1,2,3
	"$CLUSTERCTL" kill "$C" 2 TERM
	snap 1,3
	"$CLUSTERCTL" start "$C" 2
	snap 1,2,3
	"$CLUSTERCTL" kill "$C" 3
	snap 1,2
	"$CLUSTERCTL" start "$C" 3
	snap 1,2,3
	echo "epochs from status: ${epochs[*]}"
	prev=0
	for e in "${epochs[@]}"; do
		[ "$e" -gt "$prev" ] || flunk "epoch $e after $prev"
		prev=$e
	done
	# Every view node 1 installed, in order, as watch saw them.
	cat "$C/w1"
	prev=0
	for e in $(sed -n 's/^view epoch=\([0-9]*\) .*/\1/p' "$C/w1"); do
		[ "$e" -gt "$prev" ] || flunk "watch: epoch $e after $prev"
		prev=$e
	done
	[ "$(grep -c '^view ' "$C/w1")" -ge 6 ]
}

@test "flap damping: a node killed and restarted quickly is held out after the third or fourth flap, and views stay bounded" {
	CL_EXTRA_CONF="damp_ms = 20000" up 3
	watch_start 1 "$C/w1"
	local i held=0 nviews
	for i in 1 2 3 4 5 6; do
		"$CLUSTERCTL" kill "$C" 3
		wait_view 1,2 5000
		"$CLUSTERCTL" start "$C" 3
		if ! "$CLUSTERCTL" wait "$C" 1,2,3 4000 2>/dev/null; then
			held=$i
			break
		fi
	done
	echo "node 3 held out at restart $held"
	cat "$C/w1"
	[ "$held" -eq 3 ] || [ "$held" -eq 4 ]
	member 1 status | grep -E "^node id=3 .*damped=yes"
	grep "node 3 is flapping" "$C/n1/log"
	grep -E "^damped node=3 " "$C/w1"
	# Held out, though it runs and asks to join: no view with it, no new
	# view at all for a while.
	nviews=$(grep -c '^view ' "$C/w1")
	for i in $(seq 1 15); do
		view 1 | grep -q "quorum=yes members=1,2$" || flunk "node 1: $(view 1)"
		sleep 0.2
	done
	kill -0 "$(node_pid 3)"
	[ "$(grep -c '^view ' "$C/w1")" -eq "$nviews" ]
	# One view per kill and one per admitted restart, nothing more.
	echo "$nviews views for $held kills and $((held - 1)) admitted restarts"
	[ "$nviews" -le $((2 * held - 1)) ]
}

@test "flap damping is lifted once the held-out node has been stable for a while" {
	CL_EXTRA_CONF="damp_ms = 5000" up 3
	watch_start 1 "$C/w1"
	local i held=0
	for i in $(seq 1 10); do
		"$CLUSTERCTL" kill "$C" 3
		wait_view 1,2 5000
		"$CLUSTERCTL" start "$C" 3
		if ! "$CLUSTERCTL" wait "$C" 1,2,3 2500 2>/dev/null; then
			held=$i
			break
		fi
	done
	echo "node 3 held out at restart $held"
	[ "$held" -gt 0 ]
	grep -E "^damped node=3 " "$C/w1"
	# The penalty halves every damp_ms: admitted again within a few of them.
	wait_view 1,2,3 30000
	grep -E "^undamped node=3 " "$C/w1"
	grep "node 3: flap damping lifted" "$C/n1/log"
	! member 1 status | grep -E "^node id=3 .*damped=yes"
}

@test "an encrypt = true cluster forms, survives a kill -9 within fail_ms + 500 ms, and takes the node back" {
	CL_EXTRA_CONF="encrypt = true" up 3
	grep -E "^encrypt = true$" "$(conf 1)"
	watch_start 1 "$C/w1"
	local pid t0 d e1
	pid=$(node_pid 3)
	t0=$(now_ms)
	kill -9 "$pid"
	wait_for 5000 grep -qE "$(view_re 1,2) time=" "$C/w1" || flunk "node 1: $(cat "$C/w1")"
	d=$(elapsed "$C/w1" 1,2 "$t0")
	echo "view without node 3 after $d ms"
	[ "$d" -le $((FAIL_MS + 500)) ]
	wait_view 1,2 2000
	e1=$(epoch_of 1)
	"$CLUSTERCTL" start "$C" 3
	wait_view 1,2,3 10000
	[ "$(epoch_of 3)" -gt "$e1" ]
}
