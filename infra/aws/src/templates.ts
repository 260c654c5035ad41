/**
 * The API Gateway mapping templates of POST /v1/data (Velocity), kept apart from the stack so the
 * tests render them with a Velocity engine.
 */

/** The SQS SendMessage form: the request body, URL-encoded, is the message body, byte for byte. */
export const SEND_MESSAGE_TEMPLATE = "Action=SendMessage&MessageBody=$util.urlEncode($input.body)";

// The same problem types as get-api (urn:gsk:problem:<code>).
const NOT_ACCEPTED = "urn:gsk:problem:not_accepted";

/** A problem+json body saying the message was not accepted (so the producer retries it). */
function notAccepted(status: number, title: string, detail: string): string {
  return JSON.stringify({ type: NOT_ACCEPTED, title, status, detail });
}

/**
 * SQS answered 2xx. A 2xx without a message id is not an acceptance either: the template then
 * answers 502 rather than a 202 the producer would trust.
 */
export const ACCEPTED_TEMPLATE = [
  "#set($messageId = $input.path('$.SendMessageResponse.SendMessageResult.MessageId'))",
  '#if("$!messageId" == "")',
  "#set($context.responseOverride.status = 502)",
  "#set($context.responseOverride.header.Content-Type = 'application/problem+json')",
  notAccepted(502, "Bad Gateway", "The queue answered without a message id; the message was not accepted."),
  "#else",
  '{"messageId":"$util.escapeJavaScript($messageId)"}',
  "#end",
].join("\n");

/** SQS answered 5xx (unavailable, throttled): retry after a while. */
export const UNAVAILABLE_TEMPLATE = notAccepted(
  503,
  "Service Unavailable",
  "The queue is unavailable; the message was not accepted. Retry later.",
);

/** Anything else (4xx: access denied, too large, invalid characters; or no answer): not accepted. */
export const REFUSED_TEMPLATE = notAccepted(
  502,
  "Bad Gateway",
  "The queue refused the message (status $context.integration.status); it was not accepted.",
);

/**
 * The body of API Gateway's answer to a body the Envelope model rejects: problem+json naming the
 * problem. (Gateway responses substitute variables only; they are not Velocity.)
 */
export const BAD_REQUEST_BODY_TEMPLATE =
  '{"type":"urn:gsk:problem:invalid_envelope","title":"Bad Request","status":400,' +
  '"detail":"$context.error.validationErrorString"}';
