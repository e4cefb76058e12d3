#!/usr/bin/env bats
#
# rcpt=fail (cl-wire(5), ROUTING; cmd/clmemberd/route.c): a message to
# one node that asks for a receipt only when it does not reach the
# service.  Calls that want a response use it (the response says the
# request got there), saving the receipt of every call that works: a
# frame back from the target's router and one to the sender.  Sent with
# tests/lib/rcptfail.c (bin/test/rcptfail); the services are
# tests/lib/clsvc.c echo.  Broadcasts keep full receipts (seed 003 L178).

MSG_TIMEOUT_MS=${CL_MSG_TIMEOUT_MS:-1000}

setup() {
	load lib/common
	CLSVC=$CL_BIN/test/clsvc
	RCPTFAIL=$CL_BIN/test/rcptfail
	[ -x "$CLSVC" ] && [ -x "$RCPTFAIL" ] || flunk "make units"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_logs
	down
}

# listed K ID NAME: node K's service list has NAME on node ID.
listed() {
	"$CLSVC" -f "$(conf "$1")" services | grep -qx "service node=$2 name=$3"
}

# svc_on K NAME MODE: clsvc MODE as service NAME on node K, listed on
# nodes 1-3.
svc_on() {
	local k=$1 name=$2 mode=$3 n
	OUT=$C/$name.$k.out
	bg "$CLSVC" -f "$(conf "$k")" -N "$name" -T 300000 -q "$mode"
	wait_for 5000 grep -q '^registered ' "$OUT" ||
	    flunk "$name on node $k did not register: $(cat "$OUT")"
	for n in 1 2 3; do
		wait_for 5000 listed "$n" "$k" "$name" ||
		    flunk "node $n does not list $name of node $k"
	done
}

echo_on() {
	svc_on "$1" echo echo
}

# rcptfail K ARGS...: rcptfail from node K, waiting msg_timeout_ms + 500.
rcptfail() {
	local k=$1
	shift
	run "$RCPTFAIL" -f "$(conf "$k")" -t $((MSG_TIMEOUT_MS + 500)) "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "rcpt=fail: delivered calls get their responses and no receipt, on another node and on this one" {
	up 3
	echo_on 1
	rcptfail 2 -n 20 1.echo
	grep -qx 'done sent=20 receipts=0 responses=20 errors=0' <<<"$output"
	rcptfail 1 -n 5 1.echo
	grep -qx 'done sent=5 receipts=0 responses=5 errors=0' <<<"$output"
	# rcpt=1 still gets its receipt.
	rcptfail 2 -r 1 1.echo
	grep -q '^receipt .* status=ok .*node\.1=delivered' <<<"$output"
	grep -qx 'done sent=1 receipts=1 responses=1 errors=0' <<<"$output"
}

@test "rcpt=fail: no such service on another node or on this one: a failed receipt naming the node and the address" {
	up 3
	rcptfail 2 1.nosuch
	grep -Eq '^receipt txid=[0-9]+ to=1\.nosuch status=failed nodes=1 node\.1=no-service$' <<<"$output"
	grep -qx 'done sent=1 receipts=1 responses=0 errors=0' <<<"$output"
	rcptfail 2 2.nosuch
	grep -Eq '^receipt txid=[0-9]+ to=2\.nosuch status=failed nodes=1 node\.2=no-service$' <<<"$output"
	grep -qx 'done sent=1 receipts=1 responses=0 errors=0' <<<"$output"
}

@test "seed003#6 rcpt=fail to a killed node: node-down at once" {
	up 3
	"$CLUSTERCTL" kill "$C" 3
	rcptfail 1 3.echo
	grep -Eq '^receipt txid=[0-9]+ to=3\.echo status=failed nodes=1 node\.3=(node-down|timeout)$' <<<"$output"
	grep -qx 'done sent=1 receipts=1 responses=0 errors=0' <<<"$output"
}

@test "rcpt=fail: delivered, never answered: no receipt (the record goes silently at msg_timeout_ms)" {
	up 3
	svc_on 3 stall stall
	rcptfail 1 -n 3 3.stall
	grep -qx 'done sent=3 receipts=0 responses=0 errors=0' <<<"$output"
}

@test "seed003#6 rcpt=fail: the target node killed while the call waits for its answer: node-down" {
	up 3
	svc_on 3 stall stall
	OUT=$C/rcptfail.out
	bg "$RCPTFAIL" -f "$(conf 1)" -t 5000 3.stall
	sleep 0.5
	"$CLUSTERCTL" kill "$C" 3
	wait_for 6000 grep -q '^done ' "$OUT" || flunk "rcptfail: $(cat "$OUT")"
	cat "$OUT"
	grep -Eq '^receipt txid=[0-9]+ to=3\.stall status=failed nodes=1 node\.3=node-down$' "$OUT"
	grep -qx 'done sent=1 receipts=1 responses=0 errors=0' "$OUT"
}

@test "seed003#1 rcpt=fail on a broadcast is rcpt=1: one receipt with every node's result" {
	up 3
	echo_on 1
	echo_on 3
	rcptfail 2 '*.echo'
	grep -Eq '^receipt txid=[0-9]+ to=\*\.echo status=ok nodes=2 node\.1=delivered node\.3=delivered$' <<<"$output"
	grep -qx 'done sent=1 receipts=1 responses=2 errors=0' <<<"$output"
}
