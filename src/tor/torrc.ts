import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { TorError } from './errors.js'

/** The torrc templates shipped in the package's top-level `tor/` folder. */
export type TorrcTemplateName = 'node' | 'authority' | 'relay'

// src/tor/ and dist/tor/ are both two levels below the package root.
const templateDir = fileURLToPath(new URL('../../tor/', import.meta.url))

/** Reads a template from `tor/<name>.torrc`. */
export function loadTorrcTemplate(name: TorrcTemplateName): string {
  return readFileSync(`${templateDir}${name}.torrc`, 'utf8')
}

/**
 * Fills `{{NAME}}` placeholders. Every placeholder must have a value and every
 * value must be a single line: a newline in a path or nickname would otherwise
 * smuggle arbitrary options into tor's configuration.
 */
export function renderTorrc(template: string, vars: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, name: string) => {
    const value = vars[name]
    if (value === undefined) throw new TorError('TORRC_INVALID', `torrc template variable ${name} has no value`)
    return assertTorrcValue(String(value))
  })
}

/** Checks that `value` fits on one torrc line. Returns it unchanged. */
export function assertTorrcValue(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new TorError('TORRC_INVALID', 'a torrc value may not contain a line break or NUL')
  return value
}

/** Validates caller-supplied extra torrc lines (DirAuthority, Bridge, …): one option per entry, no line breaks. */
export function extraTorrcLines(lines: readonly string[]): string {
  return lines.map((l) => assertTorrcValue(l.trim())).filter((l) => l.length > 0 && !l.startsWith('#')).join('\n')
}

/** Where a node's tor keeps its files, all inside the node's tor data directory. */
export interface NodeTorPaths {
  dataDir: string
  torrcFile: string
  controlPortFile: string
  cookieFile: string
  logFile: string
}

/** The file layout of a managed tor inside `dataDir`. */
export function nodeTorPaths(dataDir: string): NodeTorPaths {
  return {
    dataDir,
    torrcFile: `${dataDir}/torrc`,
    controlPortFile: `${dataDir}/control-port`,
    cookieFile: `${dataDir}/control_auth_cookie`,
    logFile: `${dataDir}/notice.log`,
  }
}

/**
 * The torrc of a node's own tor: the `tor/node.torrc` template plus the
 * caller's extra lines (a private network's DirAuthority lines, bridges).
 */
export function buildNodeTorrc(paths: NodeTorPaths, ownerPid: number, extraLines: readonly string[] = []): string {
  const base = renderTorrc(loadTorrcTemplate('node'), {
    DATA_DIR: paths.dataDir,
    CONTROL_PORT_FILE: paths.controlPortFile,
    COOKIE_FILE: paths.cookieFile,
    LOG_FILE: paths.logFile,
    OWNER_PID: ownerPid,
  })
  const extra = extraTorrcLines(extraLines)
  return extra.length > 0 ? `${base}\n## Extra lines supplied by the caller\n${extra}\n` : base
}
