/* The growable buffer and its maximum. */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "testutil.h"

START_TEST(grows)
{
	char chunk[1000];
	struct buf b;
	int i;

	memset(chunk, 'x', sizeof(chunk));
	buf_init(&b, 1 << 20);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_int_eq(b.data[b.len], '\0');
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_append(&b, "ab", 2), 0);
	ck_assert_str_eq(b.data, "ab");
	buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(maximum)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);
	ck_assert_int_eq(buf_append(&b, "x", 1), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(b.data, "0123456789");
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	buf_free(&b);
}
END_TEST

/* room reserved is where the next bytes go, and counts against max */
START_TEST(reserve)
{
	struct buf b;
	char *p;

	buf_init(&b, 10000);
	ck_assert_int_eq(buf_append(&b, "ab", 2), 0);
	p = buf_reserve(&b, 9000);
	ck_assert_ptr_eq(p, b.data + 2);
	ck_assert_uint_ge(b.cap, 9003);
	ck_assert_uint_eq(b.len, 2);
	memcpy(p, "cd", 3);
	b.len += 2;
	ck_assert_str_eq(b.data, "abcd");
	ck_assert_ptr_null(buf_reserve(&b, 9997));
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_str_eq(b.data, "abcd");
	ck_assert_ptr_nonnull(buf_reserve(&b, 9996));
	buf_free(&b);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, grows);
	tcase_add_test(core, reserve);
	tcase_add_test(limits, maximum);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(buf_suite());
}
