#!/usr/bin/env bats
#
# The shared-volume file system end to end (issue 5): clfs(1) through
# cliod(8) on every node and clmetad(8) on node 1 of a 3-node cluster,
# one volume file shared by all (tests/clusterctl up --fs).  seed002#N
# names behaviour N of seed-notes/002.md section 5 that a test covers.
#
# One cluster serves the whole file; each test works in its own
# directory /tN.  fsck runs with clmetad up (it overlays the journal
# read-only) once the write leases have expired (lease_ms 1000).

setup_file() {
	load lib/common
	export C=$BATS_FILE_TMPDIR/cluster
	mkdir -p "$C"
	"$CLUSTERCTL" up "$C" 3 --fs fs1:1G
}

teardown_file() {
	load lib/common
	"$CLUSTERCTL" down "$C"
}

setup() {
	load lib/common
	D=/t$BATS_TEST_NUMBER
	T=$BATS_TEST_TMPDIR
	clfs 1 mkdir "fs1:$D"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		local f
		for f in "$C"/n*/clmetad.log "$C"/n*/cliod.log; do
			[ -f "$f" ] || continue
			echo "--- $f"
			tail -20 "$f"
		done
	}
}

# clfs K ARGS...: clfs against node K.
clfs() {
	local k=$1
	shift
	"$CL_BIN/clfs" -f "$C/n$k/cl.conf" "$@"
}

sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

# roundtrip SIZE: random bytes put on node 2, got on node 3 (and on 1).
roundtrip() {
	local n=$1
	head -c "$n" /dev/urandom >"$T/src.$n"
	clfs 2 put "$T/src.$n" "fs1:$D/f$n"
	clfs 3 get "fs1:$D/f$n" "$T/out3.$n"
	clfs 1 get "fs1:$D/f$n" "$T/out1.$n"
	[ "$(sha "$T/src.$n")" = "$(sha "$T/out3.$n")" ]
	[ "$(sha "$T/src.$n")" = "$(sha "$T/out1.$n")" ]
	run clfs 3 stat "fs1:$D/f$n"
	[[ "$output" == *" type=f "*" size=$n "* ]]
}

# fsck_clean: no problem once the write leases are over.
fsck_clean() {
	sleep 2.5
	run clfs 1 fsck fs1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 0 problems"* ]]
}

@test "fs: put on node 2, get on nodes 3 and 1: 0, 1, 4095, 4096, 4097 bytes, same sha256 (seed002#2, seed002#3)" {
	local n
	for n in 0 1 4095 4096 4097; do
		roundtrip "$n"
	done
}

@test "fs: 100 MiB of random data round-trips across nodes, same sha256 (seed002#6)" {
	roundtrip $((100 * 1024 * 1024))
	fsck_clean
}

@test "fs: put from stdin, get to stdout, cat" {
	head -c 3000000 /dev/urandom >"$T/src"
	clfs 2 put - "fs1:$D/s" <"$T/src"
	clfs 3 get "fs1:$D/s" - >"$T/out"
	cmp "$T/src" "$T/out"
	clfs 1 cat "fs1:$D/s" "fs1:$D/s" >"$T/cat"
	cat "$T/src" "$T/src" | cmp - "$T/cat"
}

@test "fs: put replaces a file's content; put into a directory takes the base name" {
	echo first version, longer than the second >"$T/a"
	echo second >"$T/b"
	clfs 2 put "$T/a" "fs1:$D/x"
	clfs 2 put "$T/b" "fs1:$D/x"
	clfs 3 get "fs1:$D/x" "$T/out"
	cmp "$T/b" "$T/out"
	clfs 2 put "$T/a" "fs1:$D"
	[ "$(clfs 3 cat "fs1:$D/a")" = "first version, longer than the second" ]
}

@test "fs: a sparse file reads zeros in its holes, on another node, and stays sparse (seed002#7)" {
	# Stale data first: blocks freed by rm are reused by the next file;
	# its holes and the unwritten parts of its blocks must read zeros.
	head -c $((8 * 1024 * 1024)) /dev/urandom >"$T/junk"
	clfs 2 put "$T/junk" "fs1:$D/junk"
	clfs 2 rm "fs1:$D/junk"
	truncate -s 20M "$T/sparse"
	printf 'hello' | dd of="$T/sparse" bs=1 seek=3000001 conv=notrunc \
	    status=none
	printf 'world' | dd of="$T/sparse" bs=1 seek=12345678 conv=notrunc \
	    status=none
	clfs 2 put "$T/sparse" "fs1:$D/sparse"
	run clfs 3 stat "fs1:$D/sparse"
	[[ "$output" == *" size=20971520 "* ]]
	clfs 3 get "fs1:$D/sparse" "$T/out"
	cmp "$T/sparse" "$T/out"
	# Two 4 KiB blocks written of 5120: not all of it allocated (cliod
	# maps ahead: up to 8 MiB may be allocated, unwritten, per write).
	blocks=$(field "$output" blocks)
	[ "$blocks" -lt 5120 ]
	[ "$(du -k "$T/out" | cut -f1)" -le 64 ]
	clfs 1 cat "fs1:$D/sparse" | cmp - "$T/sparse"
	fsck_clean
}

@test "fs: a trailing hole sets the size" {
	truncate -s 5M "$T/tail"
	printf 'x' >"$T/head"
	cat "$T/head" >"$T/t"
	truncate -s 5M "$T/t"
	clfs 2 put "$T/t" "fs1:$D/t"
	run clfs 3 stat "fs1:$D/t"
	[[ "$output" == *" size=5242880 "* ]]
	clfs 3 get "fs1:$D/t" - | cmp - "$T/t"
}

@test "fs: mkdir, mkdir -p, ls, ls -l one file per line, rmdir, rmdir of a non-empty directory is ENOTEMPTY (seed002#10)" {
	clfs 2 mkdir "fs1:$D/a"
	clfs 2 mkdir -p "fs1:$D/a/b/c" "fs1:$D/p/q"
	clfs 2 mkdir -p "fs1:$D/a/b"
	run clfs 3 ls "fs1:$D"
	[ "$output" = $'a\np' ]
	for i in 3 1 2; do
		echo "$i" | clfs 2 put - "fs1:$D/a/f$i"
	done
	run clfs 3 ls "fs1:$D/a"
	[ "$output" = $'b\nf1\nf2\nf3' ]
	run clfs 3 ls -l "fs1:$D/a"
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" =~ ^drwx.*\ b$ ]]
	[[ "${lines[1]}" =~ ^-rw.*\ 2\ .*\ f1$ ]]
	run clfs 1 mkdir "fs1:$D/a"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/a: File exists" ]
	run clfs 1 rmdir "fs1:$D/a"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/a: Directory not empty" ]
	clfs 1 rmdir "fs1:$D/a/b/c" "fs1:$D/a/b"
	run clfs 3 ls "fs1:$D/a"
	[ "$output" = $'f1\nf2\nf3' ]
	run clfs 3 ls "fs1:$D/a/b"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/a/b: No such file or directory" ]
	run clfs 2 rmdir "fs1:$D/a/f1"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/a/f1: Not a directory" ]
}

@test "fs: many entries: ls lists every one, ls -l one line each" {
	for i in $(seq 1 300); do
		echo "fs1:$D/file-with-a-longish-name-$i"
	done >"$T/names"
	for i in $(seq 1 300); do
		clfs 2 put - "fs1:$D/file-with-a-longish-name-$i" </dev/null
	done
	run clfs 3 ls "fs1:$D"
	[ "${#lines[@]}" -eq 300 ]
	run clfs 3 ls -l "fs1:$D"
	[ "${#lines[@]}" -eq 300 ]
}

@test "fs: mv renames, moves into a directory, replaces a file; unlink" {
	echo one | clfs 2 put - "fs1:$D/one"
	echo two | clfs 2 put - "fs1:$D/two"
	clfs 2 mkdir "fs1:$D/dir"
	clfs 3 mv "fs1:$D/one" "fs1:$D/uno"
	[ "$(clfs 1 cat "fs1:$D/uno")" = one ]
	run clfs 1 stat "fs1:$D/one"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/one: No such file or directory" ]
	clfs 3 mv "fs1:$D/uno" "fs1:$D/dir"
	[ "$(clfs 1 cat "fs1:$D/dir/uno")" = one ]
	clfs 3 mv "fs1:$D/two" "fs1:$D/dir/uno"
	[ "$(clfs 1 cat "fs1:$D/dir/uno")" = two ]
	run clfs 1 ls "fs1:$D" "fs1:$D/dir"
	[ "$output" = "fs1:$D:"$'\n'"dir"$'\n\n'"fs1:$D/dir:"$'\n'"uno" ]
	clfs 2 rm "fs1:$D/dir/uno"
	run clfs 2 ls "fs1:$D/dir"
	[ -z "$output" ]
	run clfs 2 rm "fs1:$D/dir/uno"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/dir/uno: No such file or directory" ]
	run clfs 2 rm "fs1:$D/dir"
	[ "$status" -eq 1 ]
	[[ "$output" == "clfs: fs1:$D/dir: "* ]]
	# A directory into its own subtree.
	clfs 2 mkdir -p "fs1:$D/dir/sub"
	run clfs 2 mv "fs1:$D/dir" "fs1:$D/dir/sub/x"
	[ "$status" -eq 1 ]
	[[ "$output" == "clfs: fs1:$D/dir: Invalid argument"* ]]
}

@test "fs: errors name the path and the errno, exit 1; usage errors exit 2" {
	run clfs 2 get "fs1:$D/nothing" "$T/x"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/nothing: No such file or directory" ]
	run clfs 2 put /etc/hostname "fs1:$D/no/such/dir"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/no/such/dir: No such file or directory" ]
	run clfs 2 get "fs1:$D" "$T/x"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D: Is a directory" ]
	run clfs 2 put "$T/missing" "fs1:$D/x"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: $T/missing: No such file or directory" ]
	run clfs 2 mkdir "fs1:$D/$(printf 'n%.0s' $(seq 1 251))"
	[ "$status" -eq 2 ]
	[[ "$output" == *"File name too long" ]]
	run clfs 2 ls "fs9:/"
	[ "$status" -eq 2 ]
	[[ "$output" == "clfs: fs9:/: no file system fs9 in "* ]]
	run clfs 2 ls "/no/colon"
	[ "$status" -eq 2 ]
	run clfs 2 frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command frobnicate"* ]]
	run clfs 2 put -m 99999 /etc/hostname "fs1:$D/x"
	[ "$status" -eq 2 ]
	run clfs 2 mv "fs1:$D/a"
	[ "$status" -eq 2 ]
	run "$CL_BIN/clfs"
	[ "$status" -eq 2 ]
	[[ "$output" == usage:* ]]
}

@test "fs: without cliod, a clear error naming the socket" {
	mkdir -p "$T/run"
	sed "s|^rundir = .*|rundir = \"$T/run\"|" "$C/n2/cl.conf" >"$T/cl.conf"
	run "$CL_BIN/clfs" -f "$T/cl.conf" ls fs1:/
	[ "$status" -eq 1 ]
	[[ "$output" == "clfs: cannot reach cliod at $T/run/cliod.sock (is it running?)"* ]]
}

@test "fs: a file of mode 0600 owned by root cannot be read by nobody: EACCES (seed002#4)" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run clfs as nobody"
	command -v setpriv >/dev/null || skip "needs setpriv(1)"
	nobody=$(id -u nobody 2>/dev/null) || skip "no user nobody"
	# nobody must reach the sockets and read the config: search
	# permission on the directories above them.
	d=$C
	while [ "$d" != / ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
	chmod o+x "$C/n3" "$C/n3/run"
	chmod o+r "$C/n3/cl.conf"
	asnobody() {
		setpriv --reuid="$nobody" --regid="$(id -g nobody)" \
		    --clear-groups "$CL_BIN/clfs" -f "$C/n3/cl.conf" "$@"
	}
	echo secret >"$T/s"
	clfs 2 put -m 0600 "$T/s" "fs1:$D/secret"
	clfs 2 put -m 0644 "$T/s" "fs1:$D/public"
	clfs 2 mkdir -m 0700 "fs1:$D/private"
	run clfs 3 stat "fs1:$D/secret"
	[[ "$output" == *" mode=0600 uid=0 gid=0 "* ]]
	run asnobody get "fs1:$D/secret" -
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/secret: Permission denied" ]
	run asnobody cat "fs1:$D/public"
	[ "$status" -eq 0 ]
	[ "$output" = secret ]
	run asnobody put /etc/hostname "fs1:$D/mine"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/mine: Permission denied" ]
	run asnobody ls "fs1:$D/private"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/private: Permission denied" ]
	run asnobody rm "fs1:$D/public"
	[ "$status" -eq 1 ]
	[ "$output" = "clfs: fs1:$D/public: Permission denied" ]
	# A directory nobody owns: its files are nobody's.
	clfs 2 mkdir -m 0777 "fs1:$D/tmp"
	asnobody put /etc/hostname "fs1:$D/tmp/mine"
	run clfs 2 stat "fs1:$D/tmp/mine"
	[[ "$output" == *" uid=$nobody "* ]]
}

@test "fs: df shows the file system and cliod's utilization" {
	head -c 2000000 /dev/urandom | clfs 2 put - "fs1:$D/x"
	run clfs 2 df
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "fs name=fs1 size="*" admin=1 epoch="* ]]
	used=$(field "${lines[0]}" used)
	[ "$used" -ge 2000000 ]
	[[ "${lines[1]}" == "cliod "*"inflight="*"write_bps="* ]]
	run clfs 2 df fs1
	[ "$status" -eq 0 ]
	run clfs 2 df nosuchfs
	[ "$status" -eq 2 ]
}
