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
 * Local clients on RUNDIR/clsessiond.sock (clsession, DM applications):
 * lists for everyone, session changes and events for privileged users.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clsessiond.h"

#define CLIENTS_MAX	256

static LIST_HEAD(, client) clients = LIST_HEAD_INITIALIZER(clients);
static int		 nclients;
static char		 sockpath[300];
static int		 lfd = -1;

/* May this client change sessions?  Root, our user, or cl.conf group. */
static int
privileged(const struct client *cl)
{
	struct group	*gr;
	struct passwd	*pw;
	char		**m;

	if (cl->uid == 0 || cl->uid == geteuid())
		return 1;
	if (conf.group[0] == '\0' || (gr = getgrnam(conf.group)) == NULL)
		return 0;
	if (cl->gid == gr->gr_gid)
		return 1;
	if ((pw = getpwuid(cl->uid)) == NULL)
		return 0;
	for (m = gr->gr_mem; *m != NULL; m++)
		if (strcmp(*m, pw->pw_name) == 0)
			return 1;
	return 0;
}

static void
list_one(const char *key, const char *val, void *arg)
{
	struct lsarg	*la = arg;
	struct frame	 f;
	char		 name[NAME_MAX_LEN + 1], nd[16];
	uint64_t	 id, node;

	if (sess_parseid(key + strlen("dm/session/"), &id) == -1 ||
	    db_field(val, "node", nd, sizeof(nd)) == -1 ||
	    wire_parse_u64(nd, strlen(nd), UINT32_MAX, &node) == -1)
		return;
	if (db_field(val, "name", name, sizeof(name)) == -1)
		(void)strlcpy(name, "-", sizeof(name));
	frame_init(&f, "session", la->txid);
	frame_add(&f, "id", "%llu", (unsigned long long)id);
	frame_add(&f, "name", "%s", name);
	frame_add(&f, "node", "%llu", (unsigned long long)node);
	if (node == self)
		frame_add(&f, "pending", "%d", ev_pending(id));
	else
		frame_add(&f, "pending", "-");
	(void)conn_send(la->cl->conn, &f);
}

static int
client_frame(struct conn *c, struct frame *f, void *arg)
{
	struct client	*cl = arg;
	struct frame	 a;
	struct lsarg	 la;
	int		 priv;

	(void)c;
	/* Asked once per connection: the group database is files. */
	if (cl->priv == -1)
		cl->priv = privileged(cl);
	priv = cl->priv;
	frame_init(&a, "", f->txid);
	la.cl = cl;
	la.txid = f->txid;
	if (strcmp(f->op, "list") == 0) {
		if (db_ls("dm/session/", list_one, &la) == -1)
			fail(&a, f->txid, "the cluster database cannot be "
			    "reached");
		else
			frame_init(&a, "end", f->txid);
	} else if (strcmp(f->op, "displs") == 0) {
		if (disp_list(&la) == -1)
			fail(&a, f->txid, "the cluster database cannot be "
			    "reached");
		else
			frame_init(&a, "end", f->txid);
	} else if (!priv)
		fail(&a, f->txid, "%s: permission denied (root or group %s "
		    "only)", f->op, conf.group[0] != '\0' ? conf.group : "-");
	else if (strcmp(f->op, "create") == 0 ||
	    strcmp(f->op, "destroy") == 0 || strcmp(f->op, "dispset") == 0 ||
	    strcmp(f->op, "assume") == 0) {
		mgr_forward(f, &a);
	} else if (strcmp(f->op, "events") == 0)
		ev_list(cl, f, &a);
	else if (strcmp(f->op, "respond") == 0) {
		ev_respond(f, &a);
		/* quiet=1: a DM application that wants only failures. */
		if (strcmp(a.op, "ok") == 0 && frame_get(f, "quiet") != NULL &&
		    strcmp(frame_get(f, "quiet"), "1") == 0)
			a.op[0] = '\0';
	}
	else if (strcmp(f->op, "token") == 0)
		right_token(cl, f, &a);
	else if (strcmp(f->op, "right") == 0)
		right_request(cl, f, &a);
	else
		fail(&a, f->txid, "%s: unknown request", f->op);
	if (cl->conn == NULL || cl->conn->dead)
		return -1;
	if (a.op[0] != '\0' && conn_send(cl->conn, &a) == -1) {
		conn_close(cl->conn, "cannot send");
		return -1;
	}
	return 0;
}

static void
client_closed(struct conn *c, const char *why, void *arg)
{
	struct client	*cl = arg;

	(void)c;
	log_debug("client uid %ld: %s", (long)cl->uid, why);
	right_client_gone(cl);
	LIST_REMOVE(cl, entry);
	nclients--;
	free(cl);
}

static void
client_accept(int fd, short ev, void *arg)
{
	struct client	*cl;
	int		 s;

	(void)ev;
	(void)arg;
	if ((s = accept(fd, NULL, NULL)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept on %s", sockpath);
		return;
	}
	if (nclients >= CLIENTS_MAX || sock_nonblock(s) == -1 ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		log_warnx("client refused: %d clients", nclients);
		(void)close(s);
		return;
	}
	if (sock_peercred(s, &cl->uid, &cl->gid) == -1) {
		cl->uid = (uid_t)65534;
		cl->gid = (gid_t)65534;
	}
	cl->priv = -1;
	cl->conn = conn_new(s, 64 * 1024, 16 * 1024 * 1024, client_frame,
	    client_closed, cl);
	if (cl->conn == NULL) {
		log_warn("client");
		(void)close(s);
		free(cl);
		return;
	}
	(void)snprintf(cl->conn->name, sizeof(cl->conn->name), "uid %ld",
	    (long)cl->uid);
	LIST_INSERT_HEAD(&clients, cl, entry);
	nclients++;
}

/* Send e to the clients following session id; how many got it. */
int
client_follow(uint64_t id, const struct ev *e)
{
	struct client	*c, *next;
	int		 n = 0;

	for (c = LIST_FIRST(&clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->follow == id && ev_send(c, e) == 0)
			n++;
	}
	return n;
}

/* Listen on RUNDIR/clsessiond.sock. */
void
client_init(void)
{
	if ((size_t)snprintf(sockpath, sizeof(sockpath), "%s/clsessiond.sock",
	    conf.rundir) >= sizeof(sockpath))
		fatalx("%s: path too long", conf.rundir);
	if ((lfd = sock_unix_listen(sockpath, 0666, (gid_t)-1)) == -1) {
		if (errno == EADDRINUSE)
			fatalx("%s: another clsessiond is running", sockpath);
		fatal("%s", sockpath);
	}
	if (loop_fd_add(lfd, POLLIN, client_accept, NULL) == -1)
		fatal("event loop");
	log_info("node %u: serving %s", self, sockpath);
}

void
client_shutdown(void)
{
	if (lfd != -1) {
		(void)close(lfd);
		(void)unlink(sockpath);
	}
}
