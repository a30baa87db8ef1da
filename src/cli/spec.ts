/**
 * Every `burrow` command, its arguments, flags, examples and `--json` shape:
 * the single source for parsing and for `--help`.
 */

/** A flag. */
export interface OptionSpec {
  name: string
  type: 'string' | 'boolean'
  /** A string flag that may be given more than once (its value is then a list). */
  multiple?: boolean
  short?: string
  /** Shown in help for string flags, e.g. `DIR`. */
  value?: string
  description: string
}

/** A positional argument. */
export interface ArgSpec {
  name: string
  required: boolean
  /** The last argument only: takes every remaining word. */
  repeatable?: boolean
}

/** A command or a group of subcommands. */
export interface CommandSpec {
  /** Words after `burrow`, e.g. `['peers', 'add']`. */
  path: string[]
  summary: string
  description: string
  args: ArgSpec[]
  options: OptionSpec[]
  examples: string[]
  /** What `--json` prints. */
  json?: string
  subcommands?: CommandSpec[]
  /** For a group of subcommands: the one `burrow <group>` alone runs (`burrow forks` lists). */
  defaultSubcommand?: string
}

/** Flags every command accepts. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'data-dir', type: 'string', value: 'DIR', description: 'node data directory (default: $XDG_DATA_HOME/burrow or ~/.local/share/burrow)' },
  { name: 'config', type: 'string', value: 'FILE', description: 'config file (default: <data dir>/config.json)' },
  { name: 'tor-path', type: 'string', value: 'PATH', description: 'tor binary to run (default: tor on PATH)' },
  { name: 'testnet', type: 'string', value: 'DIR', description: 'join the private test network in DIR instead of the Tor network' },
  { name: 'json', type: 'boolean', description: 'machine-readable output: one JSON document (JSON lines for streams)' },
  { name: 'help', type: 'boolean', short: 'h', description: 'show help for a command' },
  { name: 'version', type: 'boolean', description: 'print the version' },
]

const PASSPHRASE_STDIN: OptionSpec = { name: 'passphrase-stdin', type: 'boolean', description: 'read the passphrase from the first line of stdin' }
const PASSPHRASE_FILE: OptionSpec = {
  name: 'passphrase-file',
  type: 'string',
  value: 'PATH',
  description: 'read the passphrase from a file: all of it but a trailing newline; refused if every user may read it. For systemd\'s LoadCredential=: $CREDENTIALS_DIRECTORY/<name>',
}

const PEER_JSON =
  '{ peerId, name?, onion, identityKey, fingerprint, addedAt, lastSeen?, lastError?: { code, message, at } (only while not heard from since), errors: [{ code, message, at }] (the last 5), keeping?: ["keeper of <group>" or "member of kept group <id>"], forked, connected }'
const MEMBER_JSON = '{ identityKey, peerId, name?, owner, self, forked }'
const GROUP_JSON = `{ id, name?, sharedName?, description?, owner, isOwner, epoch, members: [${MEMBER_JSON}], active, status ("active", "leaving", "left" or "removed"), pendingProposal?, retentionMs }`
const PENDING_INVITE_JSON = '{ groupId, peerId, name?, identityKey, fingerprint, since, attempts, lastAttemptAt?, lastError?: { code, message } }'
const FORK_JSON = '{ id, author, authorPeerId, authorName?, fingerprint, self, logId, seq, detectedAt? }'
const DESCRIPTION_OPTION: OptionSpec = { name: 'description', type: 'string', value: 'TEXT', description: 'the group\'s description, shared with its members (at most 1000 characters; "" removes it)' }
const FINGERPRINT_NOTE =
  'The fingerprint is the start of the identity key: compare it with the peer over a channel you trust (in person, a call), as SECURITY.md asks, before you rely on the card.'
const KEEPERS_JSON = '{ groupId, group?, owner, ownerName?, keepers: [{ identityKey, peerId, onion, name? }], decision ("ask", "allow" or "deny") }'
const KEPT_JSON = '{ groupId, owner, ownerName?, members, keepers, retentionMs, operations, bytes, quotaBytes, full }'
const ORDERER_JSON = '{ identityKey, peerId, name?, decision ("ask", "allow" or "deny"), groups }'
const FILE_JSON = '{ id, groupId, name, mediaType, size, sha256, sender, senderPeerId, senderName?, self, sentAt, chunks, chunksHeld, complete }'
const MESSAGE_JSON = `{ id, group, author, authorPeerId, authorName?, self, seq, epoch, receivedAt, text?, data (base64), file?: ${FILE_JSON} }`

const peers: CommandSpec = {
  path: ['peers'],
  summary: 'manage the allow-list of peers',
  description: 'Only peers on the allow-list can reach this node or be reached by it. A peer is added from its contact card (`burrow card` on its side).',
  args: [],
  options: [],
  examples: [],
  subcommands: [
    {
      path: ['peers', 'add'],
      summary: 'add peers from their contact cards (shows each fingerprint first)',
      description: `Shows the card's name, .onion and identity fingerprint, and asks before anything is stored (this node's own card is refused first, exit 2): on a terminal it waits for "y"; without a terminal it refuses (exit 2, the fingerprint in the message) unless --yes is given, so a script never hangs and never adds a card unseen. Then adds the peer to the allow-list: a running node authorizes its key on our onion service and starts dialing it. Several cards are added together (an import): all are checked first, one bad card adds none, and the node re-publishes its onion services once for all of them. A node allows at most 1,196 peers (NODE_PEER_LIMIT). With several cards, --json prints \`{"peers": [...]}\`. With no node running, the peer is written to the database (which asks for the passphrase of a sealed node) and is reached from the next start. ${FINGERPRINT_NOTE}`,
      args: [{ name: 'card', required: true, repeatable: true }],
      options: [{ name: 'yes', type: 'boolean', short: 'y', description: 'add without asking (you compared the fingerprints already)' }, PASSPHRASE_FILE, PASSPHRASE_STDIN],
      examples: ['burrow peers add burrow1q…', 'burrow peers add --yes burrow1q…', 'burrow peers add --yes burrow1q… burrow1q… burrow1q…'],
      json: PEER_JSON,
    },
    {
      path: ['peers', 'remove'],
      summary: 'remove a peer (by peer id, .onion or name)',
      description: 'Removes the peer from the allow-list: its connections close and it can no longer reach this node.',
      args: [{ name: 'peer', required: true }],
      options: [],
      examples: ['burrow peers remove alice', 'burrow peers remove 12D3KooW…'],
      json: PEER_JSON,
    },
    {
      path: ['peers', 'list'],
      summary: 'list peers and their connection state',
      description:
        'Shows every allow-listed peer: name ([forked] when this node holds a fork proof against it), peer id, .onion, whether it is connected, when it was last seen, why talking to it last failed and when (until it is heard from again; the last 5 errors stay in --json), and its identity fingerprint.',
      args: [],
      options: [],
      examples: ['burrow peers list', 'burrow peers list --json'],
      json: `{ peers: [${PEER_JSON}] }`,
    },
  ],
}

const group: CommandSpec = {
  path: ['group'],
  summary: 'create and manage end-to-end encrypted groups',
  description: 'A group is an MLS group; its owner (the creator) invites and removes members. A group is named by its id, a unique id prefix, or its local name.',
  args: [],
  options: [],
  examples: [],
  subcommands: [
    {
      path: ['group', 'create'],
      summary: 'create a group owned by this node',
      description:
        'Creates a group. Its name and description reach every member you invite, encrypted for the group like everything else. Names are unique on this node: a name already in use is refused.',
      args: [{ name: 'name', required: false }],
      options: [DESCRIPTION_OPTION],
      examples: ['burrow group create friends', 'burrow group create friends --description "the usual suspects"'],
      json: GROUP_JSON,
    },
    {
      path: ['group', 'rename'],
      summary: 'rename a group (for every member when you own it)',
      description:
        'The owner renames the group for every member (an owner-signed, encrypted setting; each member takes it as its name unless it chose its own, and adds -2, -3, … when another of its groups has that name) and may describe it. A member renames the group for itself only; the owner\'s later renames then leave its name alone.',
      args: [{ name: 'group', required: true }, { name: 'name', required: true }],
      options: [DESCRIPTION_OPTION],
      examples: ['burrow group rename friends family', 'burrow group rename family family --description "Sunday lunch"'],
      json: GROUP_JSON,
    },
    {
      path: ['group', 'invite'],
      summary: 'invite an allow-listed peer into a group you own',
      description:
        'Fetches a key package from the peer over Tor, adds it to the group and sends it the Welcome. When the peer is not connected, the invitation is queued (it survives a restart of this node) and sent when the peer comes online; the command says so and waits. Ctrl-C stops waiting and leaves the invitation queued; --no-wait returns at once; --cancel drops a queued invitation. Queued invitations show in `burrow group members`.',
      args: [{ name: 'group', required: true }, { name: 'peer', required: true }],
      options: [
        { name: 'no-wait', type: 'boolean', description: 'queue the invitation and return without waiting for the peer' },
        { name: 'cancel', type: 'boolean', description: 'cancel a queued invitation of this peer' },
      ],
      examples: ['burrow group invite friends alice', 'burrow group invite --no-wait friends alice', 'burrow group invite --cancel friends alice'],
      json: `{ state: "invited" or "queued", group: ${GROUP_JSON}, invite?: ${PENDING_INVITE_JSON} } (waiting: the final state); --cancel: ${PENDING_INVITE_JSON}`,
    },
    {
      path: ['group', 'remove'],
      summary: 'remove a member from a group you own',
      description: 'The removed member cannot read anything sent afterwards.',
      args: [{ name: 'group', required: true }, { name: 'peer', required: true }],
      options: [],
      examples: ['burrow group remove friends alice'],
      json: GROUP_JSON,
    },
    {
      path: ['group', 'leave'],
      summary: 'leave a group you do not own',
      description:
        'Asks the owner to remove you: the group shows as "leaving" until the owner\'s node commits it, then as "left". You keep what you read; you can no longer send. The owner can invite you again.',
      args: [{ name: 'group', required: true }],
      options: [],
      examples: ['burrow group leave friends'],
      json: GROUP_JSON,
    },
    {
      path: ['group', 'members'],
      summary: 'list the members of a group, and the invitations waiting for a peer',
      description: 'Shows each member with its name and peer id when it is on the allow-list ([forked] when this node holds a fork proof against it), then the invitations queued until their peer comes online.',
      args: [{ name: 'group', required: true }],
      options: [],
      examples: ['burrow group members friends'],
      json: `{ group, members: [${MEMBER_JSON}], pending: [${PENDING_INVITE_JSON}], retentionMs }`,
    },
    {
      path: ['group', 'list'],
      summary: 'list groups',
      description: 'Shows every group this node belongs to, and its state: active, leaving (your leave awaits the owner), left, or removed (the owner removed you).',
      args: [],
      options: [],
      examples: ['burrow group list'],
      json: `{ groups: [${GROUP_JSON}] }`,
    },
    {
      path: ['group', 'rotate'],
      summary: 'rotate this node\'s keys in a group',
      description: 'The owner commits a key update at once (it says at which epoch); a member proposes one, which the owner\'s node commits when it gets it (it says so: "proposed").',
      args: [{ name: 'group', required: true }],
      options: [],
      examples: ['burrow group rotate friends'],
      json: `{ state: "committed" or "proposed", epoch? (committed), group: ${GROUP_JSON} }`,
    },
    {
      path: ['group', 'retention'],
      summary: 'set how long the members of a group you own keep what is sent',
      description:
        'Every member then deletes what is older than the period: messages and files leave every local view, their encrypted payloads every store, and members\' logs are pruned (the owner\'s commits stay, so a member that was away can still catch up). The period is a number and a unit (m, h, d, w), from 1m; `off` keeps everything until its author deletes it. Shown by `group list` and `group members`.',
      args: [{ name: 'group', required: true }, { name: 'period', required: true }],
      options: [],
      examples: ['burrow group retention friends 30d', 'burrow group retention friends off'],
      json: GROUP_JSON,
    },
    {
      path: ['group', 'keeper'],
      summary: 'name the keepers of a group you own: nodes that hold its logs for members who are offline',
      description:
        'A keeper is a Burrow node, typically your own always-on one, that stores and serves the group\'s logs without being a member: ciphertext only, never a key. `add` makes an allow-listed peer a keeper (at most 8): the list reaches the members inside the group\'s encrypted data, each member decides whether to allow it (`burrow group keepers`), and the keeper gets an order naming the members (sent again until it answers). `remove` drops it: nothing new is shared with it and it lets the group go. `list` shows them. See docs/keepers.md and SECURITY.md for what a keeper learns.',
      args: [{ name: 'add|remove|list', required: true }, { name: 'group', required: true }, { name: 'peer', required: false }],
      options: [],
      examples: ['burrow group keeper add friends my-server', 'burrow group keeper list friends', 'burrow group keeper remove friends my-server'],
      json: KEEPERS_JSON,
    },
    {
      path: ['group', 'keepers'],
      summary: 'allow or deny the keepers the owner of a group names',
      description:
        'The owner of a group may name keepers: nodes that hold the group\'s logs so that members who are never online at the same time still reach each other. Whether your node shares the group with them is your decision: `allow` puts them on your allow-list (shown in `peers list` as "keeper of <group>"), shares the group\'s logs and your files\' ids with them, now and for keepers the owner names later; `deny` refuses, and drops them at once if you had allowed them. Until you answer, `burrow status`, `burrow read` and `burrow start` remind you. Without allow or deny, shows the keepers and your answer, and on a terminal asks you while it is unanswered (there is no join step to ask at: a node takes invitations from allow-listed peers by itself).',
      args: [{ name: 'allow|deny', required: false }, { name: 'group', required: true }],
      options: [],
      examples: ['burrow group keepers friends', 'burrow group keepers allow friends', 'burrow group keepers deny friends'],
      json: KEEPERS_JSON,
    },
  ],
}

const testnet: CommandSpec = {
  path: ['testnet'],
  summary: 'run a private Tor network on 127.0.0.1 for tests and demos',
  description: 'Three directory authorities and three relays on 127.0.0.1; nodes join it with --testnet DIR.',
  args: [],
  options: [],
  examples: [],
  subcommands: ['up', 'status', 'down'].map((name) => ({
    path: ['testnet', name],
    summary: { up: 'start the network (it outlives this command)', status: 'show whether each tor of the network is alive', down: 'stop the network' }[name]!,
    description: {
      up: 'Creates keys and starts the tors as background processes, then waits until clients can bootstrap.',
      status: 'Checks every recorded tor process and the consensus an authority serves. Exits 1 if the network is not fully running.',
      down: 'Stops every tor of the network by PID.',
    }[name]!,
    args: [],
    options: [
      { name: 'dir', type: 'string' as const, value: 'DIR', description: 'directory of the network (default: .burrow-testnet)' },
      ...(name === 'up'
        ? [{ name: 'profile', type: 'string' as const, value: 'NAME', description: 'fast (bare loopback, the default) or live (links with live-Tor latency and bandwidth, see docs/testnet.md)' }]
        : []),
    ],
    examples: [`burrow testnet ${name} --dir /tmp/burrow-testnet`, ...(name === 'up' ? ['burrow testnet up --dir /tmp/burrow-live --profile live'] : [])],
    json: { up: '{ dir, joinFile, tors }', status: '{ running, nodes: [{ nickname, pid, alive }], consensusRelays? }', down: '{ dir, stopped }' }[name]!,
  })),
}

/** Every top-level command, in help order. */
export const COMMANDS: CommandSpec[] = [
  {
    path: ['init'],
    summary: 'create this node\'s identity in the data directory',
    description:
      'Creates a new identity (Ed25519 keys, .onion address) and an empty database. The keystore is sealed with a passphrase unless --no-passphrase is given. The passphrase comes from --passphrase-file, --passphrase-stdin, BURROW_PASSPHRASE, or a prompt on a terminal (asked twice); never from the command line.',
    args: [],
    options: [
      { name: 'name', type: 'string', value: 'NAME', description: 'display name written into config.json and shown in your contact card' },
      PASSPHRASE_FILE,
      PASSPHRASE_STDIN,
      { name: 'no-passphrase', type: 'boolean', description: 'store the keys unsealed (protected by file permissions only)' },
    ],
    examples: [
      'burrow init --name alice',
      'burrow --data-dir /tmp/a init --no-passphrase',
      'printf "%s\\n" "$PASS" | burrow init --passphrase-stdin',
      'burrow init --passphrase-file /etc/burrow/passphrase',
    ],
    json: '{ peerId, onion, dataDir, sealed }',
  },
  {
    path: ['start'],
    summary: 'run the node in the foreground',
    description:
      'Starts tor, publishes the onion service, connects to allow-listed peers and serves the local API on <data dir>/burrow.sock. Prints a line when the onion is reachable and when peers connect or disconnect. Stops cleanly (exit 0) on Ctrl-C, SIGTERM or `burrow stop`. A sealed keystore\'s passphrase comes from --passphrase-file, --passphrase-stdin, BURROW_PASSPHRASE, or a prompt on a terminal (three tries). Its log (warnings and errors unless --log-level says more) goes to stderr as plain lines, or as JSON lines to --log-file (or the config\'s logFile); secrets are redacted.',
    args: [],
    options: [
      PASSPHRASE_FILE,
      PASSPHRASE_STDIN,
      { name: 'log-level', type: 'string', value: 'LEVEL', description: 'fatal, error, warn, info, debug, trace or silent (default: the config\'s logLevel, else BURROW_LOG_LEVEL, else warn)' },
      { name: 'log-file', type: 'string', value: 'PATH', description: 'append the log to PATH as JSON lines (created 0600) instead of printing it' },
      {
        name: 'bridge',
        type: 'string',
        multiple: true,
        value: 'LINE',
        description: 'reach Tor only through this bridge: a plain one (IP:port [fingerprint]) or obfs4 (needs obfs4proxy); repeat for more; replaces the config\'s bridges',
      },
    ],
    examples: [
      'burrow start',
      "burrow start --bridge 'obfs4 192.0.2.7:443 4352E58420E68F5E40BF7C74FADDCCD9D1349413 cert=… iat-mode=0'",
      'burrow --data-dir /tmp/a --testnet /tmp/burrow-testnet start',
      'burrow start --passphrase-file "$CREDENTIALS_DIRECTORY/passphrase" --log-file /var/log/burrow/burrow.log --log-level info',
    ],
    json: 'JSON lines: { event, data } per node event ("tor:bootstrap", "onion:reachable", "peer:connected", …), then { event: "stopped" }',
  },
  {
    path: ['stop'],
    summary: 'stop the running node',
    description: 'Asks the node to shut down and returns once it has: tor stopped, peers disconnected, database and local API closed (waits up to 60 s).',
    args: [],
    options: [],
    examples: ['burrow stop'],
    json: '{ stopped: true }',
  },
  {
    path: ['status'],
    summary: 'show the running node\'s state',
    description:
      'Tor bootstrap, reachability of the onion service, peers, groups and stored operations; the keepers a group\'s owner named that you have not answered yet; and, on a keeper, the groups it keeps (owner, members, operations, size against its quota, and FULL when it refuses new operations: KEEPER_QUOTA_FULL).',
    args: [],
    options: [],
    examples: ['burrow status', 'burrow status --json'],
    json: `{ state, peerId, onion, identityKey, fingerprint, tor: { state, bootstrap, pid? }, reachable, peers: { total, connected }, groups, operations, kept: [${KEPT_JSON}], keeperQuestions: [${KEEPERS_JSON}], keepingQuestions: [${ORDERER_JSON}] }`,
  },
  {
    path: ['kept'],
    summary: 'list the groups this node keeps for their owners; allow or deny a peer to have its groups kept here',
    description:
      'A keeper holds the logs of groups whose owner ordered it to (ciphertext only: it is no member). It carries out orders only from peers you allowed: `allow <peer>` lets an allow-listed peer have its groups kept here (the order it sent meanwhile is carried out at once), `deny <peer>` refuses it and drops the groups kept for it. Until you answer, its orders are refused (KEEPER_NOT_ALLOWED) and `burrow status`, `burrow kept` and `burrow start` remind you. A node never keeps a group it is a member of, at most 16 groups per peer, and at most 4,096 file logs per group. Each group has a quota (config keeperGroupQuota, default 1 GiB) and all of them a total (keeperTotalQuota, default 10 GiB): a full group refuses new operations (KEEPER_QUOTA_FULL, logged) and its members keep them until space frees. Without allow or deny, lists the kept groups and the peers that asked.',
    args: [{ name: 'allow|deny', required: false }, { name: 'peer', required: false }],
    options: [],
    examples: ['burrow kept', 'burrow kept allow alice', 'burrow kept deny alice', 'burrow kept --json'],
    json: `{ kept: [${KEPT_JSON}], orderers: [${ORDERER_JSON}] } (with allow or deny: ${ORDERER_JSON})`,
  },
  {
    path: ['card'],
    summary: 'print this node\'s contact card and identity fingerprint',
    description: `The one line a peer needs to add this node (\`burrow peers add <card>\`), and this node's identity fingerprint, which the peer sees before it adds the card. With --qr, the card also as a QR code for a phone camera. Works with or without a running node; without one, a sealed keystore asks for its passphrase. ${FINGERPRINT_NOTE}`,
    args: [],
    options: [{ name: 'qr', type: 'boolean', description: 'also draw the card as a QR code' }, PASSPHRASE_FILE, PASSPHRASE_STDIN],
    examples: ['burrow card', 'burrow card --qr'],
    json: '{ card, fingerprint, qr? }',
  },
  peers,
  group,
  {
    path: ['forks'],
    summary: 'fork proofs: identities caught signing two different operations at one position',
    description:
      'When a peer sends an operation that conflicts with one this node holds (same author, log and position, both validly signed), the author forked its log: two devices share its keys, or it lies to different peers. Both headers are kept as a proof, the author is marked (in `peers list` and `group members`), and its log takes nothing more. `burrow forks` lists the proofs.',
    args: [],
    options: [],
    examples: [],
    defaultSubcommand: 'list',
    subcommands: [
      {
        path: ['forks', 'list'],
        summary: 'list the fork proofs this node holds (also: `burrow forks`)',
        description: 'Shows each proof: its id, the author, the log and position, and when it was detected.',
        args: [],
        options: [],
        examples: ['burrow forks', 'burrow forks --json'],
        json: `{ forks: [${FORK_JSON}] }`,
      },
      {
        path: ['forks', 'export'],
        summary: 'print a fork proof in its text form',
        description: 'Prints the proof (`burrow-fork-proof:…`, docs/log-format.md) to give to anyone: `burrow verify-fork` checks it without a node. The id may be a unique prefix of at least 4 hex digits.',
        args: [{ name: 'id', required: true }],
        options: [],
        examples: ['burrow forks export 3f9a'],
        json: '{ id, proof }',
      },
    ],
  },
  {
    path: ['verify-fork'],
    summary: 'check a fork proof someone gave you (no node needed)',
    description:
      'Checks a proof in its text form (`burrow-fork-proof:…`, or - to read it from stdin) by the rules of docs/log-format.md: two different operations, validly signed by one author, at one position of one log. Prints what it proves; exit 0 when it holds, 2 when it does not (LOG_INVALID_FORK_PROOF). Runs without a node and touches no data directory.',
    args: [{ name: 'proof', required: true }],
    options: [],
    examples: ['burrow verify-fork burrow-fork-proof:gwFZ…', 'burrow verify-fork - < proof.txt'],
    json: '{ valid: true, id, author, fingerprint, logId, seq }',
  },
  {
    path: ['send'],
    summary: 'send a message or a file to a group',
    description:
      'Encrypts and sends to the group; members receive it when they are connected or as soon as they sync. A message is limited to 128 KiB. A file (--file) may be of any size up to 64 GiB: the node seals it in chunks as it reads it (a progress bar shows how far), then announces it, and members fetch it in the background (`burrow files`, `burrow get`). With `--file -` it reads stdin to its end.',
    args: [{ name: 'group', required: true }, { name: 'text', required: false }],
    options: [
      { name: 'file', type: 'string', value: 'PATH', description: 'send this file (or - for stdin) instead of text' },
      { name: 'name', type: 'string', value: 'NAME', description: 'the file name members see (default: the file\'s own, or stdin)' },
      { name: 'type', type: 'string', value: 'MEDIA', description: 'its media type, e.g. image/jpeg (default: from the name\'s extension)' },
    ],
    examples: ['burrow send friends "hello there"', 'burrow send friends --file ./photo.jpg', 'tar c notes | burrow send friends --file - --name notes.tar', 'burrow send friends -- "-starts with a dash"'],
    json: MESSAGE_JSON,
  },
  {
    path: ['files'],
    summary: 'list a group\'s files',
    description: 'Every file sent to the group since this node joined it: name, size, sender, and whether all of it has arrived (or how many chunks have).',
    args: [{ name: 'group', required: true }],
    options: [],
    examples: ['burrow files friends', 'burrow files friends --json'],
    json: `{ files: [${FILE_JSON}] }`,
  },
  {
    path: ['get'],
    summary: 'save a file of a group',
    description:
      'Decrypts a file into a temporary file beside the target and gives it its name only once its SHA-256 matches what the sender announced. The file is named by its id (a unique prefix will do) or its name. --out is a folder (the file goes in it, under its name made safe: no path, no hidden name, no control characters) or a file path; default: the current folder. An existing file is never replaced without --force. A file still arriving is refused unless --wait, which waits for the rest.',
    args: [{ name: 'group', required: true }, { name: 'file', required: true }],
    options: [
      { name: 'out', type: 'string', value: 'PATH', description: 'folder or file to save to (default: the current folder)' },
      { name: 'force', type: 'boolean', description: 'replace an existing file' },
      { name: 'wait', type: 'boolean', description: 'wait for a file that has not fully arrived yet' },
    ],
    examples: ['burrow get friends photo.jpg', 'burrow get friends 3fa4c1 --out ~/Downloads', 'burrow get friends big.iso --wait --out /tmp/big.iso'],
    json: `{ file: ${FILE_JSON}, path }`,
  },
  {
    path: ['delete'],
    summary: 'delete one of your messages or files, for every member',
    description:
      'Names a message by its id (as `read` shows it, e.g. 12 or #12) or a file by its id or name. Only your own. Every member\'s node deletes its encrypted payload (nobody serves it any more) and drops it from its local view; a file\'s chunks and key go too. Copies someone already saved stay theirs.',
    args: [{ name: 'group', required: true }, { name: 'entry', required: true }],
    options: [],
    examples: ['burrow delete friends 12', 'burrow delete friends photo.jpg'],
    json: `{ message?: ${MESSAGE_JSON}, file?: ${FILE_JSON} }`,
  },
  {
    path: ['read'],
    summary: 'read a group\'s messages',
    description: 'Prints the decrypted messages of a group from this node\'s local view, oldest first. With --follow, keeps printing new ones until Ctrl-C (exit 0) or until the node stops (exit 1).',
    args: [{ name: 'group', required: true }],
    options: [
      { name: 'follow', type: 'boolean', short: 'f', description: 'keep printing new messages as they arrive' },
      { name: 'after', type: 'string', value: 'ID', description: 'only messages with a local id greater than ID' },
      { name: 'limit', type: 'string', value: 'N', description: 'at most N messages (1-1000, default 100)' },
    ],
    examples: ['burrow read friends', 'burrow read friends --after 41 --limit 10', 'burrow read friends --follow --json'],
    json: `{ messages: [${MESSAGE_JSON}], more }; with --follow: one message per line`,
  },
  {
    path: ['chat'],
    summary: 'chat in a group in the terminal',
    description:
      'A terminal chat on the running node: the last messages of the group, new ones as they arrive, and an input line (Enter sends; /quit, Ctrl-C or Ctrl-D on an empty line leaves). The status line shows who else has the chat open and who is typing, from ephemeral messages that only members connected at that moment see and nobody stores, how many members are connected, and the group\'s file transfers with their progress. Files: `/send PATH` sends one, `/files` lists them, `/get FILE [PATH]` saves one (as `burrow send --file`, `files` and `get` do); `/help` lists the commands. Messages are ordinary group messages, as `burrow send` sends them. Needs a terminal; scripts use `read --follow` and `send`.',
    args: [{ name: 'group', required: true }],
    options: [],
    examples: ['burrow chat friends', '(in the chat) /send ~/notes.pdf', '(in the chat) /get notes.pdf ~/Downloads'],
    json: 'not available: the chat is a screen for people (scripts use `read --follow --json` and `send`)',
  },
  {
    path: ['passphrase'],
    summary: 'set, change or remove the passphrase (keystore and database)',
    description:
      'Seals the keystore with a new passphrase and re-encrypts the database with a key derived from it, or with --remove unseals both. Asks for the current passphrase first (if there is one), then for the new one twice at a terminal. The node must not be running. Crash-safe: if it is interrupted, either the old or the new passphrase opens everything. The current passphrase comes from --passphrase-file, --passphrase-stdin, BURROW_PASSPHRASE or a prompt; the new one from --new-passphrase-file, BURROW_NEW_PASSPHRASE or a prompt.',
    args: [],
    options: [
      PASSPHRASE_FILE,
      PASSPHRASE_STDIN,
      { name: 'new-passphrase-file', type: 'string', value: 'PATH', description: 'read the new passphrase from a file (as --passphrase-file reads the current one)' },
      { name: 'remove', type: 'boolean', description: 'remove the passphrase: keystore and database stored unencrypted (file permissions only)' },
    ],
    examples: ['burrow passphrase', 'burrow passphrase --remove', 'burrow passphrase --passphrase-file old.txt --new-passphrase-file new.txt'],
    json: '{ sealed }',
  },
  {
    path: ['backup'],
    summary: 'write a backup of this node (keys, config, database) to a file',
    description:
      'Writes one file holding the keystore, the config and a consistent snapshot of the database, taken while the node runs or not. The file is sealed with a passphrase (the age format, scrypt): a node with a passphrase uses its own, which is asked for and checked; a node without one asks for a passphrase for the backup (twice at a terminal), or writes the file unsealed with --no-passphrase. Keep backups private: the file holds the node\'s identity. Never replaces an existing file.',
    args: [],
    options: [
      { name: 'out', type: 'string', value: 'FILE', description: 'where to write the backup (required; created 0600)' },
      PASSPHRASE_FILE,
      PASSPHRASE_STDIN,
      { name: 'no-passphrase', type: 'boolean', description: 'for a node without a passphrase: write the backup unsealed (anyone who reads the file can act as this node)' },
    ],
    examples: ['burrow backup --out ~/burrow-backup.age', 'burrow --data-dir /tmp/a backup --out /tmp/a.backup --no-passphrase'],
    json: '{ out, bytes, sealed }',
  },
  {
    path: ['restore'],
    summary: 'restore a node from a backup file into a new data directory',
    description:
      'Recreates the node of a backup in --data-dir, which must hold no node. A sealed backup asks for its passphrase. The restored node has the same identity and .onion address as the one backed up, so only one of them may ever run again: two nodes with one onion key fight over the onion service, and two nodes writing as one log author fork their own logs (peers then refuse that log as forked). Restore therefore refuses while the data directory the backup came from, on this machine, still holds that identity (or a keystore the passphrase does not open, so it cannot tell), unless --force is given; it cannot see copies on other machines, so make sure the original is gone or never started again. Of the backup\'s config it keeps only displayName, logLevel and the keeper quotas (it says what it left out): a forged backup must not choose the tor binary or torrc lines of your next start.',
    args: [{ name: 'file', required: true }],
    options: [
      PASSPHRASE_FILE,
      PASSPHRASE_STDIN,
      { name: 'force', type: 'boolean', description: 'restore even though the original node still exists on this machine (then never run both)' },
    ],
    examples: ['burrow --data-dir ~/.local/share/burrow restore ~/burrow-backup.age', 'burrow --data-dir /tmp/b restore /tmp/a.backup --force'],
    json: '{ peerId, onion, dataDir, sealed }',
  },
  testnet,
]

/** Options a command accepts besides the global ones. */
export function allOptions(spec: CommandSpec): OptionSpec[] {
  return [...GLOBAL_OPTIONS, ...spec.options]
}

/** Every option of every command, to tell flags that take a value from those that do not while finding the command words. */
export function everyOption(): OptionSpec[] {
  const seen = new Map<string, OptionSpec>()
  const visit = (spec: CommandSpec): void => {
    for (const o of spec.options) seen.set(o.name, o)
    for (const sub of spec.subcommands ?? []) visit(sub)
  }
  for (const o of GLOBAL_OPTIONS) seen.set(o.name, o)
  for (const c of COMMANDS) visit(c)
  return [...seen.values()]
}
