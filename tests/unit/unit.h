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

#ifndef CL_UNIT_H
#define CL_UNIT_H

/*
 * A tiny TAP producer for the unit tests.  Each tests/unit/test_*.c is
 * its own program: it calls CHECK() once per named check, which prints
 * "ok N - name" or "not ok N - name # file:line", and ends main with
 * "return unit_done();", which prints the plan and gives exit status 1
 * if any check failed.  unit_diag() adds "# ..." lines that explain a
 * failure; tests/run counts only the ok / not ok lines.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int	 unit_n;		/* checks so far */
static int	 unit_failed;

#define CHECK(cond, name) \
	unit_check((cond) != 0, __FILE__, __LINE__, "%s", (name))
/* CHECKF(cond, fmt, ...): the name is printf-formatted. */
#define CHECKF(cond, ...) \
	unit_check((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)
/* Two strings equal (NULL equals only NULL); shows both on failure. */
#define CHECK_STR(got, want, name) \
	unit_check_str((got), (want), __FILE__, __LINE__, (name))

static inline int
unit_check(int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((__format__ (printf, 4, 5)));

static inline int
unit_check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	unit_n++;
	if (!ok)
		unit_failed++;
	(void)printf("%sok %d - ", ok ? "" : "not ", unit_n);
	va_start(ap, fmt);
	(void)vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		(void)printf(" # %s:%d", file, line);
	(void)printf("\n");
	(void)fflush(stdout);
	return ok;
}

static inline void
unit_diag(const char *fmt, ...)
	__attribute__((__format__ (printf, 1, 2)));

static inline void
unit_diag(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[8192], *line, *nl;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Every line of a diagnostic starts with "# ". */
	for (line = msg; line != NULL; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (nl == NULL && *line == '\0' && line != msg)
			break;
		(void)printf("# %s\n", line);
	}
	(void)fflush(stdout);
}

static inline int
unit_check_str(const char *got, const char *want, const char *file, int line,
    const char *name)
{
	int	 ok;

	if (got == NULL || want == NULL)
		ok = got == want;
	else
		ok = strcmp(got, want) == 0;
	if (!unit_check(ok, file, line, "%s", name))
		unit_diag("got \"%s\", want \"%s\"", got ? got : "(null)",
		    want ? want : "(null)");
	return ok;
}

/* The TAP plan, last; the exit status for main. */
static inline int
unit_done(void)
{
	(void)printf("1..%d\n", unit_n);
	if (unit_failed > 0)
		unit_diag("%d of %d checks failed", unit_failed, unit_n);
	(void)fflush(stdout);
	return unit_failed > 0 ? 1 : 0;
}

#endif /* CL_UNIT_H */
