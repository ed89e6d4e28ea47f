import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_ARCH,
  CLONE_NEW_NAMESPACES,
  DENIED,
  ENOSYS,
  EPERM,
  RET,
  TIOCLINUX,
  TIOCSTI,
  compiledFilter,
  encode,
  seccompFilter,
  type Instruction,
  type SeccompArch,
} from './seccomp.js';

/** A classic-BPF interpreter for what the kernel would run on one syscall (the encoded bytes, not the objects). */
function run(bytes: Buffer, data: { nr: number; arch: number; args?: number[] }): number {
  const program: Instruction[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    program.push({ code: bytes.readUInt16LE(at), jt: bytes[at + 2]!, jf: bytes[at + 3]!, k: bytes.readUInt32LE(at + 4) });
  }
  const word = (offset: number): number => {
    if (offset === 0) return data.nr >>> 0;
    if (offset === 4) return data.arch >>> 0;
    const arg = (offset - 16) / 8;
    if (!Number.isInteger(arg)) return 0; // high words: the tests use 32-bit arguments
    return (data.args?.[arg] ?? 0) >>> 0;
  };
  let acc = 0;
  for (let pc = 0; pc < program.length; pc += 1) {
    const ins = program[pc]!;
    switch (ins.code) {
      case 0x20:
        acc = word(ins.k);
        break;
      case 0x15:
        pc += acc === ins.k ? ins.jt : ins.jf;
        break;
      case 0x35:
        pc += acc >= ins.k ? ins.jt : ins.jf;
        break;
      case 0x45:
        pc += (acc & ins.k) >>> 0 !== 0 ? ins.jt : ins.jf;
        break;
      case 0x06:
        return ins.k >>> 0;
      default:
        throw new Error(`unknown opcode ${ins.code}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const nrs = {
  x64: { read: 0, write: 1, ioctl: 16, personality: 135, clone: 56, ptrace: 101, mount: 165, keyctl: 250, init_module: 175, clone3: 435 },
  arm64: { read: 63, write: 64, ioctl: 29, personality: 92, clone: 220, ptrace: 117, mount: 40, keyctl: 219, init_module: 105, clone3: 435 },
};

describe.each(['x64', 'arm64'] as SeccompArch[])('seccomp filter (%s)', (arch) => {
  const bytes = encode(seccompFilter(arch));
  const nr = nrs[arch];
  const call = (n: number, args: number[] = []) => run(bytes, { nr: n, arch: AUDIT_ARCH[arch], args });

  it('allows ordinary syscalls and denies the listed ones with their verdict', () => {
    expect(call(nr.read)).toBe(RET.ALLOW);
    expect(call(nr.write)).toBe(RET.ALLOW);
    expect(call(nr.ptrace)).toBe(RET.ERRNO | EPERM);
    expect(call(nr.mount)).toBe(RET.ERRNO | EPERM);
    expect(call(nr.keyctl)).toBe(RET.ERRNO | EPERM);
    expect(call(nr.init_module)).toBe(RET.KILL_PROCESS);
    expect(call(nr.clone3)).toBe(RET.ERRNO | ENOSYS);
    for (const [name, x64, arm64, verdict] of DENIED) {
      const n = arch === 'x64' ? x64 : arm64;
      if (n === null) continue;
      const expected = verdict === 'kill' ? RET.KILL_PROCESS : RET.ERRNO | (verdict === 'enosys' ? ENOSYS : EPERM);
      expect(call(n), name).toBe(expected);
    }
  });

  it('denies terminal injection ioctls and nothing else of ioctl', () => {
    expect(call(nr.ioctl, [0, TIOCSTI])).toBe(RET.ERRNO | EPERM);
    expect(call(nr.ioctl, [0, TIOCLINUX])).toBe(RET.ERRNO | EPERM);
    expect(call(nr.ioctl, [0, 0x5413 /* TIOCGWINSZ */])).toBe(RET.ALLOW);
    expect(call(nr.ioctl, [0, 0x5410 /* TIOCSPGRP: job control */])).toBe(RET.ALLOW);
  });

  it('allows clone of threads and processes, not of namespaces', () => {
    expect(call(nr.clone, [0x3d0f00 /* glibc pthread_create */])).toBe(RET.ALLOW);
    expect(call(nr.clone, [0x01200011 /* fork */])).toBe(RET.ALLOW);
    expect(call(nr.clone, [0x10000000 /* CLONE_NEWUSER */])).toBe(RET.ERRNO | EPERM);
    expect(call(nr.clone, [CLONE_NEW_NAMESPACES & 0x20000 /* CLONE_NEWNS */])).toBe(RET.ERRNO | EPERM);
  });

  it('allows only the usual personalities', () => {
    expect(call(nr.personality, [0xffffffff])).toBe(RET.ALLOW);
    expect(call(nr.personality, [0])).toBe(RET.ALLOW);
    expect(call(nr.personality, [0x0040000 /* ADDR_NO_RANDOMIZE */])).toBe(RET.ERRNO | EPERM);
  });

  it('kills syscalls of any other ABI', () => {
    const other = arch === 'x64' ? AUDIT_ARCH.arm64 : AUDIT_ARCH.x64;
    expect(run(bytes, { nr: nr.read, arch: other })).toBe(RET.KILL_PROCESS);
    expect(run(bytes, { nr: nr.read, arch: 0x40000003 /* i386 */ })).toBe(RET.KILL_PROCESS);
    if (arch === 'x64') expect(call(0x40000000 + 101 /* x32 ptrace */)).toBe(RET.KILL_PROCESS);
  });
});

describe('seccomp tables', () => {
  it('match the kernel headers where they are installed', (ctx) => {
    const headers = { x64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h', arm64: '/usr/include/asm-generic/unistd.h' };
    if (!existsSync(headers.x64) || !existsSync(headers.arm64)) return ctx.skip();
    const table = (file: string) => {
      const found = new Map<string, number>();
      for (const match of readFileSync(file, 'utf8').matchAll(/#define __NR(?:3264)?_(\w+)\s+(\d+)/g)) found.set(match[1]!, Number(match[2]));
      return found;
    };
    const x64 = table(headers.x64);
    const arm64 = table(headers.arm64);
    for (const [name, x, a] of DENIED) {
      expect(x64.get(name), `${name} on x86_64`).toBe(x);
      // asm-generic omits the syscalls aarch64 never had (iopl, modify_ldt, …).
      expect(arm64.get(name) ?? null, `${name} on aarch64`).toBe(a);
    }
  });

  it('compiles for this machine, and not for an ABI it has no table for', () => {
    expect(compiledFilter('x64')!.length % 8).toBe(0);
    expect(compiledFilter('ia32')).toBeNull();
  });
});
