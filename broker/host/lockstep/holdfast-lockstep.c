// Holdfast's lockstep shim, preloaded (LD_PRELOAD) into every process of a lockstep
// session's sandbox: it makes what an app reads of the clocks and of randomness the
// same on every replica of the session, so replicas stay in step.
//
// Time is logical, per process, and moves only with what is replicated:
//   - each process has its own clock (µs since the epoch). A forked child starts with
//     its parent's; a program that exec(2)s keeps it (through the process table, a
//     shared file of the sandbox, indexed by pid: pids are the same on every replica,
//     each sandbox has its own pid namespace and forks in the same order);
//   - when it reads the person's input from the app's terminal, its clock moves to the
//     time of the log entry those bytes came from — stamped by the primary when it took
//     the entry, and replicated with it. The shim counts the bytes all processes have
//     read of that terminal (in the process table), and the host lists where each
//     entry's bytes end: so the time a read takes does not depend on when the replica
//     happened to apply later entries. Other terminals and sockets (a GUI app's display
//     connection, where its keys and clicks arrive) move it to the last entry applied;
//   - when it sleeps or a wait of its times out (nanosleep, poll, select, epoll_wait,
//     condition variables and semaphores with deadlines), its clock moves on by exactly
//     what it waited: its timers see the time they asked for pass;
//   - a replica that starts after its session (a replacement standby) fast-forwards:
//     a timed wait that ends at or before the clock the primary's process of the same
//     pid had reached, at a log entry this replica has applied too, ends at once (after
//     a look at its descriptors), so the app's own timers catch up in the time it takes
//     to compute them, not the time the primary took; past that clock it waits until
//     the primary's process got there (looking every 20 ms), so it keeps the primary's
//     pace and never times out where the primary's process was woken by input
//     instead. Promotion turns it off (waits then end by real time);
//   - when it reaps a child (wait, waitpid), its clock moves to the child's if later;
//   - each read of a clock moves it on by one microsecond (time never stands still).
// Wall clocks (CLOCK_REALTIME and kin, gettimeofday, time, timespec_get) read it;
// monotonic clocks (CLOCK_MONOTONIC, _RAW, _COARSE, BOOTTIME) read it counted from the
// session's start; CPU-time clocks (clock(), CLOCK_PROCESS/THREAD_CPUTIME_ID) read the
// process's own logical age. Waits with absolute deadlines on these clocks are turned
// into the real waits they mean. Nothing here reads the host's clock to answer an app.
//
// File timestamps: what the app changes (a file written, when it is closed; a
// directory an entry was made in or removed from; a new directory or link) is stamped
// with the changing process's logical time, so `ls -l` and a file manager's panels show
// the same times on every replica; times the app sets are kept.
//
// Randomness: getrandom, getentropy, syscall(SYS_getrandom), and /dev/urandom and
// /dev/random opened with open/openat/fopen give ChaCha20 output under the session's
// 256-bit key (chosen by the primary, in the clock file), with a nonce made of the
// process id.
//
// Not covered (docs/cluster.md): statically linked programs, direct vDSO calls or
// syscalls for the clock, rdtsc, glibc-internal getrandom (arc4random), a random device
// read through a duplicated descriptor, files' change and access times (the kernel's),
// a file looked at between a write and its close, timers that
// signal (alarm, setitimer, timer_create) or use timerfd, and threads whose order
// decides what they read.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <utime.h>
#include <unistd.h>

/* The clock file, as the host writes it (broker/host/lockstep-clock.ts):
   [0,8) magic, [8,40) key, [40,48) the session's start (µs since the epoch),
   [48,64) the app's terminal {st_dev, st_rdev}, [64,72) a hint: an entry number at
   or below the last (written every HINT_EVERY entries), and [96,…) a ring of RING
   entries, entry seq at slot (seq - 1) % RING: {end: bytes of terminal input through
   it; time: µs since the epoch; seq; check: end ^ time ^ seq ^ CHECK}, each written by
   the host in one write, before the entry's bytes reach the app. The last entry is the
   one after which the next slot does not hold seq + 1 (a slot caught half-written
   fails its check: not there yet). [72,80): fast-forward (1: on). After the ring, the
   primary's process clocks: TARGET_SLOTS slots {pid, clock}, a pid's at pid %
   TARGET_SLOTS, raised by the host as this replica reaches the log entries they were
   read at. */
#define CLOCK_MAGIC 0x365453484f4c4448ULL /* "HDLOHST6" little-endian */
#define CHECK 0x6b636f6c6b636f6cULL
#define RING 65536
#define TARGET_SLOTS 65536
#define TARGETS_AT (96 + RING * 32)
#define CLOCK_SIZE (TARGETS_AT + TARGET_SLOTS * 16)

struct ring_entry {
  volatile int64_t end;
  volatile int64_t time_us;
  volatile int64_t seq;
  volatile uint64_t check;
};

struct target {
  volatile int64_t pid;
  volatile int64_t clock_us;
};

struct clock_file {
  uint64_t magic;
  uint8_t key[32];
  int64_t start_us;
  volatile uint64_t terminal_dev;
  volatile uint64_t terminal_rdev;
  volatile int64_t hint;
  volatile int64_t fast_forward;
  uint8_t reserved[16];
  struct ring_entry ring[RING];
  struct target targets[TARGET_SLOTS];
};

/* The process table (HOLDFAST_LOCKSTEP_PROCS, read-write, zeroed by the host):
   PROC_SLOTS slots {pid, clock, reads}, a pid's at pid % PROC_SLOTS. A process keeps
   its clock there, and how many of its microseconds are its own reads of the clock
   since it was forked, so a program it execs, or a parent that reaps it, can read
   them. Slot 0 (no pid is 0) counts the bytes read of the app's terminal (in `clock`)
   and the changes of its mode (in `reads`: see mode_changed). */
#define PROC_SLOTS 65536
struct proc_slot {
  volatile int64_t pid;
  volatile int64_t clock_us;
  volatile int64_t reads;
  int64_t unused;
};

/* Monotonic clocks read the logical clock counted from the session's start, plus this
   (so no app sees a monotonic time of zero, which some treat as unset). */
#define MONOTONIC_BASE_US 1000000000LL

static const struct clock_file *clock_map;
static struct proc_slot *procs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* This process's logical clock, its own reads of it since it was forked, and its value
   when the process began (for CPU time). */
static int64_t now_us;
static int64_t reads;
static int64_t born_us;
static pid_t clock_pid;

static int (*real_clock_gettime)(clockid_t, struct timespec *);

/* The next definition of `name` (libc's), looked up once. */
#define REAL(name) \
  static __typeof__(&name) real_##name; \
  if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

/* This process's random stream: ChaCha20 block counter, and the pid it belongs to. */
static pid_t stream_pid;
static uint64_t block_counter;
static uint8_t leftover[64];
static size_t leftover_len;

/* ---- the clock file, the process table and this process's clock ---- */

static void *map_file(const char *path, size_t size, int writable) {
  if (!path) return NULL;
  int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return NULL;
  void *map = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  return map == MAP_FAILED ? NULL : map;
}

struct last_entry {
  int64_t time_us, end, seq;
};

/* Entry `seq`'s slot, whole and really that entry's (not an older one the ring has
   since passed, nor one caught half-written): 1, else 0. */
static int read_slot(int64_t seq, struct last_entry *out) {
  const struct ring_entry *slot = &clock_map->ring[(seq - 1) % RING];
  struct last_entry e = {slot->time_us, slot->end, slot->seq};
  uint64_t c = slot->check;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  if (e.seq != seq || ((uint64_t)e.end ^ (uint64_t)e.time_us ^ (uint64_t)e.seq ^ CHECK) != c) return 0;
  *out = e;
  return 1;
}

/* The last entry this process found: where the next search starts. */
static int64_t known_seq;

/* The last log entry the host applied. */
static struct last_entry last_entry(void) {
  struct last_entry e = {clock_map->start_us, 0, 0}, next;
  int64_t seq = __atomic_load_n(&known_seq, __ATOMIC_RELAXED);
  int64_t hint = clock_map->hint;
  if (seq < hint || (seq > 0 && !read_slot(seq, &e))) seq = hint;
  if (seq > 0 && !read_slot(seq, &e)) seq = 0, e = (struct last_entry){clock_map->start_us, 0, 0};
  while (read_slot(seq + 1, &next)) {
    e = next;
    seq += 1;
  }
  __atomic_store_n(&known_seq, seq, __ATOMIC_RELAXED);
  return e;
}

static int64_t entry_time(void) { return last_entry().time_us; }

/* The time of the entry whose bytes include the terminal's `count`th input byte: the
   first entry, of those still in the ring, whose bytes end at or after it (ends only
   grow: a binary search). Bytes the terminal consumed itself (an erase in cooked mode)
   are never read, so `count` can lag the host's count: the entry found is then an
   earlier one — on every replica alike. */
static int64_t time_of_byte(int64_t count) {
  struct last_entry last = last_entry();
  if (count > last.end || last.seq == 0) return last.time_us;
  int64_t low = last.seq > RING ? last.seq - RING + 1 : 1, high = last.seq;
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    if (clock_map->ring[(middle - 1) % RING].end >= count) high = middle;
    else low = middle + 1;
  }
  struct last_entry found;
  return low == last.seq || !read_slot(low, &found) ? last.time_us : found.time_us;
}

static struct proc_slot *slot_of(pid_t pid) {
  return procs && pid > 0 ? &procs[pid % PROC_SLOTS] : NULL;
}

/* A pid's slot in the table, or NULL if the table holds none for it. */
static const struct proc_slot *proc_of(pid_t pid) {
  const struct proc_slot *slot = slot_of(pid);
  return slot && __atomic_load_n(&slot->pid, __ATOMIC_ACQUIRE) == pid ? slot : NULL;
}

static void raise_to(volatile int64_t *field, int64_t value) {
  int64_t seen = __atomic_load_n(field, __ATOMIC_RELAXED);
  while (seen < value && !__atomic_compare_exchange_n(field, &seen, value, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
  }
}

/* This process's clock `value`, where a program it execs or its parent finds it (never
   lowered: threads and signal handlers publish concurrently). */
static void publish(int64_t value) {
  struct proc_slot *slot = slot_of(clock_pid);
  if (!slot) return;
  int64_t own = __atomic_load_n(&reads, __ATOMIC_ACQUIRE);
  if (__atomic_load_n(&slot->pid, __ATOMIC_ACQUIRE) != clock_pid) {
    slot->clock_us = value;
    slot->reads = own;
    __atomic_store_n(&slot->pid, (int64_t)clock_pid, __ATOMIC_RELEASE);
    return;
  }
  raise_to(&slot->reads, own);
  raise_to(&slot->clock_us, value);
}

static void after_fork(void) {
  /* The child has its parent's clock (its memory is a copy); it publishes it under its own pid. */
  pthread_mutex_init(&lock, NULL);
  clock_pid = getpid();
  born_us = now_us;
  reads = 0;
  publish(now_us);
}

static void init(void) {
  real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  const struct clock_file *map = map_file(getenv("HOLDFAST_LOCKSTEP_CLOCK"), CLOCK_SIZE, 0);
  if (!map) return;
  if (map->magic != CLOCK_MAGIC) {
    munmap((void *)map, CLOCK_SIZE);
    return;
  }
  procs = map_file(getenv("HOLDFAST_LOCKSTEP_PROCS"), PROC_SLOTS * sizeof(struct proc_slot), 1);
  clock_map = map;
  clock_pid = getpid();
  /* A program exec'd keeps its process's clock; one started by vfork-and-exec (posix_spawn)
     takes its parent's, which waits for the exec; the sandbox's first process takes the
     last entry's time (the session's start: no input is applied before the app started). */
  const struct proc_slot *own = proc_of(clock_pid), *parent = proc_of(getppid());
  int64_t start = own ? own->clock_us : parent ? parent->clock_us : entry_time();
  reads = own ? own->reads : 0;
  now_us = born_us = start;
  pthread_atfork(NULL, NULL, after_fork);
  publish(start);
}

__attribute__((constructor)) static void load(void) { pthread_once(&once, init); }

static int active(void) {
  pthread_once(&once, init);
  return clock_map != NULL;
}

/* The clock is changed with atomics, never a lock: a signal handler (a SIGCHLD handler
   that reaps) may change it while the code it interrupted is changing it too. */

/* A read of the clock: it moves on by a microsecond. */
static int64_t tick(void) {
  __atomic_add_fetch(&reads, 1, __ATOMIC_ACQ_REL);
  int64_t now = __atomic_add_fetch(&now_us, 1, __ATOMIC_ACQ_REL);
  publish(now);
  return now;
}

static int64_t current(void) { return __atomic_load_n(&now_us, __ATOMIC_ACQUIRE); }

static void advance_to(int64_t time_us) {
  int64_t seen = current();
  while (seen < time_us) {
    if (__atomic_compare_exchange_n(&now_us, &seen, time_us, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      publish(time_us);
      return;
    }
  }
}

static void advance_by(int64_t us) {
  if (us <= 0) return;
  publish(__atomic_add_fetch(&now_us, us, __ATOMIC_ACQ_REL));
}

/* ---- clocks ---- */

enum kind { OTHER, WALL, MONOTONIC, CPU };

static enum kind kind_of(clockid_t id) {
  switch (id) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
      return WALL;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
      return MONOTONIC;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      return CPU;
    default:
      return OTHER;
  }
}

/* The logical clock `wall` as a clock of this kind reads it. */
static int64_t as_clock(enum kind kind, int64_t wall) {
  if (kind == MONOTONIC) return wall - clock_map->start_us + MONOTONIC_BASE_US;
  if (kind == CPU) return wall - born_us;
  return wall;
}

static int64_t us_of(const struct timespec *ts) { return (int64_t)ts->tv_sec * 1000000LL + ts->tv_nsec / 1000; }

static struct timespec timespec_of(int64_t us) {
  if (us < 0) us = 0;
  struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
  return ts;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  enum kind kind = active() ? kind_of(id) : OTHER;
  if (kind != OTHER) {
    *ts = timespec_of(as_clock(kind, tick()));
    return 0;
  }
  if (real_clock_gettime) return real_clock_gettime(id, ts);
  return (int)syscall(SYS_clock_gettime, id, ts);
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
  if (active()) {
    int64_t us = tick();
    tv->tv_sec = us / 1000000;
    tv->tv_usec = us % 1000000;
    if (tz) memset(tz, 0, sizeof(struct timezone));
    return 0;
  }
  REAL(gettimeofday);
  return real_gettimeofday(tv, tz);
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

clock_t clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (clock_t)(ts.tv_sec * CLOCKS_PER_SEC + ts.tv_nsec / (1000000000 / CLOCKS_PER_SEC));
}

/* ---- waits: a timeout that runs out moves the clock on by what was waited ---- */

/* The clock the primary's process of this pid had reached, at an entry this replica
   has applied; -1 when this replica does not fast-forward, or knows none for it. */
static int64_t fast_forward_target(void) {
  if (!clock_map->fast_forward) return -1;
  const struct target *t = &clock_map->targets[clock_pid % TARGET_SLOTS];
  int64_t clock = t->clock_us;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  return t->pid == clock_pid ? clock : -1;
}

/* A fast-forwarding replica that has caught up with its primary's process looks again
   this often for the primary's clock to move on. */
#define FOLLOW_SLICE_US 20000

static int64_t real_now_us(void) {
  struct timespec now;
  real_clock_gettime(CLOCK_MONOTONIC, &now);
  return us_of(&now);
}

/* Input the host wrote to the app's terminal that no process has read yet (it may be
   still on its way through the kernel's terminal buffers) — or bytes the terminal
   consumed itself (an erase in cooked mode), which no read ever counts. */
static int input_pending(void) {
  return procs && clock_map->terminal_rdev != 0 && last_entry().end > __atomic_load_n(&procs[0].clock_us, __ATOMIC_ACQUIRE);
}

/* A wait that ends at once while the terminal holds input not read yet looks this long
   for it: written just now, it may not have reached the terminal's reader yet, and on
   the primary it was there (the primary's process read it before timing out here). */
#define PENDING_LOOK_US 5000

/* One real wait of at most `us` (0: only look): >0 or <0 as the call returned (ready,
   or an error such as EINTR), 0 when it timed out. */
typedef int (*wait_once)(void *call, int64_t us);

/* A timed wait of `wait_us` (logical) made of real waits. In a replica that
   fast-forwards, it ends as soon as the primary's process of this pid had got past
   its end (at once when it already had) — and never before: the primary's process
   did not time out there before the input that came next, so neither may this one.
   Otherwise (no fast-forward, no clock known for this pid, or turned off on
   promotion) it waits in real time. Returns what the last real wait returned; *done
   is set when the whole wait ran out (the caller moves the clock on by `wait_us`). */
static int timed_wait(int64_t wait_us, wait_once once, void *call, int *done) {
  *done = 0;
  int64_t end = active() ? current() + wait_us : 0, began = real_now_us();
  for (;;) {
    int64_t target = active() ? fast_forward_target() : -1;
    int64_t slice = target < 0 ? wait_us - (real_now_us() - began) : target >= end ? (input_pending() ? PENDING_LOOK_US : 0) : FOLLOW_SLICE_US;
    if (slice < 0) slice = 0;
    int result = once(call, slice);
    if (result != 0) return result;
    if (target < 0 || target >= end || fast_forward_target() >= end) {
      *done = 1;
      return 0;
    }
  }
}

static int ms_of(int64_t us) { return (int)((us + 999) / 1000); }

struct sleep_call {
  int64_t slept_us;
};

static int sleep_once(void *call, int64_t us) {
  REAL(nanosleep);
  struct timespec request = timespec_of(us), left = {0, 0};
  int result = real_nanosleep(&request, &left);
  ((struct sleep_call *)call)->slept_us += us - (result == 0 ? 0 : us_of(&left));
  return result == 0 ? 0 : -1;
}

/* A sleep of `wait_us`: 0 when it ran out (the clock moved on by it), -1 with errno
   (EINTR) when a signal ended it early, with what was left in `left`. */
static int logical_sleep(int64_t wait_us, struct timespec *left) {
  struct sleep_call call = {0};
  int done;
  int result = timed_wait(wait_us, sleep_once, &call, &done);
  if (done) {
    advance_by(wait_us);
    return 0;
  }
  int saved = errno;
  advance_by(call.slept_us);
  if (left) *left = timespec_of(wait_us - call.slept_us);
  errno = saved;
  return result;
}

int nanosleep(const struct timespec *request, struct timespec *remaining) {
  REAL(nanosleep);
  if (!active() || us_of(request) <= 0) return real_nanosleep(request, remaining);
  return logical_sleep(us_of(request), remaining);
}

int usleep(useconds_t us) {
  struct timespec request = timespec_of(us);
  return nanosleep(&request, NULL);
}

unsigned int sleep(unsigned int seconds) {
  struct timespec request = {.tv_sec = seconds, .tv_nsec = 0}, left = {0, 0};
  if (nanosleep(&request, &left) == 0) return 0;
  return (unsigned int)left.tv_sec + (left.tv_nsec > 0);
}

int clock_nanosleep(clockid_t id, int flags, const struct timespec *request, struct timespec *remaining) {
  REAL(clock_nanosleep);
  enum kind kind = active() ? kind_of(id) : OTHER;
  if (kind != WALL && kind != MONOTONIC) return real_clock_nanosleep(id, flags, request, remaining);
  /* A deadline on the logical clock is a wait of the difference, in real time. */
  int64_t wait = flags & TIMER_ABSTIME ? us_of(request) - as_clock(kind, current()) : us_of(request);
  if (wait <= 0) return 0;
  struct timespec left = {0, 0};
  if (logical_sleep(wait, &left) == 0) return 0;
  if (remaining && !(flags & TIMER_ABSTIME)) *remaining = left;
  return errno;
}

struct poll_call {
  struct pollfd *fds;
  nfds_t count;
  const sigset_t *mask;
};

static int poll_once(void *call, int64_t us) {
  REAL(ppoll);
  struct poll_call *c = call;
  struct timespec timeout = timespec_of(us);
  return real_ppoll(c->fds, c->count, &timeout, c->mask);
}

static int logical_poll(struct pollfd *fds, nfds_t count, int64_t wait_us, const sigset_t *mask) {
  struct poll_call call = {fds, count, mask};
  int done;
  int result = timed_wait(wait_us, poll_once, &call, &done);
  if (done) advance_by(wait_us);
  return result;
}

int poll(struct pollfd *fds, nfds_t count, int timeout_ms) {
  REAL(poll);
  if (timeout_ms <= 0 || !active()) return real_poll(fds, count, timeout_ms);
  return logical_poll(fds, count, (int64_t)timeout_ms * 1000, NULL);
}

int ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout, const sigset_t *mask) {
  REAL(ppoll);
  if (!timeout || us_of(timeout) <= 0 || !active()) return real_ppoll(fds, count, timeout, mask);
  return logical_poll(fds, count, us_of(timeout), mask);
}

struct select_call {
  int count;
  fd_set *sets[3];
  fd_set saved[3];
  const sigset_t *mask;
};

static int select_once(void *call, int64_t us) {
  REAL(pselect);
  struct select_call *c = call;
  /* select clears what is not ready: each slice looks at what was asked. */
  for (int i = 0; i < 3; i++)
    if (c->sets[i]) *c->sets[i] = c->saved[i];
  struct timespec timeout = timespec_of(us);
  return real_pselect(c->count, c->sets[0], c->sets[1], c->sets[2], &timeout, c->mask);
}

static int logical_select(int count, fd_set *readable, fd_set *writable, fd_set *failed, int64_t wait_us, const sigset_t *mask) {
  struct select_call call = {count, {readable, writable, failed}, {{{0}}}, mask};
  for (int i = 0; i < 3; i++)
    if (call.sets[i]) call.saved[i] = *call.sets[i];
  int done;
  int result = timed_wait(wait_us, select_once, &call, &done);
  if (done) advance_by(wait_us);
  return result;
}

int select(int count, fd_set *readable, fd_set *writable, fd_set *failed, struct timeval *timeout) {
  REAL(select);
  int64_t wait = timeout ? (int64_t)timeout->tv_sec * 1000000LL + timeout->tv_usec : -1;
  if (wait <= 0 || !active() || fast_forward_target() < 0) {
    int result = real_select(count, readable, writable, failed, timeout);
    if (result == 0 && wait > 0 && active()) advance_by(wait);
    return result;
  }
  int result = logical_select(count, readable, writable, failed, wait, NULL);
  /* Linux's select leaves the time not waited in `timeout`; a timed-out wait left none. */
  if (result == 0) timeout->tv_sec = timeout->tv_usec = 0;
  return result;
}

int pselect(int count, fd_set *readable, fd_set *writable, fd_set *failed, const struct timespec *timeout, const sigset_t *mask) {
  REAL(pselect);
  if (!timeout || us_of(timeout) <= 0 || !active()) return real_pselect(count, readable, writable, failed, timeout, mask);
  return logical_select(count, readable, writable, failed, us_of(timeout), mask);
}

struct epoll_call {
  int epfd;
  struct epoll_event *events;
  int max;
  const sigset_t *mask;
};

static int epoll_once(void *call, int64_t us) {
  REAL(epoll_pwait);
  struct epoll_call *c = call;
  return real_epoll_pwait(c->epfd, c->events, c->max, ms_of(us), c->mask);
}

static int logical_epoll(int epfd, struct epoll_event *events, int max, int timeout_ms, const sigset_t *mask) {
  struct epoll_call call = {epfd, events, max, mask};
  int done;
  int result = timed_wait((int64_t)timeout_ms * 1000, epoll_once, &call, &done);
  if (done) advance_by((int64_t)timeout_ms * 1000);
  return result;
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms) {
  REAL(epoll_wait);
  if (timeout_ms <= 0 || !active()) return real_epoll_wait(epfd, events, max, timeout_ms);
  return logical_epoll(epfd, events, max, timeout_ms, NULL);
}

int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout_ms, const sigset_t *mask) {
  REAL(epoll_pwait);
  if (timeout_ms <= 0 || !active()) return real_epoll_pwait(epfd, events, max, timeout_ms, mask);
  return logical_epoll(epfd, events, max, timeout_ms, mask);
}

/* A deadline on a logical clock, as the same deadline on the real clock `real` (what the
   kernel waits on), and how long it is from now in logical time. */
static struct timespec real_deadline(enum kind kind, clockid_t real, const struct timespec *deadline, int64_t *wait) {
  *wait = us_of(deadline) - as_clock(kind, current());
  struct timespec now;
  real_clock_gettime(real, &now);
  return timespec_of(us_of(&now) + (*wait > 0 ? *wait : 0));
}

/* glibc keeps a condition variable's clock in bit 1 of __wrefs (since 2.25). */
static clockid_t clock_of_condition(const pthread_cond_t *condition) {
  return condition->__data.__wrefs & 2 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

int pthread_cond_timedwait(pthread_cond_t *restrict condition, pthread_mutex_t *restrict mutex, const struct timespec *restrict deadline) {
  REAL(pthread_cond_timedwait);
  if (!active()) return real_pthread_cond_timedwait(condition, mutex, deadline);
  clockid_t id = clock_of_condition(condition);
  int64_t wait;
  struct timespec real = real_deadline(kind_of(id), id, deadline, &wait);
  int result = real_pthread_cond_timedwait(condition, mutex, &real);
  if (result == ETIMEDOUT) advance_by(wait);
  return result;
}

int pthread_cond_clockwait(pthread_cond_t *restrict condition, pthread_mutex_t *restrict mutex, clockid_t id, const struct timespec *restrict deadline) {
  REAL(pthread_cond_clockwait);
  enum kind kind = active() ? kind_of(id) : OTHER;
  if ((kind != WALL && kind != MONOTONIC)) return real_pthread_cond_clockwait(condition, mutex, id, deadline);
  int64_t wait;
  struct timespec real = real_deadline(kind, CLOCK_MONOTONIC, deadline, &wait);
  int result = real_pthread_cond_clockwait(condition, mutex, CLOCK_MONOTONIC, &real);
  if (result == ETIMEDOUT) advance_by(wait);
  return result;
}

int sem_timedwait(sem_t *restrict semaphore, const struct timespec *restrict deadline) {
  REAL(sem_timedwait);
  if (!active()) return real_sem_timedwait(semaphore, deadline);
  int64_t wait;
  struct timespec real = real_deadline(WALL, CLOCK_REALTIME, deadline, &wait);
  int result = real_sem_timedwait(semaphore, &real);
  if (result != 0 && errno == ETIMEDOUT) advance_by(wait);
  return result;
}

int sem_clockwait(sem_t *restrict semaphore, clockid_t id, const struct timespec *restrict deadline) {
  REAL(sem_clockwait);
  enum kind kind = active() ? kind_of(id) : OTHER;
  if ((kind != WALL && kind != MONOTONIC)) return real_sem_clockwait(semaphore, id, deadline);
  int64_t wait;
  struct timespec real = real_deadline(kind, CLOCK_MONOTONIC, deadline, &wait);
  int result = real_sem_clockwait(semaphore, CLOCK_MONOTONIC, &real);
  if (result != 0 && errno == ETIMEDOUT) advance_by(wait);
  return result;
}

/* ---- a reaped child's clock ----
   A parent that reaps a child takes its clock if later — less the child's own reads
   of it, which say nothing of time passing: `sleep 1; date` shows a second on, and a
   child that only read the clock (seq, date) changes nothing, however early or late
   its parent reaps it. Whether it reaps in a blocking wait or, as a shell's SIGCHLD handler does, with
   WNOHANG before it looks for the child's end, it takes the clock before it goes on:
   the same on every replica. (A background job's end, reaped while the parent is busy
   with other things, can land between two of its clock reads at another point on
   another replica: docs/cluster.md.) */
static pid_t reaped(pid_t pid) {
  if (pid <= 0 || !active()) return pid;
  const struct proc_slot *child = proc_of(pid);
  if (child) advance_to(child->clock_us - child->reads);
  return pid;
}

pid_t waitpid(pid_t pid, int *status, int options) {
  REAL(waitpid);
  return reaped(real_waitpid(pid, status, options));
}

pid_t wait(int *status) {
  REAL(wait);
  return reaped(real_wait(status));
}

pid_t wait3(int *status, int options, struct rusage *usage) {
  REAL(wait3);
  return reaped(real_wait3(status, options, usage));
}

pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage) {
  REAL(wait4);
  return reaped(real_wait4(pid, status, options, usage));
}

int waitid(idtype_t type, id_t id, siginfo_t *info, int options) {
  REAL(waitid);
  int result = real_waitid(type, id, info, options);
  if (result == 0 && info && info->si_pid > 0 && !(options & WNOWAIT)) reaped(info->si_pid);
  return result;
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


/* ---- input: reading a terminal or a socket moves the clock to the last entry's time ---- */

/* What each descriptor is, looked up once: 0 not yet known, TERMINAL the app's
   terminal, INPUT another terminal or a socket, NOT_INPUT anything else. Forgotten when
   the descriptor is closed or replaced. A descriptor past the table is looked up on
   every read. */
#define KNOWN_FDS 4096
enum { UNKNOWN, TERMINAL, INPUT, NOT_INPUT };
static volatile uint8_t fd_kinds[KNOWN_FDS];

static void forget_fd(int fd) {
  if (fd >= 0 && fd < KNOWN_FDS) fd_kinds[fd] = 0;
}

static int kind_of_fd(int fd) {
  if (fd < 0) return NOT_INPUT;
  uint8_t kind = fd < KNOWN_FDS ? fd_kinds[fd] : UNKNOWN;
  if (kind == UNKNOWN) {
    struct stat st;
    if (fstat(fd, &st) != 0) return NOT_INPUT;
    if (S_ISCHR(st.st_mode) && st.st_dev == clock_map->terminal_dev && st.st_rdev == clock_map->terminal_rdev && clock_map->terminal_rdev != 0) kind = TERMINAL;
    else if (S_ISSOCK(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(fd))) kind = INPUT;
    else kind = NOT_INPUT;
    /* The terminal's identity is written just after the app starts: until then, look again. */
    if (fd < KNOWN_FDS && (kind != INPUT || clock_map->terminal_rdev != 0)) fd_kinds[fd] = kind;
  }
  return kind;
}

/* Called after a read of `fd` returned `count` bytes (or characters, or lines: what stdio gave). */
static void read_from(int fd, ssize_t count) {
  if (count <= 0 || !active()) return;
  int kind = kind_of_fd(fd);
  if (kind == TERMINAL && procs) {
    int64_t read_so_far = __atomic_add_fetch(&procs[0].clock_us, (int64_t)count, __ATOMIC_ACQ_REL);
    advance_to(time_of_byte(read_so_far));
  } else if (kind == TERMINAL || kind == INPUT) {
    advance_to(entry_time());
  }
}

/* ---- the terminal's mode: where an app changes how it takes input ---- */

/* The app set its terminal's mode (echo, line editing, …): counted, so the host can
   give a keystroke to a standby's app at the same point of its run as the primary's
   took it. The kernel echoes what arrives while the terminal echoes, and a line editor
   echoes it itself only once it reads: bash's readline restores the terminal's mode
   after Enter, then runs the command; keys that arrive before that change are shown
   once, keys that arrive after it twice (by the kernel, then by readline) — and the
   output an app writes just before the change (the Enter's newline) does not tell the
   two apart. */
static void mode_changed(int fd) {
  if (procs && active() && kind_of_fd(fd) == TERMINAL) __atomic_add_fetch(&procs[0].reads, 1, __ATOMIC_ACQ_REL);
}

int tcsetattr(int fd, int action, const struct termios *mode) {
  REAL(tcsetattr);
  int result = real_tcsetattr(fd, action, mode);
  if (result == 0) mode_changed(fd);
  return result;
}

/* glibc's tcsetattr calls its own ioctl, not this one: a program that sets the mode
   through ioctl itself (TCSETS and kin) is counted here, tcsetattr's callers above. */
int ioctl(int fd, unsigned long request, ...) {
  va_list args;
  va_start(args, request);
  void *argument = va_arg(args, void *);
  va_end(args);
  REAL(ioctl);
  int result = real_ioctl(fd, request, argument);
  if (result == 0 && (request == TCSETS || request == TCSETSW || request == TCSETSF)) mode_changed(fd);
  return result;
}

ssize_t readv(int fd, const struct iovec *iov, int count) {
  REAL(readv);
  ssize_t result = real_readv(fd, iov, count);
  read_from(fd, result);
  return result;
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
  REAL(recv);
  ssize_t result = real_recv(fd, buf, len, flags);
  if (!(flags & MSG_PEEK)) read_from(fd, result);
  return result;
}

ssize_t recvfrom(int fd, void *restrict buf, size_t len, int flags, struct sockaddr *restrict from, socklen_t *restrict fromlen) {
  REAL(recvfrom);
  ssize_t result = real_recvfrom(fd, buf, len, flags, from, fromlen);
  if (!(flags & MSG_PEEK)) read_from(fd, result);
  return result;
}

ssize_t recvmsg(int fd, struct msghdr *message, int flags) {
  REAL(recvmsg);
  ssize_t result = real_recvmsg(fd, message, flags);
  if (!(flags & MSG_PEEK)) read_from(fd, result);
  return result;
}

/* stdio reads a terminal with glibc's own read, which the shim does not see: these are where a program meets it. */
int fgetc(FILE *stream) {
  REAL(fgetc);
  int c = real_fgetc(stream);
  if (c != EOF) read_from(fileno(stream), 1);
  return c;
}

int getc(FILE *stream) {
  REAL(getc);
  int c = real_getc(stream);
  if (c != EOF) read_from(fileno(stream), 1);
  return c;
}

int getchar(void) {
  REAL(getchar);
  int c = real_getchar();
  if (c != EOF) read_from(STDIN_FILENO, 1);
  return c;
}

char *fgets(char *restrict buf, int size, FILE *restrict stream) {
  REAL(fgets);
  char *result = real_fgets(buf, size, stream);
  if (result) read_from(fileno(stream), (ssize_t)strlen(result));
  return result;
}

ssize_t getdelim(char **restrict line, size_t *restrict size, int delimiter, FILE *restrict stream) {
  REAL(getdelim);
  ssize_t result = real_getdelim(line, size, delimiter, stream);
  read_from(fileno(stream), result);
  return result;
}

ssize_t getline(char **restrict line, size_t *restrict size, FILE *restrict stream) {
  return getdelim(line, size, '\n', stream);
}

size_t fread(void *restrict buf, size_t size, size_t count, FILE *restrict stream) {
  REAL(fread);
  size_t result = real_fread(buf, size, count, stream);
  if (result > 0) read_from(fileno(stream), (ssize_t)result);
  return result;
}

/* ---- file timestamps: the logical time, like every other clock the app reads ---- */

/* The kernel stamps a file it changes with the host's clock, which differs on every
   replica (ls -l, mc's panels, a replacement that wrote its files minutes later). So
   the shim stamps what the app changed with the changing process's logical time: a file
   it wrote when it closes it (and at exit, for descriptors a process leaves open), a
   directory when an entry is made or removed in it, a new directory, link or file
   itself; a time the app sets (touch, cp -p) is kept. A time the shim set ends in
   STAMP_NS nanoseconds past the microsecond: one without it was set by the kernel since,
   and is stamped at the next of these points. Not covered: the change time (ctime, which
   only the kernel sets), access times, and a file another process looks at between a
   write and its close. */
#define STAMP_NS 777

/* Whether the shim is on, without starting it: its own start opens and closes files
   (pthread_once would wait on itself). Before the shim has started, nothing is stamped. */
static int started(void) {
  return clock_map != NULL;
}

static int stamped(const struct timespec *time) {
  return time->tv_nsec % 1000 == STAMP_NS;
}

/* The time a change is stamped with: the process's clock, moved on by a microsecond. Not
   counted as a read of the clock (tick): a parent that reaps the process moves past it,
   so what a command changes is older than what its shell changes next. */
static int64_t stamp_time(void) {
  int64_t now = __atomic_add_fetch(&now_us, 1, __ATOMIC_ACQ_REL);
  publish(now);
  return now;
}

static struct timespec stamp_of(int64_t us) {
  struct timespec time = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 + STAMP_NS};
  return time;
}

/* A time the app gives (utimensat and kin): kept, to the microsecond, and marked as set. */
static struct timespec marked(struct timespec time) {
  if (time.tv_nsec == UTIME_NOW) return stamp_of(stamp_time());
  if (time.tv_nsec == UTIME_OMIT) return time;
  time.tv_nsec = time.tv_nsec / 1000 * 1000 + STAMP_NS;
  return time;
}

static int (*real_utimensat_ptr)(int, const char *, const struct timespec *, int);
static int (*real_futimens_ptr)(int, const struct timespec *);

static void load_time_setters(void) {
  if (!real_utimensat_ptr) real_utimensat_ptr = (int (*)(int, const char *, const struct timespec *, int))dlsym(RTLD_NEXT, "utimensat");
  if (!real_futimens_ptr) real_futimens_ptr = (int (*)(int, const struct timespec *))dlsym(RTLD_NEXT, "futimens");
}

static int stampable(const struct stat *st) {
  return (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode)) && !stamped(&st->st_mtim);
}

/* A descriptor open for writing on a file the kernel stamped since: the process's time. */
static void stamp_written(int fd) {
  struct stat st;
  if (fd < 0 || !started() || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || stamped(&st.st_mtim)) return;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) return;
  load_time_setters();
  struct timespec times[2] = {stamp_of(stamp_time()), {0, 0}};
  times[1] = times[0];
  real_futimens_ptr(fd, times);
}

static void stamp_path(int dir, const char *path, int flags) {
  struct stat st;
  if (!path || !*path || fstatat(dir, path, &st, flags) != 0 || !stampable(&st)) return;
  load_time_setters();
  struct timespec times[2] = {stamp_of(stamp_time()), {0, 0}};
  times[1] = times[0];
  real_utimensat_ptr(dir, path, times, flags);
}

/* The directory `path` is in (made, removed or renamed an entry): stamped if the kernel changed it. */
static void stamp_parent(int dir, const char *path) {
  if (!path || !started()) return;
  char parent[4096];
  size_t length = strnlen(path, sizeof parent);
  if (length == 0 || length >= sizeof parent) return;
  memcpy(parent, path, length + 1);
  while (length > 1 && parent[length - 1] == '/') parent[--length] = '\0';
  char *slash = strrchr(parent, '/');
  if (!slash) stamp_path(dir, ".", 0);
  else {
    if (slash == parent) slash[1] = '\0';
    else *slash = '\0';
    stamp_path(dir, parent, 0);
  }
}

/* A new entry (a directory, a link): itself and its directory. */
static void stamp_made(int dir, const char *path, int flags) {
  if (!started()) return;
  stamp_path(dir, path, flags);
  stamp_parent(dir, path);
}

int utimensat(int dir, const char *path, const struct timespec times[2], int flags) {
  load_time_setters();
  if (!started()) return real_utimensat_ptr(dir, path, times, flags);
  struct timespec set[2] = {marked(times ? times[0] : (struct timespec){0, UTIME_NOW}), marked(times ? times[1] : (struct timespec){0, UTIME_NOW})};
  return real_utimensat_ptr(dir, path, set, flags);
}

int futimens(int fd, const struct timespec times[2]) {
  load_time_setters();
  if (!started()) return real_futimens_ptr(fd, times);
  struct timespec set[2] = {marked(times ? times[0] : (struct timespec){0, UTIME_NOW}), marked(times ? times[1] : (struct timespec){0, UTIME_NOW})};
  return real_futimens_ptr(fd, set);
}

static struct timespec from_timeval(const struct timeval *time) {
  struct timespec value = {.tv_sec = time->tv_sec, .tv_nsec = time->tv_usec * 1000};
  return value;
}

int utimes(const char *path, const struct timeval times[2]) {
  struct timespec set[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  if (times) set[0] = from_timeval(&times[0]), set[1] = from_timeval(&times[1]);
  return utimensat(AT_FDCWD, path, set, 0);
}

int lutimes(const char *path, const struct timeval times[2]) {
  struct timespec set[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  if (times) set[0] = from_timeval(&times[0]), set[1] = from_timeval(&times[1]);
  return utimensat(AT_FDCWD, path, set, AT_SYMLINK_NOFOLLOW);
}

int futimes(int fd, const struct timeval times[2]) {
  struct timespec set[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  if (times) set[0] = from_timeval(&times[0]), set[1] = from_timeval(&times[1]);
  return futimens(fd, set);
}

int utime(const char *path, const struct utimbuf *times) {
  struct timespec set[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  if (times) set[0] = (struct timespec){times->actime, 0}, set[1] = (struct timespec){times->modtime, 0};
  return utimensat(AT_FDCWD, path, set, 0);
}

int mkdir(const char *path, mode_t mode) {
  REAL(mkdir);
  int result = real_mkdir(path, mode);
  if (result == 0) stamp_made(AT_FDCWD, path, 0);
  return result;
}

int mkdirat(int dir, const char *path, mode_t mode) {
  REAL(mkdirat);
  int result = real_mkdirat(dir, path, mode);
  if (result == 0) stamp_made(dir, path, 0);
  return result;
}

int unlink(const char *path) {
  REAL(unlink);
  int result = real_unlink(path);
  if (result == 0) stamp_parent(AT_FDCWD, path);
  return result;
}

int unlinkat(int dir, const char *path, int flags) {
  REAL(unlinkat);
  int result = real_unlinkat(dir, path, flags);
  if (result == 0) stamp_parent(dir, path);
  return result;
}

int rmdir(const char *path) {
  REAL(rmdir);
  int result = real_rmdir(path);
  if (result == 0) stamp_parent(AT_FDCWD, path);
  return result;
}

int rename(const char *from, const char *to) {
  REAL(rename);
  int result = real_rename(from, to);
  if (result == 0) stamp_parent(AT_FDCWD, from), stamp_parent(AT_FDCWD, to);
  return result;
}

int renameat(int from_dir, const char *from, int to_dir, const char *to) {
  REAL(renameat);
  int result = real_renameat(from_dir, from, to_dir, to);
  if (result == 0) stamp_parent(from_dir, from), stamp_parent(to_dir, to);
  return result;
}

int renameat2(int from_dir, const char *from, int to_dir, const char *to, unsigned int flags) {
  REAL(renameat2);
  int result = real_renameat2(from_dir, from, to_dir, to, flags);
  if (result == 0) stamp_parent(from_dir, from), stamp_parent(to_dir, to);
  return result;
}

int link(const char *from, const char *to) {
  REAL(link);
  int result = real_link(from, to);
  if (result == 0) stamp_parent(AT_FDCWD, to);
  return result;
}

int linkat(int from_dir, const char *from, int to_dir, const char *to, int flags) {
  REAL(linkat);
  int result = real_linkat(from_dir, from, to_dir, to, flags);
  if (result == 0) stamp_parent(to_dir, to);
  return result;
}

int symlink(const char *target, const char *path) {
  REAL(symlink);
  int result = real_symlink(target, path);
  if (result == 0) stamp_made(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
  return result;
}

int symlinkat(const char *target, int dir, const char *path) {
  REAL(symlinkat);
  int result = real_symlinkat(target, dir, path);
  if (result == 0) stamp_made(dir, path, AT_SYMLINK_NOFOLLOW);
  return result;
}

int truncate(const char *path, off_t length) {
  REAL(truncate);
  int result = real_truncate(path, length);
  if (result == 0 && started()) stamp_path(AT_FDCWD, path, 0);
  return result;
}

/* A process that exits leaves its descriptors to the kernel (a command's stdout
   redirected to a file): what it wrote is flushed, then stamped. */
#define EXIT_STAMPED_FDS 64
__attribute__((destructor)) static void stamp_at_exit(void) {
  if (!started()) return;
  fflush(NULL);
  for (int fd = 0; fd < EXIT_STAMPED_FDS; fd++) stamp_written(fd);
}

/* A file made by open and kin: its directory now, the file itself when it is closed. */
static int made_by_open(int fd, int dir, const char *path, int flags) {
  if (fd >= 0 && (flags & O_CREAT)) stamp_parent(dir, path);
  return fd;
}

/* ---- /dev/urandom and /dev/random ---- */

/* Descriptors open on a random device (a bit each; a descriptor past the map reads the
   real device). A marked descriptor is checked to still be one before each read: a
   descriptor closed where the shim does not see it (fclose) may be reused. */
#define RANDOM_FDS 4096
static volatile uint8_t random_fds[RANDOM_FDS / 8];

static int is_random_device(const char *path) {
  return path && (strcmp(path, "/dev/urandom") == 0 || strcmp(path, "/dev/random") == 0);
}

static void mark_random(int fd, int on) {
  if (fd < 0 || fd >= RANDOM_FDS) return;
  if (on) __atomic_or_fetch(&random_fds[fd / 8], (uint8_t)(1u << (fd % 8)), __ATOMIC_RELAXED);
  else __atomic_and_fetch(&random_fds[fd / 8], (uint8_t)~(1u << (fd % 8)), __ATOMIC_RELAXED);
}

static int random_fd(int fd) {
  if (fd < 0 || fd >= RANDOM_FDS || !((random_fds[fd / 8] >> (fd % 8)) & 1)) return 0;
  struct stat st;
  /* /dev/random is char 1:8, /dev/urandom 1:9. */
  if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_rdev == makedev(1, 8) || st.st_rdev == makedev(1, 9))) return 1;
  mark_random(fd, 0);
  return 0;
}

/* A descriptor just opened: a random device's is marked, any other's number forgets what it was. */
static int opened(int fd, const char *path) {
  if (fd < 0) return fd;
  forget_fd(fd);
  mark_random(fd, is_random_device(path) && active());
  return fd;
}

/* open(2) and kin take a mode only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags, mode) \
  mode_t mode = 0; \
  if ((flags) & (O_CREAT | O_TMPFILE)) { \
    va_list ap; \
    va_start(ap, flags); \
    mode = (mode_t)va_arg(ap, int); \
    va_end(ap); \
  }

int open(const char *path, int flags, ...) {
  MODE_ARG(flags, mode);
  REAL(open);
  return made_by_open(opened(real_open(path, flags, mode), path), AT_FDCWD, path, flags);
}

int open64(const char *path, int flags, ...) {
  MODE_ARG(flags, mode);
  REAL(open64);
  return made_by_open(opened(real_open64(path, flags, mode), path), AT_FDCWD, path, flags);
}

int openat(int dir, const char *path, int flags, ...) {
  MODE_ARG(flags, mode);
  REAL(openat);
  return made_by_open(opened(real_openat(dir, path, flags, mode), path), dir, path, flags);
}

int openat64(int dir, const char *path, int flags, ...) {
  MODE_ARG(flags, mode);
  REAL(openat64);
  return made_by_open(opened(real_openat64(dir, path, flags, mode), path), dir, path, flags);
}

/* The fortified forms (_FORTIFY_SOURCE) a program calls when it opens without O_CREAT. */
int __open_2(const char *path, int flags) {
  REAL(__open_2);
  return opened(real___open_2(path, flags), path);
}

int __open64_2(const char *path, int flags) {
  REAL(__open64_2);
  return opened(real___open64_2(path, flags), path);
}

int __openat_2(int dir, const char *path, int flags) {
  REAL(__openat_2);
  return opened(real___openat_2(dir, path, flags), path);
}

int __openat64_2(int dir, const char *path, int flags) {
  REAL(__openat64_2);
  return opened(real___openat64_2(dir, path, flags), path);
}

int creat(const char *path, mode_t mode) {
  return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int close(int fd) {
  REAL(close);
  stamp_written(fd);
  mark_random(fd, 0);
  forget_fd(fd);
  return real_close(fd);
}

int fclose(FILE *stream) {
  REAL(fclose);
  int fd = fileno(stream);
  if (fd >= 0 && started()) {
    fflush(stream); /* what fclose would write, before the stamp */
    stamp_written(fd);
  }
  mark_random(fd, 0);
  forget_fd(fd);
  return real_fclose(stream);
}

int dup2(int fd, int target) {
  REAL(dup2);
  if (target != fd) stamp_written(target); /* closed by the dup: bash undoing a redirection */
  int result = real_dup2(fd, target);
  if (result >= 0 && result != fd) {
    forget_fd(result);
    mark_random(result, 0);
  }
  return result;
}

int dup3(int fd, int target, int flags) {
  REAL(dup3);
  if (target != fd) stamp_written(target);
  int result = real_dup3(fd, target, flags);
  if (result >= 0) {
    forget_fd(result);
    mark_random(result, 0);
  }
  return result;
}

ssize_t read(int fd, void *buf, size_t len) {
  if (random_fd(fd)) {
    random_fill(buf, len);
    return (ssize_t)len;
  }
  REAL(read);
  ssize_t result = real_read(fd, buf, len);
  read_from(fd, result);
  return result;
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen) {
  if (len > buflen) abort();
  return read(fd, buf, len);
}

/* A stdio stream over a random device: fopen's own reads bypass read(2)'s symbol. */
static ssize_t cookie_read(void *cookie, char *buf, size_t len) {
  (void)cookie;
  random_fill((uint8_t *)buf, len);
  return (ssize_t)len;
}

static FILE *random_stream(const char *mode) {
  if (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+')) return NULL;
  cookie_io_functions_t io = {.read = cookie_read, .write = NULL, .seek = NULL, .close = NULL};
  return fopencookie(NULL, mode, io);
}

FILE *fopen(const char *path, const char *mode) {
  if (is_random_device(path) && active()) {
    FILE *stream = random_stream(mode);
    if (stream) return stream;
  }
  REAL(fopen);
  FILE *stream = real_fopen(path, mode);
  if (stream && (strchr(mode, 'w') || strchr(mode, 'a'))) stamp_parent(AT_FDCWD, path);
  return stream;
}

FILE *fopen64(const char *path, const char *mode) {
  if (is_random_device(path) && active()) {
    FILE *stream = random_stream(mode);
    if (stream) return stream;
  }
  REAL(fopen64);
  FILE *stream = real_fopen64(path, mode);
  if (stream && (strchr(mode, 'w') || strchr(mode, 'a'))) stamp_parent(AT_FDCWD, path);
  return stream;
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
