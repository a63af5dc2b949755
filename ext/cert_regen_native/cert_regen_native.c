/*
 * cert_regen_native.c - the Ruby binding of the C core: CertRegen::Native.
 *
 *   CertRegen::Native.status(opts = {})   -> Hash (the `cert_regen` fact)
 *   CertRegen::Native.settings(opts = {}) -> Hash (resolved Puppet settings)
 *
 * opts (String or Symbol keys): "confdir", "ssldir", "certname",
 * "default_certname", "warn_days", "now" (Integer epoch seconds),
 * "allow_exec" (default false), "settings" (Hash of more setting => value).
 *
 * The core builds a jansson tree without touching Ruby (and without the
 * GVL); the tree is then turned into Ruby objects under rb_protect so a
 * raise in the middle cannot leak it.
 */
#include <string.h>

#include <ruby.h>
#include <ruby/encoding.h>
#include <ruby/thread.h>

#include "cr_err.h"
#include "cr_settings.h"
#include "cr_status.h"

#define MAX_OVERRIDES 32

static VALUE mCertRegen, mNative, eError;

/* --- JSON -> Ruby ---------------------------------------------------- */

static VALUE json_to_ruby(json_t *j);

static VALUE
json_to_ruby(json_t *j)
{
	VALUE out = Qnil;
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		out = rb_hash_new();
		json_object_foreach(j, key, v)
			rb_hash_aset(out, rb_utf8_str_new_cstr(key),
			    json_to_ruby(v));
		break;
	case JSON_ARRAY:
		out = rb_ary_new_capa((long)json_array_size(j));
		json_array_foreach(j, i, v)
			rb_ary_push(out, json_to_ruby(v));
		break;
	case JSON_STRING:
		out = rb_utf8_str_new(json_string_value(j),
		    (long)json_string_length(j));
		break;
	case JSON_INTEGER:
		out = LL2NUM(json_integer_value(j));
		break;
	case JSON_REAL:
		out = DBL2NUM(json_real_value(j));
		break;
	case JSON_TRUE:
		out = Qtrue;
		break;
	case JSON_FALSE:
		out = Qfalse;
		break;
	case JSON_NULL:
		break;
	}
	return out;
}

static VALUE
convert_protected(VALUE arg)
{
	return json_to_ruby((json_t *)arg);
}

/* Converts and releases the tree, re-raising anything the conversion raised
 * only after the C memory is gone. */
static VALUE
json_to_ruby_free(json_t *j)
{
	int state = 0;
	VALUE out = rb_protect(convert_protected, (VALUE)j, &state);

	json_decref(j);
	if (state != 0)
		rb_jump_tag(state);
	return out;
}

/* --- options ------------------------------------------------------------ */

struct native_opts {
	VALUE keep;			/* array holding every string used */
	struct cr_status_opts st;
	const char *pairs[MAX_OVERRIDES * 2 + 1];
};

static VALUE
opt_get(VALUE hash, const char *name)
{
	VALUE v = rb_hash_lookup2(hash, rb_str_new_cstr(name), Qundef);

	if (v == Qundef)
		v = rb_hash_lookup2(hash, ID2SYM(rb_intern(name)), Qnil);
	return v;
}

/* A C string kept alive by opts->keep; NULL for nil. Raises on bad type. */
static const char *
opt_str(struct native_opts *o, VALUE v, const char *what)
{
	if (NIL_P(v))
		return NULL;
	if (SYMBOL_P(v))
		v = rb_sym2str(v);
	if (!RB_TYPE_P(v, T_STRING))
		rb_raise(rb_eTypeError, "%s must be a String", what);
	v = rb_str_new_frozen(v);
	rb_ary_push(o->keep, v);
	return StringValueCStr(v);	/* raises on embedded NUL */
}

static int
each_setting(VALUE key, VALUE val, VALUE arg)
{
	struct native_opts *o = (struct native_opts *)arg;
	size_t n = 0;

	while (o->pairs[n] != NULL)
		n++;
	if (n >= MAX_OVERRIDES * 2)
		rb_raise(rb_eArgError, "at most %d settings", MAX_OVERRIDES);
	o->pairs[n] = opt_str(o, key, "a setting name");
	o->pairs[n + 1] = opt_str(o, val, "a setting value");
	if (o->pairs[n + 1] == NULL)
		o->pairs[n] = NULL;	/* nil value: not an override */
	return ST_CONTINUE;
}

/* All Ruby-side validation happens here, before any C memory exists. */
static void
parse_opts(int argc, VALUE *argv, struct native_opts *o)
{
	VALUE hash = Qnil, v;

	rb_scan_args(argc, argv, "01", &hash);
	memset(o, 0, sizeof(*o));
	o->keep = rb_ary_new();
	o->st.warn_days = -1;
	o->st.overrides = o->pairs;
	if (NIL_P(hash))
		return;
	Check_Type(hash, T_HASH);
	o->st.confdir = opt_str(o, opt_get(hash, "confdir"), "confdir");
	o->st.ssldir = opt_str(o, opt_get(hash, "ssldir"), "ssldir");
	o->st.certname = opt_str(o, opt_get(hash, "certname"), "certname");
	o->st.default_certname = opt_str(o, opt_get(hash, "default_certname"),
	    "default_certname");
	if (!NIL_P(v = opt_get(hash, "warn_days"))) {
		long days = NUM2LONG(v);
		if (days < 0 || days > CR_WARN_DAYS_MAX)
			rb_raise(rb_eArgError, "warn_days must be 0..%d",
			    CR_WARN_DAYS_MAX);
		o->st.warn_days = (int)days;
	}
	if (!NIL_P(v = opt_get(hash, "now")))
		o->st.now = (time_t)NUM2LL(v);
	o->st.allow_exec = RTEST(opt_get(hash, "allow_exec"));
	if (!NIL_P(v = opt_get(hash, "settings"))) {
		Check_Type(v, T_HASH);
		rb_hash_foreach(v, each_setting, (VALUE)o);
	}
}

/* Raises CertRegen::Native::Error with kind, after freeing the record. */
static void
raise_err(cr_err *err)
{
	char *text = cr_err_message_new(err);	/* msg + " Next step: ..." */
	VALUE msg = rb_utf8_str_new_cstr(text ? text : err->msg);
	VALUE kind = rb_utf8_str_new_cstr(err->kind[0] ? err->kind : CR_KIND_INTERNAL);
	VALUE exc;

	free(text);
	cr_err_clear(err);
	exc = rb_exc_new_str(eError, msg);
	rb_iv_set(exc, "@kind", kind);
	rb_exc_raise(exc);
}

/* --- CertRegen::Native.status ------------------------------------------ */

struct status_call {
	struct cr_status_opts *opts;
	cr_err err;
	json_t *result;
};

static void *
status_nogvl(void *arg)
{
	struct status_call *c = arg;

	c->result = cr_status_collect(c->opts, &c->err);
	return NULL;
}

static VALUE
native_status(int argc, VALUE *argv, VALUE self)
{
	struct native_opts o;
	struct status_call c;

	parse_opts(argc, argv, &o);
	memset(&c, 0, sizeof(c));
	cr_err_init(&c.err);
	c.opts = &o.st;
	rb_thread_call_without_gvl(status_nogvl, &c, RUBY_UBF_IO, NULL);
	RB_GC_GUARD(o.keep);
	if (c.result == NULL)
		raise_err(&c.err);
	cr_err_clear(&c.err);
	return json_to_ruby_free(c.result);
}

/* --- CertRegen::Native.settings ---------------------------------------- */

/* Everything the call needs, so that the work runs without the GVL (it may
 * run `puppet config print` for seconds): no Ruby API in here. */
struct settings_call {
	struct cr_settings_opts so;
	cr_err err;
	json_t *result;
};

static void *
settings_nogvl(void *arg)
{
	struct settings_call *c = arg;
	cr_settings *s;

	if ((s = cr_settings_load(&c->so, &c->err)) != NULL) {
		c->result = cr_settings_to_json(s);
		cr_settings_free(s);
		if (c->result == NULL && !c->err.set)
			cr_err_set(&c->err, CR_KIND_NOMEM, "out of memory");
	}
	return NULL;
}

static VALUE
native_settings(int argc, VALUE *argv, VALUE self)
{
	struct native_opts o;
	const char *pairs[MAX_OVERRIDES * 2 + 5];
	struct settings_call c;
	size_t n = 0, i;

	parse_opts(argc, argv, &o);
	memset(&c, 0, sizeof(c));
	if (o.st.ssldir != NULL) {
		pairs[n++] = "ssldir";
		pairs[n++] = o.st.ssldir;
	}
	if (o.st.certname != NULL) {
		pairs[n++] = "certname";
		pairs[n++] = o.st.certname;
	}
	for (i = 0; o.pairs[i] != NULL; i++)
		pairs[n++] = o.pairs[i];
	pairs[n] = NULL;
	c.so.confdir = o.st.confdir;
	c.so.section = "agent";
	c.so.overrides = pairs;
	c.so.allow_exec = o.st.allow_exec;
	cr_err_init(&c.err);
	/* `puppet` cannot be killed from here safely: RUBY_UBF_IO only wakes
	 * the poll (cr_proc retries it); cr_proc's deadline bounds the wait */
	rb_thread_call_without_gvl(settings_nogvl, &c, RUBY_UBF_IO, NULL);
	RB_GC_GUARD(o.keep);
	if (c.result == NULL) {
		if (!c.err.set)
			cr_err_set(&c.err, CR_KIND_NOMEM, "out of memory");
		raise_err(&c.err);
	}
	cr_err_clear(&c.err);
	return json_to_ruby_free(c.result);
}

RUBY_FUNC_EXPORTED void
Init_cert_regen_native(void)
{
	mCertRegen = rb_define_module("CertRegen");
	mNative = rb_define_module_under(mCertRegen, "Native");
	eError = rb_define_class_under(mNative, "Error", rb_eStandardError);
	rb_define_attr(eError, "kind", 1, 0);
	rb_define_const(mNative, "WARN_DAYS_DEFAULT", INT2FIX(CR_WARN_DAYS_DEFAULT));
	rb_define_const(mNative, "VERSION", rb_str_freeze(rb_str_new_cstr(CERT_REGEN_VERSION)));
	rb_define_module_function(mNative, "status", native_status, -1);
	rb_define_module_function(mNative, "settings", native_settings, -1);
}
