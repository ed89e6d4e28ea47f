// A running session on this node: one app, its owner, and the client attached to it.
// Keeps the numbering the resume protocol rests on — inputs applied once each, in
// order, and output offsets — and turns the client's output acks into flow control.
import { randomBytes } from 'node:crypto';
import { encodeOutput } from '../shared/protocol/index.js';
import type { AppConfig, SandboxProfile } from './config/schema.js';
import { AppProcess, type AppExit } from './host/app-process.js';

export interface SessionPeer {
  sendBinary(frame: Uint8Array, done: () => void): void;
  readonly bufferedAmount: number;
  exited(exit: AppExit, message: string): void;
}

export interface SessionOptions {
  owner: string;
  app: AppConfig;
  profile: SandboxProfile;
  stateDir: string;
  cols: number;
  rows: number;
  window: number;
  onEnd: (session: Session, exit: AppExit) => void;
}

/** Exits this soon after launch mean the app could not really start. */
const EARLY_EXIT_MS = 1500;

export class Session {
  /** Unguessable: 128 random bits. */
  readonly id = randomBytes(16).toString('base64url');
  readonly owner: string;
  readonly app: AppConfig;
  readonly startedAt = Date.now();
  private readonly process: AppProcess;
  private readonly window: number;
  private peer: SessionPeer | null = null;
  private inputSeq = 0;
  private sent = 0;
  private acked = 0;
  cols: number;
  rows: number;
  exit: AppExit | null = null;

  constructor(options: SessionOptions) {
    this.owner = options.owner;
    this.app = options.app;
    this.window = options.window;
    this.cols = options.cols;
    this.rows = options.rows;
    this.process = new AppProcess({
      app: options.app,
      profile: options.profile,
      stateDir: options.stateDir,
      cols: options.cols,
      rows: options.rows,
      onOutput: (data) => this.output(data),
      onExit: (exit) => {
        this.exit = exit;
        this.peer?.exited(exit, this.describeExit(exit));
        options.onEnd(this, exit);
      },
    });
  }

  get pid(): number {
    return this.process.pid;
  }

  attach(peer: SessionPeer): void {
    this.peer = peer;
  }

  /** Applies input `seq` exactly once; returns an error text for out-of-order input. */
  input(seq: number, data: Uint8Array): string | null {
    if (seq <= this.inputSeq) return null; // a duplicate: already applied
    if (seq !== this.inputSeq + 1) return `input ${seq} arrived before input ${this.inputSeq + 1}`;
    this.inputSeq = seq;
    this.process.write(data);
    return null;
  }

  outputAck(offset: number): string | null {
    if (offset > this.sent) return `acknowledged output offset ${offset} beyond what was sent (${this.sent})`;
    if (offset > this.acked) this.acked = offset;
    this.maybeRelease();
    return null;
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.process.resize(cols, rows);
  }

  end(): void {
    this.peer = null;
    this.process.kill();
  }

  private output(data: Buffer): void {
    const frame = encodeOutput(this.inputSeq, this.sent, data);
    this.sent += data.length;
    const peer = this.peer;
    if (!peer) return;
    peer.sendBinary(frame, () => this.maybeRelease());
    if (this.sent - this.acked > this.window || peer.bufferedAmount > this.window) this.process.hold();
  }

  private maybeRelease(): void {
    const peer = this.peer;
    if (!peer) return;
    if (this.sent - this.acked <= this.window / 2 && peer.bufferedAmount <= this.window / 2) this.process.release();
  }

  private describeExit(exit: AppExit): string {
    const name = this.app.name;
    if (exit.signal) return `${name} was stopped by signal ${exit.signal}.`;
    if (exit.exitCode === 0) return `${name} exited.`;
    if (this.inputSeq === 0 && Date.now() - this.startedAt < EARLY_EXIT_MS) {
      return `${name} stopped right after it started (exit code ${exit.exitCode}). Its last output is shown; if it says the command was not found, ask your administrator to check the app's command.`;
    }
    return `${name} exited with code ${exit.exitCode}.`;
  }
}
