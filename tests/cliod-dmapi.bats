#!/usr/bin/env bats
#
# cliod(8) as a DMAPI event source (issue 6; seed 000,
# seeds/000_23f235863c39749f.txt; DESIGN.md DMAPI): a file operation on
# node 3 that a disposition in the cluster database names becomes an
# event to the session's node; a synchronous one holds the operation
# until the session answers.  The session service here is a fake
# clsessiond (a Python script on clmemberd's router) that answers
# continue, abort with an errno, or nothing.

setup_file() {
	load lib/common
	export C=$BATS_FILE_TMPDIR/cluster
	mkdir -p "$C"
	CL_EXTRA_CONF="event_timeout_ms = 1500" \
	    "$CLUSTERCTL" up "$C" 3 --fs fs1:256M
	"$CLUSTERCTL" fswait "$C" 30000
}

teardown_file() {
	load lib/common
	"$CLUSTERCTL" down "$C"
}

setup() {
	load lib/common
	T=$BATS_TEST_TMPDIR
	FAKE_PID=
	echo hello >"$T/src"
}

teardown() {
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	wait 2>/dev/null
	db del dm/disp/fs1/create >/dev/null 2>&1 || true
	db del dm/disp/fs1/create/3 >/dev/null 2>&1 || true
	db del dm/disp/fs1/read >/dev/null 2>&1 || true
	db del dm/session/1 >/dev/null 2>&1 || true
	db del dm/session/2 >/dev/null 2>&1 || true
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		local f
		for f in "$C"/n*/cliod.log "$T"/fake.*; do
			[ -f "$f" ] || continue
			echo "--- $f"
			tail -20 "$f"
		done
	}
}

clfs() {
	local k=$1
	shift
	"$CL_BIN/clfs" -f "$C/n$k/cl.conf" "$@"
}

db() {
	"$CL_BIN/clmember" -f "$C/n1/cl.conf" db "$@"
}

# status_of K KEY: one key of node K's cliod status.
status_of() {
	"$CL_BIN/test/cliocli" -f "$C/n$1/cl.conf" status fs1 | sed -n "s/^$2=//p"
}

# fake K MODE [DELAY_MS]: a fake clsessiond on node K answering every
# event with MODE (continue, abort:ERRNO, none) after DELAY_MS; events
# go to $T/fake.K, one line each.
fake() {
	local k=$1 mode=$2 delay=${3:-0}
	python3 - "$C/n$k/run/clmemberd.sock" "$mode" "$delay" \
	    >"$T/fake.$k" 2>&1 3>&- <<'PY' &
import socket, sys, time
path, mode, delay = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
def send(op, txid, kv):
    h = "CL1 %s %d\n" % (op, txid) + "".join("%s=%s\n" % x for x in kv)
    s.sendall((h + "len=0\n\n").encode())
buf = b""
def frame():
    global buf
    while b"\n\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit(0)
        buf += d
    head, buf = buf.split(b"\n\n", 1)
    lines = head.decode().split("\n")
    _, op, txid = lines[0].split(" ")
    kv = dict(l.split("=", 1) for l in lines[1:])
    n = int(kv.get("len", "0"))
    while len(buf) < n:
        buf += s.recv(65536)
    buf = buf[n:]
    return op, int(txid), kv
send("service", 1, [("name", "clsessiond")])
op, txid, kv = frame()
print("registered", op, flush=True)
while True:
    op, txid, kv = frame()
    if op != "event":
        continue
    print("event " + " ".join("%s=%s" % (k, kv[k]) for k in ("token",
        "session", "type", "fs", "path", "src", "uid", "sync") if k in kv),
        flush=True)
    if kv.get("resp") != "1" or mode == "none":
        continue
    time.sleep(delay / 1000.0)
    to = kv.get("orig", kv.get("from"))
    if mode == "continue":
        send("ok", txid, [("to", to), ("re", "1"), ("reply", "continue")])
    else:
        send("ok", txid, [("to", to), ("re", "1"), ("reply", "abort"),
            ("errno", mode.split(":")[1])])
PY
	FAKE_PID=$!
	wait_for 5000 grep -q registered "$T/fake.$k"
}

# disp VALUE [KEY]: a disposition of create on fs1 and session 1 on node 1.
disp() {
	db set dm/session/1 'name=t node=1' >/dev/null
	db set "${2:-dm/disp/fs1/create}" "$1" >/dev/null
	sleep 0.3	# the watch reaches every node's cliod
}

@test "dmapi: a sync create waits for the session's continue, then succeeds" {
	fake 1 continue 700
	disp 'session=1 mode=sync'
	local t0=$(now_ms)
	run clfs 3 put "$T/src" fs1:/a
	[ "$status" -eq 0 ]
	[ $(($(now_ms) - t0)) -ge 600 ]
	grep -q "event token=3\.[0-9]* session=1 type=create fs=fs1 path=/a src=3 uid=$(id -u) sync=1" "$T/fake.1"
	run clfs 1 cat fs1:/a
	[ "$output" = hello ]
	[ "$(status_of 3 dm_answered)" -ge 1 ]
}

@test "dmapi: an abort with EPERM fails the operation with Operation not permitted" {
	fake 1 abort:EPERM
	disp 'session=1 mode=sync'
	run clfs 3 put "$T/src" fs1:/b
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	run clfs 1 stat fs1:/b
	[ "$status" -ne 0 ]
	[ "$(status_of 3 dm_aborted)" -ge 1 ]
}

@test "dmapi: no answer within event_timeout_ms fails with EIO" {
	fake 1 none
	disp 'session=1 mode=sync'
	local t0=$(now_ms) dt
	run clfs 3 put "$T/src" fs1:/c
	dt=$(($(now_ms) - t0))
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	[ "$dt" -ge 1400 ] && [ "$dt" -lt 10000 ]
	[ "$(status_of 3 dm_timedout)" -ge 1 ]
	grep -q "no answer from session 1" "$C/n3/cliod.log"
}

@test "dmapi: no session service on the session node: waits for a move, EIO at event_timeout_ms" {
	disp 'session=1 mode=sync'
	local t0=$(now_ms) dt
	run clfs 3 put "$T/src" fs1:/d
	dt=$(($(now_ms) - t0))
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	[ "$dt" -ge 1400 ] && [ "$dt" -lt 10000 ]
	grep -q "waits for the session to move" "$C/n3/cliod.log"
}

@test "dmapi: an async event is sent and the operation goes on" {
	fake 1 none
	disp 'session=1 mode=async'
	run clfs 3 put "$T/src" fs1:/e
	[ "$status" -eq 0 ]
	wait_for 3000 grep -q "type=create fs=fs1 path=/e src=3 .*sync=0" \
	    "$T/fake.1"
}

@test "dmapi: a per-node disposition wins over the all-nodes one" {
	fake 1 abort:EACCES
	disp 'session=1 mode=sync'
	db set dm/session/2 'name=u node=1' >/dev/null
	disp 'session=2 mode=async' dm/disp/fs1/create/3
	run clfs 3 put "$T/src" fs1:/f
	[ "$status" -eq 0 ]
	wait_for 3000 grep -q "session=2 type=create .*path=/f .*sync=0" \
	    "$T/fake.1"
	# Node 2 has no disposition of its own: the all-nodes one applies.
	run clfs 2 put "$T/src" fs1:/g
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
}

clsession() {
	local k=$1
	shift
	"$CL_BIN/clsession" -f "$C/n$k/cl.conf" "$@"
}

# seed000#5 (XDSM managed regions): read events come only from I/O that
# touches a region with the r flag, and only with a read disposition.
@test "dmapi: reads raise events only on a managed region with a read disposition" {
	clfs 3 put "$T/src" fs1:/h
	local sent=$(status_of 3 dm_sent)
	fake 1 abort:EPERM
	disp 'session=1 mode=sync' dm/disp/fs1/read
	run clfs 3 cat fs1:/h
	[ "$output" = hello ]			# no region: no event
	[ "$(status_of 3 dm_sent)" = "$sent" ]
	run clsession 2 region set fs1:/h 0:0:w
	[ "$output" = "0:0:w" ]
	run clfs 3 cat fs1:/h
	[ "$output" = hello ]			# a write region: no read event
	run clsession 1 region set fs1:/h 2:1:r,100:0:w
	[ "$output" = "2:1:r,100:0:w" ]
	[ "$(clsession 3 region ls fs1:/h)" = "2:1:r,100:0:w" ]
	run clfs 3 cat fs1:/h
	[ "$status" -ne 0 ]			# touches byte 2: aborted
	[[ "$output" == *"Operation not permitted"* ]]
	grep -q "type=read fs=fs1 path=" "$T/fake.1" ||
	    grep -q "type=read" "$T/fake.1"
	db del dm/disp/fs1/read >/dev/null
	sleep 0.3
	run clfs 3 cat fs1:/h
	[ "$output" = hello ]			# no disposition: no event
	clsession 1 region set fs1:/h none
	[ "$(clsession 2 region ls fs1:/h)" = none ]
}

@test "dmapi: region set refuses bad specs, directories and non-root" {
	clfs 1 put "$T/src" fs1:/r
	run clsession 1 region set fs1:/r 1:1:x
	[ "$status" -eq 1 ]
	[[ "$output" == *"want OFF:LEN:FLAGS"* ]]
	run clsession 1 region set fs1:/r 1:1:r,2:2:r,3:3:r
	[ "$status" -eq 1 ]
	[[ "$output" == *"at most 2 regions"* ]]
	run clsession 1 region set fs1:/ 0:0:r
	[ "$status" -eq 1 ]
	[[ "$output" == *"regular files"* ]]
	run clsession 1 region ls fs1:/nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"no such file"* ]]
	run clsession 1 region ls nofs:/r
	[ "$status" -eq 1 ]
	[[ "$output" == *"no file system nofs"* ]]
	if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
		local d=$C
		while [ "$d" != / ]; do
			chmod o+x "$d"
			d=$(dirname "$d")
		done
		chmod o+x "$C/n1" "$C/n1/run"
		chmod o+r "$C/n1/cl.conf"
		run setpriv --reuid=65534 --regid=65534 --clear-groups \
		    "$CL_BIN/clsession" -f "$C/n1/cl.conf" region set fs1:/r 0:0:r
		[ "$status" -eq 1 ]
		[[ "$output" == *"only root"* ]]
	fi
	[ "$(clsession 1 region ls fs1:/r)" = none ]
}
