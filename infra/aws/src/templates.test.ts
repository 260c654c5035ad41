import { render } from "velocityjs";
import { describe, expect, it } from "vitest";
import {
  ACCEPTED_TEMPLATE,
  BAD_REQUEST_BODY_TEMPLATE,
  REFUSED_TEMPLATE,
  SEND_MESSAGE_TEMPLATE,
  UNAVAILABLE_TEMPLATE,
} from "./templates.ts";

/**
 * API Gateway's `$util` as documented: `urlEncode` is application/x-www-form-urlencoded (Java's
 * URLEncoder: letters, digits and `.-*_` kept, space as `+`, the rest as UTF-8 percent escapes);
 * `escapeJavaScript` escapes quotes, backslashes and control characters.
 */
const util = {
  urlEncode: (s: string) =>
    encodeURIComponent(s)
      .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, "+"),
  escapeJavaScript: (s: string) => JSON.stringify(s).slice(1, -1),
};

/** `$input` of a request or an integration response, with `path` for the simple `$.a.b` paths used here. */
function input(body: string) {
  return {
    body,
    path(path: string) {
      let node: unknown = JSON.parse(body);
      for (const key of path
        .replace(/^\$\.?/, "")
        .split(".")
        .filter(Boolean)) {
        node = (node as Record<string, unknown> | undefined)?.[key];
      }
      return node ?? "";
    },
  };
}

const ENVELOPES = [
  { accountId: "acme", flowId: "orders", webhookKeys: ["k1"], data: { note: "plain" } },
  { accountId: "acme", flowId: "orders", webhookKeys: ["k1", "k2"], data: "a&b=c+d e%20f" },
  {
    accountId: "acme",
    flowId: "orders",
    webhookKeys: ["k1"],
    data: { text: "línea\nnext\r\n\ttab", emoji: "😀 ✓ 日本" },
  },
  {
    accountId: "acme",
    flowId: "orders",
    webhookKeys: ["k1"],
    data: ["'quotes'", '"double"', "back\\slash", "*~!()"],
  },
  {
    accountId: "acme",
    flowId: "orders",
    webhookKeys: ["k1"],
    data: null,
    eventId: "e:1",
    producedAt: "2026-01-01T00:00:00Z",
  },
];

describe("the SendMessage request template (rendered by a Velocity engine)", () => {
  it.each(ENVELOPES.map((e) => [JSON.stringify(e).slice(0, 60), e] as const))(
    "gives SQS the exact body, whatever it holds: %s",
    (_, envelope) => {
      // Pretty-printed too: the body is passed as sent, not re-serialized.
      for (const body of [JSON.stringify(envelope), JSON.stringify(envelope, null, 2)]) {
        const form = render(SEND_MESSAGE_TEMPLATE, { input: input(body), util });
        const params = new URLSearchParams(form);
        expect(params.get("Action")).toBe("SendMessage");
        expect(params.get("MessageBody")).toBe(body);
        expect([...params.keys()]).toEqual(["Action", "MessageBody"]);
      }
    },
  );
});

describe("the integration response templates", () => {
  it("answer 202 with the message id SQS gave", () => {
    const context = { responseOverride: { status: undefined as number | undefined, header: {} } };
    const sqsAnswer = JSON.stringify({
      SendMessageResponse: { SendMessageResult: { MessageId: "5fea7756-0ea4-451a-a703-a558b933e274" } },
    });
    const body = render(ACCEPTED_TEMPLATE, { input: input(sqsAnswer), util, context });
    expect(JSON.parse(body)).toEqual({ messageId: "5fea7756-0ea4-451a-a703-a558b933e274" });
    expect(context.responseOverride.status).toBeUndefined();
  });

  it("turn a 2xx without a message id into 502 problem+json, never an empty 202", () => {
    const context = {
      responseOverride: { status: undefined as number | undefined, header: {} as Record<string, string> },
    };
    const body = render(ACCEPTED_TEMPLATE, { input: input("{}"), util, context });
    expect(context.responseOverride.status).toBe(502);
    expect(context.responseOverride.header["Content-Type"]).toBe("application/problem+json");
    expect(JSON.parse(body)).toMatchObject({ status: 502, detail: expect.stringContaining("not accepted") });
  });

  it("say the message was not accepted for every other answer", () => {
    const context = { integration: { status: 403 } };
    const refused = JSON.parse(render(REFUSED_TEMPLATE, { input: input("{}"), util, context }));
    expect(refused).toMatchObject({ type: "urn:gsk:problem:not_accepted", status: 502 });
    expect(refused.detail).toBe("The queue refused the message (status 403); it was not accepted.");
    const unavailable = JSON.parse(render(UNAVAILABLE_TEMPLATE, { input: input("{}"), util, context }));
    expect(unavailable).toMatchObject({ status: 503, detail: expect.stringContaining("not accepted") });
  });

  it("the gateway response names the validation problem in problem+json", () => {
    // A gateway response substitutes variables only (no Velocity directives).
    expect(BAD_REQUEST_BODY_TEMPLATE).not.toMatch(/#(set|if|foreach)/);
    const body = BAD_REQUEST_BODY_TEMPLATE.replace(
      "$context.error.validationErrorString",
      '[object has missing required properties ([\\"accountId\\"])]',
    );
    expect(JSON.parse(body)).toEqual({
      type: "urn:gsk:problem:invalid_envelope",
      title: "Bad Request",
      status: 400,
      detail: '[object has missing required properties (["accountId"])]',
    });
  });
});
