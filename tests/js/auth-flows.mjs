// Drives auth-js through supabase-js 2.119 against the local Auth API (functions_py/auth) on the gateway.
// Usage: node auth-flows.mjs, with SUPABASE_URL, ANON_KEY, SERVICE_KEY and MAIL_DIR (the maildir's new/ folder) in
// the environment. Every step's result goes into one JSON object printed on the last line; tests/test_auth_js.py
// asserts on it. E-mails are read from the maildir and their links clicked as a browser would (no apikey).
import { createClient } from '@supabase/supabase-js'
import { createHmac } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import ws from 'ws'

const URL = process.env.SUPABASE_URL
const ANON_KEY = process.env.ANON_KEY
const SERVICE_KEY = process.env.SERVICE_KEY
const MAIL_DIR = process.env.MAIL_DIR
const out = {}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function client(key = ANON_KEY) {
  return createClient(URL, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: ws },
  })
}

// The newest mail to `to`: its subject, the /verify link and the 6-digit code.
async function lastMail(to) {
  for (let i = 0; i < 100; i++) {
    const files = readdirSync(MAIL_DIR).filter((f) => f.startsWith('email-'))
      .map((f) => join(MAIL_DIR, f)).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
    const mails = files.map((f) => readFileSync(f, 'utf8')).filter((m) => m.includes('X-Supakit-Template: auth.') && m.includes(`To: ${to}`))
    if (mails.length) {
      const text = mails[mails.length - 1].replace(/=\r?\n/g, '').replace(/=3D/g, '=')
      return {
        subject: /Subject: (.*)/.exec(text)[1].trim(),
        link: (/(http\S+\/verify\?\S+)/.exec(text) || [])[1],
        code: (/code: (\d+)/.exec(text) || [])[1],
      }
    }
    await sleep(50)
  }
  throw new Error(`no mail to ${to}`)
}

async function click(link) {
  const answer = await fetch(link, { redirect: 'manual' })
  return { status: answer.status, location: answer.headers.get('location') }
}

function fragment(location) {
  return Object.fromEntries(new URLSearchParams(location.split('#')[1]))
}

function totp(secret) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const char of secret.replace(/=+$/, '')) bits += alphabet.indexOf(char).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)))
  const mac = createHmac('sha1', key).update(counter).digest()
  const offset = mac[mac.length - 1] & 0xf
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000
  return String(code).padStart(6, '0')
}

const errorOf = (error) => (error ? { name: error.name, status: error.status, code: error.code } : null)

async function signUpConfirmSignIn() {
  const supabase = client()
  const email = 'js-user@example.com'
  const { data: signedUp, error } = await supabase.auth.signUp({ email, password: 'js-password-1',
    options: { data: { full_name: 'Js User' } } })
  out.signup = { error: errorOf(error), session: signedUp.session, userEmail: signedUp.user?.email }
  const early = await supabase.auth.signInWithPassword({ email, password: 'js-password-1' })
  out.early = errorOf(early.error)
  const mail = await lastMail(email)
  const clicked = await click(mail.link)
  out.confirm = { subject: mail.subject, status: clicked.status, type: fragment(clicked.location).type }
  const { data, error: signInError } = await supabase.auth.signInWithPassword({ email, password: 'js-password-1' })
  out.signin = { error: errorOf(signInError), email: data.user?.email, aal: null }
  const rest = await fetch(`${URL}/rest/v1/`, { headers: { apikey: ANON_KEY } })
  if (rest.status === 404) {
    out.rls = { skipped: 'the Data API (/rest/v1) is not mounted on this gateway' }
  } else {
    const { data: rows, error: restError } = await supabase.from('profiles').select('id, full_name')
    out.rls = { error: restError, rows }
  }
  const before = data.session.refresh_token
  const { data: refreshed, error: refreshError } = await supabase.auth.refreshSession()
  out.refresh = { error: errorOf(refreshError), rotated: refreshed.session?.refresh_token !== before,
    sameUser: refreshed.user?.id === data.user.id }
  const { data: got } = await supabase.auth.getUser()
  out.getUser = got.user?.user_metadata?.full_name
  supabase.realtime.setAuth(refreshed.session.access_token)
  const channel = supabase.channel('room-js-auth')
  out.realtime = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('TIMED_OUT_LOCALLY'), 10000)
    channel.subscribe((status) => { if (status !== 'CLOSED') { clearTimeout(timer); resolve(status) } })
  })
  await supabase.removeAllChannels()
  const { error: outError } = await supabase.auth.signOut()
  out.signout = errorOf(outError)
  const reuse = await client().auth.refreshSession({ refresh_token: refreshed.session.refresh_token })
  out.afterSignout = errorOf(reuse.error)
  const { data: userAfter, error: userAfterError } = await client().auth.getUser(refreshed.session.access_token)
  out.userAfterSignout = { user: userAfter.user, error: errorOf(userAfterError) }
  return data.session
}

async function magicLink() {
  const supabase = client()
  const email = 'owner@example.com'
  const { error } = await supabase.auth.signInWithOtp({ email, options: { shouldCreateUser: false } })
  const mail = await lastMail(email)
  const { data, error: verifyError } = await supabase.auth.verifyOtp({ email, token: mail.code, type: 'email' })
  out.magic = { error: errorOf(error || verifyError), subject: mail.subject, email: data.user?.email }
  const again = await supabase.auth.verifyOtp({ email, token: mail.code, type: 'email' })
  out.magicReuse = errorOf(again.error)
}

async function recovery() {
  const supabase = client()
  const email = 'manager@example.com'
  await supabase.auth.resetPasswordForEmail(email)
  const mail = await lastMail(email)
  const tokens = fragment((await click(mail.link)).location)
  const { error } = await supabase.auth.setSession({ access_token: tokens.access_token,
    refresh_token: tokens.refresh_token })
  const { error: updateError } = await supabase.auth.updateUser({ password: 'brand-new-pass' })
  const signIn = await client().auth.signInWithPassword({ email, password: 'brand-new-pass' })
  out.recovery = { type: tokens.type, error: errorOf(error || updateError || signIn.error) }
  const weak = await supabase.auth.updateUser({ password: '1' })
  out.weak = { ...errorOf(weak.error), reasons: weak.error?.reasons }
}

async function anonymous() {
  const supabase = client()
  const { data, error } = await supabase.auth.signInAnonymously()
  out.anonymous = { error: errorOf(error), isAnonymous: data.user?.is_anonymous }
  const email = 'js-anon@example.com'
  const { data: changed, error: changeError } = await supabase.auth.updateUser({ email })
  const mail = await lastMail(email)
  const { data: verified, error: verifyError } = await supabase.auth.verifyOtp({ email, token: mail.code,
    type: 'email_change' })
  out.linked = { error: errorOf(changeError || verifyError), newEmail: changed.user?.new_email,
    email: verified.user?.email, isAnonymous: verified.user?.is_anonymous }
}

async function mfa() {
  const supabase = client()
  await supabase.auth.signInWithPassword({ email: 'client@example.com', password: 'password' })
  const { data: factor, error } = await supabase.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'js' })
  const { data: challenge, error: challengeError } = await supabase.auth.mfa.challenge({ factorId: factor.id })
  const { error: verifyError } = await supabase.auth.mfa.verify({ factorId: factor.id,
    challengeId: challenge.id, code: totp(factor.totp.secret) })
  const { data: level } = await supabase.auth.mfa.getAuthenticatorAssuranceLevel()
  const { data: factors } = await supabase.auth.mfa.listFactors()
  out.mfa = { error: errorOf(error || challengeError || verifyError), level, totp: factors.totp.length }
  const { error: unenrollError } = await supabase.auth.mfa.unenroll({ factorId: factor.id })
  out.unenroll = errorOf(unenrollError)
}

async function admin() {
  const supabase = client(SERVICE_KEY)
  const { data: created, error } = await supabase.auth.admin.createUser({ email: 'js-admin-made@example.com',
    password: 'made-pass-1', email_confirm: true, user_metadata: { made: true } })
  const { data: page, error: listError } = await supabase.auth.admin.listUsers({ page: 1, perPage: 2 })
  const { error: deleteError } = await supabase.auth.admin.deleteUser(created.user.id)
  const { error: goneError } = await supabase.auth.admin.getUserById(created.user.id)
  const { data: link, error: linkError } = await supabase.auth.admin.generateLink({ type: 'magiclink',
    email: 'assistant@example.com' })
  const { data: invited, error: inviteError } = await supabase.auth.admin.inviteUserByEmail('js-invitee@example.com')
  out.admin = { error: errorOf(error || listError || deleteError || linkError || inviteError),
    listed: page.users.length, nextPage: page.nextPage, lastPage: page.lastPage, total: page.total,
    gone: errorOf(goneError), linkType: link.properties?.verification_type,
    invited: Boolean(invited.user?.invited_at) }
}

try {
  await signUpConfirmSignIn()
  await magicLink()
  await recovery()
  await anonymous()
  await mfa()
  await admin()
} catch (error) {
  out.crash = String(error?.stack || error)
}
process.stdout.write(JSON.stringify(out) + '\n')
process.exit(0)
