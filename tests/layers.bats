#!/usr/bin/env bats
#
# Layered transitions, seed 004 (seeds/004_c7c3514904d14f4a.txt L153-214;
# the numbers seed004#N are seed-notes/004.md section 6).  Subsystems are
# `clmember subscribe` processes at layers 10, 20 and 30 on every node;
# each prints a timestamped line when told and just before it
# acknowledges.  tests/lib/order.awk checks from those lines that every
# layer of every node taking part was told, in the seed's order (join and
# forced leave bottom-up, graceful leave top-down, L169), and that no
# node's next layer was told before every node's current layer had
# acknowledged (L171, L173).  One node's subscribers delay their
# acknowledgement (--delay-ms), so an implementation that does not wait
# for every node would show.  The checks use the recorded times, not the
# speed of the machine.

setup() {
	load lib/common
	load lib/order
	S=$BATS_TEST_TMPDIR/subs
	G=0
	mkdir -p "$S"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_logs
	down
}

# sub K LAYER NAME [subscribe args]: a subscriber on node K, its output in
# $S/g$G/nK-NAME.out, its pid in $LAST_PID; returns once it registered.
sub() {
	local k=$1 layer=$2 name=$3
	shift 3
	mkdir -p "$S/g$G"
	OUT=$S/g$G/n$k-$name.out
	bg "$CLMEMBER" -f "$(conf "$k")" subscribe --layer "$layer" \
	    --name "$name" "$@"
	wait_for 10000 grep -q '^registered ' "$OUT" || {
		echo "subscriber $name on node $k did not register:"
		cat "$OUT"
		return 1
	}
}

# subs K [subscribe args]: layers 10, 20 and 30 on node K.
subs() {
	local k=$1 l
	shift
	for l in 10 20 30; do
		sub "$k" "$l" "l$l" "$@" || return 1
	done
}

# files G:K...: the subscriber files of node K from generation G.
files() {
	local a
	for a in "$@"; do
		ls "$S/g${a%%:*}/n${a#*:}-"*.out
	done
}

# Wait until FILE holds a line matching the extended regex RE.
wait_line() {
	wait_for "${3:-15000}" grep -Eq "$2" "$1" || {
		echo "no line /$2/ in $1:"
		cat "$1"
		return 1
	}
}

# The tid of the KIND transition of NODE in FILE.
tid_of() {
	grep -E "^notify node=$2 trans=$3 " "$1" | head -1 | tr ' ' '\n' |
	    sed -n 's/^tid=//p'
}

# A node takes part in a graceful leave: 3 leaves with SIGTERM.
@test "seed004#5 seed004#3: graceful leave of node 3 tells layers top-down (30,20,10), each acknowledged on every node before the next is told" {
	up 3
	subs 1
	subs 2 --delay-ms 200
	subs 3
	"$CLUSTERCTL" kill "$C" 3 TERM
	cluster_wait 1,2
	run check_order leave 3 1,2,3 10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"steps (layer/barrier): 30/0 20/0 10/0" ]]
	# After the leave node 3 is inactive on the others (Table 1).
	run member 1 status
	[[ "$output" == *"node id=3 "*"member=inactive"* ]]
}

# seed 004 L169: subsystems register before the node joins.
@test "seed004#4 seed004#3 seed004#2: join of node 3 tells layers bottom-up (10,20,30), each acknowledged on every node before the next is told" {
	up 3
	"$CLUSTERCTL" kill "$C" 3 TERM
	cluster_wait 1,2
	subs 1
	subs 2
	"$CLUSTERCTL" start "$C" 3 -j
	subs 3 --delay-ms 200
	run view 3
	[[ "$output" != *"members=1,2,3"* ]]	# held out until asked
	member 3 join
	cluster_wait 1,2,3
	run check_order join 3 1,2,3 10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"steps (layer/barrier): 10/0 20/0 30/0" ]]
	run member 2 status
	[[ "$output" == *"node id=3 "*"member=joined"* ]]
}

@test "seed004#6 seed004#7 seed004#8: forced leave of node 3 (kill -9) goes bottom-up on nodes 1 and 2 only, then node 3 is inactive" {
	up 3
	subs 1
	subs 2 --delay-ms 200
	subs 3
	"$CLUSTERCTL" kill "$C" 3 KILL
	cluster_wait 1,2
	# Node 3's own files are passed too: it must have been told nothing.
	run check_order forced 3 1,2 10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"steps (layer/barrier): 10/0 20/0 30/0" ]]
	run member 1 status
	[[ "$output" == *"node id=3 "*"member=inactive"* ]]
	run member 2 status
	[[ "$output" == *"node id=3 "*"member=inactive"* ]]
}

@test "seed004#9 seed004#10: the forced leave of node 3 whose join sat at layer 20 climbs only to layer 20" {
	up 3
	"$CLUSTERCTL" kill "$C" 3 TERM
	cluster_wait 1,2
	subs 1
	subs 2
	"$CLUSTERCTL" start "$C" 3 -j
	sub 3 10 l10
	sub 3 20 l20 --delay-ms 8000
	sub 3 30 l30
	member 3 join
	# The join reached layer 20 everywhere; node 3's layer 20 sits on it.
	wait_line "$S/g0/n3-l20.out" '^notify node=3 trans=join layer=20 '
	wait_line "$S/g0/n1-l20.out" '^ack node=3 trans=join layer=20 '
	wait_line "$S/g0/n2-l20.out" '^ack node=3 trans=join layer=20 '
	"$CLUSTERCTL" kill "$C" 3 KILL
	cluster_wait 1,2
	# Nodes 1 and 2 recover at 10 and 20, bottom-up, and never tell 30
	# (the checker fails on a notification at a layer outside 10,20).
	run check_order forced 3 1,2 10,20 $(files 0:1 0:2)
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"steps (layer/barrier): 10/0 20/0" ]]
	run grep -E '^notify node=3 trans=(join|forced) ' "$S/g0/n1-l30.out" \
	    "$S/g0/n2-l30.out"
	[ "$status" -eq 1 ]
	run member 1 status
	[[ "$output" == *"node id=3 "*"member=inactive"* ]]
}

@test "seed004#19: with 2 barriers at layer 20, barrier 0 is acknowledged on every node before barrier 1 is told anywhere (join and leave)" {
	up 3
	"$CLUSTERCTL" kill "$C" 3 TERM
	cluster_wait 1,2
	for k in 1 2; do
		sub $k 10 l10
		sub $k 20 l20 --barriers 2:2:1
		sub $k 30 l30
	done
	"$CLUSTERCTL" start "$C" 3 -j
	sub 3 10 l10 --delay-ms 200
	sub 3 20 l20 --barriers 2:2:1 --delay-ms 200
	sub 3 30 l30 --delay-ms 200
	member 3 join
	cluster_wait 1,2,3
	run check_order join 3 1,2,3 10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"steps (layer/barrier): 10/0 20/0 20/1 30/0" ]]
	grep -q '^notify node=3 trans=join layer=20 barrier=1 barriers=2 ' \
	    "$S/g0/n1-l20.out"
	"$CLUSTERCTL" kill "$C" 3 TERM
	cluster_wait 1,2
	run check_order leave 3 1,2,3 10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"steps (layer/barrier): 30/0 20/0 20/1 10/0" ]]
}

@test "seed004#20: a registration with another barrier count at an existing layer is refused with a message" {
	up 3
	sub 1 20 first
	# Same node.
	run timeout 10 "$CLMEMBER" -f "$(conf 1)" subscribe --layer 20 \
	    --name other --barriers 2:1:1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer 20"* ]]
	[[ "$output" == *"barrier"* ]]
	[[ "$output" != *registered* ]]
	# Another node, once the first node's heartbeats told it the layer.
	refused_on_2() {
		run timeout 3 "$CLMEMBER" -f "$(conf 2)" subscribe --layer 20 \
		    --name other --barriers 1:3:1
		[ "$status" -eq 1 ] && [[ "$output" == *"layer 20"* ]]
	}
	wait_for 15000 refused_on_2
	echo "$output"
	[[ "$output" == *"another node"* ]]
	# The same count at that layer, and any count at a new layer, are
	# fine.
	sub 2 20 same
	sub 2 30 new --barriers 2:1:1
	run member 1 status
	[[ "$output" == *"subsystem name=first layer=20 barriers=1:1:1"* ]]
	[[ "$output" != *"name=other"* ]]
}

# Table 1 (L205-214): a notification carries every node's state; the
# transitional node is joining, leaving or forced-leaving, the others
# joined.
@test "seed004#13 seed004#11: notifications carry the state of every node (leave, join, forced leave)" {
	up 3
	subs 1
	subs 2
	subs 3
	member 3 leave
	cluster_wait 1,2
	STATES=1:joined,2:joined,3:leaving run check_order leave 3 1,2,3 \
	    10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	# Node 3 left but runs on, its subsystems still attached; it joins
	# again with them.
	member 3 join
	cluster_wait 1,2,3
	STATES=1:joined,2:joined,3:joining run check_order join 3 1,2,3 \
	    10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	"$CLUSTERCTL" kill "$C" 3 KILL
	cluster_wait 1,2
	STATES=1:joined,2:joined,3:forced-leaving run check_order forced 3 \
	    1,2 10,20,30 $(files 0:1 0:2)
	echo "$output"
	[ "$status" -eq 0 ]
	# Never a notification with only joined and inactive states (L213).
	run grep -h '^notify ' $(files 0:1 0:2 0:3)
	[ "${#lines[@]}" -gt 0 ]
	run grep -h '^notify ' $(files 0:1 0:2 0:3)
	for l in "${lines[@]}"; do
		[[ "$l" =~ states=[^\ ]*(joining|leaving|forced-leaving) ]] || {
			echo "only joined/inactive states: $l"
			false
		}
	done
}

@test "a subscriber that does not acknowledge within transition_ms is reported in the log and in status; the transition goes on when it acks" {
	CL_TRANSITION_MS=500 up 3
	subs 1
	sub 2 10 l10
	sub 2 20 slow --delay-ms 6000
	sub 2 30 l30
	subs 3
	member 3 leave
	wait_line "$S/g0/n2-slow.out" '^notify node=3 trans=leave layer=20 '
	wait_for 10000 grep -Eq 'subsystem slow \(layer 20\) has not acknowledged the (graceful )?leave of node 3 after [0-9]+ ms' "$C/n2/log"
	run member 2 status
	echo "$output"
	[ "$status" -eq 0 ]
	slow=$(grep "^subsystem name=slow " <<<"$output")
	[[ "$slow" == *" layer=20 "*" pending=1 "*" stuck=yes"* ]]
	# The others are not stuck.
	l10=$(grep "^subsystem name=l10 " <<<"$output")
	[[ "$l10" == *" pending=0"* ]]
	[[ "$l10" != *stuck=yes* ]]
	# The coordinator names the node it waits for.
	wait_for 10000 grep -q 'leave of node 3: layer 20 barrier 0 waits for nodes 2' "$C/n1/log"
	# Nothing was told below before the slow one answered; then it goes on.
	cluster_wait 1,2 30000
	run check_order leave 3 1,2,3 10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	run member 2 status
	[[ "$output" != *"stuck=yes"* ]]
}

@test "a subscriber killed in the middle of a step does not block the transition" {
	CL_TRANSITION_MS=60000 up 3
	subs 1
	subs 2
	subs 3
	mkdir -p "$S/stall"
	OUT=$S/stall/n2-stall.out
	bg "$CLMEMBER" -f "$(conf 2)" subscribe --layer 20 --name stall \
	    --delay-ms 600000
	stall=$LAST_PID
	wait_line "$OUT" '^registered '
	member 3 leave
	wait_line "$S/stall/n2-stall.out" '^notify node=3 trans=leave layer=20 '
	# The leave waits at layer 20 for node 2 alone.
	waits_for_2() {
		member 1 status | grep -q "^transition tid=.* node=3 trans=leave layer=20 .*waiting=2 "
	}
	wait_for 10000 waits_for_2
	run grep -l "^notify node=3 trans=leave layer=10 " $(files 0:1 0:2 0:3)
	[ "$status" -eq 1 ]
	kill "$stall"
	cluster_wait 1,2 15000
	run check_order leave 3 1,2,3 10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	run grep -c '^ack ' "$S/stall/n2-stall.out"
	[ "$output" = 0 ]
	grep -q 'subsystem stall (layer 20) gone' "$C/n2/log"
}

@test "seed004#22: a subscriber registering while its layer's step is in progress is told at once" {
	up 3
	sub 1 10 l10
	sub 1 20 l20 --delay-ms 5000
	sub 1 30 l30
	subs 2
	subs 3
	member 3 leave
	wait_line "$S/g0/n1-l20.out" '^notify node=3 trans=leave layer=20 '
	sub 1 20 late
	wait_line "$S/g0/n1-late.out" '^notify node=3 trans=leave layer=20 ' 5000
	cluster_wait 1,2
	# It was told during the step (before the slow one acknowledged) and
	# layer 10 waited for its acknowledgement too (the checker takes its
	# file as one more layer-20 subscriber of node 1).
	run check_order leave 3 1,2,3 10,20,30 $(files 0:1 0:2 0:3)
	echo "$output"
	[ "$status" -eq 0 ]
	t_reg=$(sed -n 's/^registered .*time=\([0-9.]*\)$/\1/p' "$S/g0/n1-late.out")
	t_not=$(sed -n 's/^notify node=3 trans=leave layer=20 .*time=\([0-9.]*\)$/\1/p' "$S/g0/n1-late.out")
	t_slowack=$(sed -n 's/^ack node=3 trans=leave layer=20 .*time=\([0-9.]*\)$/\1/p' "$S/g0/n1-l20.out")
	echo "registered $t_reg notified $t_not slow ack $t_slowack"
	awk -v r="$t_reg" -v n="$t_not" -v a="$t_slowack" \
	    'BEGIN { exit !(n - r < 2 && n < a) }'
}

@test "a view of 3 with layers survives restarts of every node; subscribers on the survivors stay attached" {
	up 3
	subs 1 --delay-ms 200
	p1=$BG_PIDS	# node 1's first subscribers
	subs 2
	subs 3
	declare -A gen=([1]=0 [2]=0 [3]=0)
	for k in 3 2 1; do
		others=$(echo 1 2 3 | tr ' ' '\n' | grep -v "^$k$" | paste -sd,)
		fl=()
		for j in 1 2 3; do fl+=("${gen[$j]}:$j"); done
		"$CLUSTERCTL" kill "$C" $k TERM
		cluster_wait "$others"
		run check_order leave $k 1,2,3 10,20,30 $(files "${fl[@]}")
		echo "$output"
		[ "$status" -eq 0 ]
		# The survivors' subscribers are still registered.
		for j in ${others//,/ }; do
			run member $j status
			[ "$(grep -c '^subsystem ' <<<"$output")" -eq 3 ]
		done
		epoch=$(field "$(view "${others%%,*}")" epoch)
		G=$((G + 1))
		gen[$k]=$G
		"$CLUSTERCTL" start "$C" $k -j
		subs $k
		member $k join
		cluster_wait 1,2,3
		fl=()
		for j in 1 2 3; do fl+=("${gen[$j]}:$j"); done
		run check_order join $k 1,2,3 10,20,30 $(files "${fl[@]}")
		echo "$output"
		[ "$status" -eq 0 ]
		run view 1
		[ "$(field "$output" epoch)" -gt "$epoch" ]
		# Node 1's first subscribers lived through the restarts of 3 and 2.
		if [ $k != 1 ]; then
			for p in $p1; do kill -0 $p; done
		fi
	done
	# Node 1's first subscribers lived through the restarts of 3 and 2
	# and saw all four of those transitions.
	for f in $(files 0:1); do
		for t in "node=3 trans=leave" "node=3 trans=join" \
		    "node=2 trans=leave" "node=2 trans=join"; do
			grep -q "^notify $t " "$f"
		done
	done
	# Every node's current subscribers are attached.
	for k in 1 2 3; do
		run member $k status
		[ "$(grep -c '^subsystem ' <<<"$output")" -eq 3 ]
		[[ "$output" == *"view epoch="*"quorum=yes members=1,2,3"* ]]
	done
}
