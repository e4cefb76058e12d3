#!/usr/bin/env bats
#
# clhsm(1), the HSM data migration application of seed 000 (claims 13,
# 30, 47: a DM application on one node frees storage space; users on
# other nodes read their files back through DM events).  Three nodes,
# fs1, clsessiond on each, clhsm run on node 1; users on nodes 2 and 3.
# clhsm's log is $C/n1/clhsm.log.

setup() {
	load lib/common
	HSM=$CL_BIN/clhsm
	CLS=$CL_BIN/clsession
	for p in clhsm clsessiond clsession clfs; do
		[ -x "$CL_BIN/$p" ] || flunk "$CL_BIN/$p missing"
	done
	SD_PIDS=""
	HSM_PID=""
	ARCH=$BATS_TEST_TMPDIR/arch
	mkdir -p "$ARCH"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		[ -f "${C:-/nonexistent}/n1/clhsm.log" ] && {
			echo "--- clhsm.log"
			tail -40 "$C/n1/clhsm.log"
		}
	}
	[ -n "$HSM_PID" ] && kill -9 "$HSM_PID" 2>/dev/null
	[ -n "$HSM_PID" ] && wait "$HSM_PID" 2>/dev/null
	local p
	for p in $SD_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	down
}

sessiond() {
	"$CL_BIN/clsessiond" -d -f "$(conf "$1")" \
	    >>"$C/n$1/clsessiond.log" 2>&1 3>&- &
	SD_PIDS="$SD_PIDS $!"
	wait_for 5000 test -S "$C/n$1/run/clsessiond.sock"
}

# hsmcluster [SIZE]: 3 nodes, fs1 of SIZE (default 64M), clsessiond on
# every node, a session manager chosen.
hsmcluster() {
	cluster_dir
	"$CLUSTERCTL" up "$C" 3 --fs "fs1:${1:-64M}"
	sessiond 1
	sessiond 2
	sessiond 3
	wait_for 10000 grep -q "session manager" "$C/n1/clsessiond.log" \
	    "$C/n2/clsessiond.log" "$C/n3/clsessiond.log"
}

# served N: clhsm's log says "serving" more than N times.
served() {
	[ "$(grep -c "serving fs1" "$C/n1/clhsm.log" 2>/dev/null)" -gt "$1" ]
}

# hsm_start [ARGS]: clhsm run on node 1 (fs1, $ARCH), until it serves.
hsm_start() {
	local mark=0
	[ -f "$C/n1/clhsm.log" ] && mark=$(grep -c "serving fs1" \
	    "$C/n1/clhsm.log")
	"$HSM" -d -f "$(conf 1)" run --fs fs1 --archive "$ARCH" "$@" \
	    </dev/null >>"$C/n1/clhsm.log" 2>&1 3>&- &
	HSM_PID=$!
	wait_for 10000 served "$mark" || flunk "clhsm did not start"
}

# gone PID: exited (a zombie counts: bats reaps it at wait).
gone() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" \
	    2>/dev/null)" = Z ]
}

# hsm_stop [SIG]: signal clhsm (default TERM) and wait until it is gone.
hsm_stop() {
	kill -"${1:-TERM}" "$HSM_PID" 2>/dev/null || true
	wait_for 10000 gone "$HSM_PID" || flunk "clhsm $HSM_PID did not end"
	wait "$HSM_PID" 2>/dev/null || true
	HSM_PID=""
}

hsm() {
	"$HSM" -f "$(conf 1)" "$@"
}

clfsk() {
	local k=$1
	shift
	"$CL_BIN/clfs" -f "$(conf "$k")" "$@"
}

# mkfile NAME MB: random bytes in $BATS_TEST_TMPDIR/NAME.
mkfile() {
	head -c "$(($2 * 1000 * 1000 + 4321))" /dev/urandom \
	    >"$BATS_TEST_TMPDIR/$1"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# same K NAME: clfs get fs1:/NAME on node K is the file put.
same() {
	rm -f "$BATS_TEST_TMPDIR/got"
	clfsk "$1" get "fs1:/$2" "$BATS_TEST_TMPDIR/got" ||
	    flunk "get $2 on node $1 failed"
	[ "$(sha "$BATS_TEST_TMPDIR/got")" = \
	    "$(sha "$BATS_TEST_TMPDIR/$2")" ] ||
	    flunk "$2 on node $1: different bytes"
}

# blocks NAME: the file's allocated blocks (clfs stat).
blocks() {
	field "$(clfsk 2 stat "fs1:/$1")" blocks
}

# state NAME: its state= in clhsm status, empty if not in the archive.
state() {
	hsm status fs1 | awk -v p="/$1" '{ s = $0; sub(/.* path=/, "", s)
	    if (s == p) for (i = 1; i <= NF; i++) if ($i ~ /^state=/) {
	    sub(/^state=/, "", $i); print $i } }'
}

# used_pct: blocks in use, percent, rounded up (clfs df use%=).
used_pct() {
	field "$(clfsk 1 df fs1 | head -1)" "use%"
}

# under PCT: fewer than PCT percent of the blocks in use, exactly (as
# clhsm counts; df's use% rounds up).
under() {
	local l
	l=$(clfsk 1 df fs1 | head -1)
	[ $(($(field "$l" used) * 100)) -lt $(($1 * $(field "$l" size))) ]
}

@test "hsm: migrate and recall by hand; status is one awk-able line per file" {
	hsmcluster
	hsm_start
	mkfile a 3
	mkfile b 2
	clfsk 2 put "$BATS_TEST_TMPDIR/a" fs1:/a
	clfsk 2 put "$BATS_TEST_TMPDIR/b" fs1:/b
	[ "$(blocks a)" -gt 0 ]
	run hsm migrate fs1:/a fs1:/b
	[ "$status" -eq 0 ] || flunk "$output"
	[ "$(blocks a)" -eq 0 ] || flunk "a still has $(blocks a) blocks"
	[ "$(state a)" = migrated ]
	[ "$(state b)" = migrated ]
	# One line per file, key=value words, the path last.
	run hsm status
	[ "${#lines[@]}" -eq 2 ] || flunk "$output"
	[ "$(hsm status | awk '{ print $1, $4 }' | sort -u)" = \
	    "fs=fs1 state=migrated" ] || flunk "$(hsm status)"
	sum=$(sha "$BATS_TEST_TMPDIR/a")
	hsm status | grep -q " sha256=$sum path=/a\$" || flunk "$(hsm status)"
	st=$(clfsk 2 stat fs1:/a)
	[ -f "$ARCH/data/$(field "$st" ino).$(field "$st" gen)" ]
	# The size stays; a read on node 3 recalls (seed 000 claim 1).
	[ "$(field "$(clfsk 3 stat fs1:/a)" size)" -eq 3004321 ]
	mtime=$(field "$(clfsk 3 stat fs1:/a)" mtime)
	same 3 a
	[ -z "$(state a)" ] || flunk "a still $(state a)"
	[ "$(blocks a)" -gt 0 ]
	[ "$(field "$(clfsk 3 stat fs1:/a)" mtime)" = "$mtime" ]
	# By hand.
	run hsm recall fs1:/b
	[ "$status" -eq 0 ] || flunk "$output"
	[ -z "$(state b)" ]
	[ "$(blocks b)" -gt 0 ]
	same 2 b
	[ -z "$(ls "$ARCH/data")" ] || flunk "archive: $(ls "$ARCH/data")"
	# Again is nothing to do.
	run hsm recall fs1:/b
	[ "$status" -eq 0 ]
	run hsm -v recall fs1:/b
	[[ "$output" == *"not migrated"* ]] || flunk "$output"
	grep -q "/a: recalled" "$C/n1/clhsm.log"
}

# seed000 claims 13, 30: a data migration application frees space.
@test "hsm: over --high, LRU files migrate until under --low; gets recall" {
	# Big enough that the blocks clmetad preallocates for the puts in
	# flight (given back when their leases end) do not fill it.
	hsmcluster 256M
	# A round every 5 s: the puts are usually all in before one begins.
	hsm_start --high 60 --low 40 --interval 5000
	for i in $(seq 1 44); do
		mkfile "f$i" 4
		clfsk 2 put "$BATS_TEST_TMPDIR/f$i" "fs1:/f$i" ||
		    flunk "put f$i: $(used_pct)% used"
	done
	early=$(grep -c "migrating least recently used files" \
	    "$C/n1/clhsm.log" || true)
	wait_for 20000 grep -q "under 40%" "$C/n1/clhsm.log" ||
	    flunk "no round ended under 40%: $(used_pct)% used"
	# Puts after a round began may leave it between low and high.
	if [ "$early" -eq 0 ]; then
		wait_for 20000 under 40 || flunk "still $(used_pct)% used"
	else
		wait_for 20000 under 60 || flunk "still $(used_pct)% used"
	fi
	# Oldest first: f1 went, f44 (the newest) stayed.
	[ "$(state f1)" = migrated ] || flunk "f1: $(state f1)"
	[ -z "$(state f44)" ] || flunk "f44: $(state f44)"
	n=$(hsm status | wc -l)
	[ "$n" -ge 3 ] && [ "$n" -le 43 ] || flunk "$n files migrated"
	same 3 f1
	same 2 f2
	same 3 f44
	[ -z "$(state f1)" ] && [ -z "$(state f2)" ]
	[ "$(hsm status | wc -l)" -eq $((n - 2)) ]
}

@test "hsm: a nospace event migrates files (seed000 claim 13)" {
	hsmcluster 48M
	# No watermark round: only the event can start one.
	hsm_start --high 100 --low 50 --interval 3600000
	for i in $(seq 1 20); do
		mkfile "g$i" 4
		clfsk 2 put "$BATS_TEST_TMPDIR/g$i" "fs1:/g$i" 2>/dev/null ||
		    break
	done
	[ "$i" -lt 20 ] || flunk "never out of space"
	wait_for 10000 grep -q "nospace event" "$C/n1/clhsm.log" ||
	    flunk "no nospace event"
	wait_for 20000 under 50 || flunk "still $(used_pct)% used"
	# Now it fits.
	clfsk 2 put "$BATS_TEST_TMPDIR/g$i" "fs1:/g$i"
	same 3 g1
	same 3 "g$i"
}

@test "hsm: kill -9 at every crash point: every file reads back the same" {
	# Room for a blocked read to outlive a crash and a restart.
	export CL_EXTRA_CONF="event_timeout_ms = 20000"
	hsmcluster 128M
	hsm_start
	for p in copy put region punch; do
		mkfile "m$p" 5
		clfsk 2 put "$BATS_TEST_TMPDIR/m$p" "fs1:/m$p"
		hsm_stop
		export CLHSM_TEST_CRASH=$p
		hsm_start
		unset CLHSM_TEST_CRASH
		run hsm migrate "fs1:/m$p"
		[ "$status" -eq 1 ] || flunk "$p: migrate: $output"
		wait_for 10000 grep -q "CLHSM_TEST_CRASH=$p: killed" \
		    "$C/n1/clhsm.log" || flunk "$p: not killed"
		hsm_stop KILL
		hsm_start
		same 3 "m$p"
	done
	# Set region: the migration was finished at start-up.
	grep -q "/mput: unfinished migration undone" "$C/n1/clhsm.log"
	grep -q "/mregion: unfinished migration finished" "$C/n1/clhsm.log"
	grep -q "/mpunch: unfinished migration finished" "$C/n1/clhsm.log"
	[ -z "$(ls "$ARCH/tmp")" ]
	for p in write clear; do
		mkfile "r$p" 5
		clfsk 2 put "$BATS_TEST_TMPDIR/r$p" "fs1:/r$p"
		run hsm migrate "fs1:/r$p"
		[ "$status" -eq 0 ] || flunk "$output"
		hsm_stop
		export CLHSM_TEST_CRASH=$p
		hsm_start
		unset CLHSM_TEST_CRASH
		# The read waits for the event's answer across the crash.
		OUT=$BATS_TEST_TMPDIR/get.out
		bg clfsk 3 get "fs1:/r$p" "$BATS_TEST_TMPDIR/rgot"
		get=$LAST_PID
		wait_for 10000 grep -q "CLHSM_TEST_CRASH=$p: killed" \
		    "$C/n1/clhsm.log" || flunk "$p: not killed"
		hsm_stop KILL
		kill -0 "$get" 2>/dev/null || flunk "get ended: $(cat "$OUT")"
		hsm_start
		wait "$get" || flunk "$p: get: $(cat "$OUT")"
		[ "$(sha "$BATS_TEST_TMPDIR/rgot")" = \
		    "$(sha "$BATS_TEST_TMPDIR/r$p")" ] || flunk "$p: different"
	done
	# A real kill -9 in the middle of a copy.
	mkfile big 60
	clfsk 2 put "$BATS_TEST_TMPDIR/big" fs1:/big
	OUT=$BATS_TEST_TMPDIR/mig.out
	bg hsm migrate fs1:/big
	wait_for 10000 sh -c "ls '$ARCH/tmp' | grep -q ." || flunk "no copy"
	hsm_stop KILL
	hsm_start
	for f in mcopy mput mregion mpunch rwrite rclear big; do
		same 2 "$f"
	done
	[ -z "$(ls "$ARCH/tmp")" ]
}

# A read of the file being migrated waits for the right, then recalls.
@test "hsm: events are served while a big file migrates" {
	hsmcluster 512M
	hsm_start
	mkfile small 1
	mkfile big 200
	clfsk 2 put "$BATS_TEST_TMPDIR/small" fs1:/small
	clfsk 2 put "$BATS_TEST_TMPDIR/big" fs1:/big
	hsm migrate fs1:/small
	OUT=$BATS_TEST_TMPDIR/mig.out
	bg hsm migrate fs1:/big
	mig=$LAST_PID
	wait_for 10000 sh -c "ls '$ARCH/tmp' | grep -q ." || flunk "no copy"
	# A recall between two chunks of the copy (seed000: never starved).
	same 3 small
	kill -0 "$mig" 2>/dev/null || flunk "big done before small came back"
	# The user's read of big waits for the right, then recalls it.
	same 2 big
	wait "$mig" || flunk "migrate big: $(cat "$OUT")"
	grep -q "/big: migrated" "$C/n1/clhsm.log"
	grep -q "/big: recalled" "$C/n1/clhsm.log"
}

@test "hsm: remove, rename and truncate of migrated files" {
	hsmcluster
	hsm_start
	for f in gone moved cut; do
		mkfile "$f" 3
		clfsk 2 put "$BATS_TEST_TMPDIR/$f" "fs1:/$f"
	done
	run hsm migrate fs1:/gone fs1:/moved fs1:/cut
	[ "$status" -eq 0 ] || flunk "$output"
	st=$(clfsk 2 stat fs1:/gone)
	copy=$ARCH/data/$(field "$st" ino).$(field "$st" gen)
	[ -f "$copy" ]
	clfsk 3 rm fs1:/gone
	wait_for 10000 test ! -e "$copy" ||
	    flunk "copy of a removed file kept"
	[ -z "$(state gone)" ]
	clfsk 3 mkdir fs1:/dir
	clfsk 3 mv fs1:/moved fs1:/dir/moved
	wait_for 5000 sh -c "'$HSM' -f '$(conf 1)' status |
	    grep -q 'path=/dir/moved\$'" || flunk "$(hsm status)"
	cp "$BATS_TEST_TMPDIR/moved" "$BATS_TEST_TMPDIR/dir_moved"
	rm -f "$BATS_TEST_TMPDIR/got"
	clfsk 2 get fs1:/dir/moved "$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/moved"
	# Truncated to 1 MB, then back to 2: the recall writes only the
	# first MB; the rest reads zeros.
	[ -x "$CL_BIN/test/cliocli" ] || skip "no cliocli (make units)"
	"$CL_BIN/test/cliocli" -f "$(conf 3)" truncate fs1:/cut 1000000
	"$CL_BIN/test/cliocli" -f "$(conf 3)" truncate fs1:/cut 2000000
	hsm status | grep -q " valid=1000000 .*path=/cut\$" ||
	    flunk "$(hsm status)"
	rm -f "$BATS_TEST_TMPDIR/got"
	clfsk 2 get fs1:/cut "$BATS_TEST_TMPDIR/got"
	{ head -c 1000000 "$BATS_TEST_TMPDIR/cut"
	    head -c 1000000 /dev/zero; } | cmp - "$BATS_TEST_TMPDIR/got" ||
	    flunk "truncated file differs"
	[ -z "$(hsm status)" ] || flunk "$(hsm status)"
	# A put over a migrated file (create trunc=1, then writes): the
	# first write's event finds nothing to write back, the copy goes.
	mkfile over 2
	clfsk 2 put "$BATS_TEST_TMPDIR/over" fs1:/over
	hsm migrate fs1:/over
	[ "$(state over)" = migrated ]
	mkfile over 1
	clfsk 3 put "$BATS_TEST_TMPDIR/over" fs1:/over
	same 2 over
	[ -z "$(hsm status)" ] || flunk "$(hsm status)"
}

@test "hsm: a remove no event told of: the next round's walk drops the copy" {
	hsmcluster
	hsm_start
	mkfile late 1
	mkfile kept 1
	clfsk 2 put "$BATS_TEST_TMPDIR/late" fs1:/late
	clfsk 2 put "$BATS_TEST_TMPDIR/kept" fs1:/kept
	st=$(clfsk 2 stat fs1:/late)
	copy=$ARCH/data/$(field "$st" ino).$(field "$st" gen)
	hsm migrate fs1:/late fs1:/kept
	[ -f "$copy" ]
	# clhsm and node 1's clsessiond down: the remove event is lost.
	hsm_stop
	kill -9 "$(echo $SD_PIDS | cut -d' ' -f1)"
	clfsk 3 rm fs1:/late
	sessiond 1
	mkfile young 2
	clfsk 2 put "$BATS_TEST_TMPDIR/young" fs1:/young
	# A round that migrates nothing (all too young) still walks.
	hsm_start --high 1 --low 0 --min-age 100000 --interval 200
	wait_for 15000 test ! -e "$copy" || flunk "copy kept: $(hsm status)"
	[ -z "$(state late)" ]
	[ "$(state kept)" = migrated ]
	grep -q "/late: removed; its archive copy goes" "$C/n1/clhsm.log"
	same 3 kept
}

# The session outlives clhsm while files are migrated (XDSM).
@test "hsm: SIGTERM keeps the session for migrated files, else destroys it" {
	hsmcluster
	hsm_start
	mkfile s 1
	clfsk 2 put "$BATS_TEST_TMPDIR/s" fs1:/s
	hsm migrate fs1:/s
	id=$("$CLS" -f "$(conf 1)" list | awk '/ name=clhsm.fs1 / {
	    sub(/id=/, "", $1); print $1 }')
	[ -n "$id" ]
	hsm_stop
	grep -q "session $id kept for 1 migrated files" "$C/n1/clhsm.log"
	"$CLS" -f "$(conf 2)" disp ls | grep -q "event=read .*session=$id "
	# Nobody serves the session: a read waits, then the restarted
	# clhsm takes the session back and recalls.
	OUT=$BATS_TEST_TMPDIR/get.out
	bg clfsk 3 get fs1:/s "$BATS_TEST_TMPDIR/got"
	get=$LAST_PID
	sleep 1
	kill -0 "$get" || flunk "the read did not wait: $(cat "$OUT")"
	hsm_start
	grep -q "serving fs1: session $id," "$C/n1/clhsm.log"
	wait "$get"
	cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/s"
	hsm_stop
	grep -q "session $id destroyed" "$C/n1/clhsm.log"
	! "$CLS" -f "$(conf 1)" list | grep -q "name=clhsm.fs1 " ||
	    flunk "session left"
	[ -z "$("$CLS" -f "$(conf 1)" disp ls)" ]
	# The index, read with no clhsm running.
	run hsm status --archive "$ARCH" fs1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "hsm: bad input gives clear errors and a non-zero exit" {
	hsmcluster
	run hsm run --fs nofs --archive "$ARCH"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no file system nofs"* ]] || flunk "$output"
	run hsm run --fs fs1 --archive "$BATS_TEST_TMPDIR/nothere"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nothere: No such file or directory"* ]] ||
	    flunk "$output"
	run hsm run --fs fs1 --archive "$ARCH" --high 50 --low 60
	[ "$status" -eq 2 ]
	[[ "$output" == *"--low 60 must be under --high 50"* ]] ||
	    flunk "$output"
	run hsm run --fs fs1
	[ "$status" -eq 2 ]
	run hsm bogus
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command bogus"* ]] || flunk "$output"
	run hsm migrate fs1:/x
	[ "$status" -eq 1 ]
	[[ "$output" == *"no clhsm run serves fs1 on this node"* ]] ||
	    flunk "$output"
	run hsm migrate nocolon
	[ "$status" -eq 2 ]
	[[ "$output" == *"not FS:/path"* ]] || flunk "$output"
	run hsm migrate nofs:/x
	[ "$status" -eq 1 ]
	[[ "$output" == *"no file system nofs"* ]] || flunk "$output"
	hsm_start
	# One clhsm per file system and node (and per archive).
	run hsm run --fs fs1 --archive "$ARCH"
	[ "$status" -eq 1 ]
	[[ "$output" == *"another clhsm run serves fs1"* ]] || flunk "$output"
	clfsk 2 mkdir fs1:/dir
	run hsm migrate fs1:/dir
	[ "$status" -eq 1 ]
	[[ "$output" == *"fs1:/dir: not a regular file"* ]] || flunk "$output"
	run hsm migrate fs1:/missing
	[ "$status" -eq 1 ]
	[[ "$output" == *"fs1:/missing"*"No such file"* ]] || flunk "$output"
	run hsm recall fs1:/dir
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a regular file"* ]] || flunk "$output"
	# Another archive for the same file system: refused.
	mkdir "$BATS_TEST_TMPDIR/arch2"
	run hsm run --fs fs1 --archive "$BATS_TEST_TMPDIR/arch2"
	[ "$status" -eq 1 ]
	[[ "$output" == *"another clhsm run serves fs1"* ]] || flunk "$output"
	run hsm status --archive "$BATS_TEST_TMPDIR/arch2" fs1
	[ "$status" -eq 1 ]
	[[ "$output" == *"no clhsm index"* ]] || flunk "$output"
	kill -0 "$HSM_PID"
}
