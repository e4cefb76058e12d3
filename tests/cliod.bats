#!/usr/bin/env bats
#
# cliod(8), the data-transfer server (issue 5; seed 002,
# seeds/002_ecb500791a584f88.txt).  seed002#N names behaviour N of
# seed-notes/002.md section 5 that a test covers.
#
# Requests go to a node's cliod.sock with tests/lib/cliocli.c
# (bin/test/cliocli, `make units`); clmetad runs on node 1.

setup() {
	load lib/common
	CLIOCLI=$CL_BIN/test/cliocli
	[ -x "$CLIOCLI" ] || flunk "$CLIOCLI missing: make units"
	[ -x "$CL_BIN/cliod" ] || flunk "$CL_BIN/cliod missing"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		local f
		for f in "${C:-/nonexistent}"/n*/cliod.log \
		    "${C:-/nonexistent}"/n*/clmetad.log; do
			[ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
		done
	}
	down
}

# fscluster N [SIZE]: N nodes, file system fs1, served.
fscluster() {
	cluster_dir
	"$CLUSTERCTL" up "$C" "$1" --fs "fs1:${2:-256M}"
	"$CLUSTERCTL" fswait "$C" 30000
}

# io K ARGS...: cliocli against node K's cliod.
io() {
	local k=$1
	shift
	"$CLIOCLI" -f "$(conf "$k")" "$@"
}

# stat_of K FS KEY: one key of node K's status for FS.
stat_of() {
	io "$1" status "$2" | sed -n "s/^$3=//p"
}

# bytes N CHAR: N copies of CHAR.
bytes() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

@test "cliod: a write is answered with the size once durable, reads back, and a read stops at the end of the file" {
	fscluster 1
	io 1 create fs1:/a >/dev/null
	run io 1 pwrite fs1:/a 0 hello
	[ "$status" -eq 0 ]
	[ "$output" = "size=5" ]
	run io 1 pread fs1:/a 0 100
	[ "$output" = "hello" ]
	run io 1 pread fs1:/a 3 100
	[ "$output" = "lo" ]
	[ "$(io 1 pread fs1:/a 5 100 | wc -c)" -eq 0 ]
	# 3 MiB in 1 MiB requests, 16 in flight, then read back.
	io 1 fill fs1:/a 0 3145728 65 >/dev/null
	[ "$(io 1 pread fs1:/a 0 4194304 | md5sum)" = \
	    "$(bytes 3145728 A | md5sum)" ]
	[ "$(stat_of 1 fs1 errors)" -eq 0 ]
}

@test "seed002#7: a 1-byte write into a new block reads back as that byte, zeros before and after it" {
	fscluster 1
	io 1 create fs1:/z >/dev/null
	io 1 pwrite fs1:/z 100 Z >/dev/null
	io 1 truncate fs1:/z 8192 >/dev/null
	[ "$(io 1 pread fs1:/z 0 8192 | md5sum)" = \
	    "$( (bytes 100 '\0'; printf Z; bytes 8091 '\0') | md5sum)" ]
}

@test "seed002#7: a partial write into blocks of a deleted file never shows the old data" {
	fscluster 1 64M
	# Fill most of the data area with 0xAB, then free it.
	io 1 create fs1:/old >/dev/null
	io 1 fill fs1:/old 0 33554432 171 >/dev/null
	io 1 unlink fs1:/old >/dev/null
	# The write lease goes back when the file is idle, then clmetad
	# frees the blocks (lease_ms 1000 in clusterctl).
	sleep 3
	io 1 create fs1:/new >/dev/null
	io 1 pwrite fs1:/new 100 Z >/dev/null
	io 1 truncate fs1:/new 4096 >/dev/null
	[ "$(io 1 pread fs1:/new 0 4096 | tr -d '\0')" = Z ]
	# The block is one of the old file's: its neighbour still has 0xAB.
	run python3 - "$C/fs1.vol" <<-'EOF'
	import sys
	d = open(sys.argv[1], 'rb').read()
	i = d.find(b'\0' * 100 + b'Z')
	while i != -1 and i % 4096:
	    i = d.find(b'\0' * 100 + b'Z', i + 1)
	print("zeroed" if d[i + 101:i + 4096] == bytes(3995) else "dirty",
	    "reused" if b'\xab' in d[i - 4096:i] + d[i + 4096:i + 8192]
	    else "fresh")
	EOF
	[ "$output" = "zeroed reused" ]
}

@test "seed002#8: sequential writes and reads reuse the cached block list (map calls in status)" {
	fscluster 1
	io 1 create fs1:/m >/dev/null
	maps0=$(stat_of 1 fs1 maps)
	io 1 fill fs1:/m 0 16777216 77 1 >/dev/null
	maps1=$(stat_of 1 fs1 maps)
	# Sixteen 1 MiB writes: a map at 0, 1, 2, 4 and 8 MiB, each as far
	# ahead as the file reaches (at most 8 MiB); the other eleven writes
	# find their blocks in the cached list.
	[ $((maps1 - maps0)) -eq 5 ]
	[ "$(stat_of 1 fs1 map_hits)" -ge 11 ]
	io 1 pread fs1:/m 0 16777216 >/dev/null
	io 1 pread fs1:/m 0 16777216 >/dev/null
	maps2=$(stat_of 1 fs1 maps)
	# The write lease's list serves the reads too.
	[ $((maps2 - maps1)) -le 1 ]
}

@test "cliod: clients cannot send map, commit or release, and the uid they send is replaced by their own" {
	fscluster 1
	run io 1 raw map fs=fs1 ino=1 gen=1 off=0 count=4096 write=1
	[ "$status" -eq 1 ]
	[[ "$output" == *"status=EPERM"* ]]
	run io 1 raw commit fs=fs1 ino=1 gen=1 lease=1 size=0
	[[ "$output" == *"status=EPERM"* ]]
	run io 1 raw create fs=fs1 path=/u mode=0644 uid=4242 gid=4242
	[ "$status" -eq 0 ]
	[[ "$output" == *"uid=$(id -u)"* ]]
	[[ "$output" == *"gid=$(id -g)"* ]]
	run io 1 raw frob fs=fs1
	[[ "$output" == *"status=ENOSYS"* ]]
}

@test "cliod: a node without the volume reads and writes through another node's cliod" {
	fscluster 3
	"$CLUSTERCTL" daemon "$C" 3 cliod kill TERM
	sed -i 's|^\(node 3 { address = "[^"]*"\) }$|\1\n\tvolume fs1 { path = "" } }|' \
	    "$(conf 3)"
	grep -q 'path = ""' "$(conf 3)"
	"$CLUSTERCTL" daemon "$C" 3 cliod start
	io 3 create fs1:/r >/dev/null
	io 3 fill fs1:/r 0 3000000 66 >/dev/null
	run io 3 pwrite fs1:/r 3000000 end
	[ "$output" = "size=3000003" ]
	[ "$(io 3 pread fs1:/r 0 4000000 | md5sum)" = \
	    "$( (bytes 3000000 B; printf end) | md5sum)" ]
	# And node 1, which has the volume, sees the same bytes.
	[ "$(io 1 pread fs1:/r 0 4000000 | md5sum)" = \
	    "$( (bytes 3000000 B; printf end) | md5sum)" ]
	[ "$(stat_of 3 fs1 local)" -eq 0 ]
	[ "$(stat_of 3 fs1 remote)" -gt 0 ]
	[ "$(stat_of 3 fs1 errors)" -eq 0 ]
}

@test "cliod: kill -9 during a big write: the client gets an error, fsck is clean, what was acknowledged reads back" {
	fscluster 1 1G
	io 1 create fs1:/k >/dev/null
	OUT=$BATS_TEST_TMPDIR/fill.out
	bg "$CLIOCLI" -f "$(conf 1)" fill fs1:/k 0 536870912 75
	# Kill it in the middle: some writes answered, more in flight.
	wait_for 20000 sh -c "[ \$(\"$CLIOCLI\" -f $(conf 1) status fs1 |
	    sed -n 's/^write_bytes=//p') -ge 16777216 ]"
	"$CLUSTERCTL" daemon "$C" 1 cliod kill KILL
	rc=0
	wait "$LAST_PID" || rc=$?
	cat "$OUT"
	[ "$rc" -ne 0 ]
	grep -q "cliod closed the connection\|receive\|send" "$OUT"
	"$CLUSTERCTL" daemon "$C" 1 cliod start
	size=$(io 1 raw stat fs=fs1 path=/k | sed -n 's/^size=//p')
	[ "$size" -ge 16777216 ]
	[ "$size" -lt 536870912 ]
	# Only committed bytes count: every one of them is a K.
	[ "$(io 1 pread fs1:/k 0 "$size" | tr -d K | wc -c)" -eq 0 ]
	# The dead cliod's write lease runs out (lease_ms 1000), and clmetad
	# trims what it had mapped ahead past the end of the file.
	wait_for 10000 "$CL_BIN/clfs" -f "$(conf 1)" fsck fs1 ||
	    "$CL_BIN/clfs" -f "$(conf 1)" fsck fs1
}

@test "cliod: status reports utilization; SIGTERM exits 0" {
	fscluster 1
	run io 1 status
	[ "$status" -eq 0 ]
	for k in node inflight queue calls clients read_bps write_bps reads \
	    writes read_bytes write_bytes maps map_hits commits fsyncs; do
		grep -q "^$k=" <<<"$output" || flunk "no $k= in status"
	done
	run io 1 status nosuchfs
	[[ "$output" == *"status=ENOENT"* ]]
	pid=$("$CLUSTERCTL" daemon "$C" 1 cliod pid)
	kill -TERM "$pid"
	wait_for 5000 sh -c "! kill -0 $pid 2>/dev/null"
	grep -q "terminating" "$C/n1/cliod.log"
}
