// holdfast-termios-watch: how a terminal app's keystrokes come back, from its PTY's
// termios (docs/protocol.md#sessionecho), for the node, which cannot call tcgetattr.
// The node starts one per terminal session (broker/host/termios-watch.ts) with the
// PTY's master on fd 3 (on Linux, tcgetattr on the master reads the app's side's
// termios) and it prints, at start and whenever the mode changes, one line on stdout:
//
//   echo    ECHO on: the terminal echoes what is typed (cat, a plain read)
//   app     ICANON off: the app echoes, if it wants to (readline, vim, less)
//   hidden  ECHO off, ICANON on: nothing is shown (a password prompt)
//
// When to look: a password prompt turns echo off *before* it prints the prompt, so a
// look as its output leaves sees `hidden` before a person can type. The node writes a
// byte to stdin when it reads the app's output (at most one per couple of ms): each
// wakes a look. (Polling the master for POLLIN instead races with the node, which
// reads it: the output is often gone by the time this process is scheduled, and the
// wake is lost.) Otherwise it looks every IDLE_MS, for modes set without output.
//
// It ends when its stdin closes (the node is gone, or closed it) and when the master
// hangs up or errs (the app's side is closed: the app is gone).
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MASTER_FD 3
#define IDLE_MS 100

static const char *mode_of(const struct termios *t) {
  if (!(t->c_lflag & ICANON)) return "app";
  return (t->c_lflag & ECHO) ? "echo" : "hidden";
}

/** Writes all of `line`; 0 when the node no longer reads it. */
static int report(const char *line) {
  size_t left = strlen(line);
  while (left > 0) {
    ssize_t n = write(STDOUT_FILENO, line, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    line += n;
    left -= (size_t)n;
  }
  return 1;
}

/** Reads the termios and tells the mode if it changed: 1, or 0 when this should end (no terminal, or no node to tell). */
static int look(const char **told) {
  struct termios t;
  if (tcgetattr(MASTER_FD, &t) != 0) return 0;
  const char *mode = mode_of(&t);
  if (mode == *told) return 1;
  *told = mode;
  char line[8];
  strcpy(line, mode);
  strcat(line, "\n");
  return report(line);
}

int main(void) {
  // A node that went away makes a write fail (EPIPE) rather than end this silently.
  signal(SIGPIPE, SIG_IGN);
  struct termios first;
  // Not a terminal on fd 3: the node passed the wrong descriptor (2, not a normal end).
  if (tcgetattr(MASTER_FD, &first) != 0) return 2;
  const char *told = NULL;
  for (;;) {
    if (!look(&told)) return 0;
    // The master is polled for no event: poll reports its hang-up and errors regardless.
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = MASTER_FD, .events = 0}};
    int ready = poll(fds, 2, IDLE_MS);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL)) return 0;
    if (fds[0].revents != 0) {
      // Nudges (their bytes mean nothing), or the end of stdin.
      char nudges[256];
      ssize_t n = read(STDIN_FILENO, nudges, sizeof nudges);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return 0;
    }
  }
}
