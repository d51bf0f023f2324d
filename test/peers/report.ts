/**
 * The comparison of the two pytest runs: per test in-process vs through the platform, the totals,
 * the findings (findings.ts) with their counts, and the check against test/peers/expected.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeployedApp } from './deploy.js';
import type { EnvironmentCheck } from './environment.js';
import { classify, findingById, FINDINGS, UNCLASSIFIED, type FindingKind } from './findings.js';
import type { ProbeResult } from './probes.js';
import type { PytestRun, TestRecord } from './pytest-run.js';
import type { RunStats } from './runstats.js';

/** test/peers/expected.json: the platform-only failures known today, node id → finding id. */
export interface Expected {
  failures: Record<string, string>;
}

export interface ReportInput {
  version: string;
  src: string;
  topics: string[];
  uncollected: Record<string, string>;
  inprocess: PytestRun;
  platform: PytestRun;
  deployed: DeployedApp[];
  refused: { key: string; reason: string }[];
  environment: EnvironmentCheck;
  probes: ProbeResult[] | null;
  runs: RunStats | null;
  sandbox: string;
  expected: Expected;
  seconds: number;
  platformLogs: string[];
}

export type PlatformStatus = 'passed' | 'failed' | 'skipped' | 'excluded' | 'not-applicable' | 'not-routed';

export interface TestRow {
  nodeid: string;
  inprocess: TestRecord['outcome'];
  platform: PlatformStatus;
  /** Exclusion reason, or why a test is not applicable. */
  reason?: string;
  finding?: string;
  message?: string;
  apps?: string[];
}

export interface FindingRow {
  id: string;
  title: string;
  kind: FindingKind;
  intermittent: boolean;
  /** Platform-only test failures in this finding. */
  tests: number;
  apps: number;
  probe: ProbeResult | null;
  /** Apps that cannot load in the platform's own environment (missing-package). */
  environmentApps: number;
  examples: string[];
  reproduction: string;
  where?: string;
}

export interface Totals {
  collected: number;
  inprocess: { passed: number; failed: number; skipped: number };
  platform: { passed: number; failed: number; skipped: number; excluded: number; notApplicable: number; notRouted: number };
  /** Passed in-process, not excluded, applicable: the tests that measure the platform. */
  comparable: number;
  comparablePassed: number;
  platformOnlyFailures: number;
  failBoth: number;
}

export interface Report {
  version: string;
  date: string;
  seconds: number;
  inprocessSeconds: number;
  platformSeconds: number;
  sandbox: string;
  topics: number;
  uncollected: Record<string, string>;
  apps: { deployed: number; refused: { key: string; reason: string }[]; withSettings: Record<string, string> };
  totals: Totals;
  findings: FindingRow[];
  exclusions: Record<string, number>;
  environment: EnvironmentCheck;
  probes: ProbeResult[] | null;
  runs: RunStats | null;
  /** Platform-only failures not in expected.json (intermittent findings never count). */
  unexpected: { nodeid: string; finding: string }[];
  /** Expected failures that passed through the platform this time. */
  fixed: string[];
  newExpected: Expected;
  tests: TestRow[];
  platformLogs: string[];
}

function appSource(src: string, key: string | undefined): string {
  if (!key) return '';
  const module = key.split(':')[0]!.split('.');
  for (const candidate of [join(src, ...module) + '.py', join(src, ...module, '__init__.py')]) {
    if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
  }
  return '';
}

export function buildReport(i: ReportInput): Report {
  const inproc = new Map(i.inprocess.records.map((r) => [r.nodeid, r]));
  const plat = new Map(i.platform.records.map((r) => [r.nodeid, r]));
  const ids = [...new Set([...inproc.keys(), ...plat.keys()])].sort();
  const rows: TestRow[] = [];
  const byFinding = new Map<string, TestRow[]>();
  const exclusions: Record<string, number> = {};
  for (const nodeid of ids) {
    const a = inproc.get(nodeid);
    const b = plat.get(nodeid);
    const row: TestRow = { nodeid, inprocess: a?.outcome ?? 'error', platform: 'failed' };
    const apps = [...new Set([...(a?.apps ?? []), ...(b?.apps ?? [])])];
    if (apps.length) row.apps = apps;
    if (b?.excluded ?? a?.excluded) {
      row.platform = 'excluded';
      row.reason = (b?.excluded ?? a?.excluded)!;
      exclusions[row.reason] = (exclusions[row.reason] ?? 0) + 1;
    } else if (a && a.outcome !== 'error' && (a.apps ?? []).length === 0) {
      row.platform = 'not-applicable';
      row.reason = (a.unknownApps ?? []).length > 0 ? 'calls an app built in the test, not a tutorial module' : 'sends no request to a tutorial app';
      exclusions[`(automatic) ${row.reason}`] = (exclusions[`(automatic) ${row.reason}`] ?? 0) + 1;
    } else if (!b) {
      row.platform = 'failed';
      row.message = 'not run through the platform';
    } else if ((b.notRouted ?? []).length > 0) {
      row.platform = 'not-routed';
      row.reason = `app not deployed: ${b.notRouted!.join(', ')}`;
    } else {
      row.platform = b.outcome === 'passed' ? 'passed' : b.outcome === 'skipped' ? 'skipped' : 'failed';
      if (row.platform === 'failed') row.message = b.message ?? '';
    }
    if (row.platform === 'failed' && row.inprocess === 'passed' && b) {
      const finding = classify({ record: b, appSource: appSource(i.src, b.apps?.[0] ?? a?.apps?.[0]) });
      row.finding = finding.id;
      const list = byFinding.get(finding.id) ?? [];
      list.push(row);
      byFinding.set(finding.id, list);
    }
    rows.push(row);
  }
  const count = (pred: (r: TestRow) => boolean): number => rows.filter(pred).length;
  const totals: Totals = {
    collected: rows.length,
    inprocess: {
      passed: count((r) => r.inprocess === 'passed'),
      failed: count((r) => r.inprocess === 'failed' || r.inprocess === 'error'),
      skipped: count((r) => r.inprocess === 'skipped'),
    },
    platform: {
      passed: count((r) => r.platform === 'passed'),
      failed: count((r) => r.platform === 'failed'),
      skipped: count((r) => r.platform === 'skipped'),
      excluded: count((r) => r.platform === 'excluded'),
      notApplicable: count((r) => r.platform === 'not-applicable'),
      notRouted: count((r) => r.platform === 'not-routed'),
    },
    comparable: count((r) => r.inprocess === 'passed' && ['passed', 'failed', 'not-routed'].includes(r.platform)),
    comparablePassed: count((r) => r.inprocess === 'passed' && r.platform === 'passed'),
    platformOnlyFailures: count((r) => r.inprocess === 'passed' && r.platform === 'failed'),
    failBoth: count((r) => r.inprocess !== 'passed' && r.inprocess !== 'skipped' && r.platform === 'failed'),
  };

  const specs = [...FINDINGS, UNCLASSIFIED];
  const findings: FindingRow[] = [];
  for (const spec of specs) {
    const tests = byFinding.get(spec.id) ?? [];
    const probe = i.probes?.find((p) => p.finding === spec.id && p.differs) ?? null;
    const environmentApps = spec.id === 'missing-package' ? Object.keys(i.environment.failures).length : 0;
    if (tests.length === 0 && !probe && environmentApps === 0) continue;
    findings.push({
      id: spec.id,
      title: spec.title,
      kind: spec.kind,
      intermittent: spec.intermittent ?? false,
      tests: tests.length,
      apps: new Set(tests.flatMap((t) => t.apps ?? [])).size,
      probe,
      environmentApps,
      examples: tests.slice(0, 5).map((t) => t.nodeid),
      reproduction: spec.reproduction,
      ...(spec.where ? { where: spec.where } : {}),
    });
  }
  findings.sort((a, b) => b.tests + b.environmentApps - (a.tests + a.environmentApps));

  const platformOnly = rows.filter((r) => r.finding !== undefined);
  const intermittent = new Set(FINDINGS.filter((f) => f.intermittent).map((f) => f.id));
  const unexpected = platformOnly
    .filter((r) => !intermittent.has(r.finding!) && !(r.nodeid in i.expected.failures))
    .map((r) => ({ nodeid: r.nodeid, finding: r.finding! }));
  const ran = new Set(rows.map((r) => r.nodeid));
  const fixed = Object.keys(i.expected.failures).filter((id) => ran.has(id) && rows.find((r) => r.nodeid === id)?.platform === 'passed');
  const newExpected: Expected = {
    failures: Object.fromEntries(platformOnly.filter((r) => !intermittent.has(r.finding!)).map((r) => [r.nodeid, r.finding!])),
  };
  // A test known to fail for a reason that came and went this run (e.g. the sandbox) keeps its entry.
  for (const r of platformOnly) {
    if (intermittent.has(r.finding!) && r.nodeid in i.expected.failures) newExpected.failures[r.nodeid] = i.expected.failures[r.nodeid]!;
  }

  return {
    version: i.version,
    date: new Date().toISOString(),
    seconds: i.seconds,
    inprocessSeconds: i.inprocess.seconds,
    platformSeconds: i.platform.seconds,
    sandbox: i.sandbox,
    topics: i.topics.length,
    uncollected: i.uncollected,
    apps: {
      deployed: i.deployed.length,
      refused: i.refused,
      withSettings: Object.fromEntries(i.deployed.filter((d) => d.settings).map((d) => [d.key, d.settings!])),
    },
    totals,
    findings,
    exclusions,
    environment: i.environment,
    probes: i.probes,
    runs: i.runs,
    unexpected,
    fixed,
    newExpected,
    tests: rows,
    platformLogs: i.platformLogs.slice(-50),
  };
}

const pct = (n: number, of: number): string => (of === 0 ? '—' : `${((100 * n) / of).toFixed(1)} %`);

function totalsTable(r: Report): string[] {
  const t = r.totals;
  return [
    '| | passed | failed | skipped | excluded | not applicable | of |',
    '|---|---|---|---|---|---|---|',
    `| in-process (TestClient) | ${t.inprocess.passed} | ${t.inprocess.failed} | ${t.inprocess.skipped} | — | — | ${t.collected} |`,
    `| through the platform (HTTP) | ${t.platform.passed} | ${t.platform.failed} | ${t.platform.skipped} | ${t.platform.excluded} | ${t.platform.notApplicable} | ${t.collected} |`,
    '',
    `Comparable tests (passed in-process, not excluded, sending requests to a tutorial app): **${t.comparable}**; ` +
      `through the platform **${t.comparablePassed} pass (${pct(t.comparablePassed, t.comparable)})**, ` +
      `${t.platformOnlyFailures} fail only there${t.platform.notRouted ? `, ${t.platform.notRouted} not routed` : ''}. ` +
      `Failing in both: ${t.failBoth}.`,
  ];
}

function findingsTable(r: Report): string[] {
  const out = ['| finding | kind | tests | apps | probe (platform / uvicorn) |', '|---|---|---|---|---|'];
  for (const f of r.findings) {
    const probe = f.probe ? `${f.probe.platform} / ${f.probe.uvicorn}` : f.environmentApps ? `${f.environmentApps} apps cannot load in .venv` : '';
    out.push(`| \`${f.id}\`${f.intermittent ? ' (intermittent)' : ''}: ${f.title.replace(/\|/g, '\\|')} | ${f.kind} | ${f.tests} | ${f.apps} | ${probe.replace(/\|/g, '\\|')} |`);
  }
  return out;
}

export function renderMarkdown(r: Report): string {
  const lines: string[] = [
    `# Peer conformance: FastAPI ${r.version} tutorial tests, in-process vs through the platform`,
    '',
    `${r.date}; ${r.topics} topics, ${r.apps.deployed} apps deployed (sandbox ${r.sandbox}); ` +
      `in-process ${r.inprocessSeconds.toFixed(0)} s, through the platform ${r.platformSeconds.toFixed(0)} s, whole run ${r.seconds.toFixed(0)} s.`,
    '',
    '## Totals',
    '',
    ...totalsTable(r),
    '',
    '## Findings',
    '',
    ...findingsTable(r),
    '',
  ];
  for (const f of r.findings) {
    const counts = [f.tests ? `${f.tests} tests, ${f.apps} apps` : '', f.environmentApps ? `${f.environmentApps} apps miss a package in .venv` : '', f.probe ? 'probe' : ''].filter(Boolean).join('; ');
    lines.push(`### \`${f.id}\` (${f.kind}${f.intermittent ? ', intermittent' : ''}): ${counts}`, '', f.title, '');
    if (f.where) lines.push(`Where: ${f.where}`, '');
    lines.push(f.reproduction, '');
    if (f.probe) lines.push(`Probe \`${f.probe.request}\`: platform ${f.probe.platform}; uvicorn ${f.probe.uvicorn}.`, '');
    if (f.id === 'missing-package') {
      for (const [pkg, apps] of Object.entries(r.environment.byPackage)) lines.push(`- ${pkg}: ${apps.length} apps (${apps.slice(0, 3).join(', ')}${apps.length > 3 ? ', …' : ''})`);
      lines.push('');
    }
    if (f.examples.length) lines.push('Tests:', ...f.examples.map((e) => `- \`${e}\``), ...(f.tests > f.examples.length ? [`- … ${f.tests - f.examples.length} more (report.json)`] : []), '');
  }
  const unclassified = r.tests.filter((t) => t.finding === 'unclassified');
  if (unclassified.length) {
    lines.push('## Unclassified failures', '');
    for (const t of unclassified) lines.push(`- \`${t.nodeid}\`: ${(t.message ?? '').split('\n').filter((l) => l.startsWith('E ')).slice(0, 3).join(' / ').slice(0, 300)}`);
    lines.push('');
  }
  lines.push('## Exclusions', '', '| reason | tests |', '|---|---|');
  for (const [reason, n] of Object.entries(r.exclusions).sort((a, b) => b[1] - a[1])) lines.push(`| ${reason} | ${n} |`);
  for (const [topic, reason] of Object.entries(r.uncollected)) lines.push(`| topic \`${topic}\` not collected: ${reason} | (all) |`);
  lines.push('');
  if (Object.keys(r.apps.withSettings).length) {
    lines.push('## Apps deployed with what their test sets up', '');
    const byReason = new Map<string, string[]>();
    for (const [key, why] of Object.entries(r.apps.withSettings)) byReason.set(why, [...(byReason.get(why) ?? []), key]);
    for (const [why, keys] of byReason) lines.push(`- ${keys.length} apps: ${why}`);
    lines.push('');
  }
  const failBoth = r.tests.filter((t) => t.inprocess !== 'passed' && t.inprocess !== 'skipped');
  if (failBoth.length) {
    lines.push('## Failing in-process (not counted against the platform)', '');
    for (const t of failBoth) lines.push(`- \`${t.nodeid}\` (platform: ${t.platform})`);
    lines.push('');
  }
  if (r.runs) {
    const s = r.runs;
    lines.push('## What the platform recorded', '',
      `${s.runs} runs, ${s.cold} cold starts; specialization (import of the app included) p50 ${s.initMs?.p50.toFixed(0) ?? '—'} ms, p90 ${s.initMs?.p90.toFixed(0) ?? '—'} ms, max ${s.initMs?.max.toFixed(0) ?? '—'} ms; ` +
        `handler p50 ${s.handlerMs?.p50.toFixed(1) ?? '—'} ms, p99 ${s.handlerMs?.p99.toFixed(1) ?? '—'} ms. HTTP statuses ${JSON.stringify(s.httpStatus)}; error codes ${JSON.stringify(s.errorCodes)}.`, '');
  }
  lines.push('## Against test/peers/expected.json', '',
    `Unexpected platform-only failures: ${r.unexpected.length}${r.unexpected.length ? '' : ' (none)'}`,
    ...r.unexpected.map((u) => `- \`${u.nodeid}\` (${u.finding})`),
    `Expected failures that now pass: ${r.fixed.length}${r.fixed.length ? ' (remove them: --update-expected)' : ''}`,
    ...r.fixed.map((f) => `- \`${f}\``), '');
  return `${lines.join('\n')}\n`;
}

export function renderSummary(r: Report): string {
  const lines = ['', ...totalsTable(r), '', 'findings (titles and reproductions in report.md):'];
  for (const f of r.findings) {
    const seen = [f.tests ? `${f.tests} tests / ${f.apps} apps` : '', f.probe ? 'probe differs' : '', f.environmentApps ? `${f.environmentApps} apps miss a package in .venv` : ''].filter(Boolean).join(', ');
    lines.push(`  ${f.id.padEnd(26)} ${f.kind.padEnd(10)} ${seen}${f.intermittent ? ' (intermittent)' : ''}`);
  }
  lines.push('', `unexpected platform-only failures: ${r.unexpected.length}; expected failures now passing: ${r.fixed.length}`);
  for (const u of r.unexpected.slice(0, 20)) lines.push(`  unexpected: ${u.nodeid} (${findingById(u.finding).id})`);
  lines.push(`time: ${r.seconds.toFixed(0)} s (in-process ${r.inprocessSeconds.toFixed(0)} s, through the platform ${r.platformSeconds.toFixed(0)} s)`);
  return lines.join('\n');
}
