# Layer-order helpers for the bats suites.  Load with: load lib/order
# (after lib/common).

# check_order KIND NODE PARTS LAYERS FILE...: check with order.awk that the
# KIND (join, leave, forced) transition of NODE went through LAYERS (a set,
# e.g. 10,20,30; the checker puts them in the seed's order) on every node
# of PARTS, one layer and barrier at a time, as the subscriber output
# FILEs recorded it.  $TID picks one transition when the files hold
# several; $STATES, if set, is the states= every notification must carry.
check_order() {
	local kind=$1 node=$2 parts=$3 layers=$4
	shift 4
	awk -f "$TESTS_DIR/lib/order.awk" -v kind="$kind" -v node="$node" \
	    -v parts="$parts" -v layers="$layers" -v tid="${TID:-}" \
	    -v states="${STATES:-}" "$@"
}

# settled K...: no transition is in progress on any of these nodes.
settled() {
	local k out
	for k in "$@"; do
		out=$(member "$k" status) || return 1
		grep -q '^transition ' <<<"$out" && return 1
	done
	return 0
}

# cluster_wait MEMBERS [MS]: every node of MEMBERS reports that view, with
# quorum and one epoch, and no transition is left on any of them.
cluster_wait() {
	local members=$1 ms=${2:-20000}
	"$CLUSTERCTL" wait "$C" "$members" "$ms" || return 1
	wait_for "$ms" settled ${members//,/ }
}
