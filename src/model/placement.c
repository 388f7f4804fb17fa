/* backend_choose.c - where a context's layers run, and why: the CPU, a
 * Vulkan device with the model's weights copied to it, or (partial
 * offload) the first layers on the device and the rest on the CPU.  The
 * reason is shown to the user (status bar, -v, /stats, bench), so a
 * fallback is never silent. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/backend.h"
#include "model/context.h"
#include "quant/quant.h"
#include "base/sysmem.h"
#include "base/util.h"
#ifdef HAVE_VULKAN
#include "backend/vulkan_device.h"
#endif

/* The weight matrices of layer il. */
static void layer_weights(const struct model *m, uint32_t il, const struct weight *w[7])
{
	const struct layer *l = &m->layers[il];
	const struct weight *all[7] = { &l->wq, &l->wk, &l->wv, &l->wo, &l->ffn_gate, &l->ffn_up, &l->ffn_down };
	memcpy(w, all, sizeof all);
}

/* Copies to a backend that wants them the weights its stage uses: its
 * layers', the embedding on the first stage, the output on the last. */
static int upload_stage(const struct stage *st, const struct model *m)
{
	struct backend *be = st->be;
	const struct backend_ops *op = be->ops;
	int64_t n_embd = m->hp.n_embd;
	if (!op->upload_weight)
		return 0;
	if (st->first == 0 && op->upload_weight(be, &m->tok_embd) < 0)
		return -1;
	if (st->first + st->n_layers == m->hp.n_layer &&
	    (op->upload_weight(be, &m->output) < 0 || op->upload_vector(be, m->output_norm, n_embd) < 0))
		return -1;
	for (uint32_t il = st->first; il < st->first + st->n_layers; il++) {
		const struct weight *w[7];
		layer_weights(m, il, w);
		for (size_t i = 0; i < ARRAY_LEN(w); i++)
			if (op->upload_weight(be, w[i]) < 0)
				return -1;
		if (op->upload_vector(be, m->layers[il].attn_norm, n_embd) < 0 ||
		    op->upload_vector(be, m->layers[il].ffn_norm, n_embd) < 0)
			return -1;
	}
	return 0;
}

const char *context_backend_warning(const struct context *ctx, char *buf, size_t size)
{
	if (!ctx->be->cpu_types[0])
		return NULL;
	snprintf(buf, size, "the %s shaders of %s gave wrong results in their self-test on this driver; those "
		 "matrices run on the CPU (slower)", ctx->be->cpu_types, ctx->be->description);
	return buf;
}

#ifdef HAVE_VULKAN
/* The device `want` names (an index or part of its name), or the best one.
 * -1 with error() when none; under auto also -1 for a software device,
 * with the reason in reason. */
static int pick_device(const char *want, bool automatic, struct vk_device_info *info, char *reason,
		       size_t reason_size)
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
	} else if (best < 0 && automatic) {
		snprintf(reason, reason_size, "%s", error_message());
	}
	if (best >= 0)
		*info = d[best];
	free(d);
	return best;
}

/* How many layers (from the first) fit in `memory` bytes with their KV
 * cache, the embedding, and the output when all of them fit. */
static uint32_t layers_that_fit(const struct model *m, uint32_t n_ctx, uint64_t memory)
{
	const struct hparams *hp = &m->hp;
	/* a margin for activations, scratch and the driver */
	uint64_t budget = memory / 10 * 9, used = quant_row_bytes(m->tok_embd.type, hp->n_embd) * hp->n_vocab;
	uint64_t kv = model_kv_bytes(m, n_ctx) / (hp->n_layer ? hp->n_layer : 1);
	uint32_t n = 0;
	for (; n < hp->n_layer; n++) {
		const struct weight *w[7];
		layer_weights(m, n, w);
		uint64_t bytes = kv;
		for (int i = 0; i < 7; i++)
			bytes += w[i]->row_bytes * (uint64_t)w[i]->n_out;
		if (used + bytes > budget)
			break;
		used += bytes;
	}
	if (n == hp->n_layer && !m->tied_output &&
	    used + m->output.row_bytes * (uint64_t)m->output.n_out > budget)
		n--;
	return n;
}

/* Layers [0, n) on Vulkan device dev, in stage[0].  Under auto, a device
 * that runs out of memory gets half as many layers until none.  Returns the
 * layers placed, or -1 with error(). */
static int offload(int dev, uint32_t n, bool retry, const struct model *m, struct stage *st)
{
	for (;;) {
		*st = (struct stage){ .be = backend_vk_init(dev), .first = 0, .n_layers = n };
		if (!st->be)
			return -1;
		if (upload_stage(st, m) == 0)
			return (int)n;
		backend_free(st->be);
		st->be = NULL;
		if (!retry || n <= 1)
			return -1;
		n /= 2;
	}
}
#endif

/* Everything on the CPU, in stage[0]. */
static int cpu_only(int threads, const struct model *m, struct stage stage[2])
{
	stage[0] = (struct stage){ .be = backend_cpu_init(threads), .first = 0, .n_layers = m->hp.n_layer };
	return stage[0].be ? 1 : -1;
}

int backend_plan(const struct context_params *p, const struct model *m, uint32_t n_ctx, struct backend_plan *plan,
		 char *reason, size_t reason_size)
{
	const char *want = p->backend ? p->backend : "auto";
	bool automatic = !strcmp(want, "auto");
	*plan = (struct backend_plan){ .device = -1 };
	snprintf(reason, reason_size, "--backend %s", want);
	if (!strcmp(want, "cpu") || p->gpu_layers == GPU_LAYERS_NONE) {
		if (p->gpu_layers == GPU_LAYERS_NONE)
			snprintf(reason, reason_size, "--gpu-layers 0");
		return 0;
	}
#ifdef HAVE_VULKAN
	struct vk_device_info info;
	int dev = pick_device(p->device, automatic, &info, reason, reason_size);
	if (dev < 0)
		return automatic ? 0 : -1;
	uint32_t n = p->gpu_layers > 0 ? (uint32_t)p->gpu_layers : layers_that_fit(m, n_ctx, info.memory);
	if (n > m->hp.n_layer)
		n = m->hp.n_layer;
	if (n == 0) {
		char a[32], b[32];
		error("not one layer of the model fits in %s's %s", info.name, format_bytes(info.memory, b, sizeof b));
		if (!automatic)
			return -1;
		snprintf(reason, reason_size, "the model (%s) does not fit in %s's %s",
			 format_bytes(m->weight_bytes, a, sizeof a), info.name, b);
		return 0;
	}
	*plan = (struct backend_plan){ .device = dev, .gpu_layers = n, .memory = info.memory };
	snprintf(plan->device_name, sizeof plan->device_name, "%s", info.name);
	return 0;
#else
	if (!automatic)
		return error("this nibble was built without Vulkan (see ./configure --with-vulkan)");
	snprintf(reason, reason_size, "built without Vulkan");
	return 0;
#endif
}

/* Whether this machine's RAM and swap hold what the CPU keeps of m when
 * the first gpu_layers layers are on a GPU: the other layers' weights and
 * KV cache.  Refuses (with error()) a model that cannot fit unless
 * p->force, rather than let the machine swap to a standstill or the
 * kernel kill nibble mid-reply. */
static int host_fits(const struct context_params *p, const struct model *m, uint32_t n_ctx, uint32_t gpu_layers)
{
	uint64_t available = sysmem_available();
	uint32_t n_layer = m->hp.n_layer ? m->hp.n_layer : 1, on_cpu = n_layer - (gpu_layers < n_layer ? gpu_layers : n_layer);
	uint64_t weights = gpu_layers ? m->weight_bytes / n_layer * on_cpu : m->weight_bytes;
	uint64_t kv = model_kv_bytes(m, n_ctx) / n_layer * on_cpu;
	if (p->force || !available || weights + kv <= available)
		return 0;
	char need[32], w[32], k[32], have[32];
	return error("the model needs %s of memory (%s of weights, %s of KV cache for %u tokens), and %s is "
		     "available; try a smaller quant or --ctx-size, or --force",
		     format_bytes(weights + kv, need, sizeof need), format_bytes(weights, w, sizeof w),
		     format_bytes(kv, k, sizeof k), n_ctx, format_bytes(available, have, sizeof have));
}

int context_memory_check(const struct context_params *p, const struct model *m, uint32_t n_ctx)
{
	struct backend_plan plan;
	char reason[200];
	/* a plan that fails is reported when the context is made */
	if (backend_plan(p, m, n_ctx, &plan, reason, sizeof reason) < 0)
		return 0;
	return host_fits(p, m, n_ctx, plan.device < 0 ? 0 : plan.gpu_layers);
}

int backend_choose(const struct context_params *p, const struct model *m, uint32_t n_ctx, struct stage stage[2],
		   char *reason, size_t reason_size)
{
	int threads = p->n_threads > 0 ? p->n_threads : cpu_physical_cores();
	uint32_t n_layer = m->hp.n_layer;
	struct backend_plan plan;
	if (backend_plan(p, m, n_ctx, &plan, reason, reason_size) < 0 ||
	    host_fits(p, m, n_ctx, plan.device < 0 ? 0 : plan.gpu_layers) < 0)
		return -1;
	if (plan.device < 0)
		return cpu_only(threads, m, stage);
#ifdef HAVE_VULKAN
	bool automatic = !p->backend || !strcmp(p->backend, "auto");
	int placed = offload(plan.device, plan.gpu_layers, p->gpu_layers == GPU_LAYERS_AUTO, m, &stage[0]);
	if (placed < 0) {
		if (!automatic)
			return -1;
		snprintf(reason, reason_size, "Vulkan failed (%s); using the CPU", error_message());
		if (host_fits(p, m, n_ctx, 0) < 0)
			return -1;
		return cpu_only(threads, m, stage);
	}
	if ((uint32_t)placed < n_layer) {
		if ((uint32_t)placed < plan.gpu_layers && host_fits(p, m, n_ctx, (uint32_t)placed) < 0) {
			backend_free(stage[0].be);
			return -1;
		}
		size_t len = strlen(reason);
		snprintf(reason + len, reason_size - len, "%s%d of %u layers on the GPU, the rest on the CPU",
			 len ? "; " : "", placed, n_layer);
		stage[1] = (struct stage){ .be = backend_cpu_init(threads), .first = (uint32_t)placed,
					   .n_layers = n_layer - (uint32_t)placed };
		if (!stage[1].be) {
			backend_free(stage[0].be);
			return -1;
		}
		return 2;
	}
#endif
	return 1;
}
