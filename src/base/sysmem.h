/* sysmem.h - how much memory the machine can give nibble now. */
#ifndef NIBBLE_SYSMEM_H
#define NIBBLE_SYSMEM_H

#include <stdint.h>

/* Bytes of RAM and swap available now (MemAvailable + SwapFree), within
 * this process's cgroup memory limit, if any; 0 when unknown. */
uint64_t sysmem_available(void);

#endif
