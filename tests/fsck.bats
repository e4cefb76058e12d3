#!/usr/bin/env bats
#
# clfs mkfs and clfs fsck on volume files (cl-vol(5)): a new file system
# on a sparse file, refusals (an existing file system, a volume too
# small), a clean check, and damage done with dd: a superblock that is
# not ours, a bitmap block, inodes.  fsck reports each problem on its own
# line and exits 4; -y repairs and exits 1; the next check is clean (0).

setup() {
	load lib/common
	T=$BATS_TEST_TMPDIR
	CLFS=$CL_BIN/clfs
	V=$T/vol
}

# A 64 MiB sparse volume with a file system on it.
newfs() {
	truncate -s 64M "$V"
	run "$CLFS" mkfs "$@" "$V"
	echo "$output"
	[ "$status" -eq 0 ]
}

# sbfield OFFSET: a 64-bit little-endian superblock field.
sbfield() {
	od -An -tu8 -j "$1" -N 8 "$V" | tr -d ' '
}

# poke OFFSET BYTES: overwrite bytes of the volume in place.
poke() {
	printf "$2" | dd of="$V" bs=1 seek="$1" conv=notrunc status=none
}

# Byte offset of inode INO (256 bytes each from itable_start).
inode_off() {
	echo $(( $(sbfield 72) * 4096 + ($1 - 1) * 256 ))
}

fsck_ok() {
	run "$CLFS" fsck "$V"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *", 0 problems (0 fixed)"* ]]
}

@test "mkfs: a file system on a sparse file, then a clean fsck" {
	newfs
	[[ "$output" == *"16384 blocks of 4096 bytes, 4096 inodes"* ]]
	# Sparse: mkfs writes the metadata only.
	[ "$(du -k "$V" | cut -f1)" -lt 8192 ]
	fsck_ok
	[[ "$output" == "fsck: $V: 1 inodes, "*" blocks used of 16384, 0 problems (0 fixed)" ]]
}

@test "mkfs: block size, inode count and label options" {
	newfs -b 1024 -i 128 -L scratch
	[[ "$output" == *"65536 blocks of 1024 bytes, 128 inodes"* ]]
	[ "$(dd if="$V" bs=1 skip=120 count=7 status=none)" = scratch ]
	fsck_ok
}

@test "mkfs: refuses a volume that holds a file system, unless -F" {
	newfs
	run "$CLFS" mkfs "$V"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"already holds a cl file system"*"use -F"* ]]
	run "$CLFS" mkfs -F "$V"
	[ "$status" -eq 0 ]
	fsck_ok
}

@test "mkfs: refuses a volume too small, naming the minimum" {
	truncate -s 100K "$V"
	run "$CLFS" mkfs "$V"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" =~ "volume too small: 102400 bytes; at least "[0-9]+" needed" ]]
	truncate -s 64M "$V"
	run "$CLFS" mkfs -b 3000 "$V"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"block size 3000: not a power of two"* ]]
}

@test "mkfs and fsck: a volume named in the config, at this node's path" {
	mkdir -p "$T/run"
	cat >"$T/cl.conf" <<-EOF
	cluster = "t"
	keyfile = "$T/cl.key"
	rundir = "$T/run"
	statedir = "$T/state"
	self = 1
	node 1 { address = "127.0.0.1:17001" }
	volume fs1 { path = "$V" }
	EOF
	truncate -s 64M "$V"
	run "$CLFS" -f "$T/cl.conf" mkfs fs1
	echo "$output"
	[ "$status" -eq 0 ]
	# Labelled with the volume's name.
	[ "$(dd if="$V" bs=1 skip=120 count=3 status=none)" = fs1 ]
	run "$CLFS" -f "$T/cl.conf" fsck fs1
	echo "$output"
	[ "$status" -eq 0 ]
	run "$CLFS" -f "$T/cl.conf" fsck nosuch
	echo "$output"
	[ "$status" -eq 8 ]
	[[ "$output" == *"nosuch: no such volume"* ]]
}

@test "fsck: a superblock that is not ours is refused with a message, not a crash" {
	newfs
	poke 0 'XXXX'
	run "$CLFS" fsck "$V"
	echo "$output"
	[ "$status" -eq 8 ]
	[[ "$output" == *"superblock: bad magic: not a cl file system"* ]]
	run "$CLFS" fsck -y "$V"
	[ "$status" -eq 8 ]
	# A damaged superblock of ours: its crc.
	newfs -F
	poke 130 'x'
	run "$CLFS" fsck "$V"
	echo "$output"
	[ "$status" -eq 8 ]
	[[ "$output" == *"superblock: crc"*"does not match"* ]]
	run "$CLFS" mkfs "$V"
	[ "$status" -eq 1 ]
	[[ "$output" == *"damaged"*"use -F"* ]]
}

@test "fsck: a damaged bitmap block is reported, -y rebuilds it, then clean" {
	newfs
	# Data blocks marked used, metadata blocks marked free.
	poke $((4096 + 1000)) '\377\377\377\377'
	poke $((4096 + 10)) '\000'
	run "$CLFS" fsck "$V"
	echo "$output"
	[ "$status" -eq 4 ]
	[[ "$output" == *"blocks 8000-8031: used in the bitmap but referenced by nothing (leaked)"* ]]
	[[ "$output" == *"blocks 80-87: metadata but free in the bitmap"* ]]
	[[ "$output" == *", 2 problems (0 fixed)"* ]]
	run "$CLFS" fsck -y "$V"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"(fixed: marked free)"* ]]
	[[ "$output" == *", 2 problems (2 fixed)"* ]]
	fsck_ok
}

@test "fsck: a damaged inode is reported by number, -y clears it, then clean" {
	newfs
	poke $(( $(inode_off 5) + 20 )) 'garbage'
	run "$CLFS" fsck -n "$V"
	echo "$output"
	[ "$status" -eq 4 ]
	[[ "$output" == *"inode 5: crc "*" does not match its contents"* ]]
	run "$CLFS" fsck -y "$V"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"inode 5: "*"(fixed: cleared)"* ]]
	fsck_ok
}

@test "fsck: a damaged root directory is cleared and made again, empty" {
	newfs
	poke $(( $(inode_off 1) + 30 )) 'zz'
	run "$CLFS" fsck "$V"
	echo "$output"
	[ "$status" -eq 4 ]
	run "$CLFS" fsck -y "$V"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"inode 1: the root directory is missing"*"(fixed: made an empty root directory)"* ]]
	fsck_ok
	[[ "$output" == *": 1 inodes, "* ]]
}

@test "fsck: usage errors exit 8" {
	run "$CLFS" fsck
	[ "$status" -eq 8 ]
	run "$CLFS" fsck -n -y "$V"
	[ "$status" -eq 8 ]
	run "$CLFS" fsck -x "$V"
	[ "$status" -eq 8 ]
	run "$CLFS" fsck "$T/missing/vol"
	[ "$status" -eq 8 ]
}
