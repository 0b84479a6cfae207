/* k-th call fault injection for libfiu's POSIX preload (fiu_posix_preload.so): libfiu has
   no "fail the k-th call" switch, so this registers an external policy that counts calls
   of one point across the whole process tree (a counter in a shared file) and fails the
   k-th (once) or the k-th and every later one (persistently).
   Environment: KTH_POINT (e.g. posix/io/rw/write), KTH_K (0: only count), KTH_ERRNO,
   KTH_PERSIST (1/0), KTH_COUNTER (a file of 16 bytes: calls, faults injected),
   KTH_ONLY (if set, count only in processes whose name starts with it, e.g. "git"). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int external_cb_t(const char *name, int *failnum, void **failinfo, unsigned int *flags);
int fiu_init(unsigned int flags);
int fiu_enable_external(const char *name, int failnum, void *failinfo, unsigned int flags,
                        external_cb_t *external_cb);

static long *counter;
static long k;
static int persist;

static int policy(const char *name, int *failnum, void **failinfo, unsigned int *flags) {
    (void)name; (void)failnum; (void)failinfo; (void)flags;
    long n = __atomic_add_fetch(&counter[0], 1, __ATOMIC_SEQ_CST);
    if (k > 0 && (n == k || (persist && n > k))) {
        __atomic_add_fetch(&counter[1], 1, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}

__attribute__((constructor)) static void kth_init(void) {
    const char *point = getenv("KTH_POINT"), *path = getenv("KTH_COUNTER");
    const char *only = getenv("KTH_ONLY");
    if (!point || !path) return;
    if (only && *only && strncmp(program_invocation_short_name, only, strlen(only)) != 0) return;
    int fd = open(path, O_RDWR);
    if (fd < 0) return;
    counter = mmap(NULL, 2 * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (counter == MAP_FAILED) return;
    k = atol(getenv("KTH_K") ? getenv("KTH_K") : "0");
    persist = getenv("KTH_PERSIST") && atoi(getenv("KTH_PERSIST"));
    long err = atol(getenv("KTH_ERRNO") ? getenv("KTH_ERRNO") : "5");
    fiu_init(0);
    fiu_enable_external(point, 1, (void *)err, 0, policy);
}
