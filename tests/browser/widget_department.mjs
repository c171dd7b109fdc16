// `Bellhop.setDepartment(name)` before the first message: the chat joins that department's
// queue rather than the site's default one.
//
// HOST_URL: a page with the widget; DEPARTMENT: the name the page picks.

import { launch, result } from './lib.mjs';

const out = { errors: [] };
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(`page: ${e}`));
  await page.goto(process.env.HOST_URL);
  await page.waitForFunction(() => window.Bellhop && window.Bellhop.setDepartment);
  await page.evaluate((name) => window.Bellhop.setDepartment(name), process.env.DEPARTMENT);
  await page.locator('bellhop-widget .bubble').click();
  const frame = page.frameLocator('bellhop-widget iframe');
  const input = frame.locator('textarea.input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  out.choice = await frame.locator('select.department option:checked').textContent();
  await input.fill('Where is my refund?');
  await input.press('Enter');
  await frame.locator('.msg.mine .state', { hasText: 'Sent' }).first().waitFor({ timeout: 15000 });
  await context.close();
} catch (e) {
  out.failure = String((e && e.stack) || e);
} finally {
  await browser.close();
}
result(out);
