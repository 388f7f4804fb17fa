/* vk.h - the Vulkan device layer under the Vulkan backend: finding
 * devices and saying what they can do, opening one with a compute queue,
 * buffers in device or host memory, compute pipelines from the embedded
 * SPIR-V (with a pipeline cache on disk), and one command buffer that ops
 * are recorded into and submitted at sync. */
#ifndef NIBBLE_VK_H
#define NIBBLE_VK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

/* What `nibble devices` shows of one physical device. */
struct vk_device_info {
	char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
	const char *type; /* "discrete GPU", "integrated GPU", "virtual GPU", "CPU (software)", "other" */
	char driver[2 * VK_MAX_DRIVER_NAME_SIZE]; /* driver name and version */
	uint32_t vendor_id, device_id, driver_version, api_version;
	uint64_t memory;  /* bytes in device-local heaps */
	uint32_t subgroup_size;
	bool subgroup_shuffle; /* compute shaders may shuffle within full subgroups */
	bool fp16, int8;  /* shaderFloat16, shaderInt8 */
	bool hardware;    /* a GPU, not a software rasterizer */
	uint64_t max_buffer_range;  /* largest storage buffer one binding sees */
	char unusable[160]; /* why nibble cannot use it; "" when it can */
};

/* Every Vulkan device, in the loader's order, into *out (free() it).
 * Returns the count, or -1 with error() when there is no Vulkan loader or
 * instance. */
int vk_list_devices(struct vk_device_info **out);
/* The usable device to prefer among d[0..n): discrete over integrated over
 * virtual GPUs over software rasterizers.  -1 when none is usable. */
int vk_best_device(const struct vk_device_info *d, int n);

/* A buffer with its own memory; map is non-NULL for host-visible ones. */
struct vk_buffer {
	VkBuffer buf;
	VkDeviceMemory mem;
	VkDeviceSize size;
	VkDeviceSize alloc_size; /* device memory it holds (0: host-visible) */
	void *map;
};

/* Shader modules embedded in the binary, one per shaders/NAME.comp. */
enum vk_shader {
	VK_SHADER_MATMUL,
	VK_SHADER_MATMUL_SUBGROUP,
	VK_SHADER_MATMUL_TILED,
	VK_SHADER_GET_ROWS,
	VK_SHADER_RMS_NORM,
	VK_SHADER_ROPE,
	VK_SHADER_KV_STORE,
	VK_SHADER_ATTENTION,
	VK_SHADER_SWIGLU,
	VK_SHADER_ADD,
	VK_SHADER_COUNT
};

/* Storage buffers every pipeline's one descriptor set has. */
#define VK_BINDINGS 5
/* Bytes of push constants every pipeline may take. */
#define VK_PUSH_BYTES 64

/* A buffer range bound to one binding. */
struct vk_binding {
	VkBuffer buf;
	VkDeviceSize offset, range;
};

struct vk_set_cache;

struct vk {
	struct vk_device_info info;
	VkPhysicalDevice phys;
	VkDevice dev;
	VkQueue queue;
	uint32_t queue_family;
	VkPhysicalDeviceMemoryProperties mem_props;
	VkDeviceSize offset_align; /* minStorageBufferOffsetAlignment */
	uint32_t max_groups[3];    /* maxComputeWorkGroupCount */
	uint32_t wg;               /* threads per workgroup */
	uint32_t wide_wg;          /* for shaders that loop over long rows */
	bool subgroup_sum;         /* matmuls add up through subgroup shuffles */
	uint32_t per_row;          /* threads per weight row in decode matmuls */
	VkCommandPool cmd_pool;
	VkCommandBuffer cmd;
	bool recording;
	VkFence fence;
	VkDescriptorSetLayout set_layout;
	VkPipelineLayout pipeline_layout;
	VkPipelineCache pipeline_cache;
	char *cache_path;
	bool cache_dirty;
	struct vk_set_cache *sets;
	VkPipeline pipelines[VK_SHADER_COUNT][40]; /* [shader][ggml type], made on first use */
	struct vk_buffer dummy; /* bound to the bindings a shader does not use */
	uint64_t device_bytes;  /* in device-local buffers now */
	bool failed;            /* an op could not be recorded; vk_submit says why */
	char failure[256];
};

/* Opens device `index` of vk_list_devices().  0, or -1 with error(). */
int vk_open(struct vk *vk, int index);
/* Waits for the device, saves the pipeline cache, frees everything. */
void vk_close(struct vk *vk);

/* A buffer of `size` bytes in device-local memory, or in host-visible
 * memory (mapped) when host is set.  0, or -1 with error(). */
int vk_buffer_init(struct vk *vk, struct vk_buffer *b, VkDeviceSize size, bool host);
void vk_buffer_free(struct vk *vk, struct vk_buffer *b);

/* The pipeline of shader s for weight type `type` (0 for shaders that take
 * none), compiled on first use.  VK_NULL_HANDLE with error() on failure. */
VkPipeline vk_pipeline(struct vk *vk, enum vk_shader s, uint32_t type);

/* Records a dispatch of pipeline p with these bindings (missing ones get
 * a dummy buffer) and push constants, then a barrier so the next op sees
 * its writes. */
void vk_dispatch(struct vk *vk, VkPipeline p, const struct vk_binding bind[VK_BINDINGS], const void *push,
		 size_t push_size, uint32_t gx, uint32_t gy, uint32_t gz);
/* Records a buffer copy, then a barrier. */
void vk_copy(struct vk *vk, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
	     VkDeviceSize size);
/* Marks the commands being recorded as failed, with error_message() as
 * the reason vk_submit gives. */
void vk_op_failed(struct vk *vk);
/* Submits what was recorded and waits for it.  0, or -1 with error(),
 * also when an op failed (nothing is submitted then). */
int vk_submit(struct vk *vk);

#endif
