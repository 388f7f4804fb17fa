/* template.c - template_render(): sets up the variables transformers gives
 * a chat template, then parses and runs it (template_*.c do the work). */
#include "config.h"

#include "jinja/jinja.h"

#include <locale.h>
#include <string.h>

#include "jinja/internal.h"

static int define_json(struct tpl_ctx *ctx, const char *name, json_object *j)
{
	struct tpl_value v;
	if (tpl_from_json(j, &v, 0) < 0)
		return error_prefix("%s", name);
	tpl_ctx_define(ctx, name, v);
	return 0;
}

int template_render(const char *source, json_object *messages, const struct template_vars *vars,
		    struct strbuf *out)
{
	static const struct template_vars no_vars;
	struct tpl_body body = { 0 };
	struct tpl_ctx ctx = { 0 };
	struct strbuf text = { 0 };
	int rc = -1;
	if (!vars)
		vars = &no_vars;
	/* Python writes numbers and dates the same way in every locale */
	locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	locale_t saved = c_locale ? uselocale(c_locale) : (locale_t)0;

	if (!source) {
		error("no chat template");
		goto fail;
	}
	if (messages && !json_object_is_type(messages, json_type_array)) {
		error("the messages must be a JSON array");
		goto fail;
	}
	if (vars->tools && !json_object_is_type(vars->tools, json_type_array)) {
		error("the tools must be a JSON array");
		goto fail;
	}
	if (tpl_parse(source, strlen(source), &body) < 0)
		goto fail;
	tpl_ctx_init(&ctx, vars->now ? vars->now : time(NULL));
	if (!messages)
		tpl_ctx_define(&ctx, "messages", tpl_list_new(0, false));
	else if (define_json(&ctx, "messages", messages) < 0)
		goto fail;
	if (vars->tools && define_json(&ctx, "tools", vars->tools) < 0)
		goto fail;
	tpl_ctx_define(&ctx, "bos_token", tpl_cstr(vars->bos_token ? vars->bos_token : ""));
	tpl_ctx_define(&ctx, "eos_token", tpl_cstr(vars->eos_token ? vars->eos_token : ""));
	tpl_ctx_define(&ctx, "add_generation_prompt", tpl_bool(vars->add_generation_prompt));
	if (tpl_exec(&ctx, &body, &text) < 0)
		goto fail;
	strbuf_append(out, text.data, text.len);
	rc = 0;
fail:
	tpl_ctx_free(&ctx);
	tpl_body_free(&body);
	strbuf_free(&text);
	if (c_locale) {
		uselocale(saved);
		freelocale(c_locale);
	}
	return rc;
}
