#!/usr/bin/env bats
#
# clmetad(8), the administrative server of a file system (issue 5; seed
# 002, seeds/002_ecb500791a584f88.txt).  seed002#N names behaviour N of
# seed-notes/002.md section 5 that a test covers.
#
# Requests go straight to clmetad.fs1 through clmemberd's router with
# tests/lib/fsreq.c (bin/test/fsreq, `make units`), which sets uid= and
# gid= as cliod would; no cliod is involved in what is checked here.

setup() {
	load lib/common
	FSREQ=$CL_BIN/test/fsreq
	[ -x "$FSREQ" ] || flunk "$FSREQ missing: make units"
	[ -x "$CL_BIN/clmetad" ] || flunk "$CL_BIN/clmetad missing"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		local f
		for f in "${C:-/nonexistent}"/n*/clmetad*.log; do
			[ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
		done
	}
	for p in ${META_PIDS:-}; do
		kill -9 "$p" 2>/dev/null
	done
	down
}

# fscluster N [SIZE]: N nodes, file system fs1 on a volume of SIZE.
fscluster() {
	cluster_dir
	"$CLUSTERCTL" up "$C" "$1" --fs "fs1:${2:-64M}"
}

# req K ARGS...: a request from node K to clmetad.fs1 on node 1.
req() {
	local k=$1
	shift
	"$FSREQ" -t 5000 -f "$(conf "$k")" 1.clmetad.fs1 "$@"
}

# reqat K N ARGS...: the same to clmetad.fs1 on node N.
reqat() {
	local k=$1 n=$2
	shift 2
	"$FSREQ" -t 5000 -f "$(conf "$k")" "$n.clmetad.fs1" "$@"
}

# status_of OUTPUT: the status= of an error answer.
status_is() {
	[[ "$output" == "error status=$1 "* ]] ||
	    flunk "want status=$1, got: $output"
}

key() {
	sed -n "1s/.* $1=\([^ ]*\).*/\1/p" <<<"$output"
}

# wait_log FILE PATTERN [TENTHS]: until FILE has a line matching PATTERN.
wait_log() {
	local i
	for i in $(seq 1 "${3:-100}"); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

@test "clmetad: namespace ops and their POSIX errors (seed002#10)" {
	fscluster 3
	run req 2 stat path=/nope uid=0 gid=0
	[ "$status" -eq 1 ]; status_is ENOENT
	run req 2 mkdir path=/d mode=0755 uid=0 gid=0
	[ "$status" -eq 0 ]; [[ "$output" == *" type=d "* ]]
	run req 2 create path=/d/f mode=0644 uid=0 gid=0
	[ "$status" -eq 0 ]; [[ "$output" == *" type=f mode=0644 "* ]]
	run req 2 create path=/d/f excl=1 uid=0 gid=0
	status_is EEXIST
	run req 2 create path=/d uid=0 gid=0
	status_is EISDIR
	run req 2 mkdir path=/d/f/x uid=0 gid=0
	status_is ENOTDIR
	run req 2 rmdir path=/d uid=0 gid=0
	status_is ENOTEMPTY
	run req 2 rmdir path=/d/f uid=0 gid=0
	status_is ENOTDIR
	run req 2 unlink path=/d uid=0 gid=0
	status_is EISDIR
	run req 2 rename path=/d newpath=/d/sub uid=0 gid=0
	status_is EINVAL
	run req 2 create path=/$(printf 'n%.0s' $(seq 1 251)) uid=0 gid=0
	status_is ENAMETOOLONG
	run req 2 rename path=/d/f newpath=/d/g uid=0 gid=0
	[ "$status" -eq 0 ]
	run req 2 readdir path=/d uid=0 gid=0
	[ "$status" -eq 0 ]
	[[ "$output" == *"eof=1"* ]]
	[[ "$output" == *$'g\t'*$'\tf'* ]]
	# Rename over an existing file replaces it; over a non-empty dir not.
	req 2 create path=/d/h uid=0 gid=0
	run req 2 rename path=/d/h newpath=/d/g uid=0 gid=0
	[ "$status" -eq 0 ]
	req 2 mkdir path=/e uid=0 gid=0
	req 2 create path=/e/x uid=0 gid=0
	req 2 mkdir path=/m uid=0 gid=0
	run req 2 rename path=/m newpath=/e uid=0 gid=0
	status_is ENOTEMPTY
	run req 2 setattr path=/d/g size=12345 uid=0 gid=0
	[ "$status" -eq 0 ]; [[ "$output" == *" size=12345 "* ]]
	run req 2 unlink path=/d/g uid=0 gid=0
	[ "$status" -eq 0 ]
	run req 2 rmdir path=/d uid=0 gid=0
	[ "$status" -eq 0 ]
	run req 2 statfs
	[ "$status" -eq 0 ]
	[[ "$output" == *" epoch=1 admin=1 label=fs1"* ]]
	"$CL_BIN/clfs" -f "$(conf 1)" fsck fs1
}

@test "clmetad: access checks with the caller's uid and gid (seed002#4)" {
	fscluster 2
	req 2 mkdir path=/root mode=0700 uid=0 gid=0
	req 2 mkdir path=/pub mode=0777 uid=0 gid=0
	run req 2 create path=/root/x uid=1000 gid=1000
	status_is EACCES
	run req 2 stat path=/root/x uid=1000 gid=1000
	status_is EACCES
	run req 2 readdir path=/root uid=1000 gid=1000
	status_is EACCES
	run req 2 create path=/pub/mine mode=0600 uid=1000 gid=1000
	[ "$status" -eq 0 ]; [[ "$output" == *" uid=1000 gid=1000 "* ]]
	ino=$(key ino); gen=$(key gen)
	run req 2 map ino="$ino" gen="$gen" off=0 count=4096 uid=1001 gid=1001
	status_is EACCES
	run req 2 map ino="$ino" gen="$gen" off=0 count=4096 write=1 \
	    uid=1001 gid=1000 groups=1000
	status_is EACCES
	run req 2 setattr path=/pub/mine mode=0666 uid=1001 gid=1001
	status_is EPERM
	run req 2 setattr path=/pub/mine owner=1001 uid=1000 gid=1000
	status_is EPERM
	run req 2 setattr path=/pub/mine group=5 uid=1000 gid=1000
	status_is EPERM
	run req 2 setattr path=/pub/mine group=5 uid=1000 gid=1000 groups=5
	[ "$status" -eq 0 ]; [[ "$output" == *" uid=1000 gid=5 "* ]]
	run req 2 setattr path=/pub/mine owner=1001 uid=0 gid=0
	[ "$status" -eq 0 ]; [[ "$output" == *" uid=1001 gid=5 "* ]]
	run req 2 setattr path=/pub/mine size=0 uid=1000 gid=1000
	status_is EACCES
	run req 2 setattr path=/pub/mine size=0 uid=1001 gid=1001
	[ "$status" -eq 0 ]
	# No uid= at all: nobody.
	run req 2 create path=/root/y
	status_is EACCES
}

@test "clmetad: block lists only for its own file system and live inodes (seed002#5)" {
	fscluster 2
	run req 2 statfs fs=other
	status_is ENOENT
	req 2 create path=/f uid=0 gid=0
	run req 2 stat path=/f uid=0 gid=0
	ino=$(key ino); gen=$(key gen)
	run req 2 map ino="$ino" gen=$((gen + 1)) off=0 count=1 uid=0 gid=0
	status_is ESTALE
	req 2 unlink path=/f uid=0 gid=0
	run req 2 map ino="$ino" gen="$gen" off=0 count=1 uid=0 gid=0
	status_is ESTALE
	run req 2 frobnicate uid=0
	status_is ENOSYS
}

@test "clmetad: map write allocates unwritten extents, commit marks them written (seed002#6)" {
	fscluster 2
	run req 2 create path=/f uid=0 gid=0
	ino=$(key ino); gen=$(key gen)
	run req 2 map ino="$ino" gen="$gen" off=0 count=10000 write=1 uid=0 gid=0
	[ "$status" -eq 0 ]
	[[ "$output" == *" bsize=4096"* ]]
	lease=$(key lease)
	dev=$(sed -n 's/^extent=0:12288:\([0-9]*\):unwritten$/\1/p' <<<"$output")
	[ -n "$dev" ]
	run req 2 -p "extent=0:8192:$((dev + 4096)):unwritten
" commit ino="$ino" gen="$gen" lease="$lease" size=5000 uid=0 gid=0
	status_is ESTALE
	run req 2 -p "extent=0:8192:$dev:unwritten
" commit ino="$ino" gen="$gen" lease="$lease" size=5000 uid=0 gid=0
	[ "$status" -eq 0 ]; [[ "$output" == *" size=5000 "* ]]
	run req 2 map ino="$ino" gen="$gen" off=0 count=12288 uid=0 gid=0
	[[ "$output" == *"extent=0:8192:$dev:written"* ]]
	[[ "$output" == *"extent=8192:4096:$((dev + 8192)):unwritten"* ]]
	# Another node's write map waits for the write lease.
	run req 1 map ino="$ino" gen="$gen" off=0 count=1 write=1 uid=0 gid=0
	status_is EBUSY
}

@test "clmetad: an expired write lease trims unwritten extents past EOF" {
	fscluster 2
	run req 2 create path=/f uid=0 gid=0
	ino=$(key ino); gen=$(key gen)
	run req 2 map ino="$ino" gen="$gen" off=0 count=40960 write=1 uid=0 gid=0
	lease=$(key lease)
	dev=$(sed -n 's/^extent=0:[0-9]*:\([0-9]*\):unwritten$/\1/p' <<<"$output")
	run req 2 -p "extent=0:4096:$dev:unwritten
" commit ino="$ino" gen="$gen" lease="$lease" size=100 uid=0 gid=0
	[[ "$output" == *" blocks=10 "* ]]
	sleep 2		# lease_ms is 1000
	run req 2 stat path=/f uid=0 gid=0
	[[ "$output" == *" size=100 blocks=1 "* ]]
	"$CL_BIN/clfs" -f "$(conf 1)" fsck fs1
}

@test "clmetad: readdir pages stay under the payload bound" {
	fscluster 1
	req 1 mkdir path=/d uid=0 gid=0
	name=$(printf 'x%.0s' $(seq 1 200))
	"$FSREQ" -f "$(conf 1)" -n 300 1.clmetad.fs1 create \
	    "path=/d/$name%d" uid=0 gid=0
	run req 1 readdir path=/d uid=0 gid=0
	next=$(key next)
	[ -n "$next" ]
	total=$(grep -c "^$name" <<<"$output")
	while [ -n "$next" ]; do
		run req 1 readdir path=/d cookie="$next" uid=0 gid=0
		[ "$status" -eq 0 ]
		total=$((total + $(grep -c "^$name" <<<"$output")))
		next=$(key next)
	done
	[[ "$output" == *"eof=1"* ]]
	[ "$total" -eq 300 ]
}

@test "clmetad: an acknowledged create survives kill -9 (group commit durability)" {
	fscluster 2
	"$FSREQ" -f "$(conf 2)" -n 500 -w 64 1.clmetad.fs1 create \
	    path=/f%d uid=0 gid=0
	run req 2 create path=/last uid=0 gid=0
	[ "$status" -eq 0 ]
	"$CLUSTERCTL" daemon "$C" 1 clmetad kill KILL
	"$CLUSTERCTL" daemon "$C" 1 clmetad start
	"$CLUSTERCTL" fswait "$C" 20000
	run req 2 stat path=/last uid=0 gid=0
	[ "$status" -eq 0 ]
	run req 2 stat path=/f499 uid=0 gid=0
	[ "$status" -eq 0 ]
	run req 2 statfs
	[[ "$output" == *" epoch=2 "* ]]
	"$CL_BIN/clfs" -f "$(conf 1)" fsck fs1
}

@test "clmetad: a second clmetad on the node fences the first (seed002#1)" {
	fscluster 2
	req 2 create path=/a uid=0 gid=0
	"$CL_BIN/clmetad" -d -f "$(conf 1)" -F fs1 >"$C/n1/clmetad2.log" 2>&1 &
	META_PIDS=$!
	wait_log "$C/n1/clmetad.log" "fs1: fenced: epoch 2 by node 1" 100
	wait_log "$C/n1/clmetad2.log" "serving" 100
	pid=$("$CLUSTERCTL" daemon "$C" 1 clmetad pid)
	! kill -0 "$pid" 2>/dev/null
	run req 2 stat path=/a uid=0 gid=0
	[ "$status" -eq 0 ]
	run req 2 statfs
	[[ "$output" == *" epoch=2 "* ]]
}

@test "clmetad: on another node it waits while the lock is held, then takes over (seed002#1)" {
	fscluster 2
	req 2 create path=/a uid=0 gid=0
	"$CL_BIN/clmetad" -d -f "$(conf 2)" -F fs1 >"$C/n2/clmetad.log" 2>&1 &
	META_PIDS=$!
	wait_log "$C/n2/clmetad.log" "held by node 1; waiting" 50
	sleep 1
	! grep -q "epoch" "$C/n2/clmetad.log"
	run req 2 statfs
	[[ "$output" == *" epoch=1 "* ]]
	# A clean exit releases the lock: the standby fences and serves.
	"$CLUSTERCTL" daemon "$C" 1 clmetad kill TERM
	wait_log "$C/n2/clmetad.log" "serving" 100
	run reqat 1 2 stat path=/a uid=0 gid=0
	[ "$status" -eq 0 ]
	run reqat 1 2 statfs
	[[ "$output" == *" epoch=2 admin=2 "* ]]
}

@test "clmetad: grace period of one lease before it serves" {
	fscluster 2
	"$CLUSTERCTL" daemon "$C" 1 clmetad kill TERM
	"$CLUSTERCTL" daemon "$C" 1 clmetad start
	sleep 0.5
	! grep -q "serving.*epoch 2" "$C/n1/clmetad.log"
	wait_log "$C/n1/clmetad.log" "serving.*epoch 2" 50
	grep -q "epoch 2; grace period of 1000 ms" "$C/n1/clmetad.log"
}

@test "clmetad: ENOSPC on a tiny volume leaves statfs unchanged" {
	fscluster 1 600K
	run req 1 create path=/f uid=0 gid=0
	ino=$(key ino); gen=$(key gen)
	run req 1 statfs
	before=$output
	run req 1 map ino="$ino" gen="$gen" off=0 count=$((1024 * 1024)) \
	    write=1 uid=0 gid=0
	status_is ENOSPC
	run req 1 statfs
	[ "$output" = "$before" ]
	run req 1 stat path=/f uid=0 gid=0
	[[ "$output" == *" blocks=0 "* ]]
	"$CL_BIN/clfs" -f "$(conf 1)" fsck fs1
}

@test "clmetad: SIGTERM checkpoints the journal and exits 0" {
	fscluster 1
	req 1 create path=/f uid=0 gid=0
	"$CLUSTERCTL" daemon "$C" 1 clmetad kill TERM
	grep -q "terminating" "$C/n1/clmetad.log"
	run "$CL_BIN/clfs" -f "$(conf 1)" fsck fs1
	[ "$status" -eq 0 ]
	[[ "$output" != *"not yet applied"* ]]
}

@test "clmetad: -n checks the configuration and the volume" {
	fscluster 1
	run "$CL_BIN/clmetad" -n -f "$(conf 1)" -F fs1
	[ "$status" -eq 0 ]
	run "$CL_BIN/clmetad" -n -f "$(conf 1)" -F nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"no volume nosuch"* ]]
	run "$CL_BIN/clmetad" -f "$(conf 1)"
	[ "$status" -eq 2 ]
}
