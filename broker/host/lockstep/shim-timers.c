// The lockstep shim: interval timers on the logical clock. An app that ticks on a signal
// (setitimer ITIMER_REAL, alarm, ualarm: nInvaders moves its aliens 50 times a second)
// had its ticks from the kernel, in real time: how many fell between two keystrokes was
// the host's, and a replacement standby never matched. Here the timer is the process's
// own, on its logical clock, and the kernel's is never armed. SIGALRM is raised by the
// shim: when a wait reaches the timer's due time (a wait that would end later ends there,
// as the kernel's signal would cut it: shim-waits.c), and, before a read of input takes
// its entry's time, for every tick due by then (shim-input.c) — so each replica's app
// gets the same ticks between the same keystrokes, and a replacement fast-forwards them
// like any timed wait. Waits that take a tick: sleeps, poll/select/epoll (with or
// without a timeout), pause, and a blocking read of input. Not covered: a process that
// waits for its tick anywhere else (sigsuspend, sigwait, waitpid, a lock) gets none
// while it waits, where the kernel's would have come; a timer armed before an exec (the
// kernel keeps it; the new program's shim starts without); ITIMER_VIRTUAL/PROF,
// timer_create, timerfd.
#include "shim.h"

/* When the timer is next due (logical µs; 0: not armed), and its interval (0: once). */
static volatile int64_t alarm_due;
static volatile int64_t alarm_every;
/* Ticks are being raised: a handler that waits or reads does not raise more inside. */
static volatile int raising;

void timers_forked(void) {
  /* A child has no timers (POSIX): its parent's go on in the parent. */
  alarm_due = alarm_every = 0;
}

int64_t alarm_due_at(void) { return alarm_due; }

int alarms_restart(void) {
  struct sigaction action;
  return sigaction(SIGALRM, NULL, &action) == 0 && (action.sa_flags & SA_RESTART);
}

/* Raises SIGALRM for the ticks due at or before `upto` (at most `most`), each at its own
   time: a C handler runs in raise(), once per tick. Returns how many. */
int raise_alarms(int64_t upto, int most) {
  if (raising) return 0;
  raising = 1;
  int raised = 0;
  while (alarm_due > 0 && alarm_due <= upto && raised < most) {
    int64_t due = alarm_due;
    alarm_due = alarm_every > 0 ? due + alarm_every : 0;
    advance_to(due);
    raise(SIGALRM);
    raised++;
  }
  raising = 0;
  return raised;
}

static struct timeval timeval_of(int64_t us) {
  struct timeval tv = {.tv_sec = us / 1000000, .tv_usec = us % 1000000};
  return tv;
}

static int64_t us_of_timeval(const struct timeval *tv) { return (int64_t)tv->tv_sec * 1000000LL + tv->tv_usec; }

/* What is left of the timer now, and its interval. */
static void timer_now(struct itimerval *out) {
  int64_t left = alarm_due > 0 ? alarm_due - current() : 0;
  /* Due and not raised yet: the kernel would say a tick is about to come. */
  if (alarm_due > 0 && left <= 0) left = 1;
  out->it_value = timeval_of(left);
  out->it_interval = timeval_of(alarm_every);
}

static void timer_set(int64_t value_us, int64_t every_us) {
  alarm_every = every_us > 0 ? every_us : 0;
  alarm_due = value_us > 0 ? current() + value_us : 0;
}

int setitimer(__itimer_which_t which, const struct itimerval *restrict value, struct itimerval *restrict old) {
  REAL(setitimer);
  if (which != ITIMER_REAL || !active()) return real_setitimer(which, value, old);
  if (value && (value->it_value.tv_usec < 0 || value->it_value.tv_usec >= 1000000 || value->it_interval.tv_usec < 0 || value->it_interval.tv_usec >= 1000000)) {
    errno = EINVAL;
    return -1;
  }
  if (old) timer_now(old);
  if (value) timer_set(us_of_timeval(&value->it_value), us_of_timeval(&value->it_interval));
  return 0;
}

int getitimer(__itimer_which_t which, struct itimerval *value) {
  REAL(getitimer);
  if (which != ITIMER_REAL || !active()) return real_getitimer(which, value);
  timer_now(value);
  return 0;
}

/* glibc's alarm and ualarm call its own setitimer, not this one. */
unsigned int alarm(unsigned int seconds) {
  REAL(alarm);
  if (!active()) return real_alarm(seconds);
  struct itimerval old;
  timer_now(&old);
  timer_set((int64_t)seconds * 1000000LL, 0);
  return (unsigned int)old.it_value.tv_sec + (old.it_value.tv_usec >= 500000 || (old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0));
}

useconds_t ualarm(useconds_t value, useconds_t interval) {
  REAL(ualarm);
  if (!active()) return real_ualarm(value, interval);
  struct itimerval old;
  timer_now(&old);
  timer_set(value, interval);
  return (useconds_t)us_of_timeval(&old.it_value);
}
