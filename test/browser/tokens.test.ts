import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserAvailable, launchChromium, type Sluice, serve, startSluice } from "./helpers";

/**
 * The browser-token flow for real: a web app's server (a tiny local server holding a Sluice key) mints a token
 * for its page; the page, in Chromium, streams a chat completion straight from Sluice with it. A page of another
 * origin, using the same flow, is refused by CORS.
 */

/** The web app's page: gets a token from its own server, then streams from Sluice and shows the text. */
const page = (sluice: string) => `<!doctype html>
<meta charset="utf-8"><title>app</title>
<pre id="out"></pre><p id="status">starting</p>
<script type="module">
  const status = document.getElementById("status");
  try {
    const { token } = await (await fetch("/token", { method: "POST" })).json();
    const res = await fetch(${JSON.stringify(sluice)} + "/v1/chat/completions", {
      method: "POST",
      headers: { authorization: "Bearer " + token, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/echo", stream: true, messages: [{ role: "user", content: "streamed to a browser" }] }),
    });
    if (!res.ok) throw new Error("HTTP " + res.status + " " + (await res.text()));
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "", chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\\n\\n")) >= 0) {
        const data = buf.slice(0, i).replace(/^data: /, "");
        buf = buf.slice(i + 2);
        if (data === "[DONE]") continue;
        chunks++;
        document.getElementById("out").textContent += JSON.parse(data).choices[0]?.delta?.content ?? "";
      }
    }
    status.textContent = "done " + chunks + " chunks, limit " + res.headers.get("x-ratelimit-limit-requests");
  } catch (e) {
    status.textContent = "error: " + e.name + ": " + e.message;
  }
</script>`;

describe.skipIf(!browserAvailable)("Browser tokens in Chromium", () => {
  let sluice: Sluice;
  let browser: Browser;
  const stops: (() => Promise<void>)[] = [];
  let app = "";
  let other = "";

  beforeAll(async () => {
    [sluice, browser] = await Promise.all([startSluice(), launchChromium()]);
    // Two web apps; the key allows only the first one's origin.
    let secret = "";
    const webApp = async () => {
      const s = await serve(async (req, res) => {
        if (req.method === "POST" && req.url === "/token") {
          // Server side: mint a token for this page's user with the server's own key.
          const r = await fetch(`${sluice.url}/v1/tokens`, {
            method: "POST",
            headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
            body: JSON.stringify({ user: "browser-user-1", origins: [app], expiresIn: 300 }),
          });
          res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text());
          return;
        }
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(sluice.url));
      });
      stops.push(s.stop);
      return s.origin;
    };
    app = await webApp();
    other = (await webApp()).replace("127.0.0.1", "localhost"); // same server, another origin
    const key = await sluice.admin<{ key: string }>("POST", "/admin/keys", {
      name: "web app",
      rpm: 100,
      browser: { origins: [app] },
    });
    secret = key.key;
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(stops.map((s) => s()));
    await sluice?.stop();
  });

  it("streams a chat completion into a page of the allowed origin", async () => {
    const tab = await browser.newPage();
    await tab.goto(app);
    await tab.waitForFunction(() => document.getElementById("status")?.textContent !== "starting", null, {
      timeout: 20_000,
    });
    const status = await tab.textContent("#status");
    expect(status).toMatch(/^done \d+ chunks, limit 100$/);
    expect(Number(status?.split(" ")[1])).toBeGreaterThan(2); // it came as a stream, chunk by chunk
    expect(await tab.textContent("#out")).toBe("You said: streamed to a browser");
    await tab.close();
  });

  it("refuses a page of another origin", async () => {
    const tab = await browser.newPage();
    const refused: string[] = [];
    tab.on("console", (m) => refused.push(m.text()));
    await tab.goto(other);
    await tab.waitForFunction(() => document.getElementById("status")?.textContent !== "starting", null, {
      timeout: 20_000,
    });
    // The preflight is refused (no Access-Control-Allow-Origin), so fetch fails before any answer is readable.
    expect(await tab.textContent("#status")).toMatch(/^error: TypeError/);
    expect(await tab.textContent("#out")).toBe("");
    expect(refused.join("\n")).toMatch(/CORS/);
    await tab.close();
  });
});
