#!/usr/bin/env bats
#
# DMAPI sessions, dispositions and events (issue 6): clsessiond(8) on
# every node, clsession(1).  Seeds 000 (DMAPI) and 001 (the session
# manager, seeds/001_16156580e0c8227d.txt).  tests/clusterctl does not
# start clsessiond: sessiond K starts it on node K.

setup() {
	load lib/common
	CLS=$CL_BIN/clsession
	[ -x "$CL_BIN/clsessiond" ] || flunk "$CL_BIN/clsessiond missing"
	[ -x "$CLS" ] || flunk "$CLS missing"
	SD_PIDS=""
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		local f
		for f in "${C:-/nonexistent}"/n*/clsessiond.log; do
			[ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
		done
	}
	local p
	for p in $SD_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	down
}

# sessiond K: start clsessiond on node K, wait for its socket.
sessiond() {
	"$CL_BIN/clsessiond" -d -f "$(conf "$1")" \
	    >>"$C/n$1/clsessiond.log" 2>&1 3>&- &
	SD_PIDS="$SD_PIDS $!"
	eval "SD_$1=$!"
	wait_for 5000 test -S "$C/n$1/run/clsessiond.sock" ||
	    wait_for 5000 grep -q "serving" "$C/n$1/clsessiond.log"
}

# cls K ARGS...: clsession on node K.
cls() {
	local k=$1
	shift
	"$CLS" -f "$(conf "$k")" "$@"
}

# dmcluster: 3 nodes, fs1, clsessiond on each, a manager chosen.
dmcluster() {
	cluster_dir
	"$CLUSTERCTL" up "$C" 3 --fs fs1:64M
	sessiond 1
	sessiond 2
	sessiond 3
	wait_for 10000 grep -q "session manager" "$C/n1/clsessiond.log" \
	    "$C/n2/clsessiond.log" "$C/n3/clsessiond.log"
}

@test "dmapi: create on node 1, every node lists it" {
	dmcluster
	run cls 1 create hsm
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9]+$ ]] || flunk "create printed: $output"
	id=$output
	for k in 2 3; do
		run cls "$k" list
		[ "$status" -eq 0 ]
		grep -qx "id=$id name=hsm node=1 pending=-" <<<"$output" ||
		    flunk "node $k list: $output"
	done
	run cls 1 list
	grep -qx "id=$id name=hsm node=1 pending=0" <<<"$output" ||
	    flunk "node 1 list: $output"
}

@test "dmapi: session ids are unique and increase across nodes" {
	dmcluster
	prev=0
	for k in 1 2 3 2 1 3; do
		run cls "$k" create "s$k"
		[ "$status" -eq 0 ]
		[ "$output" -gt "$prev" ] || flunk "id $output after $prev"
		prev=$output
	done
	run cls 2 list
	[ "$(grep -c '^id=' <<<"$output")" -eq 6 ]
}

@test "dmapi: disp set on node 3 shows in disp ls on node 1" {
	dmcluster
	id=$(cls 3 create dm3)
	run cls 3 disp set fs1 create "$id" --sync
	[ "$status" -eq 0 ]
	run cls 3 disp set fs1 write "$id" --async --node 2
	[ "$status" -eq 0 ]
	run cls 1 disp ls
	[ "$status" -eq 0 ]
	grep -qx "fs=fs1 event=create node=all session=$id mode=sync" \
	    <<<"$output" || flunk "disp ls: $output"
	grep -qx "fs=fs1 event=write node=2 session=$id mode=async" \
	    <<<"$output" || flunk "disp ls: $output"
}

@test "dmapi: disp set refuses an unknown fs, event or session" {
	dmcluster
	id=$(cls 1 create a)
	run cls 2 disp set nofs create "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == "clsession: nofs: not a file system"* ]] ||
	    flunk "$output"
	run cls 2 disp set fs1 explode "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == "clsession: explode: not an event"* ]] ||
	    flunk "$output"
	run cls 2 disp set fs1 create 999
	[ "$status" -eq 1 ]
	[[ "$output" == "clsession: no session 999" ]] || flunk "$output"
	# One session per (fs, event, node).
	id2=$(cls 1 create b)
	run cls 1 disp set fs1 create "$id"
	[ "$status" -eq 0 ]
	run cls 3 disp set fs1 create "$id2"
	[ "$status" -eq 1 ]
	[[ "$output" == *"already goes to session $id"* ]] || flunk "$output"
}

@test "dmapi: destroy removes the session and its dispositions" {
	dmcluster
	id=$(cls 2 create gone)
	run cls 2 disp set fs1 remove "$id"
	[ "$status" -eq 0 ]
	run cls 3 destroy "$id"
	[ "$status" -eq 0 ]
	run cls 1 list
	! grep -q "^id=$id " <<<"$output" || flunk "still listed: $output"
	run cls 1 disp ls
	[ -z "$output" ] || flunk "disp ls: $output"
	run cls 1 destroy "$id"
	[ "$status" -eq 1 ]
	[ "$output" = "clsession: no session $id" ]
}

@test "dmapi: respond to an unknown token, events elsewhere: refused" {
	dmcluster
	id=$(cls 1 create x)
	run cls 1 respond 3.77 continue
	[ "$status" -eq 1 ]
	[[ "$output" == "clsession: token 3.77: no event waits"* ]] ||
	    flunk "$output"
	run cls 1 respond 3.77 abort ENOTANERRNO
	[ "$status" -eq 1 ]
	[[ "$output" == *"errno name"* ]] || flunk "$output"
	run cls 2 events "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == "clsession: session $id is on node 1, not node 2"* ]] ||
	    flunk "$output"
	run cls 1 events "$id"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run cls 1 bogus
	[ "$status" -eq 2 ]
}

@test "dmapi: the manager's clsessiond killed: a survivor takes over" {
	dmcluster
	ids=""
	for k in 1 2 3; do
		ids="$ids $(cls "$k" create "k$k")"
	done
	last=${ids##* }
	if grep -q "holding the lock" "$C/n1/clsessiond.log"; then mgr=1
	elif grep -q "holding the lock" "$C/n2/clsessiond.log"; then mgr=2
	else mgr=3; fi
	eval "kill -9 \$SD_$mgr"
	s=$((mgr % 3 + 1))
	run cls "$s" list
	[ "$status" -eq 0 ]
	for id in $ids; do
		grep -q "^id=$id " <<<"$output" || flunk "$id lost: $output"
	done
	run cls "$s" create after
	[ "$status" -eq 0 ] || flunk "create after the kill: $output"
	[ "$output" -gt "$last" ] || flunk "id $output after $last"
	grep -q "taking over" "$C"/n*/clsessiond.log
}

# clfs K ARGS...: clfs on node K.
clfsk() {
	local k=$1
	shift
	"$CL_BIN/clfs" -f "$(conf "$k")" "$@"
}

@test "dmapi: a sync create event holds clfs put until respond (cliod)" {
	grep -q "clsessiond" "$CL_BIN/cliod" || skip "cliod sends no events"
	dmcluster
	id=$(cls 1 create hsm)
	run cls 1 disp set fs1 create "$id" --sync
	[ "$status" -eq 0 ]
	echo hello >"$BATS_TEST_TMPDIR/src"
	OUT=$BATS_TEST_TMPDIR/put1.out
	bg clfsk 3 put "$BATS_TEST_TMPDIR/src" fs1:/a
	put=$LAST_PID
	wait_for 10000 sh -c "'$CLS' -f '$(conf 1)' events $id | grep -q ." ||
	    flunk "no event: $(cat "$OUT")"
	ev=$(cls 1 events "$id" | head -1)
	[[ " $ev " == *" src=3 "* ]] || flunk "event: $ev"
	[[ " $ev " == *" type=create "* ]] || flunk "event: $ev"
	run cls 1 list
	grep -qx "id=$id name=hsm node=1 pending=1" <<<"$output" ||
	    flunk "list: $output"
	# Not answered yet: the put waits.
	kill -0 "$put"
	run cls 1 destroy "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"pending events"* ]] || flunk "$output"
	tok=${ev#*token=}
	tok=${tok%% *}
	run cls 2 respond "$tok" continue
	[ "$status" -eq 1 ]
	run cls 1 respond "$tok" continue
	[ "$status" -eq 0 ]
	wait "$put"
	run cls 1 respond "$tok" continue
	[ "$status" -eq 1 ]
	run clfsk 2 cat fs1:/a
	[ "$output" = hello ]

	# abort EPERM fails the put; the follow loop of clsession(1).
	OUT=$BATS_TEST_TMPDIR/follow.out
	bg cls 1 events "$id" --follow
	OUT=$BATS_TEST_TMPDIR/put2.out
	bg clfsk 3 put "$BATS_TEST_TMPDIR/src" fs1:/b
	put=$LAST_PID
	wait_for 10000 grep -q "^event " "$BATS_TEST_TMPDIR/follow.out" ||
	    flunk "no event followed"
	ev=$(head -1 "$BATS_TEST_TMPDIR/follow.out")
	[[ " $ev " == *" src=3 "* ]] || flunk "event: $ev"
	tok=${ev#*token=}
	tok=${tok%% *}
	run cls 1 respond "$tok" abort EPERM
	[ "$status" -eq 0 ]
	rc=0
	wait "$put" || rc=$?
	[ "$rc" -ne 0 ] || flunk "put succeeded after abort"
	grep -q "Operation not permitted" "$BATS_TEST_TMPDIR/put2.out" ||
	    flunk "put: $(cat "$BATS_TEST_TMPDIR/put2.out")"
}

@test "dmapi: session node killed, assume on node 2: 3 blocked puts complete" {
	grep -q "clsessiond" "$CL_BIN/cliod" || skip "cliod sends no events"
	# Room for the view change and the handover (seed 001, claim 3).
	export CL_EXTRA_CONF="event_timeout_ms = 20000"
	dmcluster
	"$CLUSTERCTL" fswait "$C" 30000
	# clmetad.fs1 is node 1's: node 2's stands by to take it over.
	"$CLUSTERCTL" daemon "$C" 2 clmetad start
	wait_for 10000 grep -q "held by node 1; waiting" "$C/n2/clmetad.log"
	id=$(cls 1 create hsm)
	run cls 1 disp set fs1 create "$id" --sync
	[ "$status" -eq 0 ]
	# Not yet: node 1 runs clsessiond.
	run cls 2 assume "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"runs clsessiond (use --force)"* ]] || flunk "$output"
	puts=""
	for i in 1 2 3; do
		head -c $((i * 1000)) /dev/urandom >"$BATS_TEST_TMPDIR/src$i"
		OUT=$BATS_TEST_TMPDIR/put$i.out
		bg clfsk 3 put "$BATS_TEST_TMPDIR/src$i" "fs1:/f$i"
		puts="$puts $LAST_PID"
	done
	wait_for 10000 sh -c "[ \$('$CLS' -f '$(conf 1)' events $id | \
	    grep -c '^event ') -eq 3 ]" || flunk "3 events not queued"
	toks=$(cls 1 events "$id" | sed 's/.* token=\([^ ]*\).*/\1/' | sort)
	# Node 1 dies whole: clsessiond, cliod, clmetad, clmemberd.
	kill -9 "$SD_1"
	"$CLUSTERCTL" daemon "$C" 1 clmetad kill KILL || true
	"$CLUSTERCTL" daemon "$C" 1 cliod kill KILL || true
	"$CLUSTERCTL" kill "$C" 1
	wait_for 30000 sh -c "'$CLS' -f '$(conf 2)' assume $id" ||
	    flunk "assume on node 2 refused"
	run cls 3 list
	grep -q "^id=$id name=hsm node=2 " <<<"$output" || flunk "$output"
	wait_for 15000 sh -c "[ \$('$CLS' -f '$(conf 2)' events $id | \
	    grep -c '^event ') -eq 3 ]" ||
	    flunk "node 2: $(cls 2 events "$id"; grep dmapi "$C/n3/cliod.log")"
	got=$(cls 2 events "$id" | sed 's/.* token=\([^ ]*\).*/\1/' | sort)
	[ "$got" = "$toks" ] || flunk "tokens $got, were $toks"
	for p in $puts; do
		kill -0 "$p" || flunk "put $p ended before the answer"
	done
	# The creates go on to node 2's clmetad.fs1.
	wait_for 30000 grep -q "serving" "$C/n2/clmetad.log"
	for t in $got; do
		run cls 2 respond "$t" continue
		[ "$status" -eq 0 ] || flunk "respond $t: $output"
	done
	for p in $puts; do
		wait "$p" || flunk "put failed: $(cat "$BATS_TEST_TMPDIR"/put*.out)"
	done
	for i in 1 2 3; do
		clfsk 2 get "fs1:/f$i" - | cmp - "$BATS_TEST_TMPDIR/src$i" ||
		    flunk "f$i differs"
	done
}

cliocli() {
	local k=$1
	shift
	"$CL_BIN/test/cliocli" -f "$(conf "$k")" "$@"
}

# seed000#7 (access rights; XDSM dm_request_right): an exclusive right of
# a user token keeps users out of the file until it is released; the
# token's own (invisible) I/O goes through and raises no event.
@test "dmapi: an exclusive right holds a user's read until release; token I/O passes" {
	dmcluster
	id=$(cls 1 create hsm)
	echo precious >"$BATS_TEST_TMPDIR/src"
	clfsk 2 put "$BATS_TEST_TMPDIR/src" fs1:/f
	run cls 2 token "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"on the session's node"* ]] || flunk "$output"
	tok=$(cls 1 token "$id")
	[[ "$tok" == 1.u* ]] || flunk "token $tok"
	run cls 1 right get nosuch.1 fs1:/f exclusive
	[ "$status" -eq 1 ]
	[[ "$output" == *"no such token"* ]] || flunk "$output"
	run cls 1 right get "$tok" nofs:/f exclusive
	[ "$status" -eq 1 ]
	cls 1 right get "$tok" fs1:/f exclusive
	# A user's read on node 3 waits (clmetad answers EBUSY, cliod tries
	# again) ...
	OUT=$BATS_TEST_TMPDIR/cat.out
	bg clfsk 3 cat fs1:/f
	cat=$LAST_PID
	sleep 1.5
	kill -0 "$cat" || flunk "the read did not wait: $(cat "$OUT")"
	# ... while the token's invisible read goes through.
	ino=$(clfsk 1 stat fs1:/f | sed -n 's/.* ino=\([0-9]*\) .*/\1/p')
	gen=$(clfsk 1 stat fs1:/f | sed -n 's/.* gen=\([0-9]*\) .*/\1/p')
	run cliocli 1 raw read fs=fs1 ino="$ino" gen="$gen" off=0 count=100 \
	    token="$tok"
	[[ "$output" == *precious* ]] || flunk "token read: $output"
	# The right is renewed past its first expiry (4 lease_ms).
	cls 1 right release "$tok" fs1:/f
	wait "$cat" || flunk "read failed: $(cat "$OUT")"
	[ "$(cat "$OUT")" = precious ]
	# respond ends a user token, and its rights with it.
	cls 1 right get "$tok" fs1:/f shared
	run clfsk 3 cat fs1:/f			# shared: readers pass
	[ "$output" = precious ]
	cls 1 respond "$tok" continue
	run cls 1 right get "$tok" fs1:/f shared
	[ "$status" -eq 1 ]
	run clfsk 3 put "$BATS_TEST_TMPDIR/src" fs1:/f
	[ "$status" -eq 0 ]
}

# seed000#6 (HSM migration): punch frees a file's blocks and keeps its
# size; a read/write managed region then makes a user's read an event.
@test "dmapi: punch keeps the size, frees the blocks; a region turns reads into events" {
	dmcluster
	id=$(cls 1 create hsm)
	head -c 1048576 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	clfsk 2 put "$BATS_TEST_TMPDIR/big" fs1:/big
	run clfsk 1 stat fs1:/big
	# 256 blocks of 4 KiB: the data, nothing mapped ahead past the end
	# (cliod maps ahead only as far as the file already reaches).
	[[ "$output" == *" blocks=256 "* ]] || flunk "$output"
	ino=$(clfsk 1 stat fs1:/big | sed -n 's/.* ino=\([0-9]*\) .*/\1/p')
	gen=$(clfsk 1 stat fs1:/big | sed -n 's/.* gen=\([0-9]*\) .*/\1/p')
	run cliocli 1 raw punch fs=fs1 ino="$ino" gen="$gen" off=1
	[[ "$output" == *EINVAL* ]] || flunk "$output"
	cls 1 region set fs1:/big 0:0:rw
	cliocli 1 raw punch fs=fs1 ino="$ino" gen="$gen" off=0
	run clfsk 3 stat fs1:/big
	[[ "$output" == *" size=1048576 "* ]] || flunk "$output"
	[[ "$output" == *" blocks=0 "* ]] || flunk "$output"
	[ "$(cls 2 region ls fs1:/big)" = 0:0:rw ]
	cls 1 disp set fs1 read "$id" --sync
	OUT=$BATS_TEST_TMPDIR/get.out
	bg clfsk 3 get fs1:/big "$BATS_TEST_TMPDIR/back"
	get=$LAST_PID
	wait_for 10000 sh -c "'$CLS' -f '$(conf 1)' events $id | grep -q ." ||
	    flunk "no read event: $(cat "$OUT")"
	ev=$(cls 1 events "$id" | head -1)
	[[ " $ev " == *" type=read "* ]] || flunk "event: $ev"
	[[ " $ev " == *" src=3 "* ]] || flunk "event: $ev"
	tok=${ev#*token=}
	tok=${tok%% *}
	# The DM application recalls: writes the data back under its right
	# with the event's token (no event for its own I/O), clears the
	# region, answers continue.
	mtime0=$(clfsk 1 stat fs1:/big | sed -n 's/.* mtime=\([0-9.]*\).*/\1/p')
	cls 1 right get "$tok" fs1:/big exclusive
	cliocli 1 raw write fs=fs1 ino="$ino" gen="$gen" off=0 token="$tok" \
	    <"$BATS_TEST_TMPDIR/big"
	# Under the token's right (without it, it would wait for the right).
	cls 1 region set fs1:/big none "$tok"
	cls 1 respond "$tok" continue
	# Reads of the file sent before the region went: each its own
	# event, all answered once the data is back.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		for t in $(cls 1 events "$id" |
		    sed -n 's/.*token=\([^ ]*\).*/\1/p'); do
			cls 1 respond "$t" continue || true
		done
		kill -0 "$get" 2>/dev/null || break
		sleep 0.5
	done
	wait "$get" || flunk "get: $(cat "$OUT")"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/back"
	# Invisible writes leave the file's mtime alone (XDSM).
	run clfsk 1 stat fs1:/big
	[[ "$output" == *" mtime=$mtime0 "* ]] || flunk "mtime $mtime0: $output"
}

# seed000#3 (event types): every type reaches the session with what it
# is about; asynchronous dispositions hold nothing.
@test "dmapi: remove, rename, truncate, attribute, destroy and mount events (async)" {
	dmcluster
	id=$(cls 1 create watch)
	for ev in remove rename truncate attribute destroy mount; do
		cls 3 disp set fs1 "$ev" "$id" --async
	done
	# Asynchronous events are handed out once: follow from the start.
	OUT=$BATS_TEST_TMPDIR/follow.out
	bg cls 1 events "$id" --follow
	echo data >"$BATS_TEST_TMPDIR/src"
	clfsk 2 put "$BATS_TEST_TMPDIR/src" fs1:/a
	clfsk 2 put "$BATS_TEST_TMPDIR/src" fs1:/b
	clfsk 2 mv fs1:/a fs1:/c
	"$CL_BIN/test/cliocli" -f "$(conf 2)" raw setattr fs=fs1 path=/c \
	    mode=0600 >/dev/null
	"$CL_BIN/test/cliocli" -f "$(conf 2)" truncate fs1:/c 2 >/dev/null
	clfsk 2 rm fs1:/b
	"$CLUSTERCTL" daemon "$C" 3 cliod kill
	"$CLUSTERCTL" daemon "$C" 3 cliod start
	wait_for 10000 grep -q type=mount "$OUT" ||
	    flunk "no mount event: $(cat "$OUT")"
	output=$(cat "$OUT")
	for t in rename attribute truncate remove destroy; do
		grep -q " type=$t .*src=2" <<<"$output" ||
		    flunk "no $t event from node 2: $output"
	done
	grep -q " type=rename fs=fs1 path=/a newpath=/c " <<<"$output" ||
	    flunk "rename: $output"
	grep -q " type=truncate .* off=2 " <<<"$output" ||
	    flunk "truncate: $output"
	grep -q " type=mount .*src=3" <<<"$output" || flunk "mount: $output"
	grep -q " type=destroy .*ino=[1-9]" <<<"$output" ||
	    flunk "destroy: $output"
	grep -q " sync=1" <<<"$output" && flunk "a sync event: $output"
	true
}
