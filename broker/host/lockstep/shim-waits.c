// The lockstep shim: waits — a timeout that runs out moves the clock on by what was
// waited, and a replacement replica fast-forwards (holdfast-lockstep.c says how).
#include "shim.h"

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

/* Whether another thread of this process is running or runnable (R in its stat). Read
   with raw system calls: the shim's own open and read count descriptors and input. */
static int others_running(void) {
  int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return 0;
  long self = syscall(SYS_gettid);
  char entries[4096], path[64], stat[512];
  int running = 0;
  long got;
  while (!running && (got = syscall(SYS_getdents64, dir, entries, sizeof entries)) > 0) {
    for (long at = 0; at < got && !running;) {
      struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *entry = (void *)(entries + at);
      at += entry->reclen;
      long tid = strtol(entry->name, NULL, 10);
      if (tid <= 0 || tid == self) continue;
      snprintf(path, sizeof path, "%ld/stat", tid);
      int fd = (int)syscall(SYS_openat, dir, path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      long length = syscall(SYS_read, fd, stat, sizeof stat - 1);
      syscall(SYS_close, fd);
      if (length <= 0) continue;
      stat[length] = '\0';
      const char *state = strrchr(stat, ')');
      running = state && state[1] == ' ' && state[2] == 'R';
    }
  }
  syscall(SYS_close, dir);
  return running;
}

/* A fast-forwarded wait that would end at once first lets the process's other threads
   finish what they are doing — those running, and those whose own waits end earlier —
   up to this long, looking in slices of SETTLE_SLICE_US: on the primary they ran while
   this thread waited. GLib's worker thread hands the main loop the file events of the
   app's own save (at once, or at its next 100 ms look); a replacement that ended
   mousepad's 500 ms "ignore my own save" timer before they came took them as someone
   else's change and asked to reload. */
#define SETTLE_MAX_US 50000
#define SETTLE_SLICE_US 1000

/* The fast-forwarded waits of this process's threads, by when they end (0: free). */
#define WAITING_THREADS 64
static struct {
  int64_t end;
  long tid;
} waiting[WAITING_THREADS];

static int wait_began(int64_t end) {
  for (int slot = 0; slot < WAITING_THREADS; slot++) {
    int64_t free = 0;
    if (__atomic_compare_exchange_n(&waiting[slot].end, &free, -1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      waiting[slot].tid = syscall(SYS_gettid);
      __atomic_store_n(&waiting[slot].end, end, __ATOMIC_RELEASE);
      return slot;
    }
  }
  return -1;
}

static void wait_ended(int slot) {
  if (slot >= 0) __atomic_store_n(&waiting[slot].end, 0, __ATOMIC_RELEASE);
}

/* Whether another thread's wait ends before this one's (ties: the lower slot first). */
static int earlier_waiting(int slot, int64_t end) {
  for (int other = 0; other < WAITING_THREADS; other++) {
    int64_t its = __atomic_load_n(&waiting[other].end, __ATOMIC_ACQUIRE);
    /* A thread that left its wait without ending it (cancelled) no longer counts. */
    if (other != slot && its > 0 && (its < end || (its == end && other < slot)) && syscall(SYS_tgkill, getpid(), waiting[other].tid, 0) == 0) return 1;
  }
  return 0;
}

/* A child has only the thread that forked. */
void waits_forked(void) {
  memset(waiting, 0, sizeof waiting);
}

/* One real wait of at most `us` (0: only look): >0 or <0 as the call returned (ready,
   or an error such as EINTR), 0 when it timed out. */
typedef int (*wait_once)(void *call, int64_t us);

/* A timed wait of `wait_us` (logical) made of real waits. In a replica that
   fast-forwards, it ends as soon as the primary's process of this pid had got past
   its end (at once when it already had) — and never before: the primary's process
   did not time out there before the input that came next, so neither may this one.
   Otherwise (no fast-forward, no clock known for this pid, or turned off on
   promotion) it waits in real time. Returns what the last real wait returned; *done
   is 1 when the whole wait ran out (the caller moves the clock on by `wait_us`), and
   -1 when the process's interval timer fell due first (shim-timers.c): the wait ends
   there, as the kernel's signal would end it — the clock at the due time, SIGALRM
   raised, -1 returned with EINTR; `timer_cut_us` says how much of the wait was done. */
static __thread int64_t timer_cut_us;

static int timed_wait(int64_t wait_us, wait_once once, void *call, int *done) {
  *done = 0;
  int64_t due = active() ? alarm_due_at() : 0, cut = -1;
  if (due > 0 && due - current() < wait_us) wait_us = cut = due > current() ? due - current() : 0;
  int64_t end = active() ? current() + wait_us : 0, began = real_now_us(), settling = -1;
  int slot = -1;
  for (;;) {
    int64_t target = active() ? fast_forward_target() : -1;
    if (target >= 0 && slot < 0 && end > 0) slot = wait_began(end);
    int64_t slice = target < 0 ? wait_us - (real_now_us() - began) : settling >= 0 ? SETTLE_SLICE_US : target >= end ? (input_pending() ? PENDING_LOOK_US : 0) : FOLLOW_SLICE_US;
    if (slice < 0) slice = 0;
    int result = once(call, slice);
    if (result != 0) {
      wait_ended(slot);
      return result;
    }
    if (target >= 0 && (target >= end || fast_forward_target() >= end)) {
      if (settling < 0) settling = real_now_us();
      if (real_now_us() - settling < SETTLE_MAX_US && (earlier_waiting(slot, end) || others_running())) continue;
    }
    if (target < 0 || target >= end || fast_forward_target() >= end) {
      wait_ended(slot);
      if (cut < 0) {
        *done = 1;
        return 0;
      }
      timer_cut_us = cut;
      raise_alarms(end, 1);
      *done = -1;
      errno = EINTR;
      return -1;
    }
  }
}

/* A wait as long as there is no input: only ever ended by the interval timer. */
#define FOREVER_US (INT64_MAX / 4)

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
  if (done == 1) {
    advance_by(wait_us);
    return 0;
  }
  if (done == -1) {
    if (left) *left = timespec_of(wait_us - timer_cut_us);
    return -1;
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
  if (done == 1) advance_by(wait_us);
  return result;
}

/* A wait with no timeout is ended by nothing but what it waits for — and, with an
   interval timer armed, by the timer (shim-timers.c). */
static int timer_armed(void) { return active() && alarm_due_at() > 0; }

int poll(struct pollfd *fds, nfds_t count, int timeout_ms) {
  REAL(poll);
  if (timeout_ms < 0 && timer_armed()) return logical_poll(fds, count, FOREVER_US, NULL);
  if (timeout_ms <= 0 || !active()) return real_poll(fds, count, timeout_ms);
  return logical_poll(fds, count, (int64_t)timeout_ms * 1000, NULL);
}

int ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout, const sigset_t *mask) {
  REAL(ppoll);
  if (!timeout && timer_armed()) return logical_poll(fds, count, FOREVER_US, mask);
  if (!timeout || us_of(timeout) <= 0 || !active()) return real_ppoll(fds, count, timeout, mask);
  return logical_poll(fds, count, us_of(timeout), mask);
}

/* pause() with the timer armed waits for its next tick (or another signal). */
int pause(void) {
  REAL(pause);
  if (!timer_armed()) return real_pause();
  struct sleep_call call = {0};
  int done;
  timed_wait(FOREVER_US, sleep_once, &call, &done);
  if (done != -1) advance_by(call.slept_us); /* another signal ended it */
  errno = EINTR;
  return -1;
}

/* Before a blocking read of input, with the timer armed: waits until `fd` is readable,
   raising the timer's ticks as they fall due (a handler with SA_RESTART resumes the
   wait, as the kernel resumes the read). 0: read it; -1: a tick ended it (EINTR). */
int wait_readable(int fd) {
  if (!timer_armed()) return 0;
  int kind = kind_of_fd(fd);
  if (kind != TERMINAL && kind != INPUT) return 0;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_NONBLOCK)) return 0;
  for (;;) {
    struct pollfd look = {.fd = fd, .events = POLLIN};
    int result = logical_poll(&look, 1, FOREVER_US, NULL);
    /* Input is there: a tick due before its entry's time comes first, one at a time,
       each handled before the next (Python runs its handler once for ticks raised
       together), then the bytes. */
    if (result > 0 && !(kind == TERMINAL && procs && raise_alarms(time_of_byte(__atomic_load_n(&procs[0].clock_us, __ATOMIC_ACQUIRE) + 1), 1) > 0)) return 0;
    if (result > 0) {
      if (alarms_restart()) continue;
      errno = EINTR;
      return -1;
    }
    if (result < 0 && errno == EINTR && alarms_restart() && timer_armed()) continue;
    /* Not armed any more (a one-shot, or the handler stopped it): the real read waits. */
    if (result < 0 && errno == EINTR && alarms_restart()) return 0;
    return result < 0 ? -1 : 0;
  }
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
  if (done == 1) advance_by(wait_us);
  return result;
}

int select(int count, fd_set *readable, fd_set *writable, fd_set *failed, struct timeval *timeout) {
  REAL(select);
  int64_t wait = timeout ? (int64_t)timeout->tv_sec * 1000000LL + timeout->tv_usec : -1;
  if (!timeout && timer_armed()) return logical_select(count, readable, writable, failed, FOREVER_US, NULL);
  if (wait <= 0 || !active() || (fast_forward_target() < 0 && !timer_armed())) {
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
  if (!timeout && timer_armed()) return logical_select(count, readable, writable, failed, FOREVER_US, mask);
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
  int64_t wait = timeout_ms < 0 ? FOREVER_US : (int64_t)timeout_ms * 1000;
  int result = timed_wait(wait, epoll_once, &call, &done);
  if (done == 1) advance_by(wait);
  return result;
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms) {
  REAL(epoll_wait);
  if (timeout_ms < 0 && timer_armed()) return logical_epoll(epfd, events, max, timeout_ms, NULL);
  if (timeout_ms <= 0 || !active()) return real_epoll_wait(epfd, events, max, timeout_ms);
  return logical_epoll(epfd, events, max, timeout_ms, NULL);
}

int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout_ms, const sigset_t *mask) {
  REAL(epoll_pwait);
  if (timeout_ms < 0 && timer_armed()) return logical_epoll(epfd, events, max, timeout_ms, mask);
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

