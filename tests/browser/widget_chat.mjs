// A visitor chats through the widget on a customer's page of another site (the page is
// `localhost`, Bellhop `127.0.0.1`), in a fresh browser context, while the Rust side plays the
// agent. The page is hostile (strict CSP, `* { all: unset }`, `div { display: none !important }`)
// and the conversation survives the network going away, a reload mid-send and a navigation.
//
// HOST_URL: the customer's page; NEXT_URL: another page of the same site; STRANGER_URL: a
// page of an origin the site does not allow, which frames the panel directly.

import { launch, longTasks, result, screenshot } from './lib.mjs';

const HOST = process.env.HOST_URL;
const NEXT = process.env.NEXT_URL;
const STRANGER = process.env.STRANGER_URL;
const out = { errors: [] };
const browser = await launch();

function widget(page) {
  return {
    bubble: page.locator('bellhop-widget .bubble'),
    frame: page.frameLocator('bellhop-widget iframe'),
  };
}

async function mineWithText(frame, text) {
  return frame.locator('.msg.mine .body', { hasText: text }).count();
}

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(`page: ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(`console: ${m.text()}`); });
  const tasks = await longTasks(page);
  await page.goto(HOST);
  const { bubble, frame } = widget(page);
  await bubble.waitFor({ state: 'visible', timeout: 15000 });
  out.bubbleBox = await bubble.boundingBox();
  out.viewport = page.viewportSize();
  // The panel loads while the browser is idle; nothing blocks the page meanwhile.
  await page.waitForTimeout(2000);
  out.longTasksBeforeInteraction = await tasks();
  out.framesBeforeClick = await page.locator('bellhop-widget iframe').count();
  out.hostProbe = await page.evaluate(() => {
    const probe = document.getElementById('probe');
    return { display: getComputedStyle(probe).display, color: getComputedStyle(probe).color };
  });
  await screenshot(page, 'widget-1-bubble');

  // The page listens to the widget's events through the JavaScript API.
  await page.evaluate(() => {
    window.__bellhopEvents = [];
    for (const name of ['open', 'message', 'chatStarted', 'unread']) {
      window.Bellhop.on(name, (data) => window.__bellhopEvents.push({ name, data }));
    }
  });
  await bubble.click();
  await frame.locator('form.lead').waitFor({ timeout: 15000 });
  await frame.locator('input[name=name]').fill('Ada Visitor');
  await frame.locator('input[name=email]').fill('ada@example.test');
  await screenshot(page, 'widget-2-prechat');
  await frame.locator('form.lead button[type=submit]').click();

  const input = frame.locator('textarea.input');
  await input.waitFor({ state: 'visible' });
  await input.fill('hello from the widget');
  await input.press('Enter');
  await frame.locator('.status', { hasText: 'in the queue' }).waitFor({ timeout: 15000 });
  out.queueText = await frame.locator('.status').textContent();
  await screenshot(page, 'widget-3-queue');

  await frame.locator('.typing', { hasText: 'is typing' }).waitFor({ state: 'visible', timeout: 30000 });
  out.typingText = await frame.locator('.typing').textContent();
  await frame.locator('.msg.theirs').first().waitFor({ timeout: 30000 });
  out.replyText = await frame.locator('.msg.theirs .body').first().textContent();
  out.title = await frame.locator('.title').textContent();
  out.avatar = await frame.locator('.avatar').textContent();
  out.imagesInLog = await frame.locator('.log img').count();
  out.events = await page.evaluate(() => window.__bellhopEvents.map((e) => e.name));
  out.links = await frame.locator('.log a').evaluateAll((as) =>
    as.map((a) => ({ href: a.getAttribute('href'), rel: a.rel, target: a.target })));

  // The visitor's own markup is text too.
  await input.fill('<img src=x onerror="window.__xss=1;parent.__xss=1"> <script>window.__xss=1</script>');
  await input.press('Enter');
  await frame.locator('.msg.mine .state', { hasText: 'Sent' }).nth(1).waitFor({ timeout: 15000 });
  out.xssRanInHost = await page.evaluate(() => window.__xss === 1);
  out.xssRanInPanel = await frame.locator('body').evaluate(() => window.__xss === 1);
  out.imagesInLogAfter = await frame.locator('.log img').count();
  await screenshot(page, 'widget-4-chat');

  // The network goes away: two messages wait in the outbox, then both go, once, in order.
  await context.setOffline(true);
  await frame.locator('.notice', { hasText: 'offline' }).waitFor({ timeout: 10000 });
  await input.fill('offline one');
  await input.press('Enter');
  await input.fill('offline two');
  await input.press('Enter');
  await page.waitForTimeout(500);
  out.offlineStates = await frame.locator('.msg.mine .state').evaluateAll((s) => s.slice(-2).map((e) => e.textContent));
  await screenshot(page, 'widget-5-offline');
  await context.setOffline(false);
  await frame.locator('.msg.mine .state', { hasText: 'Sent' }).nth(3).waitFor({ timeout: 20000 });
  out.afterOnlineStates = await frame.locator('.msg.mine .state').evaluateAll((s) => s.slice(-2).map((e) => e.textContent));

  // A reload right after pressing Enter: the send is either stored or still in the outbox.
  await input.fill('sent before reload');
  await input.press('Enter');
  await page.reload();
  const again = widget(page);
  await again.bubble.waitFor({ state: 'visible', timeout: 15000 });
  await again.bubble.click();
  await again.frame.locator('.msg.mine .body', { hasText: 'sent before reload' }).first().waitFor({ timeout: 20000 });
  await again.frame.locator('.msg.mine .body', { hasText: 'offline two' }).first().waitFor({ timeout: 20000 });
  await page.waitForTimeout(1500);
  out.afterReload = {
    beforeReload: await mineWithText(again.frame, 'sent before reload'),
    hello: await mineWithText(again.frame, 'hello from the widget'),
    replies: await again.frame.locator('.msg.theirs').count(),
  };

  // Another page of the same site: the conversation carries on.
  await page.goto(NEXT);
  const next = widget(page);
  await next.bubble.waitFor({ state: 'visible', timeout: 15000 });
  await next.bubble.click();
  await next.frame.locator('.msg.mine .body', { hasText: 'sent before reload' }).first().waitFor({ timeout: 20000 });
  await page.waitForTimeout(1000);
  out.afterNavigation = {
    hello: await mineWithText(next.frame, 'hello from the widget'),
    beforeReload: await mineWithText(next.frame, 'sent before reload'),
    title: await next.frame.locator('.title').textContent(),
  };
  await screenshot(page, 'widget-6-after-navigation');

  // A page of an origin the site does not allow cannot frame the panel.
  const stranger = await context.newPage();
  await stranger.goto(STRANGER);
  await stranger.waitForTimeout(1500);
  const child = stranger.frames().find((f) => f !== stranger.mainFrame());
  out.strangerFrame = {
    url: child ? child.url() : null,
    panelShown: child ? await child.locator('#bellhop-panel').count().catch(() => 0) : 0,
  };
  await stranger.close();

  // A phone: the open panel fills the screen.
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 780 });
  await phone.goto(NEXT);
  const small = widget(phone);
  await small.bubble.waitFor({ state: 'visible', timeout: 15000 });
  await small.bubble.click();
  await small.frame.locator('.msg.mine').first().waitFor({ timeout: 20000 });
  out.phonePanel = await phone.locator('bellhop-widget .panel').boundingBox();
  await screenshot(phone, 'widget-7-phone');
  await context.close();
} catch (e) {
  out.failure = String(e && e.stack || e);
} finally {
  await browser.close();
}
result(out);
