# order.awk: check the layered order of one transition (seed 004 L169-173,
# L201) from the output files of `clmember subscribe`, one file per
# subscriber.  POSIX awk (mawk, gawk, BSD awk); no python needed.
#
#	awk -f order.awk -v kind=join|leave|forced -v node=N \
#	    -v parts=1,2,3 -v layers=10,20,30 [-v tid=T] \
#	    [-v states=1:joined,2:joined,3:leaving] FILE...
#
# A subscriber file starts with "registered name=.. layer=L node=K ..."
# (K is the subscriber's own node), then has "notify node=N trans=..
# layer=L barrier=B barriers=NB tid=T ... states=.. time=S.U" lines and,
# for each, an "ack node=N trans=.. layer=L barrier=B tid=T time=S.U"
# line printed just before the acknowledgement is sent.
#
# For the transition of node N of the given kind (the only one in the
# files, or the one with tid=T) it checks:
#   (a) every subscriber on a node in parts at a layer in layers got every
#       barrier of its layer and acknowledged it; every (node, layer) pair
#       of parts x layers has a subscriber; nobody else was told (no node
#       outside parts, no layer outside layers);
#   (b) the order of the steps is the seed's: join and forced leave
#       bottom-up (ascending layers), graceful leave top-down (L169), and
#       within a layer barrier 0, 1, ... (L201);
#   (c) the barrier: for consecutive steps s, s' in that order, the
#       latest acknowledgement of s on any node comes before the earliest
#       notification of s' on any node (L171, L173, L201).
#   (d) with states=, every notification carries exactly that state list
#       (Table 1, L205-214).
# Lines with local=1 (a node's own forced leave, run alone) are ignored.
# Prints "ok ..." and exits 0, or one line per problem, a trace of the
# steps, and exits 1.

function fail(msg) {
	if (msg in said)
		return
	said[msg] = 1
	print "order: " msg
	bad++
}

# "S.U" (seconds, microseconds) as an exact integer count of microseconds
# since an epoch near now: doubles cannot hold 16 digits exactly.
function usec(s,    a, n, frac) {
	n = split(s, a, ".")
	frac = (n > 1) ? a[2] : "0"
	while (length(frac) < 6)
		frac = frac "0"
	return (a[1] - 1700000000) * 1000000 + substr(frac, 1, 6)
}

function fmt(us) {
	return sprintf("%d.%06d", int(us / 1000000) + 1700000000, us % 1000000)
}

function val(key,    i, kv) {
	for (i = 2; i <= NF; i++)
		if (index($i, key "=") == 1)
			return substr($i, length(key) + 2)
	return ""
}

# Layer a comes before layer b in the seed's order for kind (L169).
function before(a, b) {
	if (kind == "leave")
		return a + 0 > b + 0
	return a + 0 < b + 0
}

# The kind as people say it.
function kname(k) {
	return k == "forced" ? "forced leave" : k == "leave" ? "graceful leave" : k
}

function inlist(x, list,    a, n, i) {
	n = split(list, a, ",")
	for (i = 1; i <= n; i++)
		if (a[i] == x)
			return 1
	return 0
}

BEGIN {
	if (kind != "join" && kind != "leave" && kind != "forced") {
		print "order: kind must be join, leave or forced"
		bad_usage = 1
		exit 2
	}
	if (node == "" || parts == "" || layers == "") {
		print "order: need -v node=N -v parts=LIST -v layers=LIST"
		bad_usage = 1
		exit 2
	}
	n = 0
	bad = 0
}

FNR == 1 {
	nfiles++
	files[nfiles] = FILENAME
}

$1 == "registered" {
	if (!(FILENAME in subnode)) {
		subnode[FILENAME] = val("node")
		sublayer[FILENAME] = val("layer")
	}
	next
}

($1 == "notify" || $1 == "ack") && val("node") == node &&
    val("trans") == kind && val("local") == "" {
	n++
	E_file[n] = FILENAME
	E_op[n] = $1
	E_layer[n] = val("layer")
	E_barrier[n] = val("barrier")
	E_barriers[n] = val("barriers")
	E_tid[n] = val("tid")
	E_states[n] = val("states")
	E_time[n] = usec(val("time"))
	if (!((E_tid[n]) in tidseen)) {
		tidseen[E_tid[n]] = 1
		ntids++
		tidlist = tidlist (tidlist == "" ? "" : " ") E_tid[n]
	}
}

END {
	if (bad_usage)
		exit 2
	for (f = 1; f <= nfiles; f++)
		if (!(files[f] in subnode))
			fail(files[f] ": no \"registered\" line")
	if (tid == "") {
		if (ntids == 0) {
			fail("no notification of the " kname(kind) " of node " \
			    node " in any file")
			exit 1
		}
		if (ntids > 1) {
			fail("several " kname(kind) " transitions of node " node \
			    " (tids " tidlist "); pass -v tid=")
			exit 1
		}
		tid = tidlist
	} else if (!(tid in tidseen)) {
		fail("no notification of the " kname(kind) " of node " node \
		    " with tid " tid)
		exit 1
	}

	# The seed's order of the expected layers (L169).
	nl = split(layers, L, ",")
	for (i = 1; i <= nl; i++)
		for (j = i + 1; j <= nl; j++)
			if (before(L[j], L[i])) {
				t = L[i]; L[i] = L[j]; L[j] = t
			}
	np = split(parts, P, ",")

	# Barrier counts per layer, from the notifications.
	for (e = 1; e <= n; e++) {
		if (E_tid[e] != tid)
			continue
		f = E_file[e]
		if (E_layer[e] != sublayer[f])
			fail(f ": told layer " E_layer[e] " but registered at " \
			    "layer " sublayer[f])
		if (!inlist(subnode[f], parts))
			fail("node " subnode[f] " (not taking part) was told: " \
			    f " layer " E_layer[e] " barrier " E_barrier[e])
		if (!inlist(E_layer[e], layers))
			fail("layer " E_layer[e] " on node " subnode[f] \
			    " was told, but the " kname(kind) " must not reach it (" f ")")
		if (E_op[e] == "notify") {
			if (E_layer[e] in nb && nb[E_layer[e]] != E_barriers[e])
				fail("layer " E_layer[e] ": barriers=" \
				    nb[E_layer[e]] " and barriers=" E_barriers[e])
			nb[E_layer[e]] = E_barriers[e]
			if (states != "" && E_states[e] != states)
				fail(f ": layer " E_layer[e] " barrier " \
				    E_barrier[e] ": states=" E_states[e] \
				    ", want states=" states)
		}
		k = f SUBSEP E_layer[e] SUBSEP E_barrier[e]
		if (E_op[e] == "notify") {
			if (!(k in tn) || E_time[e] < tn[k])
				tn[k] = E_time[e]
		} else {
			if (!(k in ta) || E_time[e] > ta[k])
				ta[k] = E_time[e]
		}
	}

	# (a) every subscriber of every taking part node and layer.
	for (i = 1; i <= np; i++)
		for (j = 1; j <= nl; j++) {
			have = 0
			for (f = 1; f <= nfiles; f++)
				if (subnode[files[f]] == P[i] &&
				    sublayer[files[f]] == L[j])
					have = 1
			if (!have)
				fail("no subscriber file for node " P[i] \
				    " layer " L[j])
		}
	nsteps = 0
	for (j = 1; j <= nl; j++) {
		if (!(L[j] in nb)) {
			fail("layer " L[j] " was told on no node")
			continue
		}
		for (b = 0; b < nb[L[j]]; b++) {
			nsteps++
			SL[nsteps] = L[j]
			SB[nsteps] = b
			minn[nsteps] = -1
			maxa[nsteps] = -1
			for (f = 1; f <= nfiles; f++) {
				fn = files[f]
				if (sublayer[fn] != L[j] ||
				    !inlist(subnode[fn], parts))
					continue
				k = fn SUBSEP L[j] SUBSEP b
				if (!(k in tn)) {
					fail("node " subnode[fn] " layer " L[j] \
					    " barrier " b " was not told (" fn ")")
					continue
				}
				if (!(k in ta)) {
					fail("node " subnode[fn] " layer " L[j] \
					    " barrier " b " did not acknowledge (" \
					    fn ")")
					continue
				}
				if (minn[nsteps] < 0 || tn[k] < minn[nsteps]) {
					minn[nsteps] = tn[k]
					minf[nsteps] = subnode[fn]
				}
				if (ta[k] > maxa[nsteps]) {
					maxa[nsteps] = ta[k]
					maxf[nsteps] = subnode[fn]
				}
			}
		}
	}

	# (b), (c) order and barrier between consecutive steps.
	for (s = 1; s < nsteps; s++) {
		if (maxa[s] < 0 || minn[s + 1] < 0)
			continue
		if (!(maxa[s] < minn[s + 1]))
			fail("layer " SL[s + 1] " barrier " SB[s + 1] \
			    " was told on node " minf[s + 1] " at " \
			    fmt(minn[s + 1]) " before layer " SL[s] " barrier " \
			    SB[s] " acknowledged on node " maxf[s] " at " \
			    fmt(maxa[s]))
	}

	if (bad) {
		print "order: " kname(kind) " of node " node " (tid " tid "), steps " \
		    "in the seed's order (first notify .. last ack):"
		for (s = 1; s <= nsteps; s++)
			print "order:   layer " SL[s] " barrier " SB[s] ": " \
			    (minn[s] < 0 ? "-" : fmt(minn[s])) " .. " \
			    (maxa[s] < 0 ? "-" : fmt(maxa[s]))
		exit 1
	}
	line = ""
	for (s = 1; s <= nsteps; s++)
		line = line " " SL[s] "/" SB[s]
	print "ok " kind " of node " node " tid " tid " on nodes " parts \
	    ", steps (layer/barrier):" line
	exit 0
}
