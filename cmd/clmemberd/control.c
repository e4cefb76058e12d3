/*
 * Copyright (c) 2026 The cl developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * The control socket, RUNDIR/clmemberd.sock (mode 0660, group from
 * cl.conf).  Any local user may ask for status and watch; registering a
 * subsystem, acknowledging, joining and leaving need root, the daemon's
 * own user or the control group.  Requests are checked against an
 * allow-list per operation.
 */

#define _GNU_SOURCE	/* struct ucred */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clmemberd.h"
#include "log.h"
#include "msg.h"

#define CLIENT_STALL_MS	10000		/* for an incomplete frame */

struct cmd {
	const char	*op;
	int		 priv;
	int		(*fn)(struct client *, struct frame *);
};

static int	 cmd_status(struct client *, struct frame *);
static int	 cmd_watch(struct client *, struct frame *);
static int	 cmd_register(struct client *, struct frame *);
static int	 cmd_ack(struct client *, struct frame *);
static int	 cmd_join(struct client *, struct frame *);
static int	 cmd_leave(struct client *, struct frame *);
static int	 cmd_service(struct client *, struct frame *);
static int	 cmd_services(struct client *, struct frame *);
static int	 cmd_db(struct client *, struct frame *);

static const struct cmd cmds[] = {
	{ "status",	0, cmd_status },
	{ "watch",	0, cmd_watch },
	{ "register",	1, cmd_register },
	{ "ack",	1, cmd_ack },
	{ "join",	1, cmd_join },
	{ "leave",	1, cmd_leave },
	{ "service",	1, cmd_service },
	{ "services",	0, cmd_services },
	{ "db",		0, cmd_db },
};

static struct timer	 reapt;

static void
doom(struct client *cl)
{
	cl->doomed = 1;
	timer_in(&reapt, 0);
}

static void
reap(void *arg)
{
	struct client	*cl, *next;

	(void)arg;
	for (cl = TAILQ_FIRST(&D->clients); cl != NULL; cl = next) {
		next = TAILQ_NEXT(cl, entry);
		if (cl->doomed)
			conn_close(cl->conn, "too slow to read, dropped");
	}
}

/*
 * A reply to a local client.  One that lets its queue fill is dropped at
 * the next turn, whoever answers it (control, database).
 */
int
control_send(struct client *cl, const struct frame *f)
{
	if (cl->doomed)
		return -1;
	if (conn_send(cl->conn, f) == -1) {
		doom(cl);
		return -1;
	}
	return 0;
}

static int
reply(struct client *cl, const char *op, uint64_t txid, const char *status,
    const char *reason)
{
	struct frame	 f;

	frame_init(&f, op, txid);
	if (status != NULL)
		frame_add(&f, "status", "%s", status);
	if (reason != NULL)
		frame_add(&f, "reason", "%s", reason);
	return control_send(cl, &f);
}

/* An error reply (CL1 error with status= and reason=); cl may be NULL. */
int
control_error(struct client *cl, uint64_t txid, const char *status,
    const char *fmt, ...)
{
	struct frame	 f;
	va_list		 ap;

	if (cl == NULL)
		return 0;
	va_start(ap, fmt);
	frame_verror(&f, txid, status, fmt, ap);
	va_end(ap);
	return control_send(cl, &f);
}

static void
fmt_addr(const struct cl_node *n, char *out, size_t len)
{
	if (strchr(n->host, ':') != NULL)
		(void)snprintf(out, len, "[%s]:%s", n->host, n->port);
	else
		(void)snprintf(out, len, "%s:%s", n->host, n->port);
}

static enum mstate
state_of(uint32_t id)
{
	if (id == D->self && D->panicking)
		return MS_FORCED;
	if (id == D->self && !D->inview)
		return MS_INACTIVE;
	return D->cs.ms[id];
}

static int
status_node(struct client *cl, uint64_t txid, const struct cl_node *n)
{
	static const char *rn[] = { "down", "suspect", "up" };
	struct frame	 f;
	struct peer	*p = peer_get(n->id);
	char		 addr[300];
	uint64_t	 since;
	enum reach	 r = REACH_UP;

	since = D->started;
	if (p != NULL) {
		r = p->reach;
		since = p->reach_since;
	}
	fmt_addr(n, addr, sizeof(addr));
	frame_init(&f, "node", txid);
	frame_add(&f, "id", "%u", n->id);
	frame_add(&f, "name", "%s", n->name);
	frame_add(&f, "addr", "%s", addr);
	frame_add(&f, "state", "%s", rn[r]);
	frame_add(&f, "member", "%s", mstate_name(state_of(n->id)));
	frame_add(&f, "since_ms", "%llu",
	    (unsigned long long)(loop_now() - since));
	if (p != NULL && p->damped)
		frame_add(&f, "damped", "yes");
	return control_send(cl, &f);
}

static int
status_trans(struct client *cl, uint64_t txid, const struct trans *t)
{
	struct frame	 f;
	struct nodeset	 w;
	char		 m[1024];
	uint32_t	 id;

	frame_init(&f, "transition", txid);
	frame_add(&f, "tid", "%llu", (unsigned long long)t->tid);
	frame_add(&f, "node", "%u", t->node);
	frame_add(&f, "trans", "%s", ttype_name(t->type));
	frame_add(&f, "layer", "%d", t->layer);
	frame_add(&f, "barrier", "%d", t->barrier);
	frame_add(&f, "parts", "%s", ns_fmt(&t->parts, m, sizeof(m)));
	if (view_coordinator() == D->self) {
		w = t->parts;
		NS_FOREACH(id, &t->acked)
			ns_del(&w, id);
		frame_add(&f, "waiting", "%s", ns_fmt(&w, m, sizeof(m)));
		frame_add(&f, "age_ms", "%llu",
		    (unsigned long long)(loop_now() - t->step_start));
	}
	return control_send(cl, &f);
}

static int
status_sub(struct client *cl, uint64_t txid, const struct sub *s)
{
	struct frame	 f;
	const struct lstep *ls;
	uint64_t	 oldest = 0;
	int		 i, pending = 0;

	for (i = 0; i < D->nsteps; i++) {
		ls = &D->steps[i];
		if (!(ls->pending & (1U << s->slot)))
			continue;
		pending++;
		if (oldest == 0 || ls->start < oldest)
			oldest = ls->start;
	}
	frame_init(&f, "subsystem", txid);
	frame_add(&f, "name", "%s", s->name);
	frame_add(&f, "layer", "%d", s->layer);
	frame_add(&f, "barriers", "%d:%d:%d", s->barriers[T_JOIN],
	    s->barriers[T_LEAVE], s->barriers[T_FORCED]);
	frame_add(&f, "pid", "%ld", (long)s->client->pid);
	frame_add(&f, "pending", "%d", pending);
	if (pending) {
		frame_add(&f, "age_ms", "%llu",
		    (unsigned long long)(loop_now() - oldest));
		frame_add(&f, "stuck", "%s", loop_now() - oldest >=
		    (uint64_t)D->conf.transition_ms ? "yes" : "no");
	}
	return control_send(cl, &f);
}

static int
cmd_status(struct client *cl, struct frame *req)
{
	struct frame	 f;
	char		 m[1024];
	int		 i, n = 0;

	frame_init(&f, "view", req->txid);
	frame_add(&f, "epoch", "%llu", (unsigned long long)D->cs.epoch);
	frame_add(&f, "coordinator", "%u", ns_min(&D->cs.members));
	frame_add(&f, "quorum", "%s", D->quorum ? "yes" : "no");
	frame_add(&f, "members", "%s", ns_fmt(&D->cs.members, m, sizeof(m)));
	frame_add(&f, "self", "%u", D->self);
	frame_add(&f, "ver", "%llu", (unsigned long long)D->cs.ver);
	if (control_send(cl, &f) == -1)
		return 0;
	n++;
	for (i = 0; i < D->conf.nnodes; i++, n++)
		if (status_node(cl, req->txid, &D->conf.nodes[i]) == -1)
			return 0;
	for (i = 0; i < D->cs.ntrans; i++, n++)
		if (status_trans(cl, req->txid, &D->cs.trans[i]) == -1)
			return 0;
	for (i = 0; i < SUBS_MAX; i++)
		if (D->subs_used & (1U << i)) {
			if (status_sub(cl, req->txid, &D->subs[i]) == -1)
				return 0;
			n++;
		}
	frame_init(&f, "end", req->txid);
	frame_add(&f, "count", "%d", n);
	(void)control_send(cl, &f);
	return 0;
}

static int
cmd_watch(struct client *cl, struct frame *req)
{
	cl->watching = 1;
	(void)reply(cl, "ok", req->txid, NULL, NULL);
	return 0;
}

static int
get_int(const struct frame *f, const char *key, int def, int lo, int hi,
    int *out)
{
	uint64_t v;

	if (frame_get(f, key) == NULL) {
		*out = def;
		return 0;
	}
	if (frame_getu64(f, key, &v) == -1 || v < (uint64_t)lo ||
	    v > (uint64_t)hi)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * L201: every subsystem of one layer declares the same barrier counts,
 * here and, as far as the heartbeats tell, on every other node.
 */
static const char *
barrier_conflict(int layer, const int *b)
{
	struct layerinfo li[LAYERS_MAX];
	uint32_t	 id;
	int		 i, k, n;

	for (id = 1; id <= NODEID_MAX; id++) {
		if (id != D->self && peer_get(id) == NULL)
			continue;
		n = layers_of(id, li, LAYERS_MAX);
		for (i = 0; i < n; i++) {
			if (li[i].layer != layer)
				continue;
			for (k = 0; k < T_NTYPES; k++)
				if (li[i].barriers[k] != b[k])
					return id == D->self ? "on this node" :
					    "on another node";
		}
	}
	return NULL;
}

static int
cmd_register(struct client *cl, struct frame *req)
{
	struct sub	*s;
	const char	*name, *where;
	struct frame	 f;
	int		 i, layer, b[T_NTYPES];

	if (cl->sub != NULL)
		return control_error(cl, req->txid, "exists", "already registered");
	name = frame_get(req, "name");
	if (name == NULL || !wire_valid_name(name, strlen(name)))
		return control_error(cl, req->txid, "invalid", "name: 1 to 32 of "
		    "a-z 0-9 _ . -");
	if (get_int(req, "layer", -1, LAYER_MIN, LAYER_MAX, &layer) == -1 ||
	    layer == -1)
		return control_error(cl, req->txid, "invalid", "layer: %d to %d",
		    LAYER_MIN, LAYER_MAX);
	if (get_int(req, "barriers_join", 1, 1, BARRIERS_MAX, &b[T_JOIN]) ||
	    get_int(req, "barriers_leave", 1, 1, BARRIERS_MAX, &b[T_LEAVE]) ||
	    get_int(req, "barriers_forced", 1, 1, BARRIERS_MAX,
	    &b[T_FORCED]))
		return control_error(cl, req->txid, "invalid", "barriers: 1 to %d",
		    BARRIERS_MAX);
	for (i = 0; i < SUBS_MAX; i++)
		if ((D->subs_used & (1U << i)) &&
		    strcmp(D->subs[i].name, name) == 0)
			return control_error(cl, req->txid, "exists", "a subsystem "
			    "named %s is registered", name);
	if ((where = barrier_conflict(layer, b)) != NULL)
		return control_error(cl, req->txid, "mismatch", "layer %d has other "
		    "barrier counts %s (seed 004 L201: one count per layer)",
		    layer, where);
	for (i = 0; i < SUBS_MAX && (D->subs_used & (1U << i)); i++)
		;
	if (i == SUBS_MAX)
		return control_error(cl, req->txid, "full", "%d subsystems already",
		    SUBS_MAX);
	s = &D->subs[i];
	memset(s, 0, sizeof(*s));
	s->slot = i;
	(void)strlcpy(s->name, name, sizeof(s->name));
	s->layer = layer;
	memcpy(s->barriers, b, sizeof(b));
	s->client = cl;
	cl->sub = s;
	D->subs_used |= 1U << i;
	log_info("subsystem %s registered at layer %d (pid %ld)", name, layer,
	    (long)cl->pid);
	frame_init(&f, "ok", req->txid);
	frame_add(&f, "node", "%u", D->self);
	frame_add(&f, "epoch", "%llu", (unsigned long long)D->cs.epoch);
	(void)control_send(cl, &f);
	control_event("registered sub=%s layer=%d", name, layer);
	trans_sub_added(s);
	return 0;
}

static int
cmd_ack(struct client *cl, struct frame *req)
{
	if (cl->sub == NULL)
		return control_error(cl, req->txid, "invalid", "not registered");
	if (trans_sub_ack(cl->sub, req->txid) == -1)
		return control_error(cl, req->txid, "unknown", "no notification %llu "
		    "waits for an acknowledgement",
		    (unsigned long long)req->txid);
	return 0;
}

static int
cmd_join(struct client *cl, struct frame *req)
{
	view_join();
	return reply(cl, "ok", req->txid, NULL, NULL);
}

static int
cmd_leave(struct client *cl, struct frame *req)
{
	view_leave(0);
	return reply(cl, "ok", req->txid, NULL, NULL);
}

/* Register a service for message routing (route.c). */
static int
cmd_service(struct client *cl, struct frame *req)
{
	struct frame	 f;
	const char	*why;

	if (route_register(cl, frame_get(req, "name"), &why) == -1)
		return control_error(cl, req->txid, strcmp(why, "exists") == 0 ?
		    "exists" : "invalid", "service %s: %s",
		    frame_get(req, "name") != NULL ? frame_get(req, "name") :
		    "(no name=)", why);
	frame_init(&f, "ok", req->txid);
	frame_add(&f, "node", "%u", D->self);
	frame_add(&f, "name", "%s", frame_get(req, "name"));
	return control_send(cl, &f);
}

static int
cmd_services(struct client *cl, struct frame *req)
{
	struct frame	 f;
	struct buf	 b;
	int		 rc;

	buf_init(&b, (size_t)(CONF_NODES_MAX + 1) * (SVCS_MAX + 1) * 64);
	if (route_services(&b) == -1) {
		buf_free(&b);
		return control_error(cl, req->txid, "full", "service list too long");
	}
	frame_init(&f, "services", req->txid);
	frame_payload(&f, buf_ptr(&b), buf_avail(&b));
	rc = control_send(cl, &f);
	buf_free(&b);
	return rc;
}

/* The cluster database (db.c); it checks the privilege of writes. */
static int
cmd_db(struct client *cl, struct frame *req)
{
	return db_client(cl, req);
}

static int
client_frame(struct conn *c, struct frame *f, void *arg)
{
	struct client	*cl = arg;
	size_t		 i;

	(void)c;
	/* A frame with to= is a message for another service: route it. */
	if (frame_get(f, "to") != NULL) {
		if (!cl->priv)
			return control_error(cl, f->txid, "denied", "sending "
			    "messages needs root or group %s",
			    D->conf.group) == -1 ? -1 : 0;
		(void)route_client_frame(cl, f);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(f->op, cmds[i].op) != 0)
			continue;
		if (cmds[i].priv && !cl->priv)
			return control_error(cl, f->txid, "denied", "%s needs root "
			    "or group %s", f->op, D->conf.group) == -1 ? -1 : 0;
		(void)cmds[i].fn(cl, f);
		return 0;
	}
	(void)control_error(cl, f->txid, "unknown", "unknown op %s (valid: status, "
	    "watch, register, ack, join, leave, service, services, db, or any "
	    "op with to=)", f->op);
	return 0;
}

static void
client_closed(struct conn *c, const char *why, void *arg)
{
	struct client	*cl = arg;
	struct sub	*s = cl->sub;

	(void)c;
	TAILQ_REMOVE(&D->clients, cl, entry);
	D->nclients--;
	route_client_gone(cl);
	db_client_gone(cl);
	if (s != NULL) {
		log_info("subsystem %s (layer %d) gone: %s", s->name, s->layer,
		    why);
		D->subs_used &= ~(1U << s->slot);
		control_event("unregistered sub=%s layer=%d", s->name,
		    s->layer);
		trans_sub_gone(s);
	} else if (strcmp(why, "connection closed by peer") != 0)
		log_info("control client %s: %s", cl->conn->name, why);
	free(cl);
}

/*
 * Root, our own user, or the control group, primary or (on Linux, from
 * /proc, which never blocks) supplementary.
 */
static int
privileged(uid_t uid, gid_t gid, pid_t pid)
{
	char	 path[64], line[1024], *tok, *save = NULL;
	FILE	*fp;
	int	 ok = 0;

	if (uid == 0 || uid == geteuid())
		return 1;
	if (D->ctlgid == (gid_t)-1)
		return 0;
	if (gid == D->ctlgid)
		return 1;
	if (pid <= 0)
		return 0;
	(void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (!ok && fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (tok = strtok_r(line + 7, " \t\n", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\n", &save))
			if ((gid_t)strtoul(tok, NULL, 10) == D->ctlgid)
				ok = 1;
	}
	(void)fclose(fp);
	return ok;
}

static void
peer_credentials(int fd, uid_t *uid, gid_t *gid, pid_t *pid)
{
#ifdef SO_PEERCRED
	struct ucred	 uc;
	socklen_t	 len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
		*uid = uc.uid;
		*gid = uc.gid;
		*pid = uc.pid;
		return;
	}
#endif
	*pid = 0;
	if (sock_peercred(fd, uid, gid) == -1) {
		*uid = (uid_t)-1;
		*gid = (gid_t)-1;
	}
}

static void
accept_client(int fd, short ev, void *arg)
{
	struct client	*cl;
	int		 s;

	(void)ev;
	(void)arg;
	if ((s = accept(fd, NULL, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept on %s", D->ctlpath);
		return;
	}
	if (D->nclients >= CLIENTS_MAX || sock_nonblock(s) == -1 ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		log_warnx("control client refused: %d clients", D->nclients);
		(void)close(s);
		return;
	}
	peer_credentials(s, &cl->uid, &cl->gid, &cl->pid);
	cl->priv = privileged(cl->uid, cl->gid, cl->pid);
	cl->conn = conn_new(s, MSG_PAYLOAD_MAX, CLIENT_OUTMAX, client_frame,
	    client_closed, cl);
	if (cl->conn == NULL) {
		log_warn("control client");
		(void)close(s);
		free(cl);
		return;
	}
	conn_set_stall(cl->conn, CLIENT_STALL_MS);
	(void)snprintf(cl->conn->name, sizeof(cl->conn->name),
	    "uid %ld pid %ld", (long)cl->uid, (long)cl->pid);
	TAILQ_INSERT_TAIL(&D->clients, cl, entry);
	D->nclients++;
}

/* A line for clmember watch, stamped with the wall clock. */
void
control_event(const char *fmt, ...)
{
	struct client	*cl;
	struct frame	 f;
	va_list		 ap;
	char		 text[WIRE_VAL_MAX];
	uint64_t	 t = wallclock_us();

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_debug("event: %s", text);
	frame_init(&f, "event", ++D->txid);
	frame_add(&f, "time", "%llu.%06llu", (unsigned long long)(t / 1000000),
	    (unsigned long long)(t % 1000000));
	frame_add(&f, "text", "%s", text);
	TAILQ_FOREACH(cl, &D->clients, entry)
		if (cl->watching)
			(void)control_send(cl, &f);
}

int
control_notify(struct sub *s, struct frame *f)
{
	return control_send(s->client, f);
}

int
control_init(void)
{
	struct group	*gr;

	TAILQ_INIT(&D->clients);
	timer_setup(&reapt, reap, NULL);
	D->ctlgid = (gid_t)-1;
	if ((gr = getgrnam(D->conf.group)) != NULL)
		D->ctlgid = gr->gr_gid;
	if ((size_t)snprintf(D->ctlpath, sizeof(D->ctlpath),
	    "%s/clmemberd.sock", D->conf.rundir) >= sizeof(D->ctlpath)) {
		log_warnx("%s: path too long", D->conf.rundir);
		return -1;
	}
	D->ctlfd = sock_unix_listen(D->ctlpath, 0660, D->ctlgid);
	if (D->ctlfd == -1) {
		if (errno == EADDRINUSE)
			log_warnx("%s: another clmemberd is running",
			    D->ctlpath);
		else
			log_warn("%s", D->ctlpath);
		return -1;
	}
	return loop_fd_add(D->ctlfd, POLLIN, accept_client, NULL);
}

void
control_shutdown(void)
{
	struct client	*cl;

	while ((cl = TAILQ_FIRST(&D->clients)) != NULL) {
		cl->sub = NULL;
		conn_close(cl->conn, "shutting down");
	}
	if (D->ctlfd != -1) {
		loop_fd_del(D->ctlfd);
		(void)close(D->ctlfd);
		(void)unlink(D->ctlpath);
	}
}
