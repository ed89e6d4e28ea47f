// The lockstep shim: randomness — the session's ChaCha20 stream for getrandom and
// the random devices.
#include "shim.h"

/* Guards this process's random stream (its threads share it). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* This process's random stream: ChaCha20 block counter, and the pid it belongs to. */
static pid_t stream_pid;
static uint64_t block_counter;
static uint8_t leftover[64];
static size_t leftover_len;

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

/* A forked child: the lock may have been held by a thread the child does not have. */
void random_forked(void) {
  pthread_mutex_init(&lock, NULL);
}

/* Fills `buf` from this process's stream (a forked child starts a stream of its own). */
void random_fill(uint8_t *buf, size_t len) {
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

/* ---- /dev/urandom and /dev/random ---- */

/* Descriptors open on a random device (a bit each; a descriptor past the map reads the
   real device). A marked descriptor is checked to still be one before each read: a
   descriptor closed where the shim does not see it (fclose) may be reused. */
#define RANDOM_FDS 4096
static volatile uint8_t random_fds[RANDOM_FDS / 8];

int is_random_device(const char *path) {
  return path && (strcmp(path, "/dev/urandom") == 0 || strcmp(path, "/dev/random") == 0);
}

void mark_random(int fd, int on) {
  if (fd < 0 || fd >= RANDOM_FDS) return;
  if (on) __atomic_or_fetch(&random_fds[fd / 8], (uint8_t)(1u << (fd % 8)), __ATOMIC_RELAXED);
  else __atomic_and_fetch(&random_fds[fd / 8], (uint8_t)~(1u << (fd % 8)), __ATOMIC_RELAXED);
}

int random_fd(int fd) {
  if (fd < 0 || fd >= RANDOM_FDS || !((random_fds[fd / 8] >> (fd % 8)) & 1)) return 0;
  struct stat st;
  /* /dev/random is char 1:8, /dev/urandom 1:9. */
  if (kernel_fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_rdev == makedev(1, 8) || st.st_rdev == makedev(1, 9))) return 1;
  mark_random(fd, 0);
  return 0;
}

/* A descriptor just opened: a random device's is marked, any other's number forgets what it was. */
/* A stdio stream over a random device: fopen's own reads bypass read(2)'s symbol. */
static ssize_t cookie_read(void *cookie, char *buf, size_t len) {
  (void)cookie;
  random_fill((uint8_t *)buf, len);
  return (ssize_t)len;
}

FILE *random_stream(const char *mode) {
  if (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+')) return NULL;
  cookie_io_functions_t io = {.read = cookie_read, .write = NULL, .seek = NULL, .close = NULL};
  return fopencookie(NULL, mode, io);
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

