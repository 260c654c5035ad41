import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium (the machine's package, never a downloaded browser). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Headless Chromium for page tests, closed by `close()`. Background networking is off: this
 * machine reaches no network, and the pages under test must not need one.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
