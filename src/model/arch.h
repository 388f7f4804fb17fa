/* arch.h - the table of supported model architectures.  Each entry says how
 * its forward pass differs from the common decoder, so a new architecture is
 * a new row (plus whatever op it needs), not a new forward pass. */
#ifndef NIBBLE_ARCH_H
#define NIBBLE_ARCH_H

#include "backend/backend.h"

struct arch {
	const char *name;       /* general.architecture; also the metadata key prefix */
	enum rope_style rope;
};

/* The entry for an architecture name, or NULL when unsupported. */
const struct arch *arch_find(const char *name, size_t len);
/* Comma-separated names of every supported architecture. */
const char *arch_list(void);

#endif
