// The JavaScript API's identity calls: `identify` with the site's valid signature makes the
// visitor the site's user, the same visitor on another device; a wrong signature is refused
// with an `error` event; `reset()` (the site's logout) starts a fresh visitor.
//
// HOST_URL: a page with the widget; USER_ID, ATTRIBUTES (JSON), HASH: a signed identity.

import { launch, result } from './lib.mjs';

const HOST = process.env.HOST_URL;
const identity = {
  id: process.env.USER_ID,
  attributes: JSON.parse(process.env.ATTRIBUTES),
  hash: process.env.HASH,
};
const out = { errors: [] };
const browser = await launch();

async function visit(context, who) {
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(`page: ${e}`));
  await page.goto(HOST);
  await page.waitForFunction(() => window.Bellhop && window.Bellhop.identify);
  await page.evaluate(() => {
    window.__errors = [];
    window.Bellhop.on('error', (e) => window.__errors.push(e && e.message));
  });
  if (who) await page.evaluate((id) => window.Bellhop.identify(id), who);
  await page.locator('bellhop-widget .bubble').click();
  const frame = page.frameLocator('bellhop-widget iframe');
  await frame.locator('textarea.input').waitFor({ state: 'visible', timeout: 15000 });
  return { page, frame };
}

async function send(frame, text, nth) {
  await frame.locator('textarea.input').fill(text);
  await frame.locator('textarea.input').press('Enter');
  await frame.locator('.msg.mine .state', { hasText: 'Sent' }).nth(nth).waitFor({ timeout: 15000 });
}

try {
  const laptop = await browser.newContext();
  const a = await visit(laptop, identity);
  await a.page.waitForTimeout(1500);
  await send(a.frame, 'from the laptop', 0);

  // Another device, the same user: the same visitor, with the conversation.
  const phone = await browser.newContext();
  const b = await visit(phone, identity);
  await b.frame.locator('.msg.mine .body', { hasText: 'from the laptop' }).first()
    .waitFor({ timeout: 15000 }).then(() => { out.sameVisitorOnOtherDevice = true; })
    .catch(() => { out.sameVisitorOnOtherDevice = false; });

  // A forged identity is refused, and says so.
  const forger = await browser.newContext();
  const c = await visit(forger, { ...identity, hash: 'deadbeef'.repeat(8) });
  await c.page.waitForFunction(() => window.__errors.length > 0, null, { timeout: 15000 })
    .catch(() => {});
  out.forgedErrors = await c.page.evaluate(() => window.__errors);
  out.forgerSeesTheConversation = await c.frame.locator('.msg.mine .body', { hasText: 'from the laptop' }).count();

  // The site's logout: a fresh visitor, who sees nothing of the user's.
  await a.page.evaluate(() => window.Bellhop.reset());
  await a.page.waitForTimeout(1500);
  out.afterResetOld = await a.frame.locator('.msg.mine .body', { hasText: 'from the laptop' }).count();
  await send(a.frame, 'after the logout', 0);
  out.afterResetSent = true;
  for (const ctx of [laptop, phone, forger]) await ctx.close();
} catch (e) {
  out.failure = String((e && e.stack) || e);
} finally {
  await browser.close();
}
result(out);
