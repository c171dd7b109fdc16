// What a visitor does in a chat beyond typing, on a customer's page of another site, while
// the Rust side plays the agent over the protocol: the draft reaches the agent as a masked
// sneak peek, read marks go both ways, a picture is sent (and shown as a thumbnail) while a
// disguised page and an oversize file are refused, and once the agent closes the chat the
// visitor rates it and has the transcript mailed.
//
// HOST_URL: the customer's page. VISITOR_EMAIL: where the transcript goes.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { launch, result, screenshot } from './lib.mjs';

const require = createRequire(import.meta.url);

const HOST = process.env.HOST_URL;
const EMAIL = process.env.VISITOR_EMAIL;
const out = { errors: [] };
const browser = await launch();

try {
  // The panel's own policy would refuse axe-core, which this test runs in it once the
  // rating form is there (the strict-policy host page is widget_chat's).
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(`page: ${e}`));
  // The browser logs the refused upload's answer (415) as an error: that one is expected.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('status of 415')) out.errors.push(`console: ${m.text()}`);
  });
  // Every frame the panel's socket sends, to show the card number never leaves in clear.
  out.framesWithDigits = 0;
  out.peeksSent = 0;
  page.on('websocket', (ws) => ws.on('framesent', (frame) => {
    const text = String(frame.payload);
    if (text.includes('"peek"')) out.peeksSent += 1;
    if (text.includes('4111')) out.framesWithDigits += 1;
  }));
  // Count the site's chimes (a stand-in for the browser's audio, which headless plays to no one).
  await page.addInitScript(() => {
    window.__chimes = 0;
    window.AudioContext = class {
      constructor() { window.__chimes += 1; this.destination = {}; this.currentTime = 0; }
      createOscillator() { return { frequency: {}, connect() {}, start() {}, stop() {} }; }
      createGain() { return { gain: {}, connect() {} }; }
      close() {}
    };
  });
  await page.goto(HOST);
  // What the page knows about its visitor, told before the panel has a session.
  await page.evaluate(() => window.Bellhop.setAttributes({ plan: 'pro', cart_total: 129.5 }));
  const bubble = page.locator('bellhop-widget .bubble');
  const frame = page.frameLocator('bellhop-widget iframe');
  await bubble.waitFor({ state: 'visible', timeout: 15000 });
  await bubble.click();
  const input = frame.locator('textarea.input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill('hi, a question about my order');
  await input.press('Enter');
  await frame.locator('.msg.mine .state', { hasText: 'Sent' }).first().waitFor({ timeout: 15000 });

  // The visitor types a card number and pauses: the agent gets the draft, masked.
  await frame.locator('.title', { hasText: 'Maya Chen' }).waitFor({ timeout: 20000 });
  await input.pressSequentially('my card is 4111 1111 1111 1111', { delay: 15 });
  await page.waitForTimeout(1500);
  await input.fill('');
  // The visitor closes the panel: the answer comes with a badge and the site's chime.
  out.chimesBeforeReply = await page.evaluate(() => window.__chimes);
  await bubble.click();
  await page.locator('bellhop-widget .badge').waitFor({ state: 'visible', timeout: 20000 });
  out.badge = await page.locator('bellhop-widget .badge').textContent();
  out.chimesAfterReply = await page.evaluate(() => window.__chimes);
  out.titleWhileClosed = await page.title();
  await bubble.click();

  // The agent answers: the visitor, with the panel open, has read it; then the agent reads.
  await frame.locator('.msg.theirs', { hasText: 'Let me look' }).waitFor({ timeout: 20000 });
  await frame.locator('.msg.mine .state', { hasText: 'Read' }).first().waitFor({ timeout: 20000 });
  out.statesAfterAgentRead = await frame.locator('.msg.mine .state').allTextContents();

  // A picture: drawn here, sent through the attach button's file input.
  const png = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(160, 100);
    const g = canvas.getContext('2d');
    g.fillStyle = '#2f6d4f';
    g.fillRect(0, 0, 160, 100);
    g.fillStyle = '#ffffff';
    g.fillRect(30, 25, 100, 50);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    return Array.from(new Uint8Array(await blob.arrayBuffer()));
  });
  out.pngBytes = png.length;
  out.attachShown = await frame.locator('button.attach').isVisible();
  const file = frame.locator('input[type=file]');
  await file.setInputFiles({ name: 'order-photo.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  const thumb = frame.locator('.msg.mine img.thumb');
  await thumb.waitFor({ timeout: 20000 });
  await frame.locator('.msg.mine img.thumb[src^="blob:"]').waitFor({ timeout: 20000 });
  await page.waitForTimeout(300);
  out.thumb = await thumb.evaluate((img) => ({ alt: img.alt, width: img.naturalWidth, height: img.naturalHeight }));
  await screenshot(page, 'widget-live-1-picture');

  // An HTML page named like a picture: the server reads its first bytes and refuses it.
  const page_ = '<!doctype html><script>alert(1)</script>';
  await file.setInputFiles({ name: 'invoice.png', mimeType: 'image/png', buffer: Buffer.from(page_) });
  await frame.locator('.notice', { hasText: 'cannot be sent' }).waitFor({ timeout: 15000 });
  out.disguisedNotice = await frame.locator('.notice').textContent();
  // A file over the site's limit is refused before it is sent.
  await file.setInputFiles({ name: 'scan.png', mimeType: 'image/png', buffer: Buffer.alloc(1536 * 1024, 7) });
  await frame.locator('.notice', { hasText: 'too large' }).waitFor({ timeout: 15000 });
  out.oversizeNotice = await frame.locator('.notice').textContent();
  out.messagesWithFiles = await frame.locator('.msg [data-file]').count();

  // The agent closes the chat: the visitor rates it and asks for the transcript.
  await input.fill('thanks, that is all');
  await input.press('Enter');
  const rating = frame.locator('form#rating');
  await rating.waitFor({ state: 'visible', timeout: 20000 });
  out.mailShown = await frame.locator('form#mail').isVisible();
  await frame.locator('label.star').nth(3).click();
  await frame.locator('#r-comment').fill('Быстро и вежливо, спасибо!');
  await screenshot(page, 'widget-live-2-rating');
  const panelFrame = page.frames().find((f) => f.url().includes('/widget/panel'));
  await panelFrame.addScriptTag({ content: await readFile(require.resolve('axe-core/axe.min.js'), 'utf8') });
  const report = await panelFrame.evaluate(() => window.axe.run(document));
  out.axeAfterChat = report.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  await rating.locator('button[type=submit]').click();
  await frame.locator('#rated').waitFor({ state: 'visible', timeout: 15000 });
  out.ratedText = await frame.locator('#rated').textContent();
  await frame.locator('#t-email').fill(EMAIL);
  await frame.locator('form#mail button[type=submit]').click();
  await frame.locator('#mailed').waitFor({ state: 'visible', timeout: 15000 });
  out.mailedText = await frame.locator('#mailed').textContent();
  await screenshot(page, 'widget-live-3-after-chat');
  await context.close();
} catch (e) {
  out.failure = String(e && e.stack || e);
} finally {
  await browser.close();
}
result(out);
