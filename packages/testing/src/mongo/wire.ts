import { type Document, deserialize, serialize } from "bson";

const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

const CHECKSUM_PRESENT = 1;
export const MORE_TO_COME = 2;

/** One request off the wire. */
export interface WireRequest {
  requestId: number;
  opCode: number;
  flags: number;
  /** The command document, with OP_MSG document sequences merged in under their identifiers. */
  body: Document;
  /** For OP_QUERY: the namespace (`db.$cmd`). */
  namespace?: string;
}

function cstring(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  if (end < 0) throw new Error("unterminated cstring");
  return [buf.toString("utf8", at, end), end + 1];
}

function bsonAt(buf: Buffer, at: number): [Document, number] {
  const size = buf.readInt32LE(at);
  return [deserialize(buf.subarray(at, at + size)), at + size];
}

/** Parses one complete message (header included). */
export function parseMessage(msg: Buffer): WireRequest {
  const requestId = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = msg.readUInt32LE(16);
    const end = msg.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
    let at = 20;
    let body: Document = {};
    const sequences: [string, Document[]][] = [];
    while (at < end) {
      const kind = msg.readUInt8(at);
      at += 1;
      if (kind === 0) {
        [body, at] = bsonAt(msg, at);
      } else if (kind === 1) {
        const size = msg.readInt32LE(at);
        const sectionEnd = at + size;
        let [identifier, p] = cstring(msg, at + 4);
        const docs: Document[] = [];
        while (p < sectionEnd) {
          let doc: Document;
          [doc, p] = bsonAt(msg, p);
          docs.push(doc);
        }
        sequences.push([identifier, docs]);
        at = sectionEnd;
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`);
      }
    }
    for (const [identifier, docs] of sequences) body[identifier] = docs;
    return { requestId, opCode, flags, body };
  }
  if (opCode === OP_QUERY) {
    const flags = msg.readUInt32LE(16);
    const [namespace, at] = cstring(msg, 20);
    const [body] = bsonAt(msg, at + 8);
    return { requestId, opCode, flags, body, namespace };
  }
  return { requestId, opCode, flags: 0, body: {} };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** An OP_MSG reply with one body section. */
export function encodeMsgReply(requestId: number, responseTo: number, doc: Document): Buffer {
  const bson = serialize(doc);
  const prelude = Buffer.alloc(5);
  prelude.writeUInt32LE(0, 0);
  prelude.writeUInt8(0, 4);
  return Buffer.concat([header(16 + 5 + bson.length, requestId, responseTo, OP_MSG), prelude, bson]);
}

/** An OP_REPLY (the answer to a legacy OP_QUERY handshake). */
export function encodeLegacyReply(requestId: number, responseTo: number, doc: Document): Buffer {
  const bson = serialize(doc);
  const prelude = Buffer.alloc(20);
  prelude.writeInt32LE(0, 0);
  prelude.writeBigInt64LE(0n, 4);
  prelude.writeInt32LE(0, 12);
  prelude.writeInt32LE(1, 16);
  return Buffer.concat([header(16 + 20 + bson.length, requestId, responseTo, OP_REPLY), prelude, bson]);
}
