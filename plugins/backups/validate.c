/* SPDX-License-Identifier: PostgreSQL */
/*
 * validate.c — the `backups:` section: every key checked with its
 * location, the endpoints, paths and secret references marked for the
 * trust model, and the facts the other plugins and the daemon read: the
 * server settings archiving needs (parameters.require.*) and the
 * scheduled jobs (schedule.backups.*). The same parser gives the other
 * callbacks the parsed spec (bak_spec_of), quietly and without marking
 * anything again.
 *
 * archive_command is built here, from the spec alone, so that the plan
 * shows exactly the command the server will run: the absolute path of
 * dbops, the repository and its options, and references to secrets
 * (names of variables or files), never their values.
 */
#include "backups_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct vstate {
	struct dbops_ctx *ctx;
	const struct dbops_host *h;
	bool validating;
	int err;
};

static void v_error(struct vstate *v, const struct dbops_node *n,
		    const char *hint, const char *fmt, ...) DBOPS_PRINTF(4, 5);

static void v_error(struct vstate *v, const struct dbops_node *n,
		    const char *hint, const char *fmt, ...)
{
	struct dbops_diag *d;
	char msg[512];
	va_list ap;

	v->err = DBOPS_ERR_INVALID;
	if (!v->validating)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d = v->h->diag(v->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
		       n ? &n->loc : NULL, "%s", msg);
	if (hint != NULL)
		v->h->diag_hint(v->ctx, d, "%s", hint);
}

static const char *v_string(struct vstate *v, const struct dbops_node *n,
			    const char *what)
{
	const char *s = NULL;

	if (n == NULL)
		return NULL;
	if (!v->validating)
		return n->kind == DBOPS_NODE_SCALAR ? n->scalar : NULL;
	if (v->h->spec_string(&s, v->ctx, n, what) != 0) {
		v->err = DBOPS_ERR_INVALID;
		return NULL;
	}
	if (s != NULL && s[0] == '\0') {
		v_error(v, n, NULL, "%s must not be empty", what);
		return NULL;
	}
	return s;
}

static bool v_keys(struct vstate *v, const struct dbops_node *n,
		   const char *what, const char *const *keys)
{
	if (!v->validating)
		return n != NULL && n->kind == DBOPS_NODE_MAP;
	if (v->h->spec_check_keys(v->ctx, n, what, keys) != 0) {
		v->err = DBOPS_ERR_INVALID;
		return false;
	}
	return true;
}

static int64_t v_duration(struct vstate *v, const struct dbops_node *n,
			  const char *what, int64_t min)
{
	const char *s = v_string(v, n, what);
	int64_t d = 0;

	if (s == NULL)
		return 0;
	if (bak_duration(&d, s) != 0) {
		v_error(v, n,
			"Write a duration such as 90s, 5m, 2h, 14d or 2w.",
			"invalid duration \"%s\"", s);
		return 0;
	}
	if (d < min) {
		v_error(v, n, NULL, "%s is too short", what);
		return 0;
	}
	return d;
}

static void v_trust(struct vstate *v, const struct dbops_node *n,
		    enum dbops_trust kind)
{
	if (v->validating && n != NULL)
		v->h->spec_trust(v->ctx, n, kind);
}

/* A secret reference; quietly re-read after validation. */
static bool v_secret(struct vstate *v, struct dbops_secret_ref *out,
		     const struct dbops_node *n, const char *what)
{
	const struct dbops_node *env, *file;

	if (n == NULL)
		return false;
	if (v->validating) {
		if (v->h->spec_secret(out, v->ctx, n, what) != 0) {
			v->err = DBOPS_ERR_INVALID;
			return false;
		}
		return true;
	}
	env = v->h->spec_get(n, "env");
	file = v->h->spec_get(n, "file");
	memset(out, 0, sizeof(*out));
	out->kind = env != NULL ? DBOPS_SECRET_ENV : DBOPS_SECRET_FILE;
	out->name = env != NULL ? env->scalar : file ? file->scalar : NULL;
	out->loc = n->loc;
	return out->name != NULL;
}

static void v_cron(struct vstate *v, const char **out,
		   const struct dbops_node *n, const char *what)
{
	struct bak_cron c;
	char why[128];
	const char *s = v_string(v, n, what);

	if (s == NULL)
		return;
	if (!bak_cron_parse(&c, s, why, sizeof(why))) {
		struct dbops_diag *d;

		v->err = DBOPS_ERR_INVALID;
		if (!v->validating)
			return;
		d = v->h->diag(v->ctx, DBOPS_SEV_ERROR, DBOPS_ERR_INVALID,
			       &n->loc, "invalid cron schedule \"%s\"", s);
		v->h->diag_detail(v->ctx, d, "%s", why);
		v->h->diag_hint(
		    v->ctx, d,
		    "Write five fields, minute hour day-of-month month day-of-week, such as \"0 3 * * 0\".");
		return;
	}
	*out = s;
}

static void v_posix(struct vstate *v, struct bak_spec *s,
		    const struct dbops_node *n)
{
	static const char *const keys[] = {"path", NULL};
	const struct dbops_node *p;

	if (!v_keys(v, n, "repository.posix", keys))
		return;
	p = v->h->spec_get(n, "path");
	v_trust(v, p, DBOPS_TRUST_PATH);
	s->repo.path = v_string(v, p, "repository.posix.path");
	if (p == NULL)
		v_error(v, n, NULL, "repository.posix needs a %s", "path");
	else if (s->repo.path != NULL && s->repo.path[0] != '/')
		v_error(v, p, NULL,
			"repository.posix.path \"%s\" is not an absolute path",
			s->repo.path);
}

static void v_s3(struct vstate *v, struct bak_spec *s,
		 const struct dbops_node *n)
{
	static const char *const keys[] = {
	    "endpoint",	  "bucket",	 "region",    "prefix", "uri_style",
	    "verify_tls", "credentials", "part_size", NULL};
	static const char *const ckeys[] = {"access_key_id",
					    "secret_access_key", NULL};
	const struct dbops_host *h = v->h;
	const struct dbops_node *c, *x;
	const char *style;

	if (!v_keys(v, n, "repository.s3", keys))
		return;
	v_trust(v, n, DBOPS_TRUST_CONNECTION);
	s->repo.s3 = true;
	s->repo.verify_tls = true;
	s->repo.endpoint =
	    v_string(v, h->spec_get(n, "endpoint"), "repository.s3.endpoint");
	s->repo.bucket =
	    v_string(v, h->spec_get(n, "bucket"), "repository.s3.bucket");
	s->repo.region =
	    v_string(v, h->spec_get(n, "region"), "repository.s3.region");
	s->repo.prefix =
	    v_string(v, h->spec_get(n, "prefix"), "repository.s3.prefix");
	if (s->repo.region == NULL)
		s->repo.region = "us-east-1";
	if (s->repo.prefix == NULL)
		s->repo.prefix = "";
	if (h->spec_get(n, "endpoint") == NULL)
		v_error(v, n, NULL, "repository.s3 needs an %s", "endpoint");
	else if (s->repo.endpoint != NULL &&
		 strncmp(s->repo.endpoint, "https://", 8) != 0 &&
		 strncmp(s->repo.endpoint, "http://", 7) != 0)
		v_error(
		    v, h->spec_get(n, "endpoint"),
		    "Write the endpoint as a URL, such as https://s3.eu-west-1.amazonaws.com.",
		    "repository.s3.endpoint \"%s\" is not an http(s) URL",
		    s->repo.endpoint);
	if (h->spec_get(n, "bucket") == NULL)
		v_error(v, n, NULL, "repository.s3 needs a %s", "bucket");
	if (s->repo.prefix[0] == '/' ||
	    (s->repo.prefix[0] != '\0' &&
	     s->repo.prefix[strlen(s->repo.prefix) - 1] == '/'))
		v_error(
		    v, h->spec_get(n, "prefix"), NULL,
		    "repository.s3.prefix \"%s\" must not start or end with \"/\"",
		    s->repo.prefix);
	style =
	    v_string(v, h->spec_get(n, "uri_style"), "repository.s3.uri_style");
	s->repo.virtual_style = true;
	if (style != NULL && strcmp(style, "path") == 0)
		s->repo.virtual_style = false;
	else if (style != NULL && strcmp(style, "virtual") != 0)
		v_error(
		    v, h->spec_get(n, "uri_style"),
		    "Use \"path\" (MinIO and most self-hosted stores) or \"virtual\".",
		    "invalid repository.s3.uri_style \"%s\"", style);
	if ((x = h->spec_get(n, "verify_tls")) != NULL && v->validating &&
	    h->spec_bool(&s->repo.verify_tls, v->ctx, x,
			 "repository.s3.verify_tls") != 0)
		v->err = DBOPS_ERR_INVALID;
	else if (x != NULL && !v->validating)
		s->repo.verify_tls = !(strcmp(x->scalar, "false") == 0 ||
				       strcmp(x->scalar, "off") == 0 ||
				       strcmp(x->scalar, "no") == 0);
	if ((x = h->spec_get(n, "part_size")) != NULL) {
		const char *ps = v_string(v, x, "repository.s3.part_size");
		char *end = NULL;
		long mb = ps ? strtol(ps, &end, 10) : 0;

		if (ps != NULL && (end == ps || mb < 5 || mb > 5120 ||
				   (strcmp(end, "MB") != 0 && *end != '\0')))
			v_error(
			    v, x,
			    "S3 parts are 5MB to 5120MB: write part_size: 16MB.",
			    "invalid repository.s3.part_size \"%s\"", ps);
		else if (ps != NULL)
			s->repo.part_size = (size_t)mb << 20;
	}
	c = h->spec_get(n, "credentials");
	if (c == NULL) {
		v_error(
		    v, n,
		    "Name the keys by secret reference: credentials: {access_key_id: {env: DBOPS_SECRET_S3_KEY_ID}, secret_access_key: {env: DBOPS_SECRET_S3_SECRET}}.",
		    "repository.s3 needs %s", "credentials");
		return;
	}
	if (!v_keys(v, c, "repository.s3.credentials", ckeys))
		return;
	s->has_access_key =
	    v_secret(v, &s->access_key, h->spec_get(c, "access_key_id"),
		     "repository.s3.credentials.access_key_id") &&
	    v_secret(v, &s->secret_key, h->spec_get(c, "secret_access_key"),
		     "repository.s3.credentials.secret_access_key");
	if (!s->has_access_key && h->spec_get(c, "access_key_id") == NULL)
		v_error(v, c, NULL, "repository.s3.credentials needs %s",
			"access_key_id");
	if (!s->has_access_key && h->spec_get(c, "secret_access_key") == NULL)
		v_error(v, c, NULL, "repository.s3.credentials needs %s",
			"secret_access_key");
}

static void v_repository(struct vstate *v, struct bak_spec *s,
			 const struct dbops_node *n)
{
	static const char *const keys[] = {"posix", "s3", NULL};
	const struct dbops_node *p, *x;

	if (n == NULL) {
		v_error(
		    v, NULL,
		    "Add repository: {posix: {path: /var/lib/dbops/backups}} or repository: {s3: {...}}.",
		    "the backups section needs a %s", "repository");
		return;
	}
	if (!v_keys(v, n, "repository", keys))
		return;
	p = v->h->spec_get(n, "posix");
	x = v->h->spec_get(n, "s3");
	if ((p == NULL) == (x == NULL)) {
		v_error(v, n, NULL, "repository needs exactly one of %s",
			"posix and s3");
		return;
	}
	if (p != NULL)
		v_posix(v, s, p);
	else
		v_s3(v, s, x);
}

static void v_compression(struct vstate *v, struct bak_spec *s,
			  const struct dbops_node *n)
{
	static const char *const keys[] = {"type", "level", "where", NULL};
	const struct dbops_node *t = n, *lv = NULL, *w = NULL;
	const char *text, *where;

	s->codec.compress = BAK_COMP_LZ4;
	s->server_compress = true;
	if (n == NULL)
		return;
	if (n->kind == DBOPS_NODE_MAP) {
		if (!v_keys(v, n, "compression", keys))
			return;
		t = v->h->spec_get(n, "type");
		lv = v->h->spec_get(n, "level");
		w = v->h->spec_get(n, "where");
		if (t == NULL) {
			v_error(v, n, NULL, "compression needs a %s", "type");
			return;
		}
	}
	text = v_string(v, t, "compression");
	if (text == NULL)
		return;
	if (strcmp(text, "lz4") == 0)
		s->codec.compress = BAK_COMP_LZ4;
	else if (strcmp(text, "zstd") == 0)
		s->codec.compress = BAK_COMP_ZSTD;
	else if (strcmp(text, "none") == 0)
		s->codec.compress = BAK_COMP_NONE;
	else
		v_error(v, t, "Use lz4, zstd or none.",
			"unknown compression \"%s\"", text);
	if (lv != NULL) {
		int64_t level = 0;

		if (s->codec.compress != BAK_COMP_ZSTD)
			v_error(
			    v, lv, NULL,
			    "compression.level applies to zstd only, not to %s",
			    text);
		else if (v->validating &&
			 v->h->spec_int(&level, v->ctx, lv, "compression.level",
					1, 19) != 0)
			v->err = DBOPS_ERR_INVALID;
		else if (!v->validating)
			level = strtol(lv->scalar, NULL, 10);
		s->codec.level = (int)level;
	}
	where = v_string(v, w, "compression.where");
	if (where != NULL && strcmp(where, "client") == 0)
		s->server_compress = false;
	else if (where != NULL && strcmp(where, "server") != 0)
		v_error(
		    v, w,
		    "Use \"server\" (PostgreSQL compresses base backups itself) or \"client\".",
		    "invalid compression.where \"%s\"", where);
}

static void v_checks(struct vstate *v, struct bak_spec *s,
		     const struct dbops_node *n)
{
	static const char *const keys[] = {"sql", "expect", "database", NULL};

	if (n == NULL)
		return;
	if (n->kind != DBOPS_NODE_SEQ) {
		v_error(v, n, "Write a list of {sql: ..., expect: ...}.",
			"drill.checks must be a %s", "list");
		return;
	}
	s->checks = v->h->alloc(v->ctx, (n->len + 1) * sizeof(*s->checks));
	for (size_t i = 0; i < n->len; i++) {
		const struct dbops_node *c = n->items[i];
		struct bak_check *k = &s->checks[s->nchecks];

		if (!v_keys(v, c, "a drill check", keys))
			continue;
		k->sql =
		    v_string(v, v->h->spec_get(c, "sql"), "drill check sql");
		k->expect = v_string(v, v->h->spec_get(c, "expect"),
				     "drill check expect");
		k->database = v_string(v, v->h->spec_get(c, "database"),
				       "drill check database");
		k->loc = c->loc;
		if (v->h->spec_get(c, "sql") == NULL)
			v_error(v, c, NULL, "a drill check needs %s", "sql");
		if (v->h->spec_get(c, "expect") == NULL)
			v_error(
			    v, c,
			    "Give the first column of the first row as text, such as expect: \"42\".",
			    "a drill check needs %s", "expect");
		s->nchecks++;
	}
}

static void v_drill(struct vstate *v, struct bak_spec *s,
		    const struct dbops_node *n)
{
	static const char *const keys[] = {
	    "schedule", "checks", "max_duration", "directory", "port", NULL};
	const struct dbops_node *d, *p;

	if (n == NULL || !v_keys(v, n, "drill", keys))
		return;
	v_cron(v, &s->drill_cron, v->h->spec_get(n, "schedule"),
	       "drill.schedule");
	v_checks(v, s, v->h->spec_get(n, "checks"));
	s->drill_max = v_duration(v, v->h->spec_get(n, "max_duration"),
				  "drill.max_duration", 1);
	d = v->h->spec_get(n, "directory");
	v_trust(v, d, DBOPS_TRUST_PATH);
	s->drill_dir = v_string(v, d, "drill.directory");
	if (s->drill_dir != NULL && s->drill_dir[0] != '/')
		v_error(v, d, NULL,
			"drill.directory \"%s\" is not an absolute path",
			s->drill_dir);
	if ((p = v->h->spec_get(n, "port")) != NULL) {
		v_trust(v, p, DBOPS_TRUST_CONNECTION);
		if (v->validating &&
		    v->h->spec_int(&s->drill_port, v->ctx, p, "drill.port", 1,
				   65535) != 0)
			v->err = DBOPS_ERR_INVALID;
		else if (!v->validating)
			s->drill_port = strtol(p->scalar, NULL, 10);
	}
}

static void v_misc(struct vstate *v, struct bak_spec *s,
		   const struct dbops_node *section)
{
	static const char *const skeys[] = {"full", "incremental", NULL};
	static const char *const rkeys[] = {"full", "age", NULL};
	static const char *const okeys[] = {"rpo", "rto", NULL};
	static const char *const ekeys[] = {"key", "cipher", NULL};
	const struct dbops_host *h = v->h;
	const struct dbops_node *n;

	if ((n = h->spec_get(section, "encryption")) != NULL &&
	    v_keys(v, n, "encryption", ekeys)) {
		const char *cipher =
		    v_string(v, h->spec_get(n, "cipher"), "encryption.cipher");

		if (cipher != NULL && strcmp(cipher, "aes-256-gcm") != 0)
			v_error(v, h->spec_get(n, "cipher"),
				"The only cipher is aes-256-gcm.",
				"unknown cipher \"%s\"", cipher);
		s->codec.encrypt = v_secret(
		    v, &s->enc_key, h->spec_get(n, "key"), "encryption.key");
		if (h->spec_get(n, "key") == NULL)
			v_error(
			    v, n,
			    "Name a 64-hex-digit key by secret reference: key: {env: DBOPS_SECRET_BACKUP_KEY}.",
			    "encryption needs a %s", "key");
	}
	if ((n = h->spec_get(section, "schedule")) != NULL &&
	    v_keys(v, n, "schedule", skeys)) {
		v_cron(v, &s->full_cron, h->spec_get(n, "full"),
		       "schedule.full");
		v_cron(v, &s->incr_cron, h->spec_get(n, "incremental"),
		       "schedule.incremental");
	}
	if ((n = h->spec_get(section, "retention")) != NULL &&
	    v_keys(v, n, "retention", rkeys)) {
		const struct dbops_node *f = h->spec_get(n, "full");

		s->retention_loc = n->loc;
		if (f != NULL && v->validating &&
		    h->spec_int(&s->retention.full, v->ctx, f, "retention.full",
				1, 9999) != 0)
			v->err = DBOPS_ERR_INVALID;
		else if (f != NULL && !v->validating)
			s->retention.full = strtol(f->scalar, NULL, 10);
		s->retention.age_sec =
		    v_duration(v, h->spec_get(n, "age"), "retention.age", 60);
		if (f == NULL && h->spec_get(n, "age") == NULL)
			v_error(
			    v, n,
			    "Keep a count of full backups (full: 7), an age (age: 14d), or both.",
			    "retention needs %s", "full or age");
	}
	s->archive_timeout = v_duration(
	    v, h->spec_get(section, "archive_timeout"), "archive_timeout", 1);
	if ((n = h->spec_get(section, "objectives")) != NULL &&
	    v_keys(v, n, "objectives", okeys)) {
		s->objectives_loc = n->loc;
		s->rpo =
		    v_duration(v, h->spec_get(n, "rpo"), "objectives.rpo", 1);
		s->rto =
		    v_duration(v, h->spec_get(n, "rto"), "objectives.rto", 1);
	}
	if ((n = h->spec_get(section, "from")) != NULL) {
		v_trust(v, n, DBOPS_TRUST_CONNECTION);
		s->from = v_string(v, n, "from");
		if (s->from != NULL && strcmp(s->from, "primary") == 0)
			s->from = NULL;
	}
	if ((n = h->spec_get(section, "dbops")) != NULL) {
		v_trust(v, n, DBOPS_TRUST_EXEC);
		s->dbops_path = v_string(v, n, "dbops");
		if (s->dbops_path != NULL && s->dbops_path[0] != '/')
			v_error(
			    v, n,
			    "The server runs archive_command from its data directory: give the absolute path of dbops.",
			    "dbops \"%s\" is not an absolute path",
			    s->dbops_path);
	}
	if ((n = h->spec_get(section, "bindir")) != NULL) {
		v_trust(v, n, DBOPS_TRUST_EXEC);
		s->bindir = v_string(v, n, "bindir");
	}
	if ((n = h->spec_get(section, "os_user")) != NULL) {
		v_trust(v, n, DBOPS_TRUST_EXEC);
		s->os_user = v_string(v, n, "os_user");
	}
}

/* An argument for the shell that runs archive_command. */
static const char *v_shell_quote(struct dbops_ctx *ctx, const char *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	size_t n = 0;
	char *out, *w;

	if (strspn(
		s,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-:=+,@") ==
		strlen(s) &&
	    s[0] != '\0')
		return s;
	for (const char *p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	out = w = h->alloc(ctx, n + 3);
	*w++ = '\'';
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(w, "'\\''", 4);
			w += 4;
		} else {
			*w++ = *p;
		}
	}
	*w++ = '\'';
	return out;
}

static const char *v_ref_opt(struct dbops_ctx *ctx, const char *opt,
			     const struct dbops_secret_ref *r)
{
	return dbops_host(ctx)->printf(ctx, " --%s-%s %s", opt,
				       r->kind == DBOPS_SECRET_ENV ? "env"
								   : "file",
				       v_shell_quote(ctx, r->name));
}

/* The repository and secret options both tools take. */
static const char *v_tool_opts(struct dbops_ctx *ctx, const struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *o;

	if (!s->repo.s3)
		return h->printf(ctx, " --repo %s",
				 v_shell_quote(ctx, s->repo.path));
	o = h->printf(
	    ctx, " --repo %s --endpoint %s --region %s --uri-style %s%s%s",
	    v_shell_quote(ctx, h->printf(ctx, "s3://%s%s%s", s->repo.bucket,
					 s->repo.prefix[0] ? "/" : "",
					 s->repo.prefix)),
	    v_shell_quote(ctx, s->repo.endpoint),
	    v_shell_quote(ctx, s->repo.region),
	    s->repo.virtual_style ? "virtual" : "path",
	    s->repo.verify_tls ? "" : " --no-verify-tls",
	    s->repo.part_size
		? h->printf(ctx, " --part-size %zu", s->repo.part_size >> 20)
		: "");
	if (s->has_access_key)
		o = h->printf(ctx, "%s%s%s", o,
			      v_ref_opt(ctx, "access-key", &s->access_key),
			      v_ref_opt(ctx, "secret-key", &s->secret_key));
	return o;
}

static const char *v_self(struct dbops_ctx *ctx)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return "dbops";
	buf[n] = '\0';
	return dbops_host(ctx)->strdup(ctx, buf);
}

static void v_commands(struct dbops_ctx *ctx, struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);
	const char *dbops = s->dbops_path ? s->dbops_path : v_self(ctx);
	const char *opts = v_tool_opts(ctx, s);
	const char *key =
	    s->codec.encrypt ? v_ref_opt(ctx, "key", &s->enc_key) : "";
	const char *comp =
	    s->codec.compress == BAK_COMP_ZSTD && s->codec.level > 0
		? h->printf(ctx, "zstd:%d", s->codec.level)
		: bak_compress_name(s->codec.compress);

	s->archive_command =
	    h->printf(ctx, "%s wal-push%s --compress %s%s %%p",
		      v_shell_quote(ctx, dbops), opts, comp, key);
	s->restore_command_base = h->printf(
	    ctx, "%s wal-fetch%s%s", v_shell_quote(ctx, dbops), opts, key);
}

static void v_publish(struct dbops_ctx *ctx, const struct bak_spec *s)
{
	const struct dbops_host *h = dbops_host(ctx);

	h->fact_put(ctx, "parameters.require.archive_mode", "on", NULL,
		    &s->loc);
	h->fact_put(ctx, "parameters.require.archive_command",
		    s->archive_command, NULL, &s->loc);
	if (s->archive_timeout > 0)
		h->fact_put(
		    ctx, "parameters.require.archive_timeout",
		    h->printf(ctx, "%llds", (long long)s->archive_timeout),
		    NULL, &s->loc);
	/* the objectives for the monitoring plugin, in milliseconds as the
	 * replicas plugin publishes max_lag.time */
	if (s->rpo > 0)
		h->fact_put(ctx, "backups.objectives.rpo",
			    h->printf(ctx, "%lld", (long long)s->rpo * 1000),
			    NULL, &s->objectives_loc);
	if (s->rto > 0)
		h->fact_put(ctx, "backups.objectives.rto",
			    h->printf(ctx, "%lld", (long long)s->rto * 1000),
			    NULL, &s->objectives_loc);
	if (s->full_cron != NULL)
		h->fact_put(
		    ctx, "schedule.backups.full",
		    h->printf(ctx, "%s backup run --type full", s->full_cron),
		    NULL, &s->loc);
	if (s->incr_cron != NULL)
		h->fact_put(ctx, "schedule.backups.incremental",
			    h->printf(ctx, "%s backup run --type incremental",
				      s->incr_cron),
			    NULL, &s->loc);
	if (s->drill_cron != NULL)
		h->fact_put(ctx, "schedule.backups.drill",
			    h->printf(ctx, "%s backup drill", s->drill_cron),
			    NULL, &s->loc);
}

static struct bak_spec *bak_parse(struct dbops_ctx *ctx,
				  const struct dbops_node *section,
				  bool validating, int *err)
{
	static const char *const keys[] = {
	    "repository", "compression",     "encryption", "schedule",
	    "retention",  "archive_timeout", "objectives", "drill",
	    "from",	  "dbops",	     "bindir",	   "os_user",
	    NULL};
	struct vstate v = {ctx, dbops_host(ctx), validating, 0};
	struct bak_spec *s = v.h->alloc(ctx, sizeof(*s));

	s->repo.retries = 3;
	if (section != NULL)
		s->loc = section->loc;
	if (section == NULL ||
	    !v_keys(&v, section, "the backups section", keys)) {
		*err = section == NULL ? 0 : DBOPS_ERR_INVALID;
		return s;
	}
	v_repository(&v, s, v.h->spec_get(section, "repository"));
	v_compression(&v, s, v.h->spec_get(section, "compression"));
	v_misc(&v, s, section);
	v_drill(&v, s, v.h->spec_get(section, "drill"));
	if (v.err == 0)
		v_commands(ctx, s);
	*err = v.err;
	return s;
}

int bak_validate(struct dbops_ctx *ctx, const struct dbops_node *section)
{
	int err = 0;
	struct bak_spec *s = bak_parse(ctx, section, true, &err);

	if (err == 0)
		v_publish(ctx, s);
	return err;
}

const struct bak_spec *bak_spec_of(struct dbops_ctx *ctx,
				   const struct dbops_node *section)
{
	int err = 0;

	return bak_parse(ctx, section, false, &err);
}
