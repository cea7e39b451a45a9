// supabase-js 2.119 against a gateway with asymmetric signing keys ([auth] signing_keys_path): the session's access
// token is ES256 with a kid, auth-js's getClaims() verifies it with WebCrypto against /auth/v1/.well-known/jwks.json
// (and refuses a tampered one), and REST, Storage, Functions and Realtime accept it.
// Usage: node auth-signing-keys.mjs with SUPABASE_URL and ANON_KEY; one JSON object on the last line
// (tests/test_signing_keys_js.py asserts on it).
import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const out = {}
const supabase = createClient(process.env.SUPABASE_URL, process.env.ANON_KEY, {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: ws },
})
const errorOf = (error) => (error ? { name: error.name, code: error.code, message: error.message } : null)
const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString())

try {
  const { data, error } = await supabase.auth.signInWithPassword({ email: 'owner@example.com', password: 'password' })
  out.signin = errorOf(error)
  const token = data.session.access_token
  out.header = decode(token.split('.')[0])

  const claims = await supabase.auth.getClaims()
  out.claims = { error: errorOf(claims.error), sub: claims.data?.claims?.sub, kid: claims.data?.header?.kid }
  const [head, payload, signature] = token.split('.')
  const tampered = Buffer.from(JSON.stringify({ ...decode(payload), role: 'service_role' })).toString('base64url')
  const forged = await supabase.auth.getClaims(`${head}.${tampered}.${signature}`)
  out.forged = errorOf(forged.error)

  const { data: rows, error: restError } = await supabase.from('tasks').select('id')
  out.rest = { error: errorOf(restError), rows: rows?.length ?? null }
  const { data: buckets, error: storageError } = await supabase.storage.listBuckets()
  out.storage = { error: errorOf(storageError), isList: Array.isArray(buckets) }
  const { error: functionError } = await supabase.functions.invoke('billing-checkout', { body: {} })
  out.functions = { status: functionError?.context?.status ?? 200 }

  supabase.realtime.setAuth(token)
  const channel = supabase.channel('room-signing-keys')
  out.realtime = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('TIMED_OUT_LOCALLY'), 10000)
    channel.subscribe((status) => { if (status !== 'CLOSED') { clearTimeout(timer); resolve(status) } })
  })
  await supabase.removeAllChannels()

  const { data: refreshed, error: refreshError } = await supabase.auth.refreshSession()
  out.refresh = { error: errorOf(refreshError), header: decode(refreshed.session.access_token.split('.')[0]) }
} catch (error) {
  out.crash = String(error?.stack || error)
}
console.log(JSON.stringify(out))
process.exit(0)
