// The widget for keyboard and screen-reader users: from the page, Tab reaches the bubble,
// Enter opens the panel with the message box focused, a message goes with Enter, Tab reaches
// every control of the open panel, Escape closes and gives the focus back to the bubble; axe-core finds no serious or critical
// violation in the open panel.
//
// HOST_URL: a page with the widget; PANEL_URL: the panel page itself (for axe, which is run
// in a context that lets the test inject it past the panel's CSP).

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { launch, result, screenshot } from './lib.mjs';

const require = createRequire(import.meta.url);
const out = { errors: [] };
const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(`page: ${e}`));
  await page.goto(process.env.HOST_URL);
  const bubble = page.locator('bellhop-widget .bubble');
  await bubble.waitFor({ state: 'visible', timeout: 15000 });
  // Tab from the top of the page until the bubble has the focus.
  let reached = false;
  for (let i = 0; i < 20 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => {
      const host = document.querySelector('bellhop-widget');
      return document.activeElement === host && host.shadowRoot.activeElement?.classList.contains('bubble');
    });
  }
  out.bubbleReachedByTab = reached;
  out.bubbleLabel = await bubble.getAttribute('aria-label');
  await page.keyboard.press('Enter');
  const frame = page.frameLocator('bellhop-widget iframe');
  const input = frame.locator('textarea.input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await page.waitForFunction(() => {
    const host = document.querySelector('bellhop-widget');
    return host && host.shadowRoot.activeElement?.tagName === 'IFRAME';
  }, null, { timeout: 10000 }).catch(() => {});
  out.inputFocused = await input.evaluate((el) => document.activeElement === el);
  await page.keyboard.type('typed with the keyboard only');
  await page.keyboard.press('Enter');
  await frame.locator('.msg.mine .state', { hasText: 'Sent' }).first().waitFor({ timeout: 15000 })
    .catch(async (e) => {
      out.panelText = await frame.locator('body').innerText().catch(() => null);
      out.inputValue = await input.inputValue().catch(() => null);
      throw e;
    });
  out.sent = true;
  // Tab goes through every control of the open panel (and out to the page and back).
  const panelFrame = page.frames().find((f) => f.url().includes('/widget/panel'));
  await frame.locator('button.attach').waitFor({ state: 'visible', timeout: 10000 });
  const controls = await panelFrame.evaluate(() =>
    [...document.querySelectorAll('button, textarea, input, select, a[href], [tabindex="0"]')]
      .filter((e) => e.offsetParent !== null && !e.disabled)
      .map((e) => e.id || e.className));
  const reachedControls = new Set();
  for (let i = 0; i < 24; i++) {
    await page.keyboard.press('Tab');
    const at = await panelFrame.evaluate(() => {
      const e = document.activeElement;
      return e && e !== document.body ? e.id || e.className : null;
    });
    if (at) reachedControls.add(at);
  }
  out.panelControls = controls;
  out.unreachedControls = controls.filter((c) => !reachedControls.has(c));
  await screenshot(page, 'widget-8-keyboard');
  await page.keyboard.press('Escape');
  await page.waitForTimeout(300);
  out.closedByEscape = await page.locator('bellhop-widget .panel').isHidden();
  out.focusBackOnBubble = await page.evaluate(() => {
    const host = document.querySelector('bellhop-widget');
    return host.shadowRoot.activeElement?.classList.contains('bubble') === true;
  });
  await context.close();

  // axe-core on the panel page, with the chat open and a message in it.
  const audit = await browser.newContext({ bypassCSP: true, viewport: { width: 400, height: 640 } });
  const panel = await audit.newPage();
  await panel.goto(process.env.PANEL_URL);
  await panel.locator('textarea.input').waitFor({ state: 'visible', timeout: 15000 });
  await panel.locator('textarea.input').fill('checking the panel');
  await panel.locator('textarea.input').press('Enter');
  await panel.locator('.msg.mine .state', { hasText: 'Sent' }).first().waitFor({ timeout: 15000 });
  await panel.addScriptTag({ content: await readFile(require.resolve('axe-core/axe.min.js'), 'utf8') });
  const report = await panel.evaluate(() => window.axe.run(document));
  out.axe = report.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  await screenshot(panel, 'widget-9-panel-alone');
  await audit.close();
} catch (e) {
  out.failure = String((e && e.stack) || e);
} finally {
  await browser.close();
}
result(out);
