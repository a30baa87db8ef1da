/** Shared output of the benchmark suites: a Markdown table on stdout and JSON files in bench-results/. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, platform, arch } from 'node:os'
import { join } from 'node:path'

/** One measured figure. */
export interface BenchRow {
  /** What was measured, e.g. "ingest 100 B". */
  readonly metric: string
  /** The figure. */
  readonly value: number
  /** Its unit, e.g. "ops/s". */
  readonly unit: string
  /** Optional context (sample size, target, …). */
  readonly note?: string
  /** For a median of several runs: the smallest and largest run, and how many runs. */
  readonly min?: number
  readonly max?: number
  readonly runs?: number
}

/** Median, min and max of samples, as row fields. */
export function spread(samples: readonly number[]): { value: number; min: number; max: number; runs: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  return { value: percentile(sorted, 50), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN, runs: sorted.length }
}

/** The p-th percentile (nearest rank) of ascending `sorted` samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

/** A suite's result: rows plus anything else worth keeping in the JSON. */
export interface BenchReport {
  /** Suite name; files are bench-results/<name>-<timestamp>.json and <name>-latest.json. */
  readonly name: string
  /** Figures, printed in this order. */
  readonly rows: readonly BenchRow[]
  /** Extra machine-readable fields (targets, verdicts, parameters). */
  readonly extra?: Readonly<Record<string, unknown>>
}

/** Runs `fn` `iterations` times after `warmup` runs and returns calls per second. */
export function measureRate(fn: () => void, iterations: number, warmup = Math.min(200, iterations)): number {
  for (let i = 0; i < warmup; i++) fn()
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) fn()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return iterations / seconds
}

function format(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  return value.toFixed(2)
}

function environment(): Record<string, unknown> {
  const cpu = cpus()
  return { node: process.version, platform: platform(), arch: arch(), cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length }
}

function table(report: BenchReport): string[] {
  const lines = [`## ${report.name}`, '', '| metric | value (median) | min | max | runs | unit | note |', '|---|---:|---:|---:|---:|---|---|']
  const opt = (v: number | undefined): string => (v === undefined ? '' : format(v))
  for (const r of report.rows) {
    lines.push(`| ${r.metric} | ${format(r.value)} | ${opt(r.min)} | ${opt(r.max)} | ${r.runs ?? ''} | ${r.unit} | ${r.note ?? ''} |`)
  }
  return lines
}

/** Writes every suite's figures into one JSON file and one Markdown file (`bench-results/bench-latest.{json,md}`). */
export function writeCombinedReport(reports: readonly BenchReport[], dir = 'bench-results'): string {
  const date = new Date().toISOString()
  mkdirSync(dir, { recursive: true })
  const json = JSON.stringify({ date, environment: environment(), suites: reports.map((r) => ({ name: r.name, rows: r.rows, ...r.extra })) }, null, 2) + '\n'
  const markdown = [`# Burrow benchmarks, ${date}`, '', ...reports.flatMap((r) => [...table(r), ''])].join('\n')
  const path = join(dir, `bench-${date.replace(/[:.]/g, '-')}.json`)
  writeFileSync(path, json)
  writeFileSync(join(dir, 'bench-latest.json'), json)
  writeFileSync(join(dir, 'bench-latest.md'), markdown)
  return path
}

/** Prints the report as a Markdown table and writes its JSON files; returns the timestamped path. */
export function writeReport(report: BenchReport, dir = 'bench-results'): string {
  process.stdout.write(table(report).join('\n') + '\n\n')
  const json = { name: report.name, date: new Date().toISOString(), environment: environment(), rows: report.rows, ...report.extra }
  mkdirSync(dir, { recursive: true })
  const stamp = json.date.replace(/[:.]/g, '-')
  const path = join(dir, `${report.name}-${stamp}.json`)
  const text = JSON.stringify(json, null, 2) + '\n'
  writeFileSync(path, text)
  writeFileSync(join(dir, `${report.name}-latest.json`), text)
  return path
}
