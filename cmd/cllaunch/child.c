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
 * Supervision of the services that run on this node: start, restart with
 * a doubling delay, give up after more than `burst` starts in `burst_ms`,
 * stop with SIGTERM and then SIGKILL.  Only our own children, known by
 * the pids fork(2) gave us: nothing is ever killed by name.
 */

#include <sys/types.h>
#include <sys/param.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cllaunch.h"
#include "log.h"

#define ARGV_MAX	64
#define RAN_OK_MS	10000	/* ran this long: the delay starts over */

static void	 child_timer(void *);

const char *
child_state_name(enum child_state s)
{
	static const char *names[] = { "stopped", "recovering", "running",
	    "backoff", "stopping", "failed" };

	return names[s];
}

static void
set_state(struct child *c, enum child_state s)
{
	if (c->state == s)
		return;
	c->state = s;
	c->since = (uint64_t)time(NULL);
	c->dirty = 1;
	launch_changed();
}

void
child_init(struct child *c, const struct cl_service *sv)
{
	memset(c, 0, sizeof(*c));
	c->sv = *sv;
	c->state = CH_STOPPED;
	c->since = (uint64_t)time(NULL);
	c->backoff = (uint64_t)sv->restart_ms;
	if ((c->starts = calloc((size_t)sv->burst + 1, sizeof(uint64_t))) ==
	    NULL)
		fatal("calloc");
	timer_setup(&c->t, child_timer, c);
}

/*
 * cmd split at blanks into argv (no shell: no quoting, no expansion but
 * %n for this node's id and %% for %), in buf.
 */
static int
split(const char *cmd, char *buf, size_t n, char **argv)
{
	size_t	 o = 0;
	int	 argc = 0, in = 0;

	for (; *cmd != '\0'; cmd++) {
		if (*cmd == ' ' || *cmd == '\t') {
			if (in && o < n)
				buf[o++] = '\0';
			in = 0;
			continue;
		}
		if (!in) {
			if (argc == ARGV_MAX - 1)
				return -1;
			argv[argc++] = buf + o;
			in = 1;
		}
		if (cmd[0] == '%' && cmd[1] == 'n') {
			o += (size_t)snprintf(buf + o, o < n ? n - o : 0, "%u",
			    L->self);
			cmd++;
			continue;
		}
		if (cmd[0] == '%' && cmd[1] == '%')
			cmd++;
		if (o < n)
			buf[o++] = *cmd;
	}
	if (o >= n)
		return -1;
	buf[o] = '\0';
	argv[argc] = NULL;
	return argc;
}

/* In the new process: never returns. */
static void
exec_child(const struct cl_service *sv, const char *cmd, int errfd)
{
	char	 buf[CONF_CMD_MAX * 2], path[2048], node[16];
	char	*argv[ARGV_MAX];
	sigset_t set;
	int	 fd, e, sig;

#ifdef __linux__
	/* cllaunch gone: its services stop too, not run on unsupervised. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(127);
#endif
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	(void)sigemptyset(&set);
	(void)sigprocmask(SIG_SETMASK, &set, NULL);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		(void)dup2(fd, 0);
		if (fd > 2)
			(void)close(fd);
	}
	if (sv->output[0] != '\0') {
		if ((fd = open(sv->output, O_WRONLY | O_APPEND | O_CREAT,
		    0640)) == -1)
			goto fail;
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		if (fd > 2)
			(void)close(fd);
	}
	(void)snprintf(node, sizeof(node), "%u", L->self);
	if (setenv("CL_CONF", L->confpath, 1) == -1 ||
	    setenv("CL_NODE", node, 1) == -1 ||
	    setenv("CL_SERVICE", sv->name, 1) == -1)
		goto fail;
	if (split(cmd, buf, sizeof(buf), argv) < 1) {
		errno = E2BIG;
		goto fail;
	}
	/* A bare name: our own directory first, where cl installs. */
	if (strchr(argv[0], '/') == NULL && L->bindir[0] != '\0' &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", L->bindir,
	    argv[0]) < sizeof(path) && access(path, X_OK) == 0)
		(void)execv(path, argv);
	(void)execvp(argv[0], argv);
 fail:
	e = errno;
	(void)write(errfd, &e, sizeof(e));
	_exit(127);
}

/*
 * Run cmd for sv: the pid, or -1 (errno: why exec failed).  A pipe that
 * closes on exec tells a failed exec from a process that started.
 */
static pid_t
spawn(const struct cl_service *sv, const char *cmd)
{
	pid_t	 pid;
	ssize_t	 n;
	int	 p[2], e = 0;

	if (pipe(p) == -1)
		return -1;
	if (fcntl(p[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(p[1], F_SETFD, FD_CLOEXEC) == -1) {
		e = errno;
		(void)close(p[0]);
		(void)close(p[1]);
		errno = e;
		return -1;
	}
	if ((pid = fork()) == -1) {
		e = errno;
		(void)close(p[0]);
		(void)close(p[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		(void)close(p[0]);
		exec_child(sv, cmd, p[1]);
	}
	(void)close(p[1]);
	do
		n = read(p[0], &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	(void)close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		(void)waitpid(pid, NULL, 0);
		errno = e;
		return -1;
	}
	return pid;
}

/* More than burst starts within burst_ms, this one included? */
static int
burst(struct child *c, uint64_t now)
{
	int	 n = c->sv.burst + 1, oldest;

	c->starts[c->nstarts % n] = now;
	c->nstarts++;
	if (c->nstarts < n)
		return 0;
	oldest = c->nstarts % n;
	return now - c->starts[oldest] < (uint64_t)c->sv.burst_ms;
}

static void
start(struct child *c)
{
	uint64_t	 now = clock_ms();

	if (burst(c, now)) {
		log_warnx("%s: %d starts in less than %d ms: giving up (burst)",
		    c->sv.name, c->sv.burst + 1, c->sv.burst_ms);
		set_state(c, CH_FAILED);
		return;
	}
	if ((c->pid = spawn(&c->sv, c->sv.exec)) == -1) {
		log_warn("%s: %s", c->sv.name, c->sv.exec);
		c->pid = 0;
		c->lastexit = 127 << 8;
		set_state(c, CH_BACKOFF);
		timer_in(&c->t, c->backoff);
		c->backoff = MIN(c->backoff * 2, (uint64_t)c->sv.restart_max_ms);
		return;
	}
	c->started = now;
	log_info("%s: started, pid %ld", c->sv.name, (long)c->pid);
	set_state(c, CH_RUNNING);
	c->dirty = 1;
}

/* The recovery command of a service that comes here after a forced leave. */
static void
recover(struct child *c)
{
	c->recovered = c->gen;
	if ((c->pid = spawn(&c->sv, c->sv.recovery)) == -1) {
		log_warn("%s: recovery %s", c->sv.name, c->sv.recovery);
		c->pid = 0;
		start(c);
		return;
	}
	log_info("%s: recovery started, pid %ld", c->sv.name, (long)c->pid);
	set_state(c, CH_RECOVERING);
	timer_in(&c->t, (uint64_t)c->sv.stop_ms);
}

static void
stop(struct child *c)
{
	if (c->state == CH_BACKOFF) {
		timer_stop(&c->t);
		set_state(c, CH_STOPPED);
		return;
	}
	if (c->pid == 0 || c->state == CH_STOPPING)
		return;
	log_info("%s: stopping pid %ld", c->sv.name, (long)c->pid);
	if (kill(c->pid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("%s: kill %ld", c->sv.name, (long)c->pid);
	set_state(c, CH_STOPPING);
	timer_in(&c->t, (uint64_t)c->sv.stop_ms);
}

/*
 * Make the child run (want) or not.  A recovery command runs first when
 * the registration says so and has not run for this generation.
 */
void
child_want(struct child *c, int want)
{
	c->want = want;
	if (!want) {
		if (c->state == CH_FAILED)
			set_state(c, CH_STOPPED);
		stop(c);
		return;
	}
	if (c->state != CH_STOPPED)
		return;
	if (want == 2 && c->sv.recovery[0] != '\0' && c->recovered != c->gen)
		recover(c);
	else
		start(c);
}

/*
 * The notify command: sv runs on another node now (seed 004 L262: on
 * every allowable node but the registered one, once it started there,
 * and on those that join later).  Not supervised: reaped and logged.
 */
void
child_notify(struct child *c, uint32_t node, uint64_t gen)
{
	char	 n[16];

	c->notified = gen;
	if (c->npid != 0)
		log_warnx("%s: notify pid %ld still running", c->sv.name,
		    (long)c->npid);
	(void)snprintf(n, sizeof(n), "%u", node);
	if (setenv("CL_SERVICE_NODE", n, 1) == -1 ||
	    (c->npid = spawn(&c->sv, c->sv.notify)) == -1) {
		log_warn("%s: notify %s", c->sv.name, c->sv.notify);
		c->npid = 0;
	}
	(void)unsetenv("CL_SERVICE_NODE");
}

/* `cllaunch restart`, or a new placement here: count from zero. */
void
child_restart(struct child *c)
{
	c->nstarts = 0;
	c->restarts = 0;
	c->backoff = (uint64_t)c->sv.restart_ms;
	if (c->state == CH_FAILED)
		set_state(c, CH_STOPPED);
}

static void
child_timer(void *arg)
{
	struct child	*c = arg;

	switch (c->state) {
	case CH_BACKOFF:
		set_state(c, CH_STOPPED);
		if (c->want) {
			c->restarts++;
			start(c);
		}
		break;
	case CH_STOPPING:
	case CH_RECOVERING:
		log_warnx("%s: pid %ld still there after %d ms: SIGKILL",
		    c->sv.name, (long)c->pid, c->sv.stop_ms);
		if (kill(c->pid, SIGKILL) == -1 && errno != ESRCH)
			log_warn("%s: kill %ld", c->sv.name, (long)c->pid);
		break;
	default:
		break;
	}
}

static void
describe(int status, char *buf, size_t n)
{
	if (WIFSIGNALED(status))
		(void)snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
	else
		(void)snprintf(buf, n, "exited %d", WEXITSTATUS(status));
}

static void
exited(struct child *c, int status)
{
	char		 why[64];
	uint64_t	 now = clock_ms();
	pid_t		 pid;
	int		 failed;

	describe(status, why, sizeof(why));
	pid = c->pid;
	c->pid = 0;
	c->lastexit = status;
	timer_stop(&c->t);
	if (c->state == CH_RECOVERING) {
		log_info("%s: recovery %s", c->sv.name, why);
		set_state(c, CH_STOPPED);
		if (c->want)
			start(c);
		return;
	}
	if (c->state == CH_STOPPING || !c->want) {
		log_info("%s: stopped (%s)", c->sv.name, why);
		set_state(c, CH_STOPPED);
		if (c->want)
			start(c);
		return;
	}
	failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	log_warnx("%s: pid %ld %s", c->sv.name, (long)pid, why);
	if (c->sv.restart == SVC_RESTART_NO ||
	    (c->sv.restart == SVC_RESTART_ON_FAILURE && !failed)) {
		set_state(c, failed ? CH_FAILED : CH_STOPPED);
		return;
	}
	if (now - c->started >= RAN_OK_MS)
		c->backoff = (uint64_t)c->sv.restart_ms;
	set_state(c, CH_BACKOFF);
	timer_in(&c->t, c->backoff);
	c->backoff = MIN(c->backoff * 2, (uint64_t)c->sv.restart_max_ms);
}

void
child_reaped(pid_t pid, int status)
{
	int	 i;

	char	 why[64];

	for (i = 0; i < L->nchild; i++) {
		if (L->child[i].pid == pid) {
			exited(&L->child[i], status);
			return;
		}
		if (L->child[i].npid == pid) {
			describe(status, why, sizeof(why));
			log_info("%s: notify %s", L->child[i].sv.name, why);
			L->child[i].npid = 0;
			return;
		}
	}
}

/*
 * Stop every child, the highest layer first: the lower layers get their
 * SIGTERM once the higher ones are gone (called again at each exit).
 */
void
child_stop_all(void)
{
	struct child	*c;
	int		 i, top = 0;

	for (i = 0; i < L->nchild; i++) {
		c = &L->child[i];
		c->want = 0;
		if (c->pid == 0)
			child_want(c, 0);
		else if (c->sv.layer > top)
			top = c->sv.layer;
	}
	for (i = 0; i < L->nchild; i++)
		if (L->child[i].pid != 0 && L->child[i].sv.layer == top)
			child_want(&L->child[i], 0);
}

/* Processes of ours still there. */
int
child_running(void)
{
	int	 i, n = 0;

	for (i = 0; i < L->nchild; i++)
		if (L->child[i].pid != 0)
			n++;
	return n;
}
