// Where a browser denies the chat panel its own storage (Safari's tracking prevention, an
// incognito window or blocked third-party storage make storage in a cross-site frame throw),
// the loader keeps the visitor's token and unsent messages in the host page's storage: a
// reload mid-send and a navigation keep the conversation, and nothing is lost or doubled.
//
// HOST_URL and NEXT_URL: two pages of the customer's site.

import { launch, result, screenshot } from './lib.mjs';

const out = { errors: [] };
const browser = await launch();

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // In the panel's frame, storage throws as a browser that denies it does.
  await context.addInitScript(() => {
    if (location.pathname !== '/widget/panel') return;
    for (const name of ['localStorage', 'sessionStorage']) {
      Object.defineProperty(window, name, {
        get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
      });
    }
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(`page: ${e}`));
  await page.goto(process.env.HOST_URL);
  let bubble = page.locator('bellhop-widget .bubble');
  let frame = page.frameLocator('bellhop-widget iframe');
  await bubble.waitFor({ state: 'visible', timeout: 15000 });
  await bubble.click();
  const input = frame.locator('textarea.input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  out.panelStorage = await frame.locator('body').evaluate(() => {
    try { return typeof window.localStorage; } catch (e) { return 'denied'; }
  });
  await input.fill('first message');
  await input.press('Enter');
  await frame.locator('.msg.mine .state', { hasText: 'Sent' }).first().waitFor({ timeout: 15000 });
  await frame.locator('.msg.theirs').first().waitFor({ timeout: 20000 });

  // A reload right after pressing Enter.
  await input.fill('sent before reload');
  await input.press('Enter');
  await page.reload();
  bubble = page.locator('bellhop-widget .bubble');
  frame = page.frameLocator('bellhop-widget iframe');
  await bubble.waitFor({ state: 'visible', timeout: 15000 });
  await bubble.click();
  await frame.locator('.msg.mine .body', { hasText: 'sent before reload' }).first().waitFor({ timeout: 20000 });
  await frame.locator('.msg.mine .state', { hasText: 'Sent' }).nth(1).waitFor({ timeout: 20000 });
  await page.waitForTimeout(1000);
  out.afterReload = {
    first: await frame.locator('.msg.mine .body', { hasText: 'first message' }).count(),
    beforeReload: await frame.locator('.msg.mine .body', { hasText: 'sent before reload' }).count(),
    replies: await frame.locator('.msg.theirs').count(),
  };
  out.pageKeys = await page.evaluate(() => Object.keys(localStorage).sort());

  // Another page of the site: the same conversation.
  await page.goto(process.env.NEXT_URL);
  bubble = page.locator('bellhop-widget .bubble');
  frame = page.frameLocator('bellhop-widget iframe');
  await bubble.waitFor({ state: 'visible', timeout: 15000 });
  await bubble.click();
  await frame.locator('.msg.mine .body', { hasText: 'sent before reload' }).first().waitFor({ timeout: 20000 });
  await page.waitForTimeout(1000);
  out.afterNavigation = {
    first: await frame.locator('.msg.mine .body', { hasText: 'first message' }).count(),
    replies: await frame.locator('.msg.theirs').count(),
  };
  await screenshot(page, 'widget-storage-denied');
  await context.close();
} catch (e) {
  out.failure = String((e && e.stack) || e);
} finally {
  await browser.close();
}
result(out);
