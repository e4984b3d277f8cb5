/* fuzz_util.h - shared by the libFuzzer targets of fuzz/ (docs/FUZZING.md).
 *
 * Readers that take a path get the input through a memory file
 * (memfd_create) named /proc/self/fd/N: no disk traffic, nothing left
 * behind, and one file reused for every input. */
#ifndef BENCH_FUZZ_UTIL_H
#define BENCH_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memory file holding exactly data[0, size): its path in path[pathsz]
 * (valid for the process's life). The file is created on the first call of
 * each slot (0..3) and rewritten by later ones. Aborts on failure: a broken
 * harness must not look like a clean run. */
static inline const char *fuzz_memfile(int slot, const uint8_t *data, size_t size, char *path,
                                       size_t pathsz)
{
    static int fds[4] = {-1, -1, -1, -1};
    if (slot < 0 || slot > 3)
        abort();
    if (fds[slot] < 0 && (fds[slot] = memfd_create("fuzz-input", MFD_CLOEXEC)) < 0)
        abort();
    int fd = fds[slot];
    if (ftruncate(fd, 0) != 0)
        abort();
    for (size_t off = 0; off < size;) {
        ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    snprintf(path, pathsz, "/proc/self/fd/%d", fd);
    return path;
}

/* Abort unless s holds a NUL within its size bytes. */
static inline void fuzz_check_str(const char *s, size_t size)
{
    size_t i = 0;
    while (i < size && s[i])
        i++;
    if (i == size)
        abort();
}

#endif
