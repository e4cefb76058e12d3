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

#ifndef CL_CONF_H
#define CL_CONF_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_DEFAULT		"/etc/cl/cl.conf"
#define CONF_FILE_MAX		(1024 * 1024)	/* bytes of cl.conf */
#define CONF_NODES_MAX		64		/* nodes per cluster */
#define CONF_NODEID_MAX		255
#define CONF_NAME_MAX		64		/* bytes, cluster and node names */

#define CONF_GROUPS_MAX		8		/* groups, domains per record */

/* Names of groups or domains (seed 002 L609-L637). */
struct cl_names {
	int		 n;
	char		 name[CONF_GROUPS_MAX][CONF_NAME_MAX];
};

/*
 * A node: seed 002's node record (L609-L627): its weight (relative
 * capability, 420B), the groups it prefers to serve in order (420F) and
 * its domains (420G).
 */
struct cl_node {
	uint32_t	 id;
	int		 line;
	char		 name[CONF_NAME_MAX];
	char		 host[256];
	char		 port[8];
	double		 weight;
	struct cl_names	 groups;
	struct cl_names	 domains;
};

#define CONF_VOLUMES_MAX	16		/* volumes (file systems) */
#define CONF_VOLOVER_MAX	16		/* node paths per volume */
#define CONF_VOLPATH_MAX	256		/* bytes of a volume's path */

/*
 * A shared volume: one file system, at the same path on every node unless
 * a node section names another ("" there: this node cannot reach it).
 */
struct cl_volpath {
	uint32_t	 node;
	int		 line;
	char		 path[CONF_VOLPATH_MAX];
};

struct cl_volume {
	int		 line;
	char		 name[CONF_NAME_MAX];
	char		 path[CONF_VOLPATH_MAX];	/* the default */
	int		 nover;
	struct cl_volpath over[CONF_VOLOVER_MAX];
	/* seed 002's volume record (L631-L637), for clrebalance(8). */
	double		 weight;	/* 440H: expected traffic */
	char		 group[CONF_NAME_MAX];	/* 440B-C, "" for none */
	uint32_t	 preferred;	/* 440D-E: parent admin, 0 none */
	int		 migrate;	/* 440I: may leave its group */
	int		 failback;	/* back to a node that returns */
	struct cl_names	 domains;	/* 440J-K */
};

#define CONF_SERVICES_MAX	32		/* service sections */
#define CONF_SVCNAME_MAX	32		/* bytes of a service name */
#define CONF_CMD_MAX		512		/* bytes of a command line */

enum { SVC_RESTART_NO, SVC_RESTART_ON_FAILURE, SVC_RESTART_ALWAYS };

/*
 * A service that cllaunch(8) places, launches and supervises (seed 004's
 * registration and launch service).  nodes[] are the allowable nodes in
 * order of preference; none: every node, lowest id first.
 */
struct cl_service {
	int		 line;
	char		 name[CONF_SVCNAME_MAX + 1];
	char		 exec[CONF_CMD_MAX];
	char		 notify[CONF_CMD_MAX];
	char		 recovery[CONF_CMD_MAX];
	char		 output[CONF_VOLPATH_MAX];
	int		 nnodes;
	uint32_t	 nodes[CONF_NODES_MAX];
	uint32_t	 preferred;
	int		 all;		/* instances = "all" */
	int		 layer;
	int		 restart;	/* SVC_RESTART_* */
	int		 restart_ms;
	int		 restart_max_ms;
	int		 burst;
	int		 burst_ms;
	int		 stop_ms;
	int		 failback;
};

struct cl_conf {
	char		 path[PATH_MAX];
	char		 cluster[CONF_NAME_MAX];
	char		 keyfile[PATH_MAX];
	char		 rundir[PATH_MAX];
	char		 statedir[PATH_MAX];
	char		 group[CONF_NAME_MAX];
	uint32_t	 self;
	int		 self_set;	/* self = ... rather than by address */
	int		 heartbeat_ms;
	int		 fail_ms;
	int		 transition_ms;
	int		 msg_timeout_ms;
	int		 damp_ms;
	int		 encrypt;
	size_t		 max_payload;
	int		 lease_ms;
	int		 event_timeout_ms;
	double		 imbalance;	/* clrebalance: hysteresis */
	int		 rebalance_ms;	/* clrebalance: periodic check */
	int		 util_high;	/* cliod redirects over this, % */
	int		 rtt_high_ms;	/* clients move over this */
	int		 util_ms;	/* cliod's utilization interval */
	int		 nnodes;
	struct cl_node	 nodes[CONF_NODES_MAX];
	int		 nvolumes;
	struct cl_volume volumes[CONF_VOLUMES_MAX];
	int		 nservices;
	struct cl_service services[CONF_SERVICES_MAX];
};

typedef void	(*conf_errfn)(const char *);

void			 conf_set_errfn(conf_errfn);
int			 conf_load(struct cl_conf *, const char *);
void			 conf_print(FILE *, const struct cl_conf *);
const struct cl_node	*conf_node(const struct cl_conf *, uint32_t);
const char		*conf_path(const char *);
int			 conf_quorum(const struct cl_conf *);
const struct cl_volume	*conf_volume(const struct cl_conf *, const char *);
const struct cl_service	*conf_service(const struct cl_conf *,
			    const char *);
int			 conf_service_allows(const struct cl_service *,
			    uint32_t);
const char		*conf_volume_path(const struct cl_conf *,
			    const struct cl_volume *, uint32_t);

#endif /* CL_CONF_H */
