/* fuzz_mmap.h - see fuzz_mmap.c: mappings of one file become heap copies. */
#ifndef NIBBLE_FUZZ_MMAP_H
#define NIBBLE_FUZZ_MMAP_H

/* From now on, read-only mappings of the file open as fd (by device and
 * inode, so other descriptors of it count too) are heap copies. */
void fuzz_mmap_copy_file(int fd);

#endif
