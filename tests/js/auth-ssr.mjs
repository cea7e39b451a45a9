// @supabase/ssr's PKCE cookie flow in headless Chromium (Debian's package) against the local Auth API: a small
// server-rendered app (node http) asks for a magic link with createServerClient (the code verifier goes into a
// cookie), the browser opens the link from the maildir, Auth redirects to the app's /auth/callback?code=…, the
// app exchanges the code (exchangeCodeForSession reads the verifier cookie) and stores the session in cookies,
// and /me reads the user back from those cookies.
// Env: SUPABASE_URL, ANON_KEY, MAIL_DIR, EMAIL. Prints one JSON line with the results.
import { createServerClient, parseCookieHeader, serializeCookieHeader } from '@supabase/ssr'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import ws from 'ws'

const { SUPABASE_URL, ANON_KEY, MAIL_DIR, EMAIL } = process.env
const out = {}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function supabaseFor(req, res) {
  return createServerClient(SUPABASE_URL, ANON_KEY, {
    realtime: { transport: ws },
    cookies: {
      getAll: () => parseCookieHeader(req.headers.cookie ?? ''),
      setAll: (cookies) => {
        const previous = res.getHeader('set-cookie') ?? []
        res.setHeader('set-cookie', [...previous,
          ...cookies.map(({ name, value, options }) => serializeCookieHeader(name, value, options))])
      },
    },
  })
}

const app = createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`)
  const supabase = supabaseFor(req, res)
  try {
    if (url.pathname === '/login') {
      const { error } = await supabase.auth.signInWithOtp({ email: url.searchParams.get('email'),
        options: { emailRedirectTo: `${url.origin}/auth/callback` } })
      res.writeHead(error ? 500 : 200, { 'content-type': 'text/plain' }).end(error ? error.message : 'check your mail')
    } else if (url.pathname === '/auth/callback') {
      const { error } = await supabase.auth.exchangeCodeForSession(url.searchParams.get('code'))
      if (error) res.writeHead(500, { 'content-type': 'text/plain' }).end(`exchange failed: ${error.message}`)
      else res.writeHead(303, { location: '/me' }).end()
    } else if (url.pathname === '/me') {
      const { data, error } = await supabase.auth.getUser()
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ email: data.user?.email ?? null, error: error?.message ?? null }))
    } else {
      res.writeHead(404).end()
    }
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error))
  }
})
await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve))
const APP = `http://127.0.0.1:${app.address().port}`

async function lastLink(to) {
  for (let i = 0; i < 200; i++) {
    const files = readdirSync(MAIL_DIR).filter((f) => f.startsWith('email-'))
      .map((f) => join(MAIL_DIR, f)).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
    const mails = files.map((f) => readFileSync(f, 'utf8')).filter((m) => m.includes('X-Supakit-Template: auth.') && m.includes(`To: ${to}`))
    if (mails.length) {
      const text = mails[mails.length - 1].replace(/=\r?\n/g, '').replace(/=3D/g, '=') // quoted-printable
      return /(http\S+\/verify\?\S+)/.exec(text)[1]
    }
    await sleep(50)
  }
  throw new Error(`no mail to ${to}`)
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox',
  '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run'] })
try {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${APP}/login?email=${encodeURIComponent(EMAIL)}`)
  out.login = await page.textContent('body')
  out.verifierCookie = (await context.cookies()).some((c) => c.name.endsWith('-auth-token-code-verifier'))
  const link = await lastLink(EMAIL)
  out.linkIsPkce = link.includes('token=pkce_')
  const answer = await page.goto(link)
  out.finalUrl = page.url().replace(APP, 'APP')
  out.me = JSON.parse(await answer.text())
  const cookies = await context.cookies()
  out.sessionCookie = cookies.some((c) => /^sb-.*-auth-token(\.\d+)?$/.test(c.name))
  out.verifierCleared = !cookies.some((c) => c.name.endsWith('-auth-token-code-verifier') && c.value)
} catch (error) {
  out.crash = String(error?.stack || error)
} finally {
  await browser.close()
  app.close()
}
process.stdout.write(JSON.stringify(out) + '\n')
process.exit(0)
