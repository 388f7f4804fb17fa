/* backends.h - the backends a test runs on: the CPU always, Vulkan when
 * this build has it and a device exists.  With NIBBLE_REQUIRE_VULKAN=1 (as
 * CI sets, where lavapipe is installed) a missing device is a failure
 * instead of a skip. */
#ifndef NIBBLE_TEST_BACKENDS_H
#define NIBBLE_TEST_BACKENDS_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#ifdef HAVE_VULKAN
#include "backend/vulkan_device.h"
#endif

/* Whether Vulkan tests can run; says why not (a TAP failure when it is
 * required, a note otherwise). */
static inline bool vulkan_testable(void)
{
	const char *req = getenv("NIBBLE_REQUIRE_VULKAN");
	bool required = req && !strcmp(req, "1");
	const char *why = NULL;
#ifdef HAVE_VULKAN
	struct vk_device_info *d = NULL;
	int n = vk_list_devices(&d);
	free(d);
	if (n <= 0)
		why = "no Vulkan device";
#else
	why = "built without Vulkan";
#endif
	if (!why)
		return true;
	if (required)
		ok(false, "Vulkan is required (NIBBLE_REQUIRE_VULKAN=1) but: %s", why);
	else
		skip(why);
	return false;
}

#endif
