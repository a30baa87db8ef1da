import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { TorError } from './errors.js'
import { assertUnixSocketPath } from './socket-path.js'

/** The torrc templates shipped in the package's top-level `tor/` folder. */
export type TorrcTemplateName = 'node' | 'authority' | 'relay'

// src/tor/ and dist/tor/ are both two levels below the package root.
const templateDir = fileURLToPath(new URL('../../tor/', import.meta.url))

/** Reads a template from `tor/<name>.torrc`. */
export function loadTorrcTemplate(name: TorrcTemplateName): string {
  return readFileSync(`${templateDir}${name}.torrc`, 'utf8')
}

/*
 * How tor reads a torrc line (parse_config_line_from_str_verbose in tor's
 * confline.c): the keyword, blanks, then the value. A value that starts with
 * `"` is a C-style quoted string (`\\`, `\"`, `\n`, `\x41`, …) and must be the
 * whole value; any other value is taken raw up to the first `#` (a comment)
 * with trailing blanks dropped. Port options then split their value at
 * blanks, and a unix socket path there may itself be quoted:
 * `SocksPort unix:"/a path/s" ExtendedErrors`. So a path with `#` or a
 * trailing blank is cut short unless the line value is quoted, and a path with
 * a blank or a quote breaks a port line unless the path is quoted too. An
 * unquoted `unix:` path is also cut at `#` (seen with tor 0.4.9.11: the socket
 * of `ControlSocket "unix:/d/c#1/s"` was made at `/d/c`), so `#` needs both.
 */
const LINE_VALUE_NEEDS_QUOTES = /#|^"|\s$/
const PORT_PATH_NEEDS_QUOTES = /[\s"\\#]/

/** `s` as a torrc C-style quoted string. */
export function torrcQuote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/**
 * Fills `{{NAME}}` placeholders. Every placeholder must have a value and every
 * value must be a single line: a newline in a path or nickname would otherwise
 * smuggle arbitrary options into tor's configuration. A value right after
 * `unix:` is quoted when tor's port syntax needs it, and a line whose value
 * tor would cut short (`#`, a trailing blank, a leading quote) is written as
 * a quoted string; other lines stay as they are.
 */
export function renderTorrc(template: string, vars: Readonly<Record<string, string | number>>): string {
  return template
    .split('\n')
    .map((line) => {
      let filled = false
      const rendered = line.replace(/(unix:)?\{\{([A-Z0-9_]+)\}\}/g, (_, unix: string | undefined, name: string) => {
        const value = vars[name]
        if (value === undefined) throw new TorError('TORRC_INVALID', `torrc template variable ${name} has no value`)
        filled = true
        const text = assertTorrcValue(String(value))
        return unix === undefined ? text : `unix:${PORT_PATH_NEEDS_QUOTES.test(text) ? torrcQuote(text) : text}`
      })
      if (!filled) return rendered
      const split = /^(\S+)\s+(.*)$/.exec(rendered)
      const [, keyword, value] = split ?? []
      if (keyword === undefined || value === undefined || !LINE_VALUE_NEEDS_QUOTES.test(value)) return rendered
      return `${keyword} ${torrcQuote(value)}`
    })
    .join('\n')
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

/** Where a node's tor keeps its files, all inside the node's tor data directory (0700). */
export interface NodeTorPaths {
  dataDir: string
  torrcFile: string
  /** Tor writes `UNIX_PORT=<control socket>` here once the control socket listens. */
  controlPortFile: string
  controlSocket: string
  socksSocket: string
  cookieFile: string
  logFile: string
}

/**
 * The file layout of a managed tor inside `dataDir`.
 *
 * @throws TorError `TOR_SOCKET_PATH_UNUSABLE` when a socket path would not fit a unix socket address
 */
export function nodeTorPaths(dataDir: string): NodeTorPaths {
  return {
    dataDir,
    torrcFile: `${dataDir}/torrc`,
    controlPortFile: `${dataDir}/control-port`,
    controlSocket: assertUnixSocketPath(`${dataDir}/control.sock`, "tor's control socket"),
    socksSocket: assertUnixSocketPath(`${dataDir}/socks.sock`, "tor's SOCKS socket"),
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
    SOCKS_SOCKET: paths.socksSocket,
    CONTROL_SOCKET: paths.controlSocket,
    CONTROL_PORT_FILE: paths.controlPortFile,
    COOKIE_FILE: paths.cookieFile,
    LOG_FILE: paths.logFile,
    OWNER_PID: ownerPid,
  })
  const extra = extraTorrcLines(extraLines)
  return extra.length > 0 ? `${base}\n## Extra lines supplied by the caller\n${extra}\n` : base
}
