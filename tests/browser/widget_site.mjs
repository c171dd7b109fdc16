// The widget as a site sets it up, on a Russian page of another site outside business
// hours: the site's colour and side, a proactive greeting after a second on the page, the
// texts in the page's language, and the offline form, which leaves a lead.
//
// HOST_URL: the customer's page (`lang="ru"`). EXPECT_TITLE, EXPECT_OFFLINE_INTRO: the
// Russian texts the server's config gives for this site.

import { launch, result, screenshot } from './lib.mjs';

const HOST = process.env.HOST_URL;
const out = { errors: [] };
const browser = await launch();

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(`page: ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(`console: ${m.text()}`); });
  await page.goto(HOST);
  const bubble = page.locator('bellhop-widget .bubble');
  await bubble.waitFor({ state: 'visible', timeout: 15000 });
  const greeting = page.locator('bellhop-widget .greet');
  await greeting.waitFor({ state: 'visible', timeout: 15000 });
  out.greetingAfterMs = await page.evaluate(() => performance.now());
  out.greeting = await greeting.textContent();
  out.bubbleBox = await bubble.boundingBox();
  out.bubbleColor = await bubble.evaluate((b) => getComputedStyle(b).backgroundColor);
  out.bubbleLabel = await bubble.getAttribute('aria-label');
  await screenshot(page, 'widget-site-1-greeting');

  await greeting.click();
  const frame = page.frameLocator('bellhop-widget iframe');
  await frame.locator('form.lead').waitFor({ timeout: 15000 });
  out.panelLang = await frame.locator('html').getAttribute('lang');
  out.title = await frame.locator('.title').textContent();
  out.heading = await frame.locator('form.lead h2').textContent();
  out.headColor = await frame.locator('.head').evaluate((h) => getComputedStyle(h).backgroundColor);
  out.greetingHiddenWhenOpen = await greeting.isHidden();
  await frame.locator('input[name=name]').fill('Алексей Смирнов');
  await frame.locator('input[name=email]').fill('alexey@example.test');
  await frame.locator('textarea[name=message]').fill('Перезвоните мне, пожалуйста');
  await screenshot(page, 'widget-site-2-offline-ru');
  await frame.locator('form.lead button[type=submit]').click();
  await frame.locator('.msg.system').last().waitFor({ timeout: 15000 });
  out.thanks = await frame.locator('.msg.system').last().textContent();

  // The greeting was for this visitor once: a reload does not show it again.
  await page.reload();
  await page.locator('bellhop-widget .bubble').waitFor({ state: 'visible', timeout: 15000 });
  await page.waitForTimeout(2500);
  out.greetingAgain = await page.locator('bellhop-widget .greet').isVisible();
  await context.close();
} catch (e) {
  out.failure = String(e && e.stack || e);
} finally {
  await browser.close();
}
result(out);
