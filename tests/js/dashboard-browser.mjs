// Drives the local dashboard in headless Chromium (Debian's /usr/bin/chromium) with playwright-core; run by
// tests/test_dashboard_browser.py, which checks the database afterwards.
//   node dashboard-browser.mjs <base url> <artifact dir> <json: {failedJob, queuedJob, cancelJob, event, run}>
// Prints one JSON line per step: {"step": ..., ...}; exits non-zero on the first failed expectation.
import { chromium } from "playwright-core"
import { mkdirSync } from "node:fs"
import { join } from "node:path"

const [base, artifacts, rawIds] = process.argv.slice(2)
const ids = JSON.parse(rawIds)
mkdirSync(artifacts, { recursive: true })

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

function report(step, data = {}) {
  console.log(JSON.stringify({ step, ...data }))
}

function expect(condition, message) {
  if (!condition) {
    report("failed", { message })
    throw new Error(message)
  }
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS, headless: true })
const errors = []
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  page.on("pageerror", (error) => errors.push(String(error)))
  page.on("console", (message) => { if (message.type() === "error") errors.push(message.text()) })

  async function shot(name, path) {
    const response = await page.goto(base + path, { waitUntil: "networkidle" })
    expect(response.status() === 200, `${path} answered ${response.status()}`)
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true })
    report("screenshot", { name, path, title: await page.title() })
  }

  // every page, as a person would look at it
  await shot("queue", "/queue")
  expect(await page.locator("svg.chart").count() === 2, "the queue page draws two charts")
  const htmxLoaded = await page.evaluate(() => typeof window.htmx === "object")
  expect(htmxLoaded, "htmx (vendored) is loaded")
  await shot("job-failed", `/queue/jobs/${ids.failedJob}`)
  await shot("provisioning", "/provisioning")
  await shot("provisioning-run", `/provisioning/runs/${ids.run}`)
  await shot("billing", "/billing")
  await shot("billing-event", `/billing/events/${ids.event}`)
  await shot("mail", "/mail")
  await shot("mail-outbox", `/mail/outbox/${ids.email}`)
  await shot("mail-maildir", `/mail/maildir/${ids.message}`)
  const link = page.locator(".message-body a").first()
  expect(await link.count() === 1, "the magic link in the e-mail is a link")
  report("link", { href: await link.getAttribute("href") })

  // filters: the job list is swapped in by htmx
  await page.goto(base + "/queue", { waitUntil: "networkidle" })
  await page.selectOption("select[name=status]", "failed")
  await Promise.all([page.waitForResponse((r) => r.url().includes("/queue/jobs?")), page.click(".filters button")])
  await page.waitForTimeout(200)
  const statuses = await page.locator("#jobs tbody .badge").allTextContents()
  expect(statuses.length > 0 && statuses.every((s) => s === "failed"), `filtered list shows failed only: ${statuses}`)
  report("filter", { rows: statuses.length })
  await page.screenshot({ path: join(artifacts, "queue-filtered.png"), fullPage: true })

  // live updates: cancel a queued job behind the page's back; the polled summary shows one fewer queued
  await page.goto(base + "/queue", { waitUntil: "networkidle" })
  const before = Number(await page.locator("[data-figure=queued] .figure").textContent())
  const answer = await page.evaluate(async (id) => (await fetch(`/queue/jobs/${id}/cancel`, { method: "POST" })).status,
    ids.cancelJob)
  expect(answer === 200, `the background cancel answered ${answer}`)
  await page.waitForFunction((expected) =>
    Number(document.querySelector("[data-figure=queued] .figure").textContent) === expected, before - 1,
  { timeout: 10000 })
  report("live", { before, after: before - 1 })

  // retry a failed job, cancel a queued one: the buttons
  await page.goto(base + `/queue/jobs/${ids.failedJob}`)
  await Promise.all([page.waitForURL(/flash=/), page.click("button[name=retry]")])
  report("retry", { status: await page.locator("#job-status").textContent(), flash: await page.locator(".flash[role=status]").textContent() })
  await page.screenshot({ path: join(artifacts, "job-retried.png"), fullPage: true })

  await page.goto(base + `/queue/jobs/${ids.queuedJob}`)
  await Promise.all([page.waitForURL(/flash=/), page.click("button[name=cancel]")])
  report("cancel", { status: await page.locator("#job-status").textContent() })

  // replay the failed Stripe event
  await page.goto(base + `/billing/events/${ids.event}`)
  await Promise.all([page.waitForURL(/flash=/), page.click("button[name=replay]")])
  report("replay", { outcome: await page.locator("#event-outcome").textContent(),
    flash: await page.locator(".flash[role=status]").textContent() })
  await page.screenshot({ path: join(artifacts, "billing-replayed.png"), fullPage: true })

  // retry the rolled-back provisioning run
  await page.goto(base + `/provisioning/runs/${ids.run}`)
  await Promise.all([page.waitForURL(/flash=/), page.click("button[name=retry]")])
  report("provisioning-retry", { flash: await page.locator(".flash[role=status]").textContent(),
    status: await page.locator("#run-status").textContent() })
  await page.screenshot({ path: join(artifacts, "provisioning-retried.png"), fullPage: true })

  expect(errors.length === 0, `no script errors in the pages: ${errors.join("; ")}`)
  report("done")
} finally {
  await browser.close()
}
