#!/usr/bin/env bats
#
# cllaunch(8), seed 004's registration and launch service (issue 7), from
# outside: clusters of tests/clusterctl up --launch, where every node runs
# only clmemberd and cllaunch (in a session of its own), and cllaunch runs
# clsessiond and cliod on every node and clmetad.fs1 on one (preferred
# node 1).  seed004#N names behaviour N of seed-notes/004.md section 6.
# fail_ms 1000, lease_ms 1000 (clusterctl's defaults).

setup() {
	load lib/common
	CLL=$CL_BIN/cllaunch
	[ -x "$CLL" ] || flunk "$CLL missing"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		local f
		for f in "${C:-/nonexistent}"/n*/cllaunch.log \
		    "${C:-/nonexistent}"/n*/clmetad.log; do
			[ -f "$f" ] || continue
			echo "--- $f"
			tail -60 "$f"
		done
		for f in "${C:-/nonexistent}"/n*/cliod.log \
		    "${C:-/nonexistent}"/*.out \
		    "${C:-/nonexistent}"/writer.err; do
			[ -f "$f" ] || continue
			echo "--- $f"
			tail -20 "$f"
		done
		[ -n "${C:-}" ] && for k in 1 2 3; do
			[ -f "$C/n$k/cl.conf" ] || continue
			echo "--- cllaunch status on node $k"
			"$CLL" -f "$(conf "$k")" status 2>&1
		done
	}
	down
}

# lup N [ARGS]: an N-node --launch cluster in $C.
lup() {
	cluster_dir
	"$CLUSTERCTL" up "$C" "$@" --launch
}

clfs() {
	local k=$1
	shift
	"$CL_BIN/clfs" -f "$(conf "$k")" "$@"
}

# lstatus K: `cllaunch status` on node K.
lstatus() {
	"$CLL" -f "$(conf "$1")" status
}

# sline K NAME NODE: node K's status line of service NAME on node NODE
# (NODE - for a service placed nowhere).
sline() {
	lstatus "$1" 2>/dev/null |
	    grep -E "^service name=$2 node=$3( |$)" | head -1
}

# sfield K NAME NODE KEY: a field of that line.
sfield() {
	field "$(sline "$1" "$2" "$3")" "$4"
}

# running K NAME NODE: node K sees NAME running on NODE.
running() {
	[ "$(sfield "$1" "$2" "$3" state)" = running ]
}

# admin K: the admin= node K's clfs df shows for fs1.
admin() {
	local out
	out=$(clfs "$1" df fs1 2>/dev/null) || return 1
	field "$out" admin
}

admin_is() {
	[ "$(admin "$1")" = "$2" ]
}

# admin_in K NODES...: fs1 is served, by one of NODES.
admin_in() {
	local a n k=$1
	shift
	a=$(admin "$k") || return 1
	for n in "$@"; do
		[ "$a" = "$n" ] && return 0
	done
	return 1
}

# kids PID [ARGS]: pgrep of PID's children.
kids() {
	local p=$1
	shift
	pgrep -P "$p" "$@"
}

# log_ms LINE: the ms since midnight of a daemon log line (HH:MM:SS.mmm).
log_ms() {
	local t=${1%% *} h m s
	IFS=: read -r h m s <<<"$t"
	echo $(((10#$h * 3600 + 10#$m * 60 + 10#${s%.*}) * 1000 + 10#${s#*.}))
}

# writer K DIR: small unique files put into fs1:DIR from node K in a loop
# until $C/stop exists; each acknowledged one is logged to $C/acked as
# "NAME SHA256 MS", each failed one to $C/failed as "MS NAME".
writer() {
	local k=$1 d=$2 i=0 t
	t=$C/wsrc
	while [ ! -e "$C/stop" ]; do
		i=$((i + 1))
		{ echo "w$i $RANDOM"; head -c $((RANDOM % 3000 + 1)) /dev/urandom; } >"$t"
		if "$CL_BIN/clfs" -f "$(conf "$k")" put "$t" "fs1:$d/w$i" \
		    2>>"$C/writer.err"; then
			echo "w$i $(sha256sum <"$t" | cut -d' ' -f1) $(now_ms)" \
			    >>"$C/acked"
		else
			echo "$(now_ms) w$i" >>"$C/failed"
		fi
	done
}

lines_of() {
	[ -f "$1" ] && wc -l <"$1" || echo 0
}

# log_after K FILE MARK: the lines of node K's FILE after line MARK.
log_after() {
	tail -n +"$(($3 + 1))" "$C/n$1/$2" 2>/dev/null
}

acked_ge() {
	[ "$(lines_of "$C/acked")" -ge "$1" ]
}

# acked_after MS N: at least N writes acknowledged after MS.
acked_after() {
	[ "$(awk -v t="$1" '$3 > t' "$C/acked" | wc -l)" -ge "$2" ]
}

@test "cllaunch: kill -9 of the node serving fs1 while node 2 writes: a survivor serves within fail_ms + 2 s, the writes go on, every acknowledged one is there, fsck clean (seed004#33, seed004#24)" {
	lup 3 --fs fs1:256M
	[ "$(admin 3)" = 1 ]
	running 3 clmetad.fs1 1
	clfs 2 mkdir fs1:/w
	OUT=$C/writer.out
	bg writer 2 /w
	wpid=$LAST_PID
	wait_for 20000 acked_ge 20
	t0=$(now_ms)
	"$CLUSTERCTL" kill "$C" 1 KILL
	wait_for 10000 admin_in 3 2 3 || flunk "fs1 not served by a survivor"
	t1=$(now_ms)
	survivor=$(admin 3)
	echo "fs1 served by node $survivor $((t1 - t0)) ms after the kill"
	[ $((t1 - t0)) -le 3000 ] ||
	    flunk "$((t1 - t0)) ms > fail_ms + 2 s"
	# Who runs it, as the database and cllaunch say; one registration.
	run member 3 db get fs/fs1
	[[ "$output" == *"node=$survivor "* ]] || flunk "fs/fs1: $output"
	for k in 2 3; do
		run member "$k" db get launch/clmetad.fs1
		[[ "$output" == *"node=$survivor "*"state=registered"* ]] ||
		    flunk "node $k: launch/clmetad.fs1: $output"
	done
	wait_for 5000 running 3 clmetad.fs1 "$survivor"
	run member 3 services
	[ "$(grep -c " name=clmetad.fs1$" <<<"$output")" -eq 1 ] ||
	    flunk "services: $output"
	# The client goes on.
	wait_for 15000 acked_after "$t1" 10 ||
	    flunk "no writes after the failover: $(tail -3 "$C/writer.err")"
	touch "$C/stop"
	wait_for 15000 test ! -e "/proc/$wpid"
	echo "acknowledged: $(lines_of "$C/acked"), failed: $(lines_of "$C/failed")"
	# The pause: the longest gap between two acknowledgements.
	awk 'NR > 1 && $3 - p > g { g = $3 - p } { p = $3 }
	    END { print "longest pause between writes: " g " ms" }' "$C/acked"
	# Every acknowledged write, with its contents.
	n=0
	while read -r name sum _; do
		got=$(clfs 3 get "fs1:/w/$name" - | sha256sum | cut -d' ' -f1)
		[ "$got" = "$sum" ] || flunk "fs1:/w/$name: $got, not $sum"
		n=$((n + 1))
	done <"$C/acked"
	echo "$n checked"
	# The last put's write lease (its preallocation) ends first.
	sleep 2.5
	run clfs 3 fsck fs1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 problems"* ]]
}

@test "cllaunch: kill -9 of a supervised service: restarted with a new pid, restarts=1 (supervision)" {
	lup 3
	wait_for 5000 running 1 cliod 2
	old=$("$CLUSTERCTL" daemon "$C" 2 cliod pid)
	[ -n "$old" ]
	lp=$("$CLUSTERCTL" launch "$C" 2 pid)
	# cllaunch's own child, in its process group.
	kids "$lp" -x cliod | grep -qx "$old"
	[ "$(ps -o pgid= -p "$old" | tr -d ' ')" = "$lp" ]
	kill -9 "$old"
	wait_for 5000 sh -c "'$CLL' -f '$(conf 2)' status |
	    grep -E '^service name=cliod node=2 pid=[0-9]+ state=running' |
	    grep -qv ' pid=$old '" || flunk "not restarted: $(lstatus 2)"
	line=$(sline 2 cliod 2)
	echo "$line"
	new=$(field "$line" pid)
	[ "$new" != "$old" ]
	[ "$(field "$line" restarts)" = 1 ]
	[ "$(cat "/proc/$new/comm")" = cliod ]
	grep -q "cliod: pid $old " "$C/n2/cllaunch.log"
	# It serves again.
	wait_for 5000 test -S "$C/n2/run/cliod.sock"
	# The other nodes' cliod were left alone.
	[ "$(sfield 1 cliod 1 restarts)" = 0 ]
	[ "$(sfield 1 cliod 3 restarts)" = 0 ]
}

@test "cllaunch: a service killed as fast as it starts gives up after its burst: state=failed in status and the log, starts bounded (supervision)" {
	CL_SERVICES='service flap {
    exec = "sleep 1001"
    nodes = {2}
    restart_ms = 50
    burst = 5
}' lup 3
	lp=$("$CLUSTERCTL" launch "$C" 2 pid)
	wait_for 5000 running 1 flap 2
	kills=0
	deadline=$(($(now_ms) + 10000))
	while ! lstatus 2 | grep -q "^service name=flap .*state=failed"; do
		[ "$(now_ms)" -lt "$deadline" ] ||
		    flunk "not given up after $kills kills: $(lstatus 2)"
		for p in $(kids "$lp" -f '^sleep 1001$'); do
			kill -9 "$p" 2>/dev/null && kills=$((kills + 1))
		done
		sleep 0.02
	done
	echo "given up after $kills kills"
	run lstatus 2
	echo "$output"
	grep -qE "^service name=flap node=[-2] .*state=failed" <<<"$output"
	# Every node reports it.
	lstatus 1 | grep -qE "^service name=flap .*state=failed"
	grep -q "flap: .*giving up" "$C/n2/cllaunch.log"
	starts=$(grep -c "flap: started, pid" "$C/n2/cllaunch.log")
	echo "starts: $starts"
	[ "$starts" -le 6 ]
	[ "$kills" -le 6 ]
	# And it stays down: no storm.
	sleep 2
	[ "$(grep -c "flap: started, pid" "$C/n2/cllaunch.log")" -eq "$starts" ]
	[ -z "$(kids "$lp" -f '^sleep 1001$')" ]
	lstatus 2 | grep -q "^service name=flap .*state=failed"
	# cllaunch restart clears it: it runs again.
	"$CLL" -f "$(conf 1)" restart flap
	wait_for 5000 running 1 flap 2
}

# failback_cluster: fs1 moved off node 1 by kill -9, node 1 back.
failback_cluster() {
	lup 3 --fs fs1:64M
	[ "$(admin 3)" = 1 ]
	"$CLUSTERCTL" kill "$C" 1 KILL
	wait_for 10000 admin_in 3 2 3 || flunk "fs1 not served by a survivor"
	survivor=$(admin 3)
	echo "fs1 on node $survivor"
	echo before >"$BATS_TEST_TMPDIR/f"
	clfs 3 put "$BATS_TEST_TMPDIR/f" fs1:/before
	mark_launch=$(lines_of "$C/n1/cllaunch.log")
	mark_meta=$(lines_of "$C/n1/clmetad.log")
	"$CLUSTERCTL" start "$C" 1
	wait_view 1,2,3
	# Node 1 is back in full: its cliod serves.
	wait_for 10000 running 1 cliod 1
	wait_for 10000 sh -c "'$CL_BIN/clfs' -f '$(conf 1)' df fs1 >/dev/null 2>&1"
}

@test "cllaunch: failback = true: preferred node 1, back, gets clmetad.fs1 again (seed004#39)" {
	export CL_FAILBACK=true
	failback_cluster
	wait_for 15000 admin_is 3 1 || flunk "fs1 still on node $(admin 3)"
	wait_for 5000 running 3 clmetad.fs1 1
	[ -z "$(sline 3 clmetad.fs1 "$survivor" | grep state=running)" ]
	# Stop, then start: the survivor's clmetad ended before node 1's took
	# the lock.
	! log_after 1 clmetad.log "$mark_meta" | grep "held by node $survivor" ||
	    flunk "node 1's clmetad waited for node $survivor's lock"
	[ "$(clfs 2 cat fs1:/before)" = before ]
}

@test "cllaunch: failback = false: preferred node 1, back, does not get clmetad.fs1 (seed004#39)" {
	export CL_FAILBACK=false
	failback_cluster
	sleep 3
	[ "$(admin 3)" = "$survivor" ]
	[ "$(admin 1)" = "$survivor" ]
	running 1 clmetad.fs1 "$survivor"
	! log_after 1 cllaunch.log "$mark_launch" | grep "clmetad.fs1: started" ||
	    flunk "clmetad.fs1 started on node 1"
	[ "$(clfs 1 cat fs1:/before)" = before ]
}

@test "cllaunch: placement: only on allowable nodes, the preferred or highest-ranked one, instances = all on every allowable node (seed004#25, seed004#26, seed004#28)" {
	CL_SERVICES='service only23 {
    exec = "sleep 1001"
    nodes = {2, 3}
    instances = "all"
}
service pref3 {
    exec = "sleep 1002"
    preferred = 3
}
service ranked {
    exec = "sleep 1003"
    nodes = {2, 3}
}' lup 3
	for k in 1 2 3; do
		wait_for 5000 running 1 cliod "$k"
		wait_for 5000 running 1 clsessiond "$k"
	done
	wait_for 5000 running 1 only23 2
	wait_for 5000 running 1 only23 3
	wait_for 5000 running 1 pref3 3
	wait_for 5000 running 1 ranked 2
	run lstatus 1
	echo "$output"
	[ -z "$(grep "^service name=only23 node=1 " <<<"$output")" ]
	[ "$(grep -c "^service name=pref3 node=[0-9]" <<<"$output")" -eq 1 ]
	[ "$(grep -c "^service name=ranked node=[0-9]" <<<"$output")" -eq 1 ]
	# The processes: each under its node's cllaunch, nowhere else.
	for k in 1 2 3; do
		eval "lp$k=\$(\"\$CLUSTERCTL\" launch \"\$C\" $k pid)"
	done
	[ -z "$(kids "$lp1" -f '^sleep 100[123]$')" ]
	[ "$(kids "$lp2" -f '^sleep 1001$' | wc -l)" -eq 1 ]
	[ "$(kids "$lp3" -f '^sleep 1001$' | wc -l)" -eq 1 ]
	[ "$(kids "$lp3" -f '^sleep 1002$' | wc -l)" -eq 1 ]
	[ "$(kids "$lp2" -f '^sleep 1003$' | wc -l)" -eq 1 ]
	[ -z "$(kids "$lp2" -f '^sleep 1002$')" ]
	[ -z "$(kids "$lp3" -f '^sleep 1003$')" ]
	# Node 2 dies: ranked goes to the next allowable node, never to 1.
	"$CLUSTERCTL" kill "$C" 2 KILL
	wait_view 1,3
	wait_for 10000 running 1 ranked 3
	run lstatus 3
	echo "$output"
	[ -z "$(grep -E "^service name=(only23|ranked) node=1 " <<<"$output")" ]
	[ -z "$(kids "$lp1" -f '^sleep 100[123]$')" ]
	! grep -E "(only23|ranked|pref3): started" "$C/n1/cllaunch.log" ||
	    flunk "started on node 1"
}

@test "cllaunch: graceful leave of node 1: clmetad.fs1 stops there, then starts on node 2 (transfer intent, seed004#34)" {
	lup 3 --fs fs1:64M
	[ "$(admin 3)" = 1 ]
	echo kept >"$BATS_TEST_TMPDIR/f"
	clfs 1 put "$BATS_TEST_TMPDIR/f" fs1:/kept
	member 1 leave
	wait_for 15000 admin_is 3 2 || flunk "fs1 on $(admin 3)"
	wait_view 2,3
	grep -q "this node leaves: stopping its services" "$C/n1/cllaunch.log"
	# Stopped on node 1 (SIGTERM: journal checkpointed, lock released)
	# before node 2's started: it never waited for node 1's lock.
	stop=$(grep "clmetad: terminating" "$C/n1/clmetad.log" | tail -1)
	start=$(grep "clmetad: fs1: node 2, volume" "$C/n2/clmetad.log" | head -1)
	echo "node 1: $stop"
	echo "node 2: $start"
	[ -n "$stop" ] && [ -n "$start" ]
	[ "$(log_ms "$stop")" -le "$(log_ms "$start")" ]
	! grep "held by node 1" "$C/n2/clmetad.log" ||
	    flunk "node 2's clmetad waited for node 1's lock"
	grep -q "clmetad: signal 15: exiting" "$C/n1/clmetad.log"
	run member 2 db get launch/clmetad.fs1
	[[ "$output" == *"node=2 "*"state=registered"* ]] || flunk "$output"
	[ "$(clfs 3 cat fs1:/kept)" = kept ]
}

@test "cllaunch: SIGTERM stops every service it runs, then it exits 0 (seed004#31)" {
	lup 3
	"$CLUSTERCTL" launch "$C" 3 kill KILL
	"$CLL" -d -f "$(conf 3)" </dev/null >"$C/n3/own.log" 2>&1 3>&- &
	lp=$!
	BG_PIDS="$lp"
	wait_for 10000 sh -c "pgrep -P $lp -x cliod && pgrep -P $lp -x clsessiond" \
	    >/dev/null || flunk "no services: $(cat "$C/n3/own.log")"
	children=$(kids "$lp" | tr '\n' ' ')
	echo "children: $children"
	t0=$(now_ms)
	kill -TERM "$lp"
	rc=0
	wait "$lp" || rc=$?
	t=$(($(now_ms) - t0))
	cat "$C/n3/own.log"
	echo "exited $rc after $t ms"
	[ "$rc" -eq 0 ]
	# Its services stop at once on SIGTERM: no reason to wait for
	# stop_ms (10 s).
	[ "$t" -lt 5000 ] || flunk "cllaunch took $t ms to exit"
	for p in $children; do
		! kill -0 "$p" 2>/dev/null || flunk "pid $p left running"
	done
	grep -q "cliod: stopping pid" "$C/n3/own.log"
	grep -q "clsessiond: stopping pid" "$C/n3/own.log"
}

@test "cllaunch -n: checks the config; a bad service section is refused naming the file, line and field" {
	lup 2
	F=$BATS_TEST_TMPDIR/cl.conf
	run "$CLL" -n -f "$(conf 1)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"configuration OK"* ]]
	# bad FIELD VALUE: a copy of node 1's config with a service section
	# whose line FIELD = VALUE is wrong; the error names $F, a line of
	# the section and the field.
	bad() {
		cp "$(conf 1)" "$F"
		first=$(($(wc -l <"$F") + 1))
		{
			echo "service bad {"
			[ "$1" = exec ] || echo '    exec = "sleep 1"'
			[ -n "$2" ] && echo "    $1 = $2"
			echo "}"
		} >>"$F"
		last=$(wc -l <"$F")
		run "$CLL" -n -f "$F"
		echo "$output"
		[ "$status" -ne 0 ] || return 1
		[[ "$output" != *"configuration OK"* ]] || return 1
		line=$(sed -n "s|^.*$F:\([0-9]*\): .*|\1|p" <<<"$output" | head -1)
		[ -n "$line" ] && [ "$line" -ge "$first" ] &&
		    [ "$line" -le "$last" ] || return 1
		[[ "$output" == *"service bad"*"$3"* ]]
	}
	bad instances '"some"' instances
	bad nodes '{1, 7}' "nodes: 7"
	bad exec "" exec
	bad preferred 5 preferred
	bad restart '"sometimes"' restart
	# A daemon refuses it too, before it starts.
	bad instances '"some"' instances
	run "$CLMEMBERD" -n -f "$F"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$F:"*"instances"* ]]
}
