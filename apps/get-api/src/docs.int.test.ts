// The API reference page in a real browser (Debian's Chromium): it renders every route of the
// OpenAPI document, needs no network beyond get-api, and its "Test Request" reaches the API.
import { listen } from "@gsk/service";
import { launchBrowser, test } from "@gsk/testing";
import { expect, onTestFinished } from "vitest";
import { buildApi, json, TOKENS } from "./test-support.ts";

test("the reference page renders every route, offline, and a GET tried with a token succeeds", async ({
  redis,
}) => {
  const { app, put } = await buildApi({ redisUrl: redis.url });
  await put({ webhookKey: "hook-1" }, { hello: "from the browser" });
  const server = await listen(app, 0, "127.0.0.1");
  onTestFinished(() => server.close());
  const origin = `http://127.0.0.1:${server.port}`;
  const browser = await launchBrowser();
  onTestFinished(() => browser.close());
  const page = await browser.newPage();
  const elsewhere: string[] = [];
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:") && !url.startsWith("blob:")) elsewhere.push(url);
  });

  await page.goto(`${origin}/docs`);
  await page.getByText("Get-Set Key API").first().waitFor();
  const doc = await json(await app.request("/openapi.json"));
  for (const [path, operations] of Object.entries(doc.paths as Record<string, object>)) {
    for (const method of Object.keys(operations)) {
      await expect
        .poll(() => page.locator(`[id="api-1/${method.toUpperCase()}${path}"]`).count(), {
          message: `${method} ${path}`,
        })
        .toBe(1);
    }
  }

  await page.getByPlaceholder("Token").first().fill(TOKENS.reader);
  const operation = page.locator('[id="api-1/GET/v1/data/{webhookKey}"]');
  // The page renders an operation's example panel once it scrolls into view.
  await operation.scrollIntoViewIfNeeded();
  await operation.getByRole("button", { name: "Test Request" }).click();
  const client = page.getByRole("dialog");
  await client.getByRole("button", { name: "Send get request to /v1/data/{webhookKey}" }).click();
  await expect
    .poll(() => client.textContent(), { message: "the response in the client" })
    .toContain('"hello": "from the browser"');
  expect(await client.textContent()).toContain("200 OK");
  expect(elsewhere).toEqual([]);
}, 60_000);
