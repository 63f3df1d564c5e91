/*
 * checksum.h - CRC-32C (Castagnoli), the checksum of every snapshot.
 *
 * Chosen because it detects all burst errors up to 32 bits and is what
 * storage systems (ext4, iSCSI, RocksDB) use for the same job.
 */
#ifndef SM_CHECKSUM_H
#define SM_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* sm_crc32c extends crc (0 to start) with len bytes at data: with the
 * CPU's crc32 instruction where there is one (x86-64 with SSE4.2, checked
 * once at run time), else with sm_crc32c_table. */
uint32_t sm_crc32c(uint32_t crc, const void *data, size_t len);

/* sm_crc32c_table: the same checksum, portable (slicing-by-8 tables). */
uint32_t sm_crc32c_table(uint32_t crc, const void *data, size_t len);

#endif
