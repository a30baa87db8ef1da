/**
 * A festival planner on Burrow's public library API, after the 2019 p2panda
 * design: members of a group create resources (a stage, a van, a sound
 * system) and events, ask for a resource for an event, and the resource's
 * creator accepts or denies. Every action is one group message (JSON,
 * MLS-encrypted and replicated by Burrow); every member folds the same
 * messages into the same view, whatever order they arrived in.
 *
 * The rules a hostile member cannot bend:
 * - an item's id is `<author identity key>:<log seq>`: nobody can mint an id
 *   for someone else's item (the log is signed);
 * - only a resource's creator answers requests for it; an answer from
 *   anyone else is ignored; the creator's latest answer counts (its own log
 *   orders its answers);
 * - a request needs an existing event and resource; anything malformed,
 *   unknown or oversized is ignored and counted in `ignored`.
 *
 * This file imports the library from the repository's source; an app would
 * import the same names from the `burrow-p2p` package.
 */
import { Burrow, type MessageView } from '../../src/index.js'

/** What one message of the planner says. */
export type FestivalAction =
  | { festival: 1; type: 'resource'; name: string }
  | { festival: 1; type: 'event'; name: string; when: string }
  | { festival: 1; type: 'request'; event: string; resource: string }
  | { festival: 1; type: 'answer'; request: string; accept: boolean }

export interface Resource {
  id: string
  name: string
  /** Identity key (hex) of its creator, who answers requests for it. */
  owner: string
}

export interface FestivalEvent {
  id: string
  name: string
  when: string
  organiser: string
}

export interface ResourceRequest {
  id: string
  event: string
  resource: string
  requester: string
  state: 'pending' | 'accepted' | 'denied'
}

/** Everything a member sees; equal at every member once they hold the same messages. */
export interface FestivalView {
  resources: Resource[]
  events: FestivalEvent[]
  requests: ResourceRequest[]
  /** Messages of the group that are not valid planner actions (chat, garbage, forged answers). */
  ignored: number
}

const MAX_NAME = 200
const ID = /^[0-9a-f]{64}:\d{1,15}$/

function text(v: unknown, max = MAX_NAME): v is string {
  return typeof v === 'string' && v.trim().length > 0 && v.length <= max
}

/** The action a message carries, or undefined when it is not a valid one. */
export function parseAction(data: Uint8Array): FestivalAction | undefined {
  let v: unknown
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data))
  } catch {
    return undefined
  }
  if (v === null || typeof v !== 'object' || (v as { festival?: unknown }).festival !== 1) return undefined
  const a = v as Record<string, unknown>
  switch (a.type) {
    case 'resource':
      return text(a.name) ? { festival: 1, type: 'resource', name: a.name } : undefined
    case 'event':
      return text(a.name) && text(a.when, 64) ? { festival: 1, type: 'event', name: a.name, when: a.when } : undefined
    case 'request':
      return typeof a.event === 'string' && ID.test(a.event) && typeof a.resource === 'string' && ID.test(a.resource)
        ? { festival: 1, type: 'request', event: a.event, resource: a.resource }
        : undefined
    case 'answer':
      return typeof a.request === 'string' && ID.test(a.request) && typeof a.accept === 'boolean' ? { festival: 1, type: 'answer', request: a.request, accept: a.accept } : undefined
    default:
      return undefined
  }
}

/**
 * Folds a group's messages into the planner's view. Pure and independent of
 * arrival order: messages are taken in (author, seq) order, and each kind of
 * item in its own pass, so a request seen before its resource still counts.
 */
export function foldFestival(messages: readonly Pick<MessageView, 'author' | 'seq' | 'data'>[]): FestivalView {
  const ordered = [...messages].sort((x, y) => (x.author < y.author ? -1 : x.author > y.author ? 1 : x.seq - y.seq))
  const actions = ordered.map((m) => ({ id: `${m.author}:${m.seq}`, author: m.author, action: parseAction(m.data) }))
  let ignored = actions.filter((a) => a.action === undefined).length
  const resources = new Map<string, Resource>()
  const events = new Map<string, FestivalEvent>()
  const requests = new Map<string, ResourceRequest>()
  for (const { id, author, action } of actions) {
    if (action?.type === 'resource') resources.set(id, { id, name: action.name, owner: author })
    if (action?.type === 'event') events.set(id, { id, name: action.name, when: action.when, organiser: author })
  }
  for (const { id, author, action } of actions) {
    if (action?.type !== 'request') continue
    if (resources.has(action.resource) && events.has(action.event)) requests.set(id, { id, event: action.event, resource: action.resource, requester: author, state: 'pending' })
    else ignored++
  }
  for (const { author, action } of actions) {
    if (action?.type !== 'answer') continue
    const request = requests.get(action.request)
    // Answers come in the answerer's own log order, so the owner's latest one wins.
    if (request !== undefined && resources.get(request.resource)?.owner === author) request.state = action.accept ? 'accepted' : 'denied'
    else ignored++
  }
  const byId = <T extends { id: string }>(m: Map<string, T>): T[] => [...m.values()].sort((x, y) => (x.id < y.id ? -1 : 1))
  return { resources: byId(resources), events: byId(events), requests: byId(requests), ignored }
}

/** The planner of one group, for one node. */
export class Festival {
  constructor(
    readonly node: Burrow,
    readonly group: string,
  ) {}

  /** Creates a group for a new festival and returns its planner. */
  static async create(node: Burrow, name: string): Promise<Festival> {
    return new Festival(node, (await node.createGroup(name)).id)
  }

  async #act(action: FestivalAction): Promise<string> {
    const sent = await this.node.send(this.group, JSON.stringify(action))
    return `${sent.author}:${sent.seq}`
  }

  /** Offers a resource; returns its id. */
  addResource(name: string): Promise<string> {
    return this.#act({ festival: 1, type: 'resource', name })
  }

  /** Announces an event; returns its id. */
  addEvent(name: string, when: string): Promise<string> {
    return this.#act({ festival: 1, type: 'event', name, when })
  }

  /** Asks for a resource for an event; returns the request's id. */
  request(event: string, resource: string): Promise<string> {
    return this.#act({ festival: 1, type: 'request', event, resource })
  }

  /** Accepts or denies a request for one of our resources (others' answers are ignored by everyone). */
  answer(request: string, accept: boolean): Promise<string> {
    return this.#act({ festival: 1, type: 'answer', request, accept })
  }

  /** The planner as this node sees it now. */
  view(): FestivalView {
    const messages: MessageView[] = []
    for (let afterId = 0; ; ) {
      const page = this.node.messages(this.group, { afterId, limit: 1000 })
      messages.push(...page)
      if (page.length < 1000) break
      afterId = page.at(-1)!.id
    }
    return foldFestival(messages)
  }
}
