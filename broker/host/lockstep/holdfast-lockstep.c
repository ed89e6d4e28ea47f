// Holdfast's lockstep shim, preloaded (LD_PRELOAD) into every process of a lockstep
// session's sandbox: it makes what an app reads of the wall clock and of randomness
// the same on every replica of the session, so replicas stay in step.
//
// Time: the wall clock an app reads (clock_gettime of CLOCK_REALTIME and its coarse
// and TAI kin, gettimeofday, time, timespec_get) is the time of the last log entry
// the host applied to this replica — stamped by the primary when it took the entry,
// and replicated with it — plus one microsecond for each read this process made since
// that entry. The host writes it into a shared file (the "clock") before it writes the
// entry's bytes to the app, so an app woken by input reads the same time on every
// replica. Reads more than WINDOW_US after the host set the clock (an app's own timers,
// not an answer to input) see the entry's time plus the time elapsed since: a timer
// keeps firing, at most WINDOW_US late after input, and such reads are not replicated.
//
// Randomness: getrandom, getentropy and syscall(SYS_getrandom) give ChaCha20 output
// under the session's 256-bit key (chosen by the primary, in the clock file), with a
// nonce made of the process id (pids are the same on every replica: each sandbox has
// its own pid namespace and its processes fork in the same order).
//
// Not covered (docs/cluster.md): monotonic clocks (left real: kernel waits take
// absolute deadlines on them), statically linked programs, direct vDSO calls or
// syscalls for the clock, rdtsc, /dev/urandom, glibc-internal getrandom (arc4random),
// file timestamps, and timing-dependent behaviour (timeouts, threads, signals).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The clock file, as the host writes it (broker/host/lockstep-clock.ts):
   [0,8) magic, [8,40) key, [40,64) the clock: {time: µs since the epoch; set: the
   host's CLOCK_MONOTONIC in µs when it wrote it; check: time ^ set ^ CHECK}, written
   by the host in one write; a read that catches it half-written fails the check and
   reads again. */
#define CLOCK_MAGIC 0x335453484f4c4448ULL /* "HDLOHST3" little-endian */
#define CHECK 0x6b636f6c6b636f6cULL
#define CLOCK_SIZE 64
/* How long after the host set the clock a read still counts as an answer to input. */
#define WINDOW_US 2000000LL

struct clock_file {
  uint64_t magic;
  uint8_t key[32];
  volatile int64_t time_us;
  volatile int64_t set_us;
  volatile uint64_t check;
};

static const struct clock_file *clock_map;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* This process's reads since the entry time changed, and the last time it returned. */
static int64_t seen_entry = INT64_MIN;
static int64_t reads;
static int64_t last_returned = INT64_MIN;

/* This process's random stream: ChaCha20 block counter, and the pid it belongs to. */
static pid_t stream_pid;
static uint64_t block_counter;
static uint8_t leftover[64];
static size_t leftover_len;

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int (*real_gettimeofday)(struct timeval *restrict, void *restrict);

static void init(void) {
  real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  real_gettimeofday = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
  const char *path = getenv("HOLDFAST_LOCKSTEP_CLOCK");
  if (!path) return;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  void *map = mmap(NULL, CLOCK_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return;
  if (((const struct clock_file *)map)->magic != CLOCK_MAGIC) {
    munmap(map, CLOCK_SIZE);
    return;
  }
  clock_map = (const struct clock_file *)map;
}

static int active(void) {
  pthread_once(&once, init);
  return clock_map != NULL;
}

/* The clock as the host last wrote it, whole. */
static void current_clock(int64_t *time_us, int64_t *set_us) {
  for (;;) {
    int64_t t = clock_map->time_us;
    int64_t s = clock_map->set_us;
    uint64_t c = clock_map->check;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (((uint64_t)t ^ (uint64_t)s ^ CHECK) == c) {
      *time_us = t;
      *set_us = s;
      return;
    }
  }
}

/* The virtual wall clock, in microseconds since the epoch. */
static int64_t virtual_now(void) {
  int64_t t, set_us;
  struct timespec mono;
  if (real_clock_gettime) real_clock_gettime(CLOCK_MONOTONIC, &mono);
  else syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &mono);
  pthread_mutex_lock(&lock);
  current_clock(&t, &set_us);
  if (t != seen_entry) {
    seen_entry = t;
    reads = 0;
  }
  int64_t elapsed_us = (int64_t)mono.tv_sec * 1000000LL + mono.tv_nsec / 1000 - set_us;
  int64_t now = elapsed_us < WINDOW_US ? t + reads++ : t + elapsed_us;
  if (now <= last_returned) now = last_returned + 1;
  last_returned = now;
  pthread_mutex_unlock(&lock);
  return now;
}

static int is_wall_clock(clockid_t id) {
  return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  if (active() && is_wall_clock(id)) {
    int64_t us = virtual_now();
    ts->tv_sec = us / 1000000;
    ts->tv_nsec = (us % 1000000) * 1000;
    return 0;
  }
  if (real_clock_gettime) return real_clock_gettime(id, ts);
  return (int)syscall(SYS_clock_gettime, id, ts);
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  if (active()) {
    {
      int64_t us = virtual_now();
      tv->tv_sec = us / 1000000;
      tv->tv_usec = us % 1000000;
    }
    if (tz) memset(tz, 0, sizeof(struct timezone));
    return 0;
  }
  if (real_gettimeofday) return real_gettimeofday(tv, tz);
  return (int)syscall(SYS_gettimeofday, tv, tz);
}

time_t time(time_t *out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}

int timespec_get(struct timespec *ts, int base) {
  if (base != TIME_UTC) return 0;
  clock_gettime(CLOCK_REALTIME, ts);
  return base;
}

/* ---- ChaCha20 (RFC 8439), for the random stream ---- */

#define ROTL(a, b) (((a) << (b)) | ((a) >> (32 - (b))))
#define QR(a, b, c, d) \
  (a += b, d ^= a, d = ROTL(d, 16), c += d, b ^= c, b = ROTL(b, 12), a += b, d ^= a, d = ROTL(d, 8), c += d, b ^= c, b = ROTL(b, 7))

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static void chacha20_block(const uint8_t key[32], uint64_t counter, uint32_t nonce, uint8_t out[64]) {
  uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++) in[4 + i] = le32(key + 4 * i);
  in[12] = (uint32_t)counter;
  in[13] = (uint32_t)(counter >> 32);
  in[14] = nonce;
  in[15] = 0x48464c53; /* "SLFH": a fixed word of the nonce */
  uint32_t x[16];
  memcpy(x, in, sizeof x);
  for (int i = 0; i < 10; i++) {
    QR(x[0], x[4], x[8], x[12]);
    QR(x[1], x[5], x[9], x[13]);
    QR(x[2], x[6], x[10], x[14]);
    QR(x[3], x[7], x[11], x[15]);
    QR(x[0], x[5], x[10], x[15]);
    QR(x[1], x[6], x[11], x[12]);
    QR(x[2], x[7], x[8], x[13]);
    QR(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; i++) {
    uint32_t v = x[i] + in[i];
    out[4 * i] = (uint8_t)v;
    out[4 * i + 1] = (uint8_t)(v >> 8);
    out[4 * i + 2] = (uint8_t)(v >> 16);
    out[4 * i + 3] = (uint8_t)(v >> 24);
  }
}

/* Fills `buf` from this process's stream (a forked child starts a stream of its own). */
static void random_fill(uint8_t *buf, size_t len) {
  pthread_mutex_lock(&lock);
  pid_t pid = getpid();
  if (pid != stream_pid) {
    stream_pid = pid;
    block_counter = 0;
    leftover_len = 0;
  }
  while (len > 0) {
    if (leftover_len == 0) {
      chacha20_block(clock_map->key, block_counter++, (uint32_t)pid, leftover);
      leftover_len = sizeof leftover;
    }
    size_t take = len < leftover_len ? len : leftover_len;
    memcpy(buf, leftover + sizeof leftover - leftover_len, take);
    leftover_len -= take;
    buf += take;
    len -= take;
  }
  pthread_mutex_unlock(&lock);
}

ssize_t getrandom(void *buf, size_t len, unsigned int flags) {
  if (active()) {
    random_fill(buf, len);
    return (ssize_t)len;
  }
  return syscall(SYS_getrandom, buf, len, flags);
}

int getentropy(void *buf, size_t len) {
  if (len > 256) {
    errno = EIO;
    return -1;
  }
  return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

/* OpenSSL and others call getrandom through syscall(2). */
long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_getrandom && active()) return getrandom((void *)a[0], (size_t)a[1], (unsigned int)a[2]);
  static long (*real_syscall)(long, ...);
  if (!real_syscall) real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
