#!/usr/bin/env bats
#
# A damaged volume under a running cluster (issue 5, bad input): a
# superblock that is not ours, a bitmap that says a file's blocks are
# free, an inode that fails its checksum.  clmetad must refuse to serve
# it with a message naming the volume and what is wrong, exit 1 (never a
# crash), and serve again once `clfs fsck -y` has repaired it; cliod must
# refuse a volume whose superblock is not ours.  Offsets come from the
# superblock (cl-vol(5)): itable_start at byte 72, bitmap_start at 56.

setup() {
	load lib/common
	up 3 --fs fs1:64M
	V=$C/fs1.vol
	SRC=$BATS_TEST_TMPDIR/src
	head -c 200000 /dev/urandom >"$SRC"
	clfs 2 put "$SRC" fs1:/keep
	clfs 2 put "$SRC" fs1:/victim
	INO=$(clfs 1 stat fs1:/victim | sed -n 's/.*ino=\([0-9]*\).*/\1/p')
	"$CLUSTERCTL" daemon "$C" 1 clmetad kill TERM
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_logs
	down
}

clfs() {
	local k=$1
	shift
	"$CL_BIN/clfs" -f "$(conf "$k")" "$@"
}

sbfield() {
	od -An -tu8 -j "$1" -N 8 "$V" | tr -d ' '
}

poke() {
	printf "$2" | dd of="$V" bs=1 seek="$1" conv=notrunc status=none
}

# clmetad in the foreground on node 1: it must refuse, not serve.
refused() {
	run timeout 30 "$CL_BIN/clmetad" -d -f "$(conf 1)" -F fs1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$1"* ]]
}

# After a repair: clmetad serves again and the kept file is intact.
serves_again() {
	"$CLUSTERCTL" daemon "$C" 1 clmetad start
	"$CLUSTERCTL" fswait "$C"
	clfs 3 get fs1:/keep - | cmp - "$SRC"
}

@test "fs-corrupt: a superblock that is not ours: clmetad refuses with a message, exit 1, no crash" {
	cp "$V" "$BATS_TEST_TMPDIR/good"
	poke 0 'XXXXXXXX'
	refused "fs1.vol"
	# fsck cannot repair a superblock; the volume back, it serves.
	run clfs 1 fsck fs1
	echo "$output"
	[ "$status" -eq 8 ]
	dd if="$BATS_TEST_TMPDIR/good" of="$V" bs=512 count=1 conv=notrunc \
	    status=none
	serves_again
}

@test "fs-corrupt: a bitmap that frees a file's blocks: clmetad refuses (it would hand them out again), fsck -y repairs, it serves" {
	local bm data
	bm=$(sbfield 56)
	data=$(sbfield 104)
	# Every data block of the first 2048 marked free.
	dd if=/dev/zero of="$V" bs=1 seek=$((bm * 4096 + (data + 7) / 8)) \
	    count=256 conv=notrunc status=none
	refused "free in the bitmap"
	[[ "$output" == *"clfs fsck -y fs1"* ]]
	run clfs 1 fsck -y fs1
	echo "$output"
	[ "$status" -eq 1 ]
	serves_again
	clfs 3 get fs1:/victim - | cmp - "$SRC"
}

@test "fs-corrupt: an inode that fails its checksum: clmetad refuses naming it, fsck -y clears it, the rest serves" {
	local ino=$INO it
	[ -n "$ino" ]
	it=$(sbfield 72)
	poke $((it * 4096 + (ino - 1) * 256 + 20)) 'garbage'
	refused "inode $ino"
	run clfs 1 fsck -y fs1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"inode $ino"* ]]
	serves_again
	run clfs 3 cat fs1:/victim
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such file or directory"* ]]
	run clfs 1 fsck fs1
	echo "$output"
	[ "$status" -eq 0 ]
}
