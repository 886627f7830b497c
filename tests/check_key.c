/*
 * Record keys: the canonical content digest (tests/check_event.c checks
 * keys across whole events and both encodings).
 */
#include <string.h>

#include "key.h"
#include "testutil.h"

/* the key of item in a context of its own */
static void
key_alone(const json_t *data, const char *items_key, const json_t *item,
    char *hex)
{
	struct key_context ctx;

	ck_assert_int_eq(key_start(&ctx, "p", "EV", data, items_key), 0);
	ck_assert_int_eq(key_finish(&ctx, item, hex), 0);
}

static void
key_of(const char *data_json, const char *items_key, int item, char *hex)
{
	json_t *data = data_json ? json_loads(data_json, 0, NULL) : NULL;
	json_t *list = items_key ? json_object_get(data, items_key) : NULL;

	key_alone(data, items_key, list ? json_array_get(list, (size_t)item)
					: NULL,
	    hex);
	json_decref(data);
}

static void
assert_same(const char *a, const char *b)
{
	char ka[KEY_HEX_SIZE], kb[KEY_HEX_SIZE];

	key_of(a, NULL, 0, ka);
	key_of(b, NULL, 0, kb);
	ck_assert_msg(strcmp(ka, kb) == 0, "%s and %s differ", a, b);
}

static void
assert_differ(const char *a, const char *b)
{
	char ka[KEY_HEX_SIZE], kb[KEY_HEX_SIZE];

	key_of(a, NULL, 0, ka);
	key_of(b, NULL, 0, kb);
	ck_assert_msg(strcmp(ka, kb) != 0, "%s and %s collide", a, b);
}

START_TEST(canonical)
{
	/* key order does not count; wire-equal scalars are one value */
	assert_same("{\"a\":\"1\",\"b\":\"2\"}", "{\"b\":\"2\",\"a\":\"1\"}");
	assert_same("{\"a\":105}", "{\"a\":\"105\"}");
	assert_same("{\"a\":true,\"b\":false}", "{\"a\":\"1\",\"b\":\"0\"}");
	/* structure and content do */
	assert_differ("{\"a\":\"1\"}", "{\"a\":\"2\"}");
	assert_differ("{\"a\":[\"x\"]}", "{\"a\":{\"0\":\"x\"}}");
	assert_differ("{\"a\":[\"x\",\"y\"]}", "{\"a\":[\"y\",\"x\"]}");
	assert_differ("{\"ab\":\"c\"}", "{\"a\":\"bc\"}");
	assert_differ("{\"a\":null}", "{\"a\":\"\"}");
	assert_differ("{}", "{\"a\":{}}");
}
END_TEST

START_TEST(shape)
{
	char hex[KEY_HEX_SIZE];
	size_t i;

	key_of("{\"a\":\"1\"}", NULL, 0, hex);
	ck_assert_uint_eq(strlen(hex), KEY_HEX_SIZE - 1);
	for (i = 0; hex[i] != '\0'; i++)
		ck_assert_ptr_nonnull(strchr("0123456789abcdef", hex[i]));
	/* no data at all is a key too */
	key_of(NULL, NULL, 0, hex);
	ck_assert_uint_eq(strlen(hex), KEY_HEX_SIZE - 1);
}
END_TEST

/* The item list is left out of the context: only the item counts. */
START_TEST(items)
{
	char k0[KEY_HEX_SIZE], k1[KEY_HEX_SIZE], k[KEY_HEX_SIZE];

	key_of("{\"L\":\"1\",\"M\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", "M", 0,
	    k0);
	key_of("{\"L\":\"1\",\"M\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", "M", 1,
	    k1);
	ck_assert_str_ne(k0, k1);
	key_of("{\"L\":\"1\",\"M\":[{\"id\":\"b\"}]}", "M", 0, k);
	ck_assert_str_eq(k, k1);
	key_of("{\"M\":[{\"id\":\"b\"}],\"L\":\"1\"}", "M", 0, k);
	ck_assert_str_eq(k, k1);
	key_of("{\"L\":\"2\",\"M\":[{\"id\":\"b\"}]}", "M", 0, k);
	ck_assert_str_ne(k, k1);
}
END_TEST

/* One context, many items: each key equals the item's key alone. */
START_TEST(context_reused)
{
	json_t *data = json_loads("{\"L\":\"1\",\"M\":[{\"id\":\"a\"},"
				  "{\"id\":\"b\"},\"c\"]}",
	    0, NULL);
	char k[KEY_HEX_SIZE], want[KEY_HEX_SIZE];
	struct key_context ctx;
	size_t i;

	ck_assert_int_eq(key_start(&ctx, "p", "EV", data, "M"), 0);
	for (i = 0; i < 3; i++) {
		key_alone(data, "M",
		    json_array_get(json_object_get(data, "M"), i), want);
		ck_assert_int_eq(key_finish(&ctx,
				     json_array_get(json_object_get(data, "M"), i),
				     k),
		    0);
		ck_assert_str_eq(k, want);
	}
	ck_assert_int_eq(key_start(&ctx, "p", "EV", data, NULL), 0);
	ck_assert_int_eq(key_finish(&ctx, NULL, k), 0);
	key_alone(data, NULL, NULL, want);
	ck_assert_str_eq(k, want);
	json_decref(data);
}
END_TEST

static Suite *
key_suite(void)
{
	Suite *s = suite_create("key");
	TCase *core = tcase_create("core");

	tcase_add_test(core, canonical);
	tcase_add_test(core, shape);
	tcase_add_test(core, items);
	tcase_add_test(core, context_reused);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	return suite_main(key_suite());
}
