#!/usr/bin/env bats
#
# DMAPI, parallel instances (issue 6, seed 001 lines 17+: "an instance
# of the data management application runs on each of the nodes"): one
# session per node, per-node sync create dispositions, a DM application
# (tests/lib/dmresp.c) on each node answering its own session; every
# node's create events reach only its own session.

setup() {
	load lib/common
	CLS=$CL_BIN/clsession
	DMRESP=$CL_BIN/test/dmresp
	[ -x "$CL_BIN/clsessiond" ] || flunk "$CL_BIN/clsessiond missing"
	[ -x "$CLS" ] || flunk "$CLS missing"
	[ -x "$DMRESP" ] || flunk "$DMRESP missing (make units)"
	grep -q "clsessiond" "$CL_BIN/cliod" || skip "cliod sends no events"
	SD_PIDS=""
	RESP_PIDS=""
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		local f
		for f in "${C:-/nonexistent}"/n*/clsessiond.log \
		    "$BATS_TEST_TMPDIR"/resp*.out; do
			[ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
		done
	}
	local p
	for p in $RESP_PIDS $SD_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	down
}

# sessiond K: start clsessiond on node K, wait for its socket.
sessiond() {
	"$CL_BIN/clsessiond" -d -f "$(conf "$1")" \
	    >>"$C/n$1/clsessiond.log" 2>&1 3>&- &
	SD_PIDS="$SD_PIDS $!"
	wait_for 5000 test -S "$C/n$1/run/clsessiond.sock" ||
	    wait_for 5000 grep -q "serving" "$C/n$1/clsessiond.log"
}

cls() {
	local k=$1
	shift
	"$CLS" -f "$(conf "$k")" "$@"
}

clfsk() {
	local k=$1
	shift
	"$CL_BIN/clfs" -f "$(conf "$k")" "$@"
}

dmcluster() {
	cluster_dir
	"$CLUSTERCTL" up "$C" 3 --fs fs1:64M
	sessiond 1
	sessiond 2
	sessiond 3
	wait_for 10000 grep -q "session manager" "$C/n1/clsessiond.log" \
	    "$C/n2/clsessiond.log" "$C/n3/clsessiond.log"
}

# sessions: on each node K a session dmK (id in SID_K), a sync create
# disposition of fs1 for node K, and dmresp following it (events logged
# to ev K.log, its output in respK.out).
sessions() {
	local k id
	for k in 1 2 3; do
		id=$(cls "$k" create "dm$k") || flunk "create on node $k"
		eval "SID_$k=$id"
		run cls "$k" disp set fs1 create "$id" --sync --node "$k"
		[ "$status" -eq 0 ] || flunk "disp set node $k: $output"
	done
	run cls 1 disp ls
	for k in 1 2 3; do
		eval "id=\$SID_$k"
		grep -qx "fs=fs1 event=create node=$k session=$id mode=sync" \
		    <<<"$output" || flunk "disp ls: $output"
	done
	for k in 1 2 3; do
		eval "id=\$SID_$k"
		"$DMRESP" -f "$(conf "$k")" -s "$id" \
		    -l "$BATS_TEST_TMPDIR/ev$k.log" </dev/null \
		    >"$BATS_TEST_TMPDIR/resp$k.out" 2>&1 3>&- &
		RESP_PIDS="$RESP_PIDS $!"
		eval "RESP_$k=$!"
		wait_for 5000 grep -q following "$BATS_TEST_TMPDIR/resp$k.out" ||
		    flunk "dmresp on node $k did not start"
	done
}

# stopresp K: SIGTERM node K's dmresp, print its responded= line.
stopresp() {
	local p
	eval "p=\$RESP_$1"
	kill -TERM "$p"
	wait "$p" 2>/dev/null || true
	# bg may have started it in a subshell, so wait(1) may not wait: its
	# report is there once it has handled the signal.
	wait_for 5000 grep -q "^responded=" "$BATS_TEST_TMPDIR/resp$1.out"
	grep "^responded=" "$BATS_TEST_TMPDIR/resp$1.out"
}

@test "dmapi-parallel: each node's create event goes to its own session" {
	dmcluster
	sessions
	echo hello >"$BATS_TEST_TMPDIR/src"
	pids=""
	for k in 1 2 3; do
		OUT=$BATS_TEST_TMPDIR/put$k.out
		bg clfsk "$k" put "$BATS_TEST_TMPDIR/src" "fs1:/p$k"
		pids="$pids $LAST_PID"
	done
	for p in $pids; do
		wait "$p" || flunk "a put failed: $(cat "$BATS_TEST_TMPDIR"/put*.out)"
	done
	for k in 1 2 3; do
		eval "id=\$SID_$k"
		log=$BATS_TEST_TMPDIR/ev$k.log
		[ "$(grep -c . "$log")" -eq 1 ] ||
		    flunk "node $k session saw: $(cat "$log")"
		ev=$(cat "$log")
		[[ " $ev " == *" src=$k "* ]] || flunk "node $k: $ev"
		[[ " $ev " == *" session=$id "* ]] || flunk "node $k: $ev"
		[[ " $ev " == *" type=create "* ]] || flunk "node $k: $ev"
		[[ " $ev " == *" path=/p$k "* ]] || flunk "node $k: $ev"
		[[ " $ev " == *" sync=1 "* ]] || flunk "node $k: $ev"
		run stopresp "$k"
		[ "$output" = "responded=1 events=1 errors=0" ] ||
		    flunk "dmresp $k: $output"
		run clfsk 1 cat "fs1:/p$k"
		[ "$output" = hello ]
	done
	for k in 1 2 3; do
		run cls "$k" list
		eval "id=\$SID_$k"
		grep -qx "id=$id name=dm$k node=$k pending=0" <<<"$output" ||
		    flunk "list on $k: $output"
	done
}

@test "dmapi-parallel: creates on all nodes at once, answered per node" {
	dmcluster
	sessions
	n=200
	pids=""
	for k in 1 2 3; do
		OUT=$BATS_TEST_TMPDIR/bench$k.out
		bg "$CL_BIN/test/fsbench" -f "$(conf "$k")" -F fs1 -n "$n" \
		    -w 16 -d "/d$k"
		pids="$pids $LAST_PID"
	done
	for p in $pids; do
		wait "$p" || flunk "fsbench: $(cat "$BATS_TEST_TMPDIR"/bench*.out)"
	done
	for k in 1 2 3; do
		eval "id=\$SID_$k"
		log=$BATS_TEST_TMPDIR/ev$k.log
		grep -q "errors=0" "$BATS_TEST_TMPDIR/bench$k.out" ||
		    flunk "fsbench $k: $(cat "$BATS_TEST_TMPDIR/bench$k.out")"
		c=$(grep -c " path=/d$k/f" "$log")
		[ "$c" -eq "$n" ] || flunk "node $k: $c create events of /d$k"
		! grep -v " src=$k " "$log" || flunk "node $k: events of others"
		! grep -v " session=$id " "$log" || flunk "node $k: session"
		e=$(grep -c . "$log")
		run stopresp "$k"
		[ "$output" = "responded=$e events=$e errors=0" ] ||
		    flunk "dmresp $k: $output"
	done
}

# quietclient SOCK ID: follow session ID's events on clsessiond's socket,
# answer the first with respond quiet=1, then respond quiet=1 to an
# unknown token, then ask list; prints one line per frame that came back
# ("OP txid=T") until the list's end.
quietclient() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(20)
def send(op, txid, **kv):
    h = "CL1 %s %d\n" % (op, txid) + "".join("%s=%s\n" % i for i in kv.items())
    s.sendall((h + "len=0\n\n").encode())
buf = b""
def frame():
    global buf
    while b"\n\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit("closed")
        buf += d
    head, buf = buf.split(b"\n\n", 1)
    lines = head.decode().split("\n")
    op, txid = lines[0].split()[1:3]
    kv = dict(l.split("=", 1) for l in lines[1:])
    n = int(kv.get("len", "0"))
    buf = buf[n:]
    return op, int(txid), kv
send("events", 1, id=sys.argv[2], follow="1")
op, txid, kv = frame()
while op != "event":
    op, txid, kv = frame()
print("event token=%s" % kv["token"], flush=True)
send("respond", 2, token=kv["token"], reply="continue", quiet="1")
send("respond", 3, token="no.such", reply="continue", quiet="1")
send("list", 4)
while True:
    op, txid, kv = frame()
    print("%s txid=%d" % (op, txid), flush=True)
    if op == "end" and txid == 4:
        break
PY
}

@test "dmapi-parallel: respond quiet=1 is answered only when it fails" {
	dmcluster
	id=$(cls 2 create quiet) || flunk "create"
	run cls 2 disp set fs1 create "$id" --sync --node 2
	[ "$status" -eq 0 ] || flunk "disp set: $output"
	OUT=$BATS_TEST_TMPDIR/quiet.out
	bg quietclient "$C/n2/run/clsessiond.sock" "$id"
	echo hi >"$BATS_TEST_TMPDIR/src"
	run clfsk 2 put "$BATS_TEST_TMPDIR/src" fs1:/q
	[ "$status" -eq 0 ] || flunk "put: $output"
	wait_for 10000 grep -q '^end txid=4$' "$OUT" || flunk "$(cat "$OUT")"
	cat "$OUT"
	grep -q '^event token=' "$OUT"
	! grep -q 'txid=2$' "$OUT" || flunk "the good respond was answered"
	grep -qx 'error txid=3' "$OUT"
}
