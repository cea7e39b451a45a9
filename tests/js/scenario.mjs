// Drives @supabase/realtime-js (the npm client supabase-js wraps) against the local Realtime server.
// Usage: node scenario.mjs <scenario>, with REALTIME_URL (http://host:port/realtime/v1), ANON_KEY and the
// scenario's variables in the environment. Prints one JSON object per line on stdout: {"event": "ready"} when the
// Python side may act, then {"event": "done", ...results}; tests/test_realtime_js.py reads them.
import { RealtimeClient } from '@supabase/realtime-js'
import WebSocket from 'ws'

const URL = process.env.REALTIME_URL
const ANON_KEY = process.env.ANON_KEY
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 15000)

const emit = (event, data = {}) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function client(options = {}) {
  return new RealtimeClient(URL, { params: { apikey: ANON_KEY }, transport: WebSocket, ...options })
}

async function until(predicate, what, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

// Subscribe and resolve with the first terminal status (SUBSCRIBED, CHANNEL_ERROR, TIMED_OUT, CLOSED).
function subscribe(channel) {
  const statuses = []
  return new Promise((resolve) => {
    channel.subscribe((status, error) => {
      statuses.push({ status, error: error ? String(error.message || error) : null })
      if (statuses.length === 1) resolve(statuses)
    })
  })
}

const scenarios = {
  // Broadcast between two V2 clients: self and ack on the sender; send() resolves "ok" after the server's ack.
  async broadcast() {
    const a = client(), b = client()
    const got = { a: [], b: [] }
    const ca = a.channel('js-room', { config: { broadcast: { self: true, ack: true } } })
      .on('broadcast', { event: 'cursor' }, (m) => got.a.push(m))
    const cb = b.channel('js-room').on('broadcast', { event: 'cursor' }, (m) => got.b.push(m))
    const statuses = [await subscribe(ca), await subscribe(cb)]
    const sent = await ca.send({ type: 'broadcast', event: 'cursor', payload: { x: 1, y: 2 } })
    await until(() => got.a.length === 1 && got.b.length === 1, 'the broadcast at both ends')
    await sleep(200)
    emit('done', { statuses, sent, got, vsn: a.vsn })
    a.disconnect(); b.disconnect()
  },

  // V1 and V2 subscribers on one channel hear each other (the Python side adds a realtime-py V1 client).
  async mixed() {
    const v2 = client(), v1 = client({ vsn: '1.0.0' })
    const got = { v2: [], v1: [] }
    const c2 = v2.channel('mixed', { config: { broadcast: { ack: true } } })
      .on('broadcast', { event: '*' }, (m) => got.v2.push(m))
    const c1 = v1.channel('mixed', { config: { broadcast: { ack: true } } })
      .on('broadcast', { event: '*' }, (m) => got.v1.push(m))
    await subscribe(c2); await subscribe(c1)
    emit('ready')
    // the Python client broadcasts once it has joined; answer only then, so it cannot miss ours
    await until(() => got.v2.some((m) => m.event === 'from-py'), 'the Python client\'s broadcast')
    const sent2 = await c2.send({ type: 'broadcast', event: 'from-v2', payload: { n: 2 } })
    const sent1 = await c1.send({ type: 'broadcast', event: 'from-v1', payload: { n: 1 } })
    await until(() => got.v2.some((m) => m.event === 'from-py') && got.v1.some((m) => m.event === 'from-py') &&
      got.v1.some((m) => m.event === 'from-v2') && got.v2.some((m) => m.event === 'from-v1'), 'every broadcast')
    emit('done', { sent: [sent2, sent1], got })
    v2.disconnect(); v1.disconnect()
  },

  // Presence: sync after join, join on track, leave on untrack and on disconnect.
  async presence() {
    const a = client(), b = client()
    const events = []
    const ca = a.channel('js-lobby', { config: { presence: { key: 'alice' } } })
      .on('presence', { event: 'sync' }, () => events.push({ sync: Object.keys(ca.presenceState()).sort() }))
      .on('presence', { event: 'join' }, ({ key, newPresences }) => events.push({ join: key, metas: newPresences }))
      .on('presence', { event: 'leave' }, ({ key }) => events.push({ leave: key }))
    await subscribe(ca)
    const tracked = await ca.track({ status: 'online' })
    const cb = b.channel('js-lobby', { config: { presence: { key: 'bob' } } })
    cb.on('presence', { event: 'sync' }, () => {})
    await subscribe(cb)
    await until(() => Object.keys(cb.presenceState()).includes('alice'), 'alice in bob\'s presence_state')
    const bobSeesAlice = cb.presenceState().alice
    await cb.track({ status: 'typing' })
    await until(() => events.some((e) => e.join === 'bob'), 'bob\'s join')
    await cb.untrack()
    await until(() => events.some((e) => e.leave === 'bob'), 'bob\'s leave on untrack')
    await cb.track({ status: 'back' })
    await until(() => Object.keys(ca.presenceState()).includes('bob'), 'bob back')
    b.disconnect()
    await until(() => !Object.keys(ca.presenceState()).includes('bob'), 'bob\'s leave on disconnect')
    emit('done', { tracked, bobSeesAlice, events })
    a.disconnect()
  },

  // A private channel: USER_TOKEN may read TOPIC, OTHER_TOKEN may not. The Python side then writes to the
  // database; the allowed subscriber receives the database broadcast (binary kind 4 on V2).
  async private() {
    const allowed = client(), refused = client()
    await allowed.setAuth(process.env.USER_TOKEN)
    await refused.setAuth(process.env.OTHER_TOKEN)
    const got = []
    const ca = allowed.channel(process.env.TOPIC, { config: { private: true } })
      .on('broadcast', { event: '*' }, (m) => got.push(m))
    const okStatus = await subscribe(ca)
    const cr = refused.channel(process.env.TOPIC, { config: { private: true } })
    const refusedStatus = await subscribe(cr)
    refused.disconnect()
    emit('ready', { okStatus, refusedStatus })
    await until(() => got.length >= 1, 'the database broadcast')
    emit('done', { got })
    allowed.disconnect()
  },

  // Token refresh: setAuth with a token that may no longer read the private channel closes it.
  async refresh() {
    const c = client()
    await c.setAuth(process.env.USER_TOKEN)
    const statuses = []
    const ch = c.channel(process.env.TOPIC, { config: { private: true } })
    ch.subscribe((status, error) => statuses.push({ status, error: error ? String(error.message || error) : null }))
    await until(() => statuses.length > 0, 'the join')
    const systems = []
    ch.on('system', {}, (m) => systems.push(m))
    await c.setAuth(process.env.OTHER_TOKEN)
    await until(() => ch.state === 'closed' || statuses.length > 1, 'the channel to close')
    emit('done', { statuses, state: ch.state, systems })
    c.disconnect()
  },

  // postgres_changes with a filter on the user's token; the Python side then inserts, updates, deletes.
  async changes() {
    const c = client()
    await c.setAuth(process.env.USER_TOKEN)
    const got = []
    const ch = c.channel('js-notes').on('postgres_changes',
      { event: '*', schema: 'public', table: 'rt_notes', filter: process.env.FILTER }, (p) => got.push(p))
    const statuses = await subscribe(ch)
    emit('ready', { status: statuses[0].status, error: statuses[0].error })
    // the Python side waits for each change before the next write (RLS reads the row as it is at decoding)
    const seen = () => process.stdout.write(JSON.stringify({ event: 'seen', count: got.length }) + '\n')
    for (let n = 1; n <= 3; n++) { await until(() => got.length >= n, `change ${n}`); seen() }
    await sleep(300)
    emit('done', { got })
    c.disconnect()
  },

  // Reconnect: subscribed, then the Python side restarts the server on the same port and broadcasts.
  async reconnect() {
    const c = client()
    const statuses = [], got = []
    const ch = c.channel('js-restart').on('broadcast', { event: '*' }, (m) => got.push(m))
    ch.subscribe((status) => statuses.push(status))
    await until(() => statuses.includes('SUBSCRIBED'), 'the first join')
    emit('ready')
    await until(() => got.length >= 1, 'a broadcast after the restart', 40000)
    emit('done', { statuses, got })
    c.disconnect()
  },
}

const name = process.argv[2]
if (!scenarios[name]) {
  process.stderr.write(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(', ')}\n`)
  process.exit(2)
}
scenarios[name]().then(() => process.exit(0), (error) => {
  process.stderr.write(`${error.stack || error}\n`)
  process.exit(1)
})
