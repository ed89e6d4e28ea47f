// The lockstep shim's parts (holdfast-lockstep.c and shim-*.c, built into one library
// preloaded into a lockstep sandbox): the clock file's layout, the process's state,
// and what one part calls in another. Hidden: only the functions the shim stands in
// for (libc's) are exported.
#ifndef HOLDFAST_SHIM_H
#define HOLDFAST_SHIM_H
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

#define HIDDEN __attribute__((visibility("hidden")))

/* The next definition of `name` (libc's), looked up once. */
#define REAL(name) \
  static __typeof__(&name) real_##name; \
  if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

/* holdfast-lockstep.c: the clock file, the process table, this process's clock. */
extern HIDDEN const struct clock_file *clock_map;
extern HIDDEN struct proc_slot *procs;
extern HIDDEN int64_t now_us;
extern HIDDEN pid_t clock_pid;
extern HIDDEN int (*real_clock_gettime)(clockid_t, struct timespec *);
struct last_entry {
  int64_t time_us, end, seq;
};
HIDDEN struct last_entry last_entry(void);
HIDDEN int64_t entry_time(void);
HIDDEN int64_t time_of_byte(int64_t count);
HIDDEN void publish(int64_t value);
HIDDEN int active(void);
HIDDEN int64_t tick(void);
HIDDEN int64_t current(void);
HIDDEN void advance_to(int64_t time_us);
HIDDEN void advance_by(int64_t us);
enum kind { OTHER, WALL, MONOTONIC, CPU };
HIDDEN enum kind kind_of(clockid_t id);
HIDDEN int64_t as_clock(enum kind kind, int64_t wall);
HIDDEN int64_t us_of(const struct timespec *ts);
HIDDEN struct timespec timespec_of(int64_t us);

/* shim-input.c: which descriptors carry the person's input. */
enum { UNKNOWN, TERMINAL, INPUT, NOT_INPUT };
HIDDEN void forget_fd(int fd);
HIDDEN int kind_of_fd(int fd);
HIDDEN void read_from(int fd, ssize_t count);

/* shim-random.c: the session's random stream and the random devices. */
HIDDEN void random_fill(uint8_t *buf, size_t len);
HIDDEN void random_forked(void);
HIDDEN int is_random_device(const char *path);
HIDDEN void mark_random(int fd, int on);
HIDDEN int random_fd(int fd);
HIDDEN FILE *random_stream(const char *mode);

/* shim-timers.c: interval timers on the logical clock. */
HIDDEN void timers_forked(void);
HIDDEN int64_t alarm_due_at(void);
HIDDEN int alarms_restart(void);
HIDDEN int raise_alarms(int64_t upto, int most);
#define ALL_ALARMS 0x7fffffff

/* shim-waits.c: a blocking read's wait, cut by the interval timer; a child's table of waiting threads. */
HIDDEN int wait_readable(int fd);
HIDDEN void waits_forked(void);

/* shim-files.c: file times. */
HIDDEN int started(void);
HIDDEN void stamp_written(int fd);
HIDDEN int kernel_fstat(int fd, struct stat *st);
HIDDEN void stamp_parent(int dir, const char *path);
HIDDEN int made_by_open(int fd, int dir, const char *path, int flags);

#endif
