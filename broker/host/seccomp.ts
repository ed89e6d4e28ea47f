// The seccomp filter every sandboxed app runs under, compiled here to classic BPF (the
// format bwrap's --seccomp takes) so no binding to libseccomp is needed. A deny list:
// what an app has no business doing — loading kernel code, tracing or reading other
// processes, mounting, keyrings, bpf, new namespaces, the clock, swap, reboot, terminal
// injection — fails with EPERM (KILL for the few that only an attack would try);
// everything else is allowed. Syscalls of another ABI (i386 via int 0x80, x32) are
// killed: a deny list by number is only sound for the one ABI it was written for.

/** seccomp return values (linux/seccomp.h). */
export const RET = {
  KILL_PROCESS: 0x80000000,
  ERRNO: 0x00050000,
  ALLOW: 0x7fff0000,
} as const;
export const EPERM = 1;
export const ENOSYS = 38;

/** AUDIT_ARCH_* (linux/audit.h). */
export const AUDIT_ARCH = { x64: 0xc000003e, arm64: 0xc00000b7 } as const;
export type SeccompArch = keyof typeof AUDIT_ARCH;

/** x32 syscalls on x86_64 carry this bit in their number. */
const X32_SYSCALL_BIT = 0x40000000;

type Verdict = 'eperm' | 'kill' | 'enosys';

/** Denied syscalls: [name, x86_64 number, aarch64 number (null: absent there), verdict]. */
export const DENIED: ReadonlyArray<readonly [string, number, number | null, Verdict]> = [
  // Kernel code and raw hardware: nothing legitimate in a sandbox tries these.
  ['kexec_load', 246, 104, 'kill'],
  ['kexec_file_load', 320, 294, 'kill'],
  ['init_module', 175, 105, 'kill'],
  ['finit_module', 313, 273, 'kill'],
  ['delete_module', 176, 106, 'kill'],
  ['iopl', 172, null, 'kill'],
  ['ioperm', 173, null, 'kill'],
  // The "shocker" escape: opens host files by handle, bypassing the mount namespace.
  ['open_by_handle_at', 304, 265, 'kill'],
  ['name_to_handle_at', 303, 264, 'eperm'],
  // Other processes' memory.
  ['ptrace', 101, 117, 'eperm'],
  ['process_vm_readv', 310, 270, 'eperm'],
  ['process_vm_writev', 311, 271, 'eperm'],
  ['pidfd_getfd', 438, 438, 'eperm'],
  ['process_madvise', 440, 440, 'eperm'],
  // Mounts and namespaces: the sandbox's view of the world is fixed.
  ['mount', 165, 40, 'eperm'],
  ['umount2', 166, 39, 'eperm'],
  ['pivot_root', 155, 41, 'eperm'],
  ['chroot', 161, 51, 'eperm'],
  ['open_tree', 428, 428, 'eperm'],
  ['move_mount', 429, 429, 'eperm'],
  ['fsopen', 430, 430, 'eperm'],
  ['fsconfig', 431, 431, 'eperm'],
  ['fsmount', 432, 432, 'eperm'],
  ['fspick', 433, 433, 'eperm'],
  ['mount_setattr', 442, 442, 'eperm'],
  ['unshare', 272, 97, 'eperm'],
  ['setns', 308, 268, 'eperm'],
  // Kernel keyrings are not namespaced.
  ['keyctl', 250, 219, 'eperm'],
  ['add_key', 248, 217, 'eperm'],
  ['request_key', 249, 218, 'eperm'],
  // Kernel attack surface an app does not need.
  ['bpf', 321, 280, 'eperm'],
  ['perf_event_open', 298, 241, 'eperm'],
  ['userfaultfd', 323, 282, 'eperm'],
  ['io_uring_setup', 425, 425, 'eperm'],
  ['io_uring_enter', 426, 426, 'eperm'],
  ['io_uring_register', 427, 427, 'eperm'],
  ['modify_ldt', 154, null, 'eperm'],
  ['uselib', 134, null, 'eperm'],
  ['_sysctl', 156, null, 'eperm'],
  ['lookup_dcookie', 212, 18, 'eperm'],
  ['nfsservctl', 180, 42, 'eperm'],
  ['fanotify_init', 300, 262, 'eperm'],
  // The machine's state: accounting, swap, power, clocks, kernel log, quotas, terminals.
  ['acct', 163, 89, 'eperm'],
  ['swapon', 167, 224, 'eperm'],
  ['swapoff', 168, 225, 'eperm'],
  ['reboot', 169, 142, 'eperm'],
  ['settimeofday', 164, 170, 'eperm'],
  ['clock_settime', 227, 112, 'eperm'],
  ['clock_adjtime', 305, 266, 'eperm'],
  ['adjtimex', 159, 171, 'eperm'],
  ['syslog', 103, 116, 'eperm'],
  ['quotactl', 179, 60, 'eperm'],
  ['quotactl_fd', 443, 443, 'eperm'],
  ['vhangup', 153, 58, 'eperm'],
  // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back
  // to clone, whose flags it can (as Flatpak and Docker do).
  ['clone3', 435, 435, 'enosys'],
];

/** Syscalls allowed only with some arguments (checked below): ioctl, personality, clone. */
const NR = {
  x64: { ioctl: 16, personality: 135, clone: 56 },
  arm64: { ioctl: 29, personality: 92, clone: 220 },
} as const;

/** ioctls that push bytes into a terminal's input (or its console): typed-command injection. */
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;
/** personality() values Docker's profile allows: PER_LINUX, PER_LINUX32, UNAME26 variants, and the query. */
export const PERSONALITY_ALLOWED = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
export const CLONE_NEW_NAMESPACES = 0x7e020000;

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

/** struct seccomp_data offsets: nr, arch, then args[6] as u64 (little-endian: low word first). */
const OFFSET = { nr: 0, arch: 4, argLow: (i: number) => 16 + 8 * i } as const;

export interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

type Label = string;
type Jump = Label | 0;
type Asm =
  | { op: 'ld'; offset: number }
  | { op: 'jeq' | 'jge' | 'jset'; k: number; jt: Jump; jf: Jump }
  | { op: 'ret'; k: number }
  | { op: 'label'; name: Label };

/** The filter as instructions, for `arch` (the node's own: process.arch). */
export function seccompFilter(arch: SeccompArch): Instruction[] {
  const nr = NR[arch];
  const asm: Asm[] = [
    { op: 'ld', offset: OFFSET.arch },
    { op: 'jeq', k: AUDIT_ARCH[arch], jt: 0, jf: 'kill' },
    { op: 'ld', offset: OFFSET.nr },
  ];
  if (arch === 'x64') asm.push({ op: 'jge', k: X32_SYSCALL_BIT, jt: 'kill', jf: 0 });
  const verdictLabel: Record<Verdict, Label> = { eperm: 'eperm', kill: 'kill', enosys: 'enosys' };
  for (const [, x64, arm64, verdict] of DENIED) {
    const number = arch === 'x64' ? x64 : arm64;
    if (number !== null) asm.push({ op: 'jeq', k: number, jt: verdictLabel[verdict], jf: 0 });
  }
  asm.push(
    { op: 'jeq', k: nr.ioctl, jt: 'ioctl', jf: 0 },
    { op: 'jeq', k: nr.personality, jt: 'personality', jf: 0 },
    { op: 'jeq', k: nr.clone, jt: 'clone', jf: 0 },
    { op: 'ret', k: RET.ALLOW },
    // ioctl(fd, cmd): the kernel reads cmd as 32 bits, so the low word is the whole of it.
    { op: 'label', name: 'ioctl' },
    { op: 'ld', offset: OFFSET.argLow(1) },
    { op: 'jeq', k: TIOCSTI, jt: 'eperm', jf: 0 },
    { op: 'jeq', k: TIOCLINUX, jt: 'eperm', jf: 0 },
    { op: 'ret', k: RET.ALLOW },
    // personality(persona): also 32 bits in the kernel.
    { op: 'label', name: 'personality' },
    { op: 'ld', offset: OFFSET.argLow(0) },
    ...PERSONALITY_ALLOWED.map((k): Asm => ({ op: 'jeq', k, jt: 'allow', jf: 0 })),
    { op: 'ret', k: RET.ERRNO | EPERM },
    // clone(flags, …): no new namespaces (the flags sit in the low word on both ABIs).
    { op: 'label', name: 'clone' },
    { op: 'ld', offset: OFFSET.argLow(0) },
    { op: 'jset', k: CLONE_NEW_NAMESPACES, jt: 'eperm', jf: 'allow' },
    { op: 'label', name: 'allow' },
    { op: 'ret', k: RET.ALLOW },
    { op: 'label', name: 'eperm' },
    { op: 'ret', k: RET.ERRNO | EPERM },
    { op: 'label', name: 'enosys' },
    { op: 'ret', k: RET.ERRNO | ENOSYS },
    { op: 'label', name: 'kill' },
    { op: 'ret', k: RET.KILL_PROCESS },
  );
  return assemble(asm);
}

/** Resolves labels to the relative offsets classic BPF jumps take (forward only, at most 255). */
function assemble(asm: Asm[]): Instruction[] {
  const labels = new Map<Label, number>();
  let at = 0;
  for (const line of asm) {
    if (line.op === 'label') labels.set(line.name, at);
    else at += 1;
  }
  const out: Instruction[] = [];
  for (const line of asm) {
    if (line.op === 'label') continue;
    const here = out.length;
    const offset = (jump: Jump): number => {
      if (jump === 0) return 0;
      const target = labels.get(jump);
      if (target === undefined) throw new Error(`seccomp: no label ${jump}`);
      const distance = target - here - 1;
      if (distance < 0 || distance > 255) throw new Error(`seccomp: jump to ${jump} out of range (${distance})`);
      return distance;
    };
    if (line.op === 'ld') out.push({ code: LD_W_ABS, jt: 0, jf: 0, k: line.offset });
    else if (line.op === 'ret') out.push({ code: RET_K, jt: 0, jf: 0, k: line.k });
    else out.push({ code: { jeq: JEQ_K, jge: JGE_K, jset: JSET_K }[line.op], jt: offset(line.jt), jf: offset(line.jf), k: line.k >>> 0 });
  }
  return out;
}

/** struct sock_filter[] in the machine's byte order (little-endian on both ABIs): what bwrap --seccomp reads. */
export function encode(program: Instruction[]): Buffer {
  const buffer = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    buffer.writeUInt16LE(ins.code, i * 8);
    buffer.writeUInt8(ins.jt, i * 8 + 2);
    buffer.writeUInt8(ins.jf, i * 8 + 3);
    buffer.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buffer;
}

/** The compiled filter for this machine, or null on an architecture it has no table for. */
export function compiledFilter(arch: string = process.arch): Buffer | null {
  return arch === 'x64' || arch === 'arm64' ? encode(seccompFilter(arch)) : null;
}
