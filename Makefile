# cl: cluster file service.  See README.md.

PREFIX ?=	/usr/local
BINDIR ?=	$(PREFIX)/bin
SBINDIR ?=	$(PREFIX)/sbin
MANDIR ?=	$(PREFIX)/share/man
SYSCONFDIR ?=	/etc/cl
DESTDIR ?=

CC ?=		cc
PKG_CONFIG ?=	pkg-config
PKGS =		libbsd-overlay libconfuse libsodium

CFLAGS ?=	-O2 -g
WARNINGS =	-Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
		-Wshadow -Wpointer-arith -Wcast-qual -Wsign-compare -Werror
CPPFLAGS +=	-std=c11 -D_DEFAULT_SOURCE -Ilibcl \
		$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS +=	$(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm

OBJDIR ?=	obj
BIN ?=		bin

LIBCL_SRC =	libcl/auth.c libcl/buf.c libcl/conf.c libcl/conn.c libcl/ctl.c \
		libcl/client.c libcl/dbclient.c \
		libcl/fsproto.c libcl/log.c libcl/loop.c libcl/msg.c \
		libcl/sock.c libcl/vol.c libcl/wire.c
CLMEMBERD_SRC =	$(wildcard cmd/clmemberd/*.c)
CLMEMBER_SRC =	$(wildcard cmd/clmember/*.c)
CLMETAD_SRC =	$(wildcard cmd/clmetad/*.c)
CLIOD_SRC =	$(wildcard cmd/cliod/*.c)
CLFS_SRC =	$(wildcard cmd/clfs/*.c)
CLSESSIOND_SRC = $(wildcard cmd/clsessiond/*.c)
CLSESSION_SRC =	$(wildcard cmd/clsession/*.c)
CLLAUNCH_SRC =	$(wildcard cmd/cllaunch/*.c)
CLREBALANCE_SRC = $(wildcard cmd/clrebalance/*.c)
UNIT_SRC =	$(wildcard tests/unit/test_*.c)

LIBCL =		$(OBJDIR)/libcl.a
PROGS =		$(BIN)/clmemberd $(BIN)/clmember $(BIN)/clmetad $(BIN)/cliod \
		$(BIN)/clfs $(BIN)/clsessiond $(BIN)/clsession $(BIN)/clmount
UNITS =		$(UNIT_SRC:tests/unit/%.c=$(BIN)/unit/%)

# clhsm, the HSM DM application (issue 6); before "all:" reads PROGS.
CLHSM_SRC =	$(wildcard cmd/clhsm/*.c)
PROGS +=	$(BIN)/clhsm
PROGS +=	$(BIN)/cllaunch
PROGS +=	$(BIN)/clrebalance

obj =		$(patsubst %.c,$(OBJDIR)/%.o,$(1))

all: $(PROGS)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

$(LIBCL): $(call obj,$(LIBCL_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/clmemberd: $(call obj,$(CLMEMBERD_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/clmember: $(call obj,$(CLMEMBER_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# cliod runs its disk I/O on worker threads.
$(BIN)/clmetad: $(call obj,$(CLMETAD_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/cliod: $(call obj,$(CLIOD_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ $(LDLIBS)

$(BIN)/clfs: $(call obj,$(CLFS_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/clsessiond: $(call obj,$(CLSESSIOND_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/clsession: $(call obj,$(CLSESSION_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/clhsm: $(call obj,$(CLHSM_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/cllaunch: $(call obj,$(CLLAUNCH_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/clrebalance: $(call obj,$(CLREBALANCE_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# clmount: a FUSE client (libfuse3, Debian libfuse3-dev).
CLMOUNT_SRC =	$(wildcard cmd/clmount/*.c)
$(call obj,$(CLMOUNT_SRC)): CPPFLAGS += $(shell $(PKG_CONFIG) --cflags fuse3)
$(BIN)/clmount: $(call obj,$(CLMOUNT_SRC)) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ \
	    $(shell $(PKG_CONFIG) --libs fuse3) $(LDLIBS)

bench-mount: all units
	tests/bench/mount

# Unit tests may test clmemberd's own files: they link from an archive
# of its objects (main left out), so they pull in only what they use.
CLMEMBERD_LIB =	$(OBJDIR)/clmemberd.a
$(CLMEMBERD_LIB): $(call obj,$(filter-out cmd/clmemberd/clmemberd.c,$(CLMEMBERD_SRC)))
	@rm -f $@
	$(AR) rcs $@ $^

# Unit tests include clmemberd.h for its pure modules (cstate, nodeset).
$(OBJDIR)/tests/unit/%.o: CPPFLAGS += -Icmd/clmemberd

$(BIN)/unit/%: $(OBJDIR)/tests/unit/%.o $(CLMEMBERD_LIB) $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# test_place: cllaunch's placement, place.c alone (it needs no daemon).
$(OBJDIR)/tests/unit/test_place.o: CPPFLAGS += -Icmd/cllaunch
$(BIN)/unit/test_place: $(OBJDIR)/cmd/cllaunch/place.o

# test_balance: clrebalance's assignment, balance.c alone (pure).
$(OBJDIR)/tests/unit/test_balance.o: CPPFLAGS += -Icmd/clrebalance
$(BIN)/unit/test_balance: $(OBJDIR)/cmd/clrebalance/balance.o

# Test helpers (fake peers and the like) built from tests/lib/*.c.
TESTTOOL_SRC =	$(wildcard tests/lib/*.c)
TESTTOOLS =	$(TESTTOOL_SRC:tests/lib/%.c=$(BIN)/test/%)
$(BIN)/test/%: $(OBJDIR)/tests/lib/%.o $(LIBCL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

units: $(UNITS) $(TESTTOOLS)

# make check: packages, build, unit tests, bats suites, fuzzing.
# Both cores: CI has 2, and the build is a minute of it serially.
check:
	@tests/deps
	@$(MAKE) -j2 --no-print-directory all units
	@tests/run

# clang's libFuzzer with ASan and UBSan: the frame parser, and the
# cluster-state decoder peers send each other.
FUZZ_TIME ?=	60
FUZZ_CC ?=	clang
FUZZ_FLAGS =	-g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined
FUZZ_TARGETS =	$(BIN)/fuzz/fuzz_wire $(BIN)/fuzz/fuzz_cstate \
		$(BIN)/fuzz/fuzz_route $(BIN)/fuzz/fuzz_vol
FUZZ_WIRE_SRC =	tests/fuzz/fuzz_wire.c libcl/wire.c libcl/buf.c
FUZZ_CSTATE_SRC = tests/fuzz/fuzz_cstate.c cmd/clmemberd/cstate.c libcl/wire.c \
		cmd/clmemberd/nodeset.c libcl/buf.c

FUZZ_ROUTE_SRC = tests/fuzz/fuzz_route.c cmd/clmemberd/route.c \
		cmd/clmemberd/nodeset.c libcl/wire.c libcl/buf.c libcl/loop.c \
		libcl/sock.c \
		libcl/conf.c

FUZZ_VOL_SRC =	tests/fuzz/fuzz_vol.c libcl/vol.c

fuzz-build: $(FUZZ_TARGETS)

fuzz: fuzz-build
	tests/fuzz/run $(FUZZ_TIME)

$(BIN)/fuzz/fuzz_wire: $(FUZZ_WIRE_SRC) $(wildcard libcl/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -o $@ $(FUZZ_WIRE_SRC) $(LDLIBS)

$(BIN)/fuzz/fuzz_cstate: $(FUZZ_CSTATE_SRC) $(wildcard libcl/*.h cmd/clmemberd/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -Icmd/clmemberd $(FUZZ_FLAGS) -o $@ \
	    $(FUZZ_CSTATE_SRC) $(LDLIBS)

$(BIN)/fuzz/fuzz_route: $(FUZZ_ROUTE_SRC) $(wildcard libcl/*.h cmd/clmemberd/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -Icmd/clmemberd $(FUZZ_FLAGS) -o $@ \
	    $(FUZZ_ROUTE_SRC) $(LDLIBS)

$(BIN)/fuzz/fuzz_vol: $(FUZZ_VOL_SRC) $(wildcard libcl/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -o $@ $(FUZZ_VOL_SRC) $(LDLIBS)

# Everything again under ASan and UBSan, in bin/san, for tests/sanitize.bats.
SAN_FLAGS =	-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all
sanitize:
	$(MAKE) --no-print-directory OBJDIR=obj/san BIN=bin/san \
	    CFLAGS="$(SAN_FLAGS)" all units

demo: all
	@tests/demo

bench: all units
	tests/bench/membership
	tests/bench/messaging
	tests/bench/io
	tests/bench/dmapi
	tests/bench/mount
	tests/bench/failover
	tests/bench/rebalance

bench-membership: all
	tests/bench/membership

bench-messaging: all units
	tests/bench/messaging

bench-io: all units
	tests/bench/io

bench-dmapi: all units
	tests/bench/dmapi

install: all install-init
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)
	install -m 755 $(BIN)/clmemberd $(BIN)/clmetad $(BIN)/cliod \
	    $(BIN)/clsessiond $(BIN)/clmount $(BIN)/cllaunch \
	    $(BIN)/clrebalance \
	    $(DESTDIR)$(SBINDIR)/
	install -m 755 $(BIN)/clmember $(BIN)/clfs $(BIN)/clsession \
	    $(BIN)/clhsm $(DESTDIR)$(BINDIR)/
	install -m 644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/man5/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/man8/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 etc/cl.conf $(DESTDIR)$(SYSCONFDIR)/cl.conf.example

# Init files (README.md, "Starting cl at boot"): systemd units, OpenBSD
# rc.d scripts (in /etc/rc.d on OpenBSD, as examples elsewhere), runit and
# s6-rc service directories (examples to copy into place).  Files named
# *.in get the install paths; executable files stay executable.
SYSTEMDDIR ?=	$(PREFIX)/lib/systemd/system
RCDIR ?=	$(if $(filter OpenBSD,$(shell uname -s)),/etc/rc.d,$(PREFIX)/share/cl/rc.d)
RUNITDIR ?=	$(PREFIX)/share/cl/runit
S6DIR ?=	$(PREFIX)/share/cl/s6
INIT_SED =	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
		    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

install-init:
	@set -e; cd etc; \
	for f in $$(find systemd rc.d runit s6 -type f | LC_ALL=C sort); do \
		case $$f in \
		systemd/*)	d='$(SYSTEMDDIR)' ;; \
		rc.d/*)		d='$(RCDIR)' ;; \
		runit/*)	d='$(RUNITDIR)' ;; \
		s6/*)		d='$(S6DIR)' ;; \
		esac; \
		t="$(DESTDIR)$$d/$${f#*/}"; t="$${t%.in}"; \
		if [ -x "$$f" ]; then m=755; else m=644; fi; \
		echo "install etc/$$f $$t"; \
		install -d "$${t%/*}"; \
		$(INIT_SED) "$$f" >"$$t.tmp"; \
		chmod "$$m" "$$t.tmp"; \
		mv -f "$$t.tmp" "$$t"; \
	done

.PHONY: install-init

manlint:
	mandoc -Tlint -Wwarning man/man*/*.[158]

clean:
	rm -rf $(OBJDIR) $(BIN)

.PHONY: all units check fuzz fuzz-build sanitize demo bench-membership \
	bench-messaging bench-io bench-dmapi bench-mount bench install \
	manlint clean

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)
