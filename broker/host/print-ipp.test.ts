// The session's printer on a real Unix socket, spoken to as libcups does (POST of
// application/ipp): it lists itself, takes a Print-Job's document as a job, answers every
// replica's app alike, refuses what it cannot take with an IPP status or a 400, and keeps
// serving after bad input. Mousepad's real dialog against it: test/print-gui.test.ts.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attribute, encodeAttribute, GROUP, OP, parseRequest, STATUS, TAG, type IppRequest } from './ipp.js';
import { MAX_JOB_BYTES } from './print-convert.js';
import { IppPrinter, type IppJob } from './print-ipp.js';

let dir: string;
let printer: IppPrinter;
let jobs: IppJob[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'holdfast-ipp-'));
  jobs = [];
  printer = await IppPrinter.listen(join(dir, 'cups.sock'), (job) => jobs.push(job));
});

afterEach(() => {
  printer.close();
  rmSync(dir, { recursive: true, force: true });
});

function ipp(operation: number, attrs: Buffer[] = [], data: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x0200, 0);
  head.writeUInt16BE(operation, 2);
  head.writeUInt32BE(5, 4);
  const op = [encodeAttribute(TAG.charset, 'attributes-charset', 'utf-8'), encodeAttribute(TAG.language, 'attributes-natural-language', 'en'), ...attrs];
  return Buffer.concat([head, Buffer.of(GROUP.operation), ...op, Buffer.of(GROUP.end), data]);
}

function send(body: Buffer | null, method = 'POST', path = '/'): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: printer.socketPath, agent: false, method, path, headers: { 'Content-Type': 'application/ipp' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

async function waitUntil(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function answer(body: Buffer): Promise<IppRequest> {
  const reply = await send(body);
  expect(reply.status).toBe(200);
  return parseRequest(reply.body);
}

describe('the session’s printer', () => {
  it('lists itself as the default PDF printer, to anyone (the sandbox is another uid)', async () => {
    expect(statSync(printer.socketPath).mode & 0o777).toBe(0o666);
    for (const op of [OP.cupsGetPrinters, OP.cupsGetDefault, OP.getPrinterAttributes]) {
      const r = await answer(ipp(op));
      expect(r.operation).toBe(STATUS.ok);
      expect(r.requestId).toBe(5);
      expect(attribute(r, 'printer-name')).toBe('Holdfast');
      expect(attribute(r, 'printer-uri-supported')).toBe('ipp://localhost/printers/Holdfast');
      expect(attribute(r, 'document-format-default')).toBe('application/pdf');
      expect(Number(attribute(r, 'printer-type')) & 0x20000).toBe(0x20000); // the default
    }
    expect((await answer(ipp(OP.cupsGetClasses))).operation).toBe(STATUS.notFound);
    // No PPD: a dialog then takes the attributes.
    expect((await send(null, 'GET', '/printers/Holdfast.ppd')).status).toBe(404);
  });

  it('takes a Print-Job’s document as a job, numbered in order, done at once', async () => {
    const pdf = Buffer.from('%PDF-1.5\n…a page…\n%%EOF\n');
    const first = await answer(ipp(OP.printJob, [encodeAttribute(TAG.uri, 'printer-uri', 'ipp://localhost:631/printers/Holdfast'), encodeAttribute(TAG.name, 'job-name', 'Mousepad job #1')], pdf));
    expect(first.operation).toBe(STATUS.ok);
    expect(attribute(first, 'job-id')).toBe(1);
    expect(attribute(first, 'job-state')).toBe(9);
    expect(jobs).toEqual([{ title: 'Mousepad job #1', data: pdf, size: pdf.length }]);
    const second = await answer(ipp(OP.printJob, [], pdf));
    expect(attribute(second, 'job-id')).toBe(2);
    expect(jobs[1]!.title).toBe('');
    const asked = await answer(ipp(OP.getJobAttributes, [encodeAttribute(TAG.integer, 'job-id', 2)]));
    expect(attribute(asked, 'job-state')).toBe(9);
    expect((await answer(ipp(OP.getJobAttributes, [encodeAttribute(TAG.integer, 'job-id', 3)]))).operation).toBe(STATUS.notFound);
    expect((await answer(ipp(OP.validateJob))).operation).toBe(STATUS.ok);
  });

  it(`refuses a job over ${MAX_JOB_BYTES / 1048576} MiB, telling the spool its size, and keeps none of it`, async () => {
    const r = await answer(ipp(OP.printJob, [encodeAttribute(TAG.name, 'job-name', 'huge')], Buffer.alloc(MAX_JOB_BYTES + 128 * 1024)));
    expect(r.operation).toBe(STATUS.tooLarge);
    expect(String(attribute(r, 'status-message'))).toMatch(/at most 64 MiB/);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ title: 'huge', data: null });
    expect(jobs[0]!.size).toBeGreaterThan(MAX_JOB_BYTES);
  });

  it('holds one job’s worth of bytes however many connections the app opens', async () => {
    const part = Buffer.alloc(40 * 1048576);
    const whole = ipp(OP.printJob, [encodeAttribute(TAG.name, 'job-name', 'first')], part);
    // The first job's bytes are in, but not its end…
    let first: Promise<{ status: number; body: Buffer }> | null = null;
    const started = new Promise<void>((resolve) => {
      const req = httpRequest({ socketPath: printer.socketPath, agent: false, method: 'POST', path: '/', headers: { 'Content-Type': 'application/ipp', 'Content-Length': whole.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        first = new Promise((done) => res.on('end', () => done({ status: res.statusCode!, body: Buffer.concat(chunks) })));
      });
      req.write(whole.subarray(0, whole.length - 1), () => resolve());
      setTimeout(() => req.end(whole.subarray(whole.length - 1)), 1500);
    });
    await started;
    await new Promise((resolve) => setTimeout(resolve, 300));
    // …so a second one as large, meanwhile, is refused.
    const second = await answer(ipp(OP.printJob, [encodeAttribute(TAG.name, 'job-name', 'second')], part));
    expect(second.operation).toBe(STATUS.tooLarge);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await waitUntil(() => first !== null);
    const firstAnswer = parseRequest((await first!).body);
    expect(firstAnswer.operation).toBe(STATUS.ok);
    expect(jobs.map((j) => [j.title, j.data?.length ?? null])).toEqual([
      ['second', null],
      ['first', part.length],
    ]);
  });

  it('answers bad input with a 400 or an IPP error, and goes on serving', async () => {
    expect((await send(Buffer.from('GET / HTTP/1.0 — not IPP at all'))).status).toBe(400);
    expect((await send(ipp(OP.printJob).subarray(0, 20))).status).toBe(400);
    const old = ipp(OP.cupsGetPrinters);
    old[0] = 9;
    expect((await answer(old)).operation).toBe(STATUS.versionNotSupported);
    expect((await answer(ipp(OP.cancelJob))).operation).toBe(STATUS.notSupported);
    expect(jobs).toHaveLength(0);
    expect(attribute(await answer(ipp(OP.cupsGetPrinters)), 'printer-name')).toBe('Holdfast');
  });
});
