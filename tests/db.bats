#!/usr/bin/env bats
#
# The replicated cluster database in clmemberd (issue 4, database part;
# cl-wire(5), DATABASE; clmember(1), db), through `clmember db`.  It is
# seed 003's shared database (seeds/003_0bef661ef59685d0.txt L132):
# seed003#N names behaviour N of seed-notes/003.md section 7 that a test
# covers (seed003#24: a node that rejoins resyncs from the shared
# database before serving; seed003#27: any node answers a cluster-wide
# query).  The other tests are the issue's acceptance items.
#
# A write is answered once every member the coordinator hears has applied
# it, so a read on any member right after the answer must show it: the
# tests read at once, without polling.
#
# Locks: lock/NAME names its holder and the epoch of the view it was
# taken in.  The stress test checks from the times the tools returned,
# and from the views `clmember watch` reports, that no two nodes ever
# held the lock at once, also when the holder is stopped (SIGSTOP: its
# connections stay open, it is silent, as in a partition) and the others
# take the lock once the view has dropped it.

FAIL_MS=${CL_FAIL_MS:-1000}

setup() {
	load lib/common
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		local f
		for f in "${C:-/nonexistent}"/*.out "${C:-/nonexistent}"/lock.*; do
			[ -f "$f" ] || continue
			echo "--- $f"
			tail -40 "$f"
		done
	}
	# A node left stopped would outlive down's SIGTERM.
	local k
	for k in 1 2 3; do
		[ -n "${C:-}" ] && [ -f "$C/n$k/pid" ] &&
		    kill -CONT "$(node_pid "$k")" 2>/dev/null
	done
	down
}

# db K ARGS...: clmember db against node K.
db() {
	local k=$1
	shift
	member "$k" db "$@"
}

# ver_of LINE: the ver= of an "ok key=K ver=V" or "locked ..." line.
ver_of() {
	field "$1" ver
}

# set_ok K KEY VALUE [ARGS]: set on node K, which must succeed; prints
# the new version.
set_ok() {
	local out
	out=$(db "$@") || flunk "db $*: $out"
	[[ $out =~ ^ok\ key=$3\ ver=([0-9]+)$ ]] || flunk "db $*: $out"
	echo "${BASH_REMATCH[1]}"
}

# same_on NODES CMD...: `clmember db CMD` prints the same on every node
# of NODES as on the first; prints that output.
same_on() {
	local nodes=$1 k first="" out
	shift
	for k in ${nodes//,/ }; do
		out=$(db "$k" "$@" 2>&1) || flunk "node $k: db $*: $out"
		if [ -z "$first" ]; then
			first=$k
			FIRST_OUT=$out
		elif [ "$out" != "$FIRST_OUT" ]; then
			flunk "db $*: node $k differs from node $first:" \
			    $'\n'"$out"$'\n--- node '"$first"$':\n'"$FIRST_OUT"
		fi
	done
	echo "$FIRST_OUT"
}

# db_watch_start K FILE [PREFIX]: `clmember db watch` on node K into FILE,
# in the background; returns once it is connected.
db_watch_start() {
	local k=$1 i
	OUT=$2
	bg "$CLMEMBER" -f "$(conf "$k")" db watch ${3:+"$3"}
	for i in $(seq 1 100); do
		ls -l "/proc/$LAST_PID/fd" 2>/dev/null | grep -q socket && break
		sleep 0.02
	done
	sleep 0.2
}

now_us() {
	date +%s%6N
}

@test "usage: bad keys, values and arguments exit 2 before asking the daemon; a 1024-byte value round-trips" {
	up 1
	local long v1024
	run db 1
	[ "$status" -eq 2 ]
	[[ ${lines[0]} == "usage: clmember [-f file] db get KEY" ]]
	run db 1 frob x
	[ "$status" -eq 2 ]
	[[ $output == *"unknown subcommand frob"* ]]
	run db 1 get "a b"
	echo "$output"
	[ "$status" -eq 2 ]
	[[ $output == *'key "a b": bad character at byte 2'* ]]
	run db 1 get ""
	[ "$status" -eq 2 ]
	long=$(printf 'k%.0s' $(seq 1 129))
	run db 1 set "$long" v
	echo "$output"
	[ "$status" -eq 2 ]
	[[ $output == *"want 1 to 128 bytes, not 129"* ]]
	run db 1 set k $'two\nlines'
	echo "$output"
	[ "$status" -eq 2 ]
	[[ $output == *"control character 0x0a"* ]]
	run db 1 set k v --ver -1
	[ "$status" -eq 2 ]
	run db 1 set k v extra
	[ "$status" -eq 2 ]
	run db 1 del
	[ "$status" -eq 2 ]
	run db 1 lock
	[ "$status" -eq 2 ]
	v1024=$(printf 'x%.0s' $(seq 1 1023))=
	run db 1 set "k:/._-Z9" "$v1024"
	echo "$output"
	[ "$status" -eq 0 ]
	run db 1 get "k:/._-Z9"
	[ "$output" = "key=k:/._-Z9 ver=$(ver_of "$(db 1 ls k: | head -1)") value=$v1024" ]
	run db 1 set k "${v1024}y"
	[ "$status" -eq 2 ]
	[[ $output == *"1025 bytes, at most 1024"* ]]
	# A value that starts with a dash, after --.
	run db 1 set neg -- -5
	[ "$status" -eq 0 ]
	[ "$(field "$(db 1 get neg)" value)" = "-5" ]
}

@test "seed003#27 a set on node 1 is visible on nodes 2 and 3 at once, by get and by ls; one on node 3 on 1 and 2" {
	up 3
	local v1 v2 out
	v1=$(set_ok 1 set app/color "dark blue = #00008b")
	out=$(same_on 1,2,3 get app/color)
	[ "$out" = "key=app/color ver=$v1 value=dark blue = #00008b" ]
	# A write on a node that is not the coordinator goes through it.
	v2=$(set_ok 3 set app/size 42)
	echo "versions: $v1 then $v2"
	[ "$v2" -gt "$v1" ]
	out=$(same_on 1,2,3 get app/size)
	[ "$out" = "key=app/size ver=$v2 value=42" ]
	# ls: one record per line, in key order, the prefix honoured.
	out=$(same_on 1,2,3 ls app/)
	echo "$out"
	[ "$out" = "key=app/color ver=$v1 value=dark blue = #00008b
key=app/size ver=$v2 value=42" ]
	set_ok 2 set zzz 1 >/dev/null
	out=$(same_on 1,2,3 ls)
	[ "$(wc -l <<<"$out")" -eq 3 ]
	[ "$(sed -n 3p <<<"$out" | cut -d' ' -f1)" = "key=zzz" ]
	run db 2 ls nothing/
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# A missing key: exit 1, the key named.
	run db 3 get app/none
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "clmember: get app/none: no such key" ]
}

@test "compare-and-set: a stale version fails with a clear message and exit 1, the current one succeeds" {
	up 3
	local v1 v2 v3
	v1=$(set_ok 1 set cfg a)
	v2=$(set_ok 2 set cfg b)
	run db 3 set cfg c --ver "$v1"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "clmember: set cfg: version mismatch: cfg is at version $v2, not $v1" ]
	# Nothing changed anywhere.
	[ "$(same_on 1,2,3 get cfg)" = "key=cfg ver=$v2 value=b" ]
	v3=$(set_ok 3 set cfg c --ver "$v2")
	[ "$v3" -gt "$v2" ]
	[ "$(same_on 1,2,3 get cfg)" = "key=cfg ver=$v3 value=c" ]
	# A version for a key that does not exist.
	run db 1 set nosuch x --ver 5
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == "clmember: set nosuch: version mismatch: "* ]]
	run db 1 get nosuch
	[ "$status" -eq 1 ]
	# del takes a version too.
	run db 2 del cfg --ver "$v2"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "clmember: del cfg: version mismatch: cfg is at version $v3, not $v2" ]
	run db 2 del cfg --ver "$v3"
	[ "$status" -eq 0 ]
	[[ $output =~ ^ok\ key=cfg\ ver=[0-9]+$ ]]
}

@test "ver 0 creates only: a second create of the same key fails and names the existing version" {
	up 3
	local v
	v=$(set_ok 1 set once x --ver 0)
	run db 2 set once y --ver 0
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == "clmember: set once: version mismatch: "*"once"*"$v"* ]]
	[ "$(same_on 1,2,3 get once)" = "key=once ver=$v value=x" ]
	# Once deleted it may be created again.
	db 3 del once
	v=$(set_ok 2 set once z --ver 0)
	[ "$(same_on 1,2,3 get once)" = "key=once ver=$v value=z" ]
}

@test "del: the key is gone on every node; del and get of a missing key exit 1" {
	up 3
	local v vd k out
	v=$(set_ok 1 set gone 1)
	set_ok 1 set stays 2 >/dev/null
	run db 2 del gone
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ ^ok\ key=gone\ ver=([0-9]+)$ ]]
	vd=${BASH_REMATCH[1]}
	[ "$vd" -gt "$v" ]
	for k in 1 2 3; do
		run db "$k" get gone
		[ "$status" -eq 1 ]
		[ "$output" = "clmember: get gone: no such key" ]
	done
	out=$(same_on 1,2,3 ls)
	[[ $out != *gone* ]]
	[[ $out == *"key=stays "* ]]
	run db 3 del gone
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "clmember: del gone: no such key" ]
}

@test "watch prints the changes made on other nodes, with their versions, within its prefix" {
	up 3
	local v1 v2 vd
	db_watch_start 2 "$C/wp.out" w/
	db_watch_start 3 "$C/wall.out"
	v1=$(set_ok 1 set w/a "x y=z")
	v2=$(set_ok 3 set other 1)
	vd=$(db 1 del w/a) || flunk "del: $vd"
	vd=$(ver_of "$vd")
	wait_for 5000 grep -qx "del key=w/a ver=$vd" "$C/wp.out" ||
	    flunk "prefix watch: $(cat "$C/wp.out")"
	wait_for 5000 grep -qx "del key=w/a ver=$vd" "$C/wall.out" ||
	    flunk "watch: $(cat "$C/wall.out")"
	# A resync (the whole copy replaced) is tested on its own below.
	cat "$C/wp.out"
	[ "$(grep -vx resync "$C/wp.out")" = "set key=w/a ver=$v1 value=x y=z
del key=w/a ver=$vd" ]
	cat "$C/wall.out"
	[ "$(grep -vx resync "$C/wall.out")" = "set key=w/a ver=$v1 value=x y=z
set key=other ver=$v2 value=1
del key=w/a ver=$vd" ]
}

@test "members in sync are not resynced: 30 writes from all nodes reach every watch one by one, in version order, without resync" {
	up 3
	local i k v last=0 out
	for k in 1 2 3; do
		db_watch_start "$k" "$C/dw$k.out"
	done
	for i in $(seq 1 30); do
		v=$(set_ok $((i % 3 + 1)) set "s/$((i % 7))" "write $i")
		[ "$v" -gt "$last" ] || flunk "write $i got version $v after $last"
		last=$v
	done
	for k in 1 2 3; do
		wait_for 5000 grep -q "^set key=s/[0-9] ver=$last " "$C/dw$k.out" ||
		    flunk "node $k: $(cat "$C/dw$k.out")"
	done
	for k in 1 2 3; do
		echo "node $k: $(grep -c '^set ' "$C/dw$k.out") set, $(grep -cx resync "$C/dw$k.out") resync"
	done
	for k in 1 2 3; do
		grep -n -x resync "$C/dw$k.out" && {
			grep "took a snapshot" "$C/n$k/log"
			flunk "node $k was resynced while in sync"
		}
		out=$(awk '$1 == "set" { sub(/^ver=/, "", $3); print $3 }' "$C/dw$k.out" | tr '\n' ' ')
		[ "$out" = "$(seq -s ' ' $((last - 29)) "$last") " ] ||
		    flunk "node $k: versions $out"
	done
}

@test "a minority node refuses writes (exit 1, no quorum) but still answers reads" {
	up 3
	local v
	v=$(set_ok 2 set m before)
	"$CLUSTERCTL" kill "$C" 2
	"$CLUSTERCTL" kill "$C" 3
	wait_for $((FAIL_MS + 3000)) eval 'view 1 | grep -q "quorum=no"' ||
	    flunk "node 1 still says: $(view 1)"
	run db 1 set m after
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == "clmember: set m: "*quorum* ]]
	run db 1 set fresh x --ver 0
	[ "$status" -eq 1 ]
	[[ $output == *quorum* ]]
	run db 1 del m
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *quorum* ]]
	run db 1 lock L
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *quorum* ]]
	# Reads come from the local copy.
	run db 1 get m
	[ "$status" -eq 0 ]
	[ "$output" = "key=m ver=$v value=before" ]
	run db 1 ls
	[ "$status" -eq 0 ]
	[ "$output" = "key=m ver=$v value=before" ]
}

@test "data survives kill -9 of every node right after the answers, and a restart of all (fsync'd in STATEDIR)" {
	up 3
	local i k v expect out
	for i in 1 2 3 4 5; do
		set_ok $((i % 3 + 1)) set "p/$i" "value $i" >/dev/null
	done
	db 2 del p/3 >/dev/null
	v=$(set_ok 3 set p/1 "changed")
	expect=$(same_on 1,2,3 ls)
	echo "$expect"
	for k in 1 2 3; do
		"$CLUSTERCTL" kill "$C" "$k"
	done
	for k in 1 2 3; do
		[ -s "$C/n$k/state/clmemberd.db" ] ||
		    flunk "node $k: no $C/n$k/state/clmemberd.db: $(ls -l "$C/n$k/state")"
	done
	for k in 1 2 3; do
		"$CLUSTERCTL" start "$C" "$k"
	done
	wait_view 1,2,3 15000
	out=$(same_on 1,2,3 ls)
	[ "$out" = "$expect" ]
	# The sequence goes on from where it was.
	[ "$(set_ok 1 set p/6 x)" -gt "$v" ]
}

@test "seed003#24 rejoin: after kill -9 of node 3 and updates on 1 and 2, node 3 has every update before its layers hear it joined" {
	up 3
	local i expect now before
	set_ok 1 set keep/a 1 >/dev/null
	set_ok 2 set keep/b 1 >/dev/null
	set_ok 3 set keep/c 1 >/dev/null
	"$CLUSTERCTL" kill "$C" 3
	wait_view 1,2 5000
	for i in $(seq 1 20); do
		set_ok $((i % 2 + 1)) set "upd/$i" "value $i" >/dev/null
	done
	set_ok 2 set keep/a 2 >/dev/null
	db 1 del keep/b >/dev/null
	expect=$(same_on 1,2 ls)
	# Held out (-j) until a subsystem at layer 10 and a db watch are on.
	"$CLUSTERCTL" start "$C" 3 -j
	before=$(db 3 ls)
	echo "node 3 before its join (its own copy, from its disk):"
	echo "$before"
	OUT=$C/sub3.out
	bg "$CLMEMBER" -f "$(conf 3)" subscribe --layer 10 --name l10 --delay-ms 1500
	wait_for 10000 grep -q '^registered ' "$OUT" || flunk "subscriber: $(cat "$OUT")"
	db_watch_start 3 "$C/w3.out"
	member 3 join
	# The moment its layer 10 hears of the join, read node 3's copy.
	wait_for 15000 grep -q '^notify node=3 trans=join layer=10 ' "$C/sub3.out" ||
	    flunk "no join notification: $(cat "$C/sub3.out")"
	now=$(db 3 ls)
	# The join is still at layer 10: its acknowledgement waits 1.5 s.
	member 1 status | grep -E "^node id=3 .*member=joining$" ||
	    flunk "node 3 no longer joining: $(member 1 status)"
	cat "$C/sub3.out"
	if [ "$now" != "$expect" ]; then
		diff <(echo "$expect") <(echo "$now") || true
		flunk "node 3's copy when its layers heard of its join differs from the cluster's"
	fi
	wait_view 1,2,3 10000
	[ "$(same_on 1,2,3 ls)" = "$expect" ]
	# Its copy was replaced whole: the watch says resync.
	cat "$C/w3.out"
	grep -qx resync "$C/w3.out"
	# And it writes again.
	set_ok 3 set after/join x >/dev/null
	[ "$(field "$(db 1 get after/join)" value)" = x ]
}

@test "lock: concurrent lock from all three nodes, exactly one succeeds, the others name the holder" {
	up 3
	local k w=0 n=0 line v other pids=()
	for k in 1 2 3; do
		(
			out=$(db "$k" lock L 2>&1) && rc=0 || rc=$?
			echo "rc=$rc $out"
		) >"$C/lock.$k" 2>&1 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
	for k in 1 2 3; do
		line=$(cat "$C/lock.$k")
		echo "node $k: $line"
		if [[ $line =~ ^rc=0\ locked\ name=L\ node=$k\ ver=([0-9]+)$ ]]; then
			w=$k
			v=${BASH_REMATCH[1]}
			n=$((n + 1))
		fi
	done
	[ "$n" -eq 1 ] || flunk "$n nodes got the lock"
	for k in 1 2 3; do
		[ "$k" = "$w" ] && continue
		[ "$(cat "$C/lock.$k")" = "rc=1 clmember: lock L: held by node $w" ] ||
		    flunk "node $k: $(cat "$C/lock.$k")"
	done
	# The record names the holder, the same everywhere.
	line=$(same_on 1,2,3 get lock/L)
	echo "$line"
	[[ $line =~ ^key=lock/L\ ver=$v\ value=node=$w\ epoch=[0-9]+$ ]]
	# Only the holder may unlock.
	other=$((w % 3 + 1))
	run db "$other" unlock L
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == "clmember: unlock L: not held"* ]]
	run db "$w" unlock L
	[ "$status" -eq 0 ]
	[ "$output" = "unlocked name=L" ]
	run db 1 get lock/L
	[ "$status" -eq 1 ]
	run db "$other" lock L
	[ "$status" -eq 0 ]
	[[ $output =~ ^locked\ name=L\ node=$other\ ver=[0-9]+$ ]]
}

@test "lock: kill -9 of the holder releases the lock fail_ms after the view drops it; another node takes it" {
	up 3
	local line e
	run db 3 lock L
	[ "$status" -eq 0 ]
	[[ $output =~ ^locked\ name=L\ node=3\ ver=[0-9]+$ ]]
	run db 1 lock L
	[ "$output" = "clmember: lock L: held by node 3" ]
	"$CLUSTERCTL" kill "$C" 3
	wait_view 1,2 5000
	# Released fail_ms after the view that dropped node 3: a holder cut
	# off rather than dead has noticed it lost quorum by then.
	run db 2 lock L
	[ "$status" -eq 0 ] || [[ $output == *"held by node 3"* ]]
	wait_for $((FAIL_MS + 3000)) db 2 lock L >/dev/null
	run db 2 lock L
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ ^locked\ name=L\ node=2\ ver=[0-9]+$ ]]
	# Taken in the view without node 3.
	e=$(epoch_of 1)
	line=$(same_on 1,2 get lock/L)
	echo "$line (epoch now $e)"
	[[ $line == *" value=node=2 epoch=$e" ]]
	run db 1 lock L
	[ "$output" = "clmember: lock L: held by node 2" ]
}

# contend R K: node K asks for the lock S until it gets it, holds it 50 ms
# and unlocks, for at most 20 s; one line per step on standard output:
#	try R K T_US RC MESSAGE		a refusal
#	acq R K T_US RECORD		got it, T_US after the answer, and the
#					lock/S record read right after
#	rel R K T_US			about to unlock
#	unl R K T_US OUTPUT		unlocked (or unlockfail)
contend() {
	local r=$1 k=$2 out rc t deadline
	# Under bats' set -e a refusal must not end the loop: rc is kept.
	deadline=$(($(now_ms) + 20000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		out=$(db "$k" lock S 2>&1) && rc=0 || rc=$?
		t=$(now_us)
		if [ "$rc" -eq 0 ]; then
			echo "acq $r $k $t $(db "$k" get lock/S 2>&1) ($out)"
			sleep 0.05
			echo "rel $r $k $(now_us)"
			if out=$(db "$k" unlock S 2>&1); then
				echo "unl $r $k $(now_us) $out"
			else
				echo "unlockfail $r $k $(now_us) $out"
			fi
			return 0
		fi
		echo "try $r $k $t $rc $out"
		sleep 0.0$((RANDOM % 3))
	done
	echo "gaveup $r $k"
}

# view_drop_us W T_US NODES: the earliest time after T_US at which one of
# NODES installed a view without node W, in microseconds.
view_drop_us() {
	local w=$1 t=$2 k
	for k in ${3//,/ }; do
		awk -v w="$w" -v t="$t" '
		    /^view / && / quorum=yes / {
			m = $0; sub(/.* members=/, "", m); sub(/ .*/, "", m)
			if (("," m ",") ~ ("," w ",")) next
			s = $NF; sub(/^time=/, "", s); sub(/\./, "", s)
			if (s + 0 > t + 0) { print s; exit }
		    }' "$C/w$k"
	done | sort -n | head -1
}

# epoch_members E: the members of view E, as the watches saw it.
epoch_members() {
	cat "$C"/w[123] | sed -n "s/^view epoch=$1 .* members=\([0-9,]*\) .*/\1/p" |
	    head -1
}

@test "lock stress: 20 rounds of all nodes contending, the holder stopped (SIGSTOP) in 4: never two holders at once" {
	# Flap damping would keep a node that is stopped twice out.
	CL_EXTRA_CONF="damp_ms = 1" up 3
	local r k w n line e members t_stop t_drop pid others winners pids
	for k in 1 2 3; do
		watch_start "$k" "$C/w$k"
	done
	: >"$C/lock.all"
	for r in $(seq 1 20); do
		if [ $((r % 5)) -ne 0 ]; then
			# Every node takes the lock once, all contending.
			pids=()
			for k in 1 2 3; do
				contend "$r" "$k" >"$C/lock.$r.$k" 3>&- &
				pids+=($!)
			done
			wait "${pids[@]}"
			cat "$C/lock.$r".[123] >>"$C/lock.all"
			for k in 1 2 3; do
				grep -q "^unl $r $k " "$C/lock.$r.$k" ||
				    flunk "round $r, node $k: $(cat "$C/lock.$r.$k")"
			done
			continue
		fi
		# Every node asks once, at once: one wins and is stopped.
		pids=()
		for k in 1 2 3; do
			(
				out=$(db "$k" lock S 2>&1) && rc=0 || rc=$?
				t=$(now_us)
				if [ "$rc" -eq 0 ]; then
					echo "acq $r $k $t $(db "$k" get lock/S 2>&1) ($out)"
				else
					echo "try $r $k $t $rc $out"
				fi
			) >"$C/lock.$r.$k" 3>&- &
			pids+=($!)
		done
		wait "${pids[@]}"
		cat "$C/lock.$r".[123] >>"$C/lock.all"
		winners=$(cat "$C/lock.$r".[123] | grep -c '^acq ')
		[ "$winners" -eq 1 ] || flunk "round $r: $winners nodes got the lock"
		w=$(cat "$C/lock.$r".[123] | awk '$1 == "acq" { print $3 }')
		pid=$(node_pid "$w")
		t_stop=$(now_us)
		kill -STOP "$pid"
		echo "round $r: node $w holds S and is stopped"
		# The others contend until each has had it.
		others=""
		pids=()
		for k in 1 2 3; do
			[ "$k" = "$w" ] && continue
			others="$others${others:+,}$k"
			contend "$r" "$k" >"$C/lock.$r.$k.b" 3>&- &
			pids+=($!)
		done
		wait "${pids[@]}"
		t_drop=$(view_drop_us "$w" "$t_stop" "$others")
		kill -CONT "$pid"
		cat "$C/lock.$r".[123].b >>"$C/lock.all"
		[ -n "$t_drop" ] || flunk "round $r: no view without node $w"
		echo "drop $r $w $t_drop" >>"$C/lock.all"
		for k in ${others//,/ }; do
			grep -q "^unl $r $k " "$C/lock.$r.$k.b" ||
			    flunk "round $r, node $k: $(cat "$C/lock.$r.$k.b")"
			# Taken in a view without the stopped holder.
			line=$(grep "^acq $r $k " "$C/lock.$r.$k.b")
			e=$(sed -n 's/.* value=node=[0-9]* epoch=\([0-9]*\) .*/\1/p' <<<"$line")
			members=$(epoch_members "$e")
			echo "round $r: node $k took S in epoch $e, members $members"
			[ -n "$members" ] || flunk "round $r: no view $e seen: $line"
			[[ ,$members, != *",$w,"* ]] ||
			    flunk "round $r: node $k took S in view $e ($members) with the holder $w"
		done
		# Node w comes back (it was forced out) before the next round.
		wait_view 1,2,3 15000
	done
	# Every grant's record named the node granted.
	awk '$1 == "acq" && $5 !~ "^key=lock/S$" { print; bad = 1 }
	    $1 == "acq" && $0 !~ (" value=node=" $3 " epoch=") { print; bad = 1 }
	    END { exit bad }' "$C/lock.all" || flunk "a lock/S record named another node"
	# Refusals while nothing was stopped name a holder.
	awk '$1 == "try" && $2 % 5 != 0 && $0 !~ /held by node [123]$/ { print; bad = 1 }
	    END { exit bad }' "$C/lock.all" || flunk "refusals for another reason than held"
	# The intervals [acq, rel] (or [acq, drop] for a stopped holder) never
	# overlap: sorted by start, each starts after the one before ended.
	awk '
	    $1 == "acq" { start[$2 " " $3] = $4 }
	    $1 == "rel" || $1 == "drop" { end[$2 " " $3] = $4 }
	    END {
		for (i in start) {
			if (!(i in end)) { print "no end for round/node " i; bad = 1; continue }
			print start[i], end[i], i
		}
		exit bad
	    }' "$C/lock.all" | sort -n >"$C/intervals" ||
	    flunk "intervals: $(cat "$C/intervals")"
	n=$(wc -l <"$C/intervals")
	echo "$n holdings"
	[ "$n" -eq $((16 * 3 + 4 * 3)) ]
	awk 'NR > 1 && $1 <= pend {
		printf "overlap: round/node %s %s held from %s to %s, round/node %s %s from %s\n",
		    pr, pn, ps, pend, $3, $4, $1; bad = 1 }
	    { ps = $1; pend = $2; pr = $3; pn = $4 }
	    END { exit bad }' "$C/intervals"
}
