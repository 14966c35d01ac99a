/* SPDX-License-Identifier: PostgreSQL */
/*
 * main.c — the dbops command line: argument parsing, the commands
 * (validate, plan, apply, history, version), exit codes and signals.
 * The work itself is done by pass.c (up to the plan), apply.c and
 * record.c; this file only wires them together and prints.
 *
 * Exit codes: 0 success (no changes with --detailed-exitcode), 1 error,
 * 2 changes present (plan --detailed-exitcode) or degraded (status), 3 the
 * apply lock is held by another controller.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "config.h"
#include "daemon.h"
#include "daemon_config.h"
#include "diag.h"
#include "loader.h"
#include "pass.h"
#include "planfile.h"
#include "record.h"

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_CHANGES = 2,
	EXIT_LOCKED = 3,
};

enum format {
	FORMAT_TEXT = 0,
	FORMAT_MARKDOWN,
	FORMAT_JSON,
};

struct cli {
	const char *command;
	struct pass_opts po;
	enum format format;
	bool no_color;
	int verbose;
	const char *out;
	bool detailed_exitcode;
	bool auto_approve;
	bool allow_destructive;
	double lock_timeout;
	int limit;
	const char *arg; /* positional: plan file, run id */
	bool show_sql;
	const char *mode_plugin; /* dbops PLUGIN COMMAND */
	const char *mode;
	const char **args; /* a plugin command's own options: name, value */
	size_t nargs;
	const char *config_path; /* --config, else $DBOPS_CONFIG */
	struct config config;
	struct arena *a;    /* what parsing the options allocates */
	bool status_daemon; /* status --daemon */
};

extern volatile int host_cancel_requested;

/* The first SIGINT/SIGTERM lets the changes in progress finish and starts
 * no other; the second cancels the statements running (as psql's Ctrl-C
 * does), which fail and are rolled back. */
static void on_signal(int sig)
{
	static const char first[] =
	    "\nInterrupt received: finishing the changes in progress, starting no other. Interrupt again to cancel them.\n";
	static const char second[] =
	    "\nInterrupt received again: cancelling the statements in progress.\n";

	(void)sig;
	if (host_cancel_requested) {
		(void)!write(STDERR_FILENO, second, sizeof(second) - 1);
		pgconn_cancel_all();
		return;
	}
	host_cancel_requested = 1;
	(void)!write(STDERR_FILENO, first, sizeof(first) - 1);
}

/* With `restart`, system calls interrupted by the signal resume (libpq
 * retries its own anyway); without, a blocking read returns EINTR: the
 * confirmation prompt ends on Ctrl-C. */
static void install_signals(bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static const char usage_main[] =
    "dbops keeps PostgreSQL clusters in the state a git repository describes.\n"
    "\n"
    "Usage:\n"
    "  dbops COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  validate   check the spec without connecting to the cluster\n"
    "  plan       show what apply would change\n"
    "  apply      change the cluster to match the spec (or apply a saved plan)\n"
    "  status     the health each plugin reports (replication lag, ...)\n"
    "  history    show the runs recorded in the cluster\n"
    "  daemon     keep the fleet in the state of a branch, with status,\n"
    "             metrics, webhooks and notifications\n"
    "  review     plan a pull request and post the plan on it\n"
    "  version    show the version, the plugins found and their commands\n"
    "  PLUGIN CMD a plugin's command (e.g. \"dbops migrations repair\"),\n"
    "             planned and applied like apply\n"
    "\n"
    "Run \"dbops COMMAND --help\" for a command's options.\n"
    "Exit codes: 0 ok, 1 error, 2 changes pending (plan --detailed-exitcode)\n"
    "or degraded (status), 3 the cluster is locked by another apply.\n";

static const char usage_source[] =
    "Spec source (one of):\n"
    "  --repo PATH|URL      a git repository: a local path, or a URL (https://,\n"
    "                       ssh://, file://, user@host:path) cloned into a cache\n"
    "  --rev REF            branch, tag or commit to read (default HEAD)\n"
    "  --dir PATH           a plain directory (uncommitted files)\n"
    "  --cluster NAME       the cluster to use when dbops.yaml lists several\n"
    "  --lint-base REV      lint only the migrations added or changed since REV\n"
    "                       (a pull request's view; --repo only)\n"
    "  --cache-dir PATH     where remote repositories are cloned\n"
    "                       (default $DBOPS_CACHE_DIR or ~/.cache/dbops)\n";

static const char usage_conn[] =
    "Connection and trust:\n"
    "  -d, --conninfo STR   libpq connection string or URI; overrides the spec's\n"
    "                       connection. PG* variables, .pgpass and service files\n"
    "                       work as with psql.\n"
    "  --config FILE        dbops' own configuration (default $DBOPS_CONFIG): the\n"
    "                       secrets a spec may reference, the trusted revision,\n"
    "                       clusters' connections\n"
    "  --trusted-rev REV    refuse a revision whose connections or secret\n"
    "                       references differ from REV's (plan pull requests\n"
    "                       with --trusted-rev main)\n";

static const char usage_common[] =
    "  --no-color           no colour (also NO_COLOR=1; colour only on a terminal)\n"
    "  -v, --verbose        more logging (repeat for debug)\n"
    "  -h, --help           this help\n";

static void print_help(const char *command)
{
	if (command == NULL) {
		fputs(usage_main, stdout);
		return;
	}
	if (strcmp(command, "validate") == 0) {
		printf(
		    "Usage: dbops validate [OPTIONS]\n\nCheck the spec and every plugin section; report all problems at once.\nNothing connects to a server.\n\n%s\n%s",
		    usage_source, usage_common);
	} else if (strcmp(command, "plan") == 0) {
		printf(
		    "Usage: dbops plan [OPTIONS]\n\nRead the spec, observe the cluster and show the changes apply would make.\n\n%s\n%s\nOutput:\n"
		    "  --format FMT         text (default), markdown (a pull-request comment) or json\n"
		    "  --out FILE           save the plan; \"dbops apply FILE\" applies exactly it\n"
		    "  --detailed-exitcode  exit 0 when there are no changes, 2 when there are\n"
		    "  --show-sql           all of a long SQL text, not its first lines\n%s",
		    usage_source, usage_conn, usage_common);
	} else if (strcmp(command, "apply") == 0) {
		printf(
		    "Usage: dbops apply [OPTIONS] [PLANFILE]\n\nPlan and apply the changes, after confirmation on a terminal. With PLANFILE,\napply exactly that saved plan, or refuse when the spec or the cluster changed\nsince it was made.\n\n%s\n%s\nApply:\n"
		    "  --auto-approve       do not ask for confirmation (CI, daemons)\n"
		    "  --allow-destructive  also apply changes flagged destructive\n"
		    "  --lock-timeout DUR   wait up to DUR (e.g. 30s, 5m) for another apply to\n"
		    "                       finish; default 0: exit 3 at once\n%s",
		    usage_source, usage_conn, usage_common);
	} else if (strcmp(command, "history") == 0) {
		printf(
		    "Usage: dbops history [OPTIONS] [RUN]\n\nShow the last runs recorded in the cluster's \"dbops\" schema, or the changes\nof one run.\n\n%s\nThe connection comes from --conninfo, else from the spec when a source is\ngiven, else from the PG* variables.\n\n%s\n"
		    "  --limit N            how many runs (default 20)\n"
		    "  --format FMT         text (default) or json\n%s",
		    usage_conn, usage_source, usage_common);
	} else if (strcmp(command, "status") == 0) {
		printf(
		    "Usage: dbops status [OPTIONS]\n\nObserve the cluster and show the health each plugin reports. Exit 0\nhealthy, 2 degraded (warnings), 1 unhealthy or an error.\n\n%s\n%s\n"
		    "Daemon:\n"
		    "  --daemon             the status the daemon recorded in each cluster of\n"
		    "                       the configuration (--config): sync, health,\n"
		    "                       revision, last error, next pass\n"
		    "  --format FMT         with --daemon: text (default) or json\n%s",
		    usage_source, usage_conn, usage_common);
	} else if (strcmp(command, "version") == 0) {
		printf(
		    "Usage: dbops version\n\nShow the version of dbops, its plugin ABI, and the plugins it finds.\n");
	} else {
		fputs(usage_main, stdout);
	}
}

static int cli_error(const char *msg, const char *hint)
{
	fprintf(stderr, "ERROR:  %s\n", msg);
	if (hint != NULL)
		fprintf(stderr, "HINT:  %s\n", hint);
	return EXIT_ERROR;
}

/* "30s", "5m", "1h", "250ms", "10" (seconds) */
static bool parse_duration(double *out, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return false;
	if (*end == '\0' || strcmp(end, "s") == 0)
		*out = v;
	else if (strcmp(end, "ms") == 0)
		*out = v / 1000.0;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		*out = v * 60.0;
	else if (strcmp(end, "h") == 0)
		*out = v * 3600.0;
	else
		return false;
	return true;
}

/* Local paths are made absolute so that a saved plan works from any
 * directory. The copy lives in `a`. */
static const char *absolute(struct arena *a, const char *path)
{
	char buf[PATH_MAX];

	if (path == NULL || strstr(path, "://") != NULL)
		return path;
	if (strchr(path, '@') != NULL && strchr(path, ':') != NULL &&
	    access(path, F_OK) != 0)
		return path; /* user@host:path */
	if (realpath(path, buf) == NULL)
		return path;
	return arena_strdup(a, buf);
}

/* Keep an option for host->arg() (the strings live as long as the arena). */
static void plugin_arg(struct cli *c, const char *name, const char *value)
{
	const char **v = arena_alloc(c->a, (2 * c->nargs + 2) * sizeof(char *));

	if (c->nargs > 0)
		memcpy(v, c->args, 2 * c->nargs * sizeof(char *));
	v[2 * c->nargs] = name;
	v[2 * c->nargs + 1] = value;
	c->args = v;
	c->nargs++;
}

/*
 * An option the core does not know, given to a plugin command: "--name
 * value", "--name=value" or a lone "--name". Kept for host->arg().
 */
static bool plugin_option(struct cli *c, int argc, char **argv)
{
	const char *opt = argv[optind - 1];
	const char *eq;

	if (strncmp(opt, "--", 2) != 0 || opt[2] == '\0')
		return false;
	opt += 2;
	eq = strchr(opt, '=');
	if (eq != NULL)
		plugin_arg(c, arena_strndup(c->a, opt, (size_t)(eq - opt)),
			   eq + 1);
	else if (optind < argc && argv[optind][0] != '-')
		plugin_arg(c, opt, argv[optind++]);
	else
		plugin_arg(c, opt, "");
	return true;
}

static int parse_args(struct cli *c, int argc, char **argv, int first)
{
	enum {
		O_REPO = 256,
		O_REV,
		O_DIR,
		O_CLUSTER,
		O_CACHE,
		O_FORMAT,
		O_NOCOLOR,
		O_OUT,
		O_DETAILED,
		O_AUTO,
		O_DESTRUCTIVE,
		O_LOCKTIMEOUT,
		O_LIMIT,
		O_SHOWSQL,
		O_LINTBASE,
		O_CONFIG,
		O_TRUSTED,
		O_DAEMON,
	};
	static const struct option opts[] = {
	    {"repo", required_argument, NULL, O_REPO},
	    {"rev", required_argument, NULL, O_REV},
	    {"dir", required_argument, NULL, O_DIR},
	    {"cluster", required_argument, NULL, O_CLUSTER},
	    {"cache-dir", required_argument, NULL, O_CACHE},
	    {"conninfo", required_argument, NULL, 'd'},
	    {"format", required_argument, NULL, O_FORMAT},
	    {"no-color", no_argument, NULL, O_NOCOLOR},
	    {"verbose", no_argument, NULL, 'v'},
	    {"out", required_argument, NULL, O_OUT},
	    {"detailed-exitcode", no_argument, NULL, O_DETAILED},
	    {"auto-approve", no_argument, NULL, O_AUTO},
	    {"allow-destructive", no_argument, NULL, O_DESTRUCTIVE},
	    {"lock-timeout", required_argument, NULL, O_LOCKTIMEOUT},
	    {"limit", required_argument, NULL, O_LIMIT},
	    {"show-sql", no_argument, NULL, O_SHOWSQL},
	    {"lint-base", required_argument, NULL, O_LINTBASE},
	    {"config", required_argument, NULL, O_CONFIG},
	    {"trusted-rev", required_argument, NULL, O_TRUSTED},
	    {"daemon", no_argument, NULL, O_DAEMON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;
	char *end;

	c->limit = 20;
	optind = first;
	opterr = c->mode == NULL;
	while ((ch = getopt_long(argc, argv, "d:vh", opts, NULL)) != -1) {
		switch (ch) {
		case O_REPO:
			c->po.source.repo = absolute(c->a, optarg);
			break;
		case O_REV:
			c->po.source.rev = optarg;
			break;
		case O_DIR:
			c->po.source.dir = absolute(c->a, optarg);
			break;
		case O_CLUSTER:
			c->po.cluster = optarg;
			break;
		case O_CACHE:
			c->po.source.cache_dir = optarg;
			break;
		case 'd':
			c->po.conninfo = optarg;
			break;
		case O_FORMAT:
			/* a read-only plugin command renders its own output
			 * (dbops monitoring report --format json) */
			if (c->mode != NULL)
				plugin_arg(c, "format", optarg);
			if (strcmp(optarg, "text") == 0)
				c->format = FORMAT_TEXT;
			else if (strcmp(optarg, "markdown") == 0 ||
				 strcmp(optarg, "md") == 0)
				c->format = FORMAT_MARKDOWN;
			else if (strcmp(optarg, "json") == 0)
				c->format = FORMAT_JSON;
			else
				return cli_error(
				    "unknown output format",
				    "Use --format text, markdown or json.");
			break;
		case O_NOCOLOR:
			c->no_color = true;
			break;
		case 'v':
			c->verbose++;
			break;
		case O_OUT:
			c->out = optarg;
			break;
		case O_DETAILED:
			c->detailed_exitcode = true;
			break;
		case O_AUTO:
			c->auto_approve = true;
			break;
		case O_DESTRUCTIVE:
			c->allow_destructive = true;
			break;
		case O_LOCKTIMEOUT:
			if (!parse_duration(&c->lock_timeout, optarg))
				return cli_error(
				    "invalid --lock-timeout",
				    "Write a duration such as 0, 30s, 5m or 1h.");
			break;
		case O_LIMIT:
			c->limit = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || c->limit <= 0)
				return cli_error(
				    "invalid --limit",
				    "Give a positive number of runs.");
			break;
		case O_SHOWSQL:
			c->show_sql = true;
			break;
		case O_LINTBASE:
			c->po.source.base = optarg;
			break;
		case O_CONFIG:
			c->config_path = optarg;
			break;
		case O_TRUSTED:
			c->po.trusted_rev = optarg;
			break;
		case O_DAEMON:
			c->status_daemon = true;
			break;
		case 'h':
			if (c->mode != NULL &&
			    strcmp(c->command, "status") == 0)
				printf(
				    "Usage: dbops %s %s [OPTIONS]\n\nA read-only command of the \"%s\" plugin: it reads the spec and the\ncluster like \"dbops status\" (same options) and prints what the plugin\nreports; it plans and applies nothing.\n",
				    c->mode_plugin, c->mode, c->mode_plugin);
			else if (c->mode != NULL)
				printf(
				    "Usage: dbops %s %s [OPTIONS]\n\nA command of the \"%s\" plugin: it plans what the command means, shows\nthe plan, asks for confirmation on a terminal and applies it like\n\"dbops apply\" (same options).\n",
				    c->mode_plugin, c->mode, c->mode_plugin);
			else
				print_help(c->command);
			exit(EXIT_OK);
		default:
			if (c->mode != NULL && plugin_option(c, argc, argv))
				break;
			if (c->mode != NULL)
				fprintf(stderr,
					"ERROR:  invalid option \"%s\"\n",
					argv[optind - 1]);
			fprintf(
			    stderr,
			    "HINT:  Run \"dbops %s --help\" for the options.\n",
			    c->mode != NULL ? c->mode : c->command);
			return EXIT_ERROR;
		}
	}
	if (optind < argc)
		c->arg = argv[optind++];
	if (optind < argc)
		return cli_error("too many arguments",
				 "Run \"dbops COMMAND --help\" for the usage.");
	if (c->po.source.repo != NULL && c->po.source.dir != NULL)
		return cli_error("--repo and --dir cannot be used together",
				 NULL);
	if (c->po.source.rev != NULL && c->po.source.repo == NULL)
		return cli_error("--rev needs --repo", NULL);
	if (c->po.source.base != NULL && c->po.source.repo == NULL)
		return cli_error("--lint-base needs --repo",
				 "Files are compared by their git object ids; "
				 "a directory has none.");
	return EXIT_OK;
}

static bool has_source(const struct cli *c)
{
	return c->po.source.repo != NULL || c->po.source.dir != NULL;
}

static int need_source(const struct cli *c)
{
	if (has_source(c))
		return 0;
	cli_error(
	    "no spec source given",
	    "Use --repo PATH_OR_URL [--rev REF] to read a git revision, or --dir PATH to read a directory.");
	return -1;
}

/* Every plugin: version and plugin commands need their descriptors. */
static int load_plugins(struct registry *reg, struct arena *a)
{
	struct dbops_diag_list diags = {0};
	const char *const *dirs = loader_search_path(a);
	int err = loader_load_dirs(reg, a, &diags, dirs);

	if (err != 0) {
		diag_print_list(stderr, &diags);
		return err;
	}
	return 0;
}

/* The plugin files only: a pass opens those its spec needs. */
static int scan_plugins(struct registry *reg, struct arena *a)
{
	struct dbops_diag_list diags = {0};
	int err = loader_scan(reg, a, &diags, loader_search_path(a));

	if (err != 0) {
		diag_print_list(stderr, &diags);
		return err;
	}
	return 0;
}

/* With -vv: which plugins the command opened. */
static void print_loaded(const struct cli *c, const struct registry *reg)
{
	if (c->verbose > 1)
		for (size_t i = 0; i < reg->n; i++)
			fprintf(
			    stderr, "DEBUG:  loaded plugin \"%s\" from %s\n",
			    reg->plugins[i].desc->name, reg->plugins[i].path);
}

static bool use_color(const struct cli *c)
{
	const char *term = getenv("TERM");

	return !c->no_color && getenv("NO_COLOR") == NULL &&
	       isatty(STDOUT_FILENO) && term != NULL &&
	       strcmp(term, "dumb") != 0;
}

static int exit_for(int err)
{
	return err == DBOPS_ERR_LOCKED ? EXIT_LOCKED : EXIT_ERROR;
}

static void print_errors(const struct pass *p)
{
	for (const struct dbops_diag *d = p->diags.head; d != NULL; d = d->next)
		diag_print(stderr, d);
}

static int cmd_validate(struct cli *c, struct registry *reg)
{
	struct pass p;
	int err, rc = EXIT_OK;

	if (need_source(c) != 0)
		return EXIT_ERROR;
	pass_init(&p, reg);
	p.validate_only = true;
	p.verbose = c->verbose;
	err = pass_load(&p, &c->po);
	print_errors(&p);
	if (err != 0 || p.diags.nerrors > 0) {
		fprintf(stderr, "%d error%s found in the spec.\n",
			p.diags.nerrors, p.diags.nerrors == 1 ? "" : "s");
		rc = EXIT_ERROR;
	} else {
		printf("The spec %s is valid", p.spec_path);
		if (p.plan.revision != NULL && p.plan.revision->commit)
			printf(" at %.12s", p.plan.revision->commit);
		printf(" (%zu section%s:", p.nplugins,
		       p.nplugins == 1 ? "" : "s");
		for (size_t i = 0; i < p.nplugins; i++)
			if (p.plugins[i].section != NULL)
				printf(" %s",
				       p.plugins[i].lp->desc->spec_section);
		printf(").\n");
	}
	pass_dispose(&p);
	return rc;
}

static void render(const struct cli *c, const struct pass *p,
		   const char *saved_to)
{
	struct strbuf sb;
	struct plan_render_opts o = {use_color(c), saved_to, c->show_sql};

	strbuf_init(&sb);
	if (c->format == FORMAT_JSON)
		plan_render_json(&sb, &p->plan);
	else if (c->format == FORMAT_MARKDOWN)
		plan_render_markdown(&sb, &p->plan);
	else
		plan_render_text(&sb, &p->plan, &o);
	fputs(sb.buf, stdout);
	fflush(stdout);
	strbuf_dispose(&sb);
}

/* A failed pass: its errors, and its warnings too (an INVALID index
 * found beside the error that stopped the plan, say). */
static void print_new_errors(const struct pass *p)
{
	for (const struct dbops_diag *d = p->diags.head; d != NULL; d = d->next)
		diag_print(stderr, d);
}

static int cmd_plan(struct cli *c, struct registry *reg)
{
	struct pass p;
	int err, rc;

	if (need_source(c) != 0)
		return EXIT_ERROR;
	pass_init(&p, reg);
	p.verbose = c->verbose;
	p.show_sql = c->show_sql;
	p.allow_destructive = c->allow_destructive;
	if ((err = pass_load(&p, &c->po)) != 0) {
		print_errors(&p);
		pass_dispose(&p);
		return EXIT_ERROR;
	}
	if ((err = pass_connect(&p, &c->po)) != 0 ||
	    (err = pass_plan(&p)) != 0) {
		print_new_errors(&p);
		pass_dispose(&p);
		return exit_for(err);
	}
	if (c->out != NULL && (err = planfile_write(c->out, &p, &c->po))) {
		print_new_errors(&p);
		pass_dispose(&p);
		return EXIT_ERROR;
	}
	render(c, &p, c->out);
	rc = c->detailed_exitcode && p.plan.n > 0 ? EXIT_CHANGES : EXIT_OK;
	pass_dispose(&p);
	return rc;
}

static bool confirm(void)
{
	char line[64];

	printf(
	    "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
	fflush(stdout);
	install_signals(false);
	if (fgets(line, sizeof(line), stdin) == NULL || host_cancel_requested) {
		install_signals(true);
		return false;
	}
	install_signals(true);
	line[strcspn(line, "\r\n")] = '\0';
	return strcmp(line, "yes") == 0;
}

static int cmd_apply(struct cli *c, struct registry *reg)
{
	struct pass p;
	struct planfile pf;
	struct apply_opts ao = {0};
	struct apply_result res;
	struct dbops_diag *mark;
	const char *delay = getenv("DBOPS_APPLY_STEP_DELAY_MS");
	bool saved = c->arg != NULL;
	int err, rc = EXIT_OK;

	pass_init(&p, reg);
	p.verbose = c->verbose;
	p.show_sql = c->show_sql;
	p.allow_destructive = c->allow_destructive;
	p.mode_plugin = c->mode_plugin;
	p.mode = c->mode;
	p.args = c->args;
	p.nargs = c->nargs;
	if (saved && c->mode != NULL) {
		pass_dispose(&p);
		return cli_error("a plugin command does not take a saved plan",
				 NULL);
	}
	if (saved) {
		if (has_source(c)) {
			pass_dispose(&p);
			return cli_error(
			    "a saved plan already names its source",
			    "Run \"dbops apply PLANFILE\" without --repo, --rev, --dir or --cluster.");
		}
		if ((err = planfile_read(&pf, p.a, &p.diags, c->arg)) != 0) {
			print_errors(&p);
			pass_dispose(&p);
			return EXIT_ERROR;
		}
		pf.opts.conninfo = c->po.conninfo;
		pf.opts.source.cache_dir = c->po.source.cache_dir;
		pf.opts.config = c->po.config;
		pf.opts.trusted_rev = c->po.trusted_rev;
		c->po = pf.opts;
	} else if (need_source(c) != 0) {
		pass_dispose(&p);
		return EXIT_ERROR;
	}
	if (!saved && !c->auto_approve && !isatty(STDIN_FILENO)) {
		pass_dispose(&p);
		return cli_error(
		    "cannot ask for confirmation: standard input is not a terminal",
		    "Use --auto-approve to apply without confirmation, or review a saved plan (dbops plan --out FILE) and apply it.");
	}
	if ((err = pass_load(&p, &c->po)) != 0) {
		print_errors(&p);
		pass_dispose(&p);
		return EXIT_ERROR;
	}
	if (saved && p.plan.revision != NULL && pf.ref != NULL) {
		/* the commit is pinned; the run log keeps the ref reviewed */
		struct source_revision *r =
		    arena_memdup(p.a, p.plan.revision, sizeof(*r));

		r->ref = pf.ref;
		p.plan.revision = r;
	}
	if ((err = pass_connect(&p, &c->po)) != 0 ||
	    (err = apply_lock(&p, c->lock_timeout)) != 0 ||
	    (err = pass_plan(&p)) != 0 ||
	    (saved && (err = planfile_check(&pf, &p)) != 0)) {
		print_new_errors(&p);
		pass_dispose(&p);
		return exit_for(err);
	}
	/* a saved plan was reviewed when it was made: apply it without
	 * printing it again */
	if (!saved)
		render(c, &p, NULL);
	else if (p.plan.n == 0)
		printf("The saved plan has no changes.\n");
	if (p.plan.n > 0 && !saved && !c->auto_approve && !confirm()) {
		printf("\nApply cancelled.\n");
		pass_dispose(&p);
		return EXIT_ERROR;
	}
	if (p.plan.n > 0 && !saved)
		printf("\n");
	ao.allow_destructive = c->allow_destructive || p.spec.allow_destructive;
	ao.command = saved ? "apply PLANFILE"
		     : c->mode != NULL
			 ? arena_printf(p.a, "%s %s", c->mode_plugin, c->mode)
			 : "apply";
	ao.step_delay_ms = delay != NULL ? (int)strtol(delay, NULL, 10) : 0;
	ao.plan_json = NULL;
	{
		struct strbuf sb;

		strbuf_init(&sb);
		plan_render_json(&sb, &p.plan);
		ao.plan_json = strbuf_finish(&sb, p.a);
	}
	mark = p.diags.tail;
	err = apply_run(&res, &p, &ao, stdout);
	fflush(stdout);
	for (const struct dbops_diag *d = mark ? mark->next : p.diags.head;
	     d != NULL; d = d->next)
		diag_print(d->severity == DBOPS_SEV_ERROR ? stderr : stdout, d);
	if (err != 0)
		rc = exit_for(err);
	pass_dispose(&p);
	return rc;
}

/*
 * `dbops status`: observe as plan does and let each plugin report the
 * health of its concern. Exit 0 healthy, 2 degraded (warnings), 1
 * unhealthy or an error.
 */
static int cmd_status(struct cli *c, struct registry *reg)
{
	struct pass p;
	int err, rc;

	if (need_source(c) != 0)
		return EXIT_ERROR;
	pass_init(&p, reg);
	p.verbose = c->verbose;
	/* a plugin's read-only command: its status callback alone */
	p.mode_plugin = c->mode_plugin;
	p.mode = c->mode;
	p.args = c->args;
	p.nargs = c->nargs;
	if ((err = pass_load(&p, &c->po)) != 0) {
		print_errors(&p);
		pass_dispose(&p);
		return EXIT_ERROR;
	}
	if (c->mode != NULL && pass_plugin_of(&p, c->mode_plugin) == NULL) {
		const struct loaded_plugin *lp =
		    loader_find(reg, c->mode_plugin);

		fprintf(
		    stderr,
		    "ERROR:  the spec has no \"%s\" section\nHINT:  \"dbops %s %s\" reads the cluster as that section describes it.\n",
		    lp->desc->spec_section, c->mode_plugin, c->mode);
		pass_dispose(&p);
		return EXIT_ERROR;
	}
	if ((err = pass_connect(&p, &c->po)) != 0 ||
	    (err = pass_observe(&p)) != 0) {
		print_new_errors(&p);
		pass_dispose(&p);
		return exit_for(err);
	}
	if (c->mode == NULL)
		printf("Status of cluster \"%s\" (%s)\n\n",
		       p.spec.name != NULL ? p.spec.name : "(unnamed)",
		       pgconn_describe(p.conn, p.a));
	fflush(stdout);
	err = pass_status(&p);
	fflush(stdout);
	if (c->mode != NULL) {
		/* a read-only command's standard output is its own (a JSON
		 * report, say): problems go to standard error */
		for (const struct dbops_diag *d = p.diags.head; d != NULL;
		     d = d->next)
			diag_print(stderr, d);
		rc = err != 0 || p.diags.nerrors > 0 ? EXIT_ERROR : EXIT_OK;
		pass_dispose(&p);
		return rc;
	}
	for (const struct dbops_diag *d = p.diags.head; d != NULL; d = d->next)
		diag_print(stdout, d);
	if (err != 0 || p.diags.nerrors > 0) {
		printf("\nStatus: unhealthy (%d problem%s).\n", p.diags.nerrors,
		       p.diags.nerrors == 1 ? "" : "s");
		rc = EXIT_ERROR;
	} else if (p.diags.nwarnings > 0) {
		printf("\nStatus: degraded (%d warning%s).\n",
		       p.diags.nwarnings, p.diags.nwarnings == 1 ? "" : "s");
		rc = EXIT_CHANGES;
	} else {
		printf("\nStatus: healthy.\n");
		rc = EXIT_OK;
	}
	pass_dispose(&p);
	return rc;
}

static int cmd_history(struct cli *c, struct registry *reg)
{
	struct pass p;
	int err, rc = EXIT_OK;

	pass_init(&p, reg);
	if (has_source(c) && c->po.conninfo == NULL &&
	    (err = pass_load(&p, &c->po)) != 0) {
		print_errors(&p);
		pass_dispose(&p);
		return EXIT_ERROR;
	}
	if ((err = pass_connect(&p, &c->po)) != 0 ||
	    (err =
		 record_history(stdout, p.conn, p.a, &p.diags, c->limit, c->arg,
				c->format == FORMAT_JSON ? "json" : "text"))) {
		print_new_errors(&p);
		rc = EXIT_ERROR;
	}
	pass_dispose(&p);
	return rc;
}

static int cmd_version(struct registry *reg, struct arena *a)
{
	struct dbops_diag_list diags = {0};
	const char *const *dirs = loader_search_path(a);

	printf("dbops %s (plugin ABI %d.%d)\n", DBOPS_VERSION, DBOPS_ABI_MAJOR,
	       DBOPS_ABI_MINOR);
	if (loader_load_dirs(reg, a, &diags, dirs) != 0) {
		diag_print_list(stderr, &diags);
		return EXIT_ERROR;
	}
	printf("plugins:\n");
	for (size_t i = 0; i < reg->n; i++) {
		const struct dbops_plugin *d = reg->plugins[i].desc;

		printf("  %-12s %-8s phase %-3d %s\n", d->name, d->version,
		       d->phase, reg->plugins[i].path);
		for (const struct dbops_command *k = d->commands;
		     k != NULL && k->name != NULL; k++)
			printf("      dbops %s %s: %s\n", d->name, k->name,
			       k->summary);
	}
	return EXIT_OK;
}

/*
 * `dbops PLUGIN COMMAND ...` or `dbops COMMAND ...` (a command only one
 * plugin offers): fill c->mode_plugin and c->mode, and return the index
 * of the first option, or 0 with an error printed.
 */
/* Whether argv[i...] names command k (one word, or two: "backup run");
 * the number of words, or 0. */
static int command_words(const char *name, int argc, char **argv, int i)
{
	const char *space = strchr(name, ' ');

	if (i >= argc)
		return 0;
	if (space == NULL)
		return strcmp(name, argv[i]) == 0 ? 1 : 0;
	if (i + 1 >= argc || strlen(argv[i]) != (size_t)(space - name) ||
	    strncmp(name, argv[i], (size_t)(space - name)) != 0 ||
	    strcmp(space + 1, argv[i + 1]) != 0)
		return 0;
	return 2;
}

static int resolve_plugin_command(struct cli *c, const struct registry *reg,
				  int argc, char **argv)
{
	const struct loaded_plugin *lp = loader_find(reg, argv[1]);
	const char *owner = NULL;
	int first = 0;

	if (lp != NULL) {
		for (const struct dbops_command *k = lp->desc->commands;
		     k != NULL && k->name != NULL; k++) {
			int w = command_words(k->name, argc, argv, 2);

			if (w > 0) {
				c->mode_plugin = lp->desc->name;
				c->mode = k->name;
				return 2 + w;
			}
		}
		fprintf(
		    stderr,
		    "ERROR:  plugin \"%s\" has no command \"%s\"\nHINT:  Run \"dbops version\" for the plugins and their commands.\n",
		    argv[1], argc > 2 ? argv[2] : "");
		return 0;
	}
	for (size_t i = 0; i < reg->n; i++)
		for (const struct dbops_command *k =
			 reg->plugins[i].desc->commands;
		     k != NULL && k->name != NULL; k++) {
			int w = command_words(k->name, argc, argv, 1);

			if (w == 0)
				continue;
			if (owner != NULL) {
				fprintf(
				    stderr,
				    "ERROR:  command \"%s\" is offered by plugins \"%s\" and \"%s\"\nHINT:  Name the plugin: dbops %s %s.\n",
				    k->name, owner, reg->plugins[i].desc->name,
				    owner, k->name);
				return 0;
			}
			owner = reg->plugins[i].desc->name;
			c->mode = k->name;
			first = 1 + w;
		}
	if (owner != NULL) {
		c->mode_plugin = owner;
		return first;
	}
	fprintf(
	    stderr,
	    "ERROR:  unknown command \"%s\"\nHINT:  Run \"dbops --help\" for the commands, and \"dbops version\" for the plugins and their commands.\n",
	    argv[1]);
	return 0;
}

/* Whether the plugin command resolved into c is one that changes
 * nothing (ABI 1.3 readonly_commands): it runs like `dbops status`. */
static bool plugin_command_readonly(const struct registry *reg,
				    const struct cli *c)
{
	const struct loaded_plugin *lp = loader_find(reg, c->mode_plugin);

	for (const char *const *n = lp ? lp->desc->readonly_commands : NULL;
	     n != NULL && *n != NULL; n++)
		if (strcmp(*n, c->mode) == 0)
			return true;
	return false;
}

/*
 * The tools servers call (archive_command, restore_command) and the
 * plugin that provides each: `dbops wal-push` loads that plugin alone —
 * no other plugin, no spec, no git — and hands it the arguments.
 */
static const struct {
	const char *tool;
	const char *plugin;
} tool_routes[] = {
    {"wal-push", "backups"},
    {"wal-fetch", "backups"},
};

static int run_tool(const char *plugin, int argc, char **argv)
{
	struct registry reg;
	struct arena *a = arena_new();
	struct dbops_diag_list diags = {0};
	const char *const *dirs = loader_search_path(a);
	const struct loaded_plugin *lp = NULL;
	int rc = EXIT_ERROR;

	memset(&reg, 0, sizeof(reg));
	for (size_t i = 0; dirs[i] != NULL && lp == NULL; i++) {
		const char *path =
		    arena_printf(a, "%s/dbops_%s.so", dirs[i], plugin);

		if (access(path, F_OK) == 0 &&
		    loader_load_file(&reg, a, &diags, path) == 0)
			lp = loader_find(&reg, plugin);
	}
	if (lp == NULL) {
		if (diags.head != NULL)
			diag_print_list(stderr, &diags);
		else
			fprintf(
			    stderr,
			    "ERROR:  could not find plugin \"%s\", which provides \"%s\"\nHINT:  Run \"dbops version\" for the plugins found and where.\n",
			    plugin, argv[0]);
	} else if (lp->desc->tool == NULL) {
		fprintf(stderr,
			"ERROR:  plugin \"%s\" does not provide \"%s\"\n",
			plugin, argv[0]);
	} else {
		rc = lp->desc->tool(argv[0], argc, argv);
	}
	loader_close(&reg);
	arena_free(a);
	return rc;
}

static bool builtin_command(const char *name)
{
	static const char *const names[] = {"validate", "plan",	   "apply",
					    "status",	"history", "version"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct cli c;
	struct registry reg;
	struct arena *proc;
	int rc, first = 2;

	memset(&c, 0, sizeof(c));
	memset(&reg, 0, sizeof(reg));
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_ERROR;
	}
	c.command = argv[1];
	if (strcmp(c.command, "-h") == 0 || strcmp(c.command, "--help") == 0 ||
	    strcmp(c.command, "help") == 0) {
		print_help(argc > 2 ? argv[2] : NULL);
		return EXIT_OK;
	}
	if (strcmp(c.command, "--version") == 0)
		c.command = "version";
	for (size_t i = 0; i < sizeof(tool_routes) / sizeof(tool_routes[0]);
	     i++)
		if (strcmp(c.command, tool_routes[i].tool) == 0) {
			signal(SIGPIPE, SIG_IGN);
			return run_tool(tool_routes[i].plugin, argc - 1,
					argv + 1);
		}

	signal(SIGPIPE, SIG_IGN);
	proc = arena_new();
	c.a = proc;
	if (strcmp(c.command, "daemon") == 0 ||
	    strcmp(c.command, "review") == 0) {
		/* their own options; the plugins they plan with */
		if ((argc > 2 && (strcmp(argv[2], "-h") == 0 ||
				  strcmp(argv[2], "--help") == 0)) ||
		    load_plugins(&reg, proc) == 0)
			rc = strcmp(c.command, "daemon") == 0
				 ? daemon_main(argc, argv, &reg)
				 : review_main(argc, argv, &reg);
		else
			rc = EXIT_ERROR;
		goto done;
	}
	if (!builtin_command(c.command)) {
		/* a plugin's command: the plugins say which exist */
		if (c.command[0] == '-' || load_plugins(&reg, proc) != 0 ||
		    (first = resolve_plugin_command(&c, &reg, argc, argv)) ==
			0) {
			if (c.command[0] == '-')
				fprintf(
				    stderr,
				    "ERROR:  unknown command \"%s\"\nHINT:  Run \"dbops --help\" for the commands.\n",
				    c.command);
			rc = EXIT_ERROR;
			goto done;
		}
		c.command =
		    plugin_command_readonly(&reg, &c) ? "status" : "apply";
	}
	if ((rc = parse_args(&c, argc, argv, first)) != EXIT_OK)
		goto done;
	if (c.status_daemon) {
		if (strcmp(c.command, "status") != 0) {
			rc = cli_error("--daemon is an option of dbops status",
				       NULL);
			goto done;
		}
		rc = daemon_status_main(
		    c.config_path, c.format == FORMAT_JSON ? "json" : "text");
		goto done;
	}
	if (strcmp(c.command, "version") != 0) {
		struct dbops_diag_list diags = {0};

		/* one file for the commands and the daemon: its sections
		 * are known here, and read by the daemon */
		if (config_load(&c.config, proc, &diags, c.config_path,
				daemon_config_sections) != 0) {
			diag_print_list(stderr, &diags);
			rc = EXIT_ERROR;
			goto done;
		}
		c.po.config = &c.config;
	}
	/* Changing the cluster is not stopped half-way by a signal; anything
	 * else (plan, status...) changes nothing and just ends. */
	if (strcmp(c.command, "apply") == 0)
		install_signals(true);
	if (strcmp(c.command, "version") == 0) {
		rc = cmd_version(&reg, proc);
		goto done;
	}
	if (reg.n == 0 && scan_plugins(&reg, proc) != 0) {
		rc = EXIT_ERROR;
		goto done;
	}
	if (strcmp(c.command, "validate") == 0)
		rc = cmd_validate(&c, &reg);
	else if (strcmp(c.command, "plan") == 0)
		rc = cmd_plan(&c, &reg);
	else if (strcmp(c.command, "apply") == 0)
		rc = cmd_apply(&c, &reg);
	else if (strcmp(c.command, "status") == 0)
		rc = cmd_status(&c, &reg);
	else
		rc = cmd_history(&c, &reg);
	print_loaded(&c, &reg);
done:
	loader_close(&reg);
	arena_free(proc);
	source_global_cleanup();
	return rc;
}
