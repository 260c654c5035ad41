/** A MongoDB server error: `{ ok: 0, errmsg, code, codeName }` or a write error entry. */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly extra: Record<string, unknown>;
  constructor(code: number, codeName: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.codeName = codeName;
    this.extra = extra;
  }
}

export const badValue = (message: string) => new CommandError(2, "BadValue", message);
export const failedToParse = (message: string) => new CommandError(9, "FailedToParse", message);
export const typeMismatch = (message: string) => new CommandError(14, "TypeMismatch", message);
export const notSupported = (what: string) =>
  new CommandError(115, "CommandNotSupported", `${what} is not supported by the GSK MongoDB test server`);
