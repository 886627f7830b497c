/*
 * Record keys: the canonical content digest (tests/check_event.c checks
 * keys across whole events and both encodings).
 */
#include <stdio.h>
#include <stdlib.h>
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

/*
 * Keys as released: the encoding is fixed (docs/records.md), so these
 * digests never change.  They cover every scalar type, nesting, an object
 * larger than the members kept on the stack, strings longer than the
 * hasher's buffer and tags across its end, and items.
 */
static const struct {
	const char *data, *items_key;
	int item;
	const char *key;
} golden[] = {
	{ "{\"a\":\"1\",\"b\":\"2\"}", NULL, 0,
	    "6e7abb9d9fe85934bd0a0d3b249e5762" },
	{ "{\"i\":105,\"n\":-7,\"z\":0,\"min\":-9223372036854775808,"
	  "\"max\":9223372036854775807}",
	    NULL, 0, "e4222051e5bdacda1e71f1b60884be6f" },
	{ "{\"r\":1.5,\"e\":1e300,\"s\":-0.1}", NULL, 0,
	    "fba7cb85a872b9b34e690bfb04c44627" },
	{ "{\"t\":true,\"f\":false,\"n\":null}", NULL, 0,
	    "66a9624198cfee306351c0cbb62378e4" },
	{ "{\"a\":[1,\"x\",[],{}],\"o\":{\"k\":{\"j\":\"v\"}},\"e\":\"\"}",
	    NULL, 0, "9edda757e97488d1b005e4dc8d37b3ec" },
	{ "{\"b\":\"1\",\"a\":\"2\",\"A\":\"3\",\"_\":\"4\",\"-\":\"5\","
	  "\"\\u00e9\":\"6\",\"ab\":\"7\",\"a b\":\"8\",\"\":\"9\"}",
	    NULL, 0, "ca5074a885f1072ea98cf120cb716f39" },
	{ "{\"L\":\"1\",\"M\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", "M", 0,
	    "380e1ccb67e5cf7d1795ffe71ea19da1" },
	{ "{\"L\":\"1\",\"M\":[{\"id\":\"a\"},{\"id\":\"b\"}]}", "M", 1,
	    "32c6395d536fe1223b62534f2fafbff9" },
	{ "{\"M\":[\"x\",[\"y\"]]}", "M", 1,
	    "203bf201fc9981c05f6b08d116b45dc4" },
	{ NULL, NULL, 0,
	    "41eaf9a8bd298cdba6a6f41cb171ac62" },
};

START_TEST(pinned)
{
	char hex[KEY_HEX_SIZE];

	key_of(golden[_i].data, golden[_i].items_key, golden[_i].item, hex);
	ck_assert_msg(strcmp(hex, golden[_i].key) == 0, "%s: %s, not %s",
	    golden[_i].data ? golden[_i].data : "NULL", hex, golden[_i].key);
}
END_TEST

/*
 * Built: an object of more members than kept on the stack, keys in
 * reverse order, and strings that fill the hasher's buffer (one longer
 * than it, others that put tags across its end).
 */
static json_t *
big_object(void)
{
	char name[16], *long_value;
	json_t *o = json_object();
	int i;

	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_nonnull(long_value = malloc(3001));
	for (i = 0; i < 3000; i++)
		long_value[i] = (char)('a' + i % 26);
	long_value[3000] = '\0';
	for (i = 99; i >= 0; i--) {
		snprintf(name, sizeof(name), "k%02d", i);
		ck_assert_int_eq(json_object_set_new(o, name,
				     json_string(long_value + 3000 - i * 17)),
		    0);
	}
	ck_assert_int_eq(
	    json_object_set_new(o, "long", json_string(long_value)), 0);
	free(long_value);
	return o;
}

START_TEST(pinned_big)
{
	json_t *data = big_object(), *list = json_array(), *item;
	char hex[KEY_HEX_SIZE];

	key_alone(data, NULL, NULL, hex);
	ck_assert_str_eq(hex, "50e829280eca1d68bdb499db419bb180");
	/* the same object as the second item of a list in itself */
	ck_assert_ptr_nonnull(item = json_deep_copy(data));
	ck_assert_int_eq(json_array_append_new(list, json_integer(-1)), 0);
	ck_assert_int_eq(json_array_append_new(list, item), 0);
	ck_assert_int_eq(json_object_set_new(data, "M", list), 0);
	key_alone(data, "M", item, hex);
	ck_assert_str_eq(hex, "f0a56e53e649eef57052459662b152ab");
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
	tcase_add_loop_test(
	    core, pinned, 0, sizeof(golden) / sizeof(golden[0]));
	tcase_add_test(core, pinned_big);
	suite_add_tcase(s, core);
	return s;
}

int
main(void)
{
	return suite_main(key_suite());
}
