#!/usr/bin/env bats
#
# Message routing in clmemberd (issue 4, routing part; cl-wire(5), ROUTING;
# seed 003, seeds/003_0bef661ef59685d0.txt).  seed003#N names behaviour N
# of seed-notes/003.md section 7 that a test covers; "003§8.K" names point
# K of its section 8 (our design choices where the patent is silent).
#
# The services are tests/lib/clsvc.c (bin/test/clsvc, `make units`): echo,
# relay, sink, stall, blast, req, rtt, services.  Each test starts its
# services with svc(), which returns once every node lists the service:
# a frame sent before the sender's node has heard of it would get
# no-service, rightly.  `clmember ping|send|services` are tested at the
# end, skipped while clmember lacks them.
#
# A broadcast goes to every configured node but the sender's (route.c,
# targets_of), so a killed node is still a target and is reported.

MSG_TIMEOUT_MS=${CL_MSG_TIMEOUT_MS:-1000}

setup() {
	load lib/common
	CLSVC=$CL_BIN/test/clsvc
	[ -x "$CLSVC" ] || flunk "$CLSVC missing: make units"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		dump_logs
		local f
		for f in "${C:-/nonexistent}"/*.out; do
			[ -f "$f" ] || continue
			echo "--- $f"
			tail -20 "$f"
		done
	}
	down
}

# cluster N: an N-node cluster; NODES lists the nodes that run.
cluster() {
	up "$@"
	NODES=$(seq 1 "$1")
}

# clsvc K ARGS...: clsvc against node K.
clsvc() {
	local k=$1
	shift
	"$CLSVC" -f "$(conf "$k")" "$@"
}

# listed K ID NAME: node K's service list has NAME on node ID.
listed() {
	clsvc "$1" services | grep -qx "service node=$2 name=$3"
}

# svc K NAME MODE [ARGS...]: start clsvc as service NAME on node K, its
# output in $C/NAME.K.out and its pid in SVC_PID; returns once every
# node of NODES lists it.
svc() {
	local k=$1 name=$2 n
	shift 2
	OUT=$C/$name.$k.out
	bg "$CLSVC" -f "$(conf "$k")" -N "$name" -T 300000 "$@"
	SVC_PID=$LAST_PID
	wait_for 5000 grep -q '^registered ' "$OUT" ||
	    flunk "clsvc $name on node $k did not register: $(cat "$OUT")"
	for n in $NODES; do
		wait_for 5000 listed "$n" "$k" "$name" ||
		    flunk "node $n does not list service $name of node $k"
	done
}

# line ERE: the first line of $output matching ERE.
line() {
	grep -E -- "$1" <<<"$output" | head -1
}

# recvs FILE: the number of frames a clsvc echo or relay printed.
recvs() {
	grep -c '^recv ' "$1"
}

# check_receipt LINE STATUS NODES ID=RESULT...: a receipt line with that
# status and count, these results, and no node.ID key but these.
check_receipt() {
	local l=$1 st=$2 n=$3 kv got
	shift 3
	[ -n "$l" ] || flunk "no receipt"
	[ "$(field "$l" status)" = "$st" ] || flunk "status: $l"
	[ "$(field "$l" nodes)" = "$n" ] || flunk "nodes: $l"
	for kv in "$@"; do
		[ "$(field "$l" "node.${kv%%=*}")" = "${kv#*=}" ] ||
		    flunk "expected node.$kv: $l"
	done
	got=$(tr ' ' '\n' <<<"$l" | grep -c '^node\.')
	[ "$got" = $# ] || flunk "$got node entries, expected $#: $l"
}

@test "seed003#2 seed003#12 directed request/response between nodes 1 and 3, both ways; node 2 gets nothing" {
	cluster 3
	local k t l r
	for k in 1 2 3; do
		svc "$k" echo echo
	done
	run clsvc 1 req 3.echo --rcpt --resp -p hello-from-1
	echo "$output"
	[ "$status" -eq 0 ]
	t=$(field "$(line '^sent ')" txid)
	l=$(line '^receipt ')
	check_receipt "$l" ok 1 3=delivered
	[ "$(field "$l" txid)" = "$t" ]
	r=$(line '^response ')
	[ "$(field "$r" from)" = 3.echo ]
	[ "$(field "$r" txid)" = "$t" ]
	[ "$(field "$r" payload)" = hello-from-1 ]
	[ "$(grep -c '^response ' <<<"$output")" = 1 ]

	run clsvc 3 req 1.echo --rcpt --resp -p hello-from-3
	echo "$output"
	[ "$status" -eq 0 ]
	check_receipt "$(line '^receipt ')" ok 1 1=delivered
	r=$(line '^response ')
	[ "$(field "$r" from)" = 1.echo ]
	[ "$(field "$r" payload)" = hello-from-3 ]

	# Each target got its one frame, stamped with the sender's address;
	# node 2 got none (seed003#2: non-targets receive nothing).
	cat "$C"/echo.*.out
	[ "$(recvs "$C/echo.3.out")" = 1 ]
	[ "$(recvs "$C/echo.1.out")" = 1 ]
	[ "$(recvs "$C/echo.2.out")" = 0 ]
	grep -E '^recv op=req .* from=1\.clsvc\.[0-9]+ .* to=3\.echo resp=1 ' "$C/echo.3.out"
	grep -E '^recv op=req .* from=3\.clsvc\.[0-9]+ .* to=1\.echo resp=1 ' "$C/echo.1.out"
}

@test "seed003#1 seed003#5 broadcast with receipt on 5 nodes: one delivered entry per other node, none for the sender, one response each" {
	cluster 5
	local k r
	for k in 1 2 3 4 5; do
		svc "$k" echo echo
	done
	run clsvc 1 req '*.echo' --rcpt --resp -p to-all
	echo "$output"
	[ "$status" -eq 0 ]
	check_receipt "$(line '^receipt ')" ok 4 2=delivered 3=delivered \
	    4=delivered 5=delivered
	[ "$(grep -c '^response ' <<<"$output")" = 4 ]
	for k in 2 3 4 5; do
		r=$(line "^response from=$k\\.echo ")
		[ "$(field "$r" payload)" = to-all ] || flunk "node $k: $r"
		[ "$(recvs "$C/echo.$k.out")" = 1 ] || flunk "echo on $k: $(cat "$C/echo.$k.out")"
	done
}

@test "seed003#1 a broadcast without self=1 does not reach the sender's own node; with self=1 it does" {
	cluster 3
	local k
	for k in 1 2 3; do
		svc "$k" echo echo
	done
	run clsvc 1 req '*.echo' --rcpt --resp
	echo "$output"
	[ "$status" -eq 0 ]
	check_receipt "$(line '^receipt ')" ok 2 2=delivered 3=delivered
	! grep -q '^response from=1\.' <<<"$output"
	sleep 0.2
	[ "$(recvs "$C/echo.1.out")" = 0 ] || flunk "node 1: $(cat "$C/echo.1.out")"

	run clsvc 1 req '*.echo' --rcpt --resp --self
	echo "$output"
	[ "$status" -eq 0 ]
	check_receipt "$(line '^receipt ')" ok 3 1=delivered 2=delivered 3=delivered
	[ "$(grep -c '^response ' <<<"$output")" = 3 ]
	line '^response from=1\.echo '
	[ "$(recvs "$C/echo.1.out")" = 1 ]
	[ "$(recvs "$C/echo.2.out")" = 2 ]
}

@test "seed003#6 broadcast on 5 nodes, node 5 killed (kill -9) while the broadcast waits on it: node-down for it, delivered for the rest, within msg_timeout_ms" {
	cluster 5
	local k l us
	for k in 1 2 3 4 5; do
		svc "$k" echo echo
	done
	# Stopped, node 5 keeps its connections but answers nothing: the
	# broadcast reaches it and waits.  Then it dies.
	kill -STOP "$(node_pid 5)"
	OUT=$C/bcast.out
	bg "$CLSVC" -f "$(conf 1)" req '*.echo' --rcpt -t 10000
	local req=$LAST_PID
	sleep 0.2
	"$CLUSTERCTL" kill "$C" 5
	wait "$req" || true
	cat "$OUT"
	l=$(grep '^receipt ' "$OUT")
	case "$(field "$l" node.5)" in
	node-down|timeout) ;;
	*) flunk "node 5: $l" ;;
	esac
	check_receipt "$l" failed 4 2=delivered 3=delivered 4=delivered \
	    5="$(field "$l" node.5)"
	us=$(field "$l" us)
	echo "receipt after $((us / 1000)) ms (msg_timeout_ms $MSG_TIMEOUT_MS)"
	[ "$us" -le $(((MSG_TIMEOUT_MS + 500) * 1000)) ]
}

@test "seed003#6 broadcast right after kill -9 of node 5: node-down for it at once, delivered for the rest" {
	cluster 5
	local k l us
	for k in 1 2 3 4 5; do
		svc "$k" echo echo
	done
	"$CLUSTERCTL" kill "$C" 5
	run clsvc 1 req '*.echo' --rcpt --resp -t 5000
	echo "$output"
	l=$(line '^receipt ')
	case "$(field "$l" node.5)" in
	node-down|timeout) ;;
	*) flunk "node 5: $l" ;;
	esac
	check_receipt "$l" failed 4 2=delivered 3=delivered 4=delivered \
	    5="$(field "$l" node.5)"
	us=$(field "$l" us)
	[ "$us" -le $(((MSG_TIMEOUT_MS + 500) * 1000)) ]
	# The responses of the live nodes still come.
	[ "$(grep -c '^response ' <<<"$output")" = 3 ]
}

@test "seed003#6 a stopped node (SIGSTOP) is reported timeout after msg_timeout_ms, the others delivered" {
	export CL_EXTRA_CONF="msg_timeout_ms = 500"
	MSG_TIMEOUT_MS=500
	cluster 3
	local k l us pid
	for k in 1 2 3; do
		svc "$k" echo echo
	done
	pid=$(node_pid 3)
	kill -STOP "$pid"
	run clsvc 1 req '*.echo' --rcpt -t 5000
	kill -CONT "$pid"
	echo "$output"
	l=$(line '^receipt ')
	check_receipt "$l" failed 2 2=delivered 3=timeout
	us=$(field "$l" us)
	echo "receipt after $((us / 1000)) ms (msg_timeout_ms 500)"
	[ "$us" -ge $(((MSG_TIMEOUT_MS - 20) * 1000)) ]
	[ "$us" -le $(((MSG_TIMEOUT_MS + 500) * 1000)) ]
}

@test "003§8.1 a request to a missing service gets no-service, directed and broadcast; a bad address gets error invalid" {
	cluster 3
	svc 3 echo echo
	run clsvc 1 req 2.nosuch --rcpt --resp -t 1000
	echo "$output"
	check_receipt "$(line '^receipt ')" failed 1 2=no-service
	! grep -q '^response ' <<<"$output"

	run clsvc 1 req '*.echo' --rcpt --resp -t 1000
	echo "$output"
	check_receipt "$(line '^receipt ')" failed 2 2=no-service 3=delivered
	[ "$(grep -c '^response ' <<<"$output")" = 1 ]

	# Node 9 is not in the config; "3echo" is no address.
	run clsvc 1 req 9.echo --rcpt -t 1000
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$(field "$(line '^error ')" status)" = invalid ]
	run clsvc 1 req 3echo --rcpt -t 1000
	echo "$output"
	[ "$(field "$(line '^error ')" status)" = invalid ]
}

@test "seed003#18 seed003#19 third-party originator: node 1 asks node 2 (relay) to call node 3 (echo); the response reaches node 1, not the relay" {
	cluster 3
	local t r
	svc 3 echo echo
	svc 2 relay relay 3.echo
	run clsvc 1 req 2.relay --rcpt --resp -p on-behalf -t 3000
	echo "$output"
	[ "$status" -eq 0 ]
	t=$(field "$(line '^sent ')" txid)
	check_receipt "$(line '^receipt ')" ok 1 2=delivered
	r=$(line '^response ')
	[ "$(field "$r" from)" = 3.echo ]
	[ "$(field "$r" txid)" = "$t" ]
	[ "$(field "$r" payload)" = on-behalf ]
	cat "$C/relay.2.out" "$C/echo.3.out"
	# The echo saw the relay as sender and node 1's client as originator.
	grep -E "^recv op=req txid=$t from=2\\.relay orig=1\\.clsvc\\.[0-9]+ " "$C/echo.3.out"
	grep -E "^relay txid=$t from=1\\.clsvc\\.[0-9]+ " "$C/relay.2.out"
	# No response went to the relay.
	[ "$(recvs "$C/relay.2.out")" = 0 ]
}

@test "seed003#2 seed003#22 10,000 frames in a burst arrive in order, none lost or duplicated (with and without receipts)" {
	cluster 3
	local s
	svc 2 sink sink -n 10000 -i 5000
	local sink=$SVC_PID
	run clsvc 1 blast 2.sink -n 10000 -s 256
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(field "$(line '^blast sent=')" sent)" = 10000 ]
	wait "$sink" || true
	s=$(grep '^sink ' "$C/sink.2.out")
	echo "$s"
	[ "$(field "$s" received)" = 10000 ]
	[ "$(field "$s" inorder)" = 1 ]
	[ "$(field "$s" dups)" = 0 ]
	[ "$(field "$s" gaps)" = 0 ]
	[ "$(field "$s" bad)" = 0 ]

	svc 3 sink sink -n 10000 -i 5000
	sink=$SVC_PID
	run clsvc 1 blast 3.sink -n 10000 -s 256 --rcpt
	echo "$output"
	[ "$status" -eq 0 ]
	s=$(line '^blast receipts=')
	[ "$(field "$s" receipts)" = 10000 ]
	[ "$(field "$s" delivered)" = 10000 ]
	[ "$(field "$s" errors)" = 0 ]
	wait "$sink" || true
	s=$(grep '^sink ' "$C/sink.3.out")
	echo "$s"
	[ "$(field "$s" received)" = 10000 ]
	[ "$(field "$s" inorder)" = 1 ]
	[ "$(field "$s" dups)" = 0 ]
	[ "$(field "$s" gaps)" = 0 ]
}

@test "seed003#22 a frame sent again with the same originator and txid is dropped; its receipt still says delivered" {
	cluster 2
	local s
	svc 2 sink sink -i 1500
	local sink=$SVC_PID
	run clsvc 1 -N dupsrc blast 2.sink -n 100 -s 64 --rcpt
	echo "$output"
	[ "$(field "$(line '^blast receipts=')" delivered)" = 100 ]
	run clsvc 1 -N dupsrc blast 2.sink -n 100 -s 64 --rcpt
	echo "$output"
	[ "$(field "$(line '^blast receipts=')" delivered)" = 100 ]
	wait "$sink" || true
	s=$(grep '^sink ' "$C/sink.2.out")
	echo "$s"
	[ "$(field "$s" received)" = 100 ]
	[ "$(field "$s" dups)" = 0 ]
	[ "$(field "$s" gaps)" = 0 ]
}

@test "seed003#21 seed003#22 resending the txids that got queue-full delivers them: only a delivered frame counts as seen" {
	cluster 2
	local s b
	svc 2 sink sink -n 2000 -i 3000
	local sink=$SVC_PID
	# A stopped sink reads nothing: its queue fills.
	kill -STOP "$sink"
	run clsvc 1 -N retrier blast 2.sink -n 2000 -s 4096 --rcpt
	echo "$output"
	b=$(line '^blast receipts=')
	[ "$(field "$b" queue-full)" -gt 0 ] || flunk "no queue-full: $b"
	kill -CONT "$sink"
	sleep 0.5
	# The daemon-level retry of seed003#21: the same txids again, slowly
	# enough for the sink to keep up.
	run clsvc 1 -N retrier blast 2.sink -n 2000 -s 4096 --rcpt -w 32
	echo "$output"
	b=$(line '^blast receipts=')
	[ "$(field "$b" queue-full)" = 0 ] || flunk "queue-full again, inconclusive: $b"
	wait "$sink" || true
	s=$(grep '^sink ' "$C/sink.2.out")
	echo "$s"
	[ "$(field "$s" dups)" = 0 ]
	[ "$(field "$s" gaps)" = 0 ] ||
	    flunk "frames refused with queue-full were later reported delivered but never handed over"
	[ "$(field "$s" received)" = 2000 ]
}

@test "seed003#7 seed003#8 a client that stops reading: senders get queue-full at once, another service on its node still answers, membership unaffected" {
	cluster 3
	local b e0 rss t0 t1
	e0=$(epoch_of 1)
	svc 2 stall stall
	local stall=$SVC_PID
	svc 2 echo echo
	t0=$(now_ms)
	run clsvc 1 blast 2.stall -n 2000 -s 4096 --rcpt -t 5000
	t1=$(now_ms)
	echo "$output"
	[ "$status" -eq 0 ]
	b=$(line '^blast receipts=')
	[ "$(field "$b" receipts)" = 2000 ]
	# seed003#7/#8: the first frames are delivered (to the queue) though
	# the service never reads them; then the queue is full.
	[ "$(field "$b" delivered)" -gt 0 ]
	[ "$(field "$b" queue-full)" -gt 0 ]
	[ "$(field "$b" timeout)" = 0 ]
	[ "$(field "$b" errors)" = 0 ]
	echo "2000 frames of 4 KiB answered in $((t1 - t0)) ms"
	[ $((t1 - t0)) -lt 5000 ]
	# A second sender, from another node: queue-full at once too (a
	# frame as big as those refused: a tiny one may still fit).
	run clsvc 3 req 2.stall --rcpt -s 16384 -t 2000
	echo "$output"
	check_receipt "$(line '^receipt ')" failed 1 2=queue-full
	[ "$(field "$(line '^receipt ')" us)" -lt 500000 ]
	# The other service on node 2 answers; so does the daemon.
	run clsvc 1 req 2.echo --rcpt --resp -p still-here
	echo "$output"
	[ "$status" -eq 0 ]
	check_receipt "$(line '^receipt ')" ok 1 2=delivered
	[ "$(field "$(line '^response ')" payload)" = still-here ]
	run clsvc 2 rtt 2.clmemberd -o ping -n 20 -t 1000
	echo "$output"
	[ "$status" -eq 0 ]
	wait_view 1,2,3 1000
	[ "$(epoch_of 1)" = "$e0" ] || flunk "the view changed: $(view 1)"
	rss=$(rss_kb "$(node_pid 2)")
	echo "node 2 RSS $rss kB"
	[ "$rss" -lt 65536 ]
	# Once the stalled client goes, so does its service.
	kill "$stall"
	wait_for 5000 eval '! listed 1 2 stall'
	run clsvc 1 req 2.stall --rcpt -t 1000
	check_receipt "$(line '^receipt ')" failed 1 2=no-service
}

@test "seed003#9 seed003#10 rcpt_max smaller than the cluster: size-needed with need=, nothing sent; with room enough it goes" {
	cluster 3
	local k l
	for k in 1 2 3; do
		svc "$k" echo echo
	done
	run clsvc 1 req '*.echo' --rcpt --resp --rcpt-max 1 -t 1000
	echo "$output"
	l=$(line '^receipt ')
	[ "$(field "$l" status)" = size-needed ] || flunk "$l"
	[ "$(field "$l" need)" = 2 ]
	! grep -q '^response ' <<<"$output"
	sleep 0.3
	for k in 2 3; do
		[ "$(recvs "$C/echo.$k.out")" = 0 ] || flunk "node $k got it: $(cat "$C/echo.$k.out")"
	done
	# With self=1 the broadcast has 3 targets.
	run clsvc 1 req '*.echo' --rcpt --self --rcpt-max 2 -t 1000
	echo "$output"
	[ "$(field "$(line '^receipt ')" need)" = 3 ]
	# A second send with room enough succeeds (seed003#9).
	run clsvc 1 req '*.echo' --rcpt --resp --rcpt-max 2
	echo "$output"
	[ "$status" -eq 0 ]
	check_receipt "$(line '^receipt ')" ok 2 2=delivered 3=delivered
	[ "$(grep -c '^response ' <<<"$output")" = 2 ]
	run clsvc 1 req 3.echo --rcpt --rcpt-max 1
	check_receipt "$(line '^receipt ')" ok 1 3=delivered
}

@test "seed003#14 a response never gets a receipt, even when it asks for one" {
	cluster 3
	# Echo's responses carry rcpt=1: the router must ignore it.
	svc 3 echo echo --rcpt
	svc 2 echo echo
	run clsvc 1 req 3.echo --rcpt --resp
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^receipt ' <<<"$output")" = 1 ]
	line '^response from=3\.echo '
	sleep 0.5
	cat "$C/echo.3.out"
	! grep -q '^receipt ' "$C/echo.3.out"
	! grep -q '^other ' "$C/echo.3.out"
	# A frame sent as a response (re=1) with rcpt=1: delivered, no receipt.
	run clsvc 1 req 2.echo --re --rcpt -t 1000
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -q '^receipt ' <<<"$output"
	! grep -q '^error ' <<<"$output"
	wait_for 2000 grep -q '^recv op=req .* re=1 ' "$C/echo.2.out"
}

@test "seed003#3 fire and forget: without rcpt=1 no receipt comes back, the frame still arrives" {
	cluster 3
	svc 2 echo echo
	run clsvc 1 req 2.echo -p fire -t 1000
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -q '^receipt ' <<<"$output"
	! grep -q '^response ' <<<"$output"
	! grep -q '^error ' <<<"$output"
	wait_for 2000 grep -q '^recv op=req .* len=4 ' "$C/echo.2.out"
	# Nor for a broadcast.
	run clsvc 1 req '*.echo' -t 1000
	echo "$output"
	! grep -q '^receipt ' <<<"$output"
}

@test "003§8.1 service names: a taken name is refused (exists), a bad one (invalid); clmemberd is built in and answers ping" {
	cluster 2
	svc 2 echo echo
	run clsvc 2 -N echo stall -T 1000
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"status=exists"* ]]
	run clsvc 2 -N clmemberd stall -T 1000
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"status=exists"* ]]
	run clsvc 2 -N Bad/Name stall -T 1000
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"status=invalid"* ]]
	listed 1 2 clmemberd
	run clsvc 1 rtt 2.clmemberd -o ping -n 10
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(field "$output" ok)" = 10 ]
}

# --- clmember ping, send, services (the tools of issue 4). ---

# has_cmd NAME: clmember knows the command.
has_cmd() {
	"$CLMEMBER" 2>&1 | grep -qE "^[[:space:]]+$1( |$)"
}

@test "clmember ping NODE -c 5: a pong line with rtt_us= per reply and a summary" {
	has_cmd ping || skip "clmember has no ping yet"
	cluster 3
	run member 1 ping 3 -c 5
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -cE '^pong node=3 seq=[0-9]+ rtt_us=[0-9]+$' <<<"$output")" = 5 ]
	line '^ping node=3 sent=5 received=5 '
	run member 1 ping 9 -c 1
	echo "$output"
	[ "$status" -ne 0 ]
}

@test "clmember send --to NODE.SERVICE --rcpt --resp: prints the receipt and the response; a missing service fails" {
	has_cmd send || skip "clmember has no send yet"
	cluster 3
	local l
	svc 3 echo echo
	run member 1 send --to 3.echo --rcpt --resp via-clmember
	echo "$output"
	[ "$status" -eq 0 ]
	l=$(line '^receipt ')
	[ "$(field "$l" status)" = ok ]
	[ "$(field "$l" node.3)" = delivered ]
	line '^response from=3\.echo '
	grep -q 'via-clmember' <<<"$output"
	grep -qE '^recv op=.* from=1\.clmember' "$C/echo.3.out"
	run member 1 send --to 2.nosuch --rcpt
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$(field "$(line '^receipt ')" node.2)" = no-service ]
}

@test "clmember services: one line per service of every node" {
	has_cmd services || skip "clmember has no services yet"
	cluster 3
	local k
	svc 2 echo echo
	run member 1 services
	echo "$output"
	[ "$status" -eq 0 ]
	line '^service node=2 name=echo$'
	for k in 1 2 3; do
		line "^service node=$k name=clmemberd\$"
	done
}
