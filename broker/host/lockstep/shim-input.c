// The lockstep shim: the person's input — a read of the app's terminal takes the time
// of the entry its bytes came from — and the terminal's mode changes, counted.
#include "shim.h"

/* ---- input: reading a terminal or a socket moves the clock to the last entry's time ---- */

/* What each descriptor is, looked up once: 0 not yet known, TERMINAL the app's
   terminal, INPUT another terminal or a socket, NOT_INPUT anything else. Forgotten when
   the descriptor is closed or replaced. A descriptor past the table is looked up on
   every read. */
#define KNOWN_FDS 4096
static volatile uint8_t fd_kinds[KNOWN_FDS];

void forget_fd(int fd) {
  if (fd >= 0 && fd < KNOWN_FDS) fd_kinds[fd] = 0;
}

int kind_of_fd(int fd) {
  if (fd < 0) return NOT_INPUT;
  uint8_t kind = fd < KNOWN_FDS ? fd_kinds[fd] : UNKNOWN;
  if (kind == UNKNOWN) {
    struct stat st;
    if (kernel_fstat(fd, &st) != 0) return NOT_INPUT;
    if (S_ISCHR(st.st_mode) && st.st_dev == clock_map->terminal_dev && st.st_rdev == clock_map->terminal_rdev && clock_map->terminal_rdev != 0) kind = TERMINAL;
    else if (S_ISSOCK(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(fd))) kind = INPUT;
    else kind = NOT_INPUT;
    /* The terminal's identity is written just after the app starts: until then, look again. */
    if (fd < KNOWN_FDS && (kind != INPUT || clock_map->terminal_rdev != 0)) fd_kinds[fd] = kind;
  }
  return kind;
}

/* Called after a read of `fd` returned `count` bytes (or characters, or lines: what stdio gave). */
void read_from(int fd, ssize_t count) {
  if (count <= 0 || !active()) return;
  int kind = kind_of_fd(fd);
  /* The interval timer's ticks due before the input's time come first (shim-timers.c). */
  if (kind == TERMINAL && procs) {
    int64_t read_so_far = __atomic_add_fetch(&procs[0].clock_us, (int64_t)count, __ATOMIC_ACQ_REL);
    int64_t time = time_of_byte(read_so_far);
    raise_alarms(time, ALL_ALARMS);
    advance_to(time);
  } else if (kind == TERMINAL || kind == INPUT) {
    int64_t time = entry_time();
    raise_alarms(time, ALL_ALARMS);
    advance_to(time);
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

