// The lockstep shim: file times — what the app changes is stamped with its logical time.
#include "shim.h"

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
int started(void) {
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

/* The kernel's fstat, past this shim's own (which stamps first): what the shim itself
   looks at a descriptor with, so looking never stamps. */
int kernel_fstat(int fd, struct stat *st) {
  return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
}

/* A descriptor open for writing on a file the kernel stamped since: the process's time. */
void stamp_written(int fd) {
  struct stat st;
  if (fd < 0 || !started() || kernel_fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || stamped(&st.st_mtim)) return;
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
void stamp_parent(int dir, const char *path) {
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

/* An app that reads the times of a file it is writing, through the descriptor, is given
   the time the file will keep: stamped now, not at the close. GIO's save (every GTK
   editor) reads the etag with statx on the open file, closes it, and at the next save
   refuses if the file's etag has changed: with the stamp at the close, mousepad said
   "externally modified" at every second save. Reading by name is not covered (the
   kernel's time until the close, as for another process). */
static int empty(const char *path) {
  return path && path[0] == '\0';
}

int fstat(int fd, struct stat *st) {
  REAL(fstat);
  stamp_written(fd);
  return real_fstat(fd, st);
}

int fstat64(int fd, struct stat64 *st) {
  REAL(fstat64);
  stamp_written(fd);
  return real_fstat64(fd, st);
}

int fstatat(int dir, const char *path, struct stat *st, int flags) {
  REAL(fstatat);
  if ((flags & AT_EMPTY_PATH) && empty(path)) stamp_written(dir);
  return real_fstatat(dir, path, st, flags);
}

int fstatat64(int dir, const char *path, struct stat64 *st, int flags) {
  REAL(fstatat64);
  if ((flags & AT_EMPTY_PATH) && empty(path)) stamp_written(dir);
  return real_fstatat64(dir, path, st, flags);
}

int statx(int dir, const char *path, int flags, unsigned int mask, struct statx *st) {
  REAL(statx);
  if ((flags & AT_EMPTY_PATH) && empty(path)) stamp_written(dir);
  return real_statx(dir, path, flags, mask, st);
}

/* Programs built against a libc older than 2.33 call these instead. */
int __fxstat(int version, int fd, struct stat *st) {
  static int (*real)(int, int, struct stat *);
  if (!real) real = (int (*)(int, int, struct stat *))dlsym(RTLD_NEXT, "__fxstat");
  stamp_written(fd);
  return real(version, fd, st);
}

int __fxstat64(int version, int fd, struct stat64 *st) {
  static int (*real)(int, int, struct stat64 *);
  if (!real) real = (int (*)(int, int, struct stat64 *))dlsym(RTLD_NEXT, "__fxstat64");
  stamp_written(fd);
  return real(version, fd, st);
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
int made_by_open(int fd, int dir, const char *path, int flags) {
  if (fd >= 0 && (flags & O_CREAT)) stamp_parent(dir, path);
  return fd;
}

