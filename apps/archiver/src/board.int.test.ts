// bull-board in a real browser (Debian's Chromium): a token as the Basic password opens it and it
// lists the archive queue with its runs; without credentials the browser gets the Basic challenge.
import { launchBrowser, test } from "@gsk/testing";
import { expect, onTestFinished } from "vitest";
import { ADMIN_TOKEN, archiverEnv, resetArchive, runNow, startArchiver } from "./test-support.ts";

test("bull-board loads its queue with Basic authentication and refuses without", async ({ redis, mongo }) => {
  await resetArchive(mongo);
  const { archiver } = await startArchiver(archiverEnv([redis.url], mongo), mongo);
  await runNow(archiver);
  const board = `http://127.0.0.1:${archiver.port}/admin/queues`;
  const browser = await launchBrowser();
  onTestFinished(() => browser.close());

  // Without credentials Chromium itself gives up on the Basic challenge; the browser's HTTP client shows it.
  const anonymous = await browser.newPage();
  await expect(anonymous.goto(board)).rejects.toThrow("ERR_INVALID_AUTH_CREDENTIALS");
  const refused = await anonymous.request.get(board);
  expect(refused.status()).toBe(401);
  expect(refused.headers()["www-authenticate"]).toBe('Basic realm="gsk-archiver"');

  const context = await browser.newContext({ httpCredentials: { username: "ops", password: ADMIN_TOKEN } });
  const page = await context.newPage();
  const opened = await page.goto(board);
  expect(opened?.status()).toBe(200);
  await page.getByText("archive", { exact: true }).first().waitFor();
  await page.getByText("archive", { exact: true }).first().click();
  await expect.poll(() => page.textContent("body"), { message: "the completed run" }).toMatch(/Completed/i);
}, 60_000);
