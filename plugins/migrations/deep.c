/* SPDX-License-Identifier: PostgreSQL */
/*
 * deep.c — running the parser where its recursion cannot overflow: one
 * thread of the plugin, started on first use, with a stack of
 * MIG_DEEP_STACK bytes. libpg_query builds its JSON output, and json-c
 * frees a tree, by recursion as deep as the statement's parse tree; a
 * statement of MIG_PARSE_MAX bytes nests at most about MIG_PARSE_MAX / 2
 * levels (a chain of binary operators, two bytes a level: the grammar
 * refuses deeper parentheses, prefix operators and CASE itself), which
 * needs about 16 MiB there. The main thread's 8 MiB would overflow.
 *
 * One long-lived thread rather than one per call: libpg_query keeps its
 * memory contexts per thread and registers a thread-exit key each time a
 * thread first uses it, and the keys of a process are few (1,024), so a
 * thread per file would exhaust them in a long-lived daemon. Calls are
 * serialised; the caller waits, so nothing runs concurrently with it.
 * The thread is stopped and joined when the plugin is unloaded, which
 * also frees libpg_query's memory of that thread.
 */
#include "migrations_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

/* 4 times what the deepest statement of MIG_PARSE_MAX bytes needs; the
 * pages are reserved, and committed only as deep parses touch them. */
#define MIG_DEEP_STACK ((size_t)64 << 20)

static pthread_mutex_t mig_deep_submit = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mig_deep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mig_deep_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t mig_deep_done = PTHREAD_COND_INITIALIZER;
static pthread_t mig_deep_thread;
static bool mig_deep_started;
static bool mig_deep_stop;
static void (*mig_deep_fn)(void *);
static void *mig_deep_arg;
static bool mig_deep_busy;

static void *mig_deep_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&mig_deep_lock);
	for (;;) {
		while (!mig_deep_busy && !mig_deep_stop)
			pthread_cond_wait(&mig_deep_wake, &mig_deep_lock);
		if (mig_deep_stop)
			break;
		pthread_mutex_unlock(&mig_deep_lock);
		mig_deep_fn(mig_deep_arg);
		pthread_mutex_lock(&mig_deep_lock);
		mig_deep_busy = false;
		pthread_cond_signal(&mig_deep_done);
	}
	pthread_mutex_unlock(&mig_deep_lock);
	return NULL;
}

static int mig_deep_start(void)
{
	pthread_attr_t attr;
	int err;

	if (mig_deep_started)
		return 0;
	if ((err = pthread_attr_init(&attr)) != 0)
		return err;
	err = pthread_attr_setstacksize(&attr, MIG_DEEP_STACK);
	if (err == 0)
		err = pthread_create(&mig_deep_thread, &attr, mig_deep_main,
				     NULL);
	pthread_attr_destroy(&attr);
	if (err == 0)
		mig_deep_started = true;
	return err;
}

int mig_deep_run(void (*fn)(void *arg), void *arg)
{
	int err;

	pthread_mutex_lock(&mig_deep_submit);
	if ((err = mig_deep_start()) != 0) {
		pthread_mutex_unlock(&mig_deep_submit);
		return err;
	}
	pthread_mutex_lock(&mig_deep_lock);
	mig_deep_fn = fn;
	mig_deep_arg = arg;
	mig_deep_busy = true;
	pthread_cond_signal(&mig_deep_wake);
	while (mig_deep_busy)
		pthread_cond_wait(&mig_deep_done, &mig_deep_lock);
	pthread_mutex_unlock(&mig_deep_lock);
	pthread_mutex_unlock(&mig_deep_submit);
	return 0;
}

__attribute__((destructor)) static void mig_deep_unload(void)
{
	if (!mig_deep_started)
		return;
	pthread_mutex_lock(&mig_deep_lock);
	mig_deep_stop = true;
	pthread_cond_signal(&mig_deep_wake);
	pthread_mutex_unlock(&mig_deep_lock);
	pthread_join(mig_deep_thread, NULL);
	mig_deep_started = false;
}
