/* SPDX-License-Identifier: PostgreSQL */
/*
 * harness.c — the driver shared by the plugin harnesses (harness.h): one
 * pass per input, set up as pass_load does for a plugin whose section is
 * present, with the controller's host table; validate runs on the parsed
 * input and the pass is disposed of, so that LeakSanitizer sees any
 * memory an input leaves behind. It does not observe, diff or connect.
 */
#include "harness.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "pass.h"
#include "spec.h"

FILE *fuzz_sink(void)
{
	static FILE *sink;

	if (sink == NULL)
		sink = fopen("/dev/null", "w");
	if (sink == NULL) {
		perror("fuzz: could not open /dev/null");
		abort();
	}
	return sink;
}

/* The top of the source tree: $DBOPS_SRCDIR, else two levels above the
 * harness binary (<top>/build-fuzz/fuzz/fuzz_<name>). */
static const char *fuzz_top(void)
{
	static char top[PATH_MAX];
	const char *env = getenv("DBOPS_SRCDIR");
	ssize_t n;

	if (top[0] != '\0')
		return top;
	if (env != NULL && env[0] != '\0') {
		snprintf(top, sizeof(top), "%s", env);
		return top;
	}
	n = readlink("/proc/self/exe", top, sizeof(top) - 1);
	if (n <= 0) {
		fputs(
		    "fuzz: could not find the source tree; set DBOPS_SRCDIR\n",
		    stderr);
		abort();
	}
	top[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(top, '/');

		if (slash == NULL) {
			fputs(
			    "fuzz: could not find the source tree; set DBOPS_SRCDIR\n",
			    stderr);
			abort();
		}
		*slash = '\0';
	}
	return top;
}

static void fuzz_open_source(struct pass *p, const char *rel)
{
	struct source_opts so;

	memset(&so, 0, sizeof(so));
	so.dir = arena_printf(p->a, "%s/%s", fuzz_top(), rel);
	if (source_open(&p->src, p->a, &p->diags, &so) != 0) {
		diag_print_list(stderr, &p->diags);
		abort();
	}
}

static void fuzz_check_contract(const struct fuzz_plugin *fp, int rc,
				int errors_before, int errors_after)
{
	if (rc > 0) {
		fprintf(
		    stderr,
		    "fuzz: validate of \"%s\" returned %d, not 0 or a negative enum dbops_err\n",
		    fp->name, rc);
		abort();
	}
	if (rc != 0 && errors_after == errors_before) {
		fprintf(
		    stderr,
		    "fuzz: validate of \"%s\" failed (%d) without raising an error\n",
		    fp->name, rc);
		abort();
	}
}

int fuzz_validate(const struct fuzz_plugin *fp, const uint8_t *data,
		  size_t size)
{
	struct dbops_plugin desc;
	struct loaded_plugin lp;
	struct registry reg;
	struct pass_plugin pp;
	struct dbops_ctx ctx;
	struct pass p;
	const struct dbops_node *root = NULL, *section;
	int before, rc;

	memset(&desc, 0, sizeof(desc));
	desc.name = fp->name;
	desc.spec_section = fp->name;
	desc.validate = fp->validate;
	memset(&lp, 0, sizeof(lp));
	lp.desc = &desc;
	memset(&reg, 0, sizeof(reg));
	reg.plugins = &lp;
	reg.n = 1;

	pass_init(&p, &reg);
	p.cluster_dir = "";
	p.spec_path = "cluster.yaml";
	if (fp->source_dir != NULL)
		fuzz_open_source(&p, fp->source_dir);
	spec_parse(&root, p.a, &p.diags, p.spec_path, (const char *)data, size,
		   &spec_default_limits);
	if (root != NULL) {
		section = spec_get(root, fp->name);
		if (section == NULL)
			section = root;
		memset(&pp, 0, sizeof(pp));
		pp.lp = &lp;
		pp.section = section;
		pp.ctx = &ctx;
		memset(&ctx, 0, sizeof(ctx));
		ctx.head.host = &host_table;
		ctx.pass = &p;
		ctx.pp = &pp;
		p.plugins = &pp;
		p.nplugins = 1;
		p.stage = PASS_STAGE_VALIDATE;
		before = p.diags.nerrors;
		rc = desc.validate(&ctx, section);
		fuzz_check_contract(fp, rc, before, p.diags.nerrors);
		p.plugins = NULL;
		p.nplugins = 0;
	}
	diag_print_list(fuzz_sink(), &p.diags);
	pass_dispose(&p);
	return 0;
}

int fuzz_with_ctx(const char *name,
		  void (*fn)(struct dbops_ctx *ctx, const uint8_t *data,
			     size_t size),
		  const uint8_t *data, size_t size)
{
	struct dbops_plugin desc;
	struct loaded_plugin lp;
	struct registry reg;
	struct pass_plugin pp;
	struct dbops_ctx ctx;
	struct pass p;

	memset(&desc, 0, sizeof(desc));
	desc.name = name;
	desc.spec_section = name;
	memset(&lp, 0, sizeof(lp));
	lp.desc = &desc;
	memset(&reg, 0, sizeof(reg));
	reg.plugins = &lp;
	reg.n = 1;

	pass_init(&p, &reg);
	p.cluster_dir = "";
	p.spec_path = "cluster.yaml";
	memset(&pp, 0, sizeof(pp));
	pp.lp = &lp;
	pp.ctx = &ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.head.host = &host_table;
	ctx.pass = &p;
	ctx.pp = &pp;
	p.plugins = &pp;
	p.nplugins = 1;
	p.stage = PASS_STAGE_VALIDATE;
	fn(&ctx, data, size);
	p.plugins = NULL;
	p.nplugins = 0;
	diag_print_list(fuzz_sink(), &p.diags);
	pass_dispose(&p);
	return 0;
}
