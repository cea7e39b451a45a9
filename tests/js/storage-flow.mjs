// Drives storage-js (through supabase-js 2.119) and tus-js-client against the local Storage API.
// Usage: node storage-flow.mjs <scenario>, with API_URL (http://host:port), ANON_KEY, TOKENS (JSON: name -> access
// token), GROUP (a conversation id) in the environment. Prints one JSON object on stdout with the results;
// tests/test_storage_js.py reads it.
import { createClient } from '@supabase/supabase-js'
import * as tus from 'tus-js-client'
import ws from 'ws'

const API_URL = process.env.API_URL
const ANON_KEY = process.env.ANON_KEY
const TOKENS = JSON.parse(process.env.TOKENS || '{}')
const GROUP = process.env.GROUP
const BUCKET = 'message-attachments'

function as(who) {
  const headers = who ? { Authorization: `Bearer ${TOKENS[who]}` } : {}
  return createClient(API_URL, ANON_KEY, {
    global: { headers },
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: ws },
  })
}

const err = (error) => (error ? { status: error.statusCode ?? String(error.status), code: error.code ?? null,
  message: error.message } : null)

async function readmeFlow() {
  const supabase = as('member')
  const out = {}
  // the README's Messaging storage snippet, with a browser-like File
  const conversationId = GROUP
  const file = new File(['attachment body'], 'notes.txt', { type: 'text/plain' })
  const path = `${conversationId}/${crypto.randomUUID()}-${file.name}`
  const upload = await supabase.storage.from('message-attachments').upload(path, file, { contentType: file.type })
  out.upload = { data: upload.data, error: err(upload.error) }
  const insert = await supabase.from('messages').insert({
    conversation_id: conversationId,
    attachments: [{ path, name: file.name, size: file.size, mime_type: file.type }],
  })
  out.insertError = insert.error ? { status: insert.status, message: insert.error.message } : null
  const { data, error } = await supabase.storage.from('message-attachments').createSignedUrl(path, 3600)
  out.signError = err(error)
  out.signedBody = data ? await (await fetch(data.signedUrl)).text() : null
  // a key with a space: storage-js encodes the whole signed link once (encodeURI), so the server must not have
  const spaced = `${conversationId}/${crypto.randomUUID()}-my notes.txt`
  await supabase.storage.from(BUCKET).upload(spaced, new Blob(['spaced body'], { type: 'text/plain' }),
    { contentType: 'text/plain' })
  const spacedSigned = await supabase.storage.from(BUCKET).createSignedUrl(spaced, 60)
  out.spacedSignedBody = spacedSigned.data ? await (await fetch(spacedSigned.data.signedUrl)).text() : null
  out.path = path

  const other = as('client').storage.from(BUCKET)
  const otherDownload = await other.download(path)
  out.otherParticipantReads = otherDownload.data ? await otherDownload.data.text() : null
  out.otherParticipantReplace = err((await other.update(path, new Blob(['mine'], { type: 'text/plain' }), { contentType: 'text/plain' })).error)
  out.uploaderReplace = err((await supabase.storage.from(BUCKET).update(path, new Blob(['v2'], { type: 'text/plain' }),
    { contentType: 'text/plain' })).error)
  const outsider = as('outsider').storage.from(BUCKET)
  out.outsiderDownload = err((await outsider.download(path)).error)
  out.outsiderUpload = err((await outsider.upload(`${GROUP}/x.txt`, new Blob(['x'], { type: 'text/plain' }), { contentType: 'text/plain' })).error)
  out.outsiderSign = err((await outsider.createSignedUrl(path, 60)).error)
  out.exists = (await supabase.storage.from(BUCKET).exists(path)).data
  const missing = await supabase.storage.from(BUCKET).exists(`${GROUP}/missing.txt`)
  out.missingExists = missing.data
  out.info = (await supabase.storage.from(BUCKET).info(path)).data
  out.list = (await supabase.storage.from(BUCKET).list(GROUP)).data?.map((e) => e.name)
  const raw = await supabase.storage.from(BUCKET).upload(`${GROUP}/raw.bin`, Buffer.from('raw bytes'),
    { contentType: 'text/plain', upsert: true, metadata: { purpose: 'test' } })
  out.rawUpload = err(raw.error)
  out.rawInfo = (await supabase.storage.from(BUCKET).info(`${GROUP}/raw.bin`)).data
  out.removedBefore = (await as('removed').storage.from(BUCKET).download(path)).error === null
  return out
}

async function removedMember() {
  const out = {}
  const download = await as('removed').storage.from(BUCKET).download(process.env.PATH_TO_READ)
  out.removedDownload = err(download.error)
  return out
}

function tusUpload(body, objectName, { abortAfter, who = 'member', bucket = BUCKET } = {}) {
  return new Promise((resolve) => {
    const upload = new tus.Upload(body, {
      endpoint: `${API_URL}/storage/v1/upload/resumable`,
      retryDelays: [],
      headers: { authorization: `Bearer ${TOKENS[who]}`, apikey: ANON_KEY, 'x-upsert': 'true' },
      uploadDataDuringCreation: true,
      removeFingerprintOnSuccess: true,
      metadata: { bucketName: bucket, objectName, contentType: 'application/zip', cacheControl: '3600' },
      chunkSize: 6 * 1024 * 1024,
      onProgress(sent) {
        if (abortAfter && sent >= abortAfter) {
          upload.abort(false).then(() => resolve({ aborted: true, sent }))
        }
      },
      onError(error) { resolve({ error: String(error), status: error.originalResponse?.getStatus?.() }) },
      onSuccess() { resolve({ ok: true, url: upload.url }) },
    })
    upload.start()
  })
}

async function resumable() {
  const size = 50 * 1024 * 1024
  const body = Buffer.alloc(size)
  for (let i = 0; i < size; i += 4096) body.writeUInt32LE((i * 2654435761) >>> 0, i)
  const out = {}
  const small = body.subarray(0, 20 * 1024 * 1024)
  out.interrupted = await tusUpload(small, `${GROUP}/interrupted.zip`, { abortAfter: 7 * 1024 * 1024 })
  out.interruptedVisible = (await as('member').storage.from(BUCKET).exists(`${GROUP}/interrupted.zip`)).data
  out.member = await tusUpload(small, `${GROUP}/member.zip`)
  const member = await as('client').storage.from(BUCKET).download(`${GROUP}/member.zip`)
  out.memberSame = member.data ? Buffer.from(await member.data.arrayBuffer()).equals(small) : false
  const started = Date.now()
  out.full = await tusUpload(body, 'big.zip', { who: 'service', bucket: process.env.BIG_BUCKET })
  out.seconds = (Date.now() - started) / 1000
  const { data } = await as('service').storage.from(process.env.BIG_BUCKET).download('big.zip')
  const got = data ? Buffer.from(await data.arrayBuffer()) : Buffer.alloc(0)
  out.size = got.length
  out.same = got.equals(body)
  out.outsider = await new Promise((resolve) => {
    const upload = new tus.Upload(Buffer.from('nope'), {
      endpoint: `${API_URL}/storage/v1/upload/resumable`, retryDelays: [],
      headers: { authorization: `Bearer ${TOKENS.outsider}`, apikey: ANON_KEY },
      metadata: { bucketName: BUCKET, objectName: `${GROUP}/nope.zip`, contentType: 'application/zip' },
      onError(error) { resolve({ status: error.originalResponse?.getStatus?.(), body: error.originalResponse?.getBody?.() }) },
      onSuccess() { resolve({ ok: true }) },
    })
    upload.start()
  })
  return out
}

const scenarios = { readmeFlow, removedMember, resumable }
const name = process.argv[2]
try {
  const result = await scenarios[name]()
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
} catch (error) {
  process.stdout.write(JSON.stringify({ crashed: String(error?.stack || error) }) + '\n')
  process.exit(1)
}
