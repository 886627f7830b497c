/*
 * The normaliser: every fixture event, as a portal encodes it (.form) and
 * as the docs draw it (.json), gives the records a user would expect.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <jansson.h>

#include "decode.h"
#include "event.h"
#include "limit.h"
#include "testutil.h"

#define PORTAL_A "a223c6b3710f85df22e9377d6c4f7553"
#define PORTAL_B "bac1cd5c8940947a75e0d71b1a84e348"

/* 2024-05-02T11:33:52.123456Z */
static const struct timespec received = { 1714649632, 123456789 };

/* The records of one body: a JSON array of the parsed lines. */
static json_t *
records_of(const char *body, size_t len, enum media media, const char *portal,
    size_t max)
{
	struct auth_secrets secrets = { 0 };
	struct err err = { 0 };
	struct buf out;
	json_t *root, *list, *rec;
	size_t n = 0;
	char *line, *save = NULL, *dumped;

	/* the tree as the responder decodes it: its tokens taken out */
	ck_assert_int_eq(decode_body(media, body, len, &root, &secrets, &err),
	    0);
	buf_init(&out, max);
	ck_assert_msg(event_records(root, portal, &received, &out, &n, &err) ==
	    0, "event_records: %s", err.reason);
	json_decref(root);
	secrets_clear(&secrets);
	ck_assert_uint_gt(out.len, 0);
	ck_assert_int_eq(out.data[out.len - 1], '\n');
	list = json_array();
	for (line = strtok_r(out.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		rec = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		ck_assert_msg(rec != NULL, "record is not JSON: %s", line);
		/* spliced from parts, a record is still jansson's dump */
		dumped = json_dumps(rec, JSON_COMPACT);
		ck_assert_str_eq(dumped, line);
		free(dumped);
		json_array_append_new(list, rec);
	}
	ck_assert_uint_eq(json_array_size(list), n);
	buf_free(&out);
	return list;
}

static json_t *
fixture_records(const char *name)
{
	enum media media = strstr(name, ".json") ? MEDIA_JSON : MEDIA_FORM;
	size_t len;
	char *body = fixture_read(name, &len);
	json_t *list = records_of(body, len, media,
	    strstr(body, PORTAL_A) ? PORTAL_A : PORTAL_B, 1 << 20);

	free(body);
	return list;
}

/*
 * What a user checks in one record: expected normalised fields as a JSON
 * text; every key listed must be present with that value, every
 * normalised key not listed must be absent.
 */
struct expect {
	const char *fixture; /* without .form / .json */
	size_t records;
	size_t record; /* which record the fields are of */
	const char *fields;
};

static const struct expect expects[] = {
	{ "ONAPPINSTALL", 1, 0,
	    "{\"event\":\"ONAPPINSTALL\",\"ts\":1714640000,\"user_id\":1,"
	    "\"domain\":\"some-domain.bitrix24.com\"}" },
	{ "ONAPPUNINSTALL", 1, 0,
	    "{\"event\":\"ONAPPUNINSTALL\",\"ts\":1714699999}" },
	{ "ONIMCONNECTORDIALOGSTART", 1, 0,
	    "{\"event_handler_id\":1,\"item\":0,\"items\":1,"
	    "\"connector\":\"newcustomconnector\",\"line\":105,"
	    "\"session_id\":3282,\"session_closed\":false,"
	    "\"parent_session_id\":0,\"close_term\":10,"
	    "\"external_chat_id\":\"8\",\"external_user_id\":\"0\"}" },
	{ "ONIMCONNECTORDIALOGFINISH", 1, 0,
	    "{\"event_handler_id\":1,\"item\":0,\"items\":1,"
	    "\"connector\":\"newcustomconnector\",\"line\":105,"
	    "\"session_id\":3282,\"session_closed\":true,"
	    "\"parent_session_id\":0,\"close_term\":10,"
	    "\"external_chat_id\":\"8\",\"external_user_id\":\"0\"}" },
	{ "ONIMCONNECTORLINEDELETE", 1, 0,
	    "{\"event_handler_id\":563,\"ts\":1773761165,\"user_id\":27,"
	    "\"line\":107}" },
	{ "ONIMCONNECTORMESSAGEADD", 1, 0,
	    "{\"event_handler_id\":555,\"user_id\":27,\"item\":0,\"items\":1,"
	    "\"connector\":\"myconnector\",\"line\":107,\"chat_id\":1807,"
	    "\"message_id\":86497,\"external_chat_id\":\"channel-123\"}" },
	{ "ONIMCONNECTORMESSAGEUPDATE", 1, 0,
	    "{\"event_handler_id\":557,\"user_id\":27,\"item\":0,\"items\":1,\"connector\":\"myconnector\","
	    "\"line\":107,\"chat_id\":1807,\"message_id\":86501,"
	    "\"external_chat_id\":\"channel-123\","
	    "\"external_message_ids\":[\"ext-msg-005\"]}" },
	{ "ONIMCONNECTORMESSAGEDELETE", 2, 0,
	    "{\"event_handler_id\":559,\"user_id\":27,\"item\":0,\"items\":2,\"connector\":\"myconnector\","
	    "\"line\":107,\"chat_id\":1807,\"message_id\":86501,"
	    "\"external_chat_id\":\"channel-123\","
	    "\"external_message_ids\":[\"ext-msg-005\"]}" },
	{ "ONIMCONNECTORMESSAGEDELETE", 2, 1,
	    "{\"event_handler_id\":559,\"user_id\":27,\"item\":1,\"items\":2,\"connector\":\"myconnector\","
	    "\"line\":107,\"chat_id\":1807,\"message_id\":86502,"
	    "\"external_chat_id\":\"channel-123\","
	    "\"external_message_ids\":[\"ext-msg-006\"]}" },
	{ "ONIMCONNECTORSTATUSDELETE", 1, 0,
	    "{\"event_handler_id\":561,\"user_id\":27,\"connector\":\"myconnector\","
	    "\"line\":107}" },
	{ "ONOPENLINEMESSAGEADD", 1, 0,
	    "{\"event_handler_id\":580,\"item\":0,\"items\":1,"
	    "\"connector\":\"livechat\",\"line\":128,\"chat_id\":10585,"
	    "\"message_id\":99120,\"external_chat_id\":\"10585\","
	    "\"external_user_id\":\"1984\"}" },
	{ "ONSESSIONSTART", 1, 0,
	    "{\"event_handler_id\":570,\"item\":0,\"items\":1,"
	    "\"connector\":\"livechat\",\"line\":128,\"line_name\":\"linename\","
	    "\"chat_id\":10585,\"external_chat_id\":\"10585\","
	    "\"external_user_id\":\"1984\"}" },
	{ "ONSESSIONFINISH", 1, 0,
	    "{\"event_handler_id\":571,\"item\":0,\"items\":1,"
	    "\"connector\":\"livechat\",\"line\":128,\"line_name\":\"linename\","
	    "\"chat_id\":10585,\"external_chat_id\":\"10585\","
	    "\"external_user_id\":\"1984\"}" },
	/* the docs' drawing: DATA as a list, chat{id}, user{id,name} */
	{ "ONSESSIONFINISH.doc", 1, 0,
	    "{\"event_handler_id\":1,\"item\":0,\"items\":1,"
	    "\"connector\":\"livechat\",\"line\":128,\"chat_id\":10585,"
	    "\"external_chat_id\":\"10585\",\"external_user_id\":\"1984\"}" },
};

static const char *const normalised[] = { "event_handler_id", "user_id",
	"item", "items", "connector", "line", "line_name", "session_id",
	"session_closed", "parent_session_id", "close_term", "chat_id",
	"message_id", "external_chat_id", "external_user_id",
	"external_message_ids", NULL };

static void
check_expect(const struct expect *e, const char *suffix)
{
	char name[128];
	json_t *list, *rec, *want;
	const char *k;
	json_t *v;
	size_t i;

	snprintf(name, sizeof(name), "%s%s", e->fixture, suffix);
	list = fixture_records(name);
	ck_assert_msg(json_array_size(list) == e->records,
	    "%s: %zu records", name, json_array_size(list));
	rec = json_array_get(list, e->record);
	want = json_loads(e->fields, 0, NULL);
	ck_assert_ptr_nonnull(want);
	json_object_foreach(want, k, v)
		ck_assert_msg(json_equal(json_object_get(rec, k), v),
		    "%s: field %s", name, k);
	for (i = 0; normalised[i] != NULL; i++)
		if (json_object_get(want, normalised[i]) == NULL)
			ck_assert_msg(json_object_get(rec, normalised[i]) ==
				NULL,
			    "%s: unexpected %s", name, normalised[i]);
	json_decref(want);
	json_decref(list);
}

START_TEST(fixture_form)
{
	check_expect(&expects[_i], ".form");
}
END_TEST

START_TEST(fixture_json)
{
	check_expect(&expects[_i], ".json");
}
END_TEST

/* The record's keys, in the documented order. */
START_TEST(key_order)
{
	static const char *const order[] = { "v", "received", "event",
		"event_handler_id", "ts", "member_id", "domain", "user_id",
		"item", "items", "connector", "line", "chat_id", "message_id",
		"external_chat_id", "key", "context", "data", NULL };
	json_t *list = fixture_records("ONIMCONNECTORMESSAGEADD.form");
	json_t *rec = json_array_get(list, 0);
	const char *k;
	json_t *v;
	size_t i = 0;

	json_object_foreach(rec, k, v) {
		ck_assert_ptr_nonnull(order[i]);
		ck_assert_str_eq(k, order[i]);
		i++;
	}
	ck_assert_ptr_null(order[i]);
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "v")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(rec, "received")),
	    "2024-05-02T11:33:52.123456Z");
	ck_assert_str_eq(json_string_value(json_object_get(rec, "member_id")),
	    PORTAL_B);
	json_decref(list);
}
END_TEST

/* data is the item exactly as decoded; nothing of auth is copied. */
START_TEST(data_kept_auth_dropped)
{
	json_t *list = fixture_records("ONIMCONNECTORMESSAGEADD.form");
	json_t *rec = json_array_get(list, 0);
	json_t *want = json_pack("{s{ss,ss}, s{ss,ss}, s{ss}}", "im", "chat_id",
	    "1807", "message_id", "86497", "message", "user_id", "27", "text",
	    "[b]Klaus Weber:[/b] [br]Guten Tag!", "chat", "id", "channel-123");
	char *text;

	ck_assert(json_equal(json_object_get(rec, "data"), want));
	text = json_dumps(list, 0);
	ck_assert_ptr_null(strstr(text, "c978b990071b0008440001b0895f697a"));
	ck_assert_ptr_null(strstr(text, "831c76b092f9f135d9b6b36c3a720757"));
	ck_assert_ptr_null(strstr(text, "auth"));
	free(text);
	json_decref(want);
	json_decref(list);
}
END_TEST

/* Events with no secret in any record, for every fixture. */
START_TEST(no_secret_in_any_record)
{
	static const char *const secrets[] = {
		"s6p6eclrvim6da22ft9ch94ekreb52lv",
		"4s386p3q0tr8dy89xvmt96234v3dljg8",
		"51856fefc120afa4b628cc82d3935cce",
		"c978b990071b0008440001b0895f697a",
		"831c76b092f9f135d9b6b36c3a720757",
		"5680b91b0000844000785e072978228d24bd2f" };
	char name[128], *text;
	json_t *list;
	size_t i;

	snprintf(name, sizeof(name), "%s.form", expects[_i].fixture);
	list = fixture_records(name);
	text = json_dumps(list, 0);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		ck_assert_msg(strstr(text, secrets[i]) == NULL,
		    "%s leaks a token", name);
	free(text);
	json_decref(list);
}
END_TEST

/*
 * Both encodings of one event give the same records but for data and
 * context, which keep each encoding's values.
 */
START_TEST(form_and_json_agree)
{
	char name[128];
	json_t *form, *json, *a, *b;
	size_t i;

	snprintf(name, sizeof(name), "%s.form", expects[_i].fixture);
	form = fixture_records(name);
	snprintf(name, sizeof(name), "%s.json", expects[_i].fixture);
	json = fixture_records(name);
	ck_assert_uint_eq(json_array_size(form), json_array_size(json));
	for (i = 0; i < json_array_size(form); i++) {
		a = json_array_get(form, i);
		b = json_array_get(json, i);
		json_object_del(a, "data");
		json_object_del(b, "data");
		json_object_del(a, "context");
		json_object_del(b, "context");
		ck_assert_msg(json_equal(a, b), "%s: record %zu differs",
		    expects[_i].fixture, i);
	}
	json_decref(form);
	json_decref(json);
}
END_TEST

/*
 * An event's records hold all of its data: an item's record has the item
 * as data and every other member of data as context (absent when there
 * is none), so data is put back together from them.
 */
static void
check_reassembles(const char *name)
{
	enum media media = strstr(name, ".json") ? MEDIA_JSON : MEDIA_FORM;
	struct err err = { 0 };
	json_t *root, *data, *list, *rec, *context, *items;
	const char *k, *items_key;
	json_t *v;
	size_t len, i;
	char *body = fixture_read(name, &len);

	ck_assert_int_eq(decode_body(media, body, len, &root, NULL, &err), 0);
	data = json_object_get(root, "data");
	list = fixture_records(name);
	for (i = 0; i < json_array_size(list); i++) {
		rec = json_array_get(list, i);
		if (json_object_get(rec, "item") == NULL) {
			ck_assert_msg(json_equal(json_object_get(rec, "data"),
					  data),
			    "%s: data not whole", name);
			ck_assert_ptr_null(json_object_get(rec, "context"));
			continue;
		}
		context = json_object_get(rec, "context");
		ck_assert_msg(context == NULL || json_object_size(context) > 0,
		    "%s: empty context", name);
		/* the one member of data not in context holds the items */
		items_key = NULL;
		json_object_foreach(data, k, v) {
			if (json_object_get(context, k) == NULL) {
				ck_assert_msg(items_key == NULL,
				    "%s: %s and %s missing", name, items_key,
				    k);
				items_key = k;
			} else
				ck_assert_msg(json_equal(json_object_get(
						      context, k),
						  v),
				    "%s: context.%s differs", name, k);
		}
		ck_assert_ptr_nonnull(items_key);
		ck_assert_uint_eq(json_object_size(context) + 1,
		    json_object_size(data));
		items = json_object_get(data, items_key);
		ck_assert(json_equal(json_object_get(rec, "data"),
		    json_is_array(items) ? json_array_get(items, i) : items));
	}
	json_decref(list);
	json_decref(root);
	free(body);
}

START_TEST(records_hold_all_data)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.form", expects[_i].fixture);
	check_reassembles(name);
	snprintf(name, sizeof(name), "%s.json", expects[_i].fixture);
	check_reassembles(name);
}
END_TEST

/*
 * What the portal sent beside the items stays in every item's record:
 * a LINE that is not an integer (so no line member) and an unknown key.
 */
START_TEST(context_kept)
{
	const char *body = "event=ONIMCONNECTORMESSAGEADD&data[CONNECTOR]=c&"
			   "data[LINE]=107a&data[EXTRA]=kept-where%3F&"
			   "data[MESSAGES][0][im][message_id]=1&"
			   "data[MESSAGES][1][im][message_id]=2";
	json_t *list = records_of(body, strlen(body), MEDIA_FORM, PORTAL_A,
	    4096);
	json_t *want = json_pack("{ss,ss,ss}", "CONNECTOR", "c", "LINE",
	    "107a", "EXTRA", "kept-where?");
	json_t *rec;
	size_t i;

	ck_assert_uint_eq(json_array_size(list), 2);
	json_array_foreach(list, i, rec) {
		ck_assert(json_equal(json_object_get(rec, "context"), want));
		ck_assert_ptr_null(json_object_get(rec, "line"));
		ck_assert_str_eq(
		    json_string_value(json_object_get(rec, "connector")), "c");
		ck_assert_int_eq(json_integer_value(
				     json_object_get(rec, "message_id")),
		    (json_int_t)i + 1);
	}
	json_decref(want);
	json_decref(list);
}
END_TEST

static const char *
key_of(const char *body, size_t i)
{
	static char key[64];
	json_t *list = records_of(body, strlen(body), MEDIA_FORM, PORTAL_A,
	    1 << 20);

	snprintf(key, sizeof(key), "%s",
	    json_string_value(
		json_object_get(json_array_get(list, i), "key")));
	json_decref(list);
	return key;
}

/* The key: same for a re-delivery, different for a different item. */
START_TEST(key_identity)
{
	char k1[64], k2[64];

	snprintf(k1, sizeof(k1), "%s",
	    key_of("event=ONX&ts=1&event_handler_id=5&data[A]=1", 0));
	ck_assert_uint_eq(strlen(k1), 32);
	/* ts, event_handler_id and the arrival time do not count */
	ck_assert_str_eq(k1, key_of("event=onx&ts=2&eventId=9&data[A]=1", 0));
	/* content, event and portal do */
	ck_assert_str_ne(k1, key_of("event=ONX&data[A]=2", 0));
	ck_assert_str_ne(k1, key_of("event=ONY&data[A]=1", 0));
	/* two items of one event differ; one item keeps its key in a batch */
	snprintf(k1, sizeof(k1), "%s",
	    key_of("event=ONIMCONNECTORMESSAGEDELETE&data[LINE]=1&"
		   "data[MESSAGES][0][message][id]=a&"
		   "data[MESSAGES][1][message][id]=b",
		1));
	snprintf(k2, sizeof(k2), "%s",
	    key_of("event=ONIMCONNECTORMESSAGEDELETE&data[LINE]=1&"
		   "data[MESSAGES][0][message][id]=b",
		0));
	ck_assert_str_eq(k1, k2);
	ck_assert_str_ne(k1,
	    key_of("event=ONIMCONNECTORMESSAGEDELETE&data[LINE]=1&"
		   "data[MESSAGES][0][message][id]=a",
		0));
	/* the context in data counts: the same message on another line */
	ck_assert_str_ne(k1,
	    key_of("event=ONIMCONNECTORMESSAGEDELETE&data[LINE]=2&"
		   "data[MESSAGES][0][message][id]=b",
		0));
}
END_TEST

/*
 * The key identifies content, not a delivery: copies of one delivery (a
 * handler bound twice: another event_handler_id, a ts a second later)
 * and the same content sent again later (a reinstall) have equal keys.
 */
START_TEST(key_same_content_same_key)
{
	size_t len;
	char *body = fixture_read("ONAPPINSTALL.form", &len), *again, *at;
	char k[64];

	snprintf(k, sizeof(k), "%s", key_of(body, 0));
	ck_assert_ptr_nonnull(at = strstr(body, "ts=1714640000"));
	ck_assert_ptr_nonnull(again = malloc(len + 64));
	snprintf(again, len + 64, "%.*sts=1790000000&event_handler_id=7%s",
	    (int)(at - body), body, at + strlen("ts=1714640000"));
	ck_assert_str_eq(k, key_of(again, 0));
	free(again);
	free(body);
	body = fixture_read("ONIMCONNECTORMESSAGEADD.form", &len);
	snprintf(k, sizeof(k), "%s", key_of(body, 0));
	ck_assert_ptr_nonnull(at = strstr(body, "event_handler_id=555"));
	at[strlen("event_handler_id=55")] = '6';
	ck_assert_ptr_nonnull(at = strstr(body, "ts=1773759161"));
	at[strlen("ts=177375916")] = '2';
	ck_assert_str_eq(k, key_of(body, 0));
	free(body);
}
END_TEST

/*
 * Any byte of content changes the key (A, then B), and the content comes
 * back to its key (A again): each value of the fixture's event and data,
 * the context's included, has one byte changed in turn.  What is not
 * content (ts, event_handler_id, auth) does not count.
 */
START_TEST(key_any_content_byte)
{
	size_t len, i, n = 0;
	char *a = fixture_read("ONIMCONNECTORMESSAGEADD.form", &len);
	char *b, *p, *end, *v, was;
	char ka[64];

	snprintf(ka, sizeof(ka), "%s", key_of(a, 0));
	ck_assert_ptr_nonnull(b = strdup(a));
	for (p = b; p < b + len; p = end + 1) {
		end = p + strcspn(p, "&");
		ck_assert_ptr_nonnull(v = memchr(p, '=', (size_t)(end - p)));
		/* the first byte of the value that is not in an escape */
		for (i = 1; v + i < end && (v[i] == '%' || v[i] == '+');)
			i += v[i] == '%' ? 3 : 1;
		ck_assert(v + i < end);
		was = v[i];
		v[i] = was == 'Z' ? 'Y' : 'Z';
		if (strncmp(p, "data", 4) == 0 ||
		    strncmp(p, "event=", 6) == 0) {
			ck_assert_msg(strcmp(ka, key_of(b, 0)) != 0,
			    "%.*s: same key", (int)(v - p), p);
			n++;
		} else
			ck_assert_msg(strcmp(ka, key_of(b, 0)) == 0,
			    "%.*s: other key", (int)(v - p), p);
		v[i] = was;
		ck_assert_str_eq(ka, key_of(b, 0));
	}
	/* event, CONNECTOR, LINE and the message's five values */
	ck_assert_uint_eq(n, 8);
	free(b);
	free(a);
}
END_TEST

START_TEST(key_differs_by_portal)
{
	const char *body = "event=ONX&data[A]=1";
	json_t *a = records_of(body, strlen(body), MEDIA_FORM, PORTAL_A, 4096);
	json_t *b = records_of(body, strlen(body), MEDIA_FORM, PORTAL_B, 4096);

	ck_assert(!json_equal(json_object_get(json_array_get(a, 0), "key"),
	    json_object_get(json_array_get(b, 0), "key")));
	json_decref(a);
	json_decref(b);
}
END_TEST

/* Any other verified event: one record with the generic fields. */
START_TEST(other_event_generic)
{
	const char *body = "event=ONCRMDEALUPDATE&event_handler_id=77&"
			   "data%5BFIELDS%5D%5BID%5D=134806&ts=1714649632&"
			   "auth%5Bdomain%5D=x.bitrix24.com";
	json_t *list = records_of(body, strlen(body), MEDIA_FORM, PORTAL_A,
	    4096);
	json_t *rec = json_array_get(list, 0);

	ck_assert_uint_eq(json_array_size(list), 1);
	ck_assert_ptr_null(json_object_get(rec, "item"));
	ck_assert_ptr_null(json_object_get(rec, "connector"));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(rec, "event_handler_id")), 77);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(json_object_get(rec, "data"),
				 "FIELDS"),
			     "ID")),
	    "134806");
	json_decref(list);
}
END_TEST

/* Missing keys are normal; malformed values are left out, kept in data. */
START_TEST(missing_and_odd_values)
{
	const char *body = "event=ONIMCONNECTORDIALOGSTART&ts=soon&"
			   "data[DATA][0][session][id]=12x&"
			   "data[DATA][0][session][closed]=maybe&"
			   "data[DATA][1][session][id]=-7";
	json_t *list = records_of(body, strlen(body), MEDIA_FORM, PORTAL_A,
	    4096);
	json_t *r0 = json_array_get(list, 0), *r1 = json_array_get(list, 1);

	ck_assert_uint_eq(json_array_size(list), 2);
	ck_assert_ptr_null(json_object_get(r0, "ts"));
	ck_assert_ptr_null(json_object_get(r0, "session_id"));
	ck_assert_ptr_null(json_object_get(r0, "session_closed"));
	ck_assert_ptr_null(json_object_get(r0, "domain"));
	ck_assert_int_eq(json_integer_value(json_object_get(r1, "session_id")),
	    -7);
	json_decref(list);
}
END_TEST

/* An item event without items, and an event without data. */
START_TEST(no_items_no_data)
{
	const char *body = "event=ONIMCONNECTORMESSAGEADD&data[CONNECTOR]=c";
	json_t *list = records_of(body, strlen(body), MEDIA_FORM, PORTAL_A,
	    4096);
	json_t *rec = json_array_get(list, 0);

	ck_assert_uint_eq(json_array_size(list), 1);
	ck_assert_ptr_null(json_object_get(rec, "item"));
	ck_assert_str_eq(json_string_value(json_object_get(rec, "connector")),
	    "c");
	json_decref(list);
	body = "event=ONAPPTEST";
	list = records_of(body, strlen(body), MEDIA_FORM, PORTAL_A, 4096);
	ck_assert_uint_eq(json_array_size(list), 1);
	ck_assert_ptr_null(json_object_get(json_array_get(list, 0), "data"));
	json_decref(list);
}
END_TEST

/* DATA of the open-line events as a list of several items. */
START_TEST(session_data_list)
{
	const char *body = "event=ONSESSIONSTART&data[DATA][0][line][id]=1&"
			   "data[DATA][1][line][id]=2";
	json_t *list = records_of(body, strlen(body), MEDIA_FORM, PORTAL_A,
	    4096);

	ck_assert_uint_eq(json_array_size(list), 2);
	ck_assert_int_eq(json_integer_value(
			     json_object_get(json_array_get(list, 1), "line")),
	    2);
	json_decref(list);
}
END_TEST

/* Records past the buffer's maximum: limit_exceeded, never a crash. */
START_TEST(records_limit)
{
	const char *body = "event=ONX&data[A]=1";
	struct err err = { 0 };
	struct buf out;
	json_t *root;
	size_t n = 0, need;

	ck_assert_int_eq(decode_body(MEDIA_FORM, body, strlen(body), &root,
			     NULL, &err),
	    0);
	buf_init(&out, 1 << 16);
	ck_assert_int_eq(event_records(root, PORTAL_A, &received, &out, &n,
			     &err),
	    0);
	need = out.len;
	buf_free(&out);
	buf_init(&out, need);
	ck_assert_int_eq(event_records(root, PORTAL_A, &received, &out, &n,
			     &err),
	    0);
	buf_free(&out);
	buf_init(&out, need - 1);
	ck_assert_int_eq(event_records(root, PORTAL_A, &received, &out, &n,
			     &err),
	    -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	buf_free(&out);
	json_decref(root);
}
END_TEST

/* event_records on a tree, the error (if any) in *err. */
static int
records_try(const json_t *root, const char *portal, struct buf *out,
    size_t *n, struct err *err)
{
	memset(err, 0, sizeof(*err));
	*n = 0;
	return event_records(root, portal, &received, out, n, err);
}

/* A domain is copied into every record: at most LIMIT_DOMAIN bytes. */
START_TEST(domain_limit)
{
	char *d = malloc(LIMIT_DOMAIN + 2);
	struct err err;
	struct buf out;
	json_t *root;
	size_t n;

	ck_assert_ptr_nonnull(d);
	memset(d, 'd', LIMIT_DOMAIN);
	d[LIMIT_DOMAIN] = '\0';
	root = json_pack("{ss s{ss}}", "event", "ONX", "auth", "domain", d);
	buf_init(&out, 1 << 16);
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), 0);
	ck_assert_ptr_nonnull(strstr(out.data, d));
	buf_reset(&out);
	strcat(d, "d");
	json_object_set_new(json_object_get(root, "auth"), "domain",
	    json_string(d));
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=domain max=253");
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	json_decref(root);
	free(d);
}
END_TEST

/*
 * An item event: CONNECTOR of clen bytes, so that the context is
 * {"CONNECTOR":"..."} (clen + 16 bytes), beside items messages.
 */
static json_t *
context_event(size_t clen, size_t items)
{
	char *c = malloc(clen + 1);
	json_t *root, *list;
	size_t i;

	ck_assert_ptr_nonnull(c);
	memset(c, 'c', clen);
	c[clen] = '\0';
	root = json_pack("{ss s{ss s[]}}", "event", "ONIMCONNECTORMESSAGEADD",
	    "data", "CONNECTOR", c, "MESSAGES");
	ck_assert_ptr_nonnull(root);
	list = json_object_get(json_object_get(root, "data"), "MESSAGES");
	for (i = 0; i < items; i++)
		json_array_append_new(list, json_pack("{s{si}}", "im",
						"message_id", (int)i));
	free(c);
	return root;
}

/*
 * The context of two or more items is copied into each item's record: at
 * most LIMIT_CONTEXT bytes of compact JSON.  One item's context is
 * copied once and not limited.
 */
START_TEST(context_limit)
{
	size_t clen = LIMIT_CONTEXT - strlen("{\"CONNECTOR\":\"\"}"), n;
	struct err err;
	struct buf out;
	json_t *root, *rec;

	buf_init(&out, 1 << 20);
	root = context_event(clen, 2);
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	rec = json_loadb(out.data, strcspn(out.data, "\n"), 0, NULL);
	ck_assert_ptr_nonnull(json_object_get(rec, "context"));
	ck_assert_uint_eq(json_dumpb(json_object_get(rec, "context"), NULL, 0,
			      JSON_COMPACT),
	    LIMIT_CONTEXT);
	json_decref(rec);
	json_decref(root);
	buf_reset(&out);
	root = context_event(clen + 1, 2);
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=context max=512");
	ck_assert_uint_eq(out.len, 0);
	json_decref(root);
	root = context_event(clen + 1, 1);
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	json_decref(root);
	buf_free(&out);
}
END_TEST

/* CPU seconds since start */
static double
cpu_since(clock_t start)
{
	return (double)(clock() - start) / CLOCKS_PER_SEC;
}

/*
 * An event of LIMIT_ITEMS items, beside the largest context, makes its
 * records at once; one more item is refused before any record is made,
 * in MESSAGES as in the open-line events' DATA.
 */
START_TEST(items_limit)
{
	size_t clen = LIMIT_CONTEXT - strlen("{\"CONNECTOR\":\"\"}"), n;
	struct err err;
	struct buf out;
	json_t *root, *data;
	clock_t start;

	buf_init(&out, LIMIT_RECORDS(1 << 20));
	root = context_event(clen, LIMIT_ITEMS);
	start = clock();
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), 0);
	ck_assert_msg(cpu_since(start) < 0.5, "%d items took %.1f s of CPU",
	    LIMIT_ITEMS, cpu_since(start));
	ck_assert_uint_eq(n, LIMIT_ITEMS);
	json_decref(root);
	buf_reset(&out);
	root = context_event(clen, LIMIT_ITEMS + 1);
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), -1);
	ck_assert_int_eq(err.code, ERR_LIMIT_EXCEEDED);
	ck_assert_str_eq(err.reason, "limit=items max=1000");
	ck_assert_uint_eq(out.len, 0);
	data = json_object_get(root, "data");
	json_object_set(data, "DATA", json_object_get(data, "MESSAGES"));
	json_object_del(data, "MESSAGES");
	json_object_set_new(root, "event", json_string("ONOPENLINEMESSAGEADD"));
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), -1);
	ck_assert_str_eq(err.reason, "limit=items max=1000");
	ck_assert_uint_eq(out.len, 0);
	json_array_remove(json_object_get(data, "DATA"), 0);
	ck_assert_int_eq(records_try(root, PORTAL_A, &out, &n, &err), 0);
	ck_assert_uint_eq(n, LIMIT_ITEMS);
	json_decref(root);
	buf_free(&out);
}
END_TEST

/*
 * A large context: one item's record holds it once; beside LIMIT_ITEMS
 * items it is refused before any key or record is made, in one pass
 * (each key once hashed the whole context: 10 s of CPU for a 1 MiB body
 * of 10,000 items), and beside one more the item count is.
 */
START_TEST(items_beside_large_context)
{
	const size_t context = 900 * 1024;
	struct err err;
	struct buf out;
	json_t *root;
	clock_t start;
	size_t n;

	buf_init(&out, LIMIT_RECORDS(1 << 20));
	root = context_event(context, 1);
	ck_assert_int_eq(records_try(root, PORTAL_B, &out, &n, &err), 0);
	ck_assert_uint_gt(out.len, context);
	json_decref(root);
	buf_reset(&out);
	root = context_event(context, LIMIT_ITEMS);
	start = clock();
	ck_assert_int_eq(records_try(root, PORTAL_B, &out, &n, &err), -1);
	ck_assert_msg(cpu_since(start) < 0.5,
	    "refusing %d items took %.1f s of CPU", LIMIT_ITEMS,
	    cpu_since(start));
	ck_assert_str_eq(err.reason, "limit=context max=512");
	ck_assert_uint_eq(out.len, 0);
	json_decref(root);
	root = context_event(context, LIMIT_ITEMS + 1);
	ck_assert_int_eq(records_try(root, PORTAL_B, &out, &n, &err), -1);
	ck_assert_str_eq(err.reason, "limit=items max=1000");
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
	json_decref(root);
}
END_TEST

/*
 * LIMIT_RECORD_FIXED holds: for each shape, a record whose every value
 * that is not a copy of its item or context is as long as it can be
 * (20-character integers, a LIMIT_MEMBER_ID member_id, the longest event
 * of the shape), its strings empty, has no more than that beside its
 * data and context.
 */
START_TEST(record_head)
{
	/* the longest event of each shape, and where its items are */
	static const char *const events[][2] = {
		{ "ONIMCONNECTORMESSAGEUPDATE", "MESSAGES" },
		{ "ONOPENLINEMESSAGEDELETE", "DATA" },
		{ "ONIMCONNECTORDIALOGFINISH", "DATA" },
		{ "ONSESSIONFINISH", "DATA" },
		{ "ONOPENLINEMESSAGEUPDATE", "DATA" },
		{ "ONIMCONNECTORSTATUSDELETE", NULL },
		{ "ONIMCONNECTORLINEDELETE", NULL }, { NULL, NULL } };
	const json_int_t I = (json_int_t)(-9223372036854775807LL - 1);
	char portal[LIMIT_MEMBER_ID + 1], event[LIMIT_EVENT + 1];
	struct err err;
	struct buf out;
	json_t *item, *root, *rec, *data;
	size_t i, n, head, most = 0;
	char *line;

	memset(portal, 'p', LIMIT_MEMBER_ID);
	portal[LIMIT_MEMBER_ID] = '\0';
	memset(event, 'E', LIMIT_EVENT);
	event[LIMIT_EVENT] = '\0';
	item = json_pack("{s{sIsI} s{sIsI} s{sssI} s{ss} "
			 "s{sssIssss} s{sIsssIsI} s{sIss}}",
	    "im", "chat_id", I, "message_id", I, "message", "id", I,
	    "chat_id", I, "chat", "id", "", "chat_id", I, "user", "id", "",
	    "connector", "connector_id", "", "line_id", I, "chat_id", "",
	    "user_id", "", "session", "id", I, "closed", "N", "parent_id", I,
	    "close_term", I, "line", "id", I, "name", "");
	ck_assert_ptr_nonnull(item);
	buf_init(&out, 1 << 20);
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		root = json_pack("{ss sI sI s{sssI} s{sssIsIss}}", "event",
		    events[i][0] != NULL ? events[i][0] : event,
		    "event_handler_id", I, "ts", I, "auth", "domain", "",
		    "user_id", I, "data", "CONNECTOR", "", "LINE", I, "line", I,
		    "connector", "");
		ck_assert_ptr_nonnull(root);
		if (events[i][1] != NULL)
			json_object_set_new(json_object_get(root, "data"),
			    events[i][1], json_pack("[OO]", item, item));
		/* its data is the line id itself */
		if (events[i][0] != NULL && strcmp(events[i][0],
						"ONIMCONNECTORLINEDELETE") == 0)
			json_object_set_new(root, "data", json_integer(I));
		buf_reset(&out);
		ck_assert_int_eq(records_try(root, portal, &out, &n, &err), 0);
		line = strtok(out.data, "\n");
		ck_assert_ptr_nonnull(rec = json_loads(line, 0, NULL));
		head = strlen(line) + 1;
		data = json_object_get(rec, "data");
		head -= json_dumpb(data, NULL, 0, JSON_COMPACT);
		if (json_object_get(rec, "context") != NULL)
			head -= json_dumpb(json_object_get(rec, "context"),
			    NULL, 0, JSON_COMPACT);
		/* item 0 of 2 here; 999 of 1000 at most */
		if (json_object_get(rec, "item") != NULL)
			head += strlen("9991000") - strlen("02");
		ck_assert_msg(head <= LIMIT_RECORD_FIXED, "%s: %zu bytes",
		    events[i][0] != NULL ? events[i][0] : "a 128-byte event",
		    head);
		most = head > most ? head : most;
		json_decref(rec);
		json_decref(root);
	}
	/* the bound is the dialog events' head, with little room */
	ck_assert_uint_gt(most, LIMIT_RECORD_FIXED - 32);
	buf_free(&out);
	json_decref(item);
}
END_TEST

/* received is written as strftime and snprintf would write it */
START_TEST(received_format)
{
	static const struct timespec when[] = { { 0, 0 }, { 59, 999999999 },
		{ 951782400, 1000 },	    /* 2000-02-29 */
		{ 2147483647, 999999 },	    /* the 32-bit end */
		{ 4102444799, 500000000 },  /* 2099-12-31T23:59:59 */
		{ 253402300799, 999999999 } /* 9999-12-31T23:59:59 */ };
	static const char body[] = "event=ONAPPTEST";
	char want[40];
	struct err err;
	struct buf out;
	struct tm tm;
	json_t *root, *rec;
	size_t i, n, k;

	for (i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		gmtime_r(&when[i].tv_sec, &tm);
		k = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + k, sizeof(want) - k, ".%06ldZ",
		    when[i].tv_nsec / 1000);
		ck_assert_int_eq(decode_body(MEDIA_FORM, body,
		    sizeof(body) - 1, &root, NULL, &err), 0);
		buf_init(&out, 1 << 16);
		n = 0;
		ck_assert_int_eq(event_records(root, PORTAL_A, &when[i], &out,
		    &n, &err), 0);
		rec = json_loads(out.data, 0, NULL);
		ck_assert_str_eq(json_string_value(json_object_get(rec,
		    "received")), want);
		json_decref(rec);
		json_decref(root);
		buf_free(&out);
	}
}
END_TEST

static Suite *
event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");
	int n = sizeof(expects) / sizeof(expects[0]);

	tcase_add_loop_test(core, fixture_form, 0, n);
	tcase_add_loop_test(core, fixture_json, 0, n);
	tcase_add_loop_test(core, no_secret_in_any_record, 0, n);
	tcase_add_loop_test(core, form_and_json_agree, 0, n);
	tcase_add_test(core, key_order);
	tcase_add_test(core, received_format);
	tcase_add_test(core, data_kept_auth_dropped);
	tcase_add_test(core, key_identity);
	tcase_add_test(core, key_differs_by_portal);
	tcase_add_test(core, key_same_content_same_key);
	tcase_add_test(core, key_any_content_byte);
	tcase_add_loop_test(core, records_hold_all_data, 0, n);
	tcase_add_test(core, context_kept);
	tcase_add_test(core, other_event_generic);
	tcase_add_test(core, missing_and_odd_values);
	tcase_add_test(core, no_items_no_data);
	tcase_add_test(core, session_data_list);
	tcase_add_test(limits, records_limit);
	tcase_add_test(limits, items_limit);
	tcase_add_test(limits, items_beside_large_context);
	tcase_add_test(limits, domain_limit);
	tcase_add_test(limits, context_limit);
	tcase_add_test(limits, record_head);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	return suite_main(event_suite());
}
