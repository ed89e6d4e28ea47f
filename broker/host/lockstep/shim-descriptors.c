// The lockstep shim: opening, closing and reading descriptors, where the other parts
// learn what a descriptor is (the terminal, a random device, a file written).
#include "shim.h"

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
  /* With an interval timer armed, a blocking read of input waits on the logical clock, so its ticks come (shim-timers.c). */
  if (active() && wait_readable(fd) < 0) return -1;
  ssize_t result = real_read(fd, buf, len);
  read_from(fd, result);
  return result;
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen) {
  if (len > buflen) abort();
  return read(fd, buf, len);
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

