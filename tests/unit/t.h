/* SPDX-License-Identifier: PostgreSQL */
/*
 * t.h — the in-tree unit-test framework.
 *
 * A test is `TEST(test_module__behaviour) { ... }` in any .c file of
 * tests/unit;
 * it registers itself at load time. The runner (runner.c) prints one TAP
 * line per test and the summary "N passed, N failed". A failing assertion
 * ends the test and prints file:line and the values compared.
 *
 * Run one test or a group: build/tests/unit-runner SUBSTRING...
 */
#ifndef DBOPS_T_H
#define DBOPS_T_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
	struct t_case *next;
};

void t_register(struct t_case *c);
void t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool t_failed(void);
/* Absolute path of a file under the source tree (tests/..., specs/...). */
const char *t_path(const char *rel);
/* Absolute path of a file under the build directory this runner was
 * built into (build/, build-asan/...): t_build("plugins") for its
 * plugins, t_build("") for the directory itself. */
const char *t_build(const char *rel);
/* Compare text with a golden file (tests/golden/NAME); with
 * DBOPS_UPDATE_GOLDEN=1 in the environment, rewrite it instead. */
bool t_golden(const char *file, int line, const char *name, const char *actual);

#define TEST(fn_)                                                              \
	static void fn_(void);                                                 \
	static struct t_case fn_##_case = {#fn_, fn_, NULL};                   \
	__attribute__((constructor)) static void fn_##_register(void)          \
	{                                                                      \
		t_register(&fn_##_case);                                       \
	}                                                                      \
	static void fn_(void)

#define T_ASSERT(cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			t_fail(__FILE__, __LINE__, "assertion failed: %s",     \
			       #cond);                                         \
			return;                                                \
		}                                                              \
	} while (0)

#define T_ASSERT_INT(a, b)                                                     \
	do {                                                                   \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);        \
		if (t_a_ != t_b_) {                                            \
			t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld",   \
			       #a, #b, t_a_, t_b_);                            \
			return;                                                \
		}                                                              \
	} while (0)

#define T_ASSERT_STR(a, b)                                                     \
	do {                                                                   \
		const char *t_a_ = (a), *t_b_ = (b);                           \
		if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) { \
			t_fail(__FILE__, __LINE__,                             \
			       "%s == %s:\n  got:      \"%s\"\n  expected: "   \
			       "\"%s\"",                                       \
			       #a, #b, t_a_ ? t_a_ : "(null)",                 \
			       t_b_ ? t_b_ : "(null)");                        \
			return;                                                \
		}                                                              \
	} while (0)

#define T_ASSERT_CONTAINS(hay, needle)                                         \
	do {                                                                   \
		const char *t_h_ = (hay), *t_n_ = (needle);                    \
		if (t_h_ == NULL || strstr(t_h_, t_n_) == NULL) {              \
			t_fail(__FILE__, __LINE__,                             \
			       "%s contains \"%s\":\n  got: \"%s\"", #hay,     \
			       t_n_, t_h_ ? t_h_ : "(null)");                  \
			return;                                                \
		}                                                              \
	} while (0)

#define T_ASSERT_GOLDEN(name, actual)                                          \
	do {                                                                   \
		if (!t_golden(__FILE__, __LINE__, (name), (actual)))           \
			return;                                                \
	} while (0)

#endif
