// An agent's day in the console: sign in, three chats from three visitors arrive (the Rust
// side plays the visitors over the protocol), each answered in the right chat, unread counts
// rise and clear, the keyboard moves between chats.
//
// CONSOLE_URL: the console. AGENT_EMAIL, AGENT_PASSWORD: the agent's account.

import { launch, result, screenshot } from './lib.mjs';

const out = { errors: [] };
const browser = await launch();

const rowByText = (page, text) => page.locator('.chat-row', { hasText: text });
const badge = async (row) => {
  const b = row.locator('.badge.unread');
  return (await b.count()) ? Number(await b.textContent()) : 0;
};

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(`page: ${e}`));
  page.on('console', (m) => {
    // Failed requests are reported with their address below.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) out.errors.push(`console: ${m.text()}`);
  });
  // The first visit asks who is signed in: 401 until the agent signs in.
  page.on('response', (r) => {
    if (r.status() >= 400 && !(r.status() === 401 && r.url().endsWith('/api/v1/me'))) out.errors.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(process.env.CONSOLE_URL);
  await page.getByLabel('Email').fill(process.env.AGENT_EMAIL);
  await page.getByLabel('Password').fill(process.env.AGENT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'My chats' }).waitFor({ timeout: 20000 });
  await page.locator('.status[data-status="online"]').waitFor({ timeout: 20000 });

  // Three visitors write; each chat shows with one unread message.
  // Rows are found by their first words, then followed by their conversation.
  const byId = async (text) => {
    const row = rowByText(page, text);
    await row.waitFor({ timeout: 30000 });
    return page.locator(`.chat-row[data-conversation="${await row.getAttribute('data-conversation')}"]`);
  };
  const ada = await byId('where is my order');
  const boris = await byId('wrong size');
  const chloe = await byId('gift wrap');
  out.unreadAtFirst = [await badge(ada), await badge(boris), await badge(chloe)];
  out.titleAtFirst = await page.title();

  // Answer each in its own chat: by click, by click, by Alt+3.
  const reply = async (text) => {
    const composer = page.getByRole('textbox', { name: 'Reply to the visitor' });
    await composer.fill(text);
    await composer.press('Enter');
    await page.locator('.msg.agent', { hasText: text }).locator('.state', { hasText: /Sent|Read/ }).waitFor({ timeout: 15000 });
  };
  await ada.getByRole('button').click();
  await reply('Ada, your order ships today.');
  out.unreadAdaAfterOpen = await badge(ada);
  await boris.getByRole('button').click();
  await reply('Boris, send it back with the free label.');
  await page.keyboard.press('Alt+3');
  await page.locator('.pane[aria-label]').locator('.msg.visitor', { hasText: 'gift wrap' }).waitFor({ timeout: 10000 });
  await reply('Chloe, gift wrap is free this week.');
  out.titleAfterAnswers = await page.title();

  // Back on Ada's chat; Boris writes again: his row counts it, the title too.
  await page.keyboard.press('Alt+1');
  await page.locator('.pane .msg.visitor', { hasText: 'where is my order' }).waitFor({ timeout: 10000 });
  await boris.locator('.badge.unread').waitFor({ timeout: 30000 });
  out.unreadBorisWhileAway = await badge(boris);
  out.titleWhileBorisWaits = await page.title();
  await screenshot(page, 'console-inbox');
  // Alt+↓ from Ada is Boris: opening it clears the count.
  await page.keyboard.press('Alt+ArrowDown');
  await page.locator('.pane .msg.visitor', { hasText: 'and the invoice' }).waitFor({ timeout: 10000 });
  await page.waitForTimeout(300);
  out.unreadBorisAfterOpen = await badge(boris);
  out.titleAtEnd = await page.title();
  await screenshot(page, 'console-conversation');
} catch (e) {
  out.failure = String(e.stack || e);
  try { await screenshot(browser.contexts()[0].pages()[0], 'console-agent-failure'); } catch {}
} finally {
  await browser.close();
}
result(out);
