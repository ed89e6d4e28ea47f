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
// The parts: this file (the clock file, the process table, each process's clock, the
// clocks an app reads, a reaped child's clock), shim-waits.c, shim-input.c (and the
// terminal's mode), shim-random.c, shim-files.c (file times), shim-timers.c (interval
// timers: setitimer, alarm, ualarm), shim-descriptors.c (open, close, read: what tells
// the others what a descriptor is); shim.h between them.
//
// Not covered (docs/cluster.md): statically linked programs, direct vDSO calls or
// syscalls for the clock, rdtsc, glibc-internal getrandom (arc4random), a random device
// read through a duplicated descriptor, files' change and access times (the kernel's),
// a file looked at between a write and its close, timer_create and timerfd, an
// interval timer armed before an exec, and threads whose order decides what they read.
#include "shim.h"

const struct clock_file *clock_map;
struct proc_slot *procs;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* This process's logical clock, its own reads of it since it was forked, and its value
   when the process began (for CPU time). */
int64_t now_us;
static int64_t reads;
static int64_t born_us;
pid_t clock_pid;

int (*real_clock_gettime)(clockid_t, struct timespec *);

/* ---- the clock file, the process table and this process's clock ---- */

static void *map_file(const char *path, size_t size, int writable) {
  if (!path) return NULL;
  int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return NULL;
  void *map = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  return map == MAP_FAILED ? NULL : map;
}

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
struct last_entry last_entry(void) {
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

int64_t entry_time(void) { return last_entry().time_us; }

/* The time of the entry whose bytes include the terminal's `count`th input byte: the
   first entry, of those still in the ring, whose bytes end at or after it (ends only
   grow: a binary search). Bytes the terminal consumed itself (an erase in cooked mode)
   are never read, so `count` can lag the host's count: the entry found is then an
   earlier one — on every replica alike. */
int64_t time_of_byte(int64_t count) {
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
void publish(int64_t value) {
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
  random_forked();
  timers_forked();
  waits_forked();
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

int active(void) {
  pthread_once(&once, init);
  return clock_map != NULL;
}

/* The clock is changed with atomics, never a lock: a signal handler (a SIGCHLD handler
   that reaps) may change it while the code it interrupted is changing it too. */

/* A read of the clock: it moves on by a microsecond. */
int64_t tick(void) {
  __atomic_add_fetch(&reads, 1, __ATOMIC_ACQ_REL);
  int64_t now = __atomic_add_fetch(&now_us, 1, __ATOMIC_ACQ_REL);
  publish(now);
  return now;
}

int64_t current(void) { return __atomic_load_n(&now_us, __ATOMIC_ACQUIRE); }

void advance_to(int64_t time_us) {
  int64_t seen = current();
  while (seen < time_us) {
    if (__atomic_compare_exchange_n(&now_us, &seen, time_us, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      publish(time_us);
      return;
    }
  }
}

void advance_by(int64_t us) {
  if (us <= 0) return;
  publish(__atomic_add_fetch(&now_us, us, __ATOMIC_ACQ_REL));
}

/* ---- clocks ---- */

enum kind kind_of(clockid_t id) {
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
int64_t as_clock(enum kind kind, int64_t wall) {
  if (kind == MONOTONIC) return wall - clock_map->start_us + MONOTONIC_BASE_US;
  if (kind == CPU) return wall - born_us;
  return wall;
}

int64_t us_of(const struct timespec *ts) { return (int64_t)ts->tv_sec * 1000000LL + ts->tv_nsec / 1000; }

struct timespec timespec_of(int64_t us) {
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
