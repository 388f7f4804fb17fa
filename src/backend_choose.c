/* backend_choose.c - which backend a context runs on, and why: the CPU, or
 * a Vulkan device with the model's weights copied to it.  The reason is
 * shown to the user (status bar, -v, nibble info), so a fallback is never
 * silent. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "context.h"
#include "util.h"
#ifdef HAVE_VULKAN
#include "vk.h"
#endif

/* Copies every weight matrix and norm vector of m to a backend that wants
 * them (the tied output matrix is the embedding's one copy). */
static int upload_model(struct backend *be, const struct model *m)
{
	const struct backend_ops *op = be->ops;
	if (!op->upload_weight)
		return 0;
	int64_t n_embd = m->hp.n_embd;
	if (op->upload_weight(be, &m->tok_embd) < 0 || op->upload_weight(be, &m->output) < 0 ||
	    op->upload_vector(be, m->output_norm, n_embd) < 0)
		return -1;
	for (uint32_t il = 0; il < m->hp.n_layer; il++) {
		const struct layer *l = &m->layers[il];
		const struct weight *w[] = { &l->wq, &l->wk, &l->wv, &l->wo, &l->ffn_gate, &l->ffn_up, &l->ffn_down };
		for (size_t i = 0; i < ARRAY_LEN(w); i++)
			if (op->upload_weight(be, w[i]) < 0)
				return -1;
		if (op->upload_vector(be, l->attn_norm, n_embd) < 0 || op->upload_vector(be, l->ffn_norm, n_embd) < 0)
			return -1;
	}
	return 0;
}

#ifdef HAVE_VULKAN
/* The device `want` names (an index or part of its name), or the best one.
 * -1 with error() when none; under auto (no hardware GPU, or the model
 * does not fit) also -1, with the reason in reason. */
static int pick_device(const char *want, bool automatic, uint64_t need, char *reason, size_t reason_size)
{
	struct vk_device_info *d;
	int n = vk_list_devices(&d), best = -1;
	if (n < 0)
		return -1;
	if (want) {
		char *end;
		long idx = strtol(want, &end, 10);
		for (int i = 0; i < n && best < 0; i++)
			if (*end ? strcasestr(d[i].name, want) != NULL : idx == i)
				best = i;
		if (best < 0)
			error("no Vulkan device '%s' (see nibble devices)", want);
		else if (d[best].unusable[0]) {
			error("the Vulkan device %s cannot be used: %s", d[best].name, d[best].unusable);
			best = -1;
		}
	} else {
		best = vk_best_device(d, n);
		if (best < 0)
			error(n ? "no usable Vulkan device (see nibble devices)" : "no Vulkan device found");
	}
	if (best >= 0 && automatic && !want && !d[best].hardware) {
		snprintf(reason, reason_size, "no GPU found (%s is software; --backend vulkan uses it)", d[best].name);
		best = -1;
	} else if (best >= 0 && automatic && d[best].memory < need) {
		char a[32], b[32];
		snprintf(reason, reason_size, "the model (%s) does not fit in %s's %s", format_bytes(need, a, sizeof a),
			 d[best].name, format_bytes(d[best].memory, b, sizeof b));
		best = -1;
	} else if (best < 0 && automatic) {
		snprintf(reason, reason_size, "%s", error_message());
	}
	free(d);
	return best;
}
#endif

const char *context_backend_warning(const struct context *ctx, char *buf, size_t size)
{
	if (!ctx->be->cpu_types[0])
		return NULL;
	snprintf(buf, size, "the %s shaders of %s gave wrong results in their self-test on this driver; those "
		 "matrices run on the CPU (slower)", ctx->be->cpu_types, ctx->be->description);
	return buf;
}

struct backend *backend_choose(const struct context_params *p, const struct model *m, char *reason,
			       size_t reason_size)
{
	const char *want = p->backend ? p->backend : "auto";
	int threads = p->n_threads > 0 ? p->n_threads : cpu_physical_cores();
	bool automatic = !strcmp(want, "auto");
	snprintf(reason, reason_size, "--backend %s", want);
	if (!strcmp(want, "cpu"))
		return backend_cpu_init(threads);
#ifdef HAVE_VULKAN
	int dev = pick_device(p->device, automatic, m->weight_bytes, reason, reason_size);
	if (dev < 0 && !automatic)
		return NULL;
	if (dev >= 0) {
		struct backend *be = backend_vk_init(dev);
		if (be && upload_model(be, m) == 0)
			return be;
		if (!automatic) {
			backend_free(be);
			return NULL;
		}
		snprintf(reason, reason_size, "Vulkan failed (%s); using the CPU", error_message());
		backend_free(be);
	}
#else
	if (!automatic) {
		error("this nibble was built without Vulkan (see ./configure --with-vulkan)");
		return NULL;
	}
	snprintf(reason, reason_size, "built without Vulkan");
#endif
	return backend_cpu_init(threads);
}
