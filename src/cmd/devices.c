/* cmd_devices.c - `nibble devices`: every Vulkan device and the CPU, what
 * they can do, and which one --backend auto would take. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "quant/quant.h"
#include "base/util.h"
#ifdef HAVE_VULKAN
#include "backend/vulkan_device.h"
#endif

static const char devices_usage[] =
	"Usage: nibble devices\n"
	"List the Vulkan devices (name, type, driver, memory, subgroup size and\n"
	"shuffles, fp16 and int8 support) and the CPU (model, cores, vector\n"
	"features), and say which one --backend auto uses and why a device would\n"
	"not be used.\n"
	"\n"
	"  -h, --help           show this help\n";

/* The "model name" line of /proc/cpuinfo, or "unknown". */
static void cpu_model(char *out, size_t size)
{
	snprintf(out, size, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) || !colon)
			continue;
		colon += 2;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, size, "%s", colon);
		break;
	}
	fclose(f);
}

static void print_cpu(void)
{
	char model[256];
	cpu_model(model, sizeof model);
	printf("CPU: %s\n", model);
	printf("     cores: %d physical, %ld logical\n", cpu_physical_cores(), sysconf(_SC_NPROCESSORS_ONLN));
#if defined(__x86_64__) || defined(__i386__)
	const char *names[] = { "AVX2", "FMA", "F16C", "AVX-512F", "AVX-512 VNNI" };
	int on[] = { __builtin_cpu_supports("avx2"), __builtin_cpu_supports("fma"), __builtin_cpu_supports("f16c"),
		     __builtin_cpu_supports("avx512f"), __builtin_cpu_supports("avx512vnni") };
	printf("     features:");
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		printf("%s %s%s", i ? "," : "", on[i] ? "" : "no ", names[i]);
	putchar('\n');
#endif
	printf("     kernels: %s\n", quant_kernels_name());
}

int cmd_devices(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(devices_usage, stdout);
			return EXIT_OK;
		}
		return cli_bad_option("devices", argv, optopt, opt == ':');
	}
	if (optind < argc)
		return cli_usage("devices", "unexpected argument '%s'", argv[optind]);

	char auto_pick[512] = "the CPU";
#ifdef HAVE_VULKAN
	struct vk_device_info *d;
	int n = vk_list_devices(&d);
	if (n < 0)
		printf("Vulkan: %s\n", error_message());
	else if (n == 0)
		printf("Vulkan: no devices\n");
	for (int i = 0; i < n; i++) {
		char mem[32];
		printf("Vulkan device %d: %s\n", i, d[i].name);
		printf("     type: %s; driver: %s; Vulkan %u.%u\n", d[i].type, d[i].driver,
		       VK_API_VERSION_MAJOR(d[i].api_version), VK_API_VERSION_MINOR(d[i].api_version));
		printf("     memory: %s; subgroup size: %u, shuffles: %s; fp16: %s; int8: %s\n",
		       format_bytes(d[i].memory, mem, sizeof mem), d[i].subgroup_size,
		       d[i].subgroup_shuffle ? "yes" : "no", d[i].fp16 ? "yes" : "no", d[i].int8 ? "yes" : "no");
		if (d[i].unusable[0])
			printf("     not used: %s\n", d[i].unusable);
		else if (!d[i].hardware)
			printf("     used only with --backend vulkan: a software rasterizer is slower than the CPU "
			       "backend\n");
	}
	int best = n > 0 ? vk_best_device(d, n) : -1;
	if (best >= 0 && d[best].hardware)
		snprintf(auto_pick, sizeof auto_pick, "Vulkan device %d (%s) for models that fit in its memory, "
			 "otherwise the CPU", best, d[best].name);
	free(d);
#else
	printf("Vulkan: not in this build (see ./configure --with-vulkan)\n");
#endif
	print_cpu();
	printf("--backend auto uses %s\n", auto_pick);
	return EXIT_OK;
}
