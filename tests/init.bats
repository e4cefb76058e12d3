#!/usr/bin/env bats
#
# Init files (etc/systemd, etc/rc.d, etc/runit, etc/s6) and make install:
# README.md, "Starting cl at boot".  The units must pass systemd-analyze
# verify, the scripts sh -n and shellcheck, and make install must put
# every daemon, manual page and init file where the README says.

load lib/common

ROOT=$(cd "$TESTS_DIR/.." && pwd)

# The daemons (sbin) and the units that run them.
DAEMONS="clmemberd cllaunch cliod clsessiond clmetad"
UNITS="clmemberd.service cllaunch.service cliod.service clsessiond.service
    clmetad@.service"

# Where make install puts the rc.d scripts: /etc/rc.d on OpenBSD, examples
# under share/cl elsewhere.
rcdir() {
	if [ "$(uname -s)" = OpenBSD ]; then
		echo /etc/rc.d
	else
		echo "$1/share/cl/rc.d"
	fi
}

# install_to DESTDIR [make variables...]
install_to() {
	run make -C "$ROOT" --no-print-directory install DESTDIR="$1" \
	    "${@:2}"
	echo "$output"
	[ "$status" -eq 0 ]
}

# The executable scripts under the installed init directories of $D.
scripts() {
	find "$D/usr/share/cl/runit" "$D/usr/share/cl/s6" \
	    "$D$(rcdir /usr)" -type f -perm -u+x | LC_ALL=C sort
}

@test "make install puts every daemon, man page and init file where the README says" {
	D=$BATS_TEST_TMPDIR/root
	install_to "$D" PREFIX=/usr
	for p in $DAEMONS; do
		[ -x "$D/usr/sbin/$p" ] || { echo "no /usr/sbin/$p"; false; }
	done
	for p in clmember clfs clsession clhsm; do
		[ -x "$D/usr/bin/$p" ] || { echo "no /usr/bin/$p"; false; }
	done
	for m in "$ROOT"/man/man[158]/*.[158]; do
		s=${m##*/man/}
		[ -f "$D/usr/share/man/$s" ] || { echo "no man page $s"; false; }
	done
	[ -f "$D/etc/cl/cl.conf.example" ]
	for u in $UNITS; do
		f=$D/usr/lib/systemd/system/$u
		[ -f "$f" ] || { echo "no unit $u"; false; }
	done
	for s in clmemberd cllaunch; do
		[ -x "$D$(rcdir /usr)/$s" ] || { echo "no rc.d/$s"; false; }
		[ -x "$D/usr/share/cl/runit/$s/run" ]
		[ -x "$D/usr/share/cl/runit/$s/log/run" ]
		[ -x "$D/usr/share/cl/s6/$s/run" ]
		[ "$(cat "$D/usr/share/cl/s6/$s/type")" = longrun ]
		[ -x "$D/usr/share/cl/s6/$s-log/run" ]
	done
	[ -x "$D/usr/share/cl/runit/clmemberd/check" ]
	[ -f "$D/usr/share/cl/s6/cllaunch/dependencies.d/clmemberd" ]
	[ "$(cat "$D/usr/share/cl/s6/cl/type")" = bundle ]
	# Every init file of etc/ is installed, without its .in, with the
	# install paths in place of @SBINDIR@, @BINDIR@ and @SYSCONFDIR@.
	cd "$ROOT/etc"
	n=0
	while read -r f; do
		case $f in
		systemd/*) d=/usr/lib/systemd/system ;;
		rc.d/*) d=$(rcdir /usr) ;;
		runit/*) d=/usr/share/cl/runit ;;
		s6/*) d=/usr/share/cl/s6 ;;
		esac
		t=$D$d/${f#*/}
		t=${t%.in}
		[ -f "$t" ] || { echo "etc/$f not installed as $t"; false; }
		if [ -x "$f" ]; then [ -x "$t" ]; fi
		! grep -n '@[A-Z]*@' "$t"
		n=$((n + 1))
	done < <(find systemd rc.d runit s6 -type f)
	[ "$n" -ge 30 ]
	grep -qx 'ExecStart=/usr/sbin/clmemberd -f /etc/cl/cl.conf' \
	    "$D/usr/lib/systemd/system/clmemberd.service"
	grep -qx 'ExecStart=/usr/sbin/clmetad -f /etc/cl/cl.conf -F %i' \
	    "$D/usr/lib/systemd/system/clmetad@.service"
	grep -qx 'exec /usr/sbin/cllaunch -d -f /etc/cl/cl.conf' \
	    "$D/usr/share/cl/runit/cllaunch/run"
	grep -qx 'daemon="/usr/sbin/clmemberd"' "$D$(rcdir /usr)/clmemberd"
}

@test "make install honours SYSTEMDDIR, RCDIR, RUNITDIR and S6DIR" {
	D=$BATS_TEST_TMPDIR/root
	run make -C "$ROOT" --no-print-directory install-init DESTDIR="$D" \
	    PREFIX=/opt/cl SYSCONFDIR=/opt/cl/etc SYSTEMDDIR=/sd \
	    RCDIR=/rc RUNITDIR=/sv S6DIR=/s6
	echo "$output"
	[ "$status" -eq 0 ]
	[ -f "$D/sd/cllaunch.service" ]
	[ -x "$D/rc/cllaunch" ]
	[ -x "$D/sv/cllaunch/run" ]
	[ -x "$D/s6/cllaunch/run" ]
	grep -qx 'ExecStart=/opt/cl/sbin/cllaunch -f /opt/cl/etc/cl.conf' \
	    "$D/sd/cllaunch.service"
	grep -q '^exec /opt/cl/bin/clmember -f /opt/cl/etc/cl.conf status' \
	    "$D/sv/clmemberd/check"
	[ "$(find "$D" -type f | grep -cv '^'"$D"'/\(sd\|rc\|sv\|s6\)/')" = 0 ]
}

@test "the systemd units pass systemd-analyze verify" {
	command -v systemd-analyze ||
	    skip "systemd-analyze is not installed (Debian package systemd)"
	# verify wants each ExecStart= program to exist: install under a
	# real prefix, not a DESTDIR.
	R=$BATS_TEST_TMPDIR/prefix
	install_to "" PREFIX="$R/usr" SYSCONFDIR="$R/etc/cl"
	cd "$R/usr/lib/systemd/system"
	# A template is verified as an instance.
	ln -s clmetad@.service clmetad@fs1.service
	for u in $UNITS clmetad@fs1.service; do
		[ -f "$u" ]
		grep -q "^ExecStart=$R/usr/sbin/" "$u"
		run systemd-analyze verify --man=no "$PWD/$u"
		echo "$u: $output"
		[ "$status" -eq 0 ]
		# Unknown keys and bad values are only warnings.
		[ -z "$output" ]
	done
}

@test "the units' Documentation= manual pages exist" {
	n=0
	for m in $(grep -ho 'man:[a-z.-]*([0-9])' "$ROOT"/etc/systemd/*.in |
	    sort -u); do
		name=${m#man:}
		name=${name%(*}
		sec=${m#*(}
		sec=${sec%)}
		f=$ROOT/man/man$sec/$name.$sec
		[ -f "$f" ] || { echo "no $f"; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 6 ]
}

@test "the rc.d, runit and s6 scripts pass sh -n and shellcheck -s sh" {
	D=$BATS_TEST_TMPDIR/root
	install_to "$D" PREFIX=/usr
	mapfile -t f < <(scripts)
	[ "${#f[@]}" -ge 9 ]
	for s in "${f[@]}"; do
		sh -n "$s" || { echo "sh -n: $s"; false; }
	done
	command -v shellcheck ||
	    skip "shellcheck is not installed (Debian package shellcheck)"
	run shellcheck -s sh "${f[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "clmemberd starts before cllaunch in every init system" {
	cd "$ROOT/etc"
	grep -qx 'Requires=clmemberd.service' systemd/cllaunch.service.in
	grep -q '^After=clmemberd.service' systemd/cllaunch.service.in
	grep -qx 'KillMode=mixed' systemd/cllaunch.service.in
	for u in cliod clsessiond clmetad@; do
		grep -qx 'Requires=clmemberd.service' "systemd/$u.service.in"
		grep -q '^After=clmemberd.service' "systemd/$u.service.in"
	done
	grep -qx 'sv check clmemberd >/dev/null || exit 1' runit/cllaunch/run.in
	[ -f s6/cllaunch/dependencies.d/clmemberd ]
	grep -q 'rcctl enable clmemberd cllaunch' rc.d/cllaunch.in
}

@test "the s6-rc source directories are consistent" {
	cd "$ROOT/etc/s6"
	for s in */; do
		s=${s%/}
		t=$(cat "$s/type")
		case $t in
		longrun)
			[ -x "$s/run" ] || [ -x "$s/run.in" ]
			;;
		bundle)
			[ -d "$s/contents.d" ]
			;;
		*)
			echo "$s: type $t"
			false
			;;
		esac
		if [ -f "$s/producer-for" ]; then
			c=$(cat "$s/producer-for")
			[ "$(cat "$c/consumer-for")" = "$s" ]
		fi
		if [ -f "$s/consumer-for" ]; then
			p=$(cat "$s/consumer-for")
			[ "$(cat "$p/producer-for")" = "$s" ]
		fi
		if [ -f "$s/notification-fd" ]; then
			n=$(cat "$s/notification-fd")
			grep -Eq -- "-(r |d)$n( |\$)" "$s"/run*
		fi
		for d in "$s"/dependencies.d/* "$s"/contents.d/*; do
			[ -e "$d" ] || continue
			d=${d##*/}
			[ -d "$d" ] || grep -qx "$d" ./*/pipeline-name ||
			    { echo "$s: no service $d"; false; }
		done
	done
}

@test "the sample cl.conf declares the services cllaunch starts" {
	run "$CLMEMBERD" -nv -f "$ROOT/etc/cl.conf"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx 'service cliod {' <<<"$output"
	grep -qx 'service clsessiond {' <<<"$output"
	grep -qx 'service clmetad.fs1 {' <<<"$output"
}
