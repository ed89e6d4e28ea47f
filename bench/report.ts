// The printed report: the tables and lines `npm run bench` ends with, rendered from the
// result object exactly as it is written to bench-results/*.json (the file
// scripts/bench-pool.mjs reads), so what is printed and what is kept cannot differ.
import { BUDGET, QUICK } from './settings.js';

// render() reads the result back as JSON: each part types its figures where it makes
// them (bench/*.ts); here they are only formatted.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function table(rows: unknown[][], header: string[]): string {
  const widths: number[] = header.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: unknown[]) => cells.map((c, i) => (i === 0 ? String(c ?? '').padEnd(widths[i]!) : String(c ?? '').padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fmtMs = (v: unknown) => (typeof v === 'number' && !Number.isNaN(v) ? `${v.toFixed(v < 10 ? 2 : 1)} ms` : '—');
const fmtUs = (v: unknown) => (typeof v === 'number' && !Number.isNaN(v) ? `${v.toFixed(0)} µs` : '—');
const fmtMB = (v: unknown) => (typeof v === 'number' && !Number.isNaN(v) ? `${v.toFixed(1)} MB/s` : '—');
const fmtKb = (v: unknown) => (typeof v === 'number' && !Number.isNaN(v) ? `${(v / 1024).toFixed(2)} MiB` : '—');

export function render(result: Json): string {
  const out: string[] = [];
  const m = result.machine;
  const src = result.source?.commit ? `  code ${result.source.commit}${result.source.modifiedFiles ? ` + ${result.source.modifiedFiles} modified files` : ''}` : '';
  out.push(`Holdfast bench  ${result.timestamp}${src}  node ${m.node}  ${m.cpus}× ${m.cpuModel}  Linux ${m.kernel}${QUICK ? '  (--quick)' : ''}`);
  const pct = (v: unknown) => (typeof v === 'number' ? `${Math.round(v * 100)} %` : '—');
  const r = result.results;
  const loads = ([['signIn', '1'], ['launch', '2'], ['echo', '3'], ['throughput', '4'], ['memory', '5'], ['failover', '8'], ['replication', '9'], ['rfb', '10'], ['tls', '11'], ['files', '13'], ['sharing', '14'], ['sound', '15']] as const)
    .filter(([k]) => r[k]?.otherLoad)
    .map(([k, n]) => {
      const l = r[k].otherLoad;
      return `${n}: ${pct(l.foreign)}${l.foreign > 0.05 ? ` ⚠${l.top?.length ? ` (${l.top.slice(0, 2).join(', ')})` : ''}` : ''}`;
    });
  const noisy = ['signIn', 'launch', 'echo', 'throughput', 'memory', 'failover', 'replication', 'rfb', 'tls', 'files', 'sharing', 'sound'].some((k: string) => (r[k]?.otherLoad?.foreign ?? 0) > 0.05);
  out.push(
    `Other load on this machine: ${pct(m.cpuBusyBeforeStart)} busy before start${m.waitedForQuietSeconds > 1 ? ` (after waiting ${m.waitedForQuietSeconds} s for quiet)` : ''}; ` +
      `CPU used by others during each part: ${loads.join(', ') || '—'}${noisy ? '  ⚠ parts marked ⚠ are skewed' : ''}`,
  );
  out.push('');
  const rows: unknown[][] = [];
  const err = (k: string) => (result.errors[k] ? `ERROR: ${result.errors[k]}` : null);
  if (r.signIn) {
    const s = r.signIn;
    rows.push(['1  sign-in → app list', fmtMs(s.signInToAppListMs.p50), fmtMs(s.signInToAppListMs.p99), s.runs, `scrypt N=${s.passwordHashCost.N} alone: ${fmtMs(s.scryptAloneMs.p50)}`]);
    rows.push(['     of which auth.signIn', fmtMs(s.signInOnlyMs.p50), fmtMs(s.signInOnlyMs.p99), s.runs, '']);
    rows.push(['     of which apps.list', fmtMs(s.appsListOnlyMs.p50), fmtMs(s.appsListOnlyMs.p99), s.runs, '']);
    rows.push(['     (connect → welcome, before)', fmtMs(s.connectToWelcomeMs.p50), fmtMs(s.connectToWelcomeMs.p99), s.runs, '']);
  } else if (result.errors.signIn) rows.push(['1  sign-in → app list', err('signIn')]);
  if (r.launch) {
    const l = r.launch;
    rows.push(['2  launch → first output', fmtMs(l.launchToFirstOutputMs.p50), fmtMs(l.launchToFirstOutputMs.p99), l.runs, 'app: sh -c "echo ready; exec cat"']);
    rows.push(['     launch → session.started', fmtMs(l.launchToStartedMs.p50), fmtMs(l.launchToStartedMs.p99), l.runs, '']);
    rows.push(['     close → sandbox gone', fmtMs(l.closeToSandboxGoneMs.p50), fmtMs(l.closeToSandboxGoneMs.p99), l.runs, '']);
  } else if (result.errors.launch) rows.push(['2  launch → first output', err('launch')]);
  if (r.echo) {
    const e = r.echo;
    rows.push(['3  keystroke echo, holdfast CLI', fmtUs(e.holdfastUs.p50), fmtUs(e.holdfastUs.p99), e.holdfastUs.n, `budget p50 ≤ ${BUDGET.echoP50Us} µs: ${e.withinBudget ? 'within' : 'OVER'} (CLI PTY + ws + app PTY)`]);
    rows.push(['     floor: bare node-pty cat', fmtUs(e.floorUs.p50), fmtUs(e.floorUs.p99), e.floorUs.n, `ref: node-pty ${BUDGET.reference.nodePtyEchoP50Us} µs, ttyd ${BUDGET.reference.ttydEchoP50Us} µs`]);
    rows.push(['     protocol client (no CLI)', fmtUs(e.protocolClientUs.p50), fmtUs(e.protocolClientUs.p99), e.protocolClientUs.n, 'ws + app PTY: the ttyd-like path']);
    if (e.relayFloorUs) rows.push(['     floor: Node relay in a PTY', fmtUs(e.relayFloorUs.p50), fmtUs(e.relayFloorUs.p99), e.relayFloorUs.n, 'the CLI\'s terminal hop alone: no network, no app']);
    rows.push(['     ratio holdfast CLI / floor', `${e.ratioP50}×`, `${e.ratioP99}×`, '', '']);
  } else if (result.errors.echo) rows.push(['3  keystroke echo', err('echo')]);
  if (rows.length > 0) {
    out.push(table(rows.map((x: Json) => (x.length === 2 ? [x[0], x[1], '', '', ''] : x)), ['Latency', 'p50', 'p99', 'n', 'notes']));
    out.push('');
  }

  if (r.throughput) {
    const t = r.throughput;
    const cpu = (x: Json) => (x ? `${x.user}+${x.sys}` : '');
    const row = (name: string, x: Json) => [
      name,
      fmtMB(x.MBs),
      `${x.seconds} s`,
      x.bytesOk ? 'ok' : `WRONG (${x.bytes}/${x.expectedBytes}, ${x.nonXBytes} bad)`,
      cpu(x.brokerCpu),
      cpu(x.cliCpu),
      cpu(x.readerCpu),
    ];
    const rows4 = [
      row('4  holdfast CLI → PTY', t.cliPty),
      row('   holdfast CLI → pipe', t.cliPipe),
      row('   protocol client (no CLI)', t.protocolClient),
      row('   floor: bare PTY', t.floorPty),
    ];
    out.push(table(rows4, ['Throughput, 100 MiB', 'rate', 'time', 'bytes', 'broker CPU s', 'CLI CPU s', 'reader CPU s']));
    out.push(`   budget ≥ ${t.budgetMBs} MB/s: CLI→PTY ${t.cliPty.MBs >= t.budgetMBs ? 'within' : 'UNDER'}, CLI→pipe ${t.cliPipe.MBs >= t.budgetMBs ? 'within' : 'UNDER'}; ref: ttyd ${BUDGET.reference.ttydMBs} MB/s, bare PTY ~${BUDGET.reference.barePtyMBs} MB/s`);
    out.push(`   vs floor: CLI→PTY ${t.ratioCliPtyToFloor}×, CLI→pipe ${t.ratioCliPipeToFloor}×; ${t.protocolClient.outputFrames} output frames (mean ${t.protocolClient.meanFrameBytes} B payload)`);
    out.push('   (MB = MiB; timed first → last byte received; CPU s = user+sys; reader = this bench process)');
    out.push('');
  } else if (result.errors.throughput) out.push(`4  throughput: ${err('throughput')}`, '');

  if (r.memory) {
    const mm = r.memory;
    const rows5 = mm.levels.map((l: Json) => [
      `5  ${l.sessions} idle session${l.sessions === 1 ? '' : 's'}`,
      fmtKb(l.brokerRssDeltaPerSessionKb),
      fmtKb(l.brokerPssDeltaPerSessionKb),
      fmtKb(l.sandboxRssPerSessionKb),
      fmtKb(l.sandboxPssPerSessionKb),
      `${l.sandboxProcesses}`,
      fmtKb(l.brokerRssKb),
    ]);
    out.push(table(rows5, ['Memory per session', 'broker ΔRSS', 'broker ΔPSS', 'sandbox RSS', 'sandbox PSS', 'sandbox procs', 'broker RSS']));
    out.push(`   baseline broker RSS ${fmtKb(mm.baseline.rssKb)}; ${mm.allSessionsEchoed.echoed}/${mm.allSessionsEchoed.of} idle sessions echoed a keystroke; closing them all took ${mm.teardownSeconds} s; broker RSS after: ${fmtKb(mm.brokerRssAfterTeardownKb)}`);
    out.push('');
  } else if (result.errors.memory) out.push(`5  memory: ${err('memory')}`, '');

  const rs = result.results.resume;
  if (rs) {
    const r = rs.resumeAfterPathBackMs;
    out.push(`7  Resume (issue 3), ${rs.drops} black-holed paths, retried the moment the path returns`);
    out.push(`   path back → live session   p50 ${r.p50.toFixed(1)} ms   p99 ${r.p99.toFixed(1)} ms   budget p50 ≤ ${rs.budget.resumeP50Ms} ms: ${r.p50 <= rs.budget.resumeP50Ms ? 'ok' : 'OVER'}`);
    out.push(`   backoff wait the client had scheduled (reported apart): p50 ${rs.backoffWaitMs.p50} ms, p99 ${rs.backoffWaitMs.p99} ms`);
    out.push(`   snapshot size: 80×24 ${rs.snapshotBytes['80x24']} B, 200×60 ${rs.snapshotBytes['200x60']} B (screen + scrollback, xterm serialize)`);
    out.push('');
  } else if (result.errors.resume) out.push(`7  resume: ${err('resume')}`, '');

  const fo = result.results.failover;
  if (fo) {
    const st = fo.settings;
    const row = (name: string, x: Json, note = '') => [name, fmtMs(x.ms.p50), fmtMs(x.ms.p99), fmtMs(x.ms.min), fmtMs(x.ms.max), `${x.ms.n ?? 0}${x.failed ? ` (+${x.failed} failed)` : ''}`, note];
    const ok = (v: Json) => (v ? 'ok' : 'OVER');
    out.push(
      table(
        [
          row('8  kill -9 of the primary\'s node', fo.kill9, `budget p50 ≤ ${fo.budget.kill9P50Ms} ms: ${ok(fo.withinBudget.kill9P50)}, p99 ≤ ${fo.budget.kill9P99Ms} ms: ${ok(fo.withinBudget.kill9P99)}`),
          row('   SIGSTOP of the primary\'s node', fo.sigstop, `budget p99 ≤ ${fo.budget.sigstopP99Ms} ms (lease TTL + 1 s): ${ok(fo.withinBudget.sigstopP99)}`),
          row('   kill -9, client on the primary', fo.clientOnPrimary.kill9, 'the client\'s own node died'),
          row('   SIGSTOP, client on the primary', fo.clientOnPrimary.sigstop, ''),
          ...(fo.move ? [row('   planned move (drain) to the standby', fo.move, `${fo.moveVsKill9P50 ?? '?'}× kill -9's p50, same run`)] : []),
        ],
        ['Failover: fault → live output', 'p50', 'p99', 'min', 'max', 'n', 'notes'],
      ),
    );
    const at = (k: string) => [fo.kill9, fo.sigstop, ...(fo.move ? [fo.move] : [])].map((x: Json) => fmtMs(x[k].p50)).join(' / ');
    out.push(`   timeline, p50 from the fault (kill -9 / SIGSTOP${fo.move ? ' / move' : ''}): client sees the link lost ${at('faultToLinkLostMs')} (then waits its backoff ${at('backoffScheduledMs')}); standby promoted ${at('faultToPromotedMs')} (promotion itself ${at('promotionMs')}); host logs the resume ${at('faultToResumedOnHostMs')}; client streaming ${at('faultToStreamingMs')}`);
    if (fo.move) out.push(`   link lost → live output, p50 (what the person sees as the reconnect overlay): kill -9 ${fmtMs(fo.kill9.linkLostToLiveMs.p50)}, SIGSTOP ${fmtMs(fo.sigstop.linkLostToLiveMs.p50)}, planned move ${fmtMs(fo.move.linkLostToLiveMs.p50)}`);
    out.push(`   client on the standby's node / the third node, p50: kill -9 ${fmtMs(fo.kill9.byGateway.standby.p50)} / ${fmtMs(fo.kill9.byGateway.other.p50)}; SIGSTOP ${fmtMs(fo.sigstop.byGateway.standby.p50)} / ${fmtMs(fo.sigstop.byGateway.other.p50)}`);
    out.push(`   3 nodes, 1 etcd member; heartbeatMs ${st.heartbeatMs} (client silence ${st.clientSilenceMs} ms), lease TTL ${st.leaseTtlMs} ms, keep-alive ${st.keepAliveMs} ms; faults per node: ${Object.entries(fo.faultedNodes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push(`   ${fo.anomalies.length} anomalies with node log lines in the JSON (slow or failed failovers, lost/doubled input); ${fo.sessionsNotWholeAgain} sessions did not get a joined standby back within 20 s (ended and replaced); ${fo.sessionsRetired} retired for long logs`);
    out.push('');
  } else if (result.errors.failover) out.push(`8  failover: ${err('failover')}`, '');

  const rp = result.results.replication;
  if (rp) {
    out.push(
      table(
        [
          ['9  2 replicas (primary + standby)', fmtUs(rp.twoReplicasUs.p50), fmtUs(rp.twoReplicasUs.p99), rp.twoReplicasUs.n, `primary ${rp.placement.twoReplicas.primary}, standby ${rp.placement.twoReplicas.standbys.join(', ')}${rp.placement.bothOnNode1Direct ? '' : ' ⚠ primaries not both on the node the clients use'}`],
          ['   1 replica (replicas: 1)', fmtUs(rp.oneReplicaUs.p50), fmtUs(rp.oneReplicaUs.p99), rp.oneReplicaUs.n, `primary ${rp.placement.oneReplica.primary}`],
          ['   added by replication', fmtUs(rp.addedP50Us), fmtUs(rp.addedP99Us), '', `budget p50 ≤ +${rp.budgetAddedP50Us} µs: ${rp.withinBudget ? 'within' : 'OVER'}`],
          ['   ratio 2 / 1', `${rp.ratioP50}×`, `${rp.ratioP99}×`, '', ''],
          ...(rp.shim
            ? [
                ['   2 replicas, shim on (log clock)', fmtUs(rp.shim.onUs.p50), fmtUs(rp.shim.onUs.p99), rp.shim.onUs.n, `primary ${rp.shim.placement.on.primary}`],
                ['   2 replicas, shim off (host clock)', fmtUs(rp.shim.offUs.p50), fmtUs(rp.shim.offUs.p99), rp.shim.offUs.n, `primary ${rp.shim.placement.off.primary}`],
                ['   ratio on / off', `${rp.shim.ratioP50}×`, `${rp.shim.ratioP99}×`, '', `budget p50 ≤ ${rp.shim.budgetRatio}×: ${rp.shim.withinBudget ? 'within' : 'OVER'}`],
              ]
            : []),
        ],
        ['Keystroke echo, cat, client on the primary\'s node', 'p50', 'p99', 'n', 'notes'],
      ),
    );
    out.push('');
  } else if (result.errors.replication) out.push(`9  replication: ${err('replication')}`, '');

  const gui = result.results.rfb;
  if (gui) {
    const f = gui.fps;
    const c = gui.fpsContinuous;
    const k = gui.keyToFrameMs;
    const row = (name: string, x: Json, l?: Json) => [name, `${x.updatesPerSecond}/s`, `${(x.bytesPerUpdate / 1024).toFixed(1)} KiB`, fmtMB(x.MBs), `${Math.round(x.relayCpuShare * 100)} %`, l ? fmtMs(l.p50) : '', l ? fmtMs(l.p99) : '', l ? `${l.n ?? 0}` : ''];
    const ratioRow = (name: string, x: Json, l?: Json) => [name, `${x.ratioUpdatesPerSecond}×`, `${x.ratioBytesPerUpdate}×`, `${x.ratioMBs}×`, '', l ? `${l.ratioP50}×` : '', l ? `${l.ratioP99}×` : '', ''];
    out.push(
      table(
        [
          row('10 continuous updates (as noVNC)', c.holdfast),
          row('   reference: websockify', c.reference),
          ratioRow('   ratio holdfast / reference', c),
          row('   one request at a time', f.holdfast, k.holdfast),
          row('   reference: websockify', f.reference, k.reference),
          ratioRow('   ratio holdfast / reference', f, k),
        ],
        [`GUI (RFB) ${gui.geometry}, same Xvnc`, 'updates', 'bytes/update', 'rate', 'relay CPU', 'key→frame p50', 'p99', 'presses'],
      ),
    );
    const enc = gui.encodingsSeen.preferredByBytes;
    const part = (v: Json) => (v.fpsAtLeastReference && v.bytesPerUpdateAtMostReference ? 'within' : `NOT MET (fps ${v.fpsAtLeastReference ? 'ok' : 'below'}, bytes ${v.bytesPerUpdateAtMostReference ? 'ok' : 'above'})`);
    out.push(
      `   budget (fps ≥ reference and bytes/update ≤ reference, with continuous updates as noVNC runs): ${part(gui.budgetParts.continuous)}; one request at a time (diagnostic): ${part(gui.budgetParts.request)}; ` +
        `Xvnc's encoding by bytes: ${enc.holdfast} (holdfast) / ${enc.reference} (reference)`,
    );
    out.push('   one run moves these ratios by ±0.1: judge the budget over many runs, `npm run bench:pool -- bench-results/bench-*.json`');
    out.push(`   updates/s per block: continuous holdfast ${c.holdfast.perBlock.map((b: Json) => b.updatesPerSecond).join(' ')}, reference ${c.reference.perBlock.map((b: Json) => b.updatesPerSecond).join(' ')}; one request at a time holdfast ${f.holdfast.perBlock.map((b: Json) => b.updatesPerSecond).join(' ')}, reference ${f.reference.perBlock.map((b: Json) => b.updatesPerSecond).join(' ')}`);
    out.push(`   relay per update: CPU ${c.holdfast.relayCpuUsPerUpdate} / ${c.reference.relayCpuUsPerUpdate} µs (holdfast / websockify; in the kernel ${c.holdfast.relaySystemUsPerUpdate} / ${c.reference.relaySystemUsPerUpdate}) continuous, ${f.holdfast.relayCpuUsPerUpdate} / ${f.reference.relayCpuUsPerUpdate} µs (kernel ${f.holdfast.relaySystemUsPerUpdate} / ${f.reference.relaySystemUsPerUpdate}) one request at a time`);
    out.push(`   relay per read of the display (one message each): CPU ${c.holdfast.relayCpuUsPerMessage} / ${c.reference.relayCpuUsPerMessage} µs continuous (${c.holdfast.relayMessagesPerUpdate} / ${c.reference.relayMessagesPerUpdate} reads per update), ${f.holdfast.relayCpuUsPerMessage} / ${f.reference.relayCpuUsPerMessage} µs one request at a time (${f.holdfast.relayMessagesPerUpdate} / ${f.reference.relayMessagesPerUpdate}); the viewer's own CPU per update ${c.holdfast.viewerCpuUsPerUpdate} / ${c.reference.viewerCpuUsPerUpdate} µs continuous, ${f.holdfast.viewerCpuUsPerUpdate} / ${f.reference.viewerCpuUsPerUpdate} µs one request at a time; the node's read and write system calls per update ${c.holdfast.relayReadsPerUpdate ?? '—'} and ${c.holdfast.relayWritesPerUpdate ?? '—'} continuous, ${f.holdfast.relayReadsPerUpdate ?? '—'} and ${f.holdfast.relayWritesPerUpdate ?? '—'} one request at a time`);
    out.push(`   continuous: fences answered ${c.fencesAnswered.holdfast} / ${c.fencesAnswered.reference}; per update, gap after the last ${fmtMs(c.holdfast.requestToFirstByteMs)} / ${fmtMs(c.reference.requestToFirstByteMs)}, first → last byte ${fmtMs(c.holdfast.firstToLastByteMs)} / ${fmtMs(c.reference.firstToLastByteMs)}`);
    out.push(`   one request at a time: an update covers ${Math.round(f.holdfast.screenPerUpdate * 100)} % / ${Math.round(f.reference.screenPerUpdate * 100)} % of the screen (holdfast / reference); per update, request → first byte ${fmtMs(f.holdfast.requestToFirstByteMs)} / ${fmtMs(f.reference.requestToFirstByteMs)}, first → last byte ${fmtMs(f.holdfast.firstToLastByteMs)} / ${fmtMs(f.reference.firstToLastByteMs)}`);
    out.push('   (relay CPU: the broker node / websockify, share of one core, during the fps blocks; MB = MiB)');
    out.push('');
  } else if (result.errors.rfb) out.push(`10 GUI (RFB): ${err('rfb')}`, '');

  const tls = result.results.tls;
  if (tls) {
    out.push(
      table(
        [
          ['11 connect → welcome', fmtMs(tls.connectMs.ws.p50), fmtMs(tls.connectMs.wss.p50), `${tls.connectMs.ratioP50}×`, ''],
          ['   keystroke echo p50', fmtUs(tls.echoUs.ws.p50), fmtUs(tls.echoUs.wss.p50), `${tls.echoUs.ratioP50}×`, `+${fmtUs(tls.echoUs.addedP50Us)}`],
          ['   keystroke echo p99', fmtUs(tls.echoUs.ws.p99), fmtUs(tls.echoUs.wss.p99), `${tls.echoUs.ratioP99}×`, ''],
          ['   100 MiB to the protocol client', fmtMB(tls.throughputMBs.ws), fmtMB(tls.throughputMBs.wss), `${tls.throughputMBs.ratio}×`, ''],
        ],
        ['TLS (node.tls) against plain', 'ws', 'wss', 'wss / ws', 'added'],
      ),
    );
    out.push('');
  } else if (result.errors.tls) out.push(`11 TLS: ${err('tls')}`, '');

  const files = result.results.files;
  if (files) out.push(...renderFiles(files), '');
  else if (result.errors.files) out.push(`13 files: ${err('files')}`, '');

  const sharing = result.results.sharing;
  if (sharing) out.push(...renderSharing(sharing), '');
  else if (result.errors.sharing) out.push(`14 sharing: ${err('sharing')}`, '');

  const sound = result.results.sound;
  if (sound) out.push(...renderSound(sound), '');
  else if (result.errors.sound) out.push(`15 sound: ${err('sound')}`, '');

  const cov = result.results.coverage;
  if (cov) {
    const yes = (v: boolean | null) => (v === null ? '—' : v ? 'yes' : 'NO');
    const rows = cov.apps.map((app: Json) =>
      app.skipped
        ? [app.app, 'not run', '', '', '', '', '', app.skipped]
        : [
            app.app,
            app.passed ? 'kept' : app.lost ? 'LOST' : 'NOT kept',
            `${app.divergencesBeforeKill}/${app.divergencesAfterKill}`,
            yes(app.screenKept),
            yes(app.filesKept),
            yes(app.matchesReference),
            app.killToLiveMs === null ? '—' : fmtMs(app.killToLiveMs),
            [app.lost, ...app.notes, ...app.divergenceDetails, app.standbyBack === false ? 'no standby in step again within 20 s' : null].filter(Boolean).join('; ').slice(0, 140),
          ],
    );
    out.push(table(rows, ['12 Coverage: app, kill -9 halfway', 'state', 'diverged before/after', 'screen kept', 'files kept', 'as reference', 'kill → live', 'notes']));
    out.push(`   kept: terminal apps ${pct(cov.terminalKept)}, GUI apps ${pct(cov.guiKept)}; files changed without a divergence: ${cov.filesChangedSilently.length === 0 ? 'none' : cov.filesChangedSilently.join(', ')}; kill → live p50 ${fmtMs(cov.killToLiveMs?.p50)}, max ${fmtMs(cov.killToLiveMs?.max)}`);
    out.push('');
  } else if (result.errors.coverage) out.push(`12 coverage: ${err('coverage')}`, '');

  if (result.checks.length > 0) {
    out.push('6  Correctness');
    for (const c of result.checks) out.push(`   ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}${c.pass ? '' : `  — ${summarize(c.detail)}`}`);
    out.push('');
  }
  if (result.errors.fatal) out.push(`   bench error: ${result.errors.fatal.split('\n')[0]}`);
  out.push(`   cleanup: ${result.cleanup ? `${result.cleanup.leftover} leftover processes, ${result.cleanup.killedHard} needed SIGKILL` : '—'}; total ${result.seconds} s`);
  return out.join('\n');
}

/** Part 13 (files.ts): MB/s against the bare WebSocket floor, and echo during an upload against idle. */
function renderFiles(f: Json): string[] {
  const ok = (v: boolean) => (v ? 'within' : 'NOT MET');
  const runs = (list: Json[]) => list.map((t: Json) => `${t.MBs}${t.shaOk ? '' : '✗'}`).join(' ');
  const cpu = (list: Json[]) => {
    const last = list.at(-1)?.cpu ?? {};
    return Object.entries(last).map(([k, v]) => `${k} ${v}`).join(', ');
  };
  const m = f.MBs;
  const out = [
    table(
      [
        ['13 floor: bare ws, 64 KiB messages', fmtMB(m.floorUp), '', fmtMB(m.floorDown), '', `${runs(f.runs.up.floor)} / ${runs(f.runs.down.floor)}`],
        ['   1 replica', fmtMB(m.upload1), `${f.ratios.upload1}×`, fmtMB(m.download1), `${f.ratios.download1}×`, `${runs(f.runs.up.one)} / ${runs(f.runs.down.one)}`],
        ['   2 replicas', fmtMB(m.upload2), `${f.ratios.upload2}×`, fmtMB(m.download2), `${f.ratios.download2}×`, `${runs(f.runs.up.two)} / ${runs(f.runs.down.two)}`],
        ...(m.httpDown ? [['   ref: bare node:http GET, 64 KiB writes', '', '', fmtMB(m.httpDown), `${f.ratios.httpDown}×`, `  / ${runs(f.runs.downHttp)}`]] : []),
      ],
      [`Files, ${Math.round(f.bytes / 2 ** 20)} MiB over loopback`, 'upload', '/ floor', 'download', '/ floor', 'MB/s per run, up / down'],
    ),
    `   budget: upload 1 replica ≥ ${f.budget.upload1}× ${ok(f.withinBudget.upload1)}, 2 replicas ≥ ${f.budget.upload2}× ${ok(f.withinBudget.upload2)}; download ≥ ${f.budget.download}× ${ok(f.withinBudget.download)}; SHA-256 of every transfer ${f.allShaOk ? 'right' : 'WRONG (✗ above)'}` +
      (f.placement.placedAsMeant ? '' : '  ⚠ primaries not both on node-1'),
    ...(m.httpDown ? [`   download against the bare HTTP reference: 1 replica ${f.ratios.download1VsHttp}×, 2 replicas ${f.ratios.download2VsHttp}×`] : []),
    `   CPU s of the last upload: 1 replica ${cpu(f.runs.up.one)}; 2 replicas ${cpu(f.runs.up.two)}; floor ${cpu(f.runs.up.floor)}`,
    `   CPU s of the last download: 1 replica ${cpu(f.runs.down.one)}; 2 replicas ${cpu(f.runs.down.two)}; floor ${cpu(f.runs.down.floor)}${m.httpDown ? `; bare HTTP ${cpu(f.runs.downHttp)}` : ''}`,
    '',
  ];
  const rows = (['one', 'two'] as const).flatMap((k) => {
    const e = f.echo[k];
    const name = k === 'one' ? '1 replica' : '2 replicas';
    return [
      [`   ${name}, idle`, fmtUs(e.idleUs.p50), fmtUs(e.idleUs.p99), e.idleUs.n, `bench loop delay p99 ${e.benchLoopDelayP99Ms.idle.join(' ')} ms`],
      [`   ${name}, during an upload`, fmtUs(e.duringUs.p50), fmtUs(e.duringUs.p99), e.duringUs.n, `uploads ${e.uploadsDuringMBs.join(' ')} MB/s; bench loop delay p99 ${e.benchLoopDelayP99Ms.during.join(' ')} ms`],
      [`   ratio during / idle`, `${e.ratioP50}×`, `${e.ratioP99}×`, '', `budget p99 ≤ ${f.budget.echoP99Ratio}×: ${ok(e.withinBudget)}`],
    ];
  });
  rows[0]![0] = `13${String(rows[0]![0]).slice(2)}`;
  out.push(table(rows, ['Keystroke echo, same session', 'p50', 'p99', 'n', 'notes']));
  out.push('   (MB = MiB; a transfer is timed whole: the upload from its begin to the final answer, the download to its last byte; medians of the runs)');
  return out;
}

/** Part 14 (sharing.ts): the owner's echo with viewers and recorded, against neither in the same rounds; a recording's size. */
function renderSharing(sh: Json): string[] {
  const ok = (v: boolean) => (v ? 'within' : 'NOT MET');
  const note = (r: Json) => `pooled p50 ${r.pooled}×, p99 ${r.p99Pooled}×; above 1 in ${r.roundsAbove1} of ${r.perRound.length} rounds`;
  const rows = (m: Json, head: string, budgets: boolean) => {
    const e = m.echoUs;
    const cpu = m.nodeCpuUsPerKey;
    const r = m.ratioP50;
    const row = (name: string, c: string, budget: string) => [name, fmtUs(e[c].p50), fmtUs(e[c].p99), e[c].n, `${cpu[c]} µs`, r[c] ? `${r[c].medianOfRounds}×` : '', r[c] ? `${budget}${note(r[c])}` : ''];
    return [
      row(`${head}nobody watching, not recorded`, 'viewers0', ''),
      row('   1 viewer', 'viewers1', ''),
      row('   5 viewers', 'viewers5', budgets ? `budget ≤ ${sh.budget.fiveViewersP50Ratio}×: ${ok(sh.withinBudget.fiveViewers)}; ` : ''),
      row('   recorded (nobody watching), against the control', 'recorded', budgets ? `budget ≤ ${sh.budget.recordingP50Ratio}×: ${ok(sh.withinBudget.recording)}; ` : ''),
      row('   control: same app, not recorded, never watched', 'control', 'A/A: two sessions alike; '),
    ];
  };
  const z = sh.recordingSize;
  const p = sh.paced;
  return [
    table(
      [...rows(sh, '14 ', true), ...rows(p, `   paced (${p.gapMs} ms after each echo): `, false)],
      ['Owner\'s keystroke echo, cat', 'p50', 'p99', 'n', 'node CPU/key', 'p50 ratio', 'notes'],
    ),
    `   p50 ratio: the median over rounds (${sh.rounds}; paced ${p.rounds}) of the round's p50 against the same round's baseline (viewers and the control: the owner's session unwatched; recorded: the control); viewers read every frame (${sh.read.gaps + p.read.gaps} breaks; caught up ${fmtMs(sh.read.catchUpMs.p50)} after a block, p50)`,
    `   recording a typing session (bash, ${z.keysPerSecond} keys/s for ${z.seconds} s): ${(z.bytesPerMinute / 1024).toFixed(1)} KiB a minute (output ${(z.outputBytesPerMinute / 1024).toFixed(1)}, input ${(z.inputBytesPerMinute / 1024).toFixed(1)} KiB; ${z.events.output} output and ${z.events.input} input events); the whole file ${(z.fileBytesAtEnd / 1024).toFixed(1)} KiB`,
  ];
}

/** Part 15 (sound.ts): a click's write → decoded latency against PulseAudio alone; bit rate; the node's CPU per playing session. */
function renderSound(so: Json): string[] {
  const ok = (v: boolean) => (v ? 'within' : 'NOT MET');
  const h = so.latency.holdfast;
  const f = so.latency.floor;
  const row = (name: string, x: Json, notes = '') => [name, fmtMs(x.p50), fmtMs(x.p99), fmtMs(x.max), x.n, notes];
  const b = so.bitRate;
  const c = so.cpu;
  const kbit = (x: Json) => `${x.payloadKbitPerSoundSecond} kbit/s Opus, ${x.frameKbitPerSoundSecond} as AUDIO frames, ${x.wsKbitPerSoundSecond} in WebSocket frames (${x.meanPacketBytes} B a packet)`;
  return [
    table(
      [
        row('15 app\'s write → decoded output', h.writeToOutputMs, `budget p50 ≤ ${so.budget.latencyP50Ms} ms: ${ok(so.withinBudget.latencyP50)}, p99 ≤ ${so.budget.latencyP99Ms} ms: ${ok(so.withinBudget.latencyP99)}; ${h.lost} lost`),
        row('   floor: app\'s write → parec\'s read', f.writeToOutputMs, `PulseAudio alone, same app and server, no sandbox; ${f.lost} lost`),
        ['   added by Holdfast', fmtMs(so.addedToFloorMs.p50), fmtMs(so.addedToFloorMs.p99), '', '', 'a whole 20 ms packet, Opus\'s lookahead, node, WebSocket, decoding'],
        row('   key → decoded output', h.keyToOutputMs, `of which key → app p50 ${fmtMs(h.keyToAppMs.p50)}, the app's wait for room p50 ${fmtMs(h.appWaitMs.p50)}`),
      ],
      ['Sound, a click on loopback', 'p50', 'p99', 'max', 'n', 'notes'],
    ),
    `   onset p50 ${fmtMs(h.onsetOffsetMs.p50)} into its packet; in the first packet after a silence for ${h.afterSilence} of ${h.writeToOutputMs.n} clicks, in the next for the rest (at ${fmtMs(h.onsetOffsetInNextPacketMs.min)}–${fmtMs(h.onsetOffsetInNextPacketMs.max)} into it: Opus's 6.5 ms lookahead); decoding a packet p50 ${h.decodeUs.p50} µs`,
    `   the sound servers (pactl, session / floor): sink latency configured ${serverMs(so, 'holdfast', 'sinks')} / ${serverMs(so, 'floor', 'sinks')} (what the click's stream asks), its monitor ${serverMs(so, 'holdfast', 'sources')} / ${serverMs(so, 'floor', 'sources')} (parec's --latency-msec); pipe to pacat at the click p50 ${h.pipeBytes.p50} B`,
    `   ${so.bursts.bursts} bursts of ${so.bursts.writtenMs} ms stopping dead: decoded p50 ${fmtMs(so.bursts.decodedMs.p50)} (min ${fmtMs(so.bursts.decodedMs.min)}); ${so.bursts.withStraySound} came with loud sound not theirs${so.bursts.withStraySound ? ` (p50 ${fmtMs(so.bursts.straySoundMs.p50)} of it)` : ''}`,
    `   bit rate (budget ≤ ${so.budget.kbitPerSecond} kbit/s, AUDIO frames: ${ok(so.withinBudget.bitRate)}): tone ${kbit(b.tone)}; noise ${kbit(b.noise)}`,
    `   node CPU per playing session (node + its parec, listened against nobody listening, median of ${c.rounds} rounds): ${c.perPlayingSessionPct.medianOfRounds} % of a core (node ${c.perPlayingSessionNodeOnlyPct}, parec ${c.perPlayingSessionParecPct}), ` +
      `${c.cpuSecondsPerAudioMinute} CPU s per audio-minute; budget ≤ ${so.budget.cpuPctPerSession} %: ${ok(so.withinBudget.cpu)}; per round ${c.perPlayingSessionPct.perRound.join(' ')}`,
    `   listened to a silent sound server: ${c.perSilentSessionPct.medianOfRounds} % a session; the app's PulseAudio per playing session ${c.pulseaudioPerPlayingSessionPct.listened} % listened, ${c.pulseaudioPerPlayingSessionPct.notListened} % not (the app's cost, not the node's); ` +
      `${c.sessions.playing} playing sessions (${c.sessions.tone} tone, ${c.sessions.noise} noise), ${c.sessions.quiet} silent, ${c.windowMs / 1000} s windows${c.soundAsExpected ? '' : '  ⚠ sound came or missed where it should not (windows in the JSON)'}`,
  ];
}

/** A sound server's configured latency as pactl gave it (the first sink or source; [latency, configured] µs). */
const serverMs = (so: Json, path: string, kind: string) => {
  const us = so.latency.serverLatenciesUs?.before?.[path]?.[kind]?.[0]?.[1];
  return typeof us === 'number' && us >= 0 ? fmtMs(us / 1000) : '—';
};

function summarize(detail: Json): string {
  if (!detail) return '';
  const parts = [];
  if (detail.problems?.length) parts.push(detail.problems.join('; '));
  if (detail.contentProblem) parts.push(detail.contentProblem);
  if (detail.heldDuringStall === false) parts.push('not held during the stall (see timeline in JSON)');
  for (const k of ['exitCode', 'cliExitCode', 'closeCode']) if (k in detail) parts.push(`${k} ${detail[k]}`);
  if (detail.stderr) parts.push(`stderr ${JSON.stringify(detail.stderr.slice(-90))}`);
  if (detail.outputTail) parts.push(`output ends ${JSON.stringify(detail.outputTail.slice(-70))}`);
  if (detail.error) parts.push(detail.error);
  return parts.join('; ');
}

