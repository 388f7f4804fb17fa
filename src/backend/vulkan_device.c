/* vk.c - Vulkan instance, devices, memory, pipelines and command
 * recording for the Vulkan backend (see vk.h). */
#include "config.h"

#include "backend/vulkan_device.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* The SPIR-V of each shader, made by glslc from shaders/NAME.comp. */
static const uint32_t spv_matmul[] =
#include "shaders/matmul.inc"
	;
static const uint32_t spv_matmul_subgroup[] =
#include "shaders/matmul_subgroup.inc"
	;
static const uint32_t spv_matmul_tiled[] =
#include "shaders/matmul_tiled.inc"
	;
static const uint32_t spv_get_rows[] =
#include "shaders/get_rows.inc"
	;
static const uint32_t spv_rms_norm[] =
#include "shaders/rms_norm.inc"
	;
static const uint32_t spv_rope[] =
#include "shaders/rope.inc"
	;
static const uint32_t spv_kv_store[] =
#include "shaders/kv_store.inc"
	;
static const uint32_t spv_attention[] =
#include "shaders/attention.inc"
	;
static const uint32_t spv_swiglu[] =
#include "shaders/swiglu.inc"
	;
static const uint32_t spv_add[] =
#include "shaders/add.inc"
	;

static const struct {
	const uint32_t *code;
	size_t size;
	uint32_t wg; /* threads per workgroup when the shader fixes it */
	bool wide;   /* takes the device's wide workgroups */
} shaders[VK_SHADER_COUNT] = {
	[VK_SHADER_MATMUL] = { spv_matmul, sizeof spv_matmul },
	[VK_SHADER_MATMUL_SUBGROUP] = { spv_matmul_subgroup, sizeof spv_matmul_subgroup },
	[VK_SHADER_MATMUL_TILED] = { spv_matmul_tiled, sizeof spv_matmul_tiled, 64 },
	[VK_SHADER_GET_ROWS] = { spv_get_rows, sizeof spv_get_rows },
	[VK_SHADER_RMS_NORM] = { spv_rms_norm, sizeof spv_rms_norm },
	[VK_SHADER_ROPE] = { spv_rope, sizeof spv_rope },
	[VK_SHADER_KV_STORE] = { spv_kv_store, sizeof spv_kv_store },
	[VK_SHADER_ATTENTION] = { spv_attention, sizeof spv_attention, .wide = true },
	[VK_SHADER_SWIGLU] = { spv_swiglu, sizeof spv_swiglu },
	[VK_SHADER_ADD] = { spv_add, sizeof spv_add },
};

static const char *vk_result_name(VkResult r)
{
	switch (r) {
	case VK_ERROR_OUT_OF_HOST_MEMORY:
		return "out of host memory";
	case VK_ERROR_OUT_OF_DEVICE_MEMORY:
		return "out of device memory";
	case VK_ERROR_INITIALIZATION_FAILED:
		return "initialization failed";
	case VK_ERROR_DEVICE_LOST:
		return "device lost";
	case VK_ERROR_INCOMPATIBLE_DRIVER:
		return "no compatible Vulkan driver";
	case VK_ERROR_TOO_MANY_OBJECTS:
		return "too many objects";
	case VK_ERROR_FEATURE_NOT_PRESENT:
		return "feature not present";
	case VK_ERROR_EXTENSION_NOT_PRESENT:
		return "extension not present";
	default:
		return "error";
	}
}

static int vk_fail(const char *what, VkResult r)
{
	return error("Vulkan: %s: %s (%d)", what, vk_result_name(r), (int)r);
}

/* One instance serves the process, made on first use and never destroyed:
 * listing the devices to choose one and then opening it need not load the
 * drivers twice, and destroying it would unload drivers whose own static
 * buffers then show up as leaks (lavapipe's do) while saving little. */
static VkInstance instance;
static VkResult instance_result;
static pthread_once_t instance_once = PTHREAD_ONCE_INIT;

static void instance_create(void)
{
	VkApplicationInfo app = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "nibble",
		.applicationVersion = 1,
		.pEngineName = "nibble",
		/* 1.1 is needed; 1.3 devices also get full subgroups */
		.apiVersion = VK_API_VERSION_1_3,
	};
	VkInstanceCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
	instance_result = vkCreateInstance(&ci, NULL, &instance);
}

/* The process's instance; NULL with error(). */
static VkInstance instance_get(void)
{
	pthread_once(&instance_once, instance_create);
	if (instance_result != VK_SUCCESS) {
		vk_fail("cannot create an instance", instance_result);
		return VK_NULL_HANDLE;
	}
	return instance;
}

static const char *type_name(VkPhysicalDeviceType t)
{
	switch (t) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
		return "discrete GPU";
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
		return "integrated GPU";
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
		return "virtual GPU";
	case VK_PHYSICAL_DEVICE_TYPE_CPU:
		return "CPU (software)";
	default:
		return "other";
	}
}

static int compute_queue_family(VkPhysicalDevice pd)
{
	uint32_t n = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
	VkQueueFamilyProperties *q = xcalloc(n ? n : 1, sizeof *q);
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
	int found = -1;
	/* a compute-only family first: it often runs beside graphics work */
	for (uint32_t i = 0; i < n && found < 0; i++)
		if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
			found = (int)i;
	for (uint32_t i = 0; i < n && found < 0; i++)
		if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
			found = (int)i;
	free(q);
	return found;
}

static void describe(VkPhysicalDevice pd, struct vk_device_info *d)
{
	VkPhysicalDeviceDriverProperties driver = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES };
	VkPhysicalDeviceSubgroupProperties sub = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
						   .pNext = &driver };
	VkPhysicalDeviceProperties2 p = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub };
	VkPhysicalDeviceProperties base;
	vkGetPhysicalDeviceProperties(pd, &base);
	bool has_driver_props = base.apiVersion >= VK_API_VERSION_1_2;
	if (!has_driver_props)
		sub.pNext = NULL;
	vkGetPhysicalDeviceProperties2(pd, &p);

	VkPhysicalDeviceSubgroupSizeControlFeatures size_control = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES
	};
	VkPhysicalDeviceShaderFloat16Int8Features f16 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
		.pNext = base.apiVersion >= VK_API_VERSION_1_3 ? &size_control : NULL
	};
	VkPhysicalDeviceFeatures2 f = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
					.pNext = has_driver_props ? &f16 : NULL };
	vkGetPhysicalDeviceFeatures2(pd, &f);

	memset(d, 0, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", p.properties.deviceName);
	d->type = type_name(p.properties.deviceType);
	d->hardware = p.properties.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU &&
		      p.properties.deviceType != VK_PHYSICAL_DEVICE_TYPE_OTHER;
	if (has_driver_props)
		snprintf(d->driver, sizeof d->driver, "%s %s", driver.driverName, driver.driverInfo);
	else
		snprintf(d->driver, sizeof d->driver, "version %u", p.properties.driverVersion);
	d->vendor_id = p.properties.vendorID;
	d->device_id = p.properties.deviceID;
	d->driver_version = p.properties.driverVersion;
	d->api_version = p.properties.apiVersion;
	d->subgroup_size = sub.subgroupSize;
	/* shuffles need every lane of a weight row in one subgroup, which only
	 * full subgroups (Vulkan 1.3) promise */
	d->subgroup_shuffle = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
			      (sub.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) &&
			      size_control.computeFullSubgroups;
	d->fp16 = f16.shaderFloat16;
	d->int8 = f16.shaderInt8;
	d->max_buffer_range = p.properties.limits.maxStorageBufferRange;

	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(pd, &mp);
	for (uint32_t i = 0; i < mp.memoryHeapCount; i++)
		if (mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
			d->memory += mp.memoryHeaps[i].size;

	if (compute_queue_family(pd) < 0)
		snprintf(d->unusable, sizeof d->unusable, "it has no compute queue");
	else if (p.properties.apiVersion < VK_API_VERSION_1_1)
		snprintf(d->unusable, sizeof d->unusable, "it supports only Vulkan %u.%u (1.1 is needed)",
			 VK_API_VERSION_MAJOR(p.properties.apiVersion), VK_API_VERSION_MINOR(p.properties.apiVersion));
	else if (p.properties.limits.maxComputeWorkGroupInvocations < 64 ||
		 p.properties.limits.maxComputeSharedMemorySize < 8 * 64 * sizeof(float))
		snprintf(d->unusable, sizeof d->unusable, "its compute workgroups are too small");
}

int vk_list_devices(struct vk_device_info **out)
{
	VkInstance inst = instance_get();
	*out = NULL;
	if (!inst)
		return -1;
	uint32_t n = 0;
	VkResult r = vkEnumeratePhysicalDevices(inst, &n, NULL);
	if (r != VK_SUCCESS)
		return vk_fail("cannot list devices", r);
	VkPhysicalDevice *pd = xcalloc(n ? n : 1, sizeof *pd);
	vkEnumeratePhysicalDevices(inst, &n, pd);
	*out = xcalloc(n ? n : 1, sizeof **out);
	for (uint32_t i = 0; i < n; i++)
		describe(pd[i], &(*out)[i]);
	free(pd);
	return (int)n;
}

static int rank(const struct vk_device_info *d)
{
	if (d->unusable[0])
		return 0;
	if (!strcmp(d->type, "discrete GPU"))
		return 4;
	if (!strcmp(d->type, "integrated GPU"))
		return 3;
	return d->hardware ? 2 : 1;
}

int vk_best_device(const struct vk_device_info *d, int n)
{
	int best = -1;
	for (int i = 0; i < n; i++)
		if (rank(&d[i]) > (best < 0 ? 0 : rank(&d[best])))
			best = i;
	return best;
}

/* ---- descriptor sets, one per distinct set of bindings ------------------ */

struct set_entry {
	struct vk_binding key[VK_BINDINGS];
	VkDescriptorSet set;
};

struct vk_set_cache {
	struct set_entry *slots; /* open addressing; set == VK_NULL_HANDLE: empty */
	size_t cap, used;
	VkDescriptorPool *pools;
	size_t n_pools;
	uint32_t left; /* sets left in the last pool */
};

#define SETS_PER_POOL 256

static uint64_t binding_hash(const struct vk_binding *b)
{
	uint64_t h = 1469598103934665603ull;
	for (int i = 0; i < VK_BINDINGS; i++) {
		h = (h ^ (uint64_t)(uintptr_t)b[i].buf) * 1099511628211ull;
		h = (h ^ b[i].offset) * 1099511628211ull;
		h = (h ^ b[i].range) * 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static int set_alloc(struct vk *vk, VkDescriptorSet *out)
{
	struct vk_set_cache *c = vk->sets;
	if (c->left == 0) {
		VkDescriptorPoolSize size = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * VK_BINDINGS };
		VkDescriptorPoolCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
						  .maxSets = SETS_PER_POOL,
						  .poolSizeCount = 1,
						  .pPoolSizes = &size };
		VkDescriptorPool pool;
		VkResult r = vkCreateDescriptorPool(vk->dev, &ci, NULL, &pool);
		if (r != VK_SUCCESS)
			return vk_fail("cannot create a descriptor pool", r);
		c->pools = xrealloc(c->pools, (c->n_pools + 1) * sizeof *c->pools);
		c->pools[c->n_pools++] = pool;
		c->left = SETS_PER_POOL;
	}
	VkDescriptorSetAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
					   .descriptorPool = c->pools[c->n_pools - 1],
					   .descriptorSetCount = 1,
					   .pSetLayouts = &vk->set_layout };
	VkResult r = vkAllocateDescriptorSets(vk->dev, &ai, out);
	if (r != VK_SUCCESS)
		return vk_fail("cannot allocate a descriptor set", r);
	c->left--;
	return 0;
}

static void set_cache_grow(struct vk_set_cache *c)
{
	size_t cap = c->cap ? 2 * c->cap : 256;
	struct set_entry *slots = xcalloc(cap, sizeof *slots);
	for (size_t i = 0; i < c->cap; i++) {
		if (c->slots[i].set == VK_NULL_HANDLE)
			continue;
		size_t j = binding_hash(c->slots[i].key) & (cap - 1);
		while (slots[j].set != VK_NULL_HANDLE)
			j = (j + 1) & (cap - 1);
		slots[j] = c->slots[i];
	}
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
}

/* Forgets every descriptor set when one binds buffer buf, which is about
 * to go: a new buffer may get the same handle, and must not find a set
 * that points at the old one.  What was recorded runs first. */
static void set_cache_drop(struct vk *vk, VkBuffer buf)
{
	struct vk_set_cache *c = vk->sets;
	bool used = false;
	for (size_t i = 0; i < c->cap && !used; i++)
		for (int k = 0; k < VK_BINDINGS && c->slots[i].set != VK_NULL_HANDLE; k++)
			used |= c->slots[i].key[k].buf == buf;
	if (!used)
		return;
	if (vk->recording)
		(void)vk_submit(vk); /* a failure shows at the next sync */
	for (size_t i = 0; i < c->n_pools; i++)
		vkDestroyDescriptorPool(vk->dev, c->pools[i], NULL);
	c->n_pools = 0;
	c->left = 0;
	memset(c->slots, 0, c->cap * sizeof *c->slots);
	c->used = 0;
}

/* The descriptor set with these bindings: written once, then reused by
 * every step that binds the same buffers. */
static VkDescriptorSet set_for(struct vk *vk, const struct vk_binding key[VK_BINDINGS])
{
	struct vk_set_cache *c = vk->sets;
	if (2 * (c->used + 1) > c->cap)
		set_cache_grow(c);
	size_t j = binding_hash(key) & (c->cap - 1);
	for (; c->slots[j].set != VK_NULL_HANDLE; j = (j + 1) & (c->cap - 1))
		if (!memcmp(c->slots[j].key, key, sizeof c->slots[j].key))
			return c->slots[j].set;
	VkDescriptorSet set;
	if (set_alloc(vk, &set) < 0)
		return VK_NULL_HANDLE;
	VkDescriptorBufferInfo info[VK_BINDINGS];
	VkWriteDescriptorSet w[VK_BINDINGS];
	for (int i = 0; i < VK_BINDINGS; i++) {
		info[i] = (VkDescriptorBufferInfo){ key[i].buf, key[i].offset, key[i].range };
		w[i] = (VkWriteDescriptorSet){ .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
					       .dstSet = set,
					       .dstBinding = (uint32_t)i,
					       .descriptorCount = 1,
					       .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
					       .pBufferInfo = &info[i] };
	}
	vkUpdateDescriptorSets(vk->dev, VK_BINDINGS, w, 0, NULL);
	memcpy(c->slots[j].key, key, sizeof c->slots[j].key);
	c->slots[j].set = set;
	c->used++;
	return set;
}

/* ---- opening a device ----------------------------------------------------- */

static void cache_load(struct vk *vk)
{
	char name[96];
	snprintf(name, sizeof name, "pipelines-%04x-%04x-%08x-%s.bin", vk->info.vendor_id, vk->info.device_id,
		 vk->info.driver_version, PACKAGE_VERSION);
	vk->cache_path = xdg_path("XDG_CACHE_HOME", ".cache", name, true);
	size_t len = 0;
	char *data = vk->cache_path ? read_file(vk->cache_path, &len) : NULL;
	VkPipelineCacheCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
					 .initialDataSize = data ? len : 0,
					 .pInitialData = data };
	/* a cache the driver rejects (another driver wrote it) starts empty */
	if (vkCreatePipelineCache(vk->dev, &ci, NULL, &vk->pipeline_cache) != VK_SUCCESS) {
		ci.initialDataSize = 0;
		ci.pInitialData = NULL;
		if (vkCreatePipelineCache(vk->dev, &ci, NULL, &vk->pipeline_cache) != VK_SUCCESS)
			vk->pipeline_cache = VK_NULL_HANDLE;
	}
	free(data);
}

static void cache_save(struct vk *vk)
{
	size_t len = 0;
	if (!vk->cache_dirty || !vk->cache_path || vk->pipeline_cache == VK_NULL_HANDLE ||
	    vkGetPipelineCacheData(vk->dev, vk->pipeline_cache, &len, NULL) != VK_SUCCESS || len == 0)
		return;
	void *data = xmalloc(len);
	/* a cache that cannot be saved only costs the next start some time */
	if (vkGetPipelineCacheData(vk->dev, vk->pipeline_cache, &len, data) == VK_SUCCESS)
		(void)write_file_atomic(vk->cache_path, data, len);
	free(data);
}

int vk_open(struct vk *vk, int index)
{
	memset(vk, 0, sizeof *vk);
	VkInstance inst = instance_get();
	if (!inst)
		return -1;
	uint32_t n = 0;
	vkEnumeratePhysicalDevices(inst, &n, NULL);
	if (index < 0 || (uint32_t)index >= n) {
		vk_close(vk);
		return error("Vulkan: no device %d (%u found)", index, n);
	}
	VkPhysicalDevice *pd = xcalloc(n, sizeof *pd);
	vkEnumeratePhysicalDevices(inst, &n, pd);
	vk->phys = pd[index];
	free(pd);
	describe(vk->phys, &vk->info);
	if (vk->info.unusable[0]) {
		error("Vulkan: cannot use %s: %s", vk->info.name, vk->info.unusable);
		vk_close(vk);
		return -1;
	}

	VkPhysicalDeviceProperties props;
	vkGetPhysicalDeviceProperties(vk->phys, &props);
	vk->offset_align = props.limits.minStorageBufferOffsetAlignment;
	memcpy(vk->max_groups, props.limits.maxComputeWorkGroupCount, sizeof vk->max_groups);
	/* 64 threads fill a subgroup of 32 (NVIDIA, Intel) or 64 (AMD) and two
	 * of 8 (lavapipe); wider subgroups get one workgroup each.  Shaders
	 * need a power of two, a multiple of 16. */
	vk->wg = vk->info.subgroup_size > 64 && vk->info.subgroup_size <= 1024 &&
				 !(vk->info.subgroup_size & (vk->info.subgroup_size - 1)) ?
			 vk->info.subgroup_size :
			 64;
	/* A GPU runs a wide workgroup's threads side by side; a CPU (lavapipe)
	 * loops over them, idle or not.  The limit is at least 128. */
	vk->wide_wg = vk->wg;
	while (vk->info.hardware && vk->wide_wg < 256 && vk->wide_wg * 2 <= props.limits.maxComputeWorkGroupInvocations)
		vk->wide_wg *= 2;
	/* NIBBLE_VK_NO_SUBGROUPS=1 takes the shared-memory sums instead, to
	 * test them on a device with shuffles or to avoid a driver's bugs */
	uint32_t sg = vk->info.subgroup_size;
	const char *no_subgroups = getenv("NIBBLE_VK_NO_SUBGROUPS");
	vk->subgroup_sum = vk->info.subgroup_shuffle && sg >= 8 && !(sg & (sg - 1)) && vk->wg % sg == 0 &&
			   !(no_subgroups && *no_subgroups && strcmp(no_subgroups, "0"));
	vk->per_row = vk->subgroup_sum && sg < 16 ? sg : 16;
	vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->mem_props);
	vk->queue_family = (uint32_t)compute_queue_family(vk->phys);

	float priority = 1.0f;
	VkDeviceQueueCreateInfo qci = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
					.queueFamilyIndex = vk->queue_family,
					.queueCount = 1,
					.pQueuePriorities = &priority };
	VkPhysicalDeviceSubgroupSizeControlFeatures full_subgroups = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES,
		.computeFullSubgroups = VK_TRUE
	};
	VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				   .pNext = vk->subgroup_sum ? &full_subgroups : NULL,
				   .queueCreateInfoCount = 1,
				   .pQueueCreateInfos = &qci };
	VkResult r = vkCreateDevice(vk->phys, &dci, NULL, &vk->dev);
	if (r != VK_SUCCESS) {
		vk_close(vk);
		return vk_fail("cannot create the device", r);
	}
	vkGetDeviceQueue(vk->dev, vk->queue_family, 0, &vk->queue);

	VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
					.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
					.queueFamilyIndex = vk->queue_family };
	VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
	if ((r = vkCreateCommandPool(vk->dev, &pci, NULL, &vk->cmd_pool)) != VK_SUCCESS ||
	    (r = vkCreateFence(vk->dev, &fci, NULL, &vk->fence)) != VK_SUCCESS) {
		vk_close(vk);
		return vk_fail("cannot create a command pool", r);
	}
	VkCommandBufferAllocateInfo cai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
					    .commandPool = vk->cmd_pool,
					    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
					    .commandBufferCount = 1 };
	if ((r = vkAllocateCommandBuffers(vk->dev, &cai, &vk->cmd)) != VK_SUCCESS) {
		vk_close(vk);
		return vk_fail("cannot allocate a command buffer", r);
	}

	VkDescriptorSetLayoutBinding b[VK_BINDINGS];
	for (uint32_t i = 0; i < VK_BINDINGS; i++)
		b[i] = (VkDescriptorSetLayoutBinding){ .binding = i,
						       .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
						       .descriptorCount = 1,
						       .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT };
	VkDescriptorSetLayoutCreateInfo lci = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
						.bindingCount = VK_BINDINGS,
						.pBindings = b };
	VkPushConstantRange push = { VK_SHADER_STAGE_COMPUTE_BIT, 0, VK_PUSH_BYTES };
	if ((r = vkCreateDescriptorSetLayout(vk->dev, &lci, NULL, &vk->set_layout)) != VK_SUCCESS) {
		vk_close(vk);
		return vk_fail("cannot create a descriptor set layout", r);
	}
	VkPipelineLayoutCreateInfo plci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
					    .setLayoutCount = 1,
					    .pSetLayouts = &vk->set_layout,
					    .pushConstantRangeCount = 1,
					    .pPushConstantRanges = &push };
	if ((r = vkCreatePipelineLayout(vk->dev, &plci, NULL, &vk->pipeline_layout)) != VK_SUCCESS) {
		vk_close(vk);
		return vk_fail("cannot create a pipeline layout", r);
	}
	vk->sets = xcalloc(1, sizeof *vk->sets);
	cache_load(vk);
	if (vk_buffer_init(vk, &vk->dummy, 256, false) < 0) {
		vk_close(vk);
		return -1;
	}
	return 0;
}

void vk_close(struct vk *vk)
{
	if (vk->dev) {
		vkDeviceWaitIdle(vk->dev);
		cache_save(vk);
		vk_buffer_free(vk, &vk->dummy);
		for (int s = 0; s < VK_SHADER_COUNT; s++)
			for (size_t t = 0; t < ARRAY_LEN(vk->pipelines[s]); t++)
				if (vk->pipelines[s][t])
					vkDestroyPipeline(vk->dev, vk->pipelines[s][t], NULL);
		if (vk->sets) {
			for (size_t i = 0; i < vk->sets->n_pools; i++)
				vkDestroyDescriptorPool(vk->dev, vk->sets->pools[i], NULL);
			free(vk->sets->pools);
			free(vk->sets->slots);
			free(vk->sets);
		}
		if (vk->pipeline_cache)
			vkDestroyPipelineCache(vk->dev, vk->pipeline_cache, NULL);
		if (vk->pipeline_layout)
			vkDestroyPipelineLayout(vk->dev, vk->pipeline_layout, NULL);
		if (vk->set_layout)
			vkDestroyDescriptorSetLayout(vk->dev, vk->set_layout, NULL);
		if (vk->fence)
			vkDestroyFence(vk->dev, vk->fence, NULL);
		if (vk->cmd_pool)
			vkDestroyCommandPool(vk->dev, vk->cmd_pool, NULL);
		vkDestroyDevice(vk->dev, NULL);
	}
	free(vk->cache_path);
	memset(vk, 0, sizeof *vk);
}

/* ---- memory ------------------------------------------------------------------ */

static int memory_type(const struct vk *vk, uint32_t bits, VkMemoryPropertyFlags want)
{
	for (uint32_t i = 0; i < vk->mem_props.memoryTypeCount; i++)
		if ((bits & (1u << i)) && (vk->mem_props.memoryTypes[i].propertyFlags & want) == want)
			return (int)i;
	return -1;
}

int vk_buffer_init(struct vk *vk, struct vk_buffer *b, VkDeviceSize size, bool host)
{
	memset(b, 0, sizeof *b);
	/* whole 32-bit words: shaders read every buffer as words */
	size = (size + 15) / 16 * 16;
	VkBufferCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				  .size = size,
				  .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
					   VK_BUFFER_USAGE_TRANSFER_DST_BIT,
				  .sharingMode = VK_SHARING_MODE_EXCLUSIVE };
	VkResult r = vkCreateBuffer(vk->dev, &ci, NULL, &b->buf);
	if (r != VK_SUCCESS)
		return vk_fail("cannot create a buffer", r);
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(vk->dev, b->buf, &req);
	int type = host ? memory_type(vk, req.memoryTypeBits,
				      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
			: memory_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
	if (type < 0 && !host)
		type = memory_type(vk, req.memoryTypeBits, 0);
	if (type < 0) {
		vk_buffer_free(vk, b);
		return error("Vulkan: no memory type for a %s buffer", host ? "host-visible" : "device");
	}
	VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				    .allocationSize = req.size,
				    .memoryTypeIndex = (uint32_t)type };
	r = vkAllocateMemory(vk->dev, &ai, NULL, &b->mem);
	if (r != VK_SUCCESS) {
		char sz[32];
		vk_buffer_free(vk, b);
		return error("Vulkan: cannot allocate %s of %s memory: %s", format_bytes(req.size, sz, sizeof sz),
			     host ? "host-visible" : "device", vk_result_name(r));
	}
	vkBindBufferMemory(vk->dev, b->buf, b->mem, 0);
	if (!host)
		vk->device_bytes += req.size;
	if (host && (r = vkMapMemory(vk->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map)) != VK_SUCCESS) {
		vk_buffer_free(vk, b);
		return vk_fail("cannot map a buffer", r);
	}
	b->size = size;
	b->alloc_size = host ? 0 : req.size;
	return 0;
}

void vk_buffer_free(struct vk *vk, struct vk_buffer *b)
{
	if (b->buf && vk->sets)
		set_cache_drop(vk, b->buf);
	if (b->map)
		vkUnmapMemory(vk->dev, b->mem);
	else if (b->mem)
		vk->device_bytes -= b->alloc_size;
	if (b->buf)
		vkDestroyBuffer(vk->dev, b->buf, NULL);
	if (b->mem)
		vkFreeMemory(vk->dev, b->mem, NULL);
	memset(b, 0, sizeof *b);
}

/* ---- pipelines and commands ---------------------------------------------------- */

VkPipeline vk_pipeline(struct vk *vk, enum vk_shader s, uint32_t type)
{
	if (type >= ARRAY_LEN(vk->pipelines[s])) {
		error("Vulkan: no shader for type %u", type);
		return VK_NULL_HANDLE;
	}
	if (vk->pipelines[s][type])
		return vk->pipelines[s][type];
	VkShaderModuleCreateInfo mci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
					 .codeSize = shaders[s].size,
					 .pCode = shaders[s].code };
	VkShaderModule mod;
	VkResult r = vkCreateShaderModule(vk->dev, &mci, NULL, &mod);
	if (r != VK_SUCCESS) {
		vk_fail("cannot load a shader", r);
		return VK_NULL_HANDLE;
	}
	/* constant 0: threads per workgroup; 1: the weight type; 2: threads
	 * per weight row in decode matmuls */
	uint32_t spec[3] = { shaders[s].wg ? shaders[s].wg : shaders[s].wide ? vk->wide_wg : vk->wg, type, vk->per_row };
	VkSpecializationMapEntry map[3] = { { 0, 0, sizeof(uint32_t) },
					    { 1, sizeof(uint32_t), sizeof(uint32_t) },
					    { 2, 2 * sizeof(uint32_t), sizeof(uint32_t) } };
	VkSpecializationInfo si = { 3, map, sizeof spec, spec };
	VkComputePipelineCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
			   .flags = s == VK_SHADER_MATMUL_SUBGROUP ?
					    VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT :
					    0,
			   .stage = VK_SHADER_STAGE_COMPUTE_BIT,
			   .module = mod,
			   .pName = "main",
			   .pSpecializationInfo = &si },
		.layout = vk->pipeline_layout,
	};
	VkPipeline p = VK_NULL_HANDLE;
	r = vkCreateComputePipelines(vk->dev, vk->pipeline_cache, 1, &ci, NULL, &p);
	vkDestroyShaderModule(vk->dev, mod, NULL);
	if (r != VK_SUCCESS) {
		vk_fail("cannot create a compute pipeline", r);
		return VK_NULL_HANDLE;
	}
	vk->pipelines[s][type] = p;
	vk->cache_dirty = true;
	return p;
}

static void begin(struct vk *vk)
{
	if (vk->recording)
		return;
	VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
					.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
	vkBeginCommandBuffer(vk->cmd, &bi);
	vk->recording = true;
}

/* Everything written before is visible to what comes after. */
static void barrier(struct vk *vk)
{
	VkMemoryBarrier mb = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
			       .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
			       .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
						VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
						VK_ACCESS_HOST_READ_BIT };
	VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
	vkCmdPipelineBarrier(vk->cmd, stages, stages | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

void vk_dispatch(struct vk *vk, VkPipeline p, const struct vk_binding bind[VK_BINDINGS], const void *push,
		 size_t push_size, uint32_t gx, uint32_t gy, uint32_t gz)
{
	struct vk_binding key[VK_BINDINGS];
	for (int i = 0; i < VK_BINDINGS; i++)
		key[i] = bind[i].buf ? bind[i] : (struct vk_binding){ vk->dummy.buf, 0, VK_WHOLE_SIZE };
	VkDescriptorSet set = p ? set_for(vk, key) : VK_NULL_HANDLE;
	if (set == VK_NULL_HANDLE)
		return vk_op_failed(vk);
	if (gx == 0 || gy == 0 || gz == 0)
		return;
	begin(vk);
	vkCmdBindPipeline(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p);
	vkCmdBindDescriptorSets(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vk->pipeline_layout, 0, 1, &set, 0, NULL);
	vkCmdPushConstants(vk->cmd, vk->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, (uint32_t)push_size, push);
	vkCmdDispatch(vk->cmd, gx, gy, gz);
	barrier(vk);
}

void vk_copy(struct vk *vk, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
	     VkDeviceSize size)
{
	begin(vk);
	VkBufferCopy region = { src_off, dst_off, size };
	vkCmdCopyBuffer(vk->cmd, src, dst, 1, &region);
	barrier(vk);
}

void vk_op_failed(struct vk *vk)
{
	if (!vk->failed)
		snprintf(vk->failure, sizeof vk->failure, "%s", error_message());
	vk->failed = true;
}

int vk_submit(struct vk *vk)
{
	bool recording = vk->recording;
	vk->recording = false;
	VkResult r = recording ? vkEndCommandBuffer(vk->cmd) : VK_SUCCESS;
	if (vk->failed) {
		vk->failed = false;
		vkResetCommandBuffer(vk->cmd, 0);
		return error("%s", vk->failure);
	}
	if (!recording)
		return 0;
	if (r != VK_SUCCESS)
		return vk_fail("cannot record commands", r);
	VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &vk->cmd };
	if ((r = vkQueueSubmit(vk->queue, 1, &si, vk->fence)) != VK_SUCCESS)
		return vk_fail("cannot submit commands", r);
	r = vkWaitForFences(vk->dev, 1, &vk->fence, VK_TRUE, UINT64_MAX);
	vkResetFences(vk->dev, 1, &vk->fence);
	vkResetCommandBuffer(vk->cmd, 0);
	if (r != VK_SUCCESS)
		return vk_fail("waiting for the device", r);
	return 0;
}
